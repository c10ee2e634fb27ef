"""Large-alpha expansions, thresholds, rate-distortion and stability, derived by SymPy.

- :mod:`~symrep.asymptotics.large_alpha`: leading order and first 1/alpha correction of
  the RS saddle point and of eg, rate, distortion, KL;
- :mod:`~symrep.asymptotics.thresholds`: :func:`collapse_threshold` (rho + eta) and
  :func:`optimal_beta` (eta) with its 1/alpha correction;
- :mod:`~symrep.asymptotics.rate_distortion`: :func:`rd_curve_limit`, its equality with
  Shannon's Gaussian R(D), finite-alpha curves;
- :mod:`~symrep.asymptotics.stability`: per-mode linear stability of the collapsed
  solution and the RS Jacobian there;
- :mod:`~symrep.asymptotics.reduction`: the same results for another model through its
  large-N reduction to the linear VAE (``collapse_threshold(model=...)``, ...).

All expressions are in the symbols of :mod:`symrep.symbols`.
"""

from symrep.asymptotics.large_alpha import (
    LargeAlphaExpansion,
    large_alpha_expansion,
    large_alpha_step,
    scaled_free_energy,
)
from symrep.asymptotics.rate_distortion import (
    rate_distortion_step,
    rd_curve,
    rd_curve_limit,
    rd_limit_difference,
    shannon_rate_distortion,
    source_variance,
)
from symrep.asymptotics.reduction import reduction_map, solve_for_beta
from symrep.asymptotics.stability import (
    ModeStability,
    collapse_threshold_at,
    collapsed_stability,
    mode_objective,
    mode_thresholds,
    rs_collapsed_block,
    rs_collapsed_eigenvalues,
    stability_step,
)
from symrep.asymptotics.thresholds import (
    collapse_threshold,
    optimal_beta,
    optimal_beta_expansion,
    thresholds_step,
)

__all__ = [
    "LargeAlphaExpansion", "ModeStability", "asymptotics_step_functions",
    "asymptotics_steps", "collapse_threshold",
    "collapse_threshold_at", "collapsed_stability", "large_alpha_expansion",
    "large_alpha_step", "mode_objective", "mode_thresholds", "optimal_beta",
    "optimal_beta_expansion", "rate_distortion_step", "rd_curve", "rd_curve_limit",
    "rd_limit_difference", "reduction_map", "rs_collapsed_block",
    "rs_collapsed_eigenvalues", "scaled_free_energy", "shannon_rate_distortion",
    "solve_for_beta", "source_variance", "stability_step", "thresholds_step",
]


def asymptotics_steps():
    """The derivation steps of this package, in document order.

    Returns
    -------
    list of Step
        The large-alpha expansion, thresholds, rate-distortion and stability steps.
    """
    return [make() for make in asymptotics_step_functions()]


def asymptotics_step_functions():
    """The functions (no arguments) that make the steps of :func:`asymptotics_steps`.

    Returns
    -------
    tuple of callable
        The step functions, in document order.
    """
    return (large_alpha_step, thresholds_step, rate_distortion_step, stability_step)
