"""The exact global minimum of the linear-VAE objective at finite N (one latent unit).

The minimisation reduces to linear algebra and one scalar equation:

1. For fixed decoder W, the objective is minimised over D and the encoder in closed form:
   D = beta / (beta + Q) with Q = W.W/N, and W~ = alpha ((Q+beta) alpha S + lam)^{-1} S W,
   where S = X^T X / P is the sample covariance.
2. What remains is a sum over the eigenmodes of S of w_i^2 c(s_i) with
   c(s) = lam/2 - alpha^2 s^2 / (2 ((Q+beta) alpha s + lam)), decreasing in s, plus
   terms that depend on W only through Q. At fixed Q the best W is therefore along the
   top eigenvector of S, and W~ = kappa W with kappa = alpha s / ((Q+beta) alpha s + lam).
3. The objective per N, minus the data-norm constant, is then the function of one
   variable f(Q) = Q (lam/2 - A^2 / (2 ((Q+beta) A + lam))) + alpha beta/2 log(1 + Q/beta)
   with A = alpha s_max. Its stationary points with Q > 0 are the roots of a cubic in
   y = Q + beta; the global minimum is the best of these and Q = 0.

Everything is exact up to floating-point rounding; no gradient descent is involved.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg
import scipy.sparse.linalg

from symrep.simulate.data import check_data, check_features
from symrep.simulate.model import gradient_norm
from symrep.simulate.observables import observables_from_weights
from symrep.validation import check_parameters

__all__ = ["exact_minimum", "top_eigenpair", "reduced_objective", "optimal_norm"]

# Above this dimension the top eigenpair comes from Lanczos iterations on X, which never
# forms the N x N covariance; below it a dense solver is both fast and unconditionally
# reliable.
_DENSE_MAX_N = 1200


def top_eigenpair(X):
    """Largest eigenvalue and its unit eigenvector of S = X^T X / P.

    Returns
    -------
    s : float
    e : ndarray (N,)
    """
    X = np.asarray(X, dtype=np.float64)
    P, N = X.shape
    if N <= _DENSE_MAX_N:
        S = X.T @ X / P
        w, v = scipy.linalg.eigh(S, subset_by_index=[N - 1, N - 1])
        return float(w[0]), v[:, 0]
    op = scipy.sparse.linalg.LinearOperator(
        (N, N), matvec=lambda z: X.T @ (X @ z) / P, dtype=np.float64
    )
    v0 = np.ones(N) + np.linspace(0.0, 1.0, N)  # deterministic start vector
    w, v = scipy.sparse.linalg.eigsh(op, k=1, which="LA", v0=v0, tol=0, ncv=min(N, 64),
                                     maxiter=100 * N)
    s, e = float(w[0]), v[:, 0]
    residual = np.linalg.norm(op.matvec(e) - s * e)
    if not residual <= 1e-9 * s:  # Lanczos should not fail; if it does, be exact anyway
        w, v = scipy.linalg.eigh(X.T @ X / P, subset_by_index=[N - 1, N - 1])
        s, e = float(w[0]), v[:, 0]
    return s, e


def reduced_objective(Q, alpha, s, beta, lam):
    """f(Q): objective per N at the best W~, D and direction of W, minus sum ||x||^2/(2N)."""
    Q = np.asarray(Q, dtype=np.float64)
    A = alpha * s
    return Q * (lam / 2 - A**2 / (2 * ((Q + beta) * A + lam))) + alpha * beta / 2 * np.log1p(
        Q / beta
    )


def _reduced_gradient(Q, alpha, s, beta, lam):
    A = alpha * s
    y = Q + beta
    return 0.5 * (lam + alpha * beta / y - A**2 * (beta * A + lam) / (y * A + lam) ** 2)


def optimal_norm(alpha, s, beta, lam):
    """Global minimiser Q >= 0 of :func:`reduced_objective`.

    The stationarity condition, multiplied by 2 y (y A + lam)^2 with y = Q + beta, is the
    cubic lam A^2 y^3 + (2 A lam^2 + alpha beta A^2) y^2
    + (lam^3 + 2 alpha beta A lam - A^2 (beta A + lam)) y + alpha beta lam^2 = 0.
    """
    A = alpha * s
    if not A > 0:  # no variance in the data: f(Q) is increasing, the optimum is Q = 0
        return 0.0
    coeffs = [
        lam * A**2,
        2 * A * lam**2 + alpha * beta * A**2,
        lam**3 + 2 * alpha * beta * A * lam - A**2 * (beta * A + lam),
        alpha * beta * lam**2,
    ]
    while coeffs and coeffs[0] == 0.0:  # lam = 0 lowers the degree
        coeffs = coeffs[1:]
    candidates = [0.0]
    for y in np.roots(coeffs) if len(coeffs) > 1 else []:
        if abs(y.imag) > 1e-8 * max(1.0, abs(y.real)) or y.real <= beta:
            continue
        Q = float(y.real) - beta
        for _ in range(3):  # polish the root on the exact derivative (Newton, numeric f'')
            h = 1e-7 * max(1.0, Q)
            g = _reduced_gradient(Q, alpha, s, beta, lam)
            dg = (_reduced_gradient(Q + h, alpha, s, beta, lam)
                  - _reduced_gradient(Q - h, alpha, s, beta, lam)) / (2 * h)
            if dg != 0.0 and math.isfinite(g / dg):
                Q = max(Q - g / dg, 0.0)
        candidates.append(Q)
    values = [float(reduced_objective(q, alpha, s, beta, lam)) for q in candidates]
    return candidates[int(np.argmin(values))]


def exact_minimum(X, W0, beta, lam, rho=1.0, eta=1.0):
    """Global minimum of the linear-VAE objective (one latent unit) on the data X.

    Parameters
    ----------
    X : array_like (P, N)
        Training samples.
    W0 : array_like (N,) or (N, 1)
        The feature of the data (used for the overlaps m, d and eg).
    beta : float
        KL weight (> 0).
    lam : float
        Weight decay (>= 0).
    rho, eta : float
        Signal and noise strength of the data model; they enter only the observables
        averaged over the data distribution.

    Returns
    -------
    SimulationResult
        Order parameters, observables, the objective per N and the optimal weights. For
        lam = 0 and P < N the
        encoder is determined only up to the null space of X; the minimum-norm encoder is
        returned.

    Notes
    -----
    See the module docstring for the reduction; the result is exact up to rounding.
    """
    p = check_parameters(beta=beta, lam=lam, rho=rho, eta=eta)
    X = check_data(X)
    P, N = X.shape
    W0 = check_features(W0, N)
    if W0.shape[1] != 1:
        raise ValueError("W0 is invalid: exact_minimum treats one feature (M* = 1)")
    alpha = P / N
    beta, lam = p["beta"], p["lam"]
    s, e = top_eigenpair(X)
    Q = optimal_norm(alpha, s, beta, lam)
    W = math.sqrt(N * Q) * e
    # kappa = alpha s / ((Q + beta) alpha s + lam); without signal and without weight
    # decay (s = lam = 0, e.g. all-zero data) the optimum is collapsed, W = 0, and any
    # kappa gives W~ = 0
    denominator = (Q + beta) * alpha * s + lam
    kappa = alpha * s / denominator if denominator > 0 else 0.0
    W_enc = kappa * W
    D = beta / (beta + Q)
    return observables_from_weights(
        X, W0, W, W_enc, D, beta=beta, lam=lam, rho=p["rho"], eta=p["eta"], method="exact",
        converged=True, n_iter=0, grad_norm=gradient_norm(X, W, W_enc, D, beta, lam),
    )
