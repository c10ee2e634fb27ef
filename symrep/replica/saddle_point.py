"""Step 9: the saddle-point (extremum) conditions.

The encoder variance D enters f only through alpha (Q D + beta (D - 1 - log D))/2, so
df/dD = 0 gives D = beta/(beta + Q) in closed form; by the envelope theorem the other
conditions may be taken on f with D eliminated. What remains are eight equations
df/dz = 0 for z = (Q, R, E, m, d, chi_Q, chi_R, chi_E).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

from symrep.replica.derivation import Equation, Step
from symrep.replica.free_energy import rs_free_energy
from symrep.symbols import ORDER_PARAMETERS, D

__all__ = ["SaddlePointSystem", "saddle_point_equations", "saddle_point_step", "UNKNOWNS"]

#: The unknowns of the saddle-point equations (D is eliminated in closed form).
UNKNOWNS = tuple(s for s in ORDER_PARAMETERS if s != D)


@dataclass(frozen=True)
class SaddlePointSystem:
    """The saddle-point equations of the RS free energy.

    Attributes
    ----------
    unknowns : tuple of Symbol
        (Q, R, E, m, d, chi_Q, chi_R, chi_E).
    equations : tuple of Expr
        df/dz for each unknown z, with D eliminated; the saddle point is where all vanish.
    eliminated : dict
        Closed-form eliminations, ``{D: beta/(beta + Q)}``.
    free_energy : Expr
        f with D eliminated.
    """

    unknowns: tuple
    equations: tuple
    eliminated: dict
    free_energy: sp.Expr


@cache
def saddle_point_equations() -> SaddlePointSystem:
    """Extremum conditions of :func:`~symrep.replica.rs_free_energy`, D eliminated."""
    f = rs_free_energy()
    solutions = sp.solve(sp.diff(f, D), D)
    if len(solutions) != 1:  # pragma: no cover - structural guarantee
        raise AssertionError(f"expected one solution for D, got {solutions}")
    D_star = sp.simplify(solutions[0])
    f_red = f.subs(D, D_star)
    # envelope theorem: df/dz at D = D*(Q) equals d f_red / dz, because df/dD = 0 there
    equations = tuple(sp.diff(f, z).subs(D, D_star) for z in UNKNOWNS)
    return SaddlePointSystem(UNKNOWNS, equations, {D: D_star}, f_red)


@cache
def saddle_point_step() -> Step:
    """The saddle-point conditions, for the derivation document."""
    system = saddle_point_equations()
    text = r"""
$D$ enters only through $\tfrac\alpha2(QD + \beta(D - 1 - \log D))$; SymPy solves
$\partial f/\partial D = 0$ in closed form. The remaining conditions are
$\partial f/\partial z = 0$ for the eight unknowns $z = (Q, R, E, m, d, \chi_Q, \chi_R,
\chi_E)$; on the solution, $\partial f/\partial D = 0$ lets them be evaluated at
$D = D^*(Q)$. They are lambdified, with their Jacobian, for the numerical solver.
"""
    eqs = tuple(
        Equation(rf"\partial f/\partial {sp.latex(z)}", expr, relation="=")
        for z, expr in zip(system.unknowns, system.equations, strict=True)
    )
    return Step(key="09_saddle_point", title="Saddle-point equations", text=text,
                equations=(Equation("D^*", system.eliminated[D]), *eqs), result=system)
