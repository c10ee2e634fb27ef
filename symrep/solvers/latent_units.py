"""The RS saddle point of a linear VAE with M latent units and M* features.

Every stationary point of the RS equations that the one-unit solver finds is made of
latent units, each collapsed, overfitting (its decoder along the top edge of the noise
bulk) or learning one feature. Units that sit on different spectral components do not
interact: the order-parameter matrices of such a state are block diagonal in the unit
basis (Q, R, E and the precision blocks diagonal, one non-zero entry per row of m and d),
the state solves the saddle-point equations of the (M, M*) model exactly, and its free
energy is the sum of the units' free energies, each unit being the M = M* = 1 model at
the strength rho_k of the feature it learns (no strength enters the free energy of a
collapsed or overfitting unit). The full equations of the (M, M*) model check this:
``LinearVAE(M, Mstar).numeric()`` evaluates their residual at the assembled state.

The solver therefore

1. finds every admissible state of one unit at each rho_k with the one-unit solver
   (:func:`symrep.solvers.continuation.stationary_points_along`: generated equations,
   no closed form), each finished to rounding as the one-unit answer is;
2. lets the units learn the features whose learning state lowers the free energy most
   (each feature learned by at most one unit: two units on the same outlier would share
   one spectral direction) and puts every other unit in the lower of the collapsed and
   overfitting states;
3. orders the units by decreasing Q_ii, the order that :mod:`symrep.simulate` gives the
   units of a finite-N model, so theory and simulation line up unit by unit.

Two units may learn one feature only by splitting it (a rotation of a single learning
unit's weights between them): the objective is not invariant under such rotations (the
KL term with a diagonal encoder variance), and the search over the full matrix equations
in ``docs/claims.md`` finds no such state below the assembled one.
"""

from __future__ import annotations

import functools

import numpy as np

from symrep.errors import SolverError
from symrep.numeric.layout import MAX_UNITS
from symrep.solvers.continuation import stationary_points_along
from symrep.solvers.result import (
    MATRIX_FIELDS,
    SCALAR_FIELDS,
    SolveResult,
    unit_state_name,
)
from symrep.solvers.units import FAMILIES as BRANCHES
from symrep.solvers.units import (
    RESIDUAL_TOLERANCE,
    order_transition_pairs,
    residual_norm,
    stationary_points,
)
from symrep.validation import check_parameter, check_parameters

__all__ = ["MatrixSolveResult", "solve_units", "solve_units_arrays",
           "continue_from_neighbours", "unit_state_name", "MAX_UNITS", "MATRIX_FIELDS",
           "SCALAR_FIELDS"]

#: The result of :func:`solve_units`: the one result type of the solvers (kept under
#: this name for the code that imported it from here).
MatrixSolveResult = SolveResult

# unit-state codes: 0 collapsed, 1 overfitting, 2 + k learning feature k + 1
_COLLAPSED, _OVERFITTING, _LEARNING = 0, 1, 2
# observables that add up over units (each is a sum of per-unit terms when the
# order-parameter matrices are block diagonal)
_ADDITIVE = ("rate", "kl_posterior", "rate_train", "kl_posterior_train", "free_energy")


def _check_units(M) -> int:
    """M as an int in [1, MAX_UNITS] (the check of :class:`symrep.model.LinearVAE`)."""
    from symrep.model import _check_units as check

    return check("M", M)


def _check_strengths(rho, *, allow_array: bool):
    """rho as a tuple of M* validated strengths (a scalar is one feature)."""
    if isinstance(rho, (str, bytes)) or rho is None:
        check_parameter("rho", rho)  # its message names the range
        raise ValueError(f"rho must be a positive number or a sequence of 1 to {MAX_UNITS} "
                         f"of them, got {rho!r}")
    if np.ndim(rho) == 0:
        return (check_parameter("rho", rho, allow_array=allow_array),)
    try:
        values = list(rho)
    except TypeError:
        raise ValueError(f"rho must be a positive number or a sequence of them, "
                         f"got {rho!r}") from None
    if not 1 <= len(values) <= MAX_UNITS:
        raise ValueError(f"rho = {tuple(values)!r} is invalid: {len(values)} strengths, "
                         f"but the number of features M* must be in [1, {MAX_UNITS}]")
    return tuple(check_parameter("rho", r, allow_array=allow_array) for r in values)


def _best_state(points, family):
    """Lowest free energy among the states of one family: (f, z, residual, step), the
    state as the search left it (:func:`_finish_units` finishes the states kept)."""
    n = points[0]["free_energy"].shape[0]
    f = np.full(n, np.inf)
    z = np.zeros((8, n))
    res = np.full(n, np.inf)
    step = np.zeros(n)
    for pt in points:
        if pt["family"] != family:
            continue
        better = pt["free_energy"] < f
        f = np.where(better, pt["free_energy"], f)
        z = np.where(better, np.nan_to_num(pt["z"]), z)
        res = np.where(better, pt["residual"], res)
        step = np.where(better, pt["step"], step)
    return f, z, res, step


def _finish_units(units_z, units_f, units_code, units_step, units_rho, params):
    """Every unit's state finished to rounding as the one-unit solver finishes its
    answer, all units in one batch (each column is finished on its own)."""
    from symrep.solvers.units import effective_weight_decay, finish

    M, _, n = units_z.shape
    found = np.isfinite(units_f).ravel()  # unit-major, as the flattened columns below
    if not found.any():
        return units_z
    a, b, lam, e = (np.tile(p, M)[found] for p in params)
    z = np.moveaxis(units_z, 1, 0).reshape(8, M * n)
    family = np.minimum(units_code, _LEARNING).ravel()[found]
    sub = [a, b, effective_weight_decay(a, b, lam, e), units_rho.ravel()[found], e]
    z[:, found] = finish(z[:, found], sub, family, units_step.ravel()[found])
    return np.moveaxis(z.reshape(8, M, n), 0, 1)


def _unit_observables(z, params):
    from symrep.solvers.saddle_point import evaluate

    with np.errstate(all="ignore"):
        return evaluate(z, params)


def solve_units_arrays(alpha, beta, lam, rho=1.0, eta=1.0, *, M=None, errors="raise",
                       continuation=True, model=None, neighbours=False):
    """The RS optimum with M latent units and M* features at every point of arrays.

    Parameters
    ----------
    alpha, beta, lam, eta : array_like
        Parameters, broadcast against each other and against every strength.
    rho : float, array_like or sequence of them
        The feature strengths rho_1..rho_M* (a scalar or one array: one feature).
    M : int, optional
        Number of latent units, 1 to 9: default 1, or the model's.
    errors : {"raise", "mask"}
        Where no admissible state exists: raise :class:`SolverError` (default) or return
        ``converged = False`` with NaN in the numeric fields there.
    continuation : bool
        Carry the one-unit states along runs of close consecutive points (default), or
        run the full search at every point (as for
        :func:`symrep.solvers.saddle_point.solve_arrays`: points that are no curve).
    model : optional
        A model of :mod:`symrep.models` with M units and len(rho) features; default the
        linear VAE. Its theory model is solved at the mapped points
        (:mod:`symrep.solvers.model_map`).
    neighbours : bool
        Retry the points where the search found no solution from the units' states at
        the solved point before each (:func:`continue_from_neighbours`), as the sweeps
        do on their grids; off by default, so that a point's answer never depends on
        the points beside it.

    Returns
    -------
    dict
        For a broadcast shape S: ``m``, ``d`` (S + (M, M*)); ``Q``, ``R``, ``E``,
        ``chihat_Q``, ``chihat_R``, ``chihat_E`` (S + (M, M)); ``D`` (S + (M,));
        every name in :data:`SCALAR_FIELDS` (S); ``unit_state`` (S + (M,), codes for
        :func:`unit_state_name`); ``unit_free_energy`` (S + (M,)); ``converged`` and
        ``residual`` (S; the largest unit residual relative to the scale of its
        equations); ``branch_free_energy`` ((3,) + S: the lowest free energy of the
        collapsed, overfitting and learning states of one unit, +inf where none
        exists); with a model, its extras (S each, ``sigma2``), and the free
        energies scaled to the model's.

    Raises
    ------
    ValueError
        If a parameter is out of range, or ``M`` or the number of strengths disagrees
        with the model's.
    SolverError
        With ``errors="raise"``, where no admissible state exists.
    """
    if errors not in ("raise", "mask"):
        raise ValueError(f"errors = {errors!r} is invalid: must be 'raise' or 'mask'")
    if model is not None:
        return _model_units_arrays(model, alpha, beta, lam, rho, eta, M=M, errors=errors,
                                   continuation=continuation, neighbours=neighbours)
    M = _check_units(1 if M is None else M)
    rhos = _check_strengths(rho, allow_array=True)
    Mstar = len(rhos)
    p = check_parameters(allow_array=True, alpha=alpha, beta=beta, lam=lam, eta=eta)
    try:
        arrays = np.broadcast_arrays(*(np.asarray(p[k], float)
                                       for k in ("alpha", "beta", "lam", "eta")),
                                     *(np.asarray(r, float) for r in rhos))
    except ValueError:
        shapes = {**{k: np.shape(v) for k, v in p.items()},
                  **{f"rho_{k + 1}": np.shape(r) for k, r in enumerate(rhos)}}
        raise ValueError(f"the parameter arrays cannot be broadcast together: shapes "
                         f"{shapes}") from None
    shape = arrays[0].shape
    a, b, lam_, e, *rk = (x.ravel() for x in arrays)
    n = a.shape[0]

    # 1. the states of one unit at each feature strength
    learn_f, learn_z, learn_res, learn_step, idle_f = [], [], [], [], []
    idle_pick = {fam: (np.full(n, np.inf), np.zeros((8, n)), np.full(n, np.inf),
                       np.zeros(n), np.zeros(n, int)) for fam in (_COLLAPSED, _OVERFITTING)}
    # every feature strength in one batch (one search has a fixed cost of sequential
    # rounds; as a curve, each strength's run of points is continued on its own)
    every = [np.tile(x, Mstar) for x in (a, b, lam_)]
    batch = (*every, np.concatenate(rk), np.tile(e, Mstar))
    found = (stationary_points_along(*batch) if continuation
             else stationary_points(*batch))
    # next to a continuous transition (the spectral one, a collapse) a state's f is
    # within rounding of that of the state it leaves: ordered by their gap
    order_transition_pairs(found, batch)
    for k in range(Mstar):
        part = slice(k * n, (k + 1) * n)
        points = [{key: value[..., part] if isinstance(value, np.ndarray) else value
                   for key, value in pt.items()} for pt in found]
        f, z, res, step = _best_state(points, _LEARNING)
        learn_f.append(f)
        learn_z.append(z)
        learn_res.append(res)
        learn_step.append(step)
        run_idle = np.full(n, np.inf)
        for fam in (_COLLAPSED, _OVERFITTING):
            # neither state depends on the strength: take the best over the runs
            f_i, z_i, res_i, step_i = _best_state(points, fam)
            run_idle = np.minimum(run_idle, f_i)
            f0, z0, res0, step0, k0 = idle_pick[fam]
            better = f_i < f0
            idle_pick[fam] = (np.where(better, f_i, f0), np.where(better, z_i, z0),
                              np.where(better, res_i, res0),
                              np.where(better, step_i, step0), np.where(better, k, k0))
        idle_f.append(run_idle)
    (fC, zC, resC, stC, kC), (fO, zO, resO, stO, kO) = (idle_pick[_COLLAPSED],
                                                        idle_pick[_OVERFITTING])
    # the lowest free energy of each family of one-unit states (+inf where none exists)
    branch_f = np.stack([fC, fO, np.min(np.stack(learn_f), axis=0)])
    # on an exact tie the collapsed state wins, as in the one-unit solver
    idle_is_O = fO < fC
    f_idle = np.where(idle_is_O, fO, fC)
    z_idle = np.where(idle_is_O, zO, zC)
    res_idle = np.where(idle_is_O, resO, resC)
    step_idle = np.where(idle_is_O, stO, stC)
    k_idle = np.where(idle_is_O, kO, kC)
    code_idle = np.where(idle_is_O, _OVERFITTING, _COLLAPSED)

    # 2. which features are learned: the largest gains of free energy, at most M of them
    learn_f = np.stack(learn_f)  # (M*, n)
    # each feature's learning state against the idle state of its own run: next to a
    # transition their free energies were ordered against each other there
    # (order_transition_pairs), while the same idle state found in another run may
    # differ from it in the last place
    with np.errstate(invalid="ignore"):
        gain = np.where(np.isfinite(learn_f), np.stack(idle_f) - learn_f, -np.inf)
    order = np.argsort(-gain, axis=0, kind="stable")  # features by decreasing gain
    n_learned = np.minimum(np.sum(gain > 0, axis=0), M)

    units_z = np.zeros((M, 8, n))
    units_code = np.zeros((M, n), int)
    units_f = np.zeros((M, n))
    units_res = np.zeros((M, n))
    units_rho = np.zeros((M, n))
    units_step = np.zeros((M, n))
    cols = np.arange(n)
    rk_arr = np.stack(rk)
    learn_z = np.stack(learn_z)  # (M*, 8, n)
    learn_res = np.stack(learn_res)
    learn_step = np.stack(learn_step)
    for j in range(M):
        k = order[min(j, Mstar - 1)]  # only read where the unit learns (j < M*)
        learns = j < n_learned
        units_z[j] = np.where(learns, learn_z[k, :, cols].T, z_idle)
        units_code[j] = np.where(learns, _LEARNING + k, code_idle)
        units_f[j] = np.where(learns, learn_f[k, cols], f_idle)
        units_res[j] = np.where(learns, learn_res[k, cols], res_idle)
        units_step[j] = np.where(learns, learn_step[k, cols], step_idle)
        # an idle unit at the strength of the run its state came from
        units_rho[j] = np.where(learns, rk_arr[k, cols], rk_arr[k_idle, cols])
    units_z = _finish_units(units_z, units_f, units_code, units_step, units_rho,
                            (a, b, lam_, e))
    out, units_code, units_res, units_obs, converged, full_res = _state_of_units(
        units_z, units_code, units_f, units_res, units_rho, rk_arr, (a, b, lam_, e))
    out["unit_state"] = units_code.T
    # each unit's share as evaluated at its reported (finished) state, so that the shares
    # add up to the reported free energy to the last bit
    out["unit_free_energy"] = units_obs["free_energy"].T
    out["converged"] = converged
    out["residual"] = np.where(converged, np.maximum(np.max(units_res, axis=0), full_res),
                               np.inf)
    if neighbours and not converged.all():  # grid order: from the solved neighbour
        continue_from_neighbours(out, (a, b, lam_, e), rk)
        converged = out["converged"]
    if not converged.all() and errors == "raise":
        i = int(np.nonzero(~converged)[0][0])
        point = {"alpha": float(a[i]), "beta": float(b[i]), "lam": float(lam_[i]),
                 "rho": tuple(float(r[i]) for r in rk), "eta": float(e[i]), "M": M}
        diag = {"parameters": point,
                "candidates": _candidates(found, i, n, Mstar),
                "collapsed_free_energy": float(fC[i]),
                "overfitting_free_energy": float(fO[i]),
                "learning_free_energy": [float(f[i]) for f in learn_f],
                "tolerance": RESIDUAL_TOLERANCE}
        raise SolverError(
            f"no stationary branch satisfies the saddle-point equations at {point} "
            f"({len(diag['candidates'])} candidate(s) of one unit found, no admissible "
            f"state of the units at tolerance {RESIDUAL_TOLERANCE:g})", diag)
    out["branch_free_energy"] = branch_f.T  # (n, 3): moved to the front below
    if errors == "mask":
        for name in (*MATRIX_FIELDS, *SCALAR_FIELDS, "unit_free_energy"):
            bad = ~converged.reshape((n,) + (1,) * (out[name].ndim - 1))
            out[name] = np.where(bad, np.nan, out[name])
    out = {k: v.reshape(shape + v.shape[1:]) for k, v in out.items()}
    out["branch_free_energy"] = np.moveaxis(out["branch_free_energy"], -1, 0)
    return out


def _state_of_units(units_z, units_code, units_f, units_res, units_rho, rk, params):
    """The (M, M*) model's state made of finished unit states: each unit's observables
    at its strength, the units in canonical order, the assembled matrices and
    observables, and whether it is a solution.

    Parameters
    ----------
    units_z : ndarray (M, 8, n)
        Each unit's unknowns.
    units_code, units_f, units_res, units_rho : ndarray (M, n)
        Each unit's state code, free energy as found, residual and strength.
    rk : ndarray (M*, n)
        The feature strengths.
    params : tuple of 4 ndarray (n,)
        alpha, beta, lam, eta.

    Returns
    -------
    tuple
        ``out`` (the assembled fields, points first), ``units_code``, ``units_res``,
        ``units_obs`` (in canonical order), ``converged`` and ``full_res`` (n,).
    """
    a, b, lam_, e = params
    M, _, n = units_z.shape
    Mstar = rk.shape[0]
    every_unit = _unit_observables(
        np.moveaxis(units_z, 1, 0).reshape(8, M * n),
        [np.tile(a, M), np.tile(b, M), np.tile(lam_, M), units_rho.ravel(), np.tile(e, M)])
    units_obs = {name: every_unit[name].reshape(M, n)
                 for name in (*_ADDITIVE, "distortion", "distortion_train", "eg")}

    # canonical order: decreasing Q_ii (ties keep the order given: learners first)
    rank = np.argsort(-units_z[:, 0, :], axis=0, kind="stable")
    units_z = np.take_along_axis(units_z, rank[:, None, :], axis=0)
    units_code, units_f, units_res, units_rho = (
        np.take_along_axis(x, rank, axis=0)
        for x in (units_code, units_f, units_res, units_rho))
    units_obs = {k: np.take_along_axis(v, rank, axis=0) for k, v in units_obs.items()}

    out = _assemble(units_z, units_code, units_rho, units_obs, rk, a, b, e, Mstar)
    full_res = _full_residual(out, M, Mstar, (a, b, lam_, *rk, e))
    converged = np.all(np.isfinite(units_f) & np.isfinite(units_res), axis=0)
    converged &= full_res <= _allowed_full_residual(full_res, units_z, units_rho,
                                                    (a, b, lam_, e))
    converged &= np.all([np.all(np.isfinite(np.reshape(out[k], (n, -1))), axis=1)
                         for k in (*MATRIX_FIELDS, *SCALAR_FIELDS)], axis=0)
    return out, units_code, units_res, units_obs, converged, full_res


def continue_from_neighbours(out, params, rho):
    """Retry the points of a masked batch that have no solution by Newton's method from
    the units' states at the nearest solved point before each (in the batch's order).

    Along a grid the states change little from one point to the next; where the search
    found no admissible state, every unit's state at the previous solved point is a
    start: Newton's method on the one-unit equations (the free unknowns of the unit's
    family), at the unit's own strength. A point all of whose units converge is
    assembled and checked as the solver's own answers are, and replaces the masked one.

    Parameters
    ----------
    out : dict
        :func:`solve_units_arrays` of a flat batch with ``errors="mask"`` (updated in
        place).
    params : sequence of 4 ndarray (n,)
        alpha, beta, lam and eta of the batch.
    rho : sequence of float or ndarray (n,)
        The feature strengths rho_1..rho_M*.

    Returns
    -------
    dict
        ``out``.
    """
    from symrep.solvers.saddle_point import newton

    a, b, lam_, e = (np.asarray(p, dtype=float) for p in params)
    n = a.shape[0]
    rk = np.stack([np.broadcast_to(np.asarray(r, dtype=float), (n,)) for r in rho])
    M = out["unit_state"].shape[1]
    for i in np.nonzero(~out["converged"])[0]:
        done = np.nonzero(out["converged"][:i])[0]
        if done.size == 0:
            continue
        j = done[-1]
        units_z = np.zeros((M, 8, 1))
        units_code = np.zeros((M, 1), int)
        units_rho = np.zeros((M, 1))
        units_res = np.zeros((M, 1))
        ok = True
        for u in range(M):
            code = int(out["unit_state"][j, u])
            k = max(code - _LEARNING, 0)
            z0 = np.array([[out["Q"][j, u, u]], [out["R"][j, u, u]], [out["E"][j, u, u]],
                           [out["m"][j, u, k]], [out["d"][j, u, k]],
                           [out["chihat_Q"][j, u, u]], [out["chihat_R"][j, u, u]],
                           [out["chihat_E"][j, u, u]]])
            point = [a[i:i + 1], b[i:i + 1], lam_[i:i + 1], rk[k, i:i + 1], e[i:i + 1]]
            z, res = newton(z0, point, min(code, _LEARNING))
            ok &= bool(res[0] <= RESIDUAL_TOLERANCE)
            # the state it converged to, by the rule of the one-unit answer
            family = 2 if z[3, 0] > 0 else (1 if z[0, 0] > 0 else 0)
            units_z[u], units_res[u], units_rho[u] = z, res, rk[k, i]
            units_code[u] = _LEARNING + k if family == 2 else family
        if not ok:
            continue
        point = (a[i:i + 1], b[i:i + 1], lam_[i:i + 1], e[i:i + 1])
        got, codes, res_u, obs, converged, full_res = _state_of_units(
            units_z, units_code, np.zeros((M, 1)), units_res, units_rho, rk[:, i:i + 1],
            point)
        if not converged[0]:
            continue
        for name, value in got.items():
            out[name][i] = value[0]
        out["unit_state"][i] = codes[:, 0]
        out["unit_free_energy"][i] = obs["free_energy"][:, 0]
        out["residual"][i] = max(float(np.max(res_u)), float(full_res[0]))
        out["converged"][i] = True
    return out


def _candidates(found, i, n, Mstar):
    """What the search found at point ``i``: every one-unit state at every strength."""
    out = []
    for k in range(Mstar):
        col = k * n + i
        for pt in found:
            if not np.isfinite(pt["z"][0, col]):
                continue
            entry = {"branch": BRANCHES[pt["family"]], "found": True,
                     "admissible": bool(pt["ok"][col]),
                     "residual": float(pt["residual"][col]),
                     "free_energy": float(pt["free_energy"][col]), "feature": k + 1}
            out.append(entry)
    return out


def _model_units_arrays(model, alpha, beta, lam, rho, eta, *, M, errors, continuation,
                        neighbours):
    """:func:`solve_units_arrays` of a model: its theory model at the mapped points."""
    from symrep.solvers.model_map import (
        as_extras,
        check_model,
        model_observables,
        theory_point,
    )

    rhos = _check_strengths(rho, allow_array=True)
    reserved = (*MATRIX_FIELDS, *SCALAR_FIELDS, "unit_state", "unit_free_energy")
    check_model(model, M=M, Mstar=len(rhos), rho=rho, reserved=reserved)
    p = check_parameters(allow_array=True, alpha=alpha, beta=beta, lam=lam, eta=eta)
    theory, q, scale, extras = theory_point(model, {**p, "rho": rhos})
    out = solve_units_arrays(q["alpha"], q["beta"], q["lam"], q["rho"], q["eta"],
                             M=theory.M, errors=errors, continuation=continuation,
                             neighbours=neighbours)
    shape = out["free_energy"].shape
    scale = np.broadcast_to(np.asarray(scale, dtype=float), shape)
    out["free_energy"] = out["free_energy"] * scale
    out["unit_free_energy"] = out["unit_free_energy"] * scale[..., None]
    out["branch_free_energy"] = out["branch_free_energy"] * scale
    out.update(model_observables(model, out, {**p, "rho": rhos}))
    out.update(as_extras(extras, shape))
    return out


def _allowed_full_residual(full_res, units_z, units_rho, params):
    """How large the model's own residual at the assembled state may be: the
    tolerance, or twice the units' own residual evaluated in the same float64
    arithmetic where that is larger (next to alpha = 1 without weight decay, the units
    are finished in extended precision and rounding alone leaves ~1e-9 in both: the
    check is of the assembly, not of float64)."""
    allowed = np.full(full_res.shape, RESIDUAL_TOLERANCE)
    rough = np.nonzero(~(full_res <= RESIDUAL_TOLERANCE))[0]
    if rough.size:
        a, b, lam, e = (p[rough] for p in params)
        per_unit = np.max([residual_norm(z[:, rough], (a, b, lam, r[rough], e))
                           for z, r in zip(units_z, units_rho, strict=True)], axis=0)
        allowed[rough] = np.maximum(RESIDUAL_TOLERANCE, 2.0 * per_unit)
    return allowed


@functools.cache
def _shipped_system(M, Mstar):
    """The generated system of the (M, M*) model where its code ships with the package,
    else None (looked up once per process: a file-system test and a module load)."""
    from symrep.numeric.generated_system import shipped_module_path

    if not shipped_module_path(M, Mstar).exists():
        return None
    from symrep.models import default_model

    return default_model(M, Mstar).numeric()


def _full_residual(out, M, Mstar, params):
    """Largest residual of the (M, M*) model's own saddle-point equations at the
    assembled state, relative to the scale of the equations; zeros where the model's
    generated code is not shipped with the package (its generation takes minutes: the
    check is left to the tests and to the model's ``numeric()``)."""
    n = out["free_energy"].shape[0]
    system = _shipped_system(M, Mstar)
    if system is None:
        return np.zeros(n)
    mats = {k: np.moveaxis(out[k], 0, -1) for k in ("Q", "R", "E", "m", "d", "chihat_Q",
                                                     "chihat_R", "chihat_E")}
    z = system.pack(mats)
    with np.errstate(all="ignore"):
        F = system.residual(z, params)
    alpha, beta, lam, *rest = params
    scale = ((1 + np.max(np.abs(z), axis=0)) * (1 + alpha + lam + 1 / beta)
             * (1 + sum(rest)))
    res = np.max(np.abs(F), axis=0) / scale
    return np.where(np.isfinite(res), res, np.inf)


def _assemble(units_z, units_code, units_rho, units_obs, rk, alpha, beta, eta, Mstar):
    """Matrices and observables of the block-diagonal state of the units."""
    M, _, n = units_z.shape
    out = {}
    for name, row in (("Q", 0), ("R", 1), ("E", 2), ("chihat_Q", 5), ("chihat_R", 6),
                      ("chihat_E", 7)):
        matrix = np.zeros((n, M, M))  # (a product with the identity would give -0.0)
        matrix[:, np.arange(M), np.arange(M)] = units_z[:, row, :].T
        out[name] = matrix
    Q_diag = units_z[:, 0, :].T
    out["D"] = beta[:, None] / (beta[:, None] + Q_diag)
    m = np.zeros((n, M, Mstar))
    d = np.zeros((n, M, Mstar))
    for j in range(M):
        learns = units_code[j] >= _LEARNING
        k = np.where(learns, units_code[j] - _LEARNING, 0)
        m[np.arange(n), j, k] += np.where(learns, units_z[j, 3], 0.0)
        d[np.arange(n), j, k] += np.where(learns, units_z[j, 4], 0.0)
    out["m"], out["d"] = m, d
    for name in _ADDITIVE:
        out[name] = units_obs[name].sum(axis=0)
    # a unit's distortion carries the data term (rho + eta)/2 of the strength it was
    # solved at; the model's carries (sum_k rho_k + M* eta)/2 once. The correction is
    # formed apart and subtracted last: for one unit and one feature it is exactly 0
    # and the unit's own numbers come out to the last bit
    data_term = (rk.sum(axis=0) + Mstar * eta) / 2
    unit_data = (units_rho + eta[None, :]) / 2
    for name in ("distortion", "distortion_train"):
        out[name] = units_obs[name].sum(axis=0) - (unit_data.sum(axis=0) - data_term)
    # eg: the units are matched to the features they learn (each learns at most one); a
    # unit's eg, rho_j + Q_jj - 2 sqrt(rho_j) m_j, counts the strength it was solved at,
    # the model's counts each feature's once
    out["eg"] = units_obs["eg"].sum(axis=0) - (units_rho.sum(axis=0) - rk.sum(axis=0))
    return out


def solve_units(alpha, beta, lam, rho=1.0, eta=1.0, *, M=None, model=None):
    """RS prediction for the linear VAE with M latent units and M* = len(rho) features.

    Parameters
    ----------
    alpha, beta, lam, eta : float
        Sample complexity, KL weight, weight decay, noise strength.
    rho : float or sequence of float
        Feature strengths rho_1..rho_M* (a scalar: one feature).
    M : int, optional
        Number of latent units (1 to 9): default 1, or the model's.
    model : optional
        A model of :mod:`symrep.models` (default the linear VAE), as in
        :func:`symrep.solve`: the result has the parameters as given, the free energies
        scaled to the model's, its extras and its name.

    Returns
    -------
    MatrixSolveResult

    Raises
    ------
    ValueError
        If a parameter is out of range, or ``M`` or the number of strengths disagrees
        with the model's.
    SolverError
        If no admissible state of the units exists.

    Examples
    --------
    >>> from symrep.solvers.latent_units import solve_units
    >>> r = solve_units(alpha=4.0, beta=0.5, lam=1.0, rho=(2.0, 0.7), eta=1.0, M=2)
    >>> r.phases
    ('learning feature 1', 'learning feature 2')
    """
    from symrep.solvers.saddle_point import solve_point

    return solve_point(alpha, beta, lam, rho, eta, M=M, model=model, scalar_notation=False)
