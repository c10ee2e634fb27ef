"""Step 5: the replicated exponent and the limit n -> 0.

(1/N) log E Z^n = Phi(n) = G_S(n) + alpha G_E(n) - b n [lam/2 tr(Q + E) + alpha w(Q, D)]
at the RS saddle point, and E log Z / N = lim_{n->0} Phi(n)/n = Phi'(0) because
Phi(0) = 0. SymPy checks Phi(0) = 0 and differentiates; for models with several units the
derivative of the matrix expressions follows the rules of matrix calculus
(:mod:`symrep.replica.matrix_calculus`).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from symrep.replica.derivation import Equation, Step
from symrep.replica.energetic import energetic_field_matrix, energetic_term
from symrep.replica.entropic import entropic_term
from symrep.replica.objective import _model, per_sample_objective

__all__ = ["replicated_exponent", "replica_limit", "local_term", "structural_replica_limit"]


def local_term(model=None) -> sp.Expr:
    """lam/2 tr(Q + E) + alpha w(Q, D): the weight decay and the per-sample weight term.

    Parameters
    ----------
    model : LinearVAE, optional
        The model (default ``LinearVAE()``, M = M* = 1).

    Returns
    -------
    sympy.Expr
        The local term, in the order parameters, D, alpha, beta and lam.
    """
    model = _model(model)
    s = model.symbols()
    w = per_sample_objective(model).result["weight_term"]
    return model.regularizer() + s.alpha * w


def replicated_exponent(model=None) -> sp.Expr:
    """Phi(n) = (1/N) log E Z^n at fixed RS order parameters and conjugates.

    Parameters
    ----------
    model : LinearVAE, optional
        The model (default ``LinearVAE()``, M = M* = 1).

    Returns
    -------
    sympy.Expr
        Phi(n) = G_S(n) + alpha G_E(n) - b n (local term).
    """
    model = _model(model)
    s = model.symbols()
    return (entropic_term(model).result + s.alpha * energetic_term(model).result
            - s.b * s.n * local_term(model))


def replica_limit(model=None) -> Step:
    """phi = lim_{n->0} Phi(n)/n, split into entropic, energetic and local parts.

    Parameters
    ----------
    model : LinearVAE, optional
        The model (default ``LinearVAE()``).

    Returns
    -------
    Step
        ``result`` is a dict with ``entropic``, ``energetic`` (both d/dn at n = 0) and
        ``local`` (the coefficient of -b n), so that phi = entropic + alpha energetic
        - b local. For M = M* = 1 they are explicit; otherwise matrix expressions.
    """
    return _replica_limit(_model(model))


@cache
def structural_replica_limit(model) -> dict:
    """Phi(0) and the n-derivatives at n = 0 of the matrix expressions of G_S and G_E.

    For any model, M = M* = 1 included (its matrices then have blocks of size 1).

    Returns
    -------
    dict
        ``phi0`` (0), ``entropic``, ``energetic`` (matrix expressions) and ``local``.
    """
    from symrep.replica.energetic import structural_energetic
    from symrep.replica.entropic import structural_entropic
    from symrep.replica.matrix_calculus import scalar_derivative

    s = model.symbols()
    n, b = s.n, s.b
    G_S, G_E = structural_entropic(model), structural_energetic(model)
    local = local_term(model)
    phi = G_S + s.alpha * G_E - b * n * local
    phi0 = sp.expand(phi.subs(n, 0))
    if phi0 != 0:  # pragma: no cover - a failure here means an error in an earlier step
        raise AssertionError(f"Phi(0) = {phi0}, expected 0")
    return {"phi0": phi0, "entropic": scalar_derivative(G_S, n).subs(n, 0),
            "energetic": scalar_derivative(G_E, n).subs(n, 0), "local": local,
            "replicated": phi}


@cache
def _replica_limit(model) -> Step:
    s = model.symbols()
    n = s.n
    G_S, G_E = entropic_term(model).result, energetic_term(model).result
    local = local_term(model)
    if model.is_scalar:
        phi0 = sp.simplify(replicated_exponent(model).subs(n, 0))
        if phi0 != 0:  # pragma: no cover - a failure here means an error in an earlier step
            raise AssertionError(f"Phi(0) = {phi0}, expected 0")
        entropic = sp.diff(G_S, n).subs(n, 0)
        energetic = sp.diff(G_E, n).subs(n, 0)
        # The same derivatives, written with the RS blocks: d/dn at n = 0 of
        # -[(n-1) log det(A-B) + log det(A+(n-1)B)]/2 is -[log det(A-B) + tr((A-B)^{-1} B)]/2.
        M = energetic_field_matrix(model)
        structural = -(sp.log((M.diag - M.off).det())
                       + ((M.diag - M.off).inv() * M.off).trace()) / 2
        if sp.simplify(energetic - structural) != 0:  # pragma: no cover - checked by tests
            raise AssertionError("d G_E / dn at n = 0 differs from its RS block form")
        text = r"""
At the RS saddle point, $\frac1N\log\mathbb E Z^n = \Phi(n) = G_S(n) + \alpha G_E(n) - b n
\bigl[\tfrac\lambda2(Q+E) + \alpha\,w(Q,D)\bigr]$, the last term collecting the weight
decay and the per-sample term $w$ of every replica. SymPy verifies $\Phi(0)=0$, so
$\mathbb E\log Z/N = \lim_{n\to0}\Phi(n)/n = \Phi'(0)$, which it obtains by
differentiating the determinants and quadratic forms at $n=0$. For an RS matrix with
blocks $\mathcal A$, $\mathcal B$,
$\frac{d}{dn}\log\det\big|_{n=0} = \log\det(\mathcal A-\mathcal B)
+ \operatorname{tr}[(\mathcal A-\mathcal B)^{-1}\mathcal B]$ (checked by SymPy against the
explicit derivative), and $\frac{d}{dn}\,n\,w^{\mathsf T}(\mathcal A+(n-1)\mathcal B)^{-1}w
\big|_{n=0} = w^{\mathsf T}(\mathcal A-\mathcal B)^{-1}w$. Hence
\[
 G_E'(0) = -\tfrac12\log\det(\mathcal A-\mathcal B)
 - \tfrac12\operatorname{tr}\bigl[(\mathcal A-\mathcal B)^{-1}\mathcal B\bigr],
\]
with $\mathcal A$, $\mathcal B$ of step 3, and for the entropic term, written out:
"""
        return Step(
            key="05_replica_limit",
            title=r"The replica limit $n\to0$",
            text=text,
            equations=(
                Equation(r"\Phi(0)", phi0),
                Equation(r"G_S'(0)", entropic),
            ),
            result={"entropic": entropic, "energetic": energetic, "local": local},
        )
    parts = structural_replica_limit(model)
    phi0, entropic, energetic = parts["phi0"], parts["entropic"], parts["energetic"]
    text = r"""
At the RS saddle point, $\frac1N\log\mathbb E Z^n = \Phi(n) = G_S(n) + \alpha G_E(n) - b n
\bigl[\tfrac\lambda2\operatorname{tr}(Q+E) + \alpha\,w(Q,D)\bigr]$, the last term collecting
the weight decay and the per-sample term $w$ of every replica. SymPy verifies
$\Phi(0)=0$, so $\mathbb E\log Z/N = \lim_{n\to0}\Phi(n)/n = \Phi'(0)$, which it obtains by
differentiating the matrix expressions with
$\frac{d}{dn}\log\det M = \operatorname{tr}(M^{-1}\tfrac{dM}{dn})$ and
$\frac{d}{dn}M^{-1} = -M^{-1}\tfrac{dM}{dn}M^{-1}$ (the result is checked against a finite
difference in $n$ of $\Phi$ at random values):
"""
    return Step(
        key="05_replica_limit",
        title=r"The replica limit $n\to0$",
        text=text,
        equations=(
            Equation(r"\Phi(0)", phi0),
            Equation(r"G_E'(0)", energetic),
            Equation(r"G_S'(0)", entropic),
        ),
        result={"entropic": entropic, "energetic": energetic, "local": local},
    )
