"""Step 8: the replica-symmetric free energy of the linear VAE at zero temperature.

    f = -tr(X^{-1} (G - t t^T))/2 + alpha tr[(K^{-1} + eta X)^{-1} (rho t t^T + eta G)]/2
        + lam (Q + E)/2 + alpha (Q D + beta (D - 1 - log D))/2

with G = [[Q, R], [R, E]], t = (m, d), X = [[chi_Q, chi_R], [chi_R, chi_E]] and
K = [[0, -1], [-1, Q + beta]]. Its extremum over the order parameters is the minimum of
the objective per N, minus sum_mu ||x^mu||^2 / (2N).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from symrep.replica.conjugates import eliminate_conjugates, structural_elimination
from symrep.replica.derivation import Equation, Step
from symrep.replica.objective import _model
from symrep.replica.zero_temperature import zero_temperature

__all__ = ["rs_free_energy", "free_energy_step", "structural_free_energy"]


def rs_free_energy(conjugates: bool = False) -> sp.Expr:
    """The replica-symmetric free energy per N at zero temperature.

    Parameters
    ----------
    conjugates : bool, default False
        If True, return the form before the conjugates are eliminated (an extremum over
        the order parameters and the conjugates ``symrep.symbols.CONJUGATES``).

    Returns
    -------
    sympy.Expr
        f in the order parameters ``symrep.symbols.ORDER_PARAMETERS`` (Q, R, E, m, d,
        chi_Q, chi_R, chi_E, D) and the parameters (alpha, beta, lam, rho, eta). At its
        extremum it equals the minimum over the weights of the training objective per N,
        minus the constant sum_mu ||x^mu||^2 / (2N).
    """
    if conjugates:
        return zero_temperature().result["free_energy"]
    return eliminate_conjugates().result["free_energy"]


def structural_free_energy(model=None):
    """f of any model as a matrix expression (conjugates eliminated, D not yet).

    -tr[X^{-1}(G - t t^T)]/2 + alpha/2 tr[(K^{-1} + eta X)^{-1}(t diag(rho) t^T + eta G)]
    + lam/2 tr(Q + E) + alpha w(Q, D), in the matrix symbols of
    :func:`symrep.replica.matrix_forms.matrix_forms` and the entries of Q and D.

    Parameters
    ----------
    model : LinearVAE, optional
        The model (default ``LinearVAE()``, M = M* = 1).

    Returns
    -------
    sympy.Expr
        f, a scalar matrix expression.
    """
    return structural_elimination(model).result["free_energy"]


def free_energy_step(model=None) -> Step:
    """The final free energy, for the derivation document.

    Parameters
    ----------
    model : LinearVAE, optional
        The model (default ``LinearVAE()``, M = M* = 1).

    Returns
    -------
    Step
        ``result`` is f of :func:`~symrep.replica.conjugates.eliminate_conjugates`: an
        explicit expression where the model is written in the paper's scalar notation
        (``model.is_scalar``), a matrix expression otherwise.

    Raises
    ------
    AssertionError
        If the explicit free energy does not depend on every parameter.
    """
    return _free_energy_step(_model(model))


# the paragraph before f in each notation of the derivation (``model.is_scalar``): the
# paper's explicit one-unit form, and the matrix form
_TEXT = {
    True: r"""
Collecting the entropic term, the energetic term and the local terms, the
replica-symmetric free energy per $N$ at zero temperature is
\[
 f = -\tfrac12\operatorname{tr}\bigl[\mathcal X^{-1}(\mathcal Q - t t^{\mathsf T})\bigr]
 + \tfrac\alpha2\operatorname{tr}\bigl[(K^{-1}+\eta\mathcal X)^{-1}(\rho\,tt^{\mathsf T}
 + \eta\mathcal Q)\bigr] + \tfrac\lambda2(Q+E) + \tfrac\alpha2\bigl(QD + \beta(D-1-\log D)\bigr),
\]
to be extremised over $(Q, R, E, m, d, \chi_Q, \chi_R, \chi_E, D)$. At the extremum it
equals $\min_{W,\tilde W, D} L/N - \sum_\mu\|x^\mu\|^2/(2N)$. Written out by SymPy:
""",
    False: r"""
Collecting the entropic term, the energetic term and the local terms, the
replica-symmetric free energy per $N$ at zero temperature is
\begin{align*}
 f &= -\tfrac12\operatorname{tr}\bigl[\mathcal X^{-1}(\mathcal Q - t t^{\mathsf T})\bigr]
 + \tfrac\alpha2\operatorname{tr}\bigl[(K^{-1}+\eta\mathcal X)^{-1}(t\operatorname{diag}(\rho)
 t^{\mathsf T} + \eta\mathcal Q)\bigr] \\
 &\phantom{{}={}} + \tfrac\lambda2\operatorname{tr}(Q+E)
 + \tfrac\alpha2\bigl[\operatorname{tr}(QD) + \beta(\operatorname{tr}D - M
 - \log\det D)\bigr],
\end{align*}
to be extremised over $\mathcal Q$, $t$, the symmetric $\mathcal X$ and the diagonal $D$.
At the extremum it equals $\min_{W,\tilde W, D} L/N - \sum_\mu\|x^\mu\|^2/(2N)$. As
SymPy holds it (matrix symbols; $w(Q, D)$ written out):
""",
}


@cache
def _free_energy_step(model) -> Step:
    f = eliminate_conjugates(model).result["free_energy"]
    if model.is_scalar:  # written out: every parameter appears as itself
        missing = [s for s in model.symbols().parameters if s not in f.free_symbols]
        if missing:  # pragma: no cover - structural guarantee
            raise AssertionError(f"free energy does not depend on {missing}")
    return Step(key="08_free_energy", title="The replica-symmetric free energy",
                text=_TEXT[model.is_scalar], equations=(Equation("f", f),), result=f)
