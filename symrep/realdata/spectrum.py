"""Noise strength eta and signal strengths rho of a data set, from its covariance spectrum.

Under the spiked covariance model (docs/model.md) the population covariance
(rho/N) W0 W0^T + eta I has eigenvalues eta + rho_k (one per feature) and eta (the bulk).
The sample covariance C = Xc^T Xc / P of P samples (Xc: X minus its column means) then
has, for N, P -> infinity at fixed gamma = N/P,

- a Marchenko-Pastur (MP) bulk of aspect ratio gamma and scale eta, on
  [eta (1 - sqrt(gamma))^2, eta (1 + sqrt(gamma))^2], with an atom of mass 1 - 1/gamma at
  zero when gamma > 1 (P < N: C has at most P - 1 nonzero eigenvalues);
- one outlier per feature with rho_k > eta sqrt(gamma), at
  lambda = (eta + rho)(1 + gamma eta / rho) (the Baik-Ben Arous-Peche transition,
  :func:`bbp_outlier`); a weaker feature leaves no trace in the spectrum (its top
  eigenvalue sticks to the bulk edge) and cannot be detected.

Two estimators (:func:`estimate_spectrum`):

``"mp"`` (default)
    Fits the MP law to the bulk: the eigenvalues above the upper edge plus a Tracy-Widom
    margin are spikes, eta is the scale that puts the median of the other eigenvalues at
    the median of the MP law, and the two steps repeat until the number of spikes is
    stable. Consistent: eta and every rho_k tend to their true values as N, P grow at
    fixed gamma (docs/realdata_spectrum.md has the errors at N = 400). A spectrum
    without an MP bulk (smoothly decaying, as natural images have) is refused with a
    :class:`~symrep.errors.SolverError` rather than given a meaningless eta.
``"cumulative"`` (the paper's, Sec. 6.5 and App. D)
    Keeps the k leading principal components that explain a fraction ``cutoff`` of the
    variance and takes eta as the mean of the N - k other eigenvalues (the maximum
    likelihood noise variance of probabilistic PCA). In high dimension it is biased low:
    the cut removes the top of the MP bulk along with the spikes.

The centring costs one degree of freedom (C is (P - 1)/P times an unbiased estimate);
that O(1/P) effect is ignored, gamma is N/P throughout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy import integrate, optimize

from symrep.errors import SolverError

__all__ = ["Spectrum", "METHODS", "TW_QUANTILE", "estimate_spectrum", "cumulative_noise",
           "bbp_outlier", "bbp_strength", "mp_edges", "mp_density", "mp_quantile",
           "covariance_eigenvalues"]

#: The estimators of :func:`estimate_spectrum`.
METHODS = ("mp", "cumulative")

#: The 99% quantile of the Tracy-Widom law of order 1, the law of the largest eigenvalue
#: of a real sample covariance: an eigenvalue more than this many Tracy-Widom scales
#: above the MP edge is a spike (a pure-noise spectrum crosses it with probability 1%).
TW_QUANTILE = 2.0234


@dataclass(frozen=True)
class Spectrum:
    """The covariance spectrum of a data set and its spiked-covariance parameters.

    Attributes
    ----------
    eta : float
        Estimated noise strength (the scale of the MP bulk).
    rho : tuple of float
        Estimated signal strengths, largest first, one per detected spike.
    outliers : tuple of float
        The eigenvalues the strengths ``rho`` come from (same order).
    eigenvalues : ndarray of shape (N,)
        All eigenvalues of the sample covariance, descending (read-only).
    n_samples, n_features : int
        P and N.
    gamma : float
        Aspect ratio N / P.
    edge : float
        Upper edge eta (1 + sqrt(gamma))^2 of the MP bulk at the estimated eta.
    threshold : float
        The eigenvalue above which a spike was counted: ``edge`` plus a Tracy-Widom
        margin (``"mp"``), ``edge`` (``"cumulative"``).
    n_components : int
        Number of leading eigenvalues separated from the bulk: the spikes (``"mp"``) or
        the k components that reach the cutoff (``"cumulative"``, where those of them
        that do not exceed the edge give no rho).
    method : {"mp", "cumulative"}
    cutoff : float or None
        The cumulative explained-variance ratio (``"cumulative"``); None for ``"mp"``.
    """

    eta: float
    rho: tuple
    outliers: tuple
    eigenvalues: np.ndarray = field(repr=False, compare=False)
    n_samples: int
    n_features: int
    gamma: float
    edge: float
    threshold: float
    n_components: int
    method: str
    cutoff: float | None

    @property
    def n_spikes(self) -> int:
        """Number of detected spikes (``len(rho)``)."""
        return len(self.rho)

    def mp_density(self, x):
        """The fitted MP density of the nonzero bulk eigenvalues at ``x``.

        The density of the nonzero part of the MP law of aspect ratio ``gamma`` and scale
        ``eta`` (it integrates to 1; the atom at zero of gamma > 1 is left out), zero
        outside its support. See :func:`mp_density`.

        Parameters
        ----------
        x : float or array_like
            Eigenvalues at which to evaluate the density.

        Returns
        -------
        ndarray
            The density, of the shape of ``x``.
        """
        return mp_density(x, self.eta, self.gamma)


# --- the Marchenko-Pastur law and the BBP transition -------------------------------------

def _positive(name, value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} = {value!r} is invalid: must be a finite number > 0") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} = {value!r} is invalid: must be a finite number > 0")
    return value


def mp_edges(eta, gamma):
    """The edges eta (1 -+ sqrt(gamma))^2 of the MP bulk (the nonzero part).

    Parameters
    ----------
    eta : float
        Scale of the bulk (noise strength), > 0.
    gamma : float
        Aspect ratio N / P, > 0.

    Returns
    -------
    lower, upper : float
        The edges of the bulk.

    Raises
    ------
    ValueError
        If eta or gamma is not a finite positive number.
    """
    eta, gamma = _positive("eta", eta), _positive("gamma", gamma)
    return eta * (1 - math.sqrt(gamma)) ** 2, eta * (1 + math.sqrt(gamma)) ** 2


def mp_density(x, eta, gamma):
    """Density of the nonzero eigenvalues of a white sample covariance (MP law).

    sqrt((b - x)(x - a)) / (2 pi eta min(gamma, 1) x) on [a, b] = eta (1 -+ sqrt(gamma))^2,
    zero elsewhere. For gamma <= 1 this is the MP law itself; for gamma > 1 it is its
    nonzero part (mass 1/gamma) renormalised to 1.

    Parameters
    ----------
    x : array_like
    eta, gamma : float
        Scale (> 0) and aspect ratio N / P (> 0).

    Returns
    -------
    ndarray, the shape of ``x``
    """
    a, b = mp_edges(eta, gamma)
    x = np.asarray(x, dtype=np.float64)
    inside = (x > a) & (x < b)
    xs = np.where(inside, x, (a + b) / 2)  # keep the formula away from 0 and the edges
    value = np.sqrt((b - xs) * (xs - a)) / (2 * np.pi * eta * min(gamma, 1.0) * xs)
    return np.where(inside, value, 0.0)


def _mp_cdf_angle(theta, gamma):
    """MP distribution function (eta = 1) at x = m - h cos(theta).

    With that substitution sqrt((b - x)(x - a)) dx = h^2 sin^2(theta) dtheta, so the
    integrand is smooth on [0, pi] (also at gamma = 1, where the density diverges at 0),
    and Gauss-Kronrod quadrature is accurate to rounding.
    """
    m, h, c = 1 + gamma, 2 * math.sqrt(gamma), min(gamma, 1.0)

    def integrand(t):
        return h * h * math.sin(t) ** 2 / (2 * math.pi * c * (m - h * math.cos(t)))

    return integrate.quad(integrand, 0.0, theta, epsabs=1e-13, epsrel=1e-12)[0]


@lru_cache(maxsize=256)
def _mp_quantile_unit(level, gamma):
    m, h = 1 + gamma, 2 * math.sqrt(gamma)
    theta = optimize.brentq(lambda t: _mp_cdf_angle(t, gamma) - level, 0.0, math.pi,
                            xtol=1e-14, rtol=1e-13)
    return m - h * math.cos(theta)


def mp_quantile(level, eta, gamma):
    """Quantile of the nonzero part of the MP law (the inverse of its distribution function).

    Root finding (``scipy.optimize.brentq``) on the distribution function, which is
    integrated numerically (``scipy.integrate.quad``).

    Parameters
    ----------
    level : float
        In (0, 1).
    eta, gamma : float
        Scale and aspect ratio (> 0).

    Returns
    -------
    float
    """
    level = float(level)
    if not 0 < level < 1:
        raise ValueError(f"level = {level!r} is invalid: must be in (0, 1)")
    eta, gamma = _positive("eta", eta), _positive("gamma", gamma)
    return eta * _mp_quantile_unit(level, gamma)


def bbp_outlier(rho, eta, gamma):
    """Where a spike of strength rho puts the top eigenvalue of the sample covariance.

    lambda = (eta + rho)(1 + gamma eta / rho) for rho > eta sqrt(gamma) (the BBP
    transition); below the threshold the eigenvalue sticks to the upper MP edge
    eta (1 + sqrt(gamma))^2, which is what this function returns there (the two agree at
    the threshold).

    Parameters
    ----------
    rho, eta, gamma : float
        Signal strength, noise strength, aspect ratio N / P (each > 0).

    Returns
    -------
    float
    """
    rho, eta, gamma = _positive("rho", rho), _positive("eta", eta), _positive("gamma", gamma)
    if rho <= eta * math.sqrt(gamma):
        return eta * (1 + math.sqrt(gamma)) ** 2
    return (eta + rho) * (1 + gamma * eta / rho)


def bbp_strength(lam, eta, gamma):
    """The signal strength rho whose outlier sits at eigenvalue ``lam`` (inverse BBP).

    The larger root of rho^2 - (lam - eta (1 + gamma)) rho + gamma eta^2 = 0, which is
    the branch rho > eta sqrt(gamma) of :func:`bbp_outlier`.

    Parameters
    ----------
    lam : float
        An eigenvalue of the sample covariance (>= 0).
    eta, gamma : float
        Noise strength and aspect ratio N / P (> 0).

    Returns
    -------
    float or None
        rho, or None when ``lam`` does not exceed the upper MP edge
        eta (1 + sqrt(gamma))^2: such an eigenvalue is compatible with pure noise and
        carries no estimate of a strength.
    """
    try:
        lam = float(lam)
    except (TypeError, ValueError):
        raise ValueError(f"lam = {lam!r} is invalid: must be a finite number >= 0") from None
    if not (math.isfinite(lam) and lam >= 0):
        raise ValueError(f"lam = {lam!r} is invalid: must be a finite number >= 0")
    eta, gamma = _positive("eta", eta), _positive("gamma", gamma)
    if lam <= eta * (1 + math.sqrt(gamma)) ** 2:
        return None
    s = lam - eta * (1 + gamma)
    return (s + math.sqrt(max(s * s - 4 * gamma * eta * eta, 0.0))) / 2


# --- estimators ---------------------------------------------------------------------------

def _check_matrix(X):
    """:func:`symrep.simulate.data.check_data`, for a tensor too, and with two samples and
    two dimensions at least (a covariance needs them)."""
    from symrep.simulate.data import check_data

    if hasattr(X, "detach"):  # a torch tensor, without importing torch here
        X = X.detach().cpu().numpy()
    X = check_data(X)
    if X.shape[0] < 2 or X.shape[1] < 2:
        raise ValueError(f"X is invalid: it has shape {X.shape}; at least 2 samples (rows) "
                         "and 2 dimensions (columns) are needed")
    return X


def _check_cutoff(cutoff, name="cutoff"):
    try:
        value = float(cutoff)
    except (TypeError, ValueError):
        raise ValueError(f"{name} = {cutoff!r} is invalid: must be in (0, 1)") from None
    if not 0 < value < 1:
        raise ValueError(f"{name} = {cutoff!r} is invalid: must be in (0, 1)")
    return value


def covariance_eigenvalues(X):
    """Eigenvalues of the sample covariance Xc^T Xc / P, descending (X is centred here).

    For P < N they come from the P x P Gram matrix Xc Xc^T / P, which has the same
    nonzero eigenvalues at a fraction of the cost; the other N - P are zero.

    Parameters
    ----------
    X : array_like or torch.Tensor of shape (P, N)

    Returns
    -------
    ndarray of shape (N,), float64, read-only
    """
    return _eigenvalues(_check_matrix(X))


def _eigenvalues(X):
    P, N = X.shape
    Xc = X - X.mean(axis=0)
    if P < N:
        values = np.concatenate([np.linalg.eigvalsh(Xc @ Xc.T / P), np.zeros(N - P)])
    else:
        values = np.linalg.eigvalsh(Xc.T @ Xc / P)
    # rounding leaves tiny negative values where the covariance is singular
    values = np.sort(np.clip(values, 0.0, None))[::-1].copy()
    if values[0] <= 0:
        raise ValueError("X is invalid: it has zero variance (every column is constant)")
    values.setflags(write=False)
    return values


def _tracy_widom_scale(P, N):
    """Fluctuation scale of the largest white eigenvalue, in units of eta (Johnstone 2001)."""
    return (math.sqrt(P) + math.sqrt(N)) * (1 / math.sqrt(P) + 1 / math.sqrt(N)) ** (1 / 3) / P


def _strengths(values, eta, gamma):
    """rho for each eigenvalue above the MP edge (the others are dropped)."""
    pairs = [(float(v), bbp_strength(v, eta, gamma)) for v in values]
    pairs = [(v, r) for v, r in pairs if r is not None]
    return tuple(r for _, r in pairs), tuple(v for v, _ in pairs)


def _fit_mp(values, P, N):
    """Iterate (spike count, eta) to a fixed point; see :func:`estimate_spectrum`."""
    gamma = N / P
    n_nonzero = min(N, P - 1)  # the rank of a centred sample covariance
    median_unit = _mp_quantile_unit(0.5, gamma)
    margin = TW_QUANTILE * _tracy_widom_scale(P, N)
    top = (1 + math.sqrt(gamma)) ** 2
    most = n_nonzero // 2
    k = 0
    # every step lowers the median of what is left, hence eta and the threshold, so the
    # count only grows and the loop ends within n_nonzero steps
    for _ in range(n_nonzero + 1):
        if k > most:
            # a smoothly decaying spectrum (natural images, digits) has no MP bulk: each
            # step eats into it further, and the median of a minority of eigenvalues is
            # no estimate of a noise level
            raise SolverError(
                f"the spectrum has no Marchenko-Pastur bulk: more than half of its "
                f"{n_nonzero} nonzero eigenvalues ({k}) lie above the edge of the MP law "
                "fitted to the others, so the data do not follow a spiked covariance "
                "model; method='cumulative' gives the paper's estimate",
                {"n_samples": P, "n_features": N, "spikes": k,
                 "eta": float(np.median(values[k:n_nonzero])) / median_unit})
        median = float(np.median(values[k:n_nonzero]))
        if median <= 0:
            raise SolverError(
                "the MP fit found no noise: the median of the bulk eigenvalues is 0 (the "
                "data are confined to a subspace; remove constant directions first)",
                {"n_samples": P, "n_features": N, "spikes": k})
        eta = median / median_unit
        threshold = eta * (top + margin)
        count = int(np.count_nonzero(values[:n_nonzero] > threshold))
        if count == k:
            return eta, k, threshold
        k = count
    raise SolverError("the MP fit did not settle on a number of spikes",  # pragma: no cover
                      {"n_samples": P, "n_features": N, "spikes": k})


def _cumulative_eta(values, cutoff):
    """eta and k of the cumulative estimator on descending eigenvalues."""
    ratio = np.cumsum(values) / values.sum()
    # smallest k with ratio[k - 1] >= cutoff (a hair of tolerance for the rounding of cumsum)
    k = int(np.searchsorted(ratio, cutoff - 1e-12 * cutoff, side="left")) + 1
    rest = values[k:]
    if rest.size == 0 or rest.mean() <= 0:
        raise SolverError(
            f"the cumulative estimator found no noise at cutoff = {cutoff}: the "
            f"{k} leading components carry all the variance",
            {"cutoff": cutoff, "components": k, "n_features": values.size})
    return float(rest.mean()), k


def estimate_spectrum(X, method="mp", cutoff=0.9):
    """Estimate the noise strength eta and the signal strengths rho of a data set.

    Parameters
    ----------
    X : array_like or torch.Tensor of shape (P, N)
        The data, one sample per row; centred here (the column means are subtracted), so
        raw pixel values in [0, 1] are fine.
    method : {"mp", "cumulative"}, default "mp"
        ``"mp"``: fit the Marchenko-Pastur law to the bulk (consistent). Repeat until the
        number of spikes k is stable, starting from k = 0: eta is the median of the
        nonzero eigenvalues below the k largest, divided by the median of the MP law of
        aspect ratio gamma (for gamma > 1 the nonzero part of the law, and the P - 1
        largest eigenvalues); the spikes are the eigenvalues above the MP edge plus
        :data:`TW_QUANTILE` Tracy-Widom scales (the 99% quantile of the largest noise
        eigenvalue). The median of a bulk eigenvalue set is unmoved by the k outliers up
        to a rank shift of k/2 (O(k/N) of the level), which is why it is robust where the
        mean is not.

        ``"cumulative"``: the paper's estimator. k is the smallest number of leading
        principal components whose cumulative explained-variance ratio reaches
        ``cutoff``; eta is the mean of the other N - k eigenvalues (the probabilistic-PCA
        maximum-likelihood noise variance, the paper's "average variance of the bulk
        reconstruction"); each of the k leading eigenvalues above the MP edge at this eta
        gives a rho, the others are dropped.

        In both, rho comes from an outlier by inverting the BBP relation
        (:func:`bbp_strength`).
    cutoff : float, default 0.9
        The explained-variance ratio of ``"cumulative"``, in (0, 1) (checked for both).

    Returns
    -------
    Spectrum

    Raises
    ------
    ValueError
        X not 2-d, with fewer than 2 rows or columns, not finite or without variance; a
        method or cutoff out of range.
    SolverError
        ``"mp"``: the spectrum has no MP bulk (the spike count passes half of the nonzero
        eigenvalues, as it does on smoothly decaying spectra such as those of natural
        images and digits) or the bulk is zero; ``"cumulative"``: nothing is left below
        the cutoff. ``diagnostics`` has the spike or component count.
    """
    if method not in METHODS:
        raise ValueError(f"method = {method!r} is invalid: choose from {', '.join(METHODS)}")
    cutoff = _check_cutoff(cutoff)
    X = _check_matrix(X)
    values = _eigenvalues(X)
    P, N = X.shape
    gamma = N / P
    if method == "mp":
        eta, k, threshold = _fit_mp(values, P, N)
        rho, outliers = _strengths(values[:k], eta, gamma)
        kept_cutoff = None
    else:
        eta, k = _cumulative_eta(values, cutoff)
        rho, outliers = _strengths(values[:k], eta, gamma)
        threshold = eta * (1 + math.sqrt(gamma)) ** 2
        kept_cutoff = cutoff
    return Spectrum(eta=eta, rho=rho, outliers=outliers, eigenvalues=values,
                    n_samples=P, n_features=N, gamma=gamma,
                    edge=eta * (1 + math.sqrt(gamma)) ** 2, threshold=float(threshold),
                    n_components=k, method=method, cutoff=kept_cutoff)


def cumulative_noise(X, cutoffs=(0.8, 0.9, 0.95)):
    """The paper's noise estimate at several cutoffs (it reports 0.8, 0.9 and 0.95).

    Parameters
    ----------
    X : array_like or torch.Tensor of shape (P, N)
        The data (centred here).
    cutoffs : sequence of float
        Cumulative explained-variance ratios, each in (0, 1).

    Returns
    -------
    dict
        ``cutoff -> eta`` (see :func:`estimate_spectrum` with ``method="cumulative"``).
    """
    cutoffs = [_check_cutoff(c, "cutoffs") for c in np.atleast_1d(cutoffs)]
    if not cutoffs:
        raise ValueError("cutoffs is invalid: give at least one value in (0, 1)")
    values = covariance_eigenvalues(X)
    return {c: _cumulative_eta(values, c)[0] for c in cutoffs}
