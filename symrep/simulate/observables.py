"""Order parameters and observables of a trained (or exactly optimal) linear VAE.

Everything is computed from the weights in float64 numpy. Observables come in two
versions: under the data distribution (closed form from the weights, the quantities the
theory predicts) and on the training set (averages over the P samples). The conventions,
including the constant subtracted from the distortion, are those of ``docs/model.md``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

__all__ = ["SimulationResult", "observables_from_weights", "SCALAR_FIELDS"]


@dataclass(frozen=True)
class SimulationResult:
    """Order parameters and observables of one linear VAE (M = M* = 1) on one data set.

    Attributes
    ----------
    m, d, Q, E, R, D : float
        Order parameters W.W0/N, W~.W0/N, W.W/N, W~.W~/N, W.W~/N and the encoder variance.
    eg : float
        Signal recovery error rho - 2 sqrt(rho) |m| + Q.
    rate, distortion, kl_posterior : float
        Rate, distortion and KL(q(z|x) || p_W(z|x)) averaged over the data distribution.
    rate_train, distortion_train, kl_posterior_train : float
        The same averaged over the training samples.
    loss : float
        Training objective L / N.
    free_energy : float
        (L - sum_mu ||x^mu||^2 / 2) / N: the finite-N counterpart of the replica free
        energy (the removed constant does not depend on the weights).
    W, W_enc : ndarray (N,)
        Decoder and encoder weights, with the sign symmetry (W, W~) -> (-W, -W~) of the
        objective fixed by m >= 0.
    params : dict
        alpha, beta, lam, rho, eta, N, P.
    method : str
        "exact", "adam" or "lbfgs".
    converged : bool
        Whether the stopping rule was met ("exact" is always converged).
    n_iter : int
        Iterations (epochs) used.
    grad_norm : float
        ||grad L|| / sqrt(N) at the returned weights (O(1)-normalised).
    """

    m: float
    d: float
    Q: float
    E: float
    R: float
    D: float
    eg: float
    rate: float
    distortion: float
    kl_posterior: float
    rate_train: float
    distortion_train: float
    kl_posterior_train: float
    loss: float
    free_energy: float
    W: np.ndarray = field(repr=False)
    W_enc: np.ndarray = field(repr=False)
    params: dict = field(default_factory=dict)
    method: str = "exact"
    converged: bool = True
    n_iter: int = 0
    grad_norm: float = 0.0

    def as_dict(self, weights=False):
        """Plain dict (JSON-friendly); the weights only with ``weights=True``."""
        out = asdict(self)
        if weights:
            out["W"], out["W_enc"] = self.W.tolist(), self.W_enc.tolist()
        else:
            del out["W"], out["W_enc"]
        return out


#: Names of the scalar observables of :class:`SimulationResult`, in display order.
SCALAR_FIELDS = (
    "m", "d", "Q", "E", "R", "D", "eg", "rate", "distortion", "kl_posterior",
    "rate_train", "distortion_train", "kl_posterior_train", "loss", "free_energy",
)


def _rate(D, v2, log_D):
    """KL(N(v, D) || N(0, 1)) averaged, given the second moment v2 of the encoder mean."""
    return 0.5 * (D + v2 - 1.0 - log_D)


def _distortion(rho, eta, Q, D, uv, v2):
    """Reconstruction term per sample minus (N - 1) eta / 2 (docs/model.md)."""
    return 0.5 * (rho + eta - 2.0 * uv + Q * (v2 + D))


def _kl_posterior(Q, D, u2, uv, v2, log_D):
    """KL(N(v, D) || N(u/(1+Q), 1/(1+Q))) averaged over the samples."""
    a = 1.0 + Q
    mean_gap2 = v2 - 2.0 * uv / a + u2 / a**2
    return 0.5 * (a * D + a * mean_gap2 - 1.0 - math.log(a) - log_D)


def observables_from_weights(X, W0, W, W_enc, D, *, beta, lam, rho, eta, log_D=None,
                             **info):
    """All order parameters and observables of one model on one data set.

    Parameters
    ----------
    X : ndarray (P, N)
        Training samples.
    W0 : ndarray (N,) or (N, 1)
        The feature (W0.W0/N = 1).
    W, W_enc : ndarray (N,) or (N, 1) / (1, N)
        Decoder and encoder weights of a model with one latent unit.
    D : float
        Encoder variance (> 0).
    beta, lam, rho, eta : float
        Model parameters (rho and eta enter the data-distribution averages).
    log_D : float, optional
        log D, when the caller has it (a trainer works in log D): the logarithms in the
        rate and the KL then stay exact where D itself underflows to 0.
    **info
        Extra fields of :class:`SimulationResult` (method, converged, n_iter, grad_norm).

    Raises
    ------
    ValueError
        If D (or log D) is not a finite positive variance.
    """
    D = float(np.asarray(D).reshape(()))
    if log_D is None:
        if not (math.isfinite(D) and D > 0):
            raise ValueError(f"D = {D!r} is invalid: the encoder variance must be a finite "
                             "number > 0")
        log_D = math.log(D)
    elif not math.isfinite(log_D):
        raise ValueError(f"log_D = {log_D!r} is invalid: must be finite")
    from symrep.simulate.data import check_data

    X = check_data(X)
    P, N = X.shape
    vectors = {}
    for name, value in (("W0", W0), ("W", W), ("W_enc", W_enc)):
        try:
            v = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            v = np.empty(0)
        if v.size != N or not np.all(np.isfinite(v)):
            raise ValueError(f"{name} is invalid: it must hold N = {N} finite numbers (one "
                             f"latent unit), got shape {np.shape(value)}")
        vectors[name] = v.reshape(N)
    w0, W, Wt = vectors["W0"], vectors["W"], vectors["W_enc"]
    if W @ w0 < 0:  # fix the symmetry (W, W~) -> (-W, -W~) of the objective by m >= 0
        W, Wt = -W, -Wt
    m, d = W @ w0 / N, Wt @ w0 / N
    Q, E, R = W @ W / N, Wt @ Wt / N, W @ Wt / N
    # data-distribution second moments of u = x.W/sqrt(N), v = x.W~/sqrt(N)
    pu2, puv, pv2 = rho * m * m + eta * Q, rho * m * d + eta * R, rho * d * d + eta * E
    # training-set second moments
    u, v = X @ W / math.sqrt(N), X @ Wt / math.sqrt(N)
    tu2, tuv, tv2 = u @ u / P, u @ v / P, v @ v / P
    x2 = float(np.einsum("ij,ij->", X, X))
    free_energy = (P * (-tuv + 0.5 * Q * (tv2 + D) + 0.5 * beta * (D + tv2 - 1.0 - log_D))
                   + 0.5 * lam * N * (Q + E)) / N
    return SimulationResult(
        m=m, d=d, Q=Q, E=E, R=R, D=D,
        eg=rho - 2.0 * math.sqrt(rho) * abs(m) + Q,
        rate=_rate(D, pv2, log_D),
        distortion=_distortion(rho, eta, Q, D, puv, pv2),
        kl_posterior=_kl_posterior(Q, D, pu2, puv, pv2, log_D),
        rate_train=_rate(D, tv2, log_D),
        distortion_train=_distortion(rho, eta, Q, D, tuv, tv2),
        kl_posterior_train=_kl_posterior(Q, D, tu2, tuv, tv2, log_D),
        loss=free_energy + 0.5 * x2 / N,
        free_energy=free_energy,
        W=W, W_enc=Wt,
        params=dict(alpha=P / N, beta=beta, lam=lam, rho=rho, eta=eta, N=N, P=P),
        **info,
    )
