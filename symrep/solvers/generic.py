"""Solve the saddle point of any model from its generated residual and Jacobian.

The linear VAE has its own solver (:mod:`symrep.solvers.units`), which knows the
structure of its states. A model defined by its objective (:class:`symrep.models.base.
ReplicaModel`) is solved here, knowing only its generated system
(:func:`symrep.solvers.generic_system.model_system`):

1. starts: the model's :meth:`~symrep.models.base.ReplicaModel.theory_starts` (by
   default every stationary state of the linear VAE at the same point: a start, not the
   answer) and, from each, its projections on the overfitting branch (m = d = 0) and on
   the collapsed point (Q = R = E = m = d = 0, the precision kept);
2. damped Newton's method on the full system from every start at once (least-squares
   steps: the Jacobian is singular where a branch meets the edge of the noise bulk;
   the step is halved until the residual decreases);
3. the roots whose residual is below :data:`RESIDUAL_TOLERANCE` relative to the scale of
   the equations, admissible (G - t t^T and the precision matrix positive semidefinite),
   made unique (the sign of each unit's feature overlaps fixed for M = 1), classified
   (learning m != 0, overfitting m = 0 and Q != 0, collapsed Q = 0: ``"regularized"`` as
   in :data:`symrep.solvers.saddle_point.PHASES`);
4. the root of lowest free energy is the training optimum; :class:`SolverError` with the
   residual reached from every start where no root is found.

Validated against :func:`symrep.solve` (the linear VAE through this route, from
perturbed starts, to 1e-10) and against a closed form of the decoder-only weight decay
model (``tests/test_user_model.py``).
"""

from __future__ import annotations

import logging
import math
import re

import numpy as np

from symrep.errors import SolverError
from symrep.solvers.result import one_by_one
from symrep.validation import check_parameters

__all__ = ["GenericSolver", "linear_vae_starts", "newton",
           "RESIDUAL_TOLERANCE", "PHASES"]

logger = logging.getLogger(__name__)

#: Largest residual of a root, relative to the scale of the terms of the equations.
RESIDUAL_TOLERANCE = 1e-9

#: Phase names, as the linear VAE's solver (index = phase code).
PHASES = ("regularized", "overfitting", "learning")

_ZERO = 1e-7  # an overlap below this (relative to 1 + its matrix) is zero

# sizes of the nudges towards learning (Q = delta, m = sqrt(delta/2)) from the collapsed
# projections
_NUDGES = np.array([0.01, 0.3])

# Newton's method from a start in a root's basin converges in a few steps; a start whose
# merit is still above _FAR after _PATIENCE steps is crawling along a valley: dropped
_PATIENCE, _FAR = 15, 1e-4

_ROUNDING = 1e-15  # a merit (2-norm residual in the units of the equations) at rounding

_HINT = ("no start converged: declare starting points near the model's states by "
         "overriding theory_starts(params) on the model (docs/adding_a_model.md)")


def _column(params, n):
    return {k: np.broadcast_to(np.asarray(v, dtype=float), (n,)) for k, v in params.items()}


def linear_vae_starts(M, Mstar, params) -> list:
    """Every stationary state of the linear VAE at the points ``params``, as starts.

    Parameters
    ----------
    M, Mstar : int
        Latent units and features.
    params : dict
        ``alpha``, ``beta``, ``lam``, ``rho`` (or ``rho_1``...), ``eta``: numbers or
        1-d arrays of one length n.

    Returns
    -------
    list of numpy.ndarray
        Arrays (n_unknowns, n) of the unknowns of the linear VAE's states, NaN where a
        state does not exist (one unit and one feature: every state; otherwise the
        optimum only).
    """
    from symrep.models import default_model

    n = max(np.size(v) for v in params.values())
    p = _column(params, n)
    model = default_model(M, Mstar)
    strengths = _strength_names(model)
    if one_by_one(model):  # one unit: every state it has (all three families)
        from symrep.solvers.units import stationary_points

        with np.errstate(all="ignore"):
            points = stationary_points(p["alpha"], p["beta"], p["lam"], p["rho"], p["eta"])
        return [np.where(np.isfinite(pt["z"]), pt["z"], np.nan) for pt in points]
    from symrep.solvers.saddle_point import solve_point

    system = model.numeric()
    out = np.full((len(system.unknowns), n), np.nan)
    for i in range(n):
        rho = tuple(float(p[k][i]) for k in strengths)
        try:
            r = solve_point(float(p["alpha"][i]), float(p["beta"][i]), float(p["lam"][i]),
                            rho, float(p["eta"][i]), M=M, scalar_notation=False)
        except SolverError:
            continue
        Y = np.block([[r.chihat_Q, r.chihat_R], [r.chihat_R.T, r.chihat_E]])
        out[:, i] = system.pack({"Q": r.Q, "R": r.R, "E": r.E, "m": r.m, "d": r.d, "Y": Y})
    return [out]


def _nudge(layout_names, M, Mstar):
    """A small state of every unit learning a feature: Q_ii = R_ii = E_ii = 1, m_ik = d_ik
    = 1/sqrt(2) for k = i mod M* (G - t t^T positive semidefinite)."""
    out = np.zeros(len(layout_names))
    for j, name in enumerate(layout_names):
        head, _, idx = name.rpartition("_") if "_" in name and name[-1].isdigit() else (
            name, "", "")
        if head.startswith("chihat"):
            continue
        i, k = (int(idx[0]) - 1, int(idx[1]) - 1) if idx else (0, 0)
        if head in ("Q", "R", "E") and i == k:
            out[j] = 1.0
        elif head in ("m", "d") and k == i % Mstar:
            out[j] = math.sqrt(0.5)
    return out


def _projections(z, layout_names, M, Mstar):
    """Each start, its overfitting projection (m = d = 0), its collapsed projection and
    that projection nudged towards learning (a learning state of the model where the
    start's model is collapsed is not reached from m = 0, which Newton's map keeps)."""
    overlap = np.array([n.split("_")[0] in ("Q", "R", "E", "m", "d")
                        and not n.startswith("chihat") for n in layout_names])
    features = np.array([n.split("_")[0] in ("m", "d") for n in layout_names])
    over = z.copy()
    over[features] = 0.0
    coll = z.copy()
    coll[overlap] = 0.0
    nudge = _nudge(layout_names, M, Mstar)[:, None]
    # overlaps Q, R, E of size delta, feature overlaps sqrt(delta/2)
    small = [np.where(nudge == 1.0, delta, nudge * math.sqrt(delta)) for delta in _NUDGES]
    return [z, over, coll, *(coll + d for d in small)]


# --- Newton --------------------------------------------------------------------------

def _scale(z, p, rho_sum):
    size = 1.0 + np.nanmax(np.abs(z), axis=0)
    return size * (1.0 + p["alpha"] + p["lam"] + 1.0 / p["beta"]) * (1.0 + rho_sum + p["eta"])


def _norm(F):
    return np.max(np.abs(F), axis=0)


def _deflation(z, roots, power=2.0, shift=1.0):
    """mu(z) = prod_r (1/|z - r|^p + shift) and d log mu / dz, for roots (R, n, K)."""
    mu = np.ones(z.shape[1])
    grad = np.zeros_like(z)
    for r in roots:
        diff = z - r
        d2 = np.sum(diff**2, axis=0)
        present = np.all(np.isfinite(r), axis=0)
        d2 = np.where(present, np.maximum(d2, 1e-300), 1.0)
        term = d2 ** (-power / 2)
        factor = np.where(present, term + shift, 1.0)
        mu = mu * factor
        # d/dz log(d^-p + s) = -p d^(-p-2) (z - r) / (d^-p + s)
        g = -power * d2 ** (-power / 2 - 1) * diff / factor
        grad = grad + np.where(present, g, 0.0)
    return mu, grad


def newton(system, z0, params, *, max_iter=40, halvings=12, deflate=None, free=None):
    """Damped Newton's method on a generated system, at many points at once.

    Parameters
    ----------
    system : GeneratedSystem
        The model's generated system (with the Jacobian).
    z0 : ndarray (n_unknowns, K)
        Starts, one per column.
    params : dict
        The parameters by the system's names, each a number or an array (K,).
    max_iter : int, default 40
        Iteration limit.
    halvings : int, default 12
        Largest number of halvings of a step that does not decrease the residual.
    deflate : ndarray (R, n_unknowns, K), optional
        Roots to stay away from (NaN where absent): Newton's method runs on the deflated
        residual F(z) prod_r (1/|z - r|^2 + 1) (Farrell, Birkisson and Funke 2015),
        whose roots are those of F other than the given ones; the residual reported
        and tested is still that of F.
    free : sequence of int, optional
        Solve only for these unknowns, from the equations of the same index (df/dz for
        each free z), the others held at their start (default: all).

    Returns
    -------
    z : ndarray (n_unknowns, K)
        The last iterates.
    residual : ndarray (K,)
        Largest residual, relative to the scale of the equations (inf where not finite).

    Raises
    ------
    ValueError
        If the system has no generated Jacobian.
    """
    if not system.has_jacobian:
        raise ValueError("the system has no generated Jacobian: the generic solver needs it "
                         "(models with at most 48 unknowns)")
    z = np.array(z0, dtype=float)
    K = z.shape[1]
    p = _column(params, K)
    rho_sum = np.broadcast_to(sum(v for k, v in p.items() if k.startswith("rho")), (K,))
    n = z.shape[0]
    rows = np.arange(n) if free is None else np.asarray(free, dtype=int)
    roots = None if deflate is None else np.asarray(deflate, dtype=float)

    def merit(zz, cols, ss, rs):
        # the 2-norm, whose square the Newton direction decreases, in fixed units
        r = np.sqrt(np.sum(system.residual(zz, ss)[rows] ** 2, axis=0)) / units[cols]
        if roots is not None:
            r = r * _deflation(zz, roots[:, :, cols])[0]
        return np.where(np.isfinite(r), r, np.inf)

    with np.errstate(all="ignore"):
        allc = np.arange(K)
        units = _scale(z, p, rho_sum)
        units = np.where(np.isfinite(units), units, 1.0)
        res = merit(z, allc, p, rho_sum)
        active = np.isfinite(res)
        for it in range(max_iter):
            if it == _PATIENCE:  # far from any root after as many steps: abandoned
                active &= res < _FAR
            idx = np.nonzero(active)[0]
            if not len(idx):
                break
            sub = {k: v[idx] for k, v in p.items()}
            Fi, J = system.residual_jacobian(z[:, idx], sub)
            Fi = Fi[rows]
            Jt = np.moveaxis(J[np.ix_(rows, rows)], -1, 0)  # (k, r, r)
            good = np.all(np.isfinite(Jt), axis=(1, 2)) & np.all(np.isfinite(Fi), axis=0)
            step = np.zeros((n, len(idx)))
            if good.any():
                # least squares through the pseudo-inverse: singular where a branch meets
                # the edge of the noise bulk
                pinv = np.linalg.pinv(Jt[good], rcond=1e-13)
                step[np.ix_(rows, good)] = np.einsum("kij,jk->ik", pinv, Fi[:, good])
            if roots is not None:
                # the deflated Newton step is the plain one, -step, times
                # 1/(1 + grad log mu . step) (Sherman-Morrison on J mu + F grad mu^T)
                _, glog = _deflation(z[:, idx], roots[:, :, idx])
                tau = 1.0 / (1.0 + np.sum(glog * step, axis=0))
                step = step * np.where(np.isfinite(tau), tau, 1.0)
            # every step length 1, 1/2, ..., 2^-halvings at once (one call of the
            # generated code): the longest one that decreases the merit
            j = np.nonzero(good)[0]
            accepted = np.zeros(len(idx), bool)
            old = res[idx]
            new_res = old.copy()
            if len(j):
                t = 0.5 ** np.arange(halvings + 1)
                H = len(t)
                trial = (z[:, idx[j]][:, :, None] - step[:, j][:, :, None] * t).reshape(n, -1)
                cols = np.repeat(idx[j], H)
                sj = {k: np.repeat(v[j], H) for k, v in sub.items()}
                r = merit(trial, cols, sj, rho_sum[cols]).reshape(len(j), H)
                ok = np.isfinite(r) & (r < old[j][:, None])
                first = np.argmax(ok, axis=1)
                hit = ok[np.arange(len(j)), first]
                trial = trial.reshape(n, len(j), H)
                z[:, idx[j[hit]]] = trial[:, hit, first[hit]]
                new_res[j[hit]] = r[hit, first[hit]]
                accepted[j[hit]] = True
            res[idx] = new_res
            # stop where no step decreases the residual (converged to rounding, or stuck)
            # and where the residual is at rounding already
            active[idx[~accepted]] = False
            active[idx[new_res < _ROUNDING]] = False
        # the largest residual of F itself, relative to the scale of the equations
        res = _norm(system.residual(z, p)) / _scale(z, p, rho_sum)
        res = np.where(np.isfinite(res), res, np.inf)
    return z, res


# --- classification --------------------------------------------------------------------

def _admissible(mats, tol=1e-8):
    G = np.concatenate([np.concatenate([mats["Q"], mats["R"]], axis=1),
                        np.concatenate([np.swapaxes(mats["R"], 0, 1), mats["E"]], axis=1)],
                       axis=0)
    t = np.concatenate([mats["m"], mats["d"]], axis=0)
    C = G - np.einsum("ik...,jk...->ij...", t, t)
    out = []
    for A in (C, mats["Y"]):
        A = np.moveaxis(A, (0, 1), (-2, -1))
        A = (A + np.swapaxes(A, -1, -2)) / 2
        finite = np.all(np.isfinite(A), axis=(-2, -1))
        low = np.full(A.shape[:-2], -np.inf)
        if finite.any():
            low[finite] = np.linalg.eigvalsh(A[finite])[..., 0]
        size = 1.0 + np.max(np.abs(np.where(np.isfinite(A), A, 0)), axis=(-2, -1))
        out.append(low >= -tol * size)
    return out[0] & out[1]


def _unit_phases(mats, Mstar):
    """Phase code per unit (2 learning, 1 overfitting, 0 collapsed) and feature learnt."""
    m, Q = mats["m"], mats["Q"]
    M = Q.shape[0]
    size = 1.0 + np.max(np.abs(Q), axis=(0, 1))
    codes, feats = [], []
    for i in range(M):
        learn = np.max(np.abs(m[i]), axis=0) > _ZERO * size
        over = Q[i, i] > _ZERO * size
        codes.append(np.where(learn, 2, np.where(over, 1, 0)))
        feats.append(np.argmax(np.abs(m[i]), axis=0))
    return np.stack(codes), np.stack(feats)


def _mirror(names):
    """The sign of each unknown under W -> -W, W~ -> -W~ (one unit): m and d flip."""
    return np.array([-1.0 if n in ("m", "d") else 1.0 for n in names])


def _strength_names(model):
    """The names of the model's feature strengths: ``["rho"]`` in the paper's notation,
    else ``rho_1``, ..., ``rho_M*``."""
    return [n for n in model.parameter_names if n.startswith("rho")]


def _fix_sign(z, names):
    """In the paper's one-unit notation (unknowns ``m``, ``d``): the W -> -W image of a
    state has (m, d) -> -(m, d); keep m >= 0 (other layouts are returned as they are)."""
    if "m" not in names:
        return z
    im, idd = names.index("m"), names.index("d")
    flip = z[im] < 0
    z = z.copy()
    z[im] = np.where(flip, -z[im], z[im])
    z[idd] = np.where(flip, -z[idd], z[idd])
    return z


class GenericSolver:
    """Saddle points and phase diagrams of a model from its generated system.

    Parameters
    ----------
    model : ReplicaModel
        The model: its ``numeric()`` system, ``theory_starts(params)``,
        ``theory_extras(params)`` and ``objective_scale(params)`` are used.
    max_iter : int, default 40
        Newton iterations per start.
    """

    def __init__(self, model, max_iter: int = 40):
        self.model = model
        self.max_iter = max_iter
        self._system = None

    @property
    def system(self):
        """The model's generated system (generated on first use)."""
        if self._system is None:
            self._system = self.model.numeric()
        return self._system

    # --- parameters --------------------------------------------------------------

    def _parameters(self, alpha, beta, lam, rho, eta, allow_array):
        model = self.model
        if allow_array:
            p = check_parameters(allow_array=True, alpha=alpha, beta=beta, lam=lam, eta=eta)
            rho_arr = np.asarray(rho, dtype=float)
            if _strength_names(model) == ["rho"]:  # one strength: an array of points
                rho_values = {"rho": check_parameters(allow_array=True, rho=rho_arr)["rho"]}
            else:
                if rho_arr.shape[:1] != (model.Mstar,):
                    raise ValueError(f"rho is invalid: its first axis must have one strength "
                                     f"per feature, Mstar = {model.Mstar}")
                rho_values = {f"rho_{k + 1}": check_parameters(
                    allow_array=True, rho=rho_arr[k])["rho"] for k in range(model.Mstar)}
        else:
            p = check_parameters(alpha=alpha, beta=beta, lam=lam, eta=eta)
            rhos = tuple(np.atleast_1d(rho))
            if len(rhos) != model.Mstar:
                raise ValueError(f"rho = {rho!r} is invalid: the model has Mstar = "
                                 f"{model.Mstar} features, so rho needs {model.Mstar} "
                                 "strengths")
            names = _strength_names(model)
            rho_values = {k: check_parameters(rho=float(v))["rho"]
                          for k, v in zip(names, rhos, strict=True)}
        ordered = {"alpha": p["alpha"], "beta": p["beta"], "lam": p["lam"], **rho_values,
                   "eta": p["eta"]}
        try:
            arrays = np.broadcast_arrays(*(np.asarray(v, dtype=float)
                                           for v in ordered.values()))
        except ValueError:
            raise ValueError("the parameter arrays cannot be broadcast together") from None
        return dict(zip(ordered, arrays, strict=True))

    # --- the search --------------------------------------------------------------

    def _roots(self, flat):
        """Newton's method from every start: the iterates z, their residuals, the point
        each belongs to and the parameters per column."""
        system, model = self.system, self.model
        n = flat["alpha"].shape[0]
        starts = model.theory_starts(flat)
        cols, which = [], []
        for s in starts:
            s = np.asarray(s, dtype=float).reshape(len(system.unknowns), n)
            for proj in _projections(s, system.unknowns, model.M, model.Mstar):
                ok = np.all(np.isfinite(proj), axis=0)
                cols.append(proj[:, ok])
                which.append(np.nonzero(ok)[0])
        if cols:
            z0 = np.concatenate(cols, axis=1)
            point = np.concatenate(which)
        else:
            z0 = np.zeros((len(system.unknowns), 0))
            point = np.zeros(0, int)
        # identical starts (projections of the same state) are solved once
        if z0.shape[1]:
            key = np.concatenate([point[None].astype(float), np.round(z0, 12)])
            _, first = np.unique(key.T, axis=0, return_index=True)
            z0, point = z0[:, first], point[first]
        sub = {k: v[point] for k, v in flat.items()}
        # learning starts, polished first with their feature overlaps held (the other
        # unknowns from their own equations): next to a spectral transition m ~ sqrt of
        # the distance, and Newton's method on all unknowns from the linear VAE's m falls
        # onto the nearby m = 0 root; from the polished start it does not
        m_rows = np.array([u.split("_")[0] == "m" for u in system.unknowns])
        learning = np.any(np.abs(z0[m_rows]) > _ZERO, axis=0)
        if learning.any():
            held = np.nonzero(~m_rows)[0]
            zl, _ = newton(system, z0[:, learning], {k: v[learning] for k, v in sub.items()},
                           max_iter=self.max_iter, free=held)
            ok = np.all(np.isfinite(zl), axis=0)
            z0 = np.concatenate([z0, zl[:, ok]], axis=1)
            point = np.concatenate([point, point[learning][ok]])
            sub = {k: v[point] for k, v in flat.items()}
        z, res = newton(system, z0, sub, max_iter=self.max_iter)
        # second pass, deflated: from the same starts, away from the roots found at
        # their point, to the roots a start near two of them misses (next to a
        # transition Newton's method from a learning start may fall onto the nearby
        # overfitting root, m = 0 being invariant)
        roots = self._found(z, res, point, n)
        if roots.shape[0] and z0.shape[1]:
            z2, res2 = newton(system, z0, sub, max_iter=self.max_iter,
                              deflate=roots[:, :, point])
            z, res = np.concatenate([z, z2], axis=1), np.concatenate([res, res2])
            point = np.concatenate([point, point])
            sub = {k: v[point] for k, v in flat.items()}
        return z, res, point, sub

    def _found(self, z, res, point, n):
        """Distinct roots at each point (and their W -> -W images), (R, n_unknowns, n)."""
        names = self.system.unknowns
        zf = _fix_sign(z, names)
        scalar = "m" in names  # the paper's one-unit notation: W -> -W images too
        per_point = [[] for _ in range(n)]
        for k in np.nonzero(res <= RESIDUAL_TOLERANCE)[0]:
            found = per_point[point[k]]
            if not any(np.allclose(zf[:, k], r, rtol=1e-7, atol=1e-9) for r in found):
                found.append(zf[:, k])
        R = max((len(v) for v in per_point), default=0)
        images = 2 if scalar else 1
        out = np.full((R * images, len(names), n), np.nan)
        for i, found in enumerate(per_point):
            for j, r in enumerate(found):
                out[j, :, i] = r
                if scalar:
                    out[R + j, :, i] = _fix_sign(r[:, None], names)[:, 0] * _mirror(names)
        return out

    def solve_arrays(self, alpha, beta, lam, rho=1.0, eta=1.0, *, errors="raise"):
        """The optimum at every point of broadcast parameter arrays.

        Parameters
        ----------
        alpha, beta, lam, eta : array_like
            Parameters, broadcast together.
        rho : array_like
            Strength (one feature), or an array whose first axis has one entry per
            feature.
        errors : {"raise", "mask"}
            Where no root is found: raise :class:`SolverError` (default), or return
            ``converged = False`` and NaN values there.

        Returns
        -------
        dict
            Arrays of the parameters' shape: every unknown and observable of the
            generated system, the extras, ``free_energy``, ``phase`` (codes into
            :data:`PHASES`), ``phase_unit_<i>``, ``converged``, ``residual``,
            ``n_roots`` and ``undetermined_<unknown>`` (True where the objective does not
            fix that unknown: the Jacobian is singular along it).

        Raises
        ------
        ValueError
            If a parameter is out of range or ``errors`` is invalid.
        SolverError
            If no start converges to an admissible root at some point (``errors="raise"``).
        """
        if errors not in ("raise", "mask"):
            raise ValueError(f"errors = {errors!r} is invalid: must be 'raise' or 'mask'")
        params = self._parameters(alpha, beta, lam, rho, eta, allow_array=True)
        shape = next(iter(params.values())).shape
        flat = {k: np.ravel(v).astype(float) for k, v in params.items()}
        n = flat["alpha"].shape[0]
        system, model = self.system, self.model
        z, res, point, sub = self._roots(flat)
        names = system.unknowns
        z = _fix_sign(z, names)
        with np.errstate(all="ignore"):
            f = system.free_energy(z, sub) if z.shape[1] else np.zeros(0)
            mats = system.matrices(z)
        ok = (res <= RESIDUAL_TOLERANCE) & np.isfinite(f) & _admissible(mats)
        codes, feats = _unit_phases(mats, model.Mstar)
        best = np.full(n, -1)
        best_f = np.full(n, np.inf)
        n_roots = np.zeros(n, int)
        roots = [[] for _ in range(n)]
        for k in np.nonzero(ok)[0]:
            i = point[k]
            same = [r for r in roots[i] if np.allclose(z[:, k], z[:, r], rtol=1e-7,
                                                       atol=1e-9)]
            if same:
                continue
            roots[i].append(k)
            n_roots[i] += 1
            if f[k] < best_f[i]:
                best_f[i], best[i] = f[k], k
        converged = best >= 0
        if not converged.all() and errors == "raise":
            i = int(np.nonzero(~converged)[0][0])
            here = {k: float(v[i]) for k, v in flat.items()}
            tried = np.nonzero(point == i)[0]
            diag = {"parameters": here, "model": model.name,
                    "starts": [{"residual": float(res[k]),
                                "admissible": bool(_admissible(
                                    {a: b[..., k] for a, b in mats.items()})),
                                "free_energy": float(f[k])} for k in tried],
                    "tolerance": RESIDUAL_TOLERANCE}
            raise SolverError(f"model {model.name!r}: no admissible root of the saddle-point "
                              f"equations at {here} from {len(tried)} start(s) (smallest "
                              f"relative residual {np.min(res[tried], initial=np.inf):.3g}, "
                              f"tolerance {RESIDUAL_TOLERANCE:g}); {_HINT}", diag)
        pick = np.where(converged, best, 0)
        zb = z[:, pick] if z.shape[1] else np.zeros((len(names), n))
        with np.errstate(all="ignore"):
            out = system.observables(zb, flat)
        scale = np.broadcast_to(np.asarray(model.objective_scale(flat), dtype=float), (n,))
        out["free_energy"] = (f[pick] if z.shape[1] else np.zeros(n)) * scale
        for k, v in model.theory_extras(flat).items():
            out[k] = np.broadcast_to(np.asarray(v, dtype=float), (n,))
        unit_codes = codes[:, pick] if z.shape[1] else np.zeros((model.M, n), int)
        out["phase"] = np.max(unit_codes, axis=0)
        for i in range(model.M):
            out[f"phase_unit_{i + 1}"] = unit_codes[i]
            if _strength_names(model) != ["rho"]:  # which feature: with several
                out[f"feature_unit_{i + 1}"] = feats[i, pick] + 1
        undetermined = self._undetermined(zb, flat) & converged
        for j, name in enumerate(names):
            out[f"undetermined_{name}"] = undetermined[j]
        out["residual"] = np.where(converged, res[pick] if z.shape[1] else np.inf, np.inf)
        out["converged"] = converged
        out["n_roots"] = n_roots
        if errors == "mask":
            for k, v in out.items():
                if v.dtype.kind == "f" and k != "residual":
                    out[k] = np.where(converged, v, np.nan)
        self._last_roots = (roots, z, f, res, codes)
        return {k: np.asarray(v).reshape(shape) for k, v in out.items()}

    def _undetermined(self, z, params, rtol=1e-8):
        """Unknowns along the null space of the Jacobian at the roots (n_unknowns, n).

        A flat direction of the free energy: the objective does not fix these order
        parameters (e.g. the encoder's norm outside the span of the data, without weight
        decay on the encoder, for alpha < 1).
        """
        with np.errstate(all="ignore"):
            _, J = self.system.residual_jacobian(z, params)
        J = np.moveaxis(J, -1, 0)
        out = np.zeros((z.shape[0], z.shape[1]), bool)
        finite = np.all(np.isfinite(J), axis=(1, 2))
        if not finite.any():
            return out
        _, sv, vt = np.linalg.svd(J[finite])
        null = sv < rtol * sv[:, :1]  # (k, n)
        weight = np.einsum("kr,kri->ik", null.astype(float), vt ** 2)
        out[:, finite] = weight > 1e-6
        return out

    def solve(self, alpha, beta, lam, rho=1.0, eta=1.0):
        """The model's saddle point of lowest free energy at one parameter point.

        Parameters
        ----------
        alpha : float
            Sample complexity P/N (> 0).
        beta : float
            Weight of the KL term (> 0).
        lam : float
            Weight decay (>= 0).
        rho : float or sequence of float, default 1.0
            Signal strength(s), one per feature.
        eta : float, default 1.0
            Noise strength (> 0).

        Returns
        -------
        SolveResult
            The one result type of the solvers (:class:`symrep.solvers.result.SolveResult`):
            the model's observables that its generated system does not give are None;
            ``r.roots`` (every distinct admissible root found: ``phase``,
            ``free_energy``, ``residual``), ``r.undetermined`` (unknowns the objective
            does not fix here: a flat direction of the free energy, their values one
            point of a family with the same free energy) and the other generated
            observables (``signal_overlap``) are among its extras.

        Raises
        ------
        ValueError
            If a parameter is out of range or rho does not have M* strengths.
        SolverError
            If no start converges to an admissible root (the message says what the model
            can declare).
        """
        self._parameters(alpha, beta, lam, rho, eta, allow_array=False)
        rho_arr = np.asarray(rho, dtype=float).reshape(-1)
        scalar = _strength_names(self.model) == ["rho"]  # the paper's notation
        rho_in = rho_arr[0] if scalar else rho_arr
        out = self.solve_arrays(alpha, beta, lam, rho_in, eta)
        roots, z, f, res, codes = self._last_roots
        model = self.model
        params = {"alpha": float(alpha), "beta": float(beta), "lam": float(lam),
                  "rho": float(rho_arr[0]) if scalar else tuple(map(float, rho_arr)),
                  "eta": float(eta)}
        undetermined = tuple(n for n in self.system.unknowns if out[f"undetermined_{n}"])
        if undetermined:
            logger.warning("model %s at %s: %s not determined by the objective (a flat "
                           "direction of the free energy)", model.name, params,
                           ", ".join(undetermined))
        # the paper's notation: one unit, one feature, the strength given as a number
        notation = one_by_one(model) and np.ndim(rho) == 0
        if not notation:
            params["rho"] = tuple(map(float, rho_arr))
        return self._result(out, params, notation, roots, f, res, codes, undetermined)

    def _result(self, out, params, scalar, roots, f, res, codes, undetermined):
        """The :class:`~symrep.solvers.result.SolveResult` of one point of
        :meth:`solve_arrays`: the unknowns as matrices (numbers in the paper's notation),
        the observables the model's system gives (None for those it does not), the other
        generated observables, the model's extras, every root and the undetermined
        unknowns among the extras."""
        from symrep.solvers.result import SCALAR_FIELDS, SolveResult, unit_state_name

        system, model = self.system, self.model
        z = np.array([[float(out[name])] for name in system.unknowns])
        mats = {k: v[..., 0] for k, v in system.matrices(z).items()}
        Mu = mats["Q"].shape[0]
        Y = mats.pop("Y")
        mats.update(chihat_Q=Y[:Mu, :Mu], chihat_R=Y[:Mu, Mu:], chihat_E=Y[Mu:, Mu:])
        d_names = sorted((k for k in out if k == "D" or re.fullmatch(r"D_\d+", k)),
                         key=lambda k: int(k[2:] or 0))
        mats["D"] = np.array([float(out[k]) for k in d_names])
        if scalar:
            mats = {k: float(np.ravel(v)[0]) for k, v in mats.items()}
        taken = {*system.unknowns, *d_names, *SCALAR_FIELDS, "phase", "converged",
                 "residual", "n_roots"}
        extras = {k: float(v) for k, v in out.items() if k not in taken
                  and not k.startswith(("phase_unit", "feature_unit", "undetermined_"))}
        extras["roots"] = tuple(
            {"phase": PHASES[int(np.max(codes[:, k]))], "free_energy": float(f[k]),
             "residual": float(res[k])} for k in roots[0])
        extras["undetermined"] = undetermined
        units = []
        for i in range(model.M):
            c = int(out[f"phase_unit_{i + 1}"])
            feature = int(out.get(f"feature_unit_{i + 1}", 1))
            units.append(unit_state_name(c if c < 2 else 1 + feature))
        branches = {}
        if scalar:  # the paper's one-unit table: the lowest root of each family
            for root in extras["roots"]:
                name = {"regularized": "collapsed"}.get(root["phase"], root["phase"])
                branches[name] = min(branches.get(name, np.inf), root["free_energy"])
        observed = {k: (float(out[k]) if k in out else None) for k in SCALAR_FIELDS}
        return SolveResult(**params, **mats, **observed, phases=tuple(units),
                           converged=True, residual=float(out["residual"]),
                           branches=branches, extras=extras, model=model.name)

    def phase_diagram(self, alpha, beta, lam=1.0, rho=1.0, eta=1.0, *, boundaries=True,
                      boundary_tol=1e-8):
        """Phases of the model's optimum on an (alpha, beta) grid, and their boundaries.

        Parameters
        ----------
        alpha, beta : 1-d array_like
            Grid coordinates (at least 2 values each).
        lam, rho, eta : float
            Fixed parameters (one strength per feature in ``rho``).
        boundaries : bool, default True
            Locate the boundaries between grid cells of different phases by bisection.
        boundary_tol : float, default 1e-8
            Relative width, in (0, 1), of the bisected boundary points.

        Returns
        -------
        symrep.solvers.phase_plane.PhaseDiagram
            Phase codes with rows along beta; ``data`` holds every solved array, shape
            (len(alpha), len(beta)).

        Raises
        ------
        ValueError
            If a parameter is out of range or alpha, beta are not 1-d with 2 values.
        SolverError
            If no root is found at a grid point.
        """
        from symrep.solvers.phase_plane import PhaseDiagram

        alpha = np.asarray(check_parameters(allow_array=True, alpha=alpha)["alpha"], float)
        beta = np.asarray(check_parameters(allow_array=True, beta=beta)["beta"], float)
        if alpha.ndim != 1 or beta.ndim != 1 or alpha.size < 2 or beta.size < 2:
            raise ValueError("alpha and beta must be 1-d arrays with at least 2 values each")
        if not 0 < boundary_tol < 1:
            raise ValueError(f"boundary_tol = {boundary_tol!r} is invalid: must be a number "
                             "in (0, 1)")
        rho_arr = np.asarray(rho, dtype=float)
        rho_b = rho_arr if rho_arr.ndim == 0 else rho_arr.reshape(-1, 1, 1)
        A, B = np.meshgrid(alpha, beta, indexing="ij")
        data = self.solve_arrays(A, B, lam, rho_b, eta)
        phase = data["phase"].T.astype(int)
        bounds = (self._boundaries(alpha, beta, phase, lam, rho_arr, eta, boundary_tol)
                  if boundaries else {})
        return PhaseDiagram(alpha=alpha, beta=beta, phase=phase, lam=float(lam),
                            rho=float(rho_arr.reshape(-1)[0]), eta=float(eta),
                            boundaries=bounds, data=data, model=self.model.name)

    def _phase_at(self, a, b, lam, rho, eta):
        rho_b = rho if np.ndim(rho) == 0 else np.asarray(rho).reshape(-1, 1)
        return self.solve_arrays(a, b, lam, rho_b, eta)["phase"]

    def _boundaries(self, alpha, beta, phase, lam, rho, eta, tol):
        j, i = np.nonzero(phase[:-1, :] != phase[1:, :])  # crossings along beta
        jb, ib = np.nonzero(phase[:, :-1] != phase[:, 1:])  # along alpha
        along = np.concatenate([np.zeros(len(i), bool), np.ones(len(ib), bool)])
        if not along.size:
            return {}
        pa = np.concatenate([phase[j, i], phase[jb, ib]])
        pb = np.concatenate([phase[j + 1, i], phase[jb, ib + 1]])
        lo = np.concatenate([beta[j], alpha[ib]])
        hi = np.concatenate([beta[j + 1], alpha[ib + 1]])
        fixed = np.concatenate([alpha[i], beta[jb]])
        for _ in range(80):
            k = np.nonzero(hi - lo > tol * np.abs(hi))[0]
            if not len(k):
                break
            mid = (lo[k] + hi[k]) / 2
            ph = self._phase_at(np.where(along[k], mid, fixed[k]),
                                np.where(along[k], fixed[k], mid), lam, rho, eta)
            same = ph == pa[k]
            lo[k] = np.where(same, mid, lo[k])
            hi[k] = np.where(same, hi[k], mid)
        x = (lo + hi) / 2
        from symrep.solvers.phase_plane import boundary_curves

        return boundary_curves(np.where(along, x, fixed), np.where(along, fixed, x), pa, pb,
                               alpha, beta)
