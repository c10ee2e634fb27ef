"""Spiked covariance model (SCM) data: x = sqrt(rho/N) W0 c + sqrt(eta) n."""

from __future__ import annotations

import numpy as np

from symrep.resources import check_resources, data_estimate
from symrep.validation import check_parameters, check_positive_int, check_seed

__all__ = ["default_features", "check_features", "check_data", "sample_scm",
           "sample_scm_torch"]


def default_features(N: int, n_features: int = 1) -> np.ndarray:
    """Feature matrix W0 with W0^T W0 / N = I.

    One feature is the all-ones column (the convention of the model). Several features
    are random sign columns, orthonormalised and scaled by sqrt(N), so that every entry
    stays of order one; the construction is deterministic.
    """
    N = check_positive_int("N", N)
    n_features = check_positive_int("n_features", n_features)
    if n_features == 1:
        return np.ones((N, 1))
    if n_features > N:
        raise ValueError(f"n_features = {n_features} is invalid: must be <= N = {N}")
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.choice([-1.0, 1.0], size=(N, n_features)))
    return q * np.sqrt(N)


def check_features(W0, N: int) -> np.ndarray:
    """Validate a feature matrix: shape (N, M*) and W0^T W0 / N = I to 1e-8."""
    try:
        W0 = np.asarray(W0, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("W0 is invalid: it must be an array of real numbers") from None
    if W0.ndim == 1:
        W0 = W0[:, None]
    if W0.ndim != 2 or W0.shape[0] != N or W0.shape[1] < 1:
        raise ValueError(f"W0 must have shape (N, M*) = ({N}, M*), got {W0.shape}")
    gram = W0.T @ W0 / N
    if not np.allclose(gram, np.eye(W0.shape[1]), rtol=0, atol=1e-8):
        raise ValueError("W0 is invalid: W0^T W0 / N must equal the identity")
    return W0


def check_data(X, name: str = "X") -> np.ndarray:
    """Validate a data matrix: a finite float64 array of shape (P, N), P, N >= 1.

    Returns
    -------
    ndarray (P, N), float64

    Raises
    ------
    ValueError
        If X is not 2-d, has no rows or no columns, is not numeric, contains NaN or inf,
        or is so large that its squared norm overflows.
    """
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} is invalid: it must be an array of real numbers") from None
    if X.ndim != 2:
        raise ValueError(f"{name} is invalid: it must have shape (P, N), got {X.shape}")
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"{name} is invalid: it has shape {X.shape}; at least one sample "
                         "(row) and one dimension (column) are needed")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} is invalid: it contains NaN or inf")
    with np.errstate(over="ignore"):
        if not np.isfinite(np.einsum("ij,ij->", X, X)):
            raise ValueError(f"{name} is invalid: its entries are too large (the sum of "
                             "their squares overflows)")
    return X


def sample_scm(P, N, rho, eta, W0=None, seed=None, *, force=False):
    """Draw P samples of the spiked covariance model in dimension N.

    Parameters
    ----------
    P, N : int
        Number of samples and input dimension.
    rho, eta : float
        Signal and noise strength (both > 0).
    W0 : array_like of shape (N, M*), optional
        Feature matrix with W0^T W0 / N = I. Default: one all-ones column.
    seed : int or None
        Seed of ``numpy.random.default_rng``.
    force : bool
        Draw even if the estimated memory or time exceeds what is at hand (see
        :mod:`symrep.resources`).

    Returns
    -------
    X : ndarray of shape (P, N), float64
        The samples, one per row.
    W0 : ndarray of shape (N, M*), float64
        The feature matrix used.
    """
    P = check_positive_int("P", P)
    N = check_positive_int("N", N)
    p = check_parameters(rho=rho, eta=eta)
    seed = check_seed(seed)
    check_resources(data_estimate(P, N), force=force)
    W0 = default_features(N) if W0 is None else check_features(W0, N)
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((P, W0.shape[1]))
    noise = rng.standard_normal((P, N))
    X = np.sqrt(p["rho"] / N) * (c @ W0.T) + np.sqrt(p["eta"]) * noise
    return X, W0


def sample_scm_torch(P, N, rho, eta, W0=None, seed=None, *, batch=None, device=None,
                     dtype=None, force=False):
    """Like :func:`sample_scm`, but drawn directly on a torch device.

    Parameters
    ----------
    batch : int, optional
        Draw ``batch`` independent data sets at once: X has shape (batch, P, N).
    device, dtype : optional
        Torch device (default: CUDA when available, else CPU) and dtype (default float64).

    Returns
    -------
    X : torch.Tensor of shape (P, N) or (batch, P, N)
    W0 : torch.Tensor of shape (N, M*)
    """
    import torch

    from symrep.simulate.device import resolve_device

    P = check_positive_int("P", P)
    N = check_positive_int("N", N)
    p = check_parameters(rho=rho, eta=eta)
    seed = check_seed(seed)
    shape = () if batch is None else (check_positive_int("batch", batch),)
    check_resources(data_estimate(P, N, shape[0] if shape else 1), force=force)
    device = resolve_device(device)
    dtype = torch.float64 if dtype is None else dtype
    W0 = default_features(N) if W0 is None else check_features(W0, N)
    W0t = torch.as_tensor(W0, dtype=dtype, device=device)
    gen = torch.Generator(device=device)
    if seed is None:  # a fresh seed for this generator only: the global RNG is untouched
        gen.seed()
    else:
        gen.manual_seed(seed)
    c = torch.randn(*shape, P, W0.shape[1], generator=gen, device=device, dtype=dtype)
    noise = torch.randn(*shape, P, N, generator=gen, device=device, dtype=dtype)
    X = (p["rho"] / N) ** 0.5 * (c @ W0t.T) + p["eta"] ** 0.5 * noise
    return X, W0t
