"""Step 6: the zero-temperature limit b -> infinity.

The Boltzmann measure exp(-b L) concentrates on the minimisers of L. The replicas then
differ by O(1/b): the off-diagonal overlaps approach the diagonal ones with finite
susceptibilities X = b (G - g), and the conjugates scale as
A~ - B~ = b X^, B~ = -b^2 Q^, H~ = b t^. The free energy per N at zero
temperature is f = -lim_{b->inf} phi / b, computed by SymPy term by term and identified
with compact matrix expressions.

For M = M* = 1 SymPy takes the limits of the explicit expressions. For larger models it
takes them on the matrix expressions: after the scaling, A - B = I + eta K X does not
depend on b and B is linear in b (both checked entry by entry), log-determinants grow
like log b, and the limit of phi / b is the coefficient of b
(:func:`symrep.replica.matrix_calculus.linear_coefficient`).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from symrep.replica.derivation import Equation, Step
from symrep.replica.objective import _model, field_matrix, field_matrix_inverse
from symrep.replica.replica_limit import replica_limit

__all__ = ["zero_temperature", "conjugate_hat_matrices", "compact_limits",
           "structural_zero_temperature"]


def conjugate_hat_matrices(model=None):
    """(X^, Q^, t^): the zero-temperature conjugates as SymPy matrices.

    Parameters
    ----------
    model : LinearVAE, optional
        The model (default ``LinearVAE()``, M = M* = 1).

    Returns
    -------
    tuple of sympy.Matrix
        X^ (M x M), Q^ (M x M) and t^ (M x M*), with entries the model's symbols.
    """
    s = _model(model).symbols()
    return sp.Matrix(s.Y), sp.Matrix(s.Qhat), sp.Matrix(s.that)


def _scaling(model=None):
    """The zero-temperature scaling of the finite-temperature variables (entry by entry)."""
    model = _model(model)
    s = model.symbols()
    X_hat, Q_hat, t_hat = conjugate_hat_matrices(model)
    b = s.b
    diag, off = b * X_hat - b**2 * Q_hat, -(b**2) * Q_hat
    table = {}
    for finite, value in ((s.g, s.G - s.X / b), (s.Atilde, diag), (s.Btilde, off),
                          (s.Htilde, b * t_hat)):
        for sym, val in zip(finite, value, strict=True):
            if isinstance(sym, sp.Symbol):
                table[sym] = val
    return table


def _matrix_scaling(model):
    from symrep.replica.matrix_forms import matrix_forms

    F = matrix_forms(model)
    b = model.symbols().b
    return {F.g: F.G - F.X / b, F.Atilde: b * F.Xhat - b**2 * F.Qhat,
            F.Btilde: -(b**2) * F.Qhat, F.Htilde: b * F.that}


def compact_limits(model=None) -> dict:
    """The compact forms of the zero-temperature limits, as matrix expressions.

    ``entropic`` = [tr(X^ G) - tr(Q^ X) - 2 tr(t^T t) + tr(X^{-1} Q^) + tr(t^T X^{-1} t^)]/2
    (hats on the conjugates) and ``energetic`` = -tr[(K^{-1} + eta X)^{-1}
    (t diag(rho) t^T + eta G)]/2.

    Parameters
    ----------
    model : LinearVAE, optional
        The model (default ``LinearVAE()``, M = M* = 1).

    Returns
    -------
    dict
        ``entropic`` and ``energetic``: SymPy scalar matrix expressions in the matrix
        symbols of :func:`symrep.replica.matrix_forms.matrix_forms`.
    """
    from symrep.replica.matrix_forms import matrix_forms

    model = _model(model)
    F = matrix_forms(model)
    eta = model.symbols().eta
    entropic = (sp.Trace(F.Xhat * F.G) - sp.Trace(F.Qhat * F.X) - 2 * sp.Trace(F.that.T * F.t)
                + sp.Trace(sp.Inverse(F.Xhat) * F.Qhat)
                + sp.Trace(F.that.T * sp.Inverse(F.Xhat) * F.that)) / 2
    energetic = -sp.Trace(sp.Inverse(F.Kinv + eta * F.X)
                          * (F.t * F.P * F.t.T + eta * F.G)) / 2
    return {"entropic": entropic, "energetic": energetic}


def zero_temperature(model=None) -> Step:
    """f = -lim phi/b with the conjugates still present.

    Parameters
    ----------
    model : LinearVAE, optional
        The model (default ``LinearVAE()``).

    Returns
    -------
    Step
        ``result`` is a dict with ``entropic`` and ``energetic`` (the limits of the
        corresponding parts of phi / b, in compact form, verified equal to the limits
        SymPy computed) and ``free_energy`` = -entropic - alpha energetic + local. For
        M = M* = 1 they are explicit expressions; otherwise matrix expressions.
    """
    return _zero_temperature(_model(model))


@cache
def _zero_temperature(model) -> Step:
    # the model's notation (``model.is_scalar``): the paper's one-unit chapter takes the
    # limits of the explicit entries, as the paper writes them; the matrix form is the
    # matrix route of structural_zero_temperature
    if not model.is_scalar:
        return _structural_zero_temperature(model)
    s = model.symbols()
    b, eta, alpha = s.b, s.eta, s.alpha
    parts = replica_limit(model).result
    scaling = _scaling(model)
    raw_s = sp.limit(parts["entropic"].subs(scaling) / b, b, sp.oo)
    raw_e = sp.limit(parts["energetic"].subs(scaling) / b, b, sp.oo)
    Gm, t, X = sp.Matrix(s.G), sp.Matrix(s.t), sp.Matrix(s.X)
    X_hat, Q_hat, t_hat = conjugate_hat_matrices(model)
    K = sp.Matrix(field_matrix(model))
    rho = s.rho[0]
    entropic = ((X_hat * Gm).trace() - (Q_hat * X).trace() - 2 * (t_hat.T * t)[0, 0]
                + (X_hat.inv() * Q_hat).trace() + (t_hat.T * X_hat.inv() * t_hat)[0, 0]) / 2
    energetic = -((K.inv() + eta * X).inv() * (rho * t * t.T + eta * Gm)).trace() / 2
    for raw, compact, name in ((raw_s, entropic, "entropic"), (raw_e, energetic, "energetic")):
        if sp.simplify(raw - compact) != 0:  # pragma: no cover - checked by the tests
            raise AssertionError(f"the {name} limit differs from its compact form")
    free_energy = -entropic - alpha * energetic + parts["local"]
    text = r"""
As $b\to\infty$ the replicas collapse onto the minimiser: $\mathcal q = \mathcal Q -
\mathcal X/b$ with the susceptibility matrix
$\mathcal X = \begin{pmatrix}\chi_Q & \chi_R\\ \chi_R & \chi_E\end{pmatrix}$ finite, and the
conjugates scale as $\tilde{\mathcal A} - \tilde{\mathcal B} = b\hat{\mathcal X}$,
$\tilde{\mathcal B} = -b^2\hat{\mathcal Q}$, $\tilde h = b\,\hat t$. SymPy computes
$\lim_{b\to\infty}\Phi'(0)/b$ term by term; the results are identical (verified by SymPy)
to the compact forms
\begin{align*}
 \lim_{b\to\infty}\frac{G_S'(0)}{b} &= \tfrac12\operatorname{tr}(\hat{\mathcal X}\mathcal Q)
 - \tfrac12\operatorname{tr}(\hat{\mathcal Q}\mathcal X) - \hat t^{\mathsf T} t
 + \tfrac12\operatorname{tr}(\hat{\mathcal X}^{-1}\hat{\mathcal Q})
 + \tfrac12 \hat t^{\mathsf T}\hat{\mathcal X}^{-1}\hat t, \\
 \lim_{b\to\infty}\frac{G_E'(0)}{b} &= -\tfrac12\operatorname{tr}\bigl[(K^{-1}+\eta\mathcal X)^{-1}
 (\rho\, t t^{\mathsf T} + \eta\mathcal Q)\bigr],
\end{align*}
and the free energy per $N$ is $f = -\lim_{b\to\infty}\Phi'(0)/b$:
"""
    return Step(
        key="06_zero_temperature",
        title="The zero-temperature limit",
        text=text,
        equations=(
            Equation(r"K^{-1}", K.inv()),
            Equation(r"f", free_energy),
        ),
        result={"entropic": entropic, "energetic": energetic, "local": parts["local"],
                "free_energy": free_energy},
    )


def structural_zero_temperature(model=None) -> Step:
    """The zero-temperature step on the matrix expressions, for any model.

    For M > 1 this is :func:`zero_temperature`; for M = M* = 1 it is the same limit
    taken on 1 x 1 blocks (used to check the matrix route against the explicit one).

    Parameters
    ----------
    model : LinearVAE, optional
        The model (default ``LinearVAE()``, M = M* = 1).

    Returns
    -------
    Step
        ``result`` is a dict with ``entropic`` and ``energetic`` (the limits in compact
        form, matrix expressions), ``local``, ``free_energy`` = -entropic - alpha energetic
        + local, and ``raw_entropic``, ``raw_energetic`` (the limits as SymPy took them).

    Raises
    ------
    AssertionError
        If a limit differs from its compact form at a random rational point.
    """
    return _structural_zero_temperature(_model(model))


def structural_limits(model) -> dict:
    """The b -> infinity limits of the parts of phi / b, from the matrix expressions.

    Returns the raw limits (``entropic``, ``energetic``) and the scaled RS blocks
    ``A_minus_B`` and ``B`` of the energetic term. Raises AssertionError when A - B
    depends on b or B is not linear in b (checked on the matrix expressions and entry by
    entry on their realization).

    Parameters
    ----------
    model : LinearVAE
        The model.

    Returns
    -------
    dict
        ``entropic`` and ``energetic`` (the coefficients of b of the two parts of phi, SymPy
        expressions) and ``A_minus_B``, ``B`` (the scaled RS blocks, matrix expressions).

    Raises
    ------
    AssertionError
        If A - B depends on b or B is not linear in b.
    """
    from symrep.replica.matrix_calculus import linear_coefficient, realize
    from symrep.replica.matrix_forms import matrix_forms
    from symrep.replica.replica_limit import structural_replica_limit

    F = matrix_forms(model)
    s = model.symbols()
    b = s.b
    parts = structural_replica_limit(model)
    scaling = _matrix_scaling(model)
    A_minus_B = sp.expand((F.definitions[F.A] - F.definitions[F.B]).xreplace(scaling))
    B = sp.expand(F.definitions[F.B].xreplace(scaling))
    if A_minus_B.has(b):  # pragma: no cover - structural guarantee
        raise AssertionError(f"A - B depends on b: {A_minus_B}")
    explicit = realize((F.definitions[F.A] - F.definitions[F.B]).xreplace(scaling),
                       F.realization).applyfunc(sp.expand)
    if any(entry.has(b) for entry in explicit):  # pragma: no cover - structural guarantee
        raise AssertionError("an entry of A - B depends on b")
    explicit_B = realize(F.definitions[F.B].xreplace(scaling), F.realization)
    if any(sp.degree(sp.expand(entry), b) > 1 or sp.expand(entry).subs(b, 0).has(sp.oo)
           for entry in explicit_B):  # pragma: no cover - structural guarantee
        raise AssertionError("an entry of B is not linear in b")
    energetic_raw = parts["energetic"].xreplace({F.A - F.B: A_minus_B, F.B: B})
    energetic_raw = energetic_raw.xreplace({F.A: F.definitions[F.A].xreplace(scaling)})
    entropic_raw = parts["entropic"].xreplace(scaling)
    return {"entropic": linear_coefficient(entropic_raw, b),
            "energetic": linear_coefficient(energetic_raw, b),
            "A_minus_B": A_minus_B, "B": B}


@cache
def _structural_zero_temperature(model) -> Step:
    from symrep.replica.matrix_calculus import vanishes_at_random_point
    from symrep.replica.matrix_forms import matrix_forms
    from symrep.replica.replica_limit import structural_replica_limit

    F = matrix_forms(model)
    s = model.symbols()
    parts = structural_replica_limit(model)
    limits = structural_limits(model)
    compact = compact_limits(model)
    for name in ("entropic", "energetic"):
        if not vanishes_at_random_point(limits[name] - compact[name], F.realization):
            raise AssertionError(  # pragma: no cover - checked by the tests
                f"the {name} limit differs from its compact form")
    free_energy = -compact["entropic"] - s.alpha * compact["energetic"] + parts["local"]
    text = r"""
As $b\to\infty$ the replicas collapse onto the minimiser: $\mathcal q = \mathcal Q -
\mathcal X/b$ with the susceptibility matrix $\mathcal X$ (symmetric $2M\times 2M$, blocks
$\chi_Q$, $\chi_R$, $\chi_E$) finite, and the conjugates scale as
$\tilde{\mathcal A} - \tilde{\mathcal B} = b\hat{\mathcal X}$,
$\tilde{\mathcal B} = -b^2\hat{\mathcal Q}$, $\tilde H = b\,\hat t$. Then
$\mathcal A - \mathcal B = I + \eta K\mathcal X$ does not depend on $b$ and $\mathcal B$ is
linear in $b$ (SymPy checks both entry by entry), so the log-determinants grow like
$\log b$ and $\lim_{b\to\infty}\Phi'(0)/b$ is the coefficient of $b$, which SymPy extracts
from the matrix expressions (no term grows faster). Using
$(I+\eta K\mathcal X)^{-1}K = (K^{-1}+\eta\mathcal X)^{-1}$, the limits equal (checked in
exact arithmetic at random rational values) the compact forms
\begin{align*}
 \lim_{b\to\infty}\frac{G_S'(0)}{b} &= \tfrac12\operatorname{tr}(\hat{\mathcal X}\mathcal Q)
 - \tfrac12\operatorname{tr}(\hat{\mathcal Q}\mathcal X)
 - \operatorname{tr}(\hat t^{\mathsf T} t)
 + \tfrac12\operatorname{tr}(\hat{\mathcal X}^{-1}\hat{\mathcal Q})
 + \tfrac12 \operatorname{tr}(\hat t^{\mathsf T}\hat{\mathcal X}^{-1}\hat t), \\
 \lim_{b\to\infty}\frac{G_E'(0)}{b} &= -\tfrac12\operatorname{tr}\bigl[(K^{-1}+\eta\mathcal X)^{-1}
 (t\operatorname{diag}(\rho)\, t^{\mathsf T} + \eta\mathcal Q)\bigr],
\end{align*}
with $\hat{\mathcal X}$ the conjugate of $\mathcal X$ (entries $\hat\chi$), and the free
energy per $N$ is $f = -\lim_{b\to\infty}\Phi'(0)/b$:
"""
    return Step(
        key="06_zero_temperature",
        title="The zero-temperature limit",
        text=text,
        equations=(
            Equation(r"\mathcal A - \mathcal B", limits["A_minus_B"]),
            Equation(r"\mathcal B", limits["B"]),
            Equation(r"K^{-1}", field_matrix_inverse(model)),
            Equation(r"f", free_energy),
        ),
        result={"entropic": compact["entropic"], "energetic": compact["energetic"],
                "local": parts["local"], "free_energy": free_energy,
                "raw_entropic": limits["entropic"], "raw_energetic": limits["energetic"]},
    )
