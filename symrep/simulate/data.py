"""Spiked covariance model (SCM) data: x = sum_k sqrt(rho_k/N) W0_k c_k + sqrt(eta) n.

One feature (M* = 1) with a scalar signal strength rho is the model of the paper; several
features W0_1..W0_M* (the columns of W0, W0^T W0 / N = I) each carry their own strength
rho_k when rho is a sequence, or all the same strength when rho is a scalar.
"""

from __future__ import annotations

import numpy as np

from symrep.resources import check_resources, data_estimate
from symrep.validation import (
    check_parameter,
    check_parameters,
    check_positive_int,
    check_seed,
)

__all__ = ["default_features", "check_features", "check_data", "check_strengths",
           "features_for", "strength_vector", "sample_scm", "sample_scm_torch"]


def default_features(N: int, n_features: int = 1) -> np.ndarray:
    """Feature matrix W0 with W0^T W0 / N = I.

    One feature is the all-ones column (the convention of the model). Several features
    are random sign columns, orthonormalised and scaled by sqrt(N), so that every entry
    stays of order one; the construction is deterministic (a fixed seed, whatever the
    global random state), so that the same (N, M*) always gives the same features.

    Parameters
    ----------
    N : int
        Input dimension.
    n_features : int, default 1
        Number of features M* (at most N).

    Returns
    -------
    ndarray of shape (N, n_features), float64
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
    """Validate a feature matrix: shape (N, M*) and W0^T W0 / N = I to 1e-8.

    Parameters
    ----------
    W0 : array_like, shape (N,) or (N, M*)
        The feature vectors as columns (a 1-d array is one feature).
    N : int
        The data dimension the features must have.

    Returns
    -------
    ndarray, shape (N, M*), float64
        The features as a 2-d float64 array.

    Raises
    ------
    ValueError
        If W0 is not numeric, has the wrong shape, or its columns are not orthogonal
        with squared norm N.
    """
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


def check_strengths(rho, n_features=None):
    """Validate the signal strengths: a scalar, or one value per feature.

    Parameters
    ----------
    rho : float or sequence of float
        A scalar (the same strength for every feature, the one-feature model) or the
        strengths rho_1..rho_M* of the features, each in the allowed range of rho.
    n_features : int, optional
        The number of features M* (columns of W0) a sequence must match.

    Returns
    -------
    rho : float or ndarray (M*,)
        ``float`` for a scalar, a float64 array for a sequence.

    Raises
    ------
    ValueError
        Naming rho: a value out of range, not 1-d, or a length other than M*.
    """
    if np.ndim(rho) == 0:
        return check_parameter("rho", rho)
    arr = check_parameter("rho", rho, allow_array=True)
    if arr.ndim != 1:
        raise ValueError(f"rho is invalid: expected a number or a 1-d sequence of strengths "
                         f"rho_1..rho_M*, got shape {arr.shape}")
    if n_features is not None and arr.size != n_features:
        raise ValueError(f"rho is invalid: it has {arr.size} strength(s) but W0 has "
                         f"M* = {n_features} feature column(s); give one rho per feature")
    return arr


def features_for(W0, N: int, rho):
    """The feature matrix and the strengths of one data model, checked together.

    ``W0=None`` gives :func:`default_features` with one column for a scalar rho and
    ``len(rho)`` columns for a sequence.

    Parameters
    ----------
    W0 : array_like of shape (N, M*), or None
        The feature matrix (checked by :func:`check_features`), or None for the default
        features.
    N : int
        Data dimension.
    rho : float or sequence of float
        Feature strength(s): a scalar for every feature or one value per column of W0.

    Returns
    -------
    W0 : ndarray (N, M*)
    rho : float or ndarray (M*,)
        As :func:`check_strengths` returns it.

    Raises
    ------
    ValueError
        If W0 or rho is invalid, or rho has another length than W0 has columns.
    """
    if W0 is None:
        rho = check_strengths(rho)
        return default_features(N, 1 if np.ndim(rho) == 0 else rho.size), rho
    W0 = check_features(W0, N)
    return W0, check_strengths(rho, W0.shape[1])


def strength_vector(rho, n_features: int) -> np.ndarray:
    """rho_1..rho_M* as an array: a scalar rho is the strength of every feature.

    Parameters
    ----------
    rho : float or array_like
        A strength shared by every feature, or one strength per feature.
    n_features : int
        M*, the length of the result for a scalar rho.

    Returns
    -------
    ndarray, shape (M*,)
        The strength of each feature.
    """
    return np.full(n_features, float(rho)) if np.ndim(rho) == 0 else np.asarray(rho, float)


def _signal_scale(rho, N):
    """sqrt(rho/N): a scalar for one strength, else one value per feature (M*,).

    Equal strengths take the scalar form, so that rho = (r, r) and rho = r draw the same
    data to the last bit (the product is rounded in the same order).
    """
    if np.ndim(rho) != 0 and np.all(rho == rho[0]):
        rho = float(rho[0])
    return np.sqrt(rho / N)


def check_data(X, name: str = "X") -> np.ndarray:
    """Validate a data matrix: a finite float64 array of shape (P, N), P, N >= 1.

    Parameters
    ----------
    X : array_like, shape (P, N)
        The data matrix, one sample per row.
    name : str, optional
        The parameter name used in error messages (default ``"X"``).

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
    # One pass over the data where they are valid (the sum of squares is finite exactly
    # when no entry is NaN or inf and nothing overflows); the second pass only tells the
    # two failures apart. At N = 4000 and 65 data sets this check is a large part of the
    # trainer's set-up.
    with np.errstate(over="ignore", invalid="ignore"):
        sum_squares = np.einsum("ij,ij->", X, X)
    if not np.isfinite(sum_squares):
        if not np.all(np.isfinite(X)):
            raise ValueError(f"{name} is invalid: it contains NaN or inf")
        raise ValueError(f"{name} is invalid: its entries are too large (the sum of "
                         "their squares overflows)")
    return X


def sample_scm(P, N, rho, eta, W0=None, seed=None, *, force=False):
    """Draw P samples of the spiked covariance model in dimension N.

    Parameters
    ----------
    P, N : int
        Number of samples and input dimension.
    rho : float or sequence of float
        Signal strength (> 0): a scalar for every feature, or rho_1..rho_M*, one per
        column of W0.
    eta : float
        Noise strength (> 0).
    W0 : array_like of shape (N, M*), optional
        Feature matrix with W0^T W0 / N = I. Default: :func:`default_features` with one
        column (the all-ones column) for a scalar rho, ``len(rho)`` columns otherwise.
    seed : int or None
        Seed of ``numpy.random.default_rng``.
    force : bool
        Draw even if the estimated memory or time exceeds what is at hand (see
        :mod:`symrep.resources`).

    Returns
    -------
    X : ndarray of shape (P, N), float64
        The samples, one per row: x = sum_k sqrt(rho_k/N) W0_k c_k + sqrt(eta) n with
        c ~ N(0, I_M*) and n ~ N(0, I_N).
    W0 : ndarray of shape (N, M*), float64
        The feature matrix used.

    Raises
    ------
    ValueError
        Naming the parameter: P or N not a positive integer, rho or eta out of range,
        W0 not of shape (N, M*) with W0^T W0 / N = I, or rho a sequence whose length is
        not M*.
    """
    P = check_positive_int("P", P)
    N = check_positive_int("N", N)
    eta = check_parameters(eta=eta)["eta"]
    seed = check_seed(seed)
    # before features_for, which makes the N x M* features: N = 10**12 is refused, not
    # allocated
    check_resources(data_estimate(P, N, features=np.size(rho)), force=force)
    W0, rho = features_for(W0, N, rho)
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((P, W0.shape[1]))
    noise = rng.standard_normal((P, N))
    scale = _signal_scale(rho, N)
    signal = scale * (c @ W0.T) if np.ndim(scale) == 0 else (c * scale) @ W0.T
    X = signal + np.sqrt(eta) * noise
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
    eta = check_parameters(eta=eta)["eta"]
    seed = check_seed(seed)
    shape = () if batch is None else (check_positive_int("batch", batch),)
    check_resources(data_estimate(P, N, shape[0] if shape else 1, features=np.size(rho)),
                    force=force)
    W0, rho = features_for(W0, N, rho)
    device = resolve_device(device)
    dtype = torch.float64 if dtype is None else dtype
    W0t = torch.as_tensor(W0, dtype=dtype, device=device)
    gen = torch.Generator(device=device)
    if seed is None:  # a fresh seed for this generator only: the global RNG is untouched
        gen.seed()
    else:
        gen.manual_seed(seed)
    c = torch.randn(*shape, P, W0.shape[1], generator=gen, device=device, dtype=dtype)
    noise = torch.randn(*shape, P, N, generator=gen, device=device, dtype=dtype)
    if np.ndim(rho) == 0 or np.all(rho == rho[0]):  # one strength: the scalar arithmetic
        r = float(rho) if np.ndim(rho) == 0 else float(rho[0])
        signal = (r / N) ** 0.5 * (c @ W0t.T)
    else:
        strengths = torch.as_tensor(rho, dtype=dtype, device=device)
        signal = (c * (strengths / N).sqrt()) @ W0t.T
    X = signal + eta ** 0.5 * noise
    return X, W0t
