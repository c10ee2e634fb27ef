"""The exact finite-N optimum of the linear VAE with a learned decoder variance sigma^2.

The objective of :class:`symrep.models.LearnedVarianceVAE` is, with s = sigma^2,

    L(W, W~, D, s; beta, lam) = L_lin(W, W~, D; s beta, s lam) / s + (P N / 2) log s,

L_lin the linear VAE's objective (unit decoder variance), because the reconstruction is
divided by s and the KL term and the weight decay are not. At fixed s the optimum over
(W, W~, D) is therefore the linear VAE's exact optimum (:mod:`symrep.simulate.exact`) at
(s beta, s lam), and what is left is the profile

    g(s) = L_lin*(s beta, s lam) / s + (P N / 2) log s,

a function of one variable. L_lin* costs no further eigenvalue problem: it is the sum of
the one-unit reduced objectives of the M largest eigenvalues of S = X^T X / P
(:func:`~symrep.simulate.exact.reduced_objective` at
:func:`~symrep.simulate.exact.optimal_norm`). By the envelope theorem
g'(s) = (P N / (2 s^2)) (s - 2 R(s) / (P N)), R(s) the reconstruction term summed over
the samples at the optimum of fixed s, so every stationary point satisfies

    s = sum_mu E_q ||x^mu - W z / sqrt(N)||^2 / (P N),

and the minimiser lies between the two bounds R gives: R <= L_lin* <= L_lin(W = 0) =
||X||^2 / 2 (KL and weight decay are non-negative), and R >= P/2 times the sum of the
N - M smallest eigenvalues of S (no rank-M reconstruction does better). So
s lies in [(tr S - s_1 - ... - s_M) / N, tr S / N], an interval of relative width
O(1/N). g is scanned on a grid in log s over it, minimised by Brent's method next to
the best grid point, and the stationarity is solved to rounding by bracketing; the
optimum found is the global one (a minimum of g is never at one of its kinks: g is
the lower envelope of smooth branches, whose kinks point upwards). The returned weights
are checked against the stationarity, computed afresh from them.
"""

from __future__ import annotations

import dataclasses
import logging
import math

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from symrep.errors import SolverError
from symrep.simulate.data import check_data, check_features, check_strengths
from symrep.simulate.exact import minimum_on_spectrum, optimal_norm, reduced_objective, spectrum
from symrep.validation import check_parameters, check_positive_int

__all__ = ["learned_variance_minimum", "reconstruction_error"]

logger = logging.getLogger(__name__)

#: Points of the scan of the profile in log sigma^2.
SCAN_POINTS = 64
#: Relative tolerance of the stationarity check sigma^2 = mean reconstruction error.
STATIONARITY_RTOL = 1e-9


def reconstruction_error(X, W, W_enc, D):
    """sum_mu E_q ||x^mu - W z / sqrt(N)||^2 over the samples, from the weights.

    Parameters
    ----------
    X : ndarray (P, N)
        The samples.
    W : ndarray (N, M)
        Decoder weights.
    W_enc : ndarray (M, N)
        Encoder weights W~.
    D : ndarray (M,)
        Encoder variances.

    Returns
    -------
    float
        ||X||^2 - 2 sum_mu u.v + sum_mu v^T Q v + P tr(Q D), with u = W^T x / sqrt(N),
        v = W~ x / sqrt(N) and Q = W^T W / N.
    """
    X = np.asarray(X, dtype=np.float64)
    P, N = X.shape
    W = np.reshape(np.asarray(W, dtype=np.float64), (N, -1))
    W_enc = np.reshape(np.asarray(W_enc, dtype=np.float64), (W.shape[1], N))
    D = np.reshape(np.asarray(D, dtype=np.float64), (-1,))
    U, V = X @ W / math.sqrt(N), X @ W_enc.T / math.sqrt(N)
    Q = W.T @ W / N
    return float(np.einsum("ij,ij->", X, X) - 2.0 * np.einsum("ij,ij->", U, V)
                 + np.einsum("pi,ij,pj->", V, Q, V) + P * np.diagonal(Q) @ D)


class _Profile:
    """g(s) / P and the stationarity of one data set, from the top eigenvalues of S."""

    def __init__(self, x2, P, N, s, beta, lam):
        self.x2, self.P, self.N, self.s = x2, P, N, s
        self.alpha, self.beta, self.lam = P / N, beta, lam

    def norms(self, sigma2):
        b, lam = sigma2 * self.beta, sigma2 * self.lam
        return b, lam, np.array([optimal_norm(self.alpha, float(si), b, lam)
                                 for si in self.s])

    def value(self, t):
        """g / P at sigma^2 = exp(t), per sample (O(1) numbers for the minimiser)."""
        sigma2 = math.exp(t)
        b, lam, Q = self.norms(sigma2)
        loss = self.x2 / (2 * self.N) + sum(
            float(reduced_objective(q, self.alpha, float(si), b, lam))
            for q, si in zip(Q, self.s, strict=True))
        return (loss / sigma2 + self.P * t / 2) / self.P

    def stationarity(self, sigma2):
        """sigma^2 - 2 R(sigma^2) / (P N): the sign of g'."""
        b, lam, Q = self.norms(sigma2)
        A = self.alpha * self.s
        denominator = (Q + b) * A + lam
        kappa = np.where(denominator > 0, A / np.where(denominator > 0, denominator, 1.0),
                         0.0)
        D = b / (b + Q)
        # sum_mu u_i^2 = P Q_i s_i for the unit along the i-th eigenvector, v_i = kappa_i u_i
        R2 = self.x2 + self.P * float(np.sum(Q * (-2 * kappa * self.s + kappa**2 * Q * self.s
                                                   + D)))
        return sigma2 - R2 / (self.P * self.N)


def learned_variance_minimum(X, W0, beta=1.0, lam=0.0, rho=1.0, eta=1.0, *, M=1):
    """Global minimum of the learned-variance VAE's objective on the data X.

    Parameters
    ----------
    X : array_like (P, N)
        Training samples.
    W0 : array_like (N,) or (N, M*)
        The features (for the overlaps).
    beta : float
        KL weight (> 0).
    lam : float
        Weight decay (>= 0).
    rho : float or sequence of float
        Feature strengths (enter the observables averaged over the data only).
    eta : float
        Noise strength (idem).
    M : int, default 1
        Number of latent units (keyword only).

    Returns
    -------
    SimulationResult
        The optimum's order parameters and observables (those of the linear VAE's
        exact optimum at (sigma^2 beta, sigma^2 lam), which has the same weights),
        ``extras = {"sigma2": sigma^2}``, ``kl_posterior`` and
        ``kl_posterior_train`` to the posterior of the decoder of variance sigma^2,
        and the model's own objective:
        ``loss`` = L / N and ``free_energy`` = (L - sum_mu ||x^mu||^2 / (2 sigma^2)
        - (P N / 2) log sigma^2) / N, which is the linear VAE's free energy at the
        mapped parameters divided by sigma^2. ``params`` holds this model's beta, lam.

    Raises
    ------
    ValueError
        Naming the parameter: out of range, malformed data, or data of rank at most
        M (then sigma^2 -> 0 lowers the objective without bound: no minimum).
    symrep.errors.SolverError
        If the weights found do not satisfy the stationarity in sigma^2 to
        :data:`STATIONARITY_RTOL` (never expected).
    """
    M = check_positive_int("M", M)
    p = check_parameters(beta=beta, lam=lam, eta=eta)
    X = check_data(X)
    P, N = X.shape
    W0 = check_features(W0, N)
    rho = check_strengths(rho, W0.shape[1] if np.ndim(rho) else None)
    beta, lam = p["beta"], p["lam"]
    k = min(M, N)
    eigen = spectrum(X, M)
    s = eigen[0]
    x2 = float(np.einsum("ij,ij->", X, X))
    trace = x2 / P
    upper = trace / N
    lower = (trace - float(np.sum(s[:k]))) / N
    if not lower > 1e-12 * upper:
        raise ValueError(
            f"X is invalid: the data lie in a subspace of dimension <= M = {M} "
            f"(rank-{M} residual {lower:.3g} per dimension), where sigma^2 -> 0 lowers "
            "the learned-variance objective without bound: there is no minimum")
    profile = _Profile(x2, P, N, s, beta, lam)
    # the minimiser lies in [lower, upper] (module docstring); widen the scan by a hair
    # so that a minimiser on a bound is inside the grid
    t = np.linspace(math.log(lower) - 1e-9, math.log(upper) + 1e-9, SCAN_POINTS)
    values = np.array([profile.value(ti) for ti in t])
    i = int(np.argmin(values))
    lo, hi = t[max(i - 1, 0)], t[min(i + 1, len(t) - 1)]
    best = minimize_scalar(profile.value, bounds=(lo, hi), method="bounded",
                           options=dict(xatol=1e-14))
    sigma2 = math.exp(float(best.x))
    # polish the minimiser on the stationarity, whose root Brent's method on values
    # finds only to about sqrt(eps)
    for width in (1e-7, 1e-5, 1e-3):
        a, b = sigma2 * (1 - width), sigma2 * (1 + width)
        fa, fb = profile.stationarity(a), profile.stationarity(b)
        if fa < 0 < fb:
            root = brentq(profile.stationarity, a, b, xtol=1e-300, rtol=1e-15, maxiter=200)
            if profile.value(math.log(root)) <= profile.value(math.log(sigma2)) + 1e-15:
                sigma2 = root
            break
    linear = minimum_on_spectrum(X, W0, sigma2 * beta, sigma2 * lam, rho, p["eta"], eigen)
    recon = reconstruction_error(X, linear.W, linear.W_enc, linear.D)
    mean_error = recon / (P * N)
    if not abs(mean_error - sigma2) <= STATIONARITY_RTOL * sigma2:
        raise SolverError(
            f"learned-variance optimum: sigma^2 = {sigma2!r} but the mean reconstruction "
            f"error of its weights is {mean_error!r} (relative gap "
            f"{abs(mean_error - sigma2) / sigma2:.3g} > {STATIONARITY_RTOL:g})",
            {"sigma2": sigma2, "mean_reconstruction_error": mean_error, "bounds":
             (lower, upper), "beta": beta, "lam": lam, "N": N, "P": P, "M": M})
    # the gradient of L = L_lin(sigma^2 beta, sigma^2 lam) / sigma^2 + (P N / 2) log
    # sigma^2: the linear one over sigma^2 in the weights; in log sigma^2,
    # P N / 2 - R / (2 sigma^2) with R the summed reconstruction error
    g_log = P * N / 2 - recon / (2 * sigma2)
    grad_norm = math.sqrt((linear.grad_norm / sigma2) ** 2 + g_log**2 / N)
    params = {**linear.params, "beta": beta, "lam": lam}
    logger.debug("learned variance: N = %d, P = %d, M = %d, sigma^2 = %.15g in [%.6g, %.6g]",
                 N, P, M, sigma2, lower, upper)
    result = dataclasses.replace(
        linear, loss=float(linear.loss / sigma2 + P * math.log(sigma2) / 2),
        free_energy=float(linear.free_energy / sigma2), params=params,
        grad_norm=float(grad_norm), extras={"sigma2": sigma2})
    # the KL to the posterior of this decoder (variance sigma^2), not the linear VAE's
    from symrep.models.posterior_kl import corrected_posterior_kl
    from symrep.simulate.model_observables import training_field_moments

    fields = {k: getattr(result, k) for k in ("m", "d", "Q", "R", "E", "D",
                                              "kl_posterior")}
    fields["moments_train"] = training_field_moments(X, result.W, result.W_enc)
    own = corrected_posterior_kl(fields, rho, p["eta"], sigma2 * beta, sigma2)
    return dataclasses.replace(result, **own)
