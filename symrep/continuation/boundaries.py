"""Phase boundaries as curves: augmented systems continued in two parameters.

A boundary is a curve in two parameters (here beta and alpha, the others fixed) on
which branches satisfy their equations and one condition more:

- collapse threshold: the collapsed branch with det of its (m, d) block = 0 (a learning
  branch leaves it there);
- learning threshold (spectral, BBP): the overfitting branch with the same condition;
- first-order line: a collapsed and a learning branch at the same parameters with
  f_learning - f_collapsed = 0;
- overfitting threshold (below the spectral transition): the fold of the collapsed
  branch, det of its own Jacobian block = 0, where the overfitting branch leaves it.

The unknowns are the branches' free unknowns and the two parameters: one more than the
equations, so the solutions form a curve, followed by pseudo-arclength
(:mod:`symrep.continuation.arclength`). The condition's gradient is taken by central
differences (the residual is exact, so each point is a root to rounding; only the
Newton rate depends on the gradient). Each curve starts from an event that
:mod:`symrep.continuation.branches` located at the first alpha.

For M > 1 latent units the units decouple at the RS saddle point with their own feature
strength rho_k, so the per-unit thresholds are these one-unit curves at each rho_k.
"""

from __future__ import annotations

import numpy as np

from symrep.continuation.arclength import correct, trace_curve
from symrep.continuation.branches import follow, trace
from symrep.continuation.linear_vae import UnitSystem
from symrep.errors import SolverError
from symrep.validation import check_parameters

__all__ = ["AugmentedSystem", "collapse_threshold_curve", "learning_threshold_curve",
           "overfitting_threshold_curve", "first_order_curve", "boundary_curves",
           "phase_boundaries"]


class AugmentedSystem:
    """Branches' equations and one condition, in their free unknowns and two parameters.

    Parameters
    ----------
    system : UnitSystem
        The model's system.
    families : sequence of int
        The branch families.
    states : sequence of ndarray (8,)
        A state of each (its fixed unknowns are kept).
    params : ndarray (5,)
        The parameters (those not free are kept).
    free : tuple of str
        The two free parameters; the last is the one the curve is followed along.
    condition : callable
        ``condition(states, params) -> float``.
    """

    def __init__(self, system, families, states, params, free, condition):
        self.system, self.families, self.condition = system, list(families), condition
        self.blocks = [tuple(list(v) for v in system.blocks[f]) for f in families]
        self.base = [np.array(z, dtype=float) for z in states]
        self.params = np.array(params, dtype=float)
        self.free = [system.parameters.index(k) for k in free]

    def split(self, x):
        """(states, params) from x.

        Parameters
        ----------
        x : ndarray
            The unknowns.

        Returns
        -------
        tuple
            (list of ndarray (8,), ndarray (5,))
        """
        zs, k = [], 0
        for base, (_, cols) in zip(self.base, self.blocks, strict=True):
            z = base.copy()
            z[cols] = x[k:k + len(cols)]
            k += len(cols)
            zs.append(z)
        p = self.params.copy()
        p[self.free] = x[k:]
        return zs, p

    def join(self, zs, p):
        """x from (states, params).

        Parameters
        ----------
        zs : sequence of ndarray (8,)
            The states.
        p : ndarray (5,)
            The parameters.

        Returns
        -------
        ndarray
        """
        return np.concatenate([np.asarray(z)[cols] for z, (_, cols) in
                               zip(zs, self.blocks, strict=True)] + [np.asarray(p)[self.free]])

    def _value(self, x):
        zs, p = self.split(x)
        return self.condition(zs, p)

    def __call__(self, x):
        zs, p = self.split(x)
        H = []
        n = len(x)
        DH = np.zeros((n - 1, n))
        r = c = 0
        for z, (rows, cols) in zip(zs, self.blocks, strict=True):
            F, J, Fp = self.system.jacobians(z, p)
            H.append(F[rows])
            DH[r:r + len(rows), c:c + len(cols)] = J[np.ix_(rows, cols)]
            DH[r:r + len(rows), n - 2:] = Fp[np.ix_(rows, self.free)]
            r += len(rows)
            c += len(cols)
        H.append([self.condition(zs, p)])
        for i in range(n):
            step = 1e-7 * (1 + abs(x[i]))
            e = np.zeros(n)
            e[i] = step
            DH[-1, i] = (self._value(x + e) - self._value(x - e)) / (2 * step)
        return np.concatenate(H), DH


def _pair_condition(system):
    def condition(zs, p):
        return float(np.linalg.det(system.pair_block(zs[0], p)))
    return condition


def _fold_condition(system, family):
    rows, cols = (list(v) for v in system.blocks[family])

    def condition(zs, p):
        _, J = system.residual_jacobian(zs[0], p)
        return float(np.linalg.det(J[np.ix_(rows, cols)]))
    return condition


def _gap_condition(system):
    def condition(zs, p):
        return system.free_energy(zs[1], p) - system.free_energy(zs[0], p)
    return condition


def _continue(aug, x0, along_range, h, max_steps, stop_extra=None):
    """Trace the augmented curve along its last unknown over ``along_range``, both ways
    from x0 where it lies inside, and return its points (ndarray (k, n)) in the order
    of the curve, ends placed on the range's edges, and why each end stopped."""
    lo, hi = along_range
    parts, stops = [], []
    for sign in (-1.0, 1.0):
        if (sign < 0 and x0[-1] <= lo * (1 + 1e-12)) or (sign > 0 and x0[-1] >= hi * (1 - 1e-12)):
            continue
        pts, why = _continue_one(aug, x0, along_range, h, max_steps, stop_extra, sign)
        parts.append(pts[::-1] if sign < 0 else pts)
        stops.append(why)
    if len(parts) == 2:
        parts[1] = parts[1][1:]  # x0 once
    return np.concatenate(parts), " / ".join(stops)


def _continue_one(aug, x0, along_range, h, max_steps, stop_extra, sign):
    """:func:`_continue` in one direction (``sign`` of the last unknown's change)."""
    lo, hi = along_range
    direction = np.zeros(len(x0))
    direction[-1] = sign

    def stop(x_prev, x):
        if not lo - 1e-14 * (1 + abs(lo)) <= x[-1] <= hi + 1e-14 * (1 + abs(hi)):
            edge = hi if x[-1] > hi else lo
            w = (edge - x_prev[-1]) / (x[-1] - x_prev[-1])
            e = np.zeros(len(x))
            e[-1] = 1.0
            xe, _, _ = correct(aug, x_prev + w * (x - x_prev), e)
            return ("range", xe) if xe is not None else "range"
        zs, p = aug.split(x)
        if np.any(p <= 0) or not all(aug.system.physical(z, f) for z, f in
                                     zip(zs, aug.families, strict=True)):
            return "inadmissible"
        if stop_extra is not None:
            return stop_extra(zs, p)
        return None

    curve = trace_curve(aug, x0, direction, h=h, max_steps=max_steps, stop=stop)
    points = list(curve.points)
    return np.array(points), curve.stop


def _params(lam, rho, eta, alpha, beta=1.0):
    return np.array([alpha, beta, lam, rho, eta], dtype=float)


def _start(rng, start):
    """The start of a curve in its range (default its lower end)."""
    if start is None:
        return float(rng[0])
    if not rng[0] <= start <= rng[1]:
        raise ValueError(f"start must lie in the range {rng!r}, got {start!r}")
    return float(start)


def _check(lam, rho, eta, lo, hi, name):
    check_parameters(lam=lam, rho=rho, eta=eta)
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 < lo < hi):
        raise ValueError(f"{name} must be a range (lo, hi) with 0 < lo < hi, got ({lo!r}, {hi!r})")


def collapse_threshold_curve(lam, rho=1.0, eta=1.0, *, alpha=(1.5, 10.0), start=None,
                             beta_max=None, h=0.05, max_steps=4000, system=None):
    """beta_c(alpha): the collapse threshold continued as a curve in (alpha, beta).

    At ``start`` the collapsed branch is followed down in beta from ``beta_max`` to its
    branch point; from there the augmented system (the collapsed branch's equations and
    det of its (m, d) block = 0) is continued in alpha, both ways, over the range.

    Parameters
    ----------
    lam, rho, eta : float
        The fixed parameters.
    alpha : tuple of float, optional
        The range (lo, hi) of alpha (above the spectral transition alpha rho^2 = eta^2,
        where a learning branch leaves the collapsed one).
    start : float, optional
        The alpha where the curve is first found (default lo).
    beta_max : float, optional
        Where the first search runs (default 4 (rho + eta), above the threshold).
    h : float, optional
        The first arclength step.
    max_steps : int, optional
        Largest number of steps.
    system : UnitSystem, optional
        The model's system.

    Returns
    -------
    dict
        ``alpha``, ``beta`` (arrays along the curve), ``states`` (8, k) (the collapsed
        branch's unknowns) and ``stop`` (why each end stopped: "range" on the range's
        edge).

    Raises
    ------
    ValueError
        If a parameter is out of range.
    SolverError
        If no branch point is found at ``start``.
    """
    _check(lam, rho, eta, *alpha, "alpha")
    a0 = _start(alpha, start)
    system = system or UnitSystem()
    beta_max = 4 * (rho + eta) if beta_max is None else float(beta_max)
    p0 = _params(lam, rho, eta, a0, beta_max)
    first = [s for s in system.search(p0) if s[0] == 0]
    if not first:
        raise SolverError(f"no collapsed state at alpha={a0!r}, beta={beta_max!r}",
                          {"params": p0.tolist()})
    names = system.parameters
    b = follow(0, first[0][1], dict(zip(names, p0, strict=True)), "beta", beta_max * 1e-6,
               system=system, h=h)
    bps = [e for e in b.events if e.kind == "branch point"]
    if not bps:
        raise SolverError(f"no collapse threshold at alpha={a0!r}: no learning branch "
                          "leaves the collapsed one", {"params": p0.tolist()})
    e = bps[0]
    aug = AugmentedSystem(system, [0], [e.state], [e.parameters[k] for k in names],
                          ("beta", "alpha"), _pair_condition(system))
    x0 = aug.join([e.state], [e.parameters[k] for k in names])
    pts, stop = _continue(aug, x0, alpha, h, max_steps)
    states = np.stack([aug.split(x)[0][0] for x in pts], axis=1)
    return {"alpha": pts[:, -1], "beta": pts[:, -2], "states": states, "stop": stop}


def learning_threshold_curve(lam, rho=1.0, eta=1.0, *, beta=(0.05, 1.0), h=0.05,
                             max_steps=4000, system=None):
    """The spectral (BBP) line where a learning branch leaves the overfitting one,
    continued as a curve in (beta, alpha).

    At the first beta the overfitting branch is followed in alpha from half the
    spectral transition up to twice it; from its branch point the augmented system (the
    overfitting branch's equations and det of its (m, d) block = 0) is continued in beta
    until the range ends or the overfitting branch does (where it meets the collapsed
    one).

    Parameters
    ----------
    lam, rho, eta : float
        The fixed parameters.
    beta : tuple of float, optional
        The range (lo, hi) of beta; it starts at lo.
    h : float, optional
        The first arclength step.
    max_steps : int, optional
        Largest number of steps.
    system : UnitSystem, optional
        The model's system.

    Returns
    -------
    dict
        ``alpha``, ``beta`` (arrays along the curve), ``states`` (8, k) and ``stop``.

    Raises
    ------
    ValueError
        If a parameter is out of range.
    SolverError
        If no overfitting state or no branch point is found at the first beta.
    """
    _check(lam, rho, eta, *beta, "beta")
    system = system or UnitSystem()
    names = system.parameters
    a0 = 0.5 * (eta / rho) ** 2  # below the transition: overfitting, no learning
    p0 = _params(lam, rho, eta, a0, beta[0])
    start = [s for s in system.search(p0) if s[0] == 1]
    if not start:
        raise SolverError(f"no overfitting state at alpha={a0!r}, beta={beta[0]!r}",
                          {"params": p0.tolist()})
    b = follow(1, start[0][1], dict(zip(names, p0, strict=True)), "alpha", 4 * a0,
               system=system, h=h)
    bps = [e for e in b.events if e.kind == "branch point"]
    if not bps:
        raise SolverError(f"no learning threshold at beta={beta[0]!r}",
                          {"params": p0.tolist()})
    e = bps[0]
    aug = AugmentedSystem(system, [1], [e.state], [e.parameters[k] for k in names],
                          ("alpha", "beta"), _pair_condition(system))
    x0 = aug.join([e.state], [e.parameters[k] for k in names])
    pts, stop = _continue(aug, x0, beta, h, max_steps)
    states = np.stack([aug.split(x)[0][0] for x in pts], axis=1)
    return {"alpha": pts[:, -2], "beta": pts[:, -1], "states": states, "stop": stop}


def overfitting_threshold_curve(lam, rho=1.0, eta=1.0, *, alpha=(0.1, 0.9), start=None,
                                beta_max=None, h=0.05, max_steps=4000, system=None):
    """The fold of the collapsed branch, where the overfitting branch leaves it, continued
    as a curve in (alpha, beta): below the spectral transition the boundary between the
    overfitting and the collapsed (regularized) phase.

    Parameters
    ----------
    lam, rho, eta : float
        The fixed parameters.
    alpha : tuple of float, optional
        The range (lo, hi) of alpha.
    start : float, optional
        The alpha where the curve is first found (default lo).
    beta_max : float, optional
        Where the first search runs (default 4 (rho + eta)).
    h : float, optional
        The first arclength step.
    max_steps : int, optional
        Largest number of steps.
    system : UnitSystem, optional
        The model's system.

    Returns
    -------
    dict
        ``alpha``, ``beta`` (arrays), ``states`` (8, k) and ``stop``.

    Raises
    ------
    ValueError
        If a parameter is out of range.
    SolverError
        If the collapsed branch has no fold below ``beta_max`` at ``start``.
    """
    _check(lam, rho, eta, *alpha, "alpha")
    a0 = _start(alpha, start)
    system = system or UnitSystem()
    names = system.parameters
    beta_max = 4 * (rho + eta) if beta_max is None else float(beta_max)
    p0 = _params(lam, rho, eta, a0, beta_max)
    first = [s for s in system.search(p0) if s[0] == 0]
    if not first:
        raise SolverError(f"no collapsed state at alpha={a0!r}, beta={beta_max!r}",
                          {"params": p0.tolist()})
    b = follow(0, first[0][1], dict(zip(names, p0, strict=True)), "beta", beta_max * 1e-6,
               system=system, h=h)
    folds = [e for e in b.events if e.kind == "fold"]
    if not folds:
        raise SolverError(f"no fold of the collapsed branch at alpha={a0!r}",
                          {"params": p0.tolist()})
    e = folds[0]
    p = [e.parameters[k] for k in names]
    aug = AugmentedSystem(system, [0], [e.state], p, ("beta", "alpha"),
                          _fold_condition(system, 0))
    pts, stop = _continue(aug, aug.join([e.state], p), alpha, h, max_steps)
    states = np.stack([aug.split(x)[0][0] for x in pts], axis=1)
    return {"alpha": pts[:, -1], "beta": pts[:, -2], "states": states, "stop": stop}


def first_order_curve(lam, rho=1.0, eta=1.0, *, alpha=(1.5, 10.0), start=None, beta_max=None,
                      h=0.05, max_steps=4000, system=None):
    """The first-order line between the collapsed and the learning phase, continued as a
    curve in (alpha, beta).

    At ``start`` the branches are traced in beta from ``beta_max`` down
    (:func:`symrep.continuation.trace`) and their free-energy crossing located; from
    there the augmented system (both branches' equations and f_learning = f_collapsed)
    is continued in alpha, both ways, until the range ends or the learning state
    reaches the collapsed one (the line ends where the transition turns continuous).

    Parameters
    ----------
    lam, rho, eta : float
        The fixed parameters.
    alpha : tuple of float, optional
        The range (lo, hi) of alpha.
    start : float, optional
        The alpha where the line is first found (default lo).
    beta_max : float, optional
        The start of the first trace (default 4 (rho + eta)).
    h : float, optional
        The first arclength step.
    max_steps : int, optional
        Largest number of steps.
    system : UnitSystem, optional
        The model's system.

    Returns
    -------
    dict
        ``alpha``, ``beta`` (arrays), ``states`` (2, 8, k): the collapsed and the
        learning unknowns, and ``stop``.

    Raises
    ------
    ValueError
        If a parameter is out of range.
    SolverError
        If no crossing between a collapsed and a learning branch is found at ``start``
        (the transition is continuous there).
    """
    _check(lam, rho, eta, *alpha, "alpha")
    a0 = _start(alpha, start)
    system = system or UnitSystem()
    names = system.parameters
    beta_max = 4 * (rho + eta) if beta_max is None else float(beta_max)
    p0 = _params(lam, rho, eta, a0, beta_max)
    _, events = trace(dict(zip(names, p0, strict=True)), "beta", beta_max * 1e-6, h=h,
                      system=system)
    cross = [e for e in events if e.kind == "first-order crossing"
             and set(e.branches) == {system.families[0], system.families[2]}]
    if not cross:
        raise SolverError(f"no first-order crossing at alpha={a0!r} (the collapse is "
                          "continuous there)", {"params": p0.tolist()})
    e = cross[-1]  # the largest beta: the boundary of the collapsed phase
    zc, zl = (e.state, e.partner) if e.branches[0] == system.families[0] else (e.partner,
                                                                                e.state)
    p = [e.parameters[k] for k in names]
    aug = AugmentedSystem(system, [0, 2], [zc, zl], p, ("beta", "alpha"),
                          _gap_condition(system))

    def merged(zs, _p):
        # the learning state reaching the collapsed one: a tricritical end of the line
        return "merged" if zs[1][0] <= 1e-6 * (1 + abs(zs[1][5])) else None

    pts, stop = _continue(aug, aug.join([zc, zl], p), alpha, h, max_steps, merged)
    states = np.stack([np.stack(aug.split(x)[0]) for x in pts], axis=2)
    return {"alpha": pts[:, -1], "beta": pts[:, -2], "states": states, "stop": stop}


def boundary_curves(lam, rho=1.0, eta=1.0, *, alpha=(0.1, 10.0), beta=(1e-3, 10.0),
                    system=None):
    """The boundaries of the (alpha, beta) plane at fixed (lam, rho, eta), as arrays.

    Parameters
    ----------
    lam, rho, eta : float
        The fixed parameters.
    alpha, beta : tuple of float, optional
        The plane's ranges.
    system : UnitSystem, optional
        The model's system.

    Returns
    -------
    dict
        name -> {"alpha": ndarray, "beta": ndarray}: ``"collapse"`` (the collapse
        threshold beta_c(alpha) above the spectral transition: the phase boundary where
        the transition is continuous, the collapsed branch's stability limit where it is
        of first order), ``"first_order"`` (the first-order line, where there is one at
        the spectral transition's side of the range) and ``"learning"`` (the spectral
        line, within the beta range). A curve that does not enter the ranges is left out.

    Raises
    ------
    ValueError
        If a parameter or a range is invalid.
    """
    _check(lam, rho, eta, *alpha, "alpha")
    _check(lam, rho, eta, *beta, "beta")
    system = system or UnitSystem()
    out = {}
    a_bbp = (eta / rho) ** 2
    lo = max(alpha[0], a_bbp * (1 + 1e-3))
    # each curve is first sought at a few alphas across the range (it may enter the
    # range inside it: beta_c > 0 only where (alpha s)^2 > lam (lam + alpha)), then
    # continued both ways from the first found
    starts = np.geomspace(lo, alpha[1], 6) if lo < alpha[1] else []
    for name, curve in (("collapse", collapse_threshold_curve), ("first_order", first_order_curve)):
        for a0 in starts:
            try:
                c = curve(lam, rho, eta, alpha=(lo, alpha[1]), start=float(a0), system=system)
            except SolverError:
                continue
            out[name] = {"alpha": c["alpha"], "beta": c["beta"]}
            break
    if alpha[0] < a_bbp < alpha[1]:
        try:
            b = learning_threshold_curve(lam, rho, eta, beta=beta, system=system)
            out["learning"] = {"alpha": b["alpha"], "beta": b["beta"]}
        except SolverError:
            pass
    return out


def phase_boundaries(alpha, beta, lam, rho=1.0, eta=1.0, *, system=None):
    """The phase boundaries of the (alpha, beta) plane from the continued curves, in the
    format of :attr:`symrep.solvers.phase_plane.PhaseDiagram.boundaries`.

    ``"learning|regularized"``: the first-order line where there is one, else the
    collapse threshold (where the first-order line exists at an alpha, the threshold
    there is only the collapsed branch's stability limit); ``"learning|overfitting"``:
    the spectral line; ``"overfitting|regularized"``: the fold of the collapsed branch
    below the spectral transition. Each is clipped to the grid's box.

    Parameters
    ----------
    alpha, beta : 1-d array_like
        The grid's axes (their ranges are the plane's).
    lam, rho, eta : float
        The fixed parameters.
    system : UnitSystem, optional
        The model's system.

    Returns
    -------
    dict
        ``"phase|phase"`` (names sorted) -> array (k, 2) of (alpha, beta) points
        ordered along the curve.

    Raises
    ------
    ValueError
        If a parameter or an axis is invalid.
    """
    alpha = np.asarray(alpha, dtype=float)
    beta = np.asarray(beta, dtype=float)
    if alpha.ndim != 1 or beta.ndim != 1 or alpha.size < 2 or beta.size < 2:
        raise ValueError("alpha and beta must be 1-d arrays with at least 2 values each")
    a_rng = (float(alpha.min()), float(alpha.max()))
    b_rng = (float(beta.min()), float(beta.max()))
    system = system or UnitSystem()
    curves = boundary_curves(lam, rho, eta, alpha=a_rng, beta=b_rng, system=system)
    a_bbp = (eta / rho) ** 2
    if a_rng[0] < a_bbp:
        hi = min(a_rng[1], a_bbp)
        for a0 in np.geomspace(a_rng[0], hi, 4):
            try:
                c = overfitting_threshold_curve(lam, rho, eta, alpha=(a_rng[0], hi),
                                                start=float(a0), system=system)
            except SolverError:
                continue
            curves["overfitting"] = {"alpha": c["alpha"], "beta": c["beta"]}
            break

    def box(c):
        pts = np.column_stack([c["alpha"], c["beta"]])
        keep = ((pts[:, 0] >= a_rng[0]) & (pts[:, 0] <= a_rng[1])
                & (pts[:, 1] >= b_rng[0]) & (pts[:, 1] <= b_rng[1]))
        return pts[keep]

    out = {}
    parts = []
    if "collapse" in curves:
        pts = box(curves["collapse"])
        if "first_order" in curves:
            lo, hi = np.min(curves["first_order"]["alpha"]), np.max(curves["first_order"]["alpha"])
            pts = pts[(pts[:, 0] < lo) | (pts[:, 0] > hi)]
        parts.append(pts)
    if "first_order" in curves:
        parts.append(box(curves["first_order"]))
    if parts:
        pts = np.concatenate(parts)
        out["learning|regularized"] = pts[np.argsort(pts[:, 0], kind="stable")]
    if "learning" in curves:
        out["learning|overfitting"] = box(curves["learning"])
    if "overfitting" in curves:
        out["overfitting|regularized"] = box(curves["overfitting"])
    return {k: v for k, v in out.items() if len(v)}
