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
from symrep.replica.zero_temperature import conjugate_hat_matrices, zero_temperature
from symrep.symbols import (
    alpha,
    chihat_E,
    chihat_Q,
    chihat_R,
    dhat,
    ehat,
    mhat,
    overlap_matrix,
    qhat,
    rhat,
    susceptibility_matrix,
    teacher_overlaps,
)

__all__ = ["eliminate_conjugates"]


def _solve_unique(equations, unknowns):
    solutions = sp.solve(equations, unknowns, dict=True)
    if len(solutions) != 1:  # pragma: no cover - structural guarantee, checked by tests
        raise AssertionError(f"expected one solution for {unknowns}, got {solutions}")
    return {k: sp.simplify(v) for k, v in solutions[0].items()}


@cache
def eliminate_conjugates() -> Step:
    """Solve for the conjugates and substitute them into the free energy.

    Returns
    -------
    Step
        ``result`` is a dict with ``solution`` (conjugate -> expression) and
        ``free_energy`` (f in the order parameters, D included, no conjugates).
    """
    zt = zero_temperature().result
    f = zt["free_energy"]
    solution = _solve_unique([sp.diff(f, s) for s in (qhat, rhat, ehat)],
                             [chihat_Q, chihat_R, chihat_E])
    f1 = f.subs(solution)
    solution.update(_solve_unique([sp.diff(f1, s) for s in (mhat, dhat)], [mhat, dhat]))
    # X^ enters the entropic part only; after fixing X^ the Q^ equations come from d/dX^
    entropic = zt["entropic"]
    q_eqs = [sp.diff(entropic, s).subs(solution) for s in (chihat_Q, chihat_R, chihat_E)]
    solution.update(_solve_unique(q_eqs, [qhat, rhat, ehat]))
    G, t, X = overlap_matrix(), teacher_overlaps(), susceptibility_matrix()
    entropic_value = sp.simplify(entropic.subs(solution))
    compact = (X.inv() * (G - t * t.T)).trace() / 2
    if sp.simplify(entropic_value - compact) != 0:  # pragma: no cover - checked by tests
        raise AssertionError("the entropic term after elimination differs from its compact form")
    free_energy = -compact - alpha * zt["energetic"] + zt["local"]
    X_hat, Q_hat, t_hat = conjugate_hat_matrices()
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
