"""Large-alpha results of a model that reduces to the linear VAE, derived by SymPy.

A model with a large-N reduction (``model.reduction()``, as
:meth:`symrep.models.LearnedVarianceVAE.reduction`) is the linear VAE at mapped
parameters: ``reduction().parameters`` maps the linear VAE's beta and lam to expressions
in the model's own parameters and sigma^2, and sigma^2 sits at ``sigma2_star``. Every
large-alpha result of the linear VAE (:mod:`symrep.asymptotics.thresholds`,
:mod:`symrep.asymptotics.rate_distortion`) carries over by substituting that map and
solving for the model's beta: for the learned decoder variance (beta -> eta beta,
lam -> eta lam, sigma^2 = eta) the collapse threshold rho + eta becomes
(rho + eta)/eta and the optimal beta eta becomes 1.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from symrep import symbols as S

__all__ = ["reduction_map", "solve_for_beta"]


@cache
def reduction_map(model) -> dict:
    """The theory model's parameters in the model's, with sigma^2 at its saddle point.

    Parameters
    ----------
    model : object
        A model of :mod:`symrep.models` with a ``reduction()`` method.

    Returns
    -------
    dict
        ``{symrep.symbols.beta: ..., symrep.symbols.lam: ...}``: expressions in the
        model's parameters (for the learned variance: eta beta and eta lam).

    Raises
    ------
    ValueError
        If the model declares no reduction to the linear VAE.
    """
    reduce = getattr(model, "reduction", None)
    if not callable(reduce):
        raise ValueError(f"model = {model!r} is invalid: the model must declare its "
                         "large-N reduction to the linear VAE (a reduction() method, as "
                         "LearnedVarianceVAE.reduction) for large-alpha results")
    red = reduce()
    star = {red.sigma2: red.sigma2_star}
    return {k: sp.simplify(sp.sympify(v).xreplace(star)) for k, v in red.parameters.items()}


def solve_for_beta(model, theory_beta) -> sp.Expr:
    """The model's beta at which the theory model's beta equals ``theory_beta``.

    Parameters
    ----------
    model : object
        A model with a ``reduction()`` method.
    theory_beta : sympy.Expr
        A value of the linear VAE's beta, in rho, eta, lam (and alpha); its lam is the
        theory model's and is mapped too.

    Returns
    -------
    sympy.Expr
        The unique positive solution for the model's beta, simplified.

    Raises
    ------
    ValueError
        If the model has no reduction.
    AssertionError
        If the equation does not have exactly one solution.
    """
    mapping = reduction_map(model)
    target = sp.sympify(theory_beta).xreplace(mapping)
    roots = sp.solve(sp.Eq(mapping.get(S.beta, S.beta), target), S.beta)
    if len(roots) != 1:  # pragma: no cover - the maps are linear in beta
        raise AssertionError(f"beta of the model: {roots}")
    return sp.simplify(roots[0])
