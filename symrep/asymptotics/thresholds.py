"""The collapse threshold in beta and the beta that minimises the signal recovery error.

Both follow from the large-alpha expansion (:mod:`symrep.asymptotics.large_alpha`):

- the learning branch exists at leading order iff Q0 = rho + eta - beta > 0, and where it
  exists its free energy is below the collapsed one, so beyond beta = rho + eta the
  collapsed solution is the optimum as alpha -> infinity, whatever lam ("inevitable
  posterior collapse"); :func:`symrep.asymptotics.stability.collapse_threshold_at` gives
  the threshold at finite alpha, whose limit is the same;
- eg0(beta) = (sqrt(rho) - sqrt(rho + eta - beta))^2 is minimal (zero) at beta = eta;
  the first correction in 1/alpha moves the optimum by beta1/alpha with
  beta1 = -eg1'(eta)/eg0''(eta).

With ``model=`` each result is that of another model, through its large-N reduction to
the linear VAE (:mod:`symrep.asymptotics.reduction`): the learned decoder variance
collapses beyond (rho + eta)/eta = 1 + rho/eta and has its optimal beta at 1.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from symrep import symbols as S
from symrep.asymptotics.large_alpha import large_alpha_expansion
from symrep.asymptotics.reduction import reduction_map, solve_for_beta
from symrep.replica.derivation import Equation, Step

__all__ = ["collapse_threshold", "optimal_beta", "optimal_beta_expansion",
           "thresholds_step"]


@cache
def collapse_threshold(model=None) -> sp.Expr:
    """The beta beyond which the collapsed solution is optimal as alpha -> infinity.

    Solved by SymPy from Q0(beta) = 0 on the leading-order learning branch: rho + eta.

    Parameters
    ----------
    model : optional
        A model with a large-N reduction to the linear VAE (``model.reduction()``);
        default the linear VAE. The linear threshold is mapped and solved for the
        model's beta: (rho + eta)/eta for ``LearnedVarianceVAE()``.

    Returns
    -------
    sympy.Expr
        The threshold, in rho and eta.

    Raises
    ------
    ValueError
        If ``model`` declares no reduction.

    Notes
    -----
    At finite alpha the phase boundary is
    :func:`~symrep.asymptotics.stability.collapse_threshold_at`; it tends to rho + eta,
    with a 1/alpha correction ((rho + eta) eta/rho - lam (rho + eta) - lam/(rho + eta))
    that is positive for small lam: at finite alpha and weak weight decay the learning
    phase reaches slightly above rho + eta, and the collapse becomes inevitable only as
    alpha grows.
    """
    if model is not None:
        return solve_for_beta(model, collapse_threshold())
    exp = large_alpha_expansion()
    (beta_c,) = sp.solve(sp.Eq(exp.leading[S.Q], 0), S.beta)
    return sp.simplify(beta_c)


@cache
def optimal_beta(model=None) -> sp.Expr:
    """The beta that minimises eg as alpha -> infinity: eta, the noise strength.

    Parameters
    ----------
    model : optional
        A model with a large-N reduction to the linear VAE (default the linear VAE):
        its beta at the linear VAE's optimum (1 for ``LearnedVarianceVAE()``).

    Returns
    -------
    sympy.Expr
        The optimal beta.

    Raises
    ------
    ValueError
        If ``model`` declares no reduction.
    """
    if model is not None:
        return solve_for_beta(model, optimal_beta())
    eg0 = large_alpha_expansion().observables["eg"][0]
    candidates = sp.solve(sp.Eq(sp.diff(eg0, S.beta), 0), S.beta)
    best = [c for c in candidates
            if sp.simplify(sp.diff(eg0, S.beta, 2).subs(S.beta, c)).is_positive]
    if len(best) != 1:  # pragma: no cover - structural guarantee
        raise AssertionError(f"expected one minimum of eg0, got {candidates}")
    return sp.simplify(best[0])


@cache
def optimal_beta_expansion(model=None) -> tuple:
    """``(beta0, beta1)``: the minimiser of eg is beta0 + beta1/alpha + O(alpha^-2).

    Parameters
    ----------
    model : optional
        A model with a large-N reduction to the linear VAE (default the linear VAE).
        Its eg at (beta, lam) is the linear VAE's at the mapped point, so its minimiser
        solves theory_beta(beta) = beta0(lam') + beta1(lam')/alpha, expanded in 1/alpha.

    Returns
    -------
    tuple of sympy.Expr
        ``(beta0, beta1)``.

    Raises
    ------
    ValueError
        If ``model`` declares no reduction.
    """
    if model is not None:
        return _model_expansion(model, *optimal_beta_expansion())
    eg0, eg1 = large_alpha_expansion().observables["eg"]
    b0 = optimal_beta()
    curvature = sp.simplify(sp.diff(eg0, S.beta, 2).subs(S.beta, b0))
    slope1 = sp.simplify(sp.diff(eg1, S.beta).subs(S.beta, b0))
    return b0, sp.factor(sp.simplify(-slope1 / curvature))


def _model_expansion(model, b0, b1):
    """(beta0, beta1) of a model from the linear VAE's: the root of
    g(beta, eps) = f(beta) - b0(lam') - eps b1(lam'), f and lam' the reduction's maps,
    expanded to first order in eps = 1/alpha."""
    mapping = reduction_map(model)
    eps = sp.Symbol("epsilon", positive=True)
    g = (mapping.get(S.beta, S.beta) - b0.xreplace(mapping)
         - eps * b1.xreplace(mapping))
    beta0 = solve_for_beta(model, b0)
    at0 = {S.beta: beta0, eps: 0}
    beta1 = -sp.diff(g, eps).subs(at0) / sp.diff(g, S.beta).subs(at0)
    return beta0, sp.factor(sp.simplify(beta1))


@cache
def thresholds_step() -> Step:
    """Collapse threshold and optimal beta, for the derivation document."""
    exp = large_alpha_expansion()
    b0, b1 = optimal_beta_expansion()
    eg0 = exp.observables["eg"][0]
    text = r"""
The leading-order learning branch exists while $Q^{(0)} = \rho+\eta-\beta > 0$, and there
its free energy lies below the collapsed one (the gap below is negative for
$\beta < \rho+\eta$), so the collapse threshold as $\alpha\to\infty$ is the root of
$Q^{(0)}$, whatever $\lambda$. The signal recovery error of that branch is minimal where
its derivative in $\beta$ vanishes; the $1/\alpha$ correction of the minimiser is
$\beta^{(1)} = -\partial_\beta\epsilon_g^{(1)}/\partial_\beta^2\epsilon_g^{(0)}$ at
$\beta^{(0)}$.
"""
    eqs = (
        Equation(r"\beta_c", collapse_threshold()),
        Equation(r"F_0^{\mathrm{learn}} - F_0^{\mathrm{coll}}", exp.free_energy_gap),
        Equation(r"\partial_\beta\epsilon_g^{(0)}", sp.simplify(sp.diff(eg0, S.beta))),
        Equation(r"\beta^{(0)}_{\mathrm{opt}}", b0),
        Equation(r"\beta^{(1)}_{\mathrm{opt}}", b1),
    )
    return Step(key="12_thresholds", title="Collapse threshold and optimal beta", text=text,
                equations=eqs, result=(collapse_threshold(), b0, b1))
