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

__all__ = ["SaddlePointSystem", "saddle_point_equations", "saddle_point_step", "UNKNOWNS",
           "PrecisionForm", "precision_form"]

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


def saddle_point_step(model=None) -> Step:
    """The saddle-point conditions, for the derivation document.

    Parameters
    ----------
    model : LinearVAE, optional
        The model (default ``LinearVAE()``, M = M* = 1).

    Returns
    -------
    Step
        ``result`` is the :class:`SaddlePointSystem` for M = M* = 1 and the
        :class:`PrecisionForm` otherwise.
    """
    from symrep.replica.objective import _model

    return _saddle_point_step(_model(model))


# the paragraphs of each notation of the derivation (``model.is_scalar``): the paper's
# one-unit chapter writes the eight conditions out; the matrix form shows f at D = D*
_TEXT = {True: r"""
$D$ enters only through $\tfrac\alpha2(QD + \beta(D - 1 - \log D))$; SymPy solves
$\partial f/\partial D = 0$ in closed form. The remaining conditions are
$\partial f/\partial z = 0$ for the eight unknowns $z = (Q, R, E, m, d, \chi_Q, \chi_R,
\chi_E)$; on the solution, $\partial f/\partial D = 0$ lets them be evaluated at
$D = D^*(Q)$. They are lambdified, with their Jacobian, for the numerical solver.
""",
         False: r"""
$D$ enters only through $\tfrac\alpha2[\operatorname{tr}(QD) + \beta(\operatorname{tr}D - M
- \log\det D)]$; SymPy solves $\partial f/\partial D_i = 0$ in closed form for each unit:
"""}

_CLOSING = {True: "", False: r"""
The solvers work with the precision matrix $\mathcal Y = \mathcal X^{-1}$ (finite where
$\chi_E$ diverges) and its blocks $\hat\chi_Q$, $\hat\chi_R$, $\hat\chi_E$ as unknowns.
With $\mathcal N = K^{-1}\mathcal Y + \eta I$, $(K^{-1} + \eta\mathcal Y^{-1})^{-1} =
\mathcal Y\mathcal N^{-1}$ (checked in exact arithmetic at random rational values), so
$f$ above, at $D = D^*$, is the precision form shown. SymPy writes its traces out entry by
entry, keeping the entries of $\mathcal N^{-1}$ as symbols $b_{ij}$, and differentiates
with respect to the independent entries $z$ of $Q$, $R$, $E$, $m$, $d$ and $\mathcal Y$
using $d\mathcal N^{-1} = -\mathcal N^{-1}\, d\mathcal N\, \mathcal N^{-1}$: the conditions
$\partial f/\partial z = 0$ and their Jacobian are generated as NumPy code
(\texttt{symrep.numeric.model\_codegen}), which computes $\mathcal N^{-1}$ numerically.
Stationarity in $z$ at $D = D^*$ is stationarity of $f$ because $\partial f/\partial D = 0$
there.
"""}


@cache
def _saddle_point_step(model) -> Step:
    if model.is_scalar:
        result = saddle_point_equations()
        equations = (Equation("D^*", result.eliminated[D]), *(
            Equation(rf"\partial f/\partial {sp.latex(z)}", expr, relation="=")
            for z, expr in zip(result.unknowns, result.equations, strict=True)))
    else:
        result = precision_form(model)
        D_entries = model.symbols().D_entries
        equations = (
            *(Equation(f"D_{{{i + 1}}}^*", D_i) for i, D_i in enumerate(result.D_star)),
            Equation("f", result.matrix_free_energy.xreplace(
                dict(zip(D_entries, result.D_star, strict=True)))))
    return Step(key="09_saddle_point", title="Saddle-point equations",
                text=_TEXT[model.is_scalar], equations=equations,
                closing=_CLOSING[model.is_scalar], result=result)


@dataclass(frozen=True)
class PrecisionForm:
    """The free energy of a model in the form the generated code evaluates.

    The unknowns are the independent entries of Q, R, E, m, d and of the precision
    matrix Y = X^{-1} (:func:`symrep.numeric.layout.unknown_layout`); D is eliminated,
    D_i = beta/(beta + Q_ii). The energetic term needs (K^{-1} + eta Y^{-1})^{-1}
    = Y N^{-1} with N = K^{-1} Y + eta I; N^{-1} is kept as a matrix of opaque symbols
    ``B`` (b_11, b_12, ...), which the generated code computes numerically from ``N``, and
    derivatives follow dB = -B dN B.

    Attributes
    ----------
    unknowns, parameters : tuple of Symbol
        In the order of the generated functions' arguments.
    free_energy : Expr
        f in the unknowns, the entries of ``B`` and the parameters.
    B : ImmutableMatrix
        The opaque symbols standing for N^{-1} (2M x 2M, every entry its own symbol).
    N : ImmutableMatrix
        N = K^{-1} Y + eta I, explicit in the unknowns and parameters.
    D_star : tuple of Expr
        D_i at the extremum, beta/(beta + Q_ii).
    matrix_free_energy : Expr
        f in precision form as a matrix expression (Y, N^{-1}), before the entries are
        written out.
    """

    unknowns: tuple
    parameters: tuple
    free_energy: sp.Expr
    B: sp.ImmutableMatrix
    N: sp.ImmutableMatrix
    D_star: tuple
    matrix_free_energy: sp.Expr


def precision_form(model=None) -> PrecisionForm:
    """The free energy of ``model`` in precision form, D eliminated (see :class:`PrecisionForm`).

    Taken from :func:`symrep.replica.free_energy.structural_free_energy`: SymPy solves
    df/dD_i = 0, replaces X by Y^{-1} and (K^{-1} + eta X)^{-1} by Y N^{-1} (the identity
    is checked exactly at random rational values) and writes the traces out entry by entry.

    Parameters
    ----------
    model : LinearVAE, optional
        The model (default ``LinearVAE()``, M = M* = 1).

    Returns
    -------
    PrecisionForm
        The free energy in precision form, with its unknowns and parameters.
    """
    from symrep.replica.objective import _model

    return _precision_form(_model(model))


@cache
def _precision_form(model) -> PrecisionForm:
    from symrep.replica.free_energy import structural_free_energy
    from symrep.replica.matrix_calculus import realize, vanishes_at_random_point
    from symrep.replica.matrix_forms import matrix_forms

    F = matrix_forms(model)
    s = model.symbols()
    f = structural_free_energy(model)
    D_star = []
    for D_i in s.D_entries:
        solutions = sp.solve(sp.diff(f, D_i), D_i)
        if len(solutions) != 1:  # pragma: no cover - structural guarantee
            raise AssertionError(f"expected one solution for {D_i}, got {solutions}")
        D_star.append(sp.factor(solutions[0]))
    inverse_N = sp.Inverse(F.N)
    energetic_inverse = sp.Inverse(F.Kinv + s.eta * F.X)
    if not f.has(energetic_inverse):  # pragma: no cover - structural guarantee
        raise AssertionError("the energetic term is not written with (K^{-1} + eta X)^{-1}")
    f_Y = f.xreplace({energetic_inverse: F.Y * inverse_N}).xreplace({sp.Inverse(F.X): F.Y})
    if f_Y.has(F.X):  # pragma: no cover - structural guarantee
        raise AssertionError("X left in the precision form")
    # the identity behind the replacement, with X = Y^{-1} and N = K^{-1} Y + eta I
    identity = (energetic_inverse.xreplace({F.X: sp.Inverse(F.Y)})
                - F.Y * sp.Inverse(F.Kinv * F.Y + s.eta * F.I))
    if not vanishes_at_random_point(identity, F.realization):  # pragma: no cover
        raise AssertionError("(K^{-1} + eta Y^{-1})^{-1} differs from Y N^{-1}")
    p = 2 * model.M
    B = sp.ImmutableMatrix(p, p, lambda i, j: sp.Symbol(f"b_{i + 1}{j + 1}", real=True))
    B_symbol = sp.MatrixSymbol("B", p, p)
    explicit = realize(f_Y.xreplace({inverse_N: B_symbol}), {**F.realization, B_symbol: B})
    explicit = sp.expand(explicit).xreplace(dict(zip(s.D_entries, D_star, strict=True)))
    N = realize(F.Kinv * F.Y + s.eta * F.I, F.realization).applyfunc(sp.expand)
    return PrecisionForm(unknowns=s.unknowns, parameters=s.parameters,
                         free_energy=explicit, B=B, N=sp.ImmutableMatrix(N),
                         D_star=tuple(D_star), matrix_free_energy=f_Y.xreplace(
                             {inverse_N: sp.MatrixSymbol(r"\mathcal N^{-1}", p, p)}))
