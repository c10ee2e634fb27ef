"""Stationary states of one latent unit, found without any closed-form solution.

Every stationary point of the RS equations is built from latent units, each in one of
three states: collapsed (W = W~ = 0), overfitting (decoder along the top of the noise
bulk, no overlap with the features) or learning feature k (decoder along the outlier
that feature k creates). A unit in a non-collapsed state is attached to a spectral value
s of the sample covariance, and its decoder norm Q is a root of one scalar equation.
This module finds all of them numerically, from the generated equations alone:

1. **Spectral values.** The conjugate fixed-point map T of
   :mod:`symrep.numeric.unit_map` has an attracting fixed point for every s above the
   noise bulk; the two fixed points merge at the top edge of the bulk (a fold). The edge
   is found by continuation of the fixed point from a large s downwards, with the
   contraction rate r(s) of the map: (1 - r)^2 vanishes linearly at the fold, and its
   linear extrapolation converges to the edge. A unit can learn feature k where the
   Hessian of f in the feature overlaps is singular: a sign change of its determinant
   along the same continuation, refined by regula falsi.
2. **Unit norm.** With s fixed, the encoder of a unit is the ridge-optimal encoder of a
   decoder along an eigenvector of eigenvalue s, W~ = kappa W with
   kappa = 1/(Q + beta + lam/(alpha s)) (the same relation as in the exact finite-N
   optimum), the precision matrix is the attracting fixed point of T (the fold itself on
   the bulk edge), and m^2 follows linearly from the d f/dY_11 equation. The remaining
   equation d f / dQ = 0 is scanned on a logarithmic grid of Q; every sign change is
   refined by regula falsi.
3. **Polish.** Each root is polished by Newton's method on the full generated
   saddle-point system; only states that satisfy it to the solver's tolerance, with a
   positive definite precision, a positive semidefinite G - t t^T and a fixed point of
   T that is not repelling, are returned.

The relations used in step 2 only shape the starting points: the answer is a root of the
generated RS equations, checked by their residual.
"""

from __future__ import annotations

import numpy as np

from symrep.numeric.system import generated
from symrep.numeric.unit_map import unit_functions

__all__ = ["spectral_values", "unit_states", "UNIT_GRID"]

#: Points of the logarithmic grid on which the unit-norm equation is scanned.
UNIT_GRID = 28
_SCAN_RANGE = 1e-9  # smallest Q on the grid, relative to the largest
# a few points far below the grid: close to a continuous collapse the overfitting or
# learning unit's norm vanishes linearly with the distance to the threshold, and the
# collapsed state is admissible only within rounding of it (it sits at a fold of the map)
_SCAN_TAIL = (1e-11, 10**-13.5, 1e-16)
_REFINE_MAX = 80  # regula falsi iterations per bracket, at most
_LAM_FLOOR = 1e-100  # smaller weight decays are solved as lam = 0


def _solve3(J, F):
    """Solve the batched 3 x 3 systems J x = F (J shape (3, 3, n), F (3, n)) by Cramer."""
    a, b, c = J[0]
    d, e, f = J[1]
    g, h, i = J[2]
    co0, co1, co2 = e * i - f * h, f * g - d * i, d * h - e * g
    det = a * co0 + b * co1 + c * co2
    inv = np.stack([
        np.stack([co0, c * h - b * i, b * f - c * e]),
        np.stack([co1, a * i - c * g, c * d - a * f]),
        np.stack([co2, b * g - a * h, a * e - b * d]),
    ])
    with np.errstate(all="ignore"):
        return np.einsum("ijn,jn->in", inv, F) / det


def _positive(Y):
    # positive semidefinite with Y11 > 0: without weight decay and with fewer samples
    # than dimensions the encoder has flat directions, and the precision of the encoder
    # block vanishes (chi_E is infinite) on the physical fixed point
    return ((Y[0] > 0) & (Y[2] >= 0) & (Y[0] * Y[2] - Y[1] ** 2 >= 0)
            & np.all(np.isfinite(Y), axis=0))


def _map_step(U, Y, y, c, alpha, lam, eta):
    out = np.asarray(np.broadcast_arrays(*U.mp_map_jacobian(*Y, y, c, alpha, lam, eta)))
    F = out[:3] - Y
    J = out[3:].reshape((3, 3) + F.shape[1:]) - np.eye(3)[:, :, None]
    return F, J


def fixed_point(Y, y, c, alpha, lam, eta, *, steps=8, boundary=None):
    """Newton's method on Y = T(Y) from ``Y`` (arrays (3, n)); returns (Y, residual).

    Where ``boundary`` (a bool array) is set, the fixed point is sought on the boundary
    Y_12 = Y_22 = 0 of the cone, which the map keeps invariant without weight decay: the
    encoder precision vanishes there (chi_E is infinite), and only Y_11 is solved for.
    """
    U = unit_functions()
    Y = np.array(Y, dtype=float)
    edge = np.zeros(Y.shape[1:], bool) if boundary is None else np.asarray(boundary, bool)
    Y[1:] = np.where(edge, 0.0, Y[1:])
    with np.errstate(all="ignore"):
        for _ in range(steps):
            F, J = _map_step(U, Y, y, c, alpha, lam, eta)
            step = _solve3(J, F)
            step[0] = np.where(edge, F[0] / J[0, 0], step[0])
            step[1:] = np.where(edge, 0.0, step[1:])
            trial = Y - step
            ok = _positive(trial)
            Y = np.where(ok, trial, Y)
        F, _ = _map_step(U, Y, y, c, alpha, lam, eta)
    res = np.max(np.abs(F) / (1 + np.abs(Y)), axis=0)
    return Y, np.where(_positive(Y), res, np.inf)


def contraction(Y, y, alpha, eta):
    """Contraction rate of the map at Y: below 1 on an attracting fixed point.

    The linearised map is dY -> L dY L^T on symmetric 2 x 2 matrices, with
    L = eta sqrt(alpha) A X; its eigenvalues are mu_i mu_j for the eigenvalues mu of L,
    and the rate returned is max |mu|. It is read off the generated Jacobian J of the
    map (tr J = sigma^2 - pi and det J = pi^3 with sigma = mu_1 + mu_2, pi = mu_1 mu_2),
    which stays finite where the encoder precision vanishes (chi_E infinite). The
    Jacobian does not depend on the additive constants c and lam of the map.
    """
    U = unit_functions()
    with np.errstate(all="ignore"):
        out = np.asarray(np.broadcast_arrays(*U.mp_map_jacobian(*Y, y, 0.0, alpha, 0.0, eta)))
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


def _lambda11(s, y, alpha, lam):
    """c and kappa for a unit on spectral value s: (1, 1) entry lam + c = alpha s kappa."""
    kappa = 1 / (y + lam / (alpha * s))
    return alpha * s * kappa - lam, kappa


def _iterate(Y, y, c, alpha, lam, eta, steps):
    """Plain iterations of the map: they converge to its attracting fixed point."""
    U = unit_functions()
    with np.errstate(all="ignore"):
        for _ in range(steps):
            out = np.asarray(np.broadcast_arrays(*U.mp_map_jacobian(*Y, y, c, alpha, lam,
                                                                     eta)))[:3]
            Y = np.where(_positive(out), out, Y)
    return Y


def attracting_fixed_point(Y, y, c, alpha, lam, eta, *, tol=1e-10):
    """The attracting fixed point of the map, from ``Y``. Returns (Y, ok).

    Newton's method from a nearby start converges in a few steps; it may also converge
    to the repelling fixed point of the pair, so a result is accepted only where it is
    attracting. Elsewhere map iterations, which converge to the attracting point, bring
    the start into its basin first: from ``Y``, then from a fresh start (a warm start
    from another parameter may lie where the map leaves the positive definite cone).
    """
    Y = np.array(Y, dtype=float)
    ok = np.zeros(np.shape(y), bool)
    # without weight decay the attracting point may lie on the boundary Y_12 = Y_22 = 0
    # (fewer samples than dimensions: flat encoder directions), where iterations and the
    # full Newton step only creep towards it
    no_decay = np.broadcast_to(np.asarray(lam) == 0, ok.shape)
    if no_decay.any():
        idx = np.nonzero(no_decay)[0]
        sub = [np.broadcast_to(v, ok.shape)[idx] for v in (y, c, alpha, lam, eta)]
        for Yi in (Y[:, idx], _fresh(*sub)):
            Yn, res = fixed_point(Yi, *sub, steps=12, boundary=np.ones(len(idx), bool))
            # the encoder direction contracts at rate alpha here: marginal at alpha = 1
            good = ~ok[idx] & (res < tol) & (contraction(Yn, sub[0], sub[2], sub[4])
                                             <= 1 + 1e-9)
            Y[:, idx] = np.where(good, Yn, Y[:, idx])
            ok[idx] |= good
    for iterations, fresh in ((4, False), (60, False), (200, True), (1000, True)):
        todo = ~ok
        if not todo.any():
            break
        idx = np.nonzero(todo)[0]
        sub = [np.broadcast_to(v, ok.shape)[idx] for v in (y, c, alpha, lam, eta)]
        Yi = _fresh(*sub) if fresh else Y[:, idx]
        if iterations:
            Yi = _iterate(Yi, *sub, iterations)
        Yn, res = fixed_point(Yi, *sub, steps=6)
        good = (res < tol) & (contraction(Yn, sub[0], sub[2], sub[4]) < 1)
        Y[:, idx] = np.where(good, Yn, Yi)
        ok[idx] = good
    return Y, ok


def _fresh(y, c, alpha, lam, eta):
    """A start above the attracting fixed point (the map decreases it monotonically)."""
    return np.stack([lam + c + alpha * eta, 0 * y, lam + alpha * eta + 1e-3 * (1 + lam)])


def _start(y, c, alpha, lam, eta):
    """The attracting fixed point from a fresh start."""
    Y, _ = attracting_fixed_point(_iterate(_fresh(y, c, alpha, lam, eta), y, c, alpha, lam,
                                           eta, 40), y, c, alpha, lam, eta)
    return Y


#: Offsets above the bulk edge on the way to the fold, and the pair used to extrapolate.
_FOLD_PATH = (1e-2, 1e-4, 4e-6, 1e-6)


def fold_fixed_point(Y, y, s_edge, alpha, lam, eta):
    """The fixed point of the map at the bulk edge, where the fixed-point pair merges.

    Newton's method converges only linearly to a double root, so the fold is reached
    from above instead: the attracting fixed point at s = s_edge (1 + delta) for
    decreasing delta (Newton from outside the pair converges to the nearer, attracting
    point), and since it approaches the fold like sqrt(delta), the values at delta and
    4 delta extrapolate to it: Y(0) = 2 Y(delta) - Y(4 delta) + O(delta).
    Returns (Y, ok, Y_warm), Y_warm the attracting point at the largest offset (the
    start to give for a nearby y).
    """
    ok = np.ones(np.shape(y), bool)
    path = {}
    for delta in _FOLD_PATH:
        c, _ = _lambda11(s_edge * (1 + delta), y, alpha, lam)
        Y, good = attracting_fixed_point(Y, y, c, alpha, lam, eta)
        ok &= good
        path[delta] = Y
    Y = 2 * path[_FOLD_PATH[-1]] - path[_FOLD_PATH[-2]]
    Y, good = _fold_newton(Y, y, s_edge, alpha, lam, eta)
    return Y, ok & good, path[_FOLD_PATH[0]]


def _fold_residual(Y, s, y, alpha, lam, eta):
    """(T(Y) - Y, det(DT - I)) at spectral value s: both vanish on the fold."""
    U = unit_functions()
    c, _ = _lambda11(s, y, alpha, lam)
    F, J = _map_step(U, Y, y, c, alpha, lam, eta)
    det = (J[0, 0] * (J[1, 1] * J[2, 2] - J[1, 2] * J[2, 1])
           - J[0, 1] * (J[1, 0] * J[2, 2] - J[1, 2] * J[2, 0])
           + J[0, 2] * (J[1, 0] * J[2, 1] - J[1, 1] * J[2, 0]))
    # on the boundary Y_12 = Y_22 = 0 the Jacobian is block triangular and the fold is in
    # the Y_11 direction alone (the other factors of the determinant may vanish too)
    edge = (Y[1] == 0) & (Y[2] == 0)
    return np.concatenate([F, np.where(edge, J[0, 0], det)[None]])


def _fold_newton(Y, y, s, alpha, lam, eta, steps=4):
    """Newton's method on the extended system (Y, s) of the fold, which is regular there
    (unlike Y = T(Y) alone, whose Jacobian is singular at a double root)."""
    x = np.concatenate([np.array(Y, float), np.asarray(s, float)[None] * np.ones_like(Y[:1])])
    with np.errstate(all="ignore"):
        for _ in range(steps):
            G = _fold_residual(x[:3], x[3], y, alpha, lam, eta)
            J = np.empty((4, 4) + G.shape[1:])
            for j in range(4):
                h = 1e-7 * (np.abs(x[j]) + 1e-3 * np.abs(x[:3]).max(axis=0))
                xp = x.copy()
                xp[j] += h
                J[:, j] = (_fold_residual(xp[:3], xp[3], y, alpha, lam, eta) - G) / h
            # on the boundary Y_12 = Y_22 = 0 only (Y_11, s) move: decouple the others
            edge = (x[1] == 0) & (x[2] == 0)
            for j in (1, 2):
                J[j] = np.where(edge, 0.0, J[j])
                J[:, j] = np.where(edge, 0.0, J[:, j])
                J[j, j] = np.where(edge, 1.0, J[j, j])
                G[j] = np.where(edge, 0.0, G[j])
            Jm = np.moveaxis(J, (0, 1), (-2, -1))
            Gm = np.moveaxis(G, 0, -1)
            finite = np.all(np.isfinite(Jm), axis=(-2, -1)) & np.all(np.isfinite(Gm), axis=-1)
            Jm[~finite] = np.eye(4)
            Gm[~finite] = 0
            try:
                step = np.linalg.solve(Jm, Gm[..., None])[..., 0]
            except np.linalg.LinAlgError:
                break
            trial = x - np.moveaxis(step, -1, 0)
            take = finite & _positive(trial[:3]) & np.all(np.isfinite(trial), axis=0)
            x = np.where(take, trial, x)
        G = _fold_residual(x[:3], x[3], y, alpha, lam, eta)
    ok = np.max(np.abs(G[:3]) / (1 + np.abs(x[:3])), axis=0) < 1e-12
    return x[:3], ok


def spectral_values(alpha, eta, rhos, *, max_iter=120):
    """Top edge of the noise bulk and the outliers of the features, per point.

    Parameters
    ----------
    alpha, eta : ndarray (n,)
    rhos : ndarray (k, n)
        Feature strengths.

    Returns
    -------
    edge : ndarray (n,)
    outliers : ndarray (k, n)
        Spectral value of each feature's outlier; NaN where the feature does not
        separate from the bulk.
    """
    U = unit_functions()
    alpha, eta = np.asarray(alpha, float), np.asarray(eta, float)
    rhos = np.atleast_2d(np.asarray(rhos, float))
    n = alpha.shape[0]
    y, lam = eta.copy(), 1e-2 * alpha * eta  # a reference unit; the values do not depend on it
    # above every eigenvalue: (rho_max + eta)(1 + alpha^-1/2)^2 bounds the spectrum
    s = 2 * (rhos.max(axis=0) + eta) * (1 + 1 / np.sqrt(alpha)) ** 2
    c, _ = _lambda11(s, y, alpha, lam)
    Y, res = fixed_point(_start(y, c, alpha, lam, eta), y, c, alpha, lam, eta, steps=12)
    good = res < 1e-10

    def det_features(Y, s):
        return np.stack([np.asarray(np.broadcast_to(
            U.feature_hessian_det(*Y, y, alpha, r, eta)[0], (n,))) for r in rhos])

    r = contraction(Y, y, alpha, eta)
    d_prev = det_features(Y, s)
    bracket = np.full(rhos.shape, np.nan)
    bracket_Y = np.repeat(Y[:, None, :], rhos.shape[0], axis=1)
    s_prev = g_prev = np.full(n, np.nan)
    frac = np.full(n, 0.3)  # fraction of the way to the goal taken by the next step
    edge = np.full(n, np.nan)
    done = ~good
    for _ in range(max_iter):
        g = (1 - r) ** 2
        # linear extrapolation of (1 - r)^2 to zero, once close to the fold
        with np.errstate(all="ignore"):
            pred = s - g * (s_prev - s) / (g_prev - g)
        use = np.isfinite(pred) & (r > 0.5) & (pred < s) & (pred > 0)
        converged = use & (s - pred <= 1e-13 * s)
        edge = np.where(converged & ~done, pred, edge)
        done |= converged
        if done.all():
            break
        goal = np.where(use, pred, 0.0)
        target = s - frac * (s - goal)
        c, _ = _lambda11(target, y, alpha, lam)
        Yt, rt_res = fixed_point(Y, y, c, alpha, lam, eta, steps=12)
        rt = contraction(Yt, y, alpha, eta)
        # accept only a continuation of the same fixed point: converged, attracting, and
        # closer to the fold than before (a step across the bulk lands on another branch)
        ok = (~done & (rt_res < 1e-11) & (rt < 1) & (rt >= r - 1e-6)
              & np.all(np.abs(Yt - Y) <= 0.5 * (np.abs(Y) + 1e-3 * np.abs(Y).max(axis=0)),
                       axis=0))
        d_new = det_features(Yt, target)
        cross = ok & (np.sign(d_new) != np.sign(d_prev)) & np.isnan(bracket)
        bracket = np.where(cross, s, bracket)
        bracket_Y = np.where(cross[None], Y[:, None, :], bracket_Y)
        s_prev = np.where(ok, s, s_prev)
        g_prev = np.where(ok, g, g_prev)
        s = np.where(ok, target, s)
        Y = np.where(ok, Yt, Y)
        r = np.where(ok, rt, r)
        d_prev = np.where(ok[None], d_new, d_prev)
        frac = np.where(ok, np.where(use, 0.9, 0.3), 0.3 * frac)
        stuck = ~ok & ~done & (frac * (s - goal) <= 1e-14 * s)
        edge = np.where(stuck, s, edge)
        done |= stuck
    outliers = np.full(rhos.shape, np.nan)
    for k in range(rhos.shape[0]):
        has = np.isfinite(bracket[k]) & np.isfinite(edge)
        if has.any():
            outliers[k, has] = _refine_outlier(alpha[has], eta[has], rhos[k, has],
                                               y[has], lam[has], bracket[k, has],
                                               bracket_Y[:, k, has], edge[has])
    return edge, outliers


def _refine_outlier(alpha, eta, rho, y, lam, hi, Y_hi, edge):
    """Regula falsi (Illinois) in s for the zero of the feature-Hessian determinant."""
    U = unit_functions()

    def value(s, Y):
        c, _ = _lambda11(s, y, alpha, lam)
        Y, _ = fixed_point(Y, y, c, alpha, lam, eta, steps=6)
        return np.asarray(U.feature_hessian_det(*Y, y, alpha, rho, eta)[0]), Y

    f_hi, Y_hi = value(hi, Y_hi)
    # the sign change lies between the bracket's upper end and the next accepted step;
    # walk down in small steps to find a lower end, never below the edge
    lo = np.maximum(edge * (1 + 1e-12), 0.5 * hi)
    Y_lo = Y_hi.copy()
    f_lo = f_hi.copy()
    for frac in (0.9, 0.7, 0.5, 0.3, 0.1, 0.0):
        cand = edge + (hi - edge) * frac
        fc, Yc = value(np.maximum(cand, edge * (1 + 1e-12)), Y_lo)
        found = np.sign(fc) != np.sign(f_hi)
        new = found & (np.sign(f_lo) == np.sign(f_hi))
        lo = np.where(new, cand, lo)
        f_lo = np.where(new, fc, f_lo)
        Y_lo = np.where(new[None], Yc, Y_lo)
        hi_move = ~found & (np.sign(f_lo) == np.sign(f_hi))
        hi = np.where(hi_move, cand, hi)
        f_hi = np.where(hi_move, fc, f_hi)
        Y_hi = np.where(hi_move[None], Yc, Y_hi)
    side = 0
    for _ in range(80):
        with np.errstate(all="ignore"):
            mid = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        mid = np.where(np.isfinite(mid) & (mid > np.minimum(lo, hi))
                       & (mid < np.maximum(lo, hi)), mid, 0.5 * (lo + hi))
        fm, Ym = value(mid, Y_hi)
        same_hi = np.sign(fm) == np.sign(f_hi)
        hi = np.where(same_hi, mid, hi)
        f_hi = np.where(same_hi, fm, f_hi)
        Y_hi = np.where(same_hi[None], Ym, Y_hi)
        lo = np.where(same_hi, lo, mid)
        f_lo = np.where(same_hi, f_lo, fm)
        # Illinois: halve the stale end's value so that the bracket keeps shrinking
        if side == 1:
            f_lo = np.where(same_hi, f_lo / 2, f_lo)
        side = 1
        if np.all(np.abs(hi - lo) <= 4e-16 * np.abs(hi)):
            break
    return np.where(np.sign(f_lo) != np.sign(f_hi), 0.5 * (lo + hi), np.nan)


def _unit_state(params, s, family, Q, Y):
    """Starting state of a unit on spectral value s with decoder norm Q.

    Returns z (8, n) in the order of :data:`symrep.numeric.system.UNKNOWN_NAMES`, the
    residual of d f/dQ there (NaN where the state does not exist) and the precision.
    """
    alpha, beta, lam, rho, eta = params
    gen = generated()
    y = Q + beta
    c, kappa = _lambda11(s, y, alpha, lam)
    if family == 1:
        Y, ok, Y_warm = fold_fixed_point(Y, y, s, alpha, lam, eta)
    else:
        Y, ok = attracting_fixed_point(Y, y, c, alpha, lam, eta)
        Y_warm = Y
    zero = 0 * Q
    z = np.stack([Q, kappa * Q, kappa**2 * Q, zero, zero, *Y])
    with np.errstate(all="ignore"):
        if family == 2:
            # m^2 enters d f/dY_11 linearly: two evaluations give it
            r0 = np.asarray(gen.residual(*z, *params)[5])
            z1 = z.copy()
            z1[3] = np.sqrt(Q)
            z1[4] = kappa * z1[3]
            r1 = np.asarray(gen.residual(*z1, *params)[5])
            m2 = -r0 / (r1 - r0) * Q
            ok &= (m2 > 0) & (m2 <= Q)
            m = np.sqrt(np.clip(m2, 0, Q))
            z[3], z[4] = m, kappa * m
        g = np.asarray(np.broadcast_to(gen.residual(*z, *params)[0], Q.shape))
    return z, np.where(ok, g, np.nan), Y_warm


def _family_roots(params, s, family):
    """All roots of d f/dQ for units on spectral value s (family 1 bulk, 2 outlier).

    Returns a list of (z (8, n), found (n,)) starting states, one per bracket found.
    """
    alpha, beta, lam, rho, eta = params
    n = alpha.shape[0]
    q_max = 2 * (s + lam / (alpha * beta))
    fractions = np.concatenate([np.geomspace(_SCAN_RANGE, 1.0, UNIT_GRID)[::-1], _SCAN_TAIL])
    c, _ = _lambda11(s, q_max + beta, alpha, lam)
    Y = _start(q_max + beta, c, alpha, lam, eta)
    previous = None
    roots = []
    for frac in fractions:
        Q = frac * q_max
        z, g, Y = _unit_state(params, s, family, Q, Y)
        if previous is not None:
            Q_prev, g_prev, Y_prev = previous
            bracket = (np.sign(g) != np.sign(g_prev)) & np.isfinite(g) & np.isfinite(g_prev)
            if bracket.any():
                idx = np.nonzero(bracket)[0]
                zi, ok = _refine_root(tuple(p[idx] for p in params), s[idx], family,
                                      Q[idx], g[idx], Y[:, idx], Q_prev[idx], g_prev[idx])
                full = np.full((8, n), np.nan)
                full[:, idx] = zi
                found = np.zeros(n, bool)
                found[idx] = ok
                roots.append((full, found))
        # a grid point where the state could not be computed does not break a bracket:
        # the comparison is with the last point where it could
        if previous is None:
            previous = (Q, g, Y)
        else:
            keep = np.isfinite(g)
            previous = (np.where(keep, Q, previous[0]), np.where(keep, g, previous[1]),
                        np.where(keep, Y, previous[2]))
    return roots


def _refine_root(params, s, family, lo, f_lo, Y, hi, f_hi):
    """Illinois regula falsi on log Q between a bracket's ends, to rounding.

    A few iterations usually give a start that the Newton polish takes to rounding, but
    without weight decay the equations hardly depend on Q near an overfitting root
    (their Jacobian is nearly singular there), so the bracket is shrunk until it cannot
    shrink any further: the sign change of d f/dQ locates the root even where its slope
    is tiny. Returns (z, ok) at the end of the final bracket with the smaller residual.
    """
    a, b = np.log(lo), np.log(hi)
    fa, fb = np.array(f_lo, float), np.array(f_hi, float)
    Ya, Yb = np.array(Y, float), np.array(Y, float)
    side = np.zeros(a.shape, int)
    active = np.ones(a.shape, bool)
    for _ in range(_REFINE_MAX):
        idx = np.nonzero(active)[0]
        if not len(idx):
            break
        ai, bi, fai, fbi = a[idx], b[idx], fa[idx], fb[idx]
        with np.errstate(all="ignore"):
            m = (ai * fbi - bi * fai) / (fbi - fai)
        m = np.where(np.isfinite(m) & (m > np.minimum(ai, bi)) & (m < np.maximum(ai, bi)),
                     m, 0.5 * (ai + bi))
        sub = tuple(p[idx] for p in params)
        _, fm, Ym = _unit_state(sub, s[idx], family, np.exp(m), Ya[:, idx])
        bad = ~np.isfinite(fm)
        same_a = np.sign(fm) == np.sign(fai)
        side_i = side[idx]
        fbi = np.where(same_a & (side_i == -1), fbi / 2, fbi)
        fai = np.where(~same_a & (side_i == 1), fai / 2, fai)
        a[idx] = np.where(same_a, m, ai)
        fa[idx] = np.where(same_a, fm, fai)
        b[idx] = np.where(same_a, bi, m)
        fb[idx] = np.where(same_a, fbi, fm)
        Ya[:, idx] = np.where(same_a[None] & ~bad[None], Ym, Ya[:, idx])
        Yb[:, idx] = np.where(~same_a[None] & ~bad[None], Ym, Yb[:, idx])
        side[idx] = np.where(same_a, -1, 1)
        done = bad | (np.abs(b[idx] - a[idx]) <= 1e-15 * np.maximum(1, np.abs(a[idx])))
        done |= fm == 0
        active[idx] = ~done
    use_a = np.abs(fa) <= np.abs(fb)
    Q = np.exp(np.where(use_a, a, b))
    z, fm, _ = _unit_state(params, s, family, Q, np.where(use_a[None], Ya, Yb))
    return z, np.isfinite(fm)


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
    params = tuple(np.asarray(p, float) for p in (alpha, beta, lam, rho, eta))
    alpha, beta, lam, rho, eta = params
    states = []
    # collapsed: Q = 0, D = 1, so the (1, 1) entry carries c = alpha
    Y, res = fixed_point(_start(beta, alpha, alpha, lam, eta), beta, alpha, alpha, lam, eta,
                         steps=12)
    zero = 0 * alpha
    # near a continuous collapse the precision sits at a fold of the map (two fixed
    # points merge), where Newton's method creeps: keep any positive start and let the
    # polish and the residual of the generated system decide, as for the other states
    states.append((0, np.stack([zero] * 5 + list(Y)), np.isfinite(res)))
    edge, outliers = spectral_values(alpha, eta, rho[None])
    for family, s in ((1, edge), (2, outliers[0])):
        has = np.isfinite(s)
        if not has.any():
            continue
        idx = np.nonzero(has)[0]
        sub = tuple(p[idx] for p in params)
        for z, found in _family_roots(sub, s[idx], family):
            full = np.full((8, alpha.shape[0]), np.nan)
            full[:, idx] = z
            ok = np.zeros(alpha.shape[0], bool)
            ok[idx] = found
            states.append((family, full, ok))
    return states


# Free unknowns and the equations that fix them, per family (indices into the unknowns
# Q, R, E, m, d, chihat_Q, chihat_R, chihat_E): a collapsed unit has Q = R = E = m = d = 0
# and its precision fixed by the Q, R, E equations; an overfitting unit has m = d = 0.
NEWTON_BLOCKS = {
    0: ((0, 1, 2), (5, 6, 7)),
    1: ((0, 1, 2, 5, 6, 7), (0, 1, 2, 5, 6, 7)),
    2: (tuple(range(8)), tuple(range(8))),
}


def polish(z, params, family, *, max_iter=40):
    """Newton's method on the generated saddle-point equations, to rounding.

    Runs until the residual, relative to the size of the terms of the equations, stops
    decreasing; returns the unknowns and that residual. Rows and columns follow
    :data:`NEWTON_BLOCKS` for the family.
    """
    gen = generated()
    z = np.array(z, dtype=float)
    rows, cols = (list(v) for v in NEWTON_BLOCKS[family])
    params = [np.asarray(p, float) for p in params]
    scale = ((1 + np.max(np.abs(z), axis=0)) * (1 + params[0] + params[2] + 1 / params[1])
             * (1 + params[3] + params[4]))

    def residual(z):
        with np.errstate(all="ignore"):
            res = np.asarray(np.broadcast_arrays(*gen.residual(*z, *params)))
        return np.max(np.abs(res), axis=0) / scale

    best = residual(z)
    best = np.where(np.isfinite(best), best, np.inf)
    active = np.isfinite(best)
    stalls = np.zeros(z.shape[1], int)
    for _ in range(max_iter):
        if not active.any():
            break
        idx = np.nonzero(active)[0]
        sub = [p[idx] for p in params]
        with np.errstate(all="ignore"):
            out = np.asarray(np.broadcast_arrays(*gen.residual_jacobian(*z[:, idx], *sub)))
        F = out[:8][rows].T
        J = np.moveaxis(out[8:].reshape(8, 8, -1)[np.ix_(rows, cols)], -1, 0)
        finite = np.all(np.isfinite(F), axis=1) & np.all(np.isfinite(J), axis=(1, 2))
        J[~finite] = np.eye(len(cols))
        F[~finite] = 0
        with np.errstate(all="ignore"):
            try:
                delta = np.linalg.solve(J, F[..., None])[..., 0]
            except np.linalg.LinAlgError:
                delta = np.stack([np.linalg.lstsq(a, b, rcond=None)[0]
                                  for a, b in zip(J, F, strict=True)])
        # damped: the full step first, then shorter ones where it does not reduce the
        # residual (far from the root the linearisation overshoots)
        better = np.zeros(len(idx), bool)
        new = np.full(len(idx), np.inf)
        for t in (1.0, 0.5, 0.25, 0.1, 0.03):
            trial = z[:, idx].copy()
            trial[cols] -= t * delta.T
            cand = residual_at(gen, trial, sub, scale[idx])
            take = ~better & finite & np.isfinite(cand) & (cand < best[idx])
            z[:, idx[take]] = trial[:, take]
            new = np.where(take, cand, new)
            better |= take
            if better.all():
                break
        stalls[idx] = np.where(better & (new < 0.5 * best[idx]), 0, stalls[idx] + 1)
        best[idx[better]] = new[better]
        active[idx] = finite & (stalls[idx] < 5) & (best[idx] > 1e-17)
    return z, best


def residual_at(gen, z, params, scale):
    """Largest residual of the saddle-point equations relative to ``scale``."""
    with np.errstate(all="ignore"):
        res = np.asarray(np.broadcast_arrays(*gen.residual(*z, *params)))
    return np.max(np.abs(res), axis=0) / scale


#: Unit families, in the order of their codes.
FAMILIES = ("collapsed", "overfitting", "learning")
#: Largest accepted residual of the saddle-point equations, relative to their terms.
RESIDUAL_TOLERANCE = 1e-9
#: Slack on the contraction rate of the conjugate map: the overfitting unit sits on the
#: fold, where it is exactly 1.
_CONTRACTION_SLACK = 1e-6


def equation_scale(z, alpha, beta, lam, rho, eta):
    """Typical magnitude of the terms of the saddle-point equations at unknowns z."""
    size = 1.0 + np.max(np.abs(z), axis=0)
    return size * (1.0 + alpha + lam + 1.0 / beta) * (1.0 + rho + eta)


def physical(z, alpha, beta, eta, *, tol=1e-9):
    """Which states are admissible saddle points of the training problem.

    The precision matrix is positive semidefinite with Y_11 > 0 (chi is a variance
    times b), G - t t^T is positive semidefinite (the overlaps of the weights'
    components orthogonal to the feature), Q >= 0, and the precision is a fixed point of
    the conjugate map that does not repel (its partner of the pair does).
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


def stationary_points(alpha, beta, lam, rho, eta):
    """Every admissible stationary point of the one-unit RS equations, polished.

    Parameters
    ----------
    alpha, beta, lam, rho, eta : ndarray (n,)

    Returns
    -------
    list of dict
        One entry per state found by :func:`unit_states`: ``family`` (index into
        :data:`FAMILIES`), ``z`` (8, n), ``ok`` (n,) admissible and converged,
        ``free_energy`` (n,) (+inf where not ok) and ``residual`` (n,) relative to
        :func:`equation_scale`. The sign of (m, d) is fixed by m >= 0.
    """
    gen = generated()
    # a weight decay below 1e-100 changes no digit of any result, but its powers
    # underflow in the conjugate map (products of lam with other small terms): solve
    # those points without weight decay
    lam = np.where(np.asarray(lam, float) < _LAM_FLOOR, 0.0, lam)
    params = tuple(np.asarray(p, float) for p in (alpha, beta, lam, rho, eta))
    n = params[0].shape[0]
    points = []
    for family, z, found in unit_states(*params):
        z_out = np.full((8, n), np.nan)
        residual = np.full(n, np.inf)
        f = np.full(n, np.inf)
        ok = np.zeros(n, bool)
        idx = np.nonzero(found)[0]
        if len(idx):
            sub = tuple(p[idx] for p in params)
            zi, _ = polish(z[:, idx], sub, family)
            flip = zi[3] < 0  # the W -> -W image of the same state
            zi[3:5] = np.where(flip, -zi[3:5], zi[3:5])
            with np.errstate(all="ignore"):
                res = np.asarray(np.broadcast_arrays(*gen.residual(*zi, *sub)))
                res = np.max(np.abs(res), axis=0) / equation_scale(zi, *sub)
                fi = np.asarray(np.broadcast_to(gen.free_energy(*zi, *sub)[0], res.shape))
            good = (res <= RESIDUAL_TOLERANCE) & np.isfinite(fi)
            good &= physical(zi, sub[0], sub[1], sub[4]) if family else _collapsed_ok(zi, sub)
            z_out[:, idx] = zi
            residual[idx] = res
            f[idx] = np.where(good, fi, np.inf)
            ok[idx] = good
        points.append(dict(family=family, z=z_out, ok=ok, free_energy=f,
                           residual=residual))
    return points


def _collapsed_ok(z, params):
    """A collapsed state: W = W~ = 0 exactly, an attracting positive precision."""
    alpha, beta, lam, rho, eta = params
    Y = z[5:8]
    return (_positive(Y) & np.all(z[:5] == 0, axis=0)
            & (contraction(Y, beta, alpha, eta) < 1 + _CONTRACTION_SLACK))
