"""Stability of every RS branch at given parameters: the public entry points.

For each stationary state of the one-unit RS equations (:func:`symrep.solvers.units.
stationary_points`: collapsed, overfitting, learning) this module reports

- the eigenvalues of the reduced RS Hessian (:mod:`symrep.stability.rs_hessian`): the
  Hessian of f_red, the RS free energy with the conjugates eliminated, on the tangent
  space of the rank constraint; for the collapsed state, its (m, d) block;
- the replicon eigenvalue (:mod:`symrep.stability.replicon`), 1 - alpha eta^2 max nu_i^2,
  normalized so that 1 is the value without any data term and 0 marginal;
- flags: ``stable`` (reduced Hessian positive semidefinite), ``flat`` (a zero
  eigenvalue), ``replicon_stable`` (replicon
  eigenvalue not below -``MARGINAL``), ``marginal`` (|replicon| <= ``MARGINAL``: the
  state sits on the bulk edge, as the overfitting state does), ``optimum`` (lowest free
  energy among the states found).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symrep.errors import SolverError
from symrep.solvers.units import FAMILIES, stationary_points
from symrep.stability.replicon import replicon_eigenvalues
from symrep.stability.rs_hessian import reduced_hessian
from symrep.validation import check_parameters

__all__ = ["BranchStability", "branch_stability", "branch_stability_arrays", "MARGINAL",
           "HESSIAN_TOLERANCE"]

#: |replicon| below this counts as marginal (the solver accepts states whose conjugate
#: map contracts at rate up to 1 + 1e-5, i.e. a replicon eigenvalue down to -2e-5; on
#: the bulk edge it is 0 to about 1e-14).
MARGINAL = 1e-4
#: A reduced-Hessian eigenvalue within this times (1 + the largest |eigenvalue|) of zero
#: is a flat direction (lam = 0: exact zero modes, about 1e-30); below it, negative.
HESSIAN_TOLERANCE = 1e-9


@dataclass(frozen=True)
class BranchStability:
    """Stability of one RS branch at one point.

    Attributes
    ----------
    family : str
        "collapsed", "overfitting" or "learning".
    z : ndarray (8,)
        The state (Q, R, E, m, d, chihat_Q, chihat_R, chihat_E).
    free_energy : float
        Its RS free energy.
    hessian_eigenvalues : ndarray
        Ascending eigenvalues of the reduced RS Hessian (4; 2 for the collapsed state:
        its (m, d) block).
    stable : bool
        The reduced Hessian is positive semidefinite (to ``HESSIAN_TOLERANCE``).
    flat : bool
        Its smallest eigenvalue is zero to ``HESSIAN_TOLERANCE`` (a flat direction).
    replicon : float
        The replicon eigenvalue (smallest of the normalized replicon matrix).
    replicon_stable : bool
        ``replicon >= -MARGINAL``.
    marginal : bool
        ``|replicon| <= MARGINAL``.
    optimum : bool
        The state of lowest free energy at this point.
    """

    family: str
    z: np.ndarray
    free_energy: float
    hessian_eigenvalues: np.ndarray
    stable: bool
    flat: bool
    replicon: float
    replicon_stable: bool
    marginal: bool
    optimum: bool


def branch_stability_arrays(alpha, beta, lam, rho=1.0, eta=1.0, *, model=None):
    """Stability of every branch along a curve of points (vectorised).

    Parameters
    ----------
    alpha, beta, lam, rho, eta : float or array_like
        The model parameters (broadcast together), in the ranges of
        :mod:`symrep.validation`.
    model : model, optional
        A model of :data:`symrep.models.MODELS` with one latent unit and one feature
        (default: the linear VAE). Its point is mapped to the theory model's by its
        ``theory_parameters``; free energies and Hessian eigenvalues are multiplied by
        its ``objective_scale`` (the replicon is a ratio and does not change).

    Returns
    -------
    dict
        family name -> dict of arrays over the points: ``exists`` (bool), ``z`` (8, n),
        ``free_energy``, ``hessian_min`` (smallest reduced-Hessian eigenvalue),
        ``hessian`` (n, 4), ``replicon``, ``stable``, ``flat``, ``replicon_stable``, ``marginal``,
        ``optimum``. Entries where the branch does not exist are NaN / False. Where a
        family has a second state at some points (seen only at alpha = eta^2/rho^2
        exactly, a degenerate learning state with m = 0 where the learning and
        overfitting states meet), it is under "learning_2" (etc.).

    Raises
    ------
    ValueError
        If a parameter is outside its allowed range, or ``model`` has more than one latent
        unit or feature.
    SolverError
        If no stationary state is found at some point (diagnostics: those points).
    """
    params = check_parameters(allow_array=True, alpha=alpha, beta=beta, lam=lam, rho=rho,
                              eta=eta)
    objective_scale = 1.0
    if model is not None:
        if model.M != 1 or model.Mstar != 1:
            raise ValueError(f"model has M = {model.M}, M* = {model.Mstar}: the stability "
                             "analysis is implemented for M = M* = 1")
        objective_scale = model.objective_scale(dict(params))
        params = model.theory_parameters(dict(params))
    arrays = [np.atleast_1d(a).astype(float) for a in
              np.broadcast_arrays(*(np.asarray(params[k], dtype=float)
                                    for k in ("alpha", "beta", "lam", "rho", "eta")))]
    shape = np.broadcast(*arrays).shape
    flat = [a.ravel() for a in arrays]
    n = flat[0].size
    states = stationary_points(*flat)
    found = np.zeros(n, bool)
    for s in states:
        found |= np.asarray(s["ok"], bool)
    if not found.all():
        bad = np.nonzero(~found)[0]
        raise SolverError(
            f"no RS stationary state found at {len(bad)} of {n} points, e.g. "
            + ", ".join(f"{k}={flat[j][bad[0]]:g}" for j, k in
                        enumerate(("alpha", "beta", "lam", "rho", "eta"))),
            {"points": [tuple(float(a[i]) for a in flat) for i in bad[:20]]})
    f_all = np.stack([np.where(s["ok"], s["free_energy"], np.inf) for s in states])
    best = np.argmin(f_all, axis=0) if len(states) else np.zeros(n, int)
    factor = np.broadcast_to(np.asarray(objective_scale, dtype=float), shape).ravel()
    out = {}
    for k, s in enumerate(states):
        name = FAMILIES[s["family"]]
        # a family can have two states at a point (at the BBP point exactly): the second
        # is "learning_2" and so on
        count = sum(1 for key in out if key.split("_")[0] == name)
        name = name if count == 0 else f"{name}_{count + 1}"
        ok = np.asarray(s["ok"], bool)
        entry = {"exists": ok, "z": np.full((8, n), np.nan), "free_energy": np.full(n, np.nan),
                 "hessian": np.full((n, 4), np.nan), "hessian_min": np.full(n, np.nan),
                 "replicon": np.full(n, np.nan), "stable": np.zeros(n, bool),
                 "flat": np.zeros(n, bool),
                 "replicon_stable": np.zeros(n, bool), "marginal": np.zeros(n, bool),
                 "optimum": ok & (best == k)}
        if ok.any():
            z = s["z"][:, ok]
            sub = [p[ok] for p in flat]
            eig, _ = reduced_hessian(z, sub, np.full(z.shape[1], s["family"] == 0))
            rep = replicon_eigenvalues(z, sub)[:, 0]
            low = np.nanmin(eig, axis=1)
            scale = 1 + np.nanmax(np.abs(eig), axis=1)
            entry["z"][:, ok] = z
            entry["free_energy"][ok] = s["free_energy"][ok] * factor[ok]
            entry["hessian"][ok] = eig * factor[ok, None]
            entry["hessian_min"][ok] = low * factor[ok]
            entry["replicon"][ok] = rep
            # a zero eigenvalue is a flat direction (without weight decay the encoder's
            # components outside the data span are free), not an instability
            entry["stable"][ok] = low >= -HESSIAN_TOLERANCE * scale
            entry["flat"][ok] = np.abs(low) <= HESSIAN_TOLERANCE * scale
            entry["replicon_stable"][ok] = rep >= -MARGINAL
            entry["marginal"][ok] = np.abs(rep) <= MARGINAL
        out[name] = {key: (v.reshape(shape) if key not in ("z", "hessian") else
                           v.reshape((8, *shape)) if key == "z" else v.reshape((*shape, 4)))
                     for key, v in entry.items()}
    return out


def branch_stability(alpha, beta, lam, rho=1.0, eta=1.0, *, model=None):
    """Stability of every RS branch at one point.

    Parameters
    ----------
    alpha : float
        Sample complexity P / N.
    beta : float
        Weight of the KL term.
    lam : float
        Weight decay.
    rho : float, optional
        Signal strength (default 1).
    eta : float, optional
        Noise strength (default 1).
    model : model, optional
        As in :func:`branch_stability_arrays` (default: the linear VAE).

    Returns
    -------
    list of BranchStability
        One entry per stationary state found (collapsed, overfitting, learning), in
        increasing free energy.

    Raises
    ------
    ValueError
        If a parameter is outside its allowed range or not a scalar.
    SolverError
        If no stationary state is found.
    """
    values = dict(alpha=alpha, beta=beta, lam=lam, rho=rho, eta=eta)
    for name, v in values.items():
        if np.ndim(v) != 0:
            raise ValueError(f"{name} = {v!r} is invalid: must be a scalar (use "
                             "branch_stability_arrays for curves)")
    res = branch_stability_arrays(**values, model=model)
    out = []
    for name, e in res.items():
        if not bool(e["exists"][0]):
            continue
        h = e["hessian"][0]
        out.append(BranchStability(
            family=name.split("_")[0], z=e["z"][:, 0].copy(),
            free_energy=float(e["free_energy"][0]), hessian_eigenvalues=h[np.isfinite(h)],
            stable=bool(e["stable"][0]), flat=bool(e["flat"][0]), replicon=float(e["replicon"][0]),
            replicon_stable=bool(e["replicon_stable"][0]), marginal=bool(e["marginal"][0]),
            optimum=bool(e["optimum"][0])))
    return sorted(out, key=lambda b: b.free_energy)
