"""The exact global minimum of the linear-VAE objective at finite N.

**One latent unit.** The minimisation reduces to linear algebra and one scalar equation:

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

**M latent units (D diagonal).** The optimum decouples over eigenvectors of S: unit i
(i = 1..M) has its decoder along the eigenvector of the i-th largest eigenvalue s_i of S,
the norm Q_i = :func:`optimal_norm` (alpha, s_i, beta, lam) of the one-unit problem on
that eigenvalue, W~_i = kappa_i W_i and D_i = beta / (beta + Q_i); a unit with Q_i = 0
is collapsed. The argument, with (s_a, v_a) the eigenpairs of S, w_a = W^T v_a (a
vector of length M) and G = Q + beta I (Q = W^T W / N, an M x M matrix):

1. *D and the encoder.* The objective depends on D only through
   (P/2) sum_i [Q_ii D_i + beta (D_i - 1 - log D_i)], so D_i = beta / (beta + Q_ii) and
   this part becomes (P beta / 2) sum_i log(1 + Q_ii / beta). The encoder enters
   quadratically; in the eigenbasis of S, W~ = sum_a k_a v_a^T with
   (alpha s_a G + lam) k_a = alpha s_a w_a (invertible since G >= beta I; for
   s_a = lam = 0 the mode is in the null space of X, and k_a = 0 is the minimum-norm
   choice). Eliminating it leaves, per N and minus the data-norm constant,

       F(W) = (1/N) sum_a w_a^T C(s_a) w_a + (alpha beta / 2) sum_i log(1 + Q_ii / beta),
       C(s) = lam/2 - alpha^2 s^2 (alpha s G + lam)^{-1} / 2.

2. *The spectral part depends on Q only through its eigenvalues.* Write
   ``Q = U diag(q_1..q_M) U^T``. C(s) is diagonal in the eigenbasis of Q, with entries
   ``c(s; q_j) = lam/2 - A^2 / (2 (A (q_j + beta) + lam))``, A = alpha s, the function c of
   the one-unit problem, decreasing in s. With ``z_j = (w_a . u_j)_a``, vectors over the
   eigenmodes a that are orthogonal with |z_j|^2 = N q_j (because W^T W = N Q), the
   first term is ``sum_j q_j sum_a c(s_a; q_j) p_aj`` with ``p_aj = (z_j)_a^2 / (N q_j)``: each
   column of p sums to 1 and each row to at most 1 (the z_j / |z_j| are orthonormal).
   A linear function on that polytope is smallest at a vertex, a partial permutation:
   each eigendirection j of Q along its own eigenvector a_j of S, distinct for
   distinct j. So the spectral part is at least ``sum_j q_j c(s_{a_j}; q_j)`` for some
   distinct a_j, with equality when every column of W U lies along one eigenvector.
3. *The KL part prefers a diagonal Q.* The diagonal of Q is majorised by its
   eigenvalues (Schur-Horn) and q -> log(1 + q / beta) is concave, so
   sum_i log(1 + Q_ii / beta) >= sum_j log(1 + q_j / beta), with equality for Q
   diagonal (U = I). This is where D diagonal matters: with a full matrix D the term
   would be log det(I + Q / beta), invariant under rotations of the units.
4. *Per-unit problems.* Together, for every W,
   ``F(W) >= sum_j f(q_j; s_{a_j})`` with ``f(q; s) = q c(s; q) + (alpha beta / 2)
   log(1 + q / beta)``, the one-unit reduced objective (:func:`reduced_objective`), and
   the bound is attained by W with orthogonal columns along the eigenvectors ``v_{a_j}``
   (Q diagonal). Minimising over q_j gives ``min_q f(q; s) = f(Q*(s); s)``, which is
   non-increasing in s (f is, for every q >= 0); so the distinct eigenvalues are best
   chosen as the M largest. Ties (equal eigenvalues) change nothing: any orthonormal
   basis of the eigenspace is optimal. f has decreasing differences in (q, s), so
   ``Q*(s)`` is non-decreasing: the units come out ordered by Q as by eigenvalue, and
   collapsed units (Q = 0) are those of the smallest eigenvalues.

One code path serves every M: :func:`spectrum` takes the M largest eigenpairs and
:func:`minimum_on_spectrum` the per-unit norms; one unit is the case M = 1 of both.

**Other models.** ``exact_minimum(..., model=...)`` asks the model for its optimum: the
linear VAE comes back here; the learned decoder variance minimises a one-variable
profile over sigma^2 of this optimum at (sigma^2 beta, sigma^2 lam)
(:mod:`symrep.simulate.variance_profile`), reusing one :func:`spectrum` of the data.

Units beyond N (M > N) or on a zero eigenvalue are collapsed. The result is exact up to
floating-point rounding; no gradient descent is involved. ``tests/test_simulate_units.py``
checks it against multi-start gradient training, which never goes lower, and
``docs/finite_size_multi.md`` records the same check on 200 random instances (1600
L-BFGS runs).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg
import scipy.sparse.linalg

from symrep.simulate.data import check_data, check_features, check_strengths
from symrep.simulate.model import gradient_norm
from symrep.simulate.observables import observables_from_unit_weights
from symrep.validation import check_parameters, check_positive_int

__all__ = ["exact_minimum", "top_eigenpair", "top_eigenpairs", "reduced_objective",
           "optimal_norm", "spectrum", "minimum_on_spectrum"]

# Above this dimension the top eigenpair comes from Lanczos iterations on X, which never
# forms the N x N covariance; below it a dense solver is both fast and unconditionally
# reliable.
_DENSE_MAX_N = 1200


def top_eigenpair(X):
    """Largest eigenvalue and its unit eigenvector of S = X^T X / P.

    Parameters
    ----------
    X : array_like, shape (P, N)
        The data, one sample per row. Dense eigensolver up to a size threshold, Lanczos
        (checked by its residual) above it.

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


def top_eigenpairs(X, k):
    """The k largest eigenvalues (descending) and unit eigenvectors of S = X^T X / P.

    Parameters
    ----------
    X : ndarray (P, N)
    k : int
        1 <= k <= N.

    Returns
    -------
    s : ndarray (k,)
        Eigenvalues, largest first.
    V : ndarray (N, k)
        Orthonormal eigenvectors, column i for s[i].
    """
    X = np.asarray(X, dtype=np.float64)
    P, N = X.shape
    if k == 1:  # one eigenpair asked for: the dedicated solver (Lanczos on X above N)
        s, e = top_eigenpair(X)
        return np.array([s]), e[:, None]
    if N <= _DENSE_MAX_N or k >= N // 2:
        w, v = scipy.linalg.eigh(X.T @ X / P, subset_by_index=[N - k, N - 1])
        return w[::-1].copy(), v[:, ::-1].copy()
    # Lanczos. Several eigenvalues at the edge of the noise bulk lie close together and
    # need many iterations: with P >= N they run on the N x N covariance (no larger than
    # X, and a product costs N^2 instead of P N), else on X.
    if P >= N:
        S = X.T @ X / P
        op = scipy.sparse.linalg.aslinearoperator(S)
    else:
        op = scipy.sparse.linalg.LinearOperator(
            (N, N), matvec=lambda z: X.T @ (X @ z) / P, dtype=np.float64
        )
    v0 = np.ones(N) + np.linspace(0.0, 1.0, N)  # deterministic start vector
    w, v = scipy.sparse.linalg.eigsh(op, k=k, which="LA", v0=v0, tol=0,
                                     ncv=min(N, max(64, 4 * k)), maxiter=100 * N)
    order = np.argsort(w)[::-1]
    s, V = w[order], v[:, order]
    residual = np.linalg.norm(X.T @ (X @ V) / P - V * s, axis=0)
    if not np.all(residual <= 1e-9 * max(s[0], 1e-300)):  # be exact anyway
        w, v = scipy.linalg.eigh(X.T @ X / P, subset_by_index=[N - k, N - 1])
        s, V = w[::-1].copy(), v[:, ::-1].copy()
    return s, V


def reduced_objective(Q, alpha, s, beta, lam):
    """f(Q): objective per N at the best W~, D and direction of W, minus sum ||x||^2/(2N).

    Parameters
    ----------
    Q : float or array_like
        Squared decoder norm per N, ``Q >= 0``.
        alpha : float
            Sample complexity P / N.
        s : float
            Largest eigenvalue of the sample covariance S = X^T X / P.
        beta : float
            Weight of the KL term.
        lam : float
            Weight decay (ridge) on encoder and decoder.

    Returns
    -------
    float or ndarray
        f(Q), of the shape of Q.
    """
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

    Parameters
    ----------
        alpha : float
            Sample complexity P / N.
        s : float
            Largest eigenvalue of the sample covariance S = X^T X / P.
        beta : float
            Weight of the KL term.
        lam : float
            Weight decay (ridge) on encoder and decoder.

    Returns
    -------
    float
        The minimiser Q >= 0 (0 where the data have no variance or the collapsed
        solution is the best).
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


class _DefaultUnits:
    """The default of ``M``: 1, or the model's M (None is refused, as it always was)."""

    def __repr__(self):
        return "1"


_DEFAULT_M = _DefaultUnits()


def exact_minimum(X, W0, beta=1.0, lam=0.0, rho=1.0, eta=1.0, *, M=_DEFAULT_M, model=None):
    """Global minimum of the training objective with M latent units on the data X.

    Without ``model``, the linear VAE's (the derivation of the module docstring). With a
    model, the model finds its own exact optimum (its method ``exact_minimum``); the
    linear VAE's gives the same numbers as ``model=None``.

    Parameters
    ----------
    X : array_like (P, N)
        Training samples.
    W0 : array_like (N,) or (N, M*)
        The features of the data (W0^T W0 / N = I; used for the overlaps m, d and eg).
    beta : float
        KL weight (> 0).
    lam : float
        Weight decay (>= 0).
    rho : float or sequence of float
        Signal strength: a scalar (every feature) or rho_1..rho_M*, one per column of
        W0. With eta, it enters only the observables averaged over the data
        distribution.
    eta : float
        Noise strength.
    M : int, optional
        Number of latent units (keyword only). Default 1, or the model's M; with a
        model it must be the model's M.
    model : optional
        A model of :mod:`symrep.models` (keyword only), e.g.
        ``LearnedVarianceVAE(M=2, Mstar=2)``; W0 must have its M* columns. None: the
        linear VAE.

    Returns
    -------
    SimulationResult
        A :class:`~symrep.simulate.observables.SimulationResult` with the optimal
        weights (order parameters as numbers for M = M* = 1, the 1 x 1 case). For
        lam = 0 and P < N the encoder is determined only up to the null space of X; the
        minimum-norm encoder is returned. A model with order
        parameters of its own returns them in ``extras`` (``result.sigma2`` for the
        learned decoder variance), and its objective in ``loss`` and ``free_energy``.

    Raises
    ------
    ValueError
        Naming the parameter: beta, lam, rho or eta out of range, M not a positive
        integer or not the model's, rho of a length other than M*, X or W0 malformed
        or W0 without the model's M* columns.
    symrep.errors.SolverError
        If the model's optimum cannot be certified (see the model's method).

    Notes
    -----
    See the module docstring for the reduction and the proof that the optimum decouples
    over the eigenvectors of S; the result is exact up to rounding.
    """
    if model is not None:
        return _model_minimum(model, X, W0, beta, lam, rho, eta, M)
    M = check_positive_int("M", 1 if M is _DEFAULT_M else M)
    p = check_parameters(beta=beta, lam=lam, eta=eta)
    X = check_data(X)
    P, N = X.shape
    W0 = check_features(W0, N)
    rho = check_strengths(rho, W0.shape[1] if np.ndim(rho) else None)
    beta, lam = p["beta"], p["lam"]
    return minimum_on_spectrum(X, W0, beta, lam, rho, p["eta"], spectrum(X, M))


def spectrum(X, M):
    """The M largest eigenpairs of S = X^T X / P, padded with zeros beyond N.

    Parameters
    ----------
    X : ndarray (P, N)
        The data (checked).
    M : int
        Number of latent units.

    Returns
    -------
    s : ndarray (M,)
        Eigenvalues, largest first (0 beyond N).
    V : ndarray (N, M)
        Unit eigenvectors as columns (0 beyond N).
    """
    N = X.shape[1]
    k = min(M, N)
    s, V = top_eigenpairs(X, k)
    return (np.concatenate([s, np.zeros(M - k)]),
            np.concatenate([V, np.zeros((N, M - k))], axis=1))


def minimum_on_spectrum(X, W0, beta, lam, rho, eta, eigen):
    """The linear VAE's optimum from the top eigenpairs ``eigen`` = :func:`spectrum` (X, M).

    For a caller that needs the optimum at several (beta, lam) on one data set: the
    eigenvalue problem is solved once. The arguments are taken as checked.

    Parameters
    ----------
    X : ndarray (P, N)
        Training samples.
    W0 : ndarray (N, M*)
        The features.
    beta, lam, eta : float
        Parameters.
    rho : float or ndarray
        Feature strengths.
    eigen : tuple (s, V)
        From :func:`spectrum`.

    Returns
    -------
    SimulationResult
        As :func:`exact_minimum`.
    """
    P, N = X.shape
    s, V = eigen
    alpha = P / N
    Q = np.array([optimal_norm(alpha, float(si), beta, lam) for si in s])
    W = V * np.sqrt(N * Q)[None, :]
    # kappa_i = alpha s_i / ((Q_i + beta) alpha s_i + lam); a unit with no variance and
    # no weight decay is collapsed (W_i = 0) and any kappa gives W~_i = 0
    denominator = (Q + beta) * alpha * s + lam
    kappa = np.where(denominator > 0, alpha * s / np.where(denominator > 0, denominator, 1.0),
                     0.0)
    W_enc = (W * kappa[None, :]).T
    D = beta / (beta + Q)
    return observables_from_unit_weights(
        X, W0, W, W_enc, D, beta=beta, lam=lam, rho=rho, eta=eta, method="exact",
        converged=True, n_iter=0, grad_norm=gradient_norm(X, W, W_enc, D, beta, lam),
    )


def _model_minimum(model, X, W0, beta, lam, rho, eta, M):
    """Check that M and W0 fit the model, then ask the model for its optimum."""
    model_m, model_mstar = getattr(model, "M", None), getattr(model, "Mstar", None)
    if not callable(getattr(model, "exact_minimum", None)) or model_m is None:
        raise ValueError(f"model = {model!r} is invalid: expected a model of symrep.models "
                         "(with M, Mstar and exact_minimum)")
    if M is not _DEFAULT_M and check_positive_int("M", M) != model_m:
        raise ValueError(f"M = {M!r} is invalid: the model has M = {model_m} latent units "
                         "(leave M out)")
    X = check_data(X)
    W0 = check_features(W0, X.shape[1])
    if W0.shape[1] != model_mstar:
        raise ValueError(f"W0 is invalid: the model has M* = {model_mstar} feature(s), W0 "
                         f"has {W0.shape[1]} column(s)")
    return model.exact_minimum(X, W0, beta, lam, rho, eta)
