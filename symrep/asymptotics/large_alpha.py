"""The large-alpha expansion of the RS saddle point, derived from the RS free energy.

As alpha -> infinity the susceptibilities vanish like 1/alpha. With epsilon = 1/alpha
and chi = epsilon Y^{-1}, where Y = (y_Q, y_R; y_R, y_E) is the precision matrix divided
by alpha, the free energy per alpha is analytic in epsilon:

    f / alpha = F0(z, Y) + epsilon F1(z, Y) + O(epsilon^2),    z = (Q, R, E, m, d).

SymPy takes the limit term by term. Stationarity of F0 in Y forces the weights onto the
feature (Q = m^2, R = m d, E = d^2); stationarity in z then gives two branches, the
collapsed one (m = 0) and the learning one (m^2 = rho + eta - beta). The first correction
solves the linear system H0 z1 = -grad F1, H0 the Hessian of F0 at the leading-order
point (non-singular for beta != rho + eta). Observables follow by the chain rule.

Weight decay enters only at order 1/alpha: lam/alpha plays the role of a ridge
parameter per sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

from symrep import symbols as S
from symrep.replica.derivation import Equation, Step

__all__ = ["LargeAlphaExpansion", "scaled_free_energy", "large_alpha_expansion",
           "derive_large_alpha_expansion", "large_alpha_step", "ORDER_VARIABLES"]

#: Unknowns of the expansion: the overlaps, then the rescaled precision matrix.
ORDER_VARIABLES = (S.Q, S.R, S.E, S.m, S.d, S.y_Q, S.y_R, S.y_E)
#: Observables expanded (population quantities; see :mod:`symrep.observables`).
EXPANDED_OBSERVABLES = ("eg", "rate", "distortion", "kl_posterior")


@dataclass(frozen=True)
class LargeAlphaExpansion:
    """Leading order and first correction in 1/alpha of the learning branch.

    Attributes
    ----------
    F0, F1 : Expr
        f/alpha = F0 + F1/alpha + O(alpha^-2) in the variables :data:`ORDER_VARIABLES`.
    leading : dict
        ``{symbol: expr}`` for Q, R, E, m, d, y_Q, y_R, y_E at alpha = infinity
        (m >= 0: the other sign is the W -> -W image).
    first : dict
        ``{symbol: expr}``, the coefficients of 1/alpha.
    observables : dict
        ``{name: (order0, order1)}`` for eg, rate, distortion, kl_posterior.
    collapsed : dict
        ``{name: value}`` of the collapsed branch (exact at every alpha: W = W~ = 0).
    free_energy_gap : Expr
        F0(learning) - F0(collapsed), negative wherever the learning branch exists.
    """

    F0: sp.Expr
    F1: sp.Expr
    leading: dict
    first: dict
    observables: dict
    collapsed: dict
    free_energy_gap: sp.Expr

    def series(self, name, order=1):
        """``order0 + order1 / alpha`` (order=1) or ``order0`` (order=0) of a quantity.

        ``name`` is an observable name or an order-parameter name ("Q", "m", ...).

        Parameters
        ----------
        name : str
            An observable name (a key of ``observables``) or an order-parameter name.
        order : {0, 1}, optional
            0 for the leading order only, 1 (default) to add the first correction.

        Returns
        -------
        sympy.Expr
            The truncated series in 1/alpha.
        """
        if name in self.observables:
            zeroth, first = self.observables[name]
        else:
            sym = _symbol(name)
            zeroth, first = self.leading[sym], self.first[sym]
        return zeroth if order == 0 else zeroth + first / S.alpha


def _symbol(name):
    for sym in ORDER_VARIABLES:
        if sym.name == name:
            return sym
    raise ValueError(f"unknown quantity {name!r}; expected an observable in "
                     f"{EXPANDED_OBSERVABLES} or one of {[v.name for v in ORDER_VARIABLES]}")


@cache
def scaled_free_energy():
    """``(F0, F1)``: f/alpha = F0 + epsilon F1 + O(epsilon^2) with chi = epsilon Y^{-1}.

    The limit is taken term by term on the RS free energy with D eliminated, so that each
    limit is of a simple rational (or logarithmic) function of epsilon.
    """
    from symrep.replica import saddle_point_equations

    f = saddle_point_equations().free_energy
    Y = sp.Matrix([[S.y_Q, S.y_R], [S.y_R, S.y_E]])
    X = S.epsilon * Y.inv()
    scaled = f.subs({S.chi_Q: X[0, 0], S.chi_R: X[0, 1], S.chi_E: X[1, 1]})
    scaled = scaled.subs(S.alpha, 1 / S.epsilon)
    F0, F1 = sp.S.Zero, sp.S.Zero
    terms = sp.Add.make_args(sp.expand(scaled, deep=False, mul=True, multinomial=False,
                                       power_exp=False, log=False))
    for term in terms:
        t = sp.together(S.epsilon * term)
        F0 += sp.limit(t, S.epsilon, 0)
        F1 += sp.limit(sp.diff(t, S.epsilon), S.epsilon, 0)
    return sp.simplify(F0), sp.simplify(F1)


def _leading_branches(F0):
    """Stationary points of F0: ``(collapsed, learning)`` as dicts over ORDER_VARIABLES."""
    Q, R, E, m, d = S.Q, S.R, S.E, S.m, S.d
    on_feature = sp.solve([sp.diff(F0, y) for y in (S.y_Q, S.y_R, S.y_E)], [Q, R, E],
                          dict=True)
    if len(on_feature) != 1:  # pragma: no cover - structural guarantee
        raise AssertionError(f"expected G = t t^T, got {on_feature}")
    aligned = on_feature[0]
    rest = [sp.numer(sp.together(sp.diff(F0, v).subs(aligned))) for v in (Q, R, E, m, d)]
    solutions = sp.solve(rest, [m, d, S.y_Q, S.y_R, S.y_E], dict=True)
    collapsed = learning = None
    for sol in solutions:
        if sol[m] == 0:
            collapsed = sol
        elif sp.ask(sp.Q.positive(sol[m].subs(S.beta, S.eta))):  # m >= 0 representative
            learning = sol
    if collapsed is None or learning is None:  # pragma: no cover - structural guarantee
        raise AssertionError(f"unexpected leading-order solutions {solutions}")

    def complete(sol):
        full = {v: sp.simplify(aligned[v].subs(sol)) for v in (Q, R, E)}
        full.update({v: sol[v] for v in (m, d, S.y_Q, S.y_R, S.y_E)})
        return {v: full[v] for v in ORDER_VARIABLES}

    return complete(collapsed), complete(learning)


def _observables_at(point, first=None):
    """Observables (with D = beta/(beta+Q)) at a point, and their first-order terms."""
    from symrep.observables import observables

    obs = observables()
    D_star = S.beta / (S.beta + S.Q)
    out = {}
    for name in EXPANDED_OBSERVABLES:
        expr = obs[name].subs(S.D, D_star)
        if name == "eg":  # m >= 0 on the branch chosen
            expr = expr.replace(sp.Abs, lambda arg: arg)
        zeroth = sp.simplify(expr.subs(point))
        if first is None:
            out[name] = zeroth
            continue
        grad = sum(sp.diff(expr, v).subs(point) * first[v] for v in (S.Q, S.R, S.E, S.m, S.d))
        out[name] = (zeroth, sp.factor(sp.simplify(grad)))
    return out


_FIELDS = ("F0", "F1", "leading", "first", "observables", "collapsed", "free_energy_gap")


def _sources():
    from pathlib import Path

    from symrep.numeric.keys import default_model_sources

    package = Path(__file__).resolve().parents[1]
    # the derivation's model (LinearVAE()) defines the objective expanded here
    return ([package / "symbols.py", package / "observables.py", Path(__file__)]
            + sorted((package / "replica").glob("*.py")) + default_model_sources())


def _cache_key(*, versions=True, root=None):
    """Key of the cached expansion; ``versions=False``: the key of the shipped copy;
    ``root``: a copy of the package folder to read the sources from (tests)."""
    from symrep.numeric.codegen import source_key
    from symrep.numeric.keys import relocate

    return source_key(relocate(_sources(), root), extra=("large_alpha_expansion",),
                      versions=versions)


def _build_source() -> str:
    """The module text of a fresh derivation (written to the cache, or shipped by
    ``python -m symrep.numeric.ship``)."""
    return _to_source(derive_large_alpha_expansion())


def _to_source(exp: LargeAlphaExpansion) -> str:
    """A module holding the expansion as srepr strings (assumptions included)."""
    data = {name: sp.srepr(getattr(exp, name)) for name in _FIELDS}
    lines = ["# generated by symrep: the large-alpha expansion as SymPy srepr strings",
             "DATA = {"]
    lines += [f"    {name!r}: {text!r}," for name, text in data.items()]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _from_module(module) -> LargeAlphaExpansion:
    namespace = {name: getattr(sp, name) for name in dir(sp) if not name.startswith("_")}
    # srepr text written by _to_source into the cache folder, as trusted as the generated code
    values = {name: eval(text, namespace) for name, text in module.DATA.items()}
    return LargeAlphaExpansion(**{name: values[name] for name in _FIELDS})


@cache
def large_alpha_expansion() -> LargeAlphaExpansion:
    """Leading order and first 1/alpha correction of the RS saddle point (learning branch).

    The derivation takes about 20 s of SymPy; its result ships with the package (as
    srepr text, written by ``python -m symrep.numeric.ship`` and keyed by the source
    files it depends on), so that a fresh install loads it in milliseconds. Where the
    sources were edited, it is derived once and cached on disk next to the generated
    numerical code. :func:`derive_large_alpha_expansion` always derives afresh.

    Returns
    -------
    LargeAlphaExpansion
    """
    from symrep.numeric.codegen import load_or_generate

    module = load_or_generate("large_alpha", _cache_key, _build_source,
                              shipped_key=_cache_key(versions=False))
    return _from_module(module)


def derive_large_alpha_expansion() -> LargeAlphaExpansion:
    """Derive the expansion with SymPy (no cache); see :func:`large_alpha_expansion`.

    Returns
    -------
    LargeAlphaExpansion
        Leading order, first correction and observables of the learning branch, the
        collapsed branch's observables and the free-energy gap between the two.

    Examples
    --------
    >>> from symrep import symbols as S
    >>> from symrep.asymptotics import large_alpha_expansion
    >>> exp = large_alpha_expansion()                          # doctest: +SKIP
    >>> exp.leading[S.Q]                                       # doctest: +SKIP
    -beta + eta + rho
    """
    F0, F1 = scaled_free_energy()
    collapsed, learning = _leading_branches(F0)
    H = sp.Matrix([[sp.diff(F0, a, b) for b in ORDER_VARIABLES] for a in ORDER_VARIABLES])
    H = H.subs(learning)
    g1 = sp.Matrix([sp.diff(F1, a) for a in ORDER_VARIABLES]).subs(learning)
    unknowns = sp.symbols("x0:8")
    (sol,) = sp.linsolve((H, -g1), *unknowns)
    first = {v: sp.factor(sp.simplify(x)) for v, x in zip(ORDER_VARIABLES, sol, strict=True)}
    observables = _observables_at(learning, first)
    zeros = {v: 0 for v in (S.Q, S.R, S.E, S.m, S.d)}
    collapsed_obs = _observables_at(zeros)
    gap = sp.simplify(F0.subs(learning) - F0.subs(collapsed))
    return LargeAlphaExpansion(F0, F1, learning, first, observables, collapsed_obs, gap)


@cache
def large_alpha_step() -> Step:
    """The large-alpha expansion, for the derivation document."""
    exp = large_alpha_expansion()
    text = r"""
As $\alpha\to\infty$ the susceptibilities vanish like $1/\alpha$. With
$\epsilon = 1/\alpha$ and $\mathcal X = \epsilon\,Y^{-1}$, $Y = \begin{pmatrix}y_Q & y_R\\
y_R & y_E\end{pmatrix}$ (the precision matrix over $\alpha$), SymPy takes the limit of
$f/\alpha = F_0 + \epsilon F_1 + O(\epsilon^2)$ term by term. Stationarity of $F_0$ in $Y$
puts the weights on the feature ($Q = m^2$, $R = md$, $E = d^2$); the remaining conditions
give the collapsed point $m = 0$ and the learning point below ($m \ge 0$; $m\to-m$ is the
image under $W\to-W$). The $1/\alpha$ correction solves $H_0 z_1 = -\nabla F_1$ with $H_0$
the Hessian of $F_0$ at the leading point, non-singular for $\beta\ne\rho+\eta$. Weight
decay enters first at this order.
"""
    L, F = exp.leading, exp.first
    eqs = [Equation("F_0", exp.F0), Equation("F_1", exp.F1)]
    for v in (S.Q, S.m, S.d, S.y_Q, S.y_R, S.y_E):
        eqs.append(Equation(sp.latex(v) + r"^{(0)}", L[v]))
    for v in (S.Q, S.m):
        eqs.append(Equation(sp.latex(v) + r"^{(1)}", F[v]))
    names = {"eg": r"\epsilon_g", "rate": r"\mathcal R", "distortion": r"\mathcal D",
             "kl_posterior": r"\mathrm{KL}_{q\|p_W}"}
    for name, (zeroth, first) in exp.observables.items():
        eqs.append(Equation(names[name] + r"^{(0)}", zeroth))
        if name != "kl_posterior":  # its correction is available but pages long
            eqs.append(Equation(names[name] + r"^{(1)}", first))
    eqs.append(Equation(r"F_0^{\mathrm{learn}} - F_0^{\mathrm{coll}}", exp.free_energy_gap))
    return Step(key="11_large_alpha", title="Large-alpha expansion", text=text,
                equations=tuple(eqs), result=exp)
