"""KL(q(z|x) || p(z|x)) of a linear decoder N(W z/sqrt(N), sigma^2 I) at a theory state.

The true posterior of the decoder p(x|z) = N(W z/sqrt(N), sigma^2 I_N) with prior N(0, I)
is N(Lambda^{-1} u / sigma^2, Lambda^{-1}), Lambda = I + Q/sigma^2 and u = W^T x/sqrt(N).
For q(z|x) = N(v, D) the KL averaged over fields (u, v) of second moments S is

    (tr(Lambda D) - M - log det(Lambda D) + tr(Lambda S_vv) - 2 tr(S_uv)/sigma^2
     + tr(Lambda^{-1} S_uu)/sigma^4) / 2

(:func:`posterior_kl`; :meth:`symrep.models.LearnedVarianceVAE.posterior_kl_expression`
derives it with SymPy from the model's terms, which the tests compare). The moments of
a replica-symmetric state (:func:`state_moments`) are those of ``docs/model.md``:
population S = t diag(rho) t^T + eta G, training T = A S A^T with
A = (I + eta X K)^{-1} = (Y + eta K)^{-1} Y, Y = X^{-1} the precision matrix the results
carry (finite also where a susceptibility diverges) and K the Hessian of the linear VAE's
objective of one sample in the fields, [[0, -I], [-I, Q + beta I]].
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["posterior_kl", "state_moments", "corrected_posterior_kl"]

_MATRICES = ("Q", "R", "E", "m", "d", "chihat_Q", "chihat_R", "chihat_E")


def posterior_kl(S, Q, D, sigma2):
    """The KL between N(v, D) and the decoder's posterior, averaged over the fields.

    Parameters
    ----------
    S : ndarray (..., 2M, 2M)
        Second moments of the fields (u, v).
    Q : ndarray (..., M, M)
        W^T W / N.
    D : ndarray (..., M)
        Encoder variances (> 0).
    sigma2 : float or ndarray (...)
        Decoder variance (> 0).

    Returns
    -------
    ndarray (...)
        The averaged KL (module docstring).
    """
    S, Q, D = (np.asarray(a, dtype=float) for a in (S, Q, D))
    M = Q.shape[-1]
    s2 = np.asarray(sigma2, dtype=float)[..., None, None]
    Lam = np.eye(M) + Q / s2
    Suu, Suv, Svv = S[..., :M, :M], S[..., :M, M:], S[..., M:, M:]
    diag_L = np.diagonal(Lam, axis1=-2, axis2=-1)
    _, log_det_L = np.linalg.slogdet(Lam)
    quad = (np.einsum("...ij,...ji->...", Lam, Svv)
            - 2 * np.trace(Suv, axis1=-2, axis2=-1) / s2[..., 0, 0]
            + np.trace(np.linalg.solve(Lam, Suu), axis1=-2, axis2=-1) / s2[..., 0, 0] ** 2)
    return 0.5 * (np.sum(diag_L * D, axis=-1) - M - log_det_L - np.sum(np.log(D), axis=-1)
                  + quad)


def state_moments(fields, rho, eta, beta):
    """Population and training moments of the fields at a replica-symmetric state.

    Parameters
    ----------
    fields : dict
        Q, R, E, m, d, chihat_Q, chihat_R, chihat_E, D of a result: arrays (...,) for
        one unit (``solve_arrays``) or (..., M, M), (..., M, M*), (..., M) (the units'
        solver). With ``moments_train`` (..., 2M, 2M), the training moments measured at
        finite N, the chihat are not needed.
    rho : float or sequence of float or arrays
        The feature strength(s), broadcastable to the batch's shape.
    eta : float or ndarray
        Noise strength.
    beta : float or ndarray
        The theory model's beta (the K matrix's).

    Returns
    -------
    P, T : ndarray (..., 2M, 2M)
        Population and training moments.
    Q : ndarray (..., M, M)
    D : ndarray (..., M)
    """
    given = "moments_train" in fields
    f = {k: np.asarray(fields[k], dtype=float) for k in (*_MATRICES, "D")
         if k in fields and k != "moments_train"}
    scalar = f["Q"].ndim == f["D"].ndim  # one unit: every field has the batch's shape
    if scalar:
        f = {k: v[..., None, None] if k != "D" else v[..., None] for k, v in f.items()}
    shape = f["D"].shape[:-1]
    M = f["Q"].shape[-1]
    if scalar:  # one feature: rho is a number or an array of the batch's shape
        r = np.asarray(rho, dtype=float)
        r = (r.reshape(shape) if r.size == math.prod(shape)
             else np.broadcast_to(r, shape))[..., None]
    else:  # M* strengths (one number: the same for every feature)
        items = [rho] * f["m"].shape[-1] if np.ndim(rho) == 0 else list(rho)
        r = np.stack([np.broadcast_to(np.asarray(x, dtype=float), shape) for x in items],
                     axis=-1)
    eta = np.broadcast_to(np.asarray(eta, dtype=float), shape)[..., None, None]
    beta = np.broadcast_to(np.asarray(beta, dtype=float), shape)[..., None, None]
    t = np.concatenate([f["m"], f["d"]], axis=-2)
    G = np.concatenate([np.concatenate([f["Q"], f["R"]], axis=-1),
                        np.concatenate([np.swapaxes(f["R"], -1, -2), f["E"]], axis=-1)],
                       axis=-2)
    P = np.einsum("...ik,...k,...jk->...ij", t, r, t) + eta * G
    if given:  # measured on the training set (finite N)
        return P, np.asarray(fields["moments_train"], dtype=float), f["Q"], f["D"]
    Y = np.concatenate(
        [np.concatenate([f["chihat_Q"], f["chihat_R"]], axis=-1),
         np.concatenate([np.swapaxes(f["chihat_R"], -1, -2), f["chihat_E"]], axis=-1)],
        axis=-2)
    eye = np.broadcast_to(np.eye(M), (*shape, M, M))
    K = np.concatenate([np.concatenate([np.zeros_like(eye), -eye], axis=-1),
                        np.concatenate([-eye, f["Q"] + beta * eye], axis=-1)], axis=-2)
    A = np.linalg.solve(Y + eta * K, Y)
    T = A @ P @ np.swapaxes(A, -1, -2)
    return P, T, f["Q"], f["D"]


def corrected_posterior_kl(fields, rho, eta, beta, sigma2):
    """``kl_posterior`` and ``kl_posterior_train`` with the decoder variance sigma2.

    Parameters
    ----------
    fields : dict
        A theory result's fields (:func:`state_moments`) with ``kl_posterior``, whose
        shape is the batch's.
    rho, eta, beta : float or ndarray
        As for :func:`state_moments` (beta: the theory model's).
    sigma2 : float or ndarray
        The decoder variance.

    Returns
    -------
    dict
        ``kl_posterior`` and ``kl_posterior_train``: floats for a result of one point
        (0-d fields), else arrays of the batch's shape; NaN where a field is NaN.
    """
    shape = np.shape(fields["kl_posterior"])  # the batch's shape; () for one point
    masked = {k: np.asarray(fields[k], dtype=float) for k in (*_MATRICES, "D",
                                                               "moments_train")
              if k in fields}
    bad = np.zeros(shape, dtype=bool)
    for v in masked.values():
        bad |= ~np.isfinite(v.reshape(*shape, -1)).all(axis=-1)
    # NaN states (unconverged, masked) are replaced by a harmless one and masked after
    safe = {}
    for k, v in masked.items():
        b = bad.reshape(bad.shape + (1,) * (v.ndim - bad.ndim))
        fill = 1.0 if k in ("D", "chihat_Q", "chihat_E") else 0.0
        if k in ("chihat_Q", "chihat_E") and v.ndim > len(shape):
            fill = np.eye(v.shape[-1])
        safe[k] = np.where(b, fill, v)
    P, T, Q, D = state_moments(safe, rho, eta, beta)
    out = {}
    for name, S in (("kl_posterior", P), ("kl_posterior_train", T)):
        value = np.where(bad, np.nan, posterior_kl(S, Q, D, sigma2))
        out[name] = float(value) if shape == () else value
    return out
