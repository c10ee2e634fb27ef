"""Stationary states of one latent unit, found without any closed-form solution.

Every stationary point of the RS equations is built from latent units, each in one of
three states: collapsed (W = W~ = 0), overfitting (decoder along the top of the noise
bulk, no overlap with the features) or learning feature k (decoder along the outlier
that feature k creates). A unit in a non-collapsed state is attached to a spectral value
s of the sample covariance, and its decoder norm Q is a root of one scalar equation.
This module finds all of them numerically, from the generated equations alone
(:mod:`symrep.numeric.unit_map`, :mod:`symrep.numeric.system`), vectorised over
parameter points:

1. **Conjugate fixed points.** For a unit with K(y), y = Q + beta, and the constant c on
   the (1, 1) entry, the precision matrix Y is the attracting fixed point of the
   conjugate map T, found by Newton's method from a start above it (the map decreases
   from there), kept inside the cone of positive semidefinite matrices. A result is
   accepted only where the map contracts there (the other fixed point of the pair
   repels). Without weight decay the boundary Y_12 = Y_22 = 0 of the cone is invariant,
   and for alpha < 1 the physical fixed point lies on it (flat encoder directions).
2. **Spectral values.** The bulk edge is the fold of the attracting fixed point as c
   falls, where the leading eigenvalue of the map's linearisation reaches -1; an outlier
   of feature k is where the Hessian of f in the feature overlaps becomes singular. Both
   are roots of the polynomial det(N + sigma I) (N = K^{-1} Y + eta I), and Newton's
   method on the extended system in (Y, c), which is regular there, converges to them
   from the attracting fixed point at a large s. An outlier exists where its root lies
   on the attracting branch, above the edge.
3. **Unit norm.** With s fixed, the encoder of a unit is the ridge-optimal encoder of a
   decoder along an eigenvector of eigenvalue s, W~ = kappa W with
   kappa = 1/(Q + beta + lam/(alpha s)) (the same relation as in the exact finite-N
   optimum); the precision matrix is the attracting fixed point (the fold itself for a
   unit on the bulk edge), and m^2 follows linearly from the d f/dY_11 equation. The
   remaining equation d f/dQ = 0 is scanned on a logarithmic grid of Q, all grid points
   of a block of columns at once; every sign change is refined by regula falsi.
4. **Polish.** All roots, of every family and every point, are polished together by
   Newton's method on the full generated saddle-point system; only states that satisfy
   it to the solver's tolerance, with a positive definite precision, a positive
   semidefinite G - t t^T and a fixed point of T that is not repelling, are returned.

The relations used in step 3 only shape the starting points: the answer is a root of the
generated RS equations, checked by their residual.
"""

from __future__ import annotations

import numpy as np

from symrep.numeric.compiled import stacked
from symrep.numeric.system import generated
from symrep.numeric.unit_map import unit_functions

__all__ = ["spectral_values", "unit_states", "stationary_points", "polish", "physical",
           "effective_weight_decay", "weak_weight_decay", "refine_soft_states",
           "refine_extended", "finish", "collapsed_state",
           "attracting_fixed_point", "contraction", "equation_scale", "FAMILIES",
           "NEWTON_BLOCKS", "RESIDUAL_TOLERANCE", "UNIT_GRID", "learning_newton",
           "order_transition_pairs"]

#: Unit families, in the order of their codes.
FAMILIES = ("collapsed", "overfitting", "learning")
#: Largest accepted residual of the saddle-point equations, relative to their terms.
RESIDUAL_TOLERANCE = 1e-9
#: Points of the logarithmic grid on which the unit-norm equation is scanned: 28 down to
#: 1e-9 of the largest Q, then a sparse tail down to 1e-17 (near a continuous collapse
#: the overfitting unit's norm goes to zero).
UNIT_GRID = 32
_GRID = np.concatenate([np.geomspace(1.0, 1e-9, 28), [1e-11, 1e-13, 1e-15, 1e-17]])
#: Grid points times parameter points evaluated at once in the scan: the points are
#: taken in chunks of this many columns, all grid points of a point in one chunk, each
#: from a fresh start, so that a point's scan is the same whatever batch it is in
#: (docs/benchmarks.md, "Solver constants").
_BLOCK_COLUMNS = 65536
_FIXED_POINT_TOL = 1e-12  # |T(Y) - Y| relative to 1 + |Y|
_STEP_TOL = 1e-14  # or a Newton step relative to 1 + |Y|
_REFINE_MAX = 80  # regula falsi iterations per bracket, at most
_REFINE_WIDTH = 1e-5  # brackets in log Q are refined to this width; Newton does the rest
_FIRST_REFINE = 80  # regula falsi steps before Newton's method on the full system
_ILL_CONDITIONED = 1e-9  # smallest over largest singular value of the Newton system
#: Below this ratio of singular values every ill-conditioned state gets the regula falsi
#: to rounding; above it only those without (or with a very weak) weight decay or near a
#: continuous collapse, where Newton's method leaves a unit off its soft direction: the
#: others (as at alpha in [50, 1e4], condition up to 1e13) are brought to rounding by
#: the extended-precision steps of :func:`finish` (checked against the closed forms:
#: docs/benchmarks.md, "Solver constants").
_SEVERELY_ILL_CONDITIONED = 1e-15
#: A float64 solution whose last Newton step is above this (relative to 1 + |z|) gets
#: Newton steps with the residual in extended precision (:func:`refine_extended`): below
#: it the float64 iterate is within a few units in the last place.
_EXTENDED_STEP = 1e-14
#: Width in log Q to which the regula falsi of ill-conditioned states is refined, in
#: extended precision (a few units of its rounding).
_EXTENDED_WIDTH = 8 * float(np.finfo(np.longdouble).eps)
_FOLD_START = 1.005  # the fold of a unit is approached from the fixed point at this s / edge
#: Slack on the contraction rate of the conjugate map: the overfitting unit sits on the
#: fold, where it is exactly 1; near a continuous collapse (Q ~ 1e-11) the equations are
#: nearly singular and their rounding moves it by up to about 2e-6.
_CONTRACTION_SLACK = 1e-5

# Free unknowns and the equations that fix them, per family (indices into the unknowns
# Q, R, E, m, d, chihat_Q, chihat_R, chihat_E): a collapsed unit has Q = R = E = m = d = 0
# and its precision fixed by the Q, R, E equations; an overfitting unit has m = d = 0.
NEWTON_BLOCKS = {
    0: ((0, 1, 2), (5, 6, 7)),
    1: ((0, 1, 2, 5, 6, 7), (0, 1, 2, 5, 6, 7)),
    2: (tuple(range(8)), tuple(range(8))),
}


def _system_masks():
    """Per family: the entries of the Jacobian kept in its Newton system (8, 8), the
    unit entries that pin its fixed unknowns (the i-th equation it does not use against
    its i-th fixed unknown), and the equations it uses (8,)."""
    keep = np.zeros((len(NEWTON_BLOCKS), 8, 8), bool)
    unit = np.zeros((len(NEWTON_BLOCKS), 8, 8))
    rows = np.zeros((len(NEWTON_BLOCKS), 8), bool)
    for code, (used, free) in NEWTON_BLOCKS.items():
        keep[code][np.ix_(used, free)] = True
        unused = [r for r in range(8) if r not in used]
        fixed = [c for c in range(8) if c not in free]
        unit[code][unused, fixed] = 1.0
        rows[code][list(used)] = True
    return keep, unit, rows


_KEEP, _UNIT, _ROWS = _system_masks()
#: Which unknowns move, per family (rows of this array, indexed by the family code).
_FREE = _KEEP.any(axis=1)


def effective_weight_decay(alpha, beta, lam, eta):
    """lam, with values below 1e-14 alpha min(alpha, 1) min(beta, eta) set to zero.

    Such a weight decay moves the solution by less than its float64 rounding (the change
    is linear in lam, with a slope that grows as 1/alpha at small alpha), but it breaks
    the symmetries the solver uses without weight decay (the invariant boundary of the
    cone, the flat encoder directions), and next to alpha = 1 it leaves the system
    nearly singular: the solution is its limit lam -> 0+ (the measurements are in
    docs/benchmarks.md, "Solver constants").

    Parameters
    ----------
    alpha, beta, lam, eta : array_like
        Sample complexity, KL weight, weight decay and noise strength (broadcast together).

    Returns
    -------
    ndarray
        The weight decay the solver uses.
    """
    lam = np.asarray(lam, dtype=float)
    alpha = np.asarray(alpha, dtype=float)
    return np.where(lam <= 1e-14 * alpha * np.minimum(alpha, 1) * np.minimum(beta, eta),
                    0.0, lam)


def weak_weight_decay(params):
    """Where the weight decay is zero or below 1e-6 alpha min(beta, eta).

    Without weight decay the minimum-norm steps of the polish leave near-singular
    directions alone; a weight decay far below the other terms (but above
    :func:`effective_weight_decay`'s cut) leaves a soft direction next to alpha = 1
    (off by up to 5.7e-9 at lam = 1e-13). At such points a converged float64 Newton
    step says nothing about the error: :func:`finish` always refines them in extended
    precision, and continuation checks the condition of their Newton system.

    Parameters
    ----------
    params : sequence of 5 array_like
        alpha, beta, lam, rho, eta, each broadcasting to ``(n,)``.

    Returns
    -------
    ndarray of bool
        True where the weight decay is weak.
    """
    alpha, beta, lam, rho, eta = (np.asarray(p, dtype=float) for p in params)
    return lam <= 1e-6 * alpha * np.minimum(beta, eta)


def _real(v):
    """A float array of v, of v's precision where that is wider (long double)."""
    return np.asarray(v, dtype=np.result_type(v, float))


def _extended(v):
    """v as a long-double array (the plain double on platforms without a wider type)."""
    return np.asarray(v, dtype=np.longdouble)


def _finer(x):
    """The rounding of x's type relative to float64's: the tolerances of the Newton
    iterations shrink with it in extended precision."""
    return float(np.finfo(x.dtype).eps / np.finfo(float).eps)


def _arrays(values):
    return [_real(v) for v in np.broadcast_arrays(*values)]


def _positive(Y):
    # positive semidefinite with Y11 > 0: without weight decay and with fewer samples
    # than dimensions the encoder has flat directions, and the precision of the encoder
    # block vanishes (chi_E is infinite) on the physical fixed point
    with np.errstate(invalid="ignore", over="ignore"):
        det = Y[0] * Y[2] - Y[1] ** 2
        # a finite determinant with Y11 > 0, Y22 >= 0 leaves no entry infinite or NaN
        return (Y[0] > 0) & (Y[2] >= 0) & (det >= 0) & (det < np.inf)


def ridge(s, y, alpha, lam):
    """c and kappa for a unit on spectral value s: (1, 1) entry lam + c = alpha s kappa,
    with the ridge-optimal encoder W~ = kappa W, kappa = 1/(y + lam/(alpha s)).

    Parameters
    ----------
    s : array_like
        The spectral value the unit is attached to (> 0).
    y : array_like
        y = Q + beta of the unit.
    alpha : array_like
        Sample complexity.
    lam : array_like
        Weight decay.

    Returns
    -------
    c : ndarray
        The constant of the (1, 1) entry of the conjugate map.
    kappa : ndarray
        The ratio W~ / W of the ridge-optimal encoder.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = 1 / (y + lam / (alpha * s))
    return alpha * s * kappa - lam, kappa


def _spectral_value(c, y, alpha, lam):
    """The s at which :func:`ridge` gives c (the positive root of a quadratic)."""
    C = c + lam
    with np.errstate(invalid="ignore"):
        return (C * y + np.sqrt((C * y) ** 2 + 4 * C * lam)) / (2 * alpha)


def _fresh(y, c, alpha, lam, eta):
    """A start above the attracting fixed point (the map decreases it monotonically)."""
    return np.stack(np.broadcast_arrays(lam + c + alpha * eta, 0 * y,
                                        lam + alpha * eta + 1e-3 * (1 + lam)))


def _fresh_high(y, c, alpha, lam, eta):
    """Without weight decay and for alpha > 1 the fixed point's Y_22 grows like
    (alpha - 1) eta y and exceeds that of :func:`_fresh` at large y (at alpha = 1.03,
    eta = 40 from Q ~ 50 on: no fixed point was found on the overfitting unit's
    Q = 157): a start with Y_22 = alpha eta max(1, y), the last one tried."""
    return np.stack(np.broadcast_arrays(lam + c + alpha * eta, 0 * y,
                                        alpha * eta * np.maximum(1, y) + 1e-3))


def contraction(Y, y, alpha, eta):
    """Contraction rate of the map at Y: below 1 on an attracting fixed point.

    The linearised map is dY -> L dY L^T on symmetric 2 x 2 matrices, with
    L = eta sqrt(alpha) A X; its eigenvalues are mu_i mu_j for the eigenvalues mu of L,
    and the rate returned is max |mu|. It is read off the generated Jacobian J of the
    map (tr J = sigma^2 - pi and det J = pi^3 with sigma = mu_1 + mu_2, pi = mu_1 mu_2),
    which stays finite where the encoder precision vanishes (chi_E infinite). The
    Jacobian does not depend on the additive constants c and lam of the map.

    Parameters
    ----------
    Y : ndarray, shape (3, n)
        The precision matrix (Y_11, Y_12, Y_22) of each column.
    y : array_like
        y = Q + beta of the unit.
    alpha, eta : array_like
        Sample complexity and noise strength.

    Returns
    -------
    ndarray
        The rate max |mu| of each column.
    """
    U = unit_functions()
    with np.errstate(all="ignore"):
        out = stacked(U.mp_map_jacobian, *Y, y, 0.0, alpha, 0.0, eta)
        J = out[3:].reshape((3, 3) + out.shape[1:])
        trace = J[0, 0] + J[1, 1] + J[2, 2]
        det = (J[0, 0] * (J[1, 1] * J[2, 2] - J[1, 2] * J[2, 1])
               - J[0, 1] * (J[1, 0] * J[2, 2] - J[1, 2] * J[2, 0])
               + J[0, 2] * (J[1, 0] * J[2, 1] - J[1, 1] * J[2, 0]))
        pi = np.cbrt(det)
        sigma2 = np.maximum(trace + pi, 0)
        disc = sigma2 - 4 * pi
        root = np.sqrt(np.abs(disc))
        sigma = np.sqrt(sigma2)
        return np.where(disc >= 0, (sigma + root) / 2, np.sqrt(np.abs(pi)))


def _newton_map(Y, y, c, alpha, lam, eta, boundary, *, max_steps=20):
    """Newton's method on Y = T(Y), all columns at once. Returns (Y, converged).

    A Newton step that leaves the cone is replaced by a plain map step (which, from
    above, moves towards the attracting point). On ``boundary`` columns Y_12 = Y_22 = 0
    is kept (an invariant set of the map without weight decay).
    """
    U = unit_functions()
    Y = np.array(_real(Y))
    finer = _finer(Y)
    Y = Y.astype(np.result_type(Y, y, c, alpha, lam, eta), copy=False)
    args = [np.broadcast_to(v, Y.shape[1:]) for v in (y, c, alpha, lam, eta, boundary)]
    Y[1:] = np.where(args[-1], 0.0, Y[1:])
    done = np.zeros(Y.shape[1:], bool)
    # a column stays where it converged: only the others are evaluated (the same steps,
    # column by column, as evaluating all of them until every one has converged)
    live = np.arange(Y.shape[1])
    Yl, par = Y.copy(), args
    with np.errstate(all="ignore"):
        for _ in range(max_steps):
            *values, edge = par
            out = stacked(U.map_step, *Yl, *values)
            F, step = out[:3], out[3:6].copy()
            step[0] = np.where(edge, F[0] / out[7], step[0])
            step[1:] = np.where(edge, 0.0, step[1:])
            # converged: the residual at rounding, or (where T - Y cancels terms much
            # larger than Y) a Newton step at rounding
            now = ((np.max(np.abs(F) / (1 + np.abs(Yl)), axis=0) < _FIXED_POINT_TOL * finer)
                   | (np.max(np.abs(step) / (1 + np.abs(Yl)), axis=0) < _STEP_TOL * finer))
            if now.any():
                done[live[now]] = True
                Y[:, live[now]] = Yl[:, now]
                rest = ~now
                live, Yl, F, step = live[rest], Yl[:, rest], F[:, rest], step[:, rest]
                par = [v[rest] for v in par]
                edge = par[-1]
                if not len(live):
                    break
            trial = Yl - step
            trial[1:] = np.where(edge, 0.0, trial[1:])
            plain = Yl + F
            Yl = np.where(_positive(trial), trial, np.where(_positive(plain), plain, Yl))
        Y[:, live] = Yl
    return Y, done & _positive(Y)


def _iterate(Y, y, c, alpha, lam, eta, steps):
    """Plain iterations of the map: they converge to its attracting fixed point."""
    U = unit_functions()
    with np.errstate(all="ignore"):
        for _ in range(steps):
            out = stacked(U.map_step, *Y, y, c, alpha, lam, eta)[:3]
            out = Y + out
            Y = np.where(_positive(out), out, Y)
    return Y


def attracting_fixed_point(y, c, alpha, lam, eta, start=None):
    """The attracting fixed point of the map, for every column. Returns (Y, ok).

    Newton's method from ``start`` (default: a fresh start above the fixed point);
    without weight decay first on the boundary Y_12 = Y_22 = 0, where the physical
    point lies for alpha < 1 (there the encoder direction contracts at rate alpha).
    Columns where Newton does not end on an attracting point are retried from a fresh
    start and then after plain map iterations, which converge to the attracting point
    (slowly). Where no attracting point exists (a collapsed unit below its threshold)
    ``ok`` is False.

    Parameters
    ----------
    y : array_like
        y = Q + beta of the unit.
    c : array_like
        The constant on the (1, 1) entry of the map.
    alpha, lam, eta : array_like
        Sample complexity, weight decay and noise strength (broadcast with ``y``, ``c`` to
        one dimension of n columns).
    start : array_like, shape (3, n), optional
        Warm start (Y_11, Y_12, Y_22) (default: a fresh start above the fixed point).

    Returns
    -------
    Y : ndarray, shape (3, n)
        The fixed point (Y_11, Y_12, Y_22) of each column, meaningful where ``ok``.
    ok : ndarray of bool, shape (n,)
        Where an attracting fixed point was found.
    """
    y, c, alpha, lam, eta = _arrays((y, c, alpha, lam, eta))
    fresh = _fresh(y, c, alpha, lam, eta)
    Y = fresh.copy() if start is None else np.array(np.broadcast_to(start, fresh.shape))
    ok = np.zeros(y.shape, bool)
    sub = lambda idx: (y[idx], c[idx], alpha[idx], lam[idx], eta[idx])  # noqa: E731
    no_decay = lam == 0
    if no_decay.any():
        idx = np.nonzero(no_decay)[0]
        Yb, conv = _newton_map(Y[:, idx], *sub(idx), True)
        good = conv & (contraction(Yb, y[idx], alpha[idx], eta[idx]) <= 1 + 1e-9)
        Y[:, idx[good]] = Yb[:, good]
        ok[idx[good]] = True
    # a fresh start rescues nearly every failed warm start, 30 map iterations first the
    # rest (docs/benchmarks.md, "Solver constants")
    for stage in ("start", "fresh", 30, "high"):
        todo = np.nonzero(~ok)[0]
        if stage == "high":
            todo = todo[no_decay[todo]]
        if not len(todo) or (stage == "fresh" and start is None):
            continue
        Yi = Y[:, todo] if stage == "start" else fresh[:, todo]
        if stage == "high":
            Yi = _fresh_high(*sub(todo))
        if stage == "start" and start is None:
            Yi = Yi.copy()
        if isinstance(stage, int):
            Yi = _iterate(Yi, *sub(todo), stage)
        # Newton converges in a few steps from a warm start, in up to 16 from a fresh one
        steps = 10 if stage == "start" and start is not None else 20
        Yn, conv = _newton_map(Yi, *sub(todo), False, max_steps=steps)
        good = conv & (contraction(Yn, y[todo], alpha[todo], eta[todo]) < 1)
        Y[:, todo[good]] = Yn[:, good]
        ok[todo[good]] = True
    # without weight decay a point within rounding of the invariant boundary lies on it
    on_edge = no_decay & (np.abs(Y[1]) <= 1e-12 * Y[0]) & (np.abs(Y[2]) <= 1e-12 * Y[0])
    Y[1:] = np.where(on_edge, 0.0, Y[1:])
    return Y, ok


def _newton_spectral(Y, c, y, alpha, lam, eta, sigma, boundary, *, max_steps=30):
    """Newton's method on the extended system T(Y) = Y, det(N + sigma I) = 0 in (Y, c).

    Returns (Y, c, converged). A step is halved (up to six times) until it stays in the
    cone and the next Newton step is shorter (the natural monotonicity test, which does
    not depend on how the equations are scaled); columns where none is stop there.
    """
    U = unit_functions()
    x = np.concatenate([_real(Y), _real(c)[None]])
    finer = _finer(x)
    edge = np.broadcast_to(boundary, x.shape[1:])
    x[1:3] = np.where(edge, 0.0, x[1:3])
    args = [np.broadcast_to(v, x.shape[1:]) for v in (y, alpha, lam, eta, sigma, edge)]

    def evaluate(x, idx):
        yi, ai, li, ei, si, bi = (v[idx] for v in args)
        with np.errstate(all="ignore"):
            out = stacked(U.spectral_step, *x[:3], yi, x[3], ai, li, ei, si)
            scale = (ei + np.abs(si) + np.abs(yi * x[0]) + np.abs(yi * x[1]) + np.abs(x[1])
                     + np.abs(x[2])) ** 2
            F = np.max(np.abs(out[:3]) / (1 + np.abs(x[:3])), axis=0)
            h = np.abs(out[3]) / scale
            step = out[4:8]
            # on the boundary the step in (Y_11, c) alone: dY_11 = h / (dh/dY_11),
            # dc = F_11 - (dF_11/dY_11) dY_11 (the full one is singular at alpha = 1)
            dY = out[3] / out[9]
            step = np.stack([np.where(bi, dY, step[0]), np.where(bi, 0.0, step[1]),
                             np.where(bi, 0.0, step[2]),
                             np.where(bi, out[0] - out[8] * dY, step[3])])
            # merit: the size of the next Newton step (invariant under scaling of the
            # equations), relative to the unknowns
            size = np.max(np.abs(step) / (1 + np.abs(x)), axis=0)
        ok = _positive(x[:3]) & np.isfinite(size)
        # converged: the residual at rounding, or (where T - Y cancels terms much larger
        # than Y, as at alpha eta ~ 1e12) a Newton step at rounding
        done = (((F < _FIXED_POINT_TOL * finer) & (h < 1e-12 * finer))
                | (size < _STEP_TOL * finer))
        return step, np.where(ok, size, np.inf), done & ok

    every = np.arange(x.shape[1])
    steps, merit, done = evaluate(x, every)
    live = np.isfinite(merit) & ~done
    for _ in range(max_steps):
        if not live.any():
            break
        pending = np.nonzero(live)[0]
        step = steps[:, pending]
        t = 1.0
        for _ in range(7):
            trial = x[:, pending] - t * step
            s, m, d = evaluate(trial, pending)
            take = (m < (1 - t / 4) * merit[pending]) | d
            k = pending[take]
            x[:, k], steps[:, k], merit[k], done[k] = trial[:, take], s[:, take], m[take], d[take]
            pending, step = pending[~take], step[:, ~take]
            if not len(pending):
                break
            t /= 2
        live[pending] = False  # no step reduces the residual: stuck
        live &= ~done
    return x[:3], x[3], done & _positive(x[:3])


def _unique_rows(*columns):
    """Unique rows of the stacked columns, and the index of each row's unique row."""
    stacked = np.stack([np.asarray(v, float) for v in columns], axis=1)
    uniq, inverse = np.unique(stacked, axis=0, return_inverse=True)
    return [uniq[:, k] for k in range(uniq.shape[1])], inverse.ravel()


def spectral_values(alpha, eta, rhos):
    """Top edge of the noise bulk and the outliers of the features, per point.

    Parameters
    ----------
    alpha, eta : ndarray (n,)
    rhos : ndarray (k, n)
        Feature strengths.

    Returns
    -------
    edge : ndarray (n,)
        NaN where it could not be computed.
    outliers : ndarray (k, n)
        Spectral value of each feature's outlier; NaN where the feature does not
        separate from the bulk.
    """
    alpha, eta = np.asarray(alpha, float), np.asarray(eta, float)
    rhos = np.atleast_2d(np.asarray(rhos, float))
    # the values depend on (alpha, eta, rho) only: compute each distinct one once
    (a, e, *r), inverse = _unique_rows(alpha, eta, *rhos)
    edge, outliers = _spectral_values(a, e, np.array(r))
    return edge[inverse], outliers[:, inverse]


#: Reference units (y, lam) / (eta, alpha eta^2) of the spectral values, tried in turn:
#: the values do not depend on the unit, but rounding does, and each unit rescues points
#: where the ones before it fail (docs/benchmarks.md, "Solver constants").
_REFERENCE_UNITS = ((10.0, 1e-2), (1.0, 1e-2), (1.0, None))


def _spectral_values(alpha, eta, rhos):
    edge = np.full(alpha.shape, np.nan)
    outliers = np.full(rhos.shape, np.nan)
    decided = np.zeros(rhos.shape, bool)  # outlier found, or shown not to exist
    for y_unit, lam_unit in _REFERENCE_UNITS:
        todo = np.nonzero(np.isnan(edge) | ~decided.all(axis=0))[0]
        if not len(todo):
            break
        a, e, r = alpha[todo], eta[todo], rhos[:, todo]
        lam = 1e-2 * a * e if lam_unit is None else lam_unit * a * e * e
        ed, out, ok, dec = _spectral_values_at(a, e, r, y_unit * e, lam)
        new = ok & np.isnan(edge[todo])
        edge[todo[new]] = ed[new]
        take = dec & ok & ~decided[:, todo]
        outliers[:, todo] = np.where(take, out, outliers[:, todo])
        decided[:, todo] |= take
    return edge, outliers


def _spectral_values_at(alpha, eta, rhos, y, lam):
    """Spectral values from the reference unit (y, lam), with weight decay so that its
    fixed point is interior. Returns (edge, outliers, edge found, outlier decided)."""
    no = np.zeros(alpha.shape[0], bool)
    # above every eigenvalue: (rho_max + eta)(1 + alpha^-1/2)^2 bounds the spectrum
    s0 = 2 * (rhos.max(axis=0) + eta) * (1 + 1 / np.sqrt(alpha)) ** 2
    c0, _ = ridge(s0, y, alpha, lam)
    Y0, ok0 = attracting_fixed_point(y, c0, alpha, lam, eta)
    Ye, ce, ok = _newton_spectral(Y0, c0, y, alpha, lam, eta, eta * np.sqrt(alpha), no)
    r = contraction(Ye, y, alpha, eta)
    ok &= ok0 & (np.abs(r - 1) < 1e-6)
    edge = np.where(ok, _spectral_value(ce, y, alpha, lam), np.nan)
    outliers = np.full(rhos.shape, np.nan)
    decided = np.zeros(rhos.shape, bool)
    for k, rho in enumerate(rhos):
        Yo, co, conv = _newton_spectral(Y0, c0, y, alpha, lam, eta, alpha * rho, no)
        s = _spectral_value(co, y, alpha, lam)
        attracting = contraction(Yo, y, alpha, eta) < 1
        # on the attracting branch, above the edge: otherwise the feature stays in the bulk
        found = conv & ok0 & attracting & (s > edge)
        outliers[k] = np.where(found, s, np.nan)
        # no root at all (Newton does not converge) is taken as no outlier only when
        # no other reference unit finds one
        decided[k] = conv & ok0
    return edge, outliers, ok, decided


def _on_fold(Y, c_fold, c, y, alpha, lam, eta):
    """A fold of the map with rate 1, at the bulk edge found before (c of the edge)."""
    return ((np.abs(contraction(Y, y, alpha, eta) - 1) < _CONTRACTION_SLACK)
            & (np.abs(c_fold - c) <= 1e-8 * (np.abs(c) + lam + alpha * eta)))


def _unit_state(params, s, family, Q, start):
    """Unit on spectral value s with decoder norm Q (all arrays of one shape (n,)).

    ``start`` is the precision (3, n) to start the fixed point from (for the bulk edge
    (6, n): the attracting point at 1.005 s, from which the fold is reached, and the
    fold itself), None for a fresh start. Returns z (8, n) in the order of
    :data:`symrep.numeric.system.UNKNOWN_NAMES` (m and d NaN where m^2 is not in
    (0, Q]), the residual d f/dQ there (NaN where the fixed point does not exist) and
    the start for a nearby Q.
    """
    alpha, beta, lam, rho, eta = params
    U = unit_functions()
    y = Q + beta
    c, kappa = ridge(s, y, alpha, lam)
    boundary = lam == 0
    if family == 1:
        n = Q.shape[0]
        Y = np.full((3, n), np.nan, dtype=y.dtype)  # long double where Q is
        c_fold = np.full(n, np.nan, dtype=y.dtype)
        ok = np.zeros(n, bool)
        Y_above = np.full((3, n), np.nan, dtype=y.dtype)
        if start is not None and start.shape[0] == 6:
            # the fold of a nearby Q, with c moved to this y's edge: Newton on the
            # extended system straight from there (inside regula falsi brackets)
            fold = start[3:]
            on_edge = boundary & (fold[1] == 0) & (fold[2] == 0)
            Y, c_fold, ok = _newton_spectral(fold, c, y, alpha, lam, eta,
                                             eta * np.sqrt(alpha), on_edge, max_steps=8)
            ok &= _on_fold(Y, c_fold, c, y, alpha, lam, eta)
            Y_above = np.where(ok[None], start[:3], np.nan)
        todo = np.nonzero(~ok)[0]
        if len(todo):
            # the attracting point just above the edge (s (1 + 5e-3): Newton on the
            # extended system converges from there, not from further above; see
            # docs/benchmarks.md, "Solver constants"), then Newton on the extended
            # system to the fold
            sub = (y[todo], alpha[todo], lam[todo], eta[todo])
            c_above, _ = ridge(_FOLD_START * s[todo], sub[0], sub[1], sub[2])
            warm = None if start is None else start[:3, todo]
            Ya, oka = attracting_fixed_point(sub[0], c_above, sub[1], sub[2], sub[3], warm)
            on_edge = boundary[todo] & (Ya[1] == 0) & (Ya[2] == 0)
            Yf, cf, conv = _newton_spectral(Ya, c_above, *sub, eta[todo] * np.sqrt(alpha[todo]),
                                            on_edge)
            Y[:, todo], c_fold[todo], ok[todo], Y_above[:, todo] = Yf, cf, oka & conv, Ya
            ok[todo] &= _on_fold(Yf, cf, c[todo], *sub)
        after = np.concatenate([Y_above, Y])
    else:
        Y, ok = attracting_fixed_point(y, c, alpha, lam, eta, start)
        after = Y
    with np.errstate(all="ignore"):
        gQ0, gQ2, gY0, gY2 = stacked(U.unit_residual, Q, kappa, *Y, *params)
        if family == 2:
            # m^2 enters d f/dY_11 linearly. The sign of d f/dQ is followed also where
            # m^2 falls outside (0, Q] (no real state there): it stays continuous
            m2 = -gY0 / gY2
            real = (m2 > 0) & (m2 <= Q * (1 + 1e-12))
            m = np.where(real, np.sqrt(np.clip(m2, 0, Q)), np.nan)
            g = gQ0 + gQ2 * m2
        else:
            m = 0 * Q
            g = gQ0
    z = np.stack([Q, kappa * Q, kappa**2 * Q, m, kappa * m, *Y])
    return z, np.where(ok, g, np.nan), np.where(ok[None], after, np.nan)


def _scan(params, s, family):
    """Values of d f/dQ on the grid of Q for units on spectral value s.

    Returns (Q (G, n), g (G, n), starts (G, k, n)) from the largest Q down. Every grid
    point starts its fixed point afresh, so that a point's values depend on that point
    alone, not on the batch it is in (the grid rows were once split into blocks sized by
    the batch, each warm-started from the one before: the same point then had other
    roots among thousands of points than alone). The points are taken in chunks of
    about :data:`_BLOCK_COLUMNS` columns, all grid points of a chunk's points at once.
    """
    n = s.shape[0]
    alpha, beta, lam, rho, eta = params
    q_max = 2 * (s + lam / (alpha * beta))
    fractions = _GRID
    Q = fractions[:, None] * q_max[None]
    g = np.full(Q.shape, np.nan)
    starts = np.full((UNIT_GRID, 6 if family == 1 else 3, n), np.nan)
    chunk = max(1, _BLOCK_COLUMNS // UNIT_GRID)
    for lo in range(0, n, chunk):
        pts = slice(lo, min(lo + chunk, n))
        k = pts.stop - pts.start
        sub = tuple(np.tile(p[pts], UNIT_GRID) for p in params)
        _, gi, after = _unit_state(sub, np.tile(s[pts], UNIT_GRID), family,
                                   Q[:, pts].ravel(), None)
        g[:, pts] = gi.reshape(UNIT_GRID, k)
        starts[:, :, pts] = after.reshape(after.shape[0], UNIT_GRID, k).transpose(1, 0, 2)
    return Q, g, starts


def _refine(params, s, family, lo, g_lo, st_lo, hi, g_hi, st_hi, width=None,
            max_iter=_REFINE_MAX):
    """Regula falsi (Anderson-Bjorck) on log Q between the ends of brackets.

    The bracket is shrunk to the relative ``width`` in log Q (default
    :data:`_REFINE_WIDTH`), inside the region where Newton's method on the full system
    converges; a root that Newton's method takes out of its bracket is refined again
    with a width near rounding (without weight decay the equations hardly depend on Q
    near some roots, and the sign change of d f/dQ locates the root even where its
    slope is tiny). Returns the state (z, found) at the end of the final bracket with
    the smaller residual, and the final bracket (lo, g_lo, st_lo, hi, g_hi, st_hi).
    """
    width = _REFINE_WIDTH if width is None else width
    a, b = np.log(lo), np.log(hi)
    fa, fb = np.array(_real(g_lo)), np.array(_real(g_hi))
    Sa, Sb = np.array(_real(st_lo)), np.array(_real(st_hi))
    active = np.ones(a.shape, bool)
    for _ in range(max_iter):
        idx = np.nonzero(active)[0]
        if not len(idx):
            break
        ai, bi, fai, fbi = a[idx], b[idx], fa[idx], fb[idx]
        with np.errstate(all="ignore"):
            m = (ai * fbi - bi * fai) / (fbi - fai)
        m = np.where(np.isfinite(m) & (m > np.minimum(ai, bi)) & (m < np.maximum(ai, bi)),
                     m, 0.5 * (ai + bi))
        start = np.where((np.abs(fai) <= np.abs(fbi))[None], Sa[:, idx], Sb[:, idx])
        _, fm, Sm = _unit_state(tuple(p[idx] for p in params), s[idx], family, np.exp(m),
                                start)
        bad = ~np.isfinite(fm)
        same_a = np.sign(fm) == np.sign(fai)
        # Anderson-Bjorck: the end that stays has its value scaled by 1 - f_new/f_replaced
        # (by 1/2 where that is not positive), so that the bracket keeps shrinking from
        # both sides (superlinear, faster than the Illinois halving)
        with np.errstate(all="ignore"):
            scale = np.where(same_a, 1 - fm / fai, 1 - fm / fbi)
        scale = np.where(np.isfinite(scale) & (scale > 0), scale, 0.5)
        fbi = np.where(same_a, fbi * scale, fbi)
        fai = np.where(~same_a, fai * scale, fai)
        a[idx] = np.where(same_a, m, ai)
        fa[idx] = np.where(same_a, fm, fai)
        b[idx] = np.where(same_a, bi, m)
        fb[idx] = np.where(same_a, fbi, fm)
        Sa[:, idx] = np.where(same_a[None] & ~bad[None], Sm, Sa[:, idx])
        Sb[:, idx] = np.where(~same_a[None] & ~bad[None], Sm, Sb[:, idx])
        done = bad | (np.abs(b[idx] - a[idx]) <= width * np.maximum(1, np.abs(a[idx])))
        done |= fm == 0
        active[idx] = ~done
    use_a = np.abs(fa) <= np.abs(fb)
    Q = np.exp(np.where(use_a, a, b))
    z, fm, _ = _unit_state(params, s, family, Q, np.where(use_a[None], Sa, Sb))
    found = np.isfinite(fm) & np.all(np.isfinite(z), axis=0)
    return z, found, (np.exp(a), fa, Sa, np.exp(b), fb, Sb)


def _brackets(g):
    """Sign changes of d f/dQ along the grid (G, n): arrays (grid row, point, previous
    row) of every bracket. A grid point where the state could not be computed does not
    break a bracket: the comparison is with the last point where it could."""
    n = g.shape[1]
    rows, pts, prevs = [], [], []
    last = np.full(n, -1)
    for j in range(UNIT_GRID):
        ok = np.isfinite(g[j])
        has = ok & (last >= 0)
        prev = np.where(has, last, 0)
        change = np.nonzero(has & (np.sign(g[j]) != np.sign(g[prev, np.arange(n)])))[0]
        rows.append(np.full(len(change), j))
        pts.append(change)
        prevs.append(prev[change])
        last = np.where(ok, j, last)
    return tuple(np.concatenate(v).astype(int) for v in (rows, pts, prevs))


def _family_roots(params, s, family, scan=None):
    """All roots of d f/dQ for units on spectral value s (family 1 bulk, 2 outlier).

    ``scan`` is the result of :func:`_scan` for these points (computed when None).
    Returns a list of (z (8, n), found (n,), bracket): the first, second, ... root of
    each point in the order of the grid (largest Q first); ``bracket`` holds the final
    bracket of each root (arrays over the n points: ``lo``, ``g_lo``, ``st_lo``,
    ``hi``, ``g_hi``, ``st_hi``), the grid interval it was found in (``grid_lo``,
    ``grid_hi``) and the spectral value ``s``.
    """
    n = s.shape[0]
    Q, g, starts = _scan(params, s, family) if scan is None else scan
    rows, pts, prevs = _brackets(g)
    if not len(rows):
        return []
    sub = tuple(p[pts] for p in params)
    z, found, ends = _refine(sub, s[pts], family, Q[rows, pts], g[rows, pts],
                             starts[rows, :, pts].T, Q[prevs, pts], g[prevs, pts],
                             starts[prevs, :, pts].T, max_iter=_FIRST_REFINE)
    # number the roots of each point in grid order
    order = np.lexsort((rows, pts))
    rank = np.zeros(len(pts), int)
    for k in range(1, len(order)):
        if pts[order[k]] == pts[order[k - 1]]:
            rank[order[k]] = rank[order[k - 1]] + 1
    roots = []
    names = ("lo", "g_lo", "st_lo", "hi", "g_hi", "st_hi")
    for r in range(rank.max() + 1):
        sel = rank == r
        full = np.full((8, n), np.nan)
        full[:, pts[sel]] = z[:, sel]
        ok = np.zeros(n, bool)
        ok[pts[sel]] = found[sel]
        bracket = {"s": s}
        grid = (Q[rows, pts], Q[prevs, pts])
        for name, value in zip(("grid_lo", "grid_hi", *names), (*grid, *ends), strict=True):
            out = np.full(value.shape[:-1] + (n,), np.nan)
            out[..., pts[sel]] = value[..., sel]
            bracket[name] = out
        roots.append((full, ok, bracket))
    return roots


def _collapsed_start(params, edge):
    """The collapsed unit: Q = R = E = m = d = 0 and D = 1, so the (1, 1) entry of the map
    carries c = alpha. The map has an attracting fixed point only above its fold, which
    at y = beta is at c(edge). Returns (z (8, n), found (n,))."""
    alpha, beta, lam, rho, eta = params
    n = alpha.shape[0]
    c_fold, _ = ridge(edge, beta, alpha, lam)
    exists = ~(alpha < c_fold * (1 - 1e-9))  # and where the edge is unknown (NaN): try
    Y = np.full((3, n), np.nan)
    ok = np.zeros(n, bool)
    idx = np.nonzero(exists)[0]
    if len(idx):
        Y[:, idx], ok[idx] = attracting_fixed_point(beta[idx], alpha[idx], alpha[idx],
                                                    lam[idx], eta[idx])
    # within 1e-8 of the threshold, on either side, the fixed point may be just past the
    # fold (or the unit norm of the overfitting unit below what the scan resolves): there
    # the collapsed unit is the overfitting one at Q = 0, on the fold
    near = np.nonzero(~ok & np.isfinite(edge)
                      & (np.abs(alpha - c_fold) <= 1e-8 * np.abs(c_fold)))[0]
    if len(near):
        sub = tuple(p[near] for p in params)
        z, g, _ = _unit_state(sub, edge[near], 1, np.zeros(len(near)), None)
        good = np.isfinite(g)
        Y[:, near[good]] = z[5:8, good]
        ok[near[good]] = True
    return np.concatenate([np.zeros((5, n)), Y]), ok


def collapsed_state(alpha, beta, lam, rho=1.0, eta=1.0):
    """The collapsed stationary point of one unit (W = W~ = 0), polished.

    Parameters
    ----------
    alpha, beta, lam, rho, eta : array_like
        Broadcast against each other.

    Returns
    -------
    z : ndarray (8, ...)
        The unknowns (Q, R, E, m, d, chihat_Q, chihat_R, chihat_E); NaN where the
        collapsed point does not exist (below the bulk-edge threshold) or fails the
        checks of :func:`stationary_points`.
    """
    arrays = _arrays((alpha, beta, lam, rho, eta))
    shape = arrays[0].shape
    params = tuple(a.ravel() for a in arrays)
    edge, _ = spectral_values(params[0], params[4], params[3][None])
    z, found = _collapsed_start(params, edge)
    idx = np.nonzero(found)[0]
    out = np.full(z.shape, np.nan)
    if len(idx):
        sub = tuple(p[idx] for p in params)
        zi, _ = polish(z[:, idx], sub, 0)
        good = (residual_norm(zi, sub) <= RESIDUAL_TOLERANCE) & _collapsed_ok(zi, sub)
        out[:, idx] = np.where(good, zi, np.nan)
    return out.reshape((8, *shape))


def _unit_scans(params, spectral=None):
    """The first stage of the search, per point: the spectral values (``spectral``:
    (edge, outliers) where the caller has them), the collapsed unit's start and the scan
    of d f/dQ of each family (:func:`_scan`). Returns a dict (``n``, ``edge``,
    ``outliers``, ``collapsed`` (z, found), ``scans``: family -> (points, spectral
    values, Q, g, starts) for the points where the family exists)."""
    alpha, beta, lam, rho, eta = params
    edge, outliers = (spectral_values(alpha, eta, rho[None]) if spectral is None
                      else spectral)
    scans = {}
    for family, s in ((1, edge), (2, outliers[0])):
        idx = np.nonzero(np.isfinite(s))[0]
        if len(idx):
            scans[family] = (idx, s[idx], *_scan(tuple(p[idx] for p in params), s[idx],
                                                   family))
    return dict(n=alpha.shape[0], edge=edge, outliers=outliers,
                collapsed=_collapsed_start(params, edge), scans=scans)


def _scan_signature(scans):
    """Per point (n, 3): whether the collapsed unit was found and how many roots of
    d f/dQ the scan brackets for the overfitting and the learning unit. Consecutive
    points of a curve with the same signature have, as a rule, the same states."""
    sig = np.zeros((scans["n"], 3), int)
    sig[:, 0] = scans["collapsed"][1]
    for family, (idx, _, _, g, _) in scans["scans"].items():
        sig[idx, family] = np.bincount(_brackets(g)[1], minlength=len(idx))
    return sig


def _join_scans(first, second):
    """The scans of two point sets, as one of their concatenation (first, then second)."""
    n = first["n"]
    scans = {}
    for family in sorted(set(first["scans"]) | set(second["scans"])):
        parts = [(idx + offset, s, Q, g, st) for offset, part in ((0, first), (n, second))
                 if family in part["scans"]
                 for idx, s, Q, g, st in [part["scans"][family]]]
        scans[family] = tuple(np.concatenate([p[k] for p in parts], axis=-1)
                              for k in range(5))
    return dict(n=n + second["n"],
                edge=np.concatenate([first["edge"], second["edge"]]),
                outliers=np.concatenate([first["outliers"], second["outliers"]], axis=1),
                collapsed=tuple(np.concatenate([a, b], axis=-1) for a, b in
                                zip(first["collapsed"], second["collapsed"], strict=True)),
                scans=scans)


def _unit_states(params, scans=None):
    """:func:`unit_states` with the bracket of each root (None for the collapsed unit),
    from the first stage ``scans`` (:func:`_unit_scans`, computed when None)."""
    scans = _unit_scans(params) if scans is None else scans
    n = scans["n"]
    states = [(0, *scans["collapsed"], None)]
    for family, (idx, s, *scan) in sorted(scans["scans"].items()):
        sub = tuple(p[idx] for p in params)
        for z, found, bracket in _family_roots(sub, s, family, scan):
            full = np.full((8, n), np.nan)
            full[:, idx] = z
            ok = np.zeros(n, bool)
            ok[idx] = found
            wide = {}
            for name, value in bracket.items():
                wide[name] = np.full(value.shape[:-1] + (n,), np.nan)
                wide[name][..., idx] = value
            states.append((family, full, ok, wide))
    return states


def unit_states(alpha, beta, lam, rho, eta):
    """Every stationary state of a single latent unit, as starting points.

    Parameters
    ----------
    alpha, beta, lam, rho, eta : ndarray (n,)
        Parameters of a one-unit, one-feature model.

    Returns
    -------
    list of (family, z, found)
        ``family`` 0 collapsed, 1 overfitting, 2 learning; ``z`` (8, n) unknowns
        (Q, R, E, m, d, chihat_Q, chihat_R, chihat_E), ``found`` (n,) where the state was
        found. Not yet polished: pass them through the Newton iteration of the full
        system.
    """
    params = tuple(_arrays((alpha, beta, lam, rho, eta)))
    return [state[:3] for state in _unit_states(params)]


def equation_scale(z, alpha, beta, lam, rho, eta):
    """Typical magnitude of the terms of the saddle-point equations at unknowns z.

    Parameters
    ----------
    z : ndarray, shape (8, n)
        The unknowns (Q, R, E, m, d, chihat_Q, chihat_R, chihat_E), one column per state.
    alpha, beta, lam, rho, eta : array_like
        The parameters, broadcasting to ``(n,)``.

    Returns
    -------
    ndarray, shape (n,)
        (1 + max |z|) (1 + alpha + lam + 1/beta) (1 + rho + eta).
    """
    size = 1.0 + np.max(np.abs(z), axis=0)
    return size * (1.0 + alpha + lam + 1.0 / beta) * (1.0 + rho + eta)


def residual_norm(z, params, *, dtype=float):
    """Largest residual of the saddle-point equations relative to :func:`equation_scale`,
    evaluated in ``dtype`` (``np.longdouble`` for an extended-precision check).

    Parameters
    ----------
    z : ndarray, shape (8, n)
        The unknowns (Q, R, E, m, d, chihat_Q, chihat_R, chihat_E), one column per state.
    params : sequence of 5 array_like
        alpha, beta, lam, rho, eta, each broadcasting to ``(n,)``.
    dtype : numpy dtype, optional
        The precision of the evaluation (default float).

    Returns
    -------
    ndarray, shape (n,)
        The relative residual, as float64 (NaN or inf where the equations are not finite).
    """
    gen = generated("compiled")
    with np.errstate(all="ignore"):
        res = stacked(gen.residual, *np.asarray(z, dtype=dtype),
                      *(np.asarray(p, dtype=dtype) for p in params))
        return (np.max(np.abs(res), axis=0).astype(float)
                / equation_scale(z, *(np.asarray(p, float) for p in params)))


def _newton_systems(J, F, family):
    """The square systems of a Newton step, one per column, for mixed families.

    The rows and columns of :data:`NEWTON_BLOCKS` of each family's column are kept; the
    others are replaced by unit entries so that the unknowns fixed by the family do not
    move. Returns (A (n, 8, 8), b (n, 8)).
    """
    family = np.asarray(family)
    # one elementwise selection over all columns (a gather per family costs more at the
    # sizes of the continuation's batches)
    A = np.where(_KEEP[family], np.moveaxis(J, -1, 0), _UNIT[family])
    b = np.where(_ROWS[family], F.T, 0.0)
    return A, b


def _solve(A, b, minimum_norm=None, rcond=1e-15):
    """Batched solve of A x = b; singular or non-finite systems give NaN.

    Where ``minimum_norm`` is set the solution is the least-squares one of minimum norm
    (singular values below ``rcond`` times the largest dropped): without weight decay the
    saddle point can be degenerate (flat encoder directions for alpha < 1), and such a
    step leaves the start's position along the flat directions alone.
    """
    finite = np.all(np.isfinite(A), axis=(1, 2)) & np.all(np.isfinite(b), axis=1)
    A = np.where(finite[:, None, None], A, np.eye(A.shape[1]))
    b = np.where(finite[:, None], b, 0.0)
    flat = np.zeros(len(b), bool) if minimum_norm is None else np.asarray(minimum_norm, bool)
    x = np.full(b.shape, np.nan)
    if flat.any():
        x[flat] = np.einsum("nij,nj->ni", np.linalg.pinv(A[flat], rcond=rcond), b[flat])
    rest = np.nonzero(~flat)[0]
    if len(rest):
        try:
            x[rest] = np.linalg.solve(A[rest], b[rest][..., None])[..., 0]
        except np.linalg.LinAlgError:
            for i in rest:
                try:
                    x[i] = np.linalg.solve(A[i], b[i])
                except np.linalg.LinAlgError:
                    x[i] = np.linalg.lstsq(A[i], b[i], rcond=None)[0]
    return np.where(finite[:, None], x, np.nan)


def polish(z, params, family, *, max_iter=40, minimum_norm=None, rcond=1e-15,
           return_step=False):
    """Newton's method on the generated saddle-point equations, to rounding.

    Runs until a full step below 1e-12 of the unknowns is taken (the iterate is then at
    rounding) or the residual, relative to the size of the terms of the equations, stops
    decreasing; returns the unknowns and that residual, and with ``return_step`` the size
    of the last step computed (relative to 1 + |z|): below 1e-12 where converged, about
    cond(J) times the rounding where the iteration stalls at its noise.

    Parameters
    ----------
    z : ndarray, shape (8, n)
        The starting unknowns (Q, R, E, m, d, chihat_Q, chihat_R, chihat_E), one column
        per state.
    params : sequence of 5 ndarray, shape (n,)
        alpha, beta, lam, rho, eta.
    family : int or ndarray of int, shape (n,)
        Which unknowns are free (:data:`NEWTON_BLOCKS`).
    max_iter : int, optional
        Largest number of Newton steps (default 40).
    minimum_norm : bool ndarray (n,), optional
        Columns whose steps are least-squares steps of minimum norm with singular values
        below ``rcond`` times the largest dropped (default: those without weight decay
        whose precision starts on the boundary Y_12 = Y_22 = 0, where the encoder has
        flat directions, see :func:`_solve`).
    rcond : float, optional
        The relative cut of the singular values of the minimum-norm steps (default 1e-15).
    return_step : bool, optional
        Also return the size of the last step (default False).

    Returns
    -------
    z : ndarray, shape (8, n)
        The polished unknowns.
    residual : ndarray, shape (n,)
        The residual relative to :func:`equation_scale` (inf where it is not finite).
    step : ndarray, shape (n,)
        With ``return_step`` only: the size of the last step, relative to 1 + |z|.
    """
    gen = generated("compiled")
    z = np.array(z, dtype=float)
    n = z.shape[1]
    last = np.full(n, np.inf)
    family = np.broadcast_to(np.asarray(family), (n,))
    params = [np.broadcast_to(np.asarray(p, float), (n,)) for p in params]
    if minimum_norm is None:
        # flat encoder directions: no weight decay, precision on the invariant boundary
        flat = ((params[2] == 0) & (np.abs(z[6]) <= 1e-12 * np.abs(z[5]))
                & (np.abs(z[7]) <= 1e-12 * np.abs(z[5])))
    else:
        flat = np.broadcast_to(minimum_norm, (n,))
    best = residual_norm(z, params)
    best = np.where(np.isfinite(best), best, np.inf)
    active = np.isfinite(best)
    stalls = np.zeros(n, int)
    for _ in range(max_iter):
        if not active.any():
            break
        idx = np.nonzero(active)[0]
        sub = [p[idx] for p in params]
        with np.errstate(all="ignore"):
            out = stacked(gen.residual_jacobian, *z[:, idx], *sub)
        A, b = _newton_systems(out[8:].reshape(8, 8, -1), out[:8], family[idx])
        with np.errstate(all="ignore"):
            # the unknowns fixed by the family stay exactly where they are
            delta = np.where(_FREE[family[idx]].T, _solve(A, b, flat[idx], rcond=rcond).T, 0.0)
        finite = np.all(np.isfinite(delta), axis=0)
        size = np.max(np.abs(delta) / (1 + np.abs(z[:, idx])), axis=0)
        last[idx] = size
        # damped: the full step first, then shorter ones where it does not reduce the
        # residual (far from the root the linearisation overshoots)
        better = np.zeros(len(idx), bool)
        full = np.zeros(len(idx), bool)
        new = np.full(len(idx), np.inf)
        todo = finite.copy()
        for t in (1.0, 0.5, 0.25, 0.1, 0.03):
            k = np.nonzero(todo)[0]
            if not len(k):
                break
            trial = z[:, idx[k]] - t * delta[:, k]
            cand = residual_norm(trial, [p[k] for p in sub])
            # a full step at rounding is taken even where the residual, at its rounding
            # level, does not decrease: the iteration has converged
            take = np.isfinite(cand) & ((cand < best[idx[k]])
                                        | ((t == 1.0) & (size[k] < 1e-12)))
            z[:, idx[k[take]]] = trial[:, take]
            new[k[take]] = cand[take]
            better[k[take]] = True
            todo[k[take]] = False
            full[k[take]] = t == 1.0
        stalls[idx] = np.where(better & (new < 0.5 * best[idx]), 0, stalls[idx] + 1)
        best[idx[better]] = np.minimum(new[better], best[idx[better]])
        converged = full & (size < 1e-12)
        active[idx] = finite & (stalls[idx] < 3) & ~converged
    if return_step:
        return z, best, last
    return z, best


#: A learning unit with m^2 below this fraction of Q, or an overfitting unit whose
#: (m, d) block of the Hessian has a relative determinant below it, is near the
#: spectral transition (the BBP point), where the learning branch leaves the overfitting
#: one with m ~ sqrt(distance): there the learning unit is solved in the variables
#: (m^2, d/m) (:func:`learning_newton`), and sought from each overfitting unit.
_NEAR_TRANSITION = 1e-3
#: Last step of :func:`learning_newton` (relative to 1 + |w|, for m^2 as the step of m)
#: below which its iterate is converged: its error is far below this.
_LEARNING_STEP = 1e-13
#: Next to the transition the float64 rounding of the other unknowns leaves a noise in
#: m^2 that is a step of m ~ noise / (2 m): it can exceed _LEARNING_STEP (at 1e-9 above
#: the transition, lam = 0: 1.1e-13 for ever, the iterate alternating between two points
#: at rounding). A step below this bound that is no smaller than the one before it is
#: such a stall at rounding, and Newton's iterate of the regular (m^2, d/m) system is
#: then within about one step of the root: converged too. Ten times below the solver's
#: documented accuracy (1e-10 relative): at 1e-9 above the transition the stalls seen
#: are steps of m of 1e-13 to 2e-12 (lam = 0, eta/rho from 1 to 7).
_LEARNING_STALL = 1e-11


def _to_w(z, t):
    """The variables w = (Q, R, E, m^2, t, Y) of the unknowns ``z`` (8, n), with t = d/m
    given (it is undefined where m = 0)."""
    return np.concatenate([z[:3], (z[3] ** 2)[None], t[None], z[5:8]])


def _w_residual(w, params, dtype):
    """The saddle-point residual in the variables w = (Q, R, E, mu, t, Y) of a learning
    unit, (m, d) = sqrt(mu) (1, t): f is quadratic in (m, d), so the equations of
    (Q, R, E, Y) are F(0, 0) + mu (F(1, t) - F(0, 0)), exact also for mu <= 0, and those
    of (m, d) divided by m are F_m(1, t), F_d(1, t). Returns (r (8, n), F0, F1)."""
    gen = generated("compiled")
    zero, one = np.zeros_like(w[0]), np.ones_like(w[0])
    ld = [np.asarray(p, dtype) for p in params]
    with np.errstate(all="ignore"):
        F0 = stacked(gen.residual, *w[:3], zero, zero, *w[5:8], *ld)
        F1 = stacked(gen.residual, *w[:3], one, w[4], *w[5:8], *ld)
    r = F0 + w[3] * (F1 - F0)
    r[3:5] = F1[3:5]
    return r


def _w_jacobian(w, params):
    """The Jacobian (n, 8, 8) of :func:`_w_residual` (float64)."""
    gen = generated("compiled")
    zero, one = np.zeros_like(w[0]), np.ones_like(w[0])
    with np.errstate(all="ignore"):
        out0 = stacked(gen.residual_jacobian, *w[:3], zero, zero, *w[5:8], *params)
        out1 = stacked(gen.residual_jacobian, *w[:3], one, w[4], *w[5:8], *params)
        F0, F1 = out0[:8], out1[:8]
        J0, J1 = out0[8:].reshape(8, 8, -1), out1[8:].reshape(8, 8, -1)
        # an overflowed entry (inf - inf) leaves a non-finite step, which the caller
        # drops (learning_newton keeps a column only while its step is finite)
        mu = w[3]
        J = J0 + mu * (J1 - J0)
        J[:, 3] = F1 - F0
        J[:, 4] = mu * J1[:, 4]
    J[3:5] = J1[3:5]
    J[3:5, 3] = 0.0
    return np.moveaxis(J, -1, 0)


def learning_newton(z, params, *, max_iter=12):
    """Newton's method for learning units in the variables (Q, R, E, m^2, d/m, Y).

    Near the spectral transition the learning state leaves the overfitting one with
    m ~ sqrt(distance), and in the unknowns (m, d) the saddle-point system is nearly
    singular there (smallest singular value ~ m^2): a residual at rounding leaves m off
    by eps / m^2, and the learning root is taken for the overfitting one. In
    (m^2, d/m) the system is regular through the transition (see :func:`_w_residual`):
    the residual is evaluated in extended precision, and the iteration stops when its
    step, measured on the unknowns (m for m^2), is below 1e-13, or below 1e-11 and no
    smaller than the step before it (a stall at rounding, see :data:`_LEARNING_STALL`).
    Starting from an overfitting state (m = 0) it finds the learning state next to it,
    where one exists (m^2 > 0).

    Parameters
    ----------
    z : ndarray, shape (8, n)
        Starting unknowns (Q, R, E, m, d, chihat_Q, chihat_R, chihat_E); where m = 0,
        d/m starts at R/Q (the ridge-optimal encoder).
    params : sequence of 5 array_like
        alpha, beta, lam, rho, eta, each broadcasting to ``(n,)``.
    max_iter : int, optional
        Largest number of Newton steps (default 12).

    Returns
    -------
    z : ndarray, shape (8, n)
        The learning states (m >= 0).
    ok : ndarray of bool, shape (n,)
        Converged to a state with m^2 > 0.
    """
    z = np.array(z, dtype=float)
    n = z.shape[1]
    params = [np.broadcast_to(np.asarray(p, float), (n,)) for p in params]
    with np.errstate(all="ignore"):
        t = np.where(z[3] != 0, z[4] / z[3], z[1] / z[0])
    w = _to_w(z, t)
    flat = ((params[2] == 0) & (np.abs(z[6]) <= 1e-12 * np.abs(z[5]))
            & (np.abs(z[7]) <= 1e-12 * np.abs(z[5])))
    w[6:8] = np.where(flat, 0.0, w[6:8])  # on the invariant boundary to rounding: on it
    # without weight decay the encoder overlaps (R, E, d/m) are set to their ridge limit
    # afterwards (see finish): next to alpha = 1 they lie along soft directions, which
    # do not count in the convergence test (as in refine_extended)
    measured = np.ones((8, n), bool)
    measured[[1, 2, 4]] = params[2] != 0
    done = np.zeros(n, bool)
    live = np.all(np.isfinite(w), axis=0)
    last = np.full(n, np.inf)  # each column's previous step
    for _ in range(max_iter):
        idx = np.nonzero(live & ~done)[0]
        if not len(idx):
            break
        wi, sub = w[:, idx], [p[idx] for p in params]
        r = _w_residual(wi.astype(np.longdouble), sub, np.longdouble).astype(float)
        A = _w_jacobian(wi, sub)
        # on the invariant boundary Y_12 = Y_22 = 0 (flat encoder directions) those two
        # stay: their columns are left out of the minimum-norm solve
        A[:, :, 6:8] = np.where(flat[idx, None, None], 0.0, A[:, :, 6:8])
        with np.errstate(all="ignore"):
            delta = _solve(A, r.T, flat[idx], rcond=1e-16).T
        delta[6:8] = np.where(flat[idx], 0.0, delta[6:8])
        new = wi - delta
        with np.errstate(all="ignore"):
            m_old = np.sqrt(np.maximum(wi[3], 0))
            m_new = np.sqrt(np.maximum(new[3], 0))
            rel = np.abs(delta) / (1 + np.abs(wi))
            rel[3] = np.abs(m_new - m_old) / (1 + m_old)
            size = np.max(np.where(measured[:, idx], rel, 0.0), axis=0)
        finite = np.all(np.isfinite(new), axis=0)
        w[:, idx] = np.where(finite, new, wi)
        stalled = (size <= _LEARNING_STALL) & (size >= last[idx])
        done[idx] = finite & ((size <= _LEARNING_STEP) | stalled)
        last[idx] = size
        live[idx] = finite
    mu = w[3]
    ok = done & (mu > 0)
    m = np.sqrt(np.maximum(mu, 0))
    out = np.concatenate([w[:3], m[None], (w[4] * m)[None], w[5:8]])
    return out, ok


def _near_transition(z, params, family):
    """Which states are next to the spectral transition: learning units with
    m^2 <= 1e-3 Q, overfitting units whose (m, d) block of the Hessian has a relative
    determinant below 1e-3 or entries below 1e-3 of the equations' scale (a learning
    branch leaves them there)."""
    near = np.zeros(z.shape[1], bool)
    with np.errstate(all="ignore"):
        near |= (family == 2) & (z[3] ** 2 <= _NEAR_TRANSITION * z[0])
        over = np.nonzero((family == 1) & np.all(np.isfinite(z), axis=0))[0]
        if len(over):
            gen = generated("compiled")
            out = stacked(gen.residual_jacobian, *z[:, over], *(p[over] for p in params))
            J = out[8:].reshape(8, 8, -1)
            b11, b12, b22 = J[3, 3], J[3, 4], J[4, 4]
            det = np.abs(b11 * b22 - b12 * b12) / (np.abs(b11 * b22) + b12 * b12)
            # without weight decay on the boundary Y_12 = Y_22 = 0 of the cone d
            # decouples (b12 = b22 = 0): then b11 itself, against the scale of the
            # equations' terms
            sub = [p[over] for p in params]
            scale = equation_scale(z[:, over], *sub) / (1 + np.max(np.abs(z[:, over]), axis=0))
            decoupled = ((sub[2] == 0) & (np.abs(z[6, over]) <= 1e-12 * np.abs(z[5, over]))
                         & (np.abs(z[7, over]) <= 1e-12 * np.abs(z[5, over])))
            # without weight decay next to alpha = 1 the whole block is of the order of
            # the distance to the cone's boundary (1e-8 at alpha = 1 + 1e-8) while its
            # relative determinant stays of order one: a block that small against the
            # equations' terms is next to a transition as well
            small = (np.maximum(np.maximum(np.abs(b11), np.abs(b22)), np.abs(b12))
                     <= _NEAR_TRANSITION * scale)
            near[over] = np.where(decoupled, np.abs(b11) <= _NEAR_TRANSITION * scale,
                                  (det <= _NEAR_TRANSITION) | small)
    return near


def _transition_gap(z_ref, z, params):
    """f(z) - f(z_ref) for a state next to the state ``z_ref`` it leaves at a continuous
    transition (a learning state next to the overfitting one at the spectral transition,
    a unit of small norm next to the collapsed one), where the two differ by less than
    the rounding of f: Simpson's rule on the derivative of f along the segment between
    them in the variables (Q, R, E, m^2, d/m, Y) (exact for a cubic; the error is of
    fifth order in the segment's length, the gap of second)."""
    ld = [np.asarray(p, np.longdouble) for p in params]
    with np.errstate(all="ignore"):
        t = np.where(z[3] != 0, z[4] / z[3], 0.0)
    w1, w0 = _to_w(z, t), _to_w(z_ref, t)
    w0, w1 = w0.astype(np.longdouble), w1.astype(np.longdouble)
    dw = w1 - w0
    rows = [0, 1, 2, 5, 6, 7]

    def slope(w):
        r = _w_residual(w, ld, np.longdouble)
        return (np.sum(r[rows] * dw[rows], axis=0) + (r[3] + w[4] * r[4]) / 2 * dw[3])

    with np.errstate(all="ignore"):
        gap = (slope(w0) + 4 * slope((w0 + w1) / 2) + slope(w1)) / 6
    return gap.astype(float)


def _order_against(pt, idx, z_ref, f_ref, params):
    """Set the free energy of entry ``pt`` at columns ``idx`` to ``f_ref`` plus its gap
    to the states ``z_ref`` (8, len(idx)), at least one unit in the last place off."""
    z, f = pt["z"], pt["free_energy"]
    sub = [np.broadcast_to(np.asarray(p, float), z.shape[1:])[idx] for p in params]
    gap = _transition_gap(z_ref, z[:, idx], sub)
    new = f_ref + gap
    new = np.where((new == f_ref) & (gap < 0), np.nextafter(f_ref, -np.inf), new)
    new = np.where((new == f_ref) & (gap > 0), np.nextafter(f_ref, np.inf), new)
    f[idx] = np.where(np.isfinite(gap) & np.isfinite(f_ref), new, f[idx])


def order_transition_pairs(points, params):
    """Order the free energies of states next to a continuous transition against the
    states they leave there (in place).

    A learning state next to the spectral transition (m^2 <= 1e-3 Q) and the overfitting
    state it leaves differ in f by ~ m^4 (1e-18 at 1e-9 above the transition), and a
    unit of small norm (Q <= 1e-3 beta) and the collapsed state by ~ Q^2: below the
    rounding of f, so that the comparison of f alone picks either. Such a state gets
    the free energy of the state it leaves (the collapsed one, or for a learning state
    the nearest overfitting one where there is one) plus the gap of
    :func:`_transition_gap`, moved by at least one unit in the last place in the gap's
    direction.

    Parameters
    ----------
    points : list of dict
        As returned by :func:`stationary_points` (``free_energy`` is updated).
    params : sequence of 5 ndarray, shape (n,)
        alpha, beta, lam, rho, eta.
    """
    beta = np.asarray(params[1], float)
    collapsed = [pt for pt in points if pt["family"] == 0]
    for family in (1, 2):
        for pt in points:
            if pt["family"] != family:
                continue
            z, ok = pt["z"], pt["ok"]
            with np.errstate(invalid="ignore"):
                small = ok & (z[0] <= _NEAR_TRANSITION * beta)
            for ref in collapsed:
                idx = np.nonzero(small & ref["ok"])[0]
                if len(idx):
                    _order_against(pt, idx, ref["z"][:, idx], ref["free_energy"][idx], params)
    over = [pt for pt in points if pt["family"] == 1]
    if not over:
        return
    zo = np.stack([pt["z"] for pt in over])  # (k, 8, n)
    fo = np.stack([pt["free_energy"] for pt in over])
    for pt in points:
        if pt["family"] != 2:
            continue
        z = pt["z"]
        with np.errstate(invalid="ignore"):
            near = pt["ok"] & (z[3] ** 2 <= _NEAR_TRANSITION * z[0])
        idx = np.nonzero(near)[0]
        if not len(idx):
            continue
        dist = np.where(np.isfinite(fo[:, idx]), np.abs(zo[:, 0, idx] - z[0, idx]), np.inf)
        k = np.argmin(dist, axis=0)
        closest = dist[k, np.arange(len(idx))]
        has = np.isfinite(closest) & (closest <= _NEAR_TRANSITION * (1 + z[0, idx]))
        idx, k = idx[has], k[has]
        if len(idx):
            _order_against(pt, idx, zo[k, :, idx].T, fo[k, idx], params)


def refine_extended(z, params, family, *, steps=2):
    """Newton steps with the residual in extended precision (``np.longdouble``).

    Float64 Newton iterates carry an error of about cond(J) times the rounding of the
    residual; where the Jacobian is ill-conditioned (no weight decay with alpha < 1,
    very large alpha) that error exceeds the 1e-10 the solver promises, and it varies
    from point to point. Steps with the residual evaluated to a 64-bit mantissa bring
    the unknowns to rounding (the float64 Jacobian, kept for all steps, is accurate
    enough for them). A step is kept where the step that follows it is no longer (the
    natural monotonicity test). Without
    weight decay the directions along which the equations are exactly flat (singular
    values below 1e-16 of the largest) are left alone. On platforms whose ``longdouble``
    is the plain double this changes nothing.

    Parameters
    ----------
    z : ndarray, shape (8, n)
        The unknowns (Q, R, E, m, d, chihat_Q, chihat_R, chihat_E), one column per state.
    params : sequence of 5 array_like
        alpha, beta, lam, rho, eta, each broadcasting to ``(n,)``.
    family : int or ndarray of int, shape (n,)
        0 collapsed, 1 overfitting, 2 learning: which unknowns are free
        (:data:`NEWTON_BLOCKS`).
    steps : int, optional
        Largest number of extended-precision steps (default 2).

    Returns
    -------
    ndarray, shape (8, n)
        The refined unknowns.
    """
    gen = generated("compiled")
    z = np.array(z, dtype=float)
    n = z.shape[1]
    if not n:
        return z
    family = np.broadcast_to(np.asarray(family), (n,))
    params = [np.broadcast_to(np.asarray(p, float), (n,)) for p in params]
    ld = [np.asarray(p, np.longdouble) for p in params]

    def residual(z):
        with np.errstate(all="ignore"):
            return stacked(gen.residual, *z.astype(np.longdouble), *ld).astype(float)

    # without weight decay the encoder overlaps (R, E, d) of a moving unit are set to
    # their ridge limit afterwards (see finish): next to alpha = 1 they lie along soft
    # directions whose rounding-driven steps would fail the monotonicity test of the
    # steps that place the other unknowns
    measured = np.ones((8, n), bool)
    measured[[1, 2, 4]] = ~((params[2] == 0) & (family > 0))

    def size(delta, every=False):
        relative = np.abs(delta) / (1 + np.abs(z))
        return np.max(relative if every else np.where(measured, relative, 0.0), axis=0)

    with np.errstate(all="ignore"):
        out = stacked(gen.residual_jacobian, *z, *params)
        J = out[8:].reshape(8, 8, -1)
        # directions with singular values below 1e-16 of the largest are rounding noise
        # in a float64 Jacobian: no step along them (the minimum-norm solve, where the
        # plain one gives a step above 1e-8 or the encoder has flat directions; at
        # alpha = 1 exactly without weight decay one at 1.5e-17 gave a step of 6e-6)
        flat = ((params[2] == 0) & (np.abs(z[6]) <= 1e-12 * np.abs(z[5]))
                & (np.abs(z[7]) <= 1e-12 * np.abs(z[5])))

        def step(F):
            A, b = _newton_systems(J, F, family)
            delta = _solve(A, b, flat, rcond=1e-16).T
            odd = ~flat & ~(size(delta, every=True) <= 1e-8)
            if odd.any():
                delta[:, odd] = _solve(A[odd], b[odd], np.ones(int(odd.sum()), bool),
                                       rcond=1e-16).T
            delta = np.where(np.isfinite(delta) & _FREE[family].T, delta, 0.0)
            # the boundary Y_12 = Y_22 = 0 of the cone is invariant without weight decay:
            # a point on it stays there (next to alpha = 1 the soft directions of the
            # system, of singular value ~ |1 - alpha|, would move it off by rounding)
            delta[6:8] = np.where(flat, 0.0, delta[6:8])
            return delta

        delta = step(residual(z))
        live = np.ones(n, bool)
        for _ in range(steps):
            trial = z - delta
            following = step(residual(trial))
            # the natural monotonicity test (the next step, with the same Jacobian, is
            # no longer): the residual itself is no measure of the error along an
            # ill-conditioned direction. And no step beyond 1e-6, far above the errors
            # of converged float64 states (seen up to 1.3e-8 at alpha = 377, beta =
            # 1e-3, eta = 19, condition 5e13, and 2.6e-7 within 1e-7 of alpha = 1
            # without weight decay): a safety net under the cut of the noise directions
            take = (live & (size(following) <= np.maximum(size(delta), 1e-16))
                    & (size(delta) <= 1e-6))
            z = np.where(take, trial, z)
            delta = np.where(take, following, delta)
            live = take
    return z


def physical(z, alpha, beta, eta, *, tol=1e-9):
    """Which states are admissible saddle points of the training problem.

    The precision matrix is positive semidefinite with Y11 > 0 (chi is a variance
    times b), G - t t^T is positive semidefinite (the overlaps of the weights'
    components orthogonal to the feature), Q >= 0, and the precision is a fixed point of
    the conjugate map that does not repel (its partner of the pair does).

    Parameters
    ----------
    z : ndarray, shape (8, n)
        The unknowns (Q, R, E, m, d, chihat_Q, chihat_R, chihat_E), one column per state.
    alpha, beta, eta : array_like
        Sample complexity, KL weight and noise strength, broadcasting to ``(n,)``.
    tol : float, optional
        Relative slack of the inequalities (default 1e-9).

    Returns
    -------
    ndarray of bool, shape (n,)
        True for an admissible state (every entry finite).
    """
    Q, R, E, m, d, Y11, Y12, Y22 = z
    size = tol * (1 + np.abs(Q) + np.abs(E))
    g11, g12, g22 = Q - m * m, R - m * d, E - d * d
    with np.errstate(all="ignore"):
        ok = ((Y11 > 0) & (Y22 >= -tol * Y11) & (Y11 * Y22 - Y12**2 >= -tol * Y11**2)
              & (Q >= -size) & (g11 >= -size) & (g22 >= -size)
              & (g11 * g22 - g12**2 >= -size * (1 + np.abs(g11) + np.abs(g22)))
              & (contraction(z[5:8], Q + beta, alpha, eta) <= 1 + _CONTRACTION_SLACK))
    return ok & np.all(np.isfinite(z), axis=0)


def _collapsed_ok(z, params, *, tol=1e-9):
    """A collapsed state: W = W~ = 0 exactly, an attracting positive precision (to the
    same rounding slack as :func:`physical`: without weight decay it lies on the boundary
    Y_12 = Y_22 = 0 of the cone)."""
    alpha, beta, lam, rho, eta = params
    Y11, Y12, Y22 = z[5:8]
    with np.errstate(all="ignore"):
        return ((Y11 > 0) & (Y22 >= -tol * Y11) & (Y11 * Y22 - Y12**2 >= -tol * Y11**2)
                & np.all(np.isfinite(z), axis=0) & np.all(z[:5] == 0, axis=0)
                & (contraction(z[5:8], beta, alpha, eta) < 1 + _CONTRACTION_SLACK))


def stationary_points(alpha, beta, lam, rho, eta, *, scans=None):
    """Every admissible stationary point of the one-unit RS equations, polished.

    Parameters
    ----------
    alpha, beta, lam, rho, eta : ndarray (n,)
    scans : dict, optional
        The first stage of the search at these points (spectral values and scans, from
        :func:`_unit_scans` or :func:`_join_scans`), where the caller has it already.

    Returns
    -------
    list of dict
        One entry per state found by :func:`unit_states`: ``family`` (index into
        :data:`FAMILIES`), ``z`` (8, n), ``ok`` (n,) admissible and converged,
        ``free_energy`` (n,) (+inf where not ok), ``residual`` (n,) relative to
        :func:`equation_scale` and ``step`` (n,), the size of the last Newton step of
        the polish relative to 1 + |z| (about cond(J) times the rounding; +inf where the
        state was placed otherwise, as by regula falsi to rounding). The sign of (m, d)
        is fixed by m >= 0.
    """
    params = tuple(_arrays((alpha, beta, effective_weight_decay(alpha, beta, lam, eta), rho,
                            eta)))
    n = params[0].shape[0]
    states = _unit_states(params, scans)
    # every found state of every point in one batch
    cols, fams, which = [], [], []
    for k, (family, _, found, _) in enumerate(states):
        idx = np.nonzero(found)[0]
        cols.append(idx)
        fams.append(np.full(len(idx), family))
        which.append(np.full(len(idx), k))
    cols, fams, which = (np.concatenate(v) for v in (cols, fams, which))
    z0 = np.concatenate([z[:, found] for _, z, found, _ in states], axis=1)
    sub = tuple(p[cols] for p in params)
    zi, step = _polish_in_bracket(z0, sub, fams, which, cols, states)
    _refine_ill_conditioned(zi, step, sub, fams, which, cols, states)
    flip = zi[3] < 0  # the W -> -W image of the same state
    zi[3:5] = np.where(flip, -zi[3:5], zi[3:5])
    flat = np.nonzero((sub[2] == 0) & (fams > 0))[0]
    if len(flat):
        zi[:, flat], step[flat] = _ridge_limit(zi[:, flat], [p[flat] for p in sub],
                                               fams[flat])
    zi, step, fams, which, cols, states, z0 = _transition_states(
        zi, step, sub, fams, which, cols, states, z0)
    sub = tuple(p[cols] for p in params)
    return _assemble(states, zi, cols, fams, which, sub, n, z0, step)


def _condition(z, params, family):
    """Smallest over largest singular value of the Newton system at z, per column."""
    gen = generated("compiled")
    with np.errstate(all="ignore"):
        out = stacked(gen.residual_jacobian, *z, *params)
    A, _ = _newton_systems(out[8:].reshape(8, 8, -1), out[:8], family)
    finite = np.all(np.isfinite(A), axis=(1, 2))
    ratio = np.zeros(len(A))
    if finite.any():
        sv = np.linalg.svd(A[finite], compute_uv=False)
        ratio[finite] = sv[:, -1] / sv[:, 0]
    return ratio


def _soft(z, params):
    """Where a moving unit's soft direction is one that Newton's method cannot place
    (see :func:`_refine_ill_conditioned`): a weak or no weight decay, or a norm Q below
    1e-6 of the state's scale (near a continuous collapse)."""
    return weak_weight_decay(params) | (z[0] < 1e-6 * (1 + np.max(np.abs(z), axis=0)))


def _needs_regula_falsi(z, params, family, soft=None):
    """Which moving states need the regula falsi of d f/dQ to rounding: condition above
    1e9 where :func:`_soft` (``soft``, computed when None), above 1e15 elsewhere."""
    soft = _soft(z, params) if soft is None else soft
    return _condition(z, params, family) < np.where(soft, _ILL_CONDITIONED,
                                                    _SEVERELY_ILL_CONDITIONED)


def _transition_states(zi, step, params, fams, which, cols, states, z0):
    """Learning states next to the spectral transition (see :func:`learning_newton`):
    the learning states found there are solved again in (m^2, d/m) (dropped where that
    fails), and a learning state is sought from every overfitting state next to the
    transition; those found where the point has no such learning state yet are appended
    as new states. Returns the batch (zi, step, fams, which, cols, states, z0), extended."""
    near = _near_transition(zi, params, fams)
    learn = np.nonzero(near & (fams == 2))[0]
    if len(learn):
        z, ok = learning_newton(zi[:, learn], [p[learn] for p in params])
        zi[:, learn] = np.where(ok, z, np.nan)
        z0[:, learn[~ok]] = np.nan  # not brought back by _assemble either
        step[learn] = np.where(ok, 0.0, np.inf)
    over = np.nonzero(near & (fams == 1))[0]
    if not len(over):
        return zi, step, fams, which, cols, states, z0
    z, ok = learning_newton(zi[:, over], [p[over] for p in params])
    # the learning state next to the overfitting one, not another root far from it
    with np.errstate(invalid="ignore"):
        ok &= ((z[3] ** 2 <= _NEAR_TRANSITION * z[0])
               & (np.abs(z[0] - zi[0, over]) <= _NEAR_TRANSITION * (1 + zi[0, over])))
    known = np.nonzero((fams == 2) & np.all(np.isfinite(zi), axis=0))[0]
    for j in np.nonzero(ok)[0]:
        same = known[cols[known] == cols[over[j]]]
        if np.any((np.abs(zi[0, same] - z[0, j]) <= 1e-8 * (1 + z[0, j]))
                   & (np.abs(zi[3, same] - z[3, j]) <= 1e-8 * (1 + z[3, j]))):
            ok[j] = False
    over, z = over[ok], z[:, ok]
    if not len(over):
        return zi, step, fams, which, cols, states, z0
    # one new state per overfitting state it comes from
    origin, new_which = np.unique(which[over], return_inverse=True)
    new_which = new_which.ravel() + len(states)
    states = list(states) + [(2, None, None, None)] * len(origin)
    return (np.concatenate([zi, z], axis=1), np.concatenate([step, np.zeros(len(over))]),
            np.concatenate([fams, np.full(len(over), 2)]),
            np.concatenate([which, new_which]), np.concatenate([cols, cols[over]]),
            states, np.concatenate([z0, np.full((8, len(over)), np.nan)], axis=1))


def _refine_ill_conditioned(zi, step, params, fams, which, cols, states):
    """Where the Jacobian is nearly singular (condition above 1e9: no weight decay with
    alpha < 1, alpha ~ 1e7, a continuous collapse with Q ~ 1e-7 or below), Newton's
    method cannot place the unit along the soft direction, and its rounding there can
    move the state off the fold of the map; the regula falsi of d f/dQ, which still
    changes sign, is refined to rounding (in extended precision without or with a weak
    weight decay, see :func:`_refine_extended_precision`) and the state polished with
    minimum-norm steps that leave directions with singular values below 1e-9 of the
    largest alone (in place). States with a weight decay that is not weak, away from a
    collapse and with condition below 1e15 are left to the extended-precision steps of
    :func:`finish` (see :data:`_SEVERELY_ILL_CONDITIONED`)."""
    moving = np.nonzero((fams > 0) & np.all(np.isfinite(zi), axis=0))[0]
    if not len(moving):
        return
    ill = moving[_needs_regula_falsi(zi[:, moving], [p[moving] for p in params],
                                     fams[moving])]
    for k, (family, _, _, bracket) in enumerate(states):
        sel = ill[which[ill] == k]
        if bracket is None or not len(sel):
            continue
        pts = cols[sel]
        sub = tuple(p[sel] for p in params)
        # without (or with a weak) weight decay in extended precision (see
        # _refine_extended_precision); near a collapse float64 suffices (states with Q
        # below 1e-6 of their scale, checked against the collapse thresholds)
        weak = weak_weight_decay(sub)
        z = np.full((8, len(sel)), np.nan)
        found = np.zeros(len(sel), bool)
        for part, refine in ((weak, _refine_extended_precision), (~weak, _refine_float64)):
            if part.any():
                z[:, part], found[part] = refine(tuple(p[part] for p in sub), bracket,
                                                 pts[part], family)
        zp, _, sp = polish(z, sub, family, minimum_norm=np.ones(len(sel), bool),
                           rcond=_ILL_CONDITIONED, return_step=True)
        zi[:, sel] = np.where(found, zp, zi[:, sel])
        step[sel] = np.where(found, np.inf, step[sel])  # an extended-precision step next


def _refine_extended_precision(params, bracket, pts, family):
    """The regula falsi of d f/dQ to rounding, in extended precision, on the grid
    interval each root was found in. Along a soft direction d f/dQ is flat down to its
    float64 rounding: without weight decay at alpha ~ 0.01 and beta ~ 1e-3 the float64
    sign changes left Q off by up to 2.6e-8, and the final float64 bracket need not hold
    the root: it is kept where d f/dQ in extended precision changes sign on it, and the
    grid interval taken elsewhere. Returns (z (8, n) float64, found)."""
    ext = tuple(_extended(p) for p in params)
    s = _extended(bracket["s"][pts])
    ends = [_extended(bracket[name][pts]) for name in ("lo", "hi", "grid_lo", "grid_hi")]
    n = len(pts)
    _, g, start = _unit_state(tuple(np.tile(p, 4) for p in ext), np.tile(s, 4), family,
                              np.concatenate(ends), None)
    g, start = g.reshape(4, n), start.reshape(-1, 4, n)
    valid = np.isfinite(g[::2]) & np.isfinite(g[1::2]) & (np.sign(g[::2]) != np.sign(g[1::2]))
    grid = ~valid[0]
    pick = lambda k: np.where(grid, k + 2, k)  # noqa: E731
    cols = np.arange(n)
    lo, hi = pick(0), pick(1)
    z, found, _ = _refine(ext, s, family, np.asarray(ends)[lo, cols], g[lo, cols],
                          start[:, lo, cols], np.asarray(ends)[hi, cols], g[hi, cols],
                          start[:, hi, cols], width=_EXTENDED_WIDTH)
    return z.astype(float), found & (valid[0] | valid[1])


def refine_soft_states(z, params, family):
    """Place carried states along their soft direction: the regula falsi of d f/dQ to
    rounding in extended precision on a bracket of 1e-6 (else 1e-3) around each state's
    Q, then the minimum-norm polish of the full search (states without or with a weak
    weight decay whose Newton system is nearly singular, see
    :func:`_refine_ill_conditioned`).

    Parameters
    ----------
    z : ndarray (8, n)
        Converged float64 states of one moving ``family`` (1 or 2).
    params : sequence of 5 ndarrays (n,)

    Returns
    -------
    z : ndarray (8, n)
    found : ndarray (n,) of bool
        Where the bracket held a sign change of d f/dQ (elsewhere z is returned as it
        came).
    """
    alpha, beta, lam, rho, eta = params
    edge, outliers = spectral_values(alpha, eta, rho[None])
    Q = z[0]
    bracket = {"s": edge if family == 1 else outliers[0],
               "lo": Q * (1 - 1e-6), "hi": Q * (1 + 1e-6),
               "grid_lo": Q * (1 - 1e-3), "grid_hi": Q * (1 + 1e-3)}
    found = np.isfinite(bracket["s"]) & (Q > 0)
    out = np.array(z, dtype=float)
    idx = np.nonzero(found)[0]
    if len(idx):
        sub = tuple(p[idx] for p in params)
        zr, ok = _refine_extended_precision(sub, bracket, idx, family)
        zp, _ = polish(zr, sub, family, minimum_norm=np.ones(len(idx), bool),
                       rcond=_ILL_CONDITIONED)
        out[:, idx] = np.where(ok, zp, out[:, idx])
        found[idx] = ok
    return out, found


def _refine_float64(params, bracket, pts, family):
    """The regula falsi of d f/dQ to rounding on the final bracket of the first one.
    Returns (z (8, n), found)."""
    z, found, _ = _refine(params, bracket["s"][pts], family,
                          *(bracket[name][..., pts] for name in
                            ("lo", "g_lo", "st_lo", "hi", "g_hi", "st_hi")), width=1e-15)
    return z, found


def _polish_in_bracket(z0, params, fams, which, cols, states):
    """Polish the batch (``z0`` is updated in place). A root that leaves the grid
    interval it was found in, where Newton's method does not converge or where it ends
    on an inadmissible state, is refined by regula falsi to rounding and polished
    again, and dropped (NaN) if it fails again. (The final bracket of regula
    falsi is not the test: without weight decay d f/dQ can be flat down to its rounding
    near a root, and its sign there is noise.)"""
    zi, res, step = polish(z0, params, fams, return_step=True)
    for attempt in range(2):
        bad = ~(res <= RESIDUAL_TOLERANCE)
        for k, (_, _, _, bracket) in enumerate(states):
            sel = np.nonzero(which == k)[0]
            if bracket is None or not len(sel):
                bad[sel] = False  # the collapsed unit has no bracket: judged later
                continue
            lo, hi = bracket["grid_lo"][cols[sel]], bracket["grid_hi"][cols[sel]]
            low, high = np.minimum(lo, hi), np.maximum(lo, hi)
            Q = zi[0, sel]
            bad[sel] |= ~((Q >= low * (1 - 1e-9)) & (Q <= high * (1 + 1e-9)))
        if attempt:
            zi[:, bad] = np.nan
            break
        # an inadmissible end is retried too, but kept (as found, not admissible)
        retry = bad.copy()
        moving = np.nonzero((fams > 0) & ~bad)[0]
        retry[moving] |= ~physical(zi[:, moving], params[0][moving], params[1][moving],
                                   params[4][moving])
        if not retry.any():
            break
        bad = retry
        for k, (family, _, _, bracket) in enumerate(states):
            sel = np.nonzero(bad & (which == k))[0]
            if not len(sel):
                continue
            pts = cols[sel]
            z, found, _ = _refine(tuple(p[sel] for p in params), bracket["s"][pts], family,
                                  *(bracket[name][..., pts] for name in
                                    ("lo", "g_lo", "st_lo", "hi", "g_hi", "st_hi")),
                                  width=1e-15)
            zp, rp, sp = polish(z, tuple(p[sel] for p in params), family, return_step=True)
            z0[:, sel] = np.where(found, z, np.nan)  # the refined start, for _assemble
            zi[:, sel] = np.where(found, zp, np.nan)
            res[sel] = np.where(found, rp, np.inf)
            step[sel] = sp
    return zi, step


def finish(z, params, family, step=None):
    """The reported solution from a polished state: :func:`refine_extended` where the
    last float64 Newton step ``step`` exceeds 1e-14 (None: everywhere), and without
    weight decay the encoder overlaps of the ridge limit (see :func:`_ridge_limit`) and
    a precision on the boundary of the cone where it lies there to rounding.

    Parameters
    ----------
    z : ndarray, shape (8, n)
        The unknowns (Q, R, E, m, d, chihat_Q, chihat_R, chihat_E), one column per state.
    params : sequence of 5 array_like
        alpha, beta, lam, rho, eta, each broadcasting to ``(n,)``.
    family : int or ndarray of int, shape (n,)
        0 collapsed, 1 overfitting, 2 learning: which unknowns are free
        (:data:`NEWTON_BLOCKS`).
    step : array_like, shape (n,), optional
        The size of the last float64 Newton step of each state, from :func:`polish`
        (default None: refine every state).

    Returns
    -------
    ndarray, shape (8, n)
        The reported unknowns.
    """
    z = np.array(z, dtype=float)
    # without weight decay, or with a very weak one, a small last step says nothing
    # (see weak_weight_decay): always refined
    weak = np.broadcast_to(weak_weight_decay(params), z.shape[1:])
    need = (np.ones(z.shape[1], bool) if step is None
            else ~(np.asarray(step) <= _EXTENDED_STEP) | weak)
    # learning states next to the spectral transition: in (m^2, d/m), see learning_newton
    fam = np.broadcast_to(np.asarray(family), z.shape[1:])
    with np.errstate(invalid="ignore"):
        near = np.nonzero((fam == 2) & (z[3] ** 2 <= _NEAR_TRANSITION * z[0]))[0]
    if len(near):
        zl, ok = learning_newton(z[:, near], [np.broadcast_to(p, need.shape)[near]
                                              for p in params])
        z[:, near[ok]] = zl[:, ok]
        need[near] = False
    if step is not None:
        # a Newton iteration that converged quadratically stops with a last step
        # anywhere below 1e-12 (about 40 % of the states carried along a curve are in
        # (1e-14, 1e-12]) and is at rounding; one more float64 step tells it from a
        # stall at cond(J) times the rounding, at a quarter of the cost of the
        # extended-precision steps
        check = np.nonzero(need & ~weak & (np.asarray(step) <= 1e-12))[0]
        if len(check):
            sub = [np.broadcast_to(p, need.shape)[check] for p in params]
            zc, last = _newton_step(z[:, check], sub, np.broadcast_to(family, need.shape)[check])
            done = last <= _EXTENDED_STEP
            z[:, check[done]] = zc[:, done]
            need[check[done]] = False
    if need.any():
        idx = np.nonzero(need)[0]
        z[:, idx] = refine_extended(z[:, idx], [np.broadcast_to(p, need.shape)[idx]
                                                for p in params],
                                    np.broadcast_to(family, need.shape)[idx])
    params = [np.broadcast_to(np.asarray(p, float), z.shape[1:]) for p in params]
    # the boundary Y_12 = Y_22 = 0 of the cone is invariant without weight decay, and the
    # attracting fixed point found on it (alpha < 1) stays there up to rounding
    edge = ((params[2] == 0) & (np.abs(z[6]) <= 1e-12 * np.abs(z[5]))
            & (np.abs(z[7]) <= 1e-12 * np.abs(z[5])))
    z[6:8] = np.where(edge, 0.0, z[6:8])
    flat = (params[2] == 0) & (np.asarray(family) > 0)
    kappa = 1 / (z[0] + params[1])
    z[1] = np.where(flat, kappa * z[0], z[1])
    z[2] = np.where(flat, kappa**2 * z[0], z[2])
    z[4] = np.where(flat, kappa * z[3], z[4])
    return z


def _newton_step(z, params, family):
    """One plain Newton step on the generated system (no line search: for states at
    rounding). Returns (z after the step, its size relative to 1 + |z|)."""
    gen = generated("compiled")
    with np.errstate(all="ignore"):
        out = stacked(gen.residual_jacobian, *z, *params)
        A, b = _newton_systems(out[8:].reshape(8, 8, -1), out[:8], family)
        delta = np.where(_FREE[family].T, _solve(A, b).T, 0.0)
        size = np.max(np.abs(delta) / (1 + np.abs(z)), axis=0)
    return z - delta, np.where(np.isfinite(size), size, np.inf)


def _ridge_limit(z, params, family):
    """The solution of limit lam -> 0+ on the degenerate saddle point without weight decay.

    For alpha < 1 and lam = 0 the encoder overlaps (R, E, d) are not fixed by the
    saddle-point equations (their Jacobian is singular along flat encoder directions).
    The limit of vanishing weight decay takes the encoder that is ridge-optimal for the
    decoder, W~ = W/(Q + beta): (R, E, d) are reset to (Q, Q, m)/(Q + beta) (squared for
    E) and the state is polished again with minimum-norm steps, which leave them there.
    Where the saddle point is not degenerate this is the solution itself.
    """
    z = np.array(z)
    kappa = 1 / (z[0] + params[1])
    z[1], z[2], z[4] = kappa * z[0], kappa**2 * z[0], kappa * z[3]
    z, _, step = polish(z, params, family, return_step=True)
    return z, step


def _admissible(z, params, fams):
    """Residual within the tolerance and the checks of :func:`physical` (or of a
    collapsed state). Returns (good, residual, free energy)."""
    gen = generated("compiled")
    res = residual_norm(z, params)
    with np.errstate(all="ignore"):
        f = stacked(gen.free_energy, *z, *params)[0]
    good = (res <= RESIDUAL_TOLERANCE) & np.isfinite(f)
    moving = fams > 0
    good[moving] &= physical(z[:, moving], params[0][moving], params[1][moving],
                             params[4][moving])
    still = ~moving
    good[still] &= _collapsed_ok(z[:, still], tuple(p[still] for p in params))
    return good, res, f


def _assemble(states, zi, cols, fams, which, sub, n, z0, step):
    """Check the polished batch and split it back into one entry per state.

    Where the polished state fails the checks but its start satisfies them, the start
    is kept: in badly scaled, nearly singular cases (alpha ~ 1e-6 near a continuous
    collapse) Newton's method lowers the scaled residual by moving the unit off the fold
    of the map, along a direction the residual hardly sees.
    """
    good, res, fi = _admissible(zi, sub, fams)
    back = np.nonzero(~good & np.all(np.isfinite(z0), axis=0))[0]
    if len(back):
        z_back = np.array(z0[:, back])
        flip = z_back[3] < 0
        z_back[3:5] = np.where(flip, -z_back[3:5], z_back[3:5])
        g0, r0, f0 = _admissible(z_back, [p[back] for p in sub], fams[back])
        keep = back[g0]
        zi[:, keep], good[keep], res[keep], fi[keep] = z_back[:, g0], True, r0[g0], f0[g0]
        step[keep] = np.inf
    points = []
    for k, (family, *_) in enumerate(states):
        sel = which == k
        z_out = np.full((8, n), np.nan)
        residual = np.full(n, np.inf)
        f = np.full(n, np.inf)
        ok = np.zeros(n, bool)
        z_out[:, cols[sel]] = zi[:, sel]
        residual[cols[sel]] = res[sel]
        f[cols[sel]] = np.where(good[sel], fi[sel], np.inf)
        ok[cols[sel]] = good[sel]
        last = np.full(n, np.inf)
        last[cols[sel]] = step[sel]
        points.append(dict(family=family, z=z_out, ok=ok, free_energy=f, residual=residual,
                           step=last))
    return points
