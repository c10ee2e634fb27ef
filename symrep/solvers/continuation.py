"""Continuation along ordered parameter points: the stationary states of a curve.

Consecutive points of a curve (a sweep, a row of a phase diagram) have nearly the same
stationary states. The full search of :func:`symrep.solvers.units.stationary_points`
(spectral values, unit-norm scan, regula falsi, polish) runs at anchors only: both ends
of every run of close points, every ``spacing``-th point, and more where the parameters
change by more than :data:`SPAN` between them. Where the first stage of the search
(spectral values and the scans of the unit norm) differs between two consecutive
anchors, a state appears or ends between them: the points between them are scanned
next, and the rest of the search (regula falsi, polish) runs once for the anchors and
those points together (a second full search would cost as much as the first, whatever
its size). Every state found at both anchors of any other interval is carried to the
points between them by Newton's method on the generated saddle-point equations, started
from the polynomial through its values at the interval's anchors and at the anchors
next to them whose intervals have the same scans (cubic at most; without weight decay,
the ridge limit of the full search follows). An interval is accepted only if both
anchors have the same states (family and order of the roots of each family) and every
carried state

- converges there: residual within the tolerance, the admissibility checks of the full
  search, a last Newton step below 1e-9 (at rounding, or at cond(J) times the rounding
  where the system is ill-conditioned), a Newton system that is not nearly singular
  (the full search refines such states on the sign change of d f/dQ; without or with a
  weak weight decay the carried ones get the same refinement from their carried Q,
  :func:`symrep.solvers.units.refine_soft_states`);
- stays between its anchors' values of Q (with a margin), a moving unit above half the
  smaller one and a learning unit's m above half its anchors' smaller m: the collapsed
  state solves every family's equations and the overfitting state the learning unit's,
  and Newton's method carries a unit there where its branch ends inside the interval;
- stays apart from the other roots of its family.

Every other interval is solved by a second full search. A state whose whole range along the
curve lies strictly between two anchors is not seen; the spacing and :data:`SPAN` keep
such a range short. Close points that are no curve, such as the midpoints of a
bisection (each on either side of a phase boundary), are solved without continuation
(``solve_arrays(..., continuation=False)``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from symrep.solvers import units

__all__ = ["stationary_points_along", "SPACING", "CLOSE", "SPAN"]

#: Points between anchors of the full search.
SPACING = 16
#: Consecutive points are on one curve where every parameter changes by less than this
#: (in log for alpha, beta, rho, eta; relative to their sum for lam).
CLOSE = 0.1
#: Largest change of the parameters (summed over the steps, measured as for CLOSE)
#: between consecutive anchors: a state whose whole range along a coarse curve lies
#: between two anchors is not seen (found: the learning phase over 4 points of a
#: 50-point curve, alpha from 14 to 0.11).
SPAN = 0.2


def _steps(params):
    """How far each point is from the next (n - 1,): the largest change of a parameter,
    in log for alpha, beta, rho, eta and relative to their sum for lam."""
    alpha, beta, lam, rho, eta = params
    step = np.zeros(len(alpha) - 1)
    for p in (alpha, beta, rho, eta):
        step = np.maximum(step, np.abs(np.diff(np.log(p))))
    a, b = lam[:-1], lam[1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        step = np.maximum(step, np.where(a == b, 0.0, np.abs(b - a) / (a + b)))
    return step


def _anchors(params, spacing):
    """Indices of the anchors: both ends of every run of close points, every
    ``spacing``-th point, and within a run as many more as keep the parameters' change
    between consecutive anchors within :data:`SPAN` (a coarse curve gets more anchors; a
    dense one, as a 1000-point curve over four decades, none more)."""
    step = _steps(params)
    near = step <= CLOSE
    n = len(step) + 1
    edge = np.ones(n, bool)
    edge[1:-1] = ~(near[:-1] & near[1:])
    anchor = edge | (np.arange(n) % spacing == 0)
    anchor[-1] = True
    idx = np.nonzero(anchor)[0]
    walked = np.concatenate([[0.0], np.cumsum(np.where(near, step, 0.0))])
    wide = np.nonzero(walked[idx[1:]] - walked[idx[:-1]] > SPAN)[0]
    extra = []
    for k in wide:  # greedy: the farthest point within SPAN of the last anchor
        a, b = idx[k], idx[k + 1]
        while walked[b] - walked[a] > SPAN:
            a = max(a + 1, int(np.searchsorted(walked, walked[a] + SPAN, side="right")) - 1)
            if a < b:
                extra.append(a)
    if extra:
        idx = np.union1d(idx, extra)
    return idx, near


def _keys(points):
    """(family, rank) of each entry of :func:`units.stationary_points` (the rank counts
    the entries of that family, in their order)."""
    count, keys = {}, []
    for pt in points:
        f = pt["family"]
        keys.append((f, count.get(f, 0)))
        count[f] = count.get(f, 0) + 1
    return keys


def stationary_points_along(alpha, beta, lam, rho, eta, *, spacing=SPACING):
    """:func:`symrep.solvers.units.stationary_points` for points in curve order.

    Parameters
    ----------
    alpha, beta, lam, rho, eta : ndarray (n,)
        The points, in order (runs of close points are continued).
    spacing : int
        Points between anchors of the full search.

    Returns
    -------
    list of dict
        As :func:`symrep.solvers.units.stationary_points`.
    """
    params = [np.asarray(p, dtype=float) for p in np.broadcast_arrays(alpha, beta, lam, rho,
                                                                        eta)]
    n = params[0].shape[0]
    if n < 3 * spacing:
        return units.stationary_points(*params)
    params[2] = units.effective_weight_decay(params[0], params[1], params[2], params[4])
    idx, near = _anchors(params, spacing)
    # intervals between consecutive anchors with points inside, all on one run
    lo, hi = idx[:-1], idx[1:]
    inner = (hi - lo > 1) & np.array([near[a:b].all() for a, b in zip(lo, hi, strict=True)],
                                     bool)
    scans = units._unit_scans([p[idx] for p in params])
    # where the scans of consecutive anchors differ (a state appears or ends between
    # them) the points inside join the full search: their scans now, the rest of the
    # search in one batch with the anchors (a second full search costs as much as the
    # first, whatever its size)
    sig = units._scan_signature(scans)
    changed = inner & np.any(sig[:-1] != sig[1:], axis=1)
    search = (changed | ~inner) & (hi - lo > 1)
    extra = np.concatenate([np.zeros(0, int)] + [np.arange(a + 1, b) for a, b in
                                                 zip(lo[search], hi[search], strict=True)])
    if len(extra):
        sub = [p[extra] for p in params]
        spectral = _spectral_values(sub, [p[idx] for p in params], scans)
        scans = units._join_scans(scans, units._unit_scans(sub, spectral))
    solved = np.concatenate([idx, extra])
    found = units.stationary_points(*(p[solved] for p in params), scans=scans)
    keys = _keys(found)
    entries = {key: _empty(key[0], n) for key in keys}
    for key, pt in zip(keys, found, strict=True):
        _put(entries[key], solved, pt, np.arange(len(solved)))
    fallback = np.zeros(n, bool)
    carry = [(a, b) for a, b, ok in zip(lo, hi, inner & ~changed, strict=True) if ok]
    # the anchors next to an interval shape its start where their interval to it lies
    # on the run and has the same scans (else the roots of a family may be numbered
    # differently there)
    bad = _carry(params, carry, entries, _neighbours(idx, inner & ~changed))
    for a, b in bad:
        fallback[a + 1:b] = True
    if fallback.any():
        rest = np.nonzero(fallback)[0]
        more = units.stationary_points(*(p[rest] for p in params))
        for key, pt in zip(_keys(more), more, strict=True):
            if key not in entries:
                entries[key] = _empty(key[0], n)
            _put(entries[key], rest, pt, np.arange(len(rest)))
    return [entries[key] for key in sorted(entries)]


def _spectral_values(params, anchors, scans):
    """Spectral values (edge, outliers) of the points ``params``, taken from the anchors'
    ``scans`` where an anchor has the same (alpha, eta, rho) (all of them on a curve
    along beta) and computed for the others."""
    alpha, _, _, rho, eta = anchors
    known = {row: k for k, row in enumerate(zip(alpha.tolist(), eta.tolist(), rho.tolist(),
                                               strict=True))}
    alpha, _, _, rho, eta = params
    at = np.array([known.get(row, -1) for row in zip(alpha.tolist(), eta.tolist(),
                                                     rho.tolist(), strict=True)], int)
    edge, outliers = scans["edge"][at], scans["outliers"][:, at]
    new = np.nonzero(at < 0)[0]
    if len(new):
        edge[new], outliers[:, new] = units.spectral_values(alpha[new], eta[new],
                                                            rho[None, new])
    return edge, outliers


def _empty(family, n):
    return dict(family=family, z=np.full((8, n), np.nan), ok=np.zeros(n, bool),
                free_energy=np.full(n, np.inf), residual=np.full(n, np.inf),
                step=np.full(n, np.inf))


def _put(entry, where, pt, src):
    for name in ("ok", "free_energy", "residual", "step"):
        entry[name][where] = pt[name][src]
    entry["z"][:, where] = pt["z"][:, src]


def _neighbours(idx, joined):
    """For each anchor, the previous and next anchors where the interval to it is
    ``joined`` (-1 where there is none)."""
    before = np.full(len(idx), -1)
    after = np.full(len(idx), -1)
    before[1:] = np.where(joined, idx[:-1], -1)
    after[:-1] = np.where(joined, idx[1:], -1)
    return dict(zip(idx.tolist(), zip(before.tolist(), after.tolist(), strict=True),
                    strict=True))


@lru_cache(maxsize=256)
def _predictor(nodes, length):
    """Lagrange weights (len(nodes), length - 1) at the points 1 .. length - 1 of the
    polynomial through the nodes (indices relative to an interval's first anchor; the
    same few patterns recur along a curve)."""
    inside = np.arange(1, length, dtype=float)
    weights = np.ones((len(nodes), len(inside)))
    for i, xi in enumerate(nodes):
        for j, xj in enumerate(nodes):
            if i != j:
                weights[i] *= (inside - xj) / (xi - xj)
    return weights


def _carry(params, intervals, entries, neighbours=None):
    """Newton continuation inside the intervals; returns the intervals that fail.

    Each state starts from the polynomial through its values at the interval's anchors
    and at the anchors next to them on the same run where it has them there (cubic in
    the point index, at most; error about 1e-5 of the unknowns on a 1000-point curve
    over four decades, where the line between the anchors is off by 1e-3: a Newton
    step fewer). ``neighbours`` maps an anchor to the anchors before and after it
    (:func:`_neighbours`; None: the line between the interval's anchors).
    """
    cols, guesses, which, owner, starts = [], [], [], [], []
    failed = set()
    for j, (a, b) in enumerate(intervals):
        present = {key for key, e in entries.items() if e["ok"][a]}
        if present != {key for key, e in entries.items() if e["ok"][b]}:
            failed.add(j)
            continue
        inside = np.arange(a + 1, b)
        before, after = (-1, -1) if neighbours is None else (neighbours[a][0], neighbours[b][1])
        for key in present:
            e = entries[key]
            nodes = [k for k in (before, a, b, after) if k >= 0 and e["ok"][k]]
            cols.append(inside)
            guesses.append(e["z"][:, nodes] @ _predictor(tuple(k - a for k in nodes), b - a))
            which.append(np.full(len(inside), len(starts)))
            owner.append(np.full(len(inside), j))
            starts.append((key, e["z"][:, a], e["z"][:, b], j))
    if not cols:
        return [intervals[j] for j in sorted(failed)]
    columns, which, owners = (np.concatenate(v) for v in (cols, which, owner))
    z = np.concatenate(guesses, axis=1)
    families = np.array([s[0][0] for s in starts])[which]
    z0 = np.stack([s[1] for s in starts], axis=1)[:, which]
    z1 = np.stack([s[2] for s in starts], axis=1)[:, which]
    sub = [p[columns] for p in params]
    z, _, step = units.polish(z, sub, families, return_step=True)
    z[3:5] = np.where(z[3] < 0, -z[3:5], z[3:5])
    flat = np.nonzero((sub[2] == 0) & (families > 0))[0]
    if len(flat):  # without weight decay: the limit lam -> 0+ (see units)
        z[:, flat], step[flat] = units._ridge_limit(z[:, flat], [p[flat] for p in sub],
                                                    families[flat])
    good, res, f = units._admissible(z, sub, families)
    # converged: the last Newton step at rounding, or, where the system is
    # ill-conditioned (condition up to 1e13 at alpha in [50, 1e4]), stalled at cond(J)
    # times the rounding (seen up to 4e-10; the full search keeps such states too, and
    # finish takes steps in extended precision where the last one is above 1e-14)
    good &= step <= 1e-9
    # a nearly singular Newton system cannot place a unit along its soft direction (the
    # full search refines such states on the sign change of d f/dQ): seen 5e-7 off in Q
    # at alpha = 0.011 without weight decay, with a converged step and free energy.
    # Checked without weight decay or with one far below the other terms (off by 3.5e-9
    # at alpha = 1, lam = 1e-16) and near a continuous collapse (Q below 1e-6), the
    # regimes of that refinement; at large alpha most states are as ill-conditioned and
    # the carried ones agree with the full search (30 curves at alpha in [50, 1e4]), so
    # that the states whose steps stalled are checked only against the severe
    # ill-conditioning that the full search still refines (see units)
    soft = units._soft(z, sub)
    check = np.nonzero(good & (families > 0) & (soft | (step > 1e-12)))[0]
    if len(check):
        good[check] = ~units._needs_regula_falsi(z[:, check], [p[check] for p in sub],
                                                 families[check], soft[check])
        # without (or with a weak) weight decay such states get the full search's
        # refinement here, from their carried Q (at alpha < 0.05 without weight decay
        # nearly every carried state needs it: the intervals went to the full search)
        rescue = check[~good[check] & units.weak_weight_decay([p[check] for p in sub])]
        for family in np.unique(families[rescue]):
            k = rescue[families[rescue] == family]
            zk, found = units.refine_soft_states(z[:, k], [p[k] for p in sub], family)
            k, zk = k[found], zk[:, found]
            flat = sub[2][k] == 0
            if flat.any():  # the limit lam -> 0+, as after the full search's refinement
                zk[:, flat], _ = units._ridge_limit(zk[:, flat], [p[k[flat]] for p in sub],
                                                    family)
            ok, res_k, f_k = units._admissible(zk, [p[k] for p in sub], families[k])
            k, zk = k[ok], zk[:, ok]
            z[:, k], res[k], f[k], step[k], good[k] = zk, res_k[ok], f_k[ok], np.inf, True
    low, high = np.minimum(z0[0], z1[0]), np.maximum(z0[0], z1[0])
    margin = 0.5 * (high - low) + 1e-12 * (1 + high)
    good &= (z[0] >= low - margin) & (z[0] <= high + margin)
    # the collapsed state (Q = R = E = 0) solves the equations of every family: a unit
    # carried down to Q ~ 0 has become it (its branch ends inside the interval; seen at
    # Q = 1.6e-14 between overfitting anchors), and a unit whose norm falls well below
    # both anchors' is left to the full search
    size = 1e-12 * (1 + np.max(np.abs(z), axis=0))
    moving = families > 0
    good &= ~moving | ((z[0] > 0.5 * low) & (z[0] > size))
    # likewise the overfitting state (m = d = 0) solves the learning unit's equations:
    # seen as a learning unit carried to m = 0 beside the learning state it missed
    m_low = np.minimum(np.abs(z0[3]), np.abs(z1[3]))
    good &= (families != 2) | ((np.abs(z[3]) > 0.5 * m_low) & (np.abs(z[3]) > size))
    # roots of one family at one point stay apart
    groups = {}
    for k, (key, _, _, j) in enumerate(starts):
        groups.setdefault((key[0], j), []).append(k)
    position = np.concatenate([[0], np.cumsum(np.bincount(which, minlength=len(starts)))])
    for group in groups.values():
        for i, k in enumerate(group):
            for m in group[i + 1:]:  # same interval: the same points, in the same order
                sk = np.arange(position[k], position[k + 1])
                sm = np.arange(position[m], position[m + 1])
                apart = np.abs(z[0, sk] - z[0, sm]) > 1e-8 * (1 + np.abs(z[0, sk]))
                good[sk] &= apart
                good[sm] &= apart
    for j in np.unique(owners[~good]):
        failed.add(int(j))
    keep = ~np.isin(owners, list(failed))
    for k, (key, _, _, _) in enumerate(starts):
        sel = np.nonzero((which == k) & keep)[0]
        if not len(sel):
            continue
        e = entries[key]
        where = columns[sel]
        e["z"][:, where] = z[:, sel]
        e["ok"][where] = True
        e["free_energy"][where] = f[sel]
        e["residual"][where] = res[sel]
        e["step"][where] = step[sel]
    return [intervals[j] for j in sorted(failed)]
