"""The observables a model measures itself, on the weights of a finite-N result.

A model may measure some observables differently from the linear VAE whose formulas
:mod:`symrep.simulate.observables` applies (the KL to the posterior of a decoder of
learned variance, :meth:`symrep.models.LearnedVarianceVAE.theory_observables`). This
module gives the model what it needs from the weights, through the model protocol only:
the result's order parameters, its trainable scalars (``extras``) and the second moments
of the fields (u, v) over the training set.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["training_field_moments", "model_observables_of_result"]


def training_field_moments(X, W, W_enc):
    """The 2M x 2M second moments of (u, v) = (W^T x, W~ x)/sqrt(N) over the samples.

    Parameters
    ----------
    X : ndarray (P, N)
        Training samples.
    W : ndarray (N,) or (N, M)
        Decoder weights.
    W_enc : ndarray (N,) or (M, N)
        Encoder weights.

    Returns
    -------
    ndarray (2M, 2M)
        [[U^T U, U^T V], [V^T U, V^T V]] / P.
    """
    X = np.asarray(X, dtype=np.float64)
    P, N = X.shape
    W = np.reshape(np.asarray(W, dtype=np.float64), (N, -1))
    W_enc = np.reshape(np.asarray(W_enc, dtype=np.float64), (W.shape[1], N))
    H = np.concatenate([X @ W, X @ W_enc.T], axis=1) / math.sqrt(N)
    return H.T @ H / P


def model_observables_of_result(model, X, result, rho, eta):
    """``model.theory_observables`` of a finite-N result (empty for the linear VAE).

    Parameters
    ----------
    model : object
        A model of :mod:`symrep.models`.
    X : ndarray (P, N)
        The training samples of the result.
    result : SimulationResult
        With its weights ``W``, ``W_enc`` and ``extras`` (the model's trainable scalars).
    rho : float or sequence of float
        Feature strength(s).
    eta : float
        Noise strength.

    Returns
    -------
    dict
        Field name -> float, for :func:`dataclasses.replace` of the result.
    """
    from symrep.solvers.model_map import model_observables

    fields = {k: getattr(result, k) for k in ("m", "d", "Q", "R", "E", "D",
                                              "kl_posterior")}
    fields["moments_train"] = training_field_moments(X, result.W, result.W_enc)
    fields.update(result.extras or {})
    params = {**result.params, "rho": rho, "eta": eta}
    return {k: float(v) for k, v in model_observables(model, fields, params).items()}
