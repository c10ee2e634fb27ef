"""Order parameters and observables of a trained (or exactly optimal) linear VAE.

Everything is computed from the weights in float64 numpy. Observables come in two
versions: under the data distribution (closed form from the weights, the quantities the
theory predicts) and on the training set (averages over the P samples). The conventions,
including the constant subtracted from the distortion, are those of ``docs/model.md``.

One result type, :class:`SimulationResult`, for any number of latent units M and of
features M*, computed by one function, :func:`observables_from_unit_weights`; one latent
unit and one feature (M = M* = 1) is its 1 x 1 case. Such a result shows its 1 x 1
matrices as numbers (``result.m`` a float, ``W`` of shape (N,)): that is its presentation
only, and ``as_units()`` gives the same result with the matrices.
:func:`observables_from_weights` is the one-unit view of the same function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from symrep.extras import Extras

__all__ = ["SimulationResult", "MatrixSimulationResult", "observables_from_weights",
           "observables_from_unit_weights", "unit_phases", "signal_recovery_error",
           "SCALAR_FIELDS", "MATRIX_FIELDS", "UNIT_RESULT_FIELDS", "Q_FLOOR", "COS_FLOOR"]

#: Below this decoder norm Q_ii a latent unit counts as collapsed (:func:`unit_phases`).
Q_FLOOR = 1e-6
#: Above this cosine |m_ik| / sqrt(Q_ii) with a feature a unit counts as learning it.
#: Below the spectral transition the cosine of a finite-N model is of order N^(-1/2).
COS_FLOOR = 0.25

#: Names of the numeric observables of :class:`SimulationResult`, in display order: the
#: order parameters (matrices, or numbers for M = M* = 1), then the scalars.
SCALAR_FIELDS = (
    "m", "d", "Q", "E", "R", "D", "eg", "rate", "distortion", "kl_posterior",
    "rate_train", "distortion_train", "kl_posterior_train", "loss", "free_energy",
)

#: Matrix order parameters of :class:`SimulationResult`.
MATRIX_FIELDS = ("m", "d", "Q", "E", "R", "D")

#: Numeric fields of :class:`SimulationResult` (the matrices, then the scalars), in
#: display order: the names of :data:`SCALAR_FIELDS`.
UNIT_RESULT_FIELDS = SCALAR_FIELDS


def _default(value, default):
    return default if value is None else value


@dataclass(frozen=True)
class SimulationResult(Extras):
    """Order parameters and observables of one linear VAE (M units, M* features).

    The latent units are in a canonical order and sign (see
    :func:`observables_from_unit_weights`).

    Attributes
    ----------
    m, d : ndarray (M, M*), or float for M = M* = 1
        Overlaps W^T W0 / N and W~ W0 / N of decoder and encoder with the features.
    Q, E, R : ndarray (M, M), or float for M = M* = 1
        W^T W / N, W~ W~^T / N and W^T W~^T / N.
    D : ndarray (M,), or float for M = M* = 1
        Encoder variances.
    eg : float
        Signal recovery error (:func:`signal_recovery_error`; rho - 2 sqrt(rho) |m| + Q
        for M = M* = 1).
    rate, distortion, kl_posterior : float
        Rate, distortion and KL(q(z|x) || p_W(z|x)) averaged over the data distribution
        (formulas in :func:`observables_from_unit_weights`).
    rate_train, distortion_train, kl_posterior_train : float
        The same averaged over the training samples.
    loss : float
        Training objective L / N.
    free_energy : float
        (L - sum_mu ||x^mu||^2 / 2) / N: the finite-N counterpart of the replica free
        energy (the removed constant does not depend on the weights).
    phases : tuple of str
        Phase of each unit (:func:`unit_phases`): ``"learning feature k"``,
        ``"overfitting"`` or ``"collapsed"``; computed with the default floors when not
        given.
    W : ndarray (N, M), or (N,) for M = M* = 1; or None
        Decoder weights.
    W_enc : ndarray (M, N), or (N,) for M = M* = 1; or None
        Encoder weights.
    params : dict
        alpha, beta, lam, rho, eta, N, P, and for other than M = M* = 1 also M and
        Mstar; rho is the tuple rho_1..rho_M*, a float for M = M* = 1.
    method : str
        "exact", "adam" or "lbfgs".
    converged : bool
        Whether the stopping rule was met ("exact" is always converged).
    n_iter : int
        Iterations (epochs) used.
    grad_norm : float
        ||grad L|| / sqrt(N) at the returned weights (O(1)-normalised).
    extras : dict
        Order parameters of the model beyond the linear VAE's, by name (empty for the
        linear VAE; ``{"sigma2": ...}`` for the learned decoder variance), also read as
        attributes (``result.sigma2``). For such a model ``loss`` and ``free_energy``
        are its own objective (see :func:`symrep.simulate.exact_minimum`).
    unit_matrices : bool
        For M = M* = 1: keep the order parameters as 1 x 1 matrices (the form
        :meth:`as_units` gives). Other (M, M*) always have them.
    """

    m: object
    d: object
    Q: object
    E: object
    R: object
    D: object
    eg: float
    rate: float
    distortion: float
    kl_posterior: float
    rate_train: float
    distortion_train: float
    kl_posterior_train: float
    loss: float
    free_energy: float
    phases: tuple = None
    W: np.ndarray = field(default=None, repr=False)
    W_enc: np.ndarray = field(default=None, repr=False)
    params: dict = field(default_factory=dict)
    method: str = "exact"
    converged: bool = True
    n_iter: int = 0
    grad_norm: float = 0.0
    extras: dict = field(default_factory=dict)
    unit_matrices: bool = field(default=False, repr=False)

    def __post_init__(self):
        m = np.atleast_2d(np.asarray(self.m, dtype=np.float64))
        Q = np.atleast_2d(np.asarray(self.Q, dtype=np.float64))
        M, Mstar = Q.shape[0], m.shape[1]
        # The one place where M = M* = 1 is told apart: the result's presentation. Its
        # numbers are the 1 x 1 case of the matrix ones; shown as numbers (and vectors
        # of length N), they are what one-unit code has always read (result.m a float,
        # JSON with numbers, not nested lists).
        scalar = M == 1 and Mstar == 1 and not self.unit_matrices
        set_ = object.__setattr__  # frozen: the fields are normalised here, once
        if self.phases is None:
            set_(self, "phases", unit_phases(m, Q))
        else:
            set_(self, "phases", tuple(self.phases))
        params = dict(self.params)
        if scalar:
            for name in MATRIX_FIELDS:
                set_(self, name, float(np.reshape(np.asarray(getattr(self, name),
                                                             dtype=np.float64), ())))
            for name in ("W", "W_enc"):
                if getattr(self, name) is not None:
                    set_(self, name, np.reshape(getattr(self, name), -1))
            if "rho" in params and np.ndim(params["rho"]):
                params["rho"] = float(np.ravel(params["rho"])[0])
            params.pop("M", None)
            params.pop("Mstar", None)
        else:
            set_(self, "unit_matrices", True)
            set_(self, "m", m)
            set_(self, "Q", Q)
            set_(self, "d", np.atleast_2d(np.asarray(self.d, dtype=np.float64)))
            for name in ("E", "R"):
                set_(self, name, np.atleast_2d(np.asarray(getattr(self, name),
                                                          dtype=np.float64)))
            set_(self, "D", np.reshape(np.asarray(self.D, dtype=np.float64), -1))
            if self.W is not None:
                set_(self, "W", np.reshape(self.W, (-1, M)))
            if self.W_enc is not None:
                set_(self, "W_enc", np.reshape(self.W_enc, (M, -1)))
            if params:
                if "rho" in params:
                    params["rho"] = tuple(float(r) for r in np.ravel(params["rho"]))
                params.setdefault("M", M)
                params.setdefault("Mstar", Mstar)
        set_(self, "params", params)

    @property
    def M(self) -> int:
        """Number of latent units."""
        return int(np.atleast_2d(self.Q).shape[0])

    @property
    def Mstar(self) -> int:
        """Number of features."""
        return int(np.atleast_2d(self.m).shape[1])

    def as_dict(self, weights=False):
        """Plain dict (JSON-friendly: matrices as nested lists); the weights only with
        ``weights=True``.

        Parameters
        ----------
        weights : bool, optional
            Include the weights W and W_enc as nested lists (default False).

        Returns
        -------
        dict
            The fields of the result by name, arrays as nested lists; the ``extras``
            (``sigma2``, ...) by their own names. For M = M* = 1 (numbers, not 1 x 1
            matrices) without the phases, the form one-unit results have always had.
        """
        out = {}
        for name in UNIT_RESULT_FIELDS:
            value = getattr(self, name)
            out[name] = value.tolist() if isinstance(value, np.ndarray) else value
        if not self.unit_matrices:  # M = M* = 1 shown as numbers (see __post_init__)
            if weights:
                out["W"], out["W_enc"] = self.W.tolist(), self.W_enc.tolist()
            out.update(params=dict(self.params))
        else:
            out.update(phases=list(self.phases), params=dict(self.params))
        out.update(method=self.method, converged=self.converged, n_iter=self.n_iter,
                   grad_norm=self.grad_norm)
        out.update(self.extras)
        if weights and self.unit_matrices:
            out["W"], out["W_enc"] = self.W.tolist(), self.W_enc.tolist()
        return out

    def as_units(self, q_floor=None, cos_floor=None):
        """The same result with its order parameters as matrices (1 x 1 for M = M* = 1).

        The numbers are copied, not recomputed; the phases follow :func:`unit_phases`
        with the given floors (default: the result's own phases).

        Parameters
        ----------
        q_floor : float, optional
            Smallest Q of a non-collapsed unit (default :data:`Q_FLOOR`).
        cos_floor : float, optional
            Smallest cosine to the feature of a learning unit (default :data:`COS_FLOOR`).

        Returns
        -------
        SimulationResult
            With matrices ``m`` (M, M*), ``Q`` (M, M), ..., ``W`` (N, M), ``W_enc``
            (M, N), ``params`` with ``M``, ``Mstar`` and the tuple ``rho``.
        """
        phases = self.phases
        if q_floor is not None or cos_floor is not None:
            phases = unit_phases(self.m, self.Q, _default(q_floor, Q_FLOOR),
                                 _default(cos_floor, COS_FLOOR))
        if self.unit_matrices and phases == self.phases:
            return self
        return replace(self, phases=phases, unit_matrices=True, extras=dict(self.extras))


#: The name of the result of several units before there was one type (the same class).
MatrixSimulationResult = SimulationResult


def unit_phases(m, Q, q_floor=Q_FLOOR, cos_floor=COS_FLOOR):
    """Phase of each latent unit of one finite-N model, from its order parameters.

    The rule generalises :func:`symrep.figures.core.measured_phase` to M units and M*
    features. Unit i is

    - ``"collapsed"`` when Q_ii <= ``q_floor`` (its decoder vanishes: posterior collapse,
      zero rate);
    - ``"learning feature k"`` (k = 1..M*) when the cosine between its decoder and
      feature k, |m_ik| / sqrt(Q_ii), exceeds ``cos_floor``, for k the feature of the
      largest cosine;
    - ``"overfitting"`` otherwise (a decoder of finite norm along the noise).

    Parameters
    ----------
    m : array_like (M, M*)
        Overlaps W^T W0 / N.
    Q : array_like (M, M)
        Decoder Gram matrix W^T W / N (only its diagonal is used).
    q_floor, cos_floor : float
        The floors of the rule (defaults :data:`Q_FLOOR`, :data:`COS_FLOOR`).

    Returns
    -------
    tuple of str
        One phase per unit, in the order of the rows of m.
    """
    m = np.atleast_2d(np.asarray(m, dtype=float))
    q = np.diagonal(np.atleast_2d(np.asarray(Q, dtype=float)))
    phases = []
    for i in range(m.shape[0]):
        if not q[i] > q_floor:
            phases.append("collapsed")
            continue
        cosines = np.abs(m[i]) / math.sqrt(q[i])
        k = int(np.argmax(cosines))
        phases.append(f"learning feature {k + 1}" if cosines[k] > cos_floor
                      else "overfitting")
    return tuple(phases)


def signal_recovery_error(m, Q, rho):
    """eg for M units and M* features: the best match of units to features.

    ``eg = min over permutations and signs of the units of
    ||W0 diag(sqrt(rho)) - W||_F^2 / N``, the smaller of the two matrices padded with
    zero columns, which equals

        sum_k rho_k + tr Q - 2 max_pi sum_k sqrt(rho_k) |m_{pi(k), k}|

    with pi an assignment of distinct units to features (of min(M, M*) pairs; the
    entries are non-negative, so a full assignment is best). Solved exactly by
    :func:`scipy.optimize.linear_sum_assignment`. For M = M* = 1 it is
    rho - 2 sqrt(rho) |m| + Q.

    Parameters
    ----------
    m : array_like (M, M*)
        Overlaps m_{ik} = W_i . W0_k / N of unit i with feature k (a scalar for one of each).
    Q : array_like (M, M)
        W^T W / N (only its trace is used).
    rho : float or array_like (M*,)
        The strengths of the features.

    Returns
    -------
    float
        eg.
    """
    from scipy.optimize import linear_sum_assignment

    m = np.atleast_2d(np.asarray(m, dtype=float))
    rho = np.asarray(rho, dtype=float).reshape(-1)
    gain = np.sqrt(rho)[None, :] * np.abs(m)
    rows, cols = linear_sum_assignment(gain, maximize=True)
    # in the order of rho - 2 sqrt(rho) |m| + Q, so that 1 x 1 rounds as it always has
    return float(rho.sum() - 2.0 * gain[rows, cols].sum() + np.trace(np.atleast_2d(Q)))


def _check_unit_weights(N, W0, W, W_enc, D, log_D):
    """Shapes (N, M*), (N, M), (M, N), (M,) and finite values; returns float64 copies."""
    arrays = {}
    for name, value in (("W0", W0), ("W", W), ("W_enc", W_enc)):
        try:
            arr = np.array(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} is invalid: it must be an array of real numbers") from None
        if arr.ndim == 1:
            arr = arr[:, None] if name != "W_enc" else arr[None, :]
        if arr.ndim != 2 or not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} is invalid: expected a finite 2-d array, got shape "
                             f"{np.shape(value)}")
        arrays[name] = arr
    W0, W, Wt = arrays["W0"], arrays["W"], arrays["W_enc"]
    M = W.shape[1]
    if W0.shape[0] != N or W.shape[0] != N:
        bad = "W0" if W0.shape[0] != N else "W"
        raise ValueError(f"{bad} is invalid: it must have N = {N} rows, got shape "
                         f"{arrays[bad].shape}")
    if Wt.shape != (M, N):
        raise ValueError(f"W_enc is invalid: expected shape (M, N) = ({M}, {N}) to match W, "
                         f"got {Wt.shape}")
    D = np.array(D, dtype=np.float64).reshape(-1)
    if D.shape != (M,):
        raise ValueError(f"D is invalid: expected M = {M} encoder variances, got shape "
                         f"{np.shape(D)}")
    if log_D is None:
        if not np.all(np.isfinite(D) & (D > 0)):
            raise ValueError(f"D = {D.tolist()!r} is invalid: every encoder variance must be "
                             "a finite number > 0")
        log_D = _logs(D)
    else:
        log_D = np.array(log_D, dtype=np.float64).reshape(-1)
        if log_D.shape != (M,) or not np.all(np.isfinite(log_D)):
            raise ValueError(f"log_D is invalid: expected M = {M} finite numbers, got "
                             f"{np.shape(log_D)}")
    return W0, W, Wt, D, log_D


def _canonical_units(W0, W, Wt, D, log_D):
    """Order the units by decreasing Q_ii (stable) and fix each unit's sign.

    Both are symmetries of the objective: permuting the units (with their D_i), and
    (w_i, w~_i) -> (-w_i, -w~_i). The sign makes the overlap of largest magnitude in each
    row of m non-negative (m >= 0 for M = M* = 1).
    """
    N = W.shape[0]
    order = np.argsort(-np.einsum("ni,ni->i", W, W) / N, kind="stable")
    W, Wt, D, log_D = W[:, order], Wt[order], D[order], log_D[order]
    m = W.T @ W0 / N
    top = m[np.arange(m.shape[0]), np.argmax(np.abs(m), axis=1)]
    sign = np.where(top < 0, -1.0, 1.0)
    return W * sign[None, :], Wt * sign[:, None], D, log_D


# The formulas below are written so that for 1 x 1 matrices they do the one-unit
# arithmetic operation for operation (math.log and the power of Python floats included):
# the numbers of a model with one unit stay the same to the last bit.

def _logs(x):
    """Elementwise math.log (numpy's vectorised log may differ in the last bit)."""
    return np.array([math.log(v) for v in np.ravel(x).tolist()]).reshape(np.shape(x))


def _unit_rate(D, log_D, Svv):
    return 0.5 * (D.sum() + np.trace(Svv) - D.size - log_D.sum())


def _unit_distortion(rho, eta, Q, D, Suv, Svv):
    return 0.5 * (rho.sum() + rho.size * eta - 2.0 * np.trace(Suv)
                  + np.sum(Q * (Svv + np.diag(D))))


def _unit_kl_posterior(Q, D, log_D, Suu, Suv, Svv):
    # every trace in the eigenbasis of A = I + Q (eigenvalues a_j, eigenvectors U):
    # tr(A D) + tr(A S_vv) - 2 tr S_uv + tr(A^{-1} S_uu)
    # = sum_j a_j [(U^T D U)_jj + (U^T S_vv U)_jj - 2 (U^T S_uv U)_jj / a_j
    #              + (U^T S_uu U)_jj / a_j^2],  log det A = sum_j log a_j
    a, U = np.linalg.eigh(np.eye(Q.shape[0]) + Q)

    def diag(S):
        return np.diagonal(U.T @ S @ U)

    gap = diag(Svv) - 2.0 * diag(Suv) / a + diag(Suu) / np.array([x**2 for x in a.tolist()])
    return 0.5 * (np.sum(a * diag(np.diag(D))) + np.sum(a * gap) - D.size
                  - _logs(a).sum() - log_D.sum())


def observables_from_unit_weights(X, W0, W, W_enc, D, *, beta, lam, rho, eta, log_D=None,
                                  q_floor=Q_FLOOR, cos_floor=COS_FLOOR, **info):
    """All order parameters and observables of a model with M units and M* features.

    Parameters
    ----------
    X : ndarray (P, N)
        Training samples.
    W0 : ndarray (N, M*)
        The features (W0^T W0 / N = I).
    W, W_enc : ndarray (N, M), (M, N)
        Decoder and encoder weights.
    D : array_like (M,)
        Encoder variances (> 0).
    beta, lam, eta : float
        Model parameters.
    rho : float or array_like (M*,)
        Feature strengths (a scalar: the same for every feature).
    log_D : array_like (M,), optional
        log D, when the caller has it (see :func:`observables_from_weights`).
    q_floor, cos_floor : float
        Floors of the phase rule (:func:`unit_phases`).
    **info
        method, converged, n_iter, grad_norm.

    Returns
    -------
    SimulationResult
        Order parameters as matrices, or as numbers for M = M* = 1 (the presentation of
        :class:`SimulationResult`; the arithmetic is the same).

    Notes
    -----
    The units are ordered by decreasing Q_ii (ties keep their order) and each unit's
    sign makes its largest overlap m_ik non-negative; both are symmetries of the
    objective, and the weights returned are transformed alike.

    With u = W^T x / sqrt(N) and v = W~ x / sqrt(N) (vectors of length M) and
    Pi = diag(rho_1..rho_M*), the second moments under the data distribution are, exactly
    at finite N (W0^T W0 / N = I and isotropic noise),

        S_uu = E[u u^T] = m Pi m^T + eta Q,   S_uv = E[u v^T] = m Pi d^T + eta R,
        S_vv = E[v v^T] = d Pi d^T + eta E.

    With A = I + Q (the precision of the true posterior of the decoder,
    p_W(z|x) = N(A^{-1} u, A^{-1})) and D = diag(D_1..D_M):

    - rate = E KL(N(v, D) || N(0, I)) = (tr D + tr S_vv - M - sum_i log D_i) / 2;
    - distortion = E_x E_q ||x - W z / sqrt(N)||^2 / 2 - (N - M*) eta / 2
      = (sum_k rho_k + M* eta - 2 tr S_uv + tr(Q S_vv) + sum_i Q_ii D_i) / 2
      (E||x||^2 = sum_k rho_k + N eta and
      E_q||x - W z/sqrt(N)||^2 = ||x||^2 - 2 u.v + v^T Q v + tr(Q D));
    - kl_posterior = E KL(N(v, D) || N(A^{-1} u, A^{-1}))
      = (sum_i A_ii D_i + tr(A S_vv) - 2 tr S_uv + tr(A^{-1} S_uu) - M - log det A
      - sum_i log D_i) / 2;
    - the training-set versions replace S_uu, S_uv, S_vv by the averages over the P
      training samples, U^T U / P, U^T V / P, V^T V / P (U = X W / sqrt(N),
      V = X W~^T / sqrt(N)); the distortion keeps the constant sum_k rho_k + M* eta, so
      that distortion_train + beta rate_train is the objective per sample up to a
      constant and the weight decay;
    - free_energy = (P/N) [-tr T_uv + tr(Q T_vv) / 2 + sum_i Q_ii D_i / 2
      + beta (tr D + tr T_vv - M - sum_i log D_i) / 2] + lam (tr Q + tr E) / 2 with the
      training moments T, and loss = free_energy + sum_mu ||x^mu||^2 / (2N).

    For M = M* = 1 these are rho - 2 sqrt(rho) |m| + Q for eg, and with a = 1 + Q the
    one-unit kl_posterior (a D + a (S_vv - 2 S_uv / a + S_uu / a^2) - 1 - log a - log D)
    / 2; :func:`observables_from_weights` is that view.
    """
    from symrep.simulate.data import check_data, strength_vector

    X = check_data(X)
    P, N = X.shape
    W0, W, Wt, D, log_D = _check_unit_weights(N, W0, W, W_enc, D, log_D)
    rho = strength_vector(rho, W0.shape[1])
    if rho.shape != (W0.shape[1],):
        raise ValueError(f"rho is invalid: it has {rho.size} strength(s) but W0 has "
                         f"M* = {W0.shape[1]} feature column(s)")
    W, Wt, D, log_D = _canonical_units(W0, W, Wt, D, log_D)
    M = W.shape[1]
    m, d = W.T @ W0 / N, Wt @ W0 / N
    Q, E, R = W.T @ W / N, Wt @ Wt.T / N, W.T @ Wt.T / N
    Pi = np.diag(rho)
    # data-distribution second moments of u = W^T x/sqrt(N), v = W~ x/sqrt(N)
    pop = (m @ Pi @ m.T + eta * Q, m @ Pi @ d.T + eta * R, d @ Pi @ d.T + eta * E)
    # training-set second moments
    U, V = X @ W / math.sqrt(N), X @ Wt.T / math.sqrt(N)
    train = (U.T @ U / P, U.T @ V / P, V.T @ V / P)
    x2 = float(np.einsum("ij,ij->", X, X))
    tuu, tuv, tvv = train
    free_energy = (P * (-np.trace(tuv) + 0.5 * np.sum(Q * (tvv + np.diag(D)))
                        + 0.5 * beta * (D.sum() + np.trace(tvv) - M - log_D.sum()))
                   + 0.5 * lam * N * (np.trace(Q) + np.trace(E))) / N
    return SimulationResult(
        m=m, d=d, Q=Q, E=E, R=R, D=D,
        eg=signal_recovery_error(m, Q, rho),
        rate=float(_unit_rate(D, log_D, pop[2])),
        distortion=float(_unit_distortion(rho, eta, Q, D, pop[1], pop[2])),
        kl_posterior=float(_unit_kl_posterior(Q, D, log_D, *pop)),
        rate_train=float(_unit_rate(D, log_D, tvv)),
        distortion_train=float(_unit_distortion(rho, eta, Q, D, tuv, tvv)),
        kl_posterior_train=float(_unit_kl_posterior(Q, D, log_D, *train)),
        loss=float(free_energy + 0.5 * x2 / N),
        free_energy=float(free_energy),
        phases=unit_phases(m, Q, q_floor, cos_floor),
        W=W, W_enc=Wt,
        params=dict(alpha=P / N, beta=beta, lam=lam, rho=tuple(float(r) for r in rho),
                    eta=eta, N=N, P=P, M=M, Mstar=W0.shape[1]),
        **info,
    )


def observables_from_weights(X, W0, W, W_enc, D, *, beta, lam, rho, eta, log_D=None,
                             **info):
    """All order parameters and observables of a model with one latent unit and one feature.

    The 1 x 1 case of :func:`observables_from_unit_weights`, with the arguments of one
    unit: vectors for the weights and numbers for D and rho.

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

    Returns
    -------
    SimulationResult
        Order parameters (m, d, Q, E, R, D, floats), eg, the objective and free energy,
        and the rates, distortions and posterior mismatches on the training set and under
        the data distribution; the sign of (W, W~) is fixed by m >= 0.

    Raises
    ------
    ValueError
        If D (or log D) is not a finite positive variance, or a weight vector does not
        hold N finite numbers.
    """
    D = float(np.asarray(D).reshape(()))
    if log_D is None:
        if not (math.isfinite(D) and D > 0):
            raise ValueError(f"D = {D!r} is invalid: the encoder variance must be a finite "
                             "number > 0")
    elif not math.isfinite(log_D):
        raise ValueError(f"log_D = {log_D!r} is invalid: must be finite")
    from symrep.simulate.data import check_data

    N = check_data(X).shape[1]
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
    return observables_from_unit_weights(
        X, vectors["W0"][:, None], vectors["W"][:, None], vectors["W_enc"][None, :], [D],
        beta=beta, lam=lam, rho=rho, eta=eta, log_D=None if log_D is None else [log_D],
        **info)
