"""What the replica theory predicts for a data set, from its estimated spectrum.

The spiked-covariance model is fitted to the data (:mod:`symrep.realdata.spectrum`:
noise strength eta and feature strengths rho_1 > rho_2 > ...); the theory of M latent
units and the M* = min(M, number of spikes) strongest features is then solved by the
generic solver (:func:`symrep.sweep`, :func:`symrep.solve`,
:func:`symrep.solvers.units_phase_plane.collapse_thresholds`). Weaker spikes are left
out: in the RS optimum the units take the strongest features first (docs/claims.md), so
features beyond the M-th change none of the predictions below.

Predictions, per sample complexity alpha:

- the collapse threshold: the beta above which every unit is collapsed (the rate is
  zero); for alpha -> infinity it tends to rho_1 + eta;
- the best beta: the one that minimises the signal recovery error eg; for
  alpha -> infinity it tends to eta.
"""

from __future__ import annotations

import numpy as np

__all__ = ["theory_strengths", "collapse_threshold_limit", "best_beta_limit",
           "collapse_threshold", "best_beta", "theory_curves"]


def theory_strengths(spectrum, M):
    """The feature strengths the theory of M units uses: the M largest spikes.

    Parameters
    ----------
    spectrum : Spectrum
        The estimated spectrum (:func:`symrep.realdata.spectrum.estimate_spectrum`).
    M : int
        Number of latent units.

    Returns
    -------
    tuple of float
        rho_1 >= rho_2 >= ..., at most M of them.

    Raises
    ------
    ValueError
        Where the spectrum has no spike above the bulk: the spiked-covariance theory
        then has no feature to learn.
    """
    rho = tuple(float(r) for r in spectrum.rho)
    if not rho:
        raise ValueError("the estimated spectrum has no spike above the Marchenko-Pastur "
                         "bulk: the theory has no feature to compare with (use more "
                         "samples or another data set)")
    return rho[:M]


def collapse_threshold_limit(spectrum):
    """rho_1 + eta: the collapse threshold in beta for alpha -> infinity.

    Parameters
    ----------
    spectrum : Spectrum
        The estimated spectrum (:func:`symrep.realdata.spectrum.estimate_spectrum`).

    Returns
    -------
    float
        rho_1 + eta (eta where the spectrum has no spike).
    """
    return float(spectrum.rho[0]) + float(spectrum.eta) if len(spectrum.rho) else float(
        spectrum.eta)


def best_beta_limit(spectrum):
    """eta: the best beta (lowest signal recovery error) for alpha -> infinity.

    Parameters
    ----------
    spectrum : Spectrum
        The estimated spectrum (:func:`symrep.realdata.spectrum.estimate_spectrum`).

    Returns
    -------
    float
        eta.
    """
    return float(spectrum.eta)


def collapse_threshold(spectrum, alphas, *, lam=0.0, M=1):
    """Collapse threshold at finite alpha: the largest beta with a unit not collapsed.

    Parameters
    ----------
    spectrum : Spectrum
        Estimated spectrum (``eta``, ``rho``).
    alphas : 1-d array_like
        Sample complexities.
    lam : float
        Weight decay, in the conventions of docs/model.md.
    M : int
        Latent units.

    Returns
    -------
    ndarray (len(alphas),)
    """
    from symrep.solvers.units_phase_plane import collapse_thresholds

    rho = theory_strengths(spectrum, M)
    out = collapse_thresholds(np.atleast_1d(np.asarray(alphas, float)), lam, rho,
                              float(spectrum.eta), M=M)
    return out[:, 0]


def best_beta(spectrum, alphas, *, lam=0.0, M=1, grid=97):
    """The beta that minimises the signal recovery error eg, at each alpha.

    eg is evaluated on a logarithmic grid of beta from eta / 1000 to 10 (rho_1 + eta)
    (``grid`` points), and the minimum is refined by a bounded scalar minimisation in
    log beta between the neighbours of the best grid point.

    Parameters
    ----------
    spectrum : Spectrum
        The estimated spectrum (:func:`symrep.realdata.spectrum.estimate_spectrum`).
    alphas : array_like
        Sample complexities.
    lam : float, optional
        Weight decay (default 0).
    M : int, optional
        Number of latent units (default 1).
    grid : int, optional
        Points of the beta grid (default 97).

    Returns
    -------
    ndarray (len(alphas),)

    Raises
    ------
    ValueError
        If the spectrum has no spike above the bulk.
    """
    from scipy.optimize import minimize_scalar

    import symrep

    rho = theory_strengths(spectrum, M)
    eta = float(spectrum.eta)
    betas = np.geomspace(eta / 1000, 10 * (rho[0] + eta), grid)
    out = []
    for alpha in np.atleast_1d(np.asarray(alphas, float)):
        res = symrep.sweep(float(alpha), betas, lam, rho=rho, eta=eta, M=M)
        eg = np.asarray(res["eg"]).ravel()
        k = int(np.argmin(eg))
        lo, hi = np.log(betas[max(k - 1, 0)]), np.log(betas[min(k + 1, grid - 1)])

        def error(log_beta, a=float(alpha)):
            return symrep.solve(a, float(np.exp(log_beta)), lam, rho=rho, eta=eta, M=M).eg

        fit = minimize_scalar(error, bounds=(lo, hi), method="bounded",
                              options={"xatol": 1e-6})
        out.append(float(np.exp(fit.x)) if fit.fun <= eg[k] else float(betas[k]))
    return np.array(out)


def theory_curves(spectrum, alphas, betas, *, lam=0.0, M=1):
    """The RS optimum on the (alpha, beta) grid at the estimated parameters.

    Parameters
    ----------
    spectrum : Spectrum
        The estimated spectrum (:func:`symrep.realdata.spectrum.estimate_spectrum`).
    alphas : array_like
        Sample complexities.
    betas : array_like
        Weights of the KL term.
    lam : float, optional
        Weight decay (default 0).
    M : int, optional
        Number of latent units (default 1).

    Returns
    -------
    xarray.Dataset
        :func:`symrep.sweep` with dimensions ``alpha`` and ``beta`` (rate, distortion,
        eg, free energy, the unit states ...).

    Raises
    ------
    ValueError
        If the spectrum has no spike above the bulk.
    """
    import symrep

    rho = theory_strengths(spectrum, M)
    return symrep.sweep(np.asarray(alphas, float), np.asarray(betas, float), lam, rho=rho,
                        eta=float(spectrum.eta), M=M)
