"""Step 7: elimination of the conjugate variables.

The zero-temperature free energy is stationary in the conjugates (X^, Q^, t^). The
stationarity conditions are solved in closed form by SymPy, one group at a time:
d/dQ^ = 0 gives X^ = X^{-1}; d/dt^ = 0 gives t^ = X^{-1} t; d/dX^ = 0 gives
Q^ = X^{-1} (G - t t^T) X^{-1}. Substituted back, the entropic part becomes
-tr(X^{-1} (G - t t^T)) / 2.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from symrep.replica.derivation import Equation, Step
from symrep.replica.objective import _model
from symrep.replica.zero_temperature import (
    conjugate_hat_matrices,
    structural_zero_temperature,
    zero_temperature,
)

__all__ = ["eliminate_conjugates", "structural_elimination"]


def _solve_unique(equations, unknowns):
    solutions = sp.solve(equations, unknowns, dict=True)
    if len(solutions) != 1:  # pragma: no cover - structural guarantee, checked by tests
        raise AssertionError(f"expected one solution for {unknowns}, got {solutions}")
    return {k: sp.simplify(v) for k, v in solutions[0].items()}


def structural_elimination(model=None) -> Step:
    """The elimination of the conjugates on the matrix expressions, for any model.

    For M > 1 this is :func:`eliminate_conjugates`; for M = M* = 1 the same step on 1 x 1
    blocks (used to check the matrix route against the explicit one).

    Parameters
    ----------
    model : LinearVAE, optional
        The model (default ``LinearVAE()``, M = M* = 1).

    Returns
    -------
    Step
        ``result`` is a dict with ``solution`` (the matrix symbols X^, t^, Q^ mapped to
        X^{-1}, X^{-1} t and X^{-1} (G - t t^T) X^{-1}), ``free_energy`` (f without the
        conjugates, a matrix expression) and ``gradients`` (the gradients of f with
        respect to the conjugates, which vanish at the solution).

    Raises
    ------
    AssertionError
        If a gradient does not vanish at the solution at a random rational point.
    """
    return _structural_elimination(_model(model))


def eliminate_conjugates(model=None) -> Step:
    """Solve for the conjugates and substitute them into the free energy.

    Parameters
    ----------
    model : LinearVAE, optional
        The model (default ``LinearVAE()``, M = M* = 1).

    Returns
    -------
    Step
        ``result`` is a dict with ``solution`` (conjugate -> expression) and
        ``free_energy`` (f in the order parameters, D included, no conjugates). For
        M = M* = 1 explicit expressions; otherwise matrix expressions (the solution maps
        the matrix symbols of :func:`symrep.replica.matrix_forms.matrix_forms`).
    """
    return _elimination_step(_model(model))


@cache
def _elimination_step(model) -> Step:
    # the model's notation (``model.is_scalar``): the paper's one-unit chapter solves the
    # stationarity conditions in the explicit entries, as the paper writes them; the
    # matrix form is the matrix route of structural_elimination
    if not model.is_scalar:
        return _structural_elimination(model)
    s = model.symbols()
    zt = zero_temperature(model).result
    f = zt["free_energy"]
    X_hat, Q_hat, t_hat = conjugate_hat_matrices(model)
    precisions = [X_hat[0, 0], X_hat[0, 1], X_hat[1, 1]]
    q_hats = [Q_hat[0, 0], Q_hat[0, 1], Q_hat[1, 1]]
    t_hats = list(t_hat)
    solution = _solve_unique([sp.diff(f, z) for z in q_hats], precisions)
    f1 = f.subs(solution)
    solution.update(_solve_unique([sp.diff(f1, z) for z in t_hats], t_hats))
    # X^ enters the entropic part only; after fixing X^ the Q^ equations come from d/dX^
    entropic = zt["entropic"]
    q_eqs = [sp.diff(entropic, z).subs(solution) for z in precisions]
    solution.update(_solve_unique(q_eqs, q_hats))
    G, t, X = sp.Matrix(s.G), sp.Matrix(s.t), sp.Matrix(s.X)
    entropic_value = sp.simplify(entropic.subs(solution))
    compact = (X.inv() * (G - t * t.T)).trace() / 2
    if sp.simplify(entropic_value - compact) != 0:  # pragma: no cover - checked by tests
        raise AssertionError("the entropic term after elimination differs from its compact form")
    free_energy = -compact - s.alpha * zt["energetic"] + zt["local"]
    text = r"""
SymPy solves the stationarity conditions of $f$ in the conjugates, one group at a time
(each linear in the unknowns it is solved for), with a unique solution:
$\partial f/\partial\hat{\mathcal Q} = 0$ gives $\hat{\mathcal X} = \mathcal X^{-1}$,
$\partial f/\partial\hat t = 0$ gives $\hat t = \mathcal X^{-1} t$, and
$\partial f/\partial\hat{\mathcal X} = 0$ gives
$\hat{\mathcal Q} = \mathcal X^{-1}(\mathcal Q - t t^{\mathsf T})\mathcal X^{-1}$.
Substituted back, the entropic part becomes
$\tfrac12\operatorname{tr}\bigl[\mathcal X^{-1}(\mathcal Q - t t^{\mathsf T})\bigr]$
(checked identically by SymPy). Explicitly:
"""
    return Step(
        key="07_conjugates",
        title="Elimination of the conjugate variables",
        text=text,
        equations=(
            Equation(r"\hat{\mathcal X}", X_hat.subs(solution)),
            Equation(r"\hat t", t_hat.subs(solution)),
            Equation(r"\hat{\mathcal Q}", Q_hat.subs(solution)),
        ),
        result={"solution": solution, "free_energy": free_energy},
    )


@cache
def _structural_elimination(model) -> Step:
    from symrep.replica.matrix_calculus import gradient, vanishes_at_random_point
    from symrep.replica.matrix_forms import matrix_forms

    F = matrix_forms(model)
    zt = structural_zero_temperature(model).result
    f = zt["free_energy"]
    X_inv = sp.Inverse(F.X)
    solution = {F.Xhat: X_inv, F.that: X_inv * F.t,
                F.Qhat: X_inv * (F.G - F.t * F.t.T) * X_inv}
    gradients = {V: gradient(f, V) for V in (F.Qhat, F.that, F.Xhat)}
    for V, grad in gradients.items():
        if not vanishes_at_random_point(grad.xreplace(solution), F.realization):
            raise AssertionError(  # pragma: no cover - structural guarantee
                f"d f / d {V} does not vanish at the proposed conjugates")
    compact = sp.Trace(X_inv * (F.G - F.t * F.t.T)) / 2
    if not vanishes_at_random_point(zt["entropic"].xreplace(solution) - compact,
                                    F.realization):  # pragma: no cover
        raise AssertionError("the entropic term after elimination differs from its "
                             "compact form")
    free_energy = -compact - model.symbols().alpha * zt["energetic"] + zt["local"]
    text = r"""
SymPy differentiates $f$ with respect to the conjugate matrices (matrix calculus on the
traces of step 6):
"""
    after = r"""
The three gradients vanish at
$\hat{\mathcal X} = \mathcal X^{-1}$, $\hat t = \mathcal X^{-1} t$ and
$\hat{\mathcal Q} = \mathcal X^{-1}(\mathcal Q - t t^{\mathsf T})\mathcal X^{-1}$
(checked in exact arithmetic at random rational values of every entry), the solution of
the case $M = M^* = 1$ written with matrices. Substituted back, the entropic part
becomes $\tfrac12\operatorname{tr}\bigl[\mathcal X^{-1}(\mathcal Q - t t^{\mathsf T})\bigr]$
(checked in the same way).
"""
    return Step(
        key="07_conjugates",
        title="Elimination of the conjugate variables",
        text=text,
        equations=tuple(Equation(rf"\partial f/\partial {sp.latex(V)}", grad)
                        for V, grad in gradients.items()),
        closing=after,
        result={"solution": solution, "free_energy": free_energy, "gradients": gradients},
    )
