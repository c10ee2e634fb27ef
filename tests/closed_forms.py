"""Ground truth for the tests, typed here from the model and textbook random-matrix results.

Nothing in this module imports symrep: it is the independent side of the comparisons in
the test suite (see docs/testing.md). The derivation, from the definition of the model
(docs/model.md), for one latent unit:

1. At fixed decoder W the objective is minimised over the encoder variance by
   D = beta / (beta + Q), Q = W.W/N (d/dD of P (Q D + beta (D - log D)) / 2 vanishes), and
   over the encoder by W~ = kappa W along the top eigenvector of the sample covariance
   S = X^T X / P, with kappa = A / ((Q + beta) A + lam), A = alpha s, s its eigenvalue.
2. The objective per N, minus the data-norm constant, is then a function of Q alone,

       f(Q) = Q (lam/2 - A^2 / (2 ((Q + beta) A + lam))) + alpha beta/2 log(1 + Q/beta),

   minimised here directly (the roots of f' on a fine grid, refined with brentq, and the
   endpoint Q = 0).
3. As N -> infinity the top eigenvalue of S is the BBP spike
   s = (rho + eta)(1 + eta/(alpha rho)) when alpha rho^2 > eta^2 (the spectral
   transition), otherwise the Marchenko-Pastur edge eta (1 + alpha^{-1/2})^2; the squared
   overlap of its eigenvector with W0/sqrt(N) is
   (1 - eta^2/(alpha rho^2)) / (1 + eta/(alpha rho)) above the transition, 0 below.
4. The observables follow from their definitions: under the data distribution
   u = x.W/sqrt(N) and v = x.W~/sqrt(N) are centred Gaussians with E[u^2] = rho m^2 + eta Q,
   E[uv] = rho m d + eta R, E[v^2] = rho d^2 + eta E; on the training set, with W along
   the top eigenvector, the averages of u^2, uv, v^2 are Q s, kappa Q s, kappa^2 Q s.
5. The susceptibilities chi = lim b (Q - q) of the Boltzmann measure exp(-b L) are the
   traces, per N, of the blocks of the inverse Hessian of L in (W, W~). In the eigenbasis
   of S the Hessian is block diagonal with 2x2 blocks
   [[alpha (<v^2> + D) + lam, -alpha sigma], [-alpha sigma, (Q + beta) alpha sigma + lam]]
   (rank-one terms do not contribute per N); the traces are integrals over the
   Marchenko-Pastur law of the bulk eigenvalues sigma, with its atom 1 - alpha at
   sigma = 0 for alpha < 1.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import quad
from scipy.optimize import brentq

__all__ = ["reduced_objective", "top_eigenvalue", "optimum", "gaussian_kl", "observables",
           "susceptibilities", "reference"]


def top_eigenvalue(alpha, rho, eta):
    """(s, overlap^2, separated): the top eigenvalue of S and its overlap with the feature."""
    if alpha * rho**2 > eta**2:
        s = (rho + eta) * (1 + eta / (alpha * rho))
        return s, (1 - eta**2 / (alpha * rho**2)) / (1 + eta / (alpha * rho)), True
    return eta * (1 + alpha**-0.5) ** 2, 0.0, False


def reduced_objective(Q, alpha, s, beta, lam):
    """f(Q), the objective per N at the best D, encoder and direction of W."""
    A = alpha * s
    return Q * (lam / 2 - A**2 / (2 * ((Q + beta) * A + lam))) + alpha * beta / 2 * np.log1p(
        Q / beta)


def _reduced_slope(Q, alpha, s, beta, lam):
    """f'(Q), differentiated by hand from :func:`reduced_objective`."""
    A = alpha * s
    return (lam / 2 - A**2 * (beta * A + lam) / (2 * ((Q + beta) * A + lam) ** 2)
            + alpha * beta / (2 * (Q + beta)))


def optimum(alpha, beta, lam, s):
    """(Q, f, gap): the global minimiser of f on Q >= 0, its value, and the distance in f
    to the next-best local minimum (inf if there is none): a first-order transition is
    where the gap vanishes."""
    grid = np.unique(np.concatenate([np.linspace(0, 2 * s + 1, 4001)[1:],
                                     np.geomspace(1e-12, 2 * s + 1, 4000)]))
    slope = _reduced_slope(grid, alpha, s, beta, lam)
    minima = [(0.0, 0.0)] if _reduced_slope(0.0, alpha, s, beta, lam) >= 0 else []
    for i in np.nonzero((slope[:-1] < 0) & (slope[1:] >= 0))[0]:
        Q = brentq(_reduced_slope, grid[i], grid[i + 1], args=(alpha, s, beta, lam),
                   xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500)
        minima.append((Q, float(reduced_objective(Q, alpha, s, beta, lam))))
    minima.sort(key=lambda qf: qf[1])
    gap = minima[1][1] - minima[0][1] if len(minima) > 1 else math.inf
    return minima[0][0], minima[0][1], gap


def gaussian_kl(mean1, var1, mean2, var2):
    """KL(N(mean1, var1) || N(mean2, var2)) of one-dimensional Gaussians."""
    return 0.5 * (math.log(var2 / var1) + (var1 + (mean1 - mean2) ** 2) / var2 - 1)


def observables(rho, eta, Q, D, u2, uv, v2):
    """(rate, distortion, kl_posterior) from the second moments of (u, v).

    The rate is the average KL(N(v, D) || N(0, 1)); the distortion the average of
    E_q ||x - W z/sqrt(N)||^2 / 2 minus (N - 1) eta / 2, with E||x||^2 = N eta + rho; the
    posterior mismatch the average KL(N(v, D) || N(u/(1+Q), 1/(1+Q))). Every KL is
    quadratic in the means, so its average is the KL at zero means plus the averaged
    squared mean difference over twice the second variance.
    """
    rate = gaussian_kl(0.0, D, 0.0, 1.0) + v2 / 2
    distortion = (rho + eta) / 2 - uv + Q * (v2 + D) / 2
    a = 1 + Q
    kl = gaussian_kl(0.0, D, 0.0, 1 / a) + a * (v2 - 2 * uv / a + u2 / a**2) / 2
    return rate, distortion, kl


def susceptibilities(alpha, beta, lam, eta, Q, D, v2_train, soft_edge):
    """(chi_Q, chi_R, chi_E) from the Marchenko-Pastur law (see the module docstring).

    ``soft_edge``: the weights lie along the top of the bulk (the overfitting phase), where
    the Hessian is exactly singular.
    """
    a, b, c = alpha * (v2_train + D) + lam, Q + beta, 1 / alpha
    lo, hi = eta * (1 - math.sqrt(c)) ** 2, eta * (1 + math.sqrt(c)) ** 2
    # det(x) = a (b alpha x + lam) - alpha^2 x^2 = alpha^2 (top - x)(x - bottom); the
    # Hessian turns soft where x reaches `top`: at the edge in the overfitting phase, at
    # the spike (just above the edge near the spectral transition) in the learning phase
    root = math.sqrt((a * b * alpha) ** 2 + 4 * alpha**2 * a * lam)
    top = (a * b * alpha + root) / (2 * alpha**2)
    bottom = -a * lam / (alpha**2 * top)

    def numerators(x):
        return (b * alpha * x + lam, alpha * x, a)

    # the Hessian is positive semi-definite at the optimum: top >= hi, with equality in
    # the overfitting phase (which rounding may miss by a few ulp)
    gap = 0.0 if soft_edge else max(top - hi, 0.0)

    # x = lo + (hi - lo) sin^2(t/2) turns the density sqrt((hi - x)(x - lo)) /
    # (2 pi eta c x) dx into (hi - lo)^2 sin^2(t/2) cos^2(t/2) / (2 pi eta c x) dt; with
    # g = cos^2(t/2) = (hi - x)/(hi - lo) the factor g / (top - x) = g / (gap + (hi - lo) g)
    # stays bounded (it is 1/(hi - lo) in the overfitting phase)
    def integrand(t, k):
        x = lo + (hi - lo) * math.sin(t / 2) ** 2
        g = math.cos(t / 2) ** 2
        soft = g / (gap + (hi - lo) * g) if gap > 0 else 1 / (hi - lo)
        weight = (hi - lo) ** 2 * math.sin(t / 2) ** 2 / (2 * math.pi * eta * c * x)
        return weight * soft * numerators(x)[k] / (alpha**2 * (x - bottom))

    # where the soft point lies just above the edge the integrand has a narrow step at
    # t = pi, and for alpha near 1 (lo near 0) one at t = 0: the interval is broken
    # geometrically towards both ends
    breaks = sorted({2.0**-j for j in range(1, 40)} | {math.pi - 2.0**-j for j in range(1, 40)})
    chi = [quad(integrand, 0.0, math.pi, args=(k,), points=breaks, limit=1000, epsabs=0.0,
                epsrel=1e-12)[0] for k in range(3)]
    if alpha < 1:  # the atom of S at 0 (P < N)
        chi = [value + (1 - alpha) * numerators(0.0)[k] / (a * lam)
               for k, value in enumerate(chi)]
    return tuple(chi)


def reference(alpha, beta, lam, rho=1.0, eta=1.0, *, chi=False):
    """Every quantity :func:`symrep.solve` reports, from the closed forms above.

    Returns
    -------
    dict
        m, d, Q, E, R, D, eg, rate, distortion, kl_posterior, their ``_train`` versions,
        free_energy, phase, ``gap`` (see :func:`optimum`) and, with ``chi=True``,
        chi_Q, chi_R, chi_E (None where a susceptibility diverges: lam = 0, alpha <= 1).
    """
    s, overlap2, separated = top_eigenvalue(alpha, rho, eta)
    Q, f, gap = optimum(alpha, beta, lam, s)
    A = alpha * s
    kappa = A / ((Q + beta) * A + lam)
    m = math.sqrt(Q * overlap2)
    d, R, E, D = kappa * m, kappa * Q, kappa**2 * Q, beta / (beta + Q)
    out = dict(m=m, d=d, Q=Q, E=E, R=R, D=D, free_energy=f, gap=gap,
               eg=rho - 2 * math.sqrt(rho) * m + Q,
               phase="regularized" if Q == 0 else "learning" if separated else "overfitting")
    population = (rho * m * m + eta * Q, rho * m * d + eta * R, rho * d * d + eta * E)
    training = (Q * s, kappa * Q * s, kappa**2 * Q * s)
    for suffix, moments in (("", population), ("_train", training)):
        values = observables(rho, eta, Q, D, *moments)
        out.update({name + suffix: v for name, v in
                    zip(("rate", "distortion", "kl_posterior"), values, strict=True)})
    if chi:
        diverges = lam == 0 and alpha <= 1
        out.update(dict(zip(("chi_Q", "chi_R", "chi_E"),
                            (None,) * 3 if diverges else
                            susceptibilities(alpha, beta, lam, eta, Q, D, training[2],
                                             out["phase"] == "overfitting"),
                            strict=True)))
    return out
