"""Branches of stationary points followed along a straight path in parameter space.

A branch is a family of :func:`symrep.solvers.units.stationary_points` (collapsed,
overfitting, learning): its free unknowns y solve the family's equations. Along the path
p(t) = p0 + t u (one parameter: u a unit vector; several: any direction) the curve
H(y, t) = F_used(y, p(t)) = 0 is followed by pseudo-arclength
(:mod:`symrep.continuation.arclength`) with the test functions

- fold: the t-component of the tangent (a turning point of the branch in t);
- branch point, on a family where (m, d) vanish: det of the (m, d) block of the
  Jacobian; a learning branch leaves the collapsed branch there (the collapse threshold)
  or the overfitting branch (the spectral, BBP, transition);
- branch point seen from the learning branch: m, which reaches 0 where the branch joins
  the collapsed (Q -> 0) or the overfitting one; the point is then located on the
  branch it joins, as a root of that branch's (m, d) determinant (there it is a regular
  root; on the learning branch the point is where two branches cross);
- first-order transition: f_1 - f_2 between two branches at the same t, located by the
  secant method in t with both states solved by Newton's method at fixed t.

:func:`trace` runs the full search only at the start and where a branch ends inside
the range (it dies: corrector failure, an inadmissible state); branches born at branch
points are started there along the null vector of the (m, d) block (branch switching).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from symrep.continuation.arclength import TestFunction, correct, trace_curve
from symrep.continuation.linear_vae import UnitSystem
from symrep.errors import SolverError
from symrep.validation import check_parameters

__all__ = ["Event", "Branch", "Path", "follow", "switch", "trace", "crossings"]

log = logging.getLogger("symrep.continuation")

_SAME = 1e-7  # states closer than this (relative) are the same state
_LOWER = {"alpha": 0.0, "beta": 0.0, "lam": -1e-300, "rho": 0.0, "eta": 0.0}


@dataclass(frozen=True)
class Event:
    """A located event on a branch.

    Attributes
    ----------
    kind : str
        ``"fold"``, ``"branch point"`` or ``"first-order crossing"``.
    t : float
        The path coordinate.
    parameters : dict
        The parameter point (alpha, beta, lam, rho, eta).
    branches : tuple of str
        The families involved (the followed one first).
    state : ndarray, shape (8,)
        The unknowns of the first branch at the event.
    partner : ndarray, shape (8,) or None
        The unknowns of the second branch (at a crossing, or where a branch point was
        seen from the side branch); None otherwise.
    """

    kind: str
    t: float
    parameters: dict
    branches: tuple
    state: np.ndarray = field(repr=False)
    partner: np.ndarray = field(default=None, repr=False)


@dataclass(frozen=True)
class Path:
    """The straight path p(t) = start + t * direction.

    Attributes
    ----------
    start : ndarray, shape (5,)
        The parameters at t = 0 (alpha, beta, lam, rho, eta).
    direction : ndarray, shape (5,)
        dp/dt.
    """

    start: np.ndarray
    direction: np.ndarray

    def at(self, t):
        """The parameters at t.

        Parameters
        ----------
        t : float
            The path coordinate.

        Returns
        -------
        ndarray, shape (5,)
        """
        return self.start + t * self.direction

    def named(self, t, names):
        """The parameters at t as a dict.

        Parameters
        ----------
        t : float
            The path coordinate.
        names : sequence of str
            The parameter names.

        Returns
        -------
        dict
        """
        return {k: float(v) for k, v in zip(names, self.at(t), strict=True)}


@dataclass
class Branch:
    """A followed branch.

    Attributes
    ----------
    family : int
        Index into the system's families.
    t : ndarray (k,)
        The path coordinate of its points.
    z : ndarray (8, k)
        The unknowns.
    free_energy : ndarray (k,)
    events : list of Event
    stop : str
        Why it ended.
    """

    family: int
    t: np.ndarray
    z: np.ndarray
    free_energy: np.ndarray
    events: list
    stop: str

    @property
    def name(self):
        """The family's name."""
        return UnitSystem.families[self.family]


def _path(params, along, names):
    """(start, direction) from a parameter dict and a name or a dict of weights."""
    missing = [k for k in names if k not in params]
    if missing:
        raise ValueError(f"params must give {', '.join(names)}; missing {missing}")
    checked = check_parameters(**{k: params[k] for k in names})
    start = np.array([float(checked[k]) for k in names])
    if isinstance(along, str):
        along = {along: 1.0}
    if not along or any(k not in names for k in along):
        raise ValueError(f"along must name parameters among {names}, got {along!r}")
    direction = np.array([float(along.get(k, 0.0)) for k in names])
    if not np.any(direction):
        raise ValueError("along must have a nonzero weight")
    return Path(start, direction)


class _Family:
    """The family's curve H(y, t) on a path, and its maps between y and z."""

    def __init__(self, system, family, z_fixed, path):
        self.system, self.family, self.path = system, family, path
        self.rows, self.cols = (list(v) for v in system.blocks[family])
        self.base = np.array(z_fixed, dtype=float)
        fixed = [i for i in range(len(self.base)) if i not in self.cols]
        self.base[fixed] = 0.0

    def z(self, x):
        z = self.base.copy()
        z[self.cols] = x[:-1]
        return z

    def x(self, z, t):
        return np.append(np.asarray(z)[self.cols], t)

    def __call__(self, x):
        z, p = self.z(x), self.path.at(x[-1])
        F, J, Fp = self.system.jacobians(z, p)
        DH = np.column_stack([J[np.ix_(self.rows, self.cols)], Fp[self.rows] @ self.path.direction])
        return F[self.rows], DH

    def at_fixed_t(self, z0, t):
        """Newton's method at fixed t from z0: the state (or None)."""
        e = np.zeros(len(self.cols) + 1)
        e[-1] = 1.0
        x, _, _ = correct(self, self.x(z0, t), e)
        return None if x is None else self.z(x)


def _pair_det(system, fam):
    def test(x, _t):
        z = fam.z(x)
        return float(np.linalg.det(system.pair_block(z, fam.path.at(x[-1]))))
    return test


def _in_domain(system, fam, x):
    p = fam.path.at(x[-1])
    lower = np.array([_LOWER.get(k, -np.inf) for k in system.parameters])
    return bool(np.all(p > lower)) and system.physical(fam.z(x), fam.family)


def _follow(system, fam, x0, direction, t_range, h, max_steps):
    """Trace one branch from x0 (its first tangent along ``direction``)."""
    lo, hi = t_range
    tests = [TestFunction("fold", lambda x, t: float(t[-1]))]
    if fam.family in system.grows:
        tests.append(TestFunction("branch point", _pair_det(system, fam)))
    k = None
    if fam.family in system.joins:  # the unknown whose zero joins another branch
        k = fam.cols.index(system.joins[fam.family][0])
        tests.append(TestFunction("join", lambda x, t: float(x[k]), locate=False))

    def stop(x_prev, x):
        if not (lo - 1e-15 * (1 + abs(lo)) <= x[-1] <= hi + 1e-15 * (1 + abs(hi))):
            # the end on the range's edge, at fixed t, from the chord's point there
            edge = hi if x[-1] > hi else lo
            w = (edge - x_prev[-1]) / (x[-1] - x_prev[-1])
            z = fam.at_fixed_t(fam.z(x_prev + w * (x - x_prev)), edge)
            return ("range", fam.x(z, edge)) if z is not None else "range"
        # past the zero of the joining unknown the states are inadmissible: the join's
        # test ends the branch there
        if not _in_domain(system, fam, x) and not (k is not None and x_prev[k] * x[k] <= 0):
            return "inadmissible"
        return None

    ends = ("join",)
    curve = trace_curve(fam, x0, direction, h=h, max_steps=max_steps, tests=tests, stop=stop,
                        events_stop=ends)
    return curve


def _branch(system, fam, curve):
    """A Branch from a traced curve, with its events."""
    zs = np.stack([fam.z(x) for x in curve.points], axis=1)
    ts = np.array([x[-1] for x in curve.points])
    f = np.array([system.free_energy(zs[:, i], fam.path.at(ts[i])) for i in range(len(ts))])
    names = system.parameters
    events = []
    for kind, _, xe, _, bracket in curve.events:
        z = fam.z(xe)
        other, partner = (), None
        te = float(xe[-1])
        if kind == "branch point":
            other = (system.families[system.grows[fam.family]],)
        elif kind == "join":
            kind = "branch point"
            joined, te, partner = _join(system, fam.family, z, fam.path, te, bracket)
            z = partner.copy()  # the branch's state there is the joined one's
            other = (system.families[joined],)
        events.append(Event(kind, te, fam.path.named(te, names),
                            (system.families[fam.family], *other), z, partner))
    stop = "branch point" if curve.stop == "join" else curve.stop
    return Branch(fam.family, ts, zs, f, events, stop)


def _join(system, family, z, path, t, bracket):
    """Where a branch joins another (its joining unknown, m or Q, reaches 0): tried on
    each family it can join, the most constrained first (collapsed before overfitting),
    as a root of that family's condition there (:attr:`UnitSystem.joins`), accepted
    where it lies within the bracket's arclength of the bracket of the sign change (the
    branch turns in t there: the point may lie beyond both ends in t). Returns
    (family, t, z)."""
    ta, tb = sorted((bracket[0][-1], bracket[1][-1]))
    width = float(np.linalg.norm(bracket[1] - bracket[0]))
    targets = system.joins[family][1]
    for other in sorted(targets, key=lambda f: len(system.blocks[f][1])):
        try:
            te, ze = _locate_on(system, other, z, path, t, targets[other])
        except (SolverError, np.linalg.LinAlgError):
            continue
        if ta - width <= te <= tb + width:
            return other, te, ze
    raise SolverError(f"the branch point near t={t!r} (where "
                      f"{system.unknowns[system.joins[family][0]]} changes sign) is on no "
                      "branch it can join", {"t": t, "z": np.asarray(z).tolist()})


def _locate_on(system, family, z0, path, t0, condition):
    """The point near (z0, t0) on ``family`` where ``condition`` ("pair": det of the
    (m, d) block; "block": det of the family's own block, a fold) vanishes, with
    F_used = 0, in (y, t) by Newton's method (the condition's gradient by central
    differences: the residual is exact, so the root is too)."""
    fam = _Family(system, family, z0, path)
    if condition == "pair":
        det = _pair_det(system, fam)
    else:
        def det(x, _t):
            _, DH = fam(x)
            return float(np.linalg.det(DH[:, :-1]))
    x = fam.x(np.where(np.isin(np.arange(len(z0)), fam.cols), z0, 0.0), t0)
    for _ in range(40):
        H, DH = fam(x)
        g = det(x, None)
        grad = np.empty(len(x))
        for i in range(len(x)):
            step = 1e-7 * (1 + abs(x[i]))
            e = np.zeros(len(x))
            e[i] = step
            grad[i] = (det(x + e, None) - det(x - e, None)) / (2 * step)
        dx = np.linalg.solve(np.vstack([DH, grad]), np.append(H, g))
        x = x - dx
        if np.linalg.norm(dx) <= 1e-14 * (1 + np.linalg.norm(x)):
            break
    else:
        raise SolverError("the branch point did not converge on the "
                          f"{system.families[family]} branch near t={t0!r}",
                          {"t": t0, "z": np.asarray(z0).tolist()})
    return float(x[-1]), fam.z(x)


def follow(family, z, params, along, to, *, h=1e-2, max_steps=2000, system=None,
           backward=False):
    """Follow one branch from a stationary point along a straight path in the parameters.

    Parameters
    ----------
    family : int or str
        The branch family (0/"collapsed", 1/"overfitting", 2/"learning").
    z : array_like, shape (8,)
        A stationary point of that family at ``params`` (e.g. from
        :func:`symrep.solvers.units.stationary_points`).
    params : dict
        alpha, beta, lam, rho, eta at the start.
    along : str or dict
        The parameter that moves, or weights of a straight line in several
        (``{"alpha": 1, "beta": 0.5}``); the path is p(t) = params + t * weights.
    to : float
        The end of the path: the parameter's final value when ``along`` names one,
        else the final t.
    h : float, optional
        The first arclength step (default 1e-2).
    max_steps : int, optional
        Largest number of steps (default 2000).
    system : UnitSystem, optional
        The model's system (default the linear VAE's).
    backward : bool, optional
        Start towards decreasing t even where ``to`` lies ahead (default False).

    Returns
    -------
    Branch
        Its points and events (folds, branch points) in the order met.

    Raises
    ------
    ValueError
        If the family, the path or ``to`` is invalid.
    SolverError
        If the starting point does not converge.
    """
    system = system or UnitSystem()
    if isinstance(family, str):
        if family not in system.families:
            raise ValueError(f"family must be one of {system.families}, got {family!r}")
        family = system.families.index(family)
    if family not in system.blocks:
        raise ValueError(f"family must be in 0..{len(system.blocks) - 1}, got {family!r}")
    path = _path(params, along, system.parameters)
    t_end = (float(to) - path.start[system.parameters.index(along)]) if isinstance(along, str) \
        else float(to)
    if not np.isfinite(t_end) or t_end == 0:
        raise ValueError(f"to must differ from the start and be finite, got {to!r}")
    fam = _Family(system, family, z, path)
    direction = np.zeros(len(fam.cols) + 1)
    direction[-1] = -1.0 if backward else np.sign(t_end)
    curve = _follow(system, fam, fam.x(z, 0.0), direction, (min(0.0, t_end), max(0.0, t_end)),
                    h, max_steps)
    return _branch(system, fam, curve)


def switch(event, path_params, along, to, *, h=1e-2, amplitude=1e-2, max_steps=2000,
           system=None):
    """Start the learning branch at a branch point and follow it (branch switching).

    The bifurcating branch leaves the point along the null vector v of the (m, d) block:
    the first point is corrected on the hyperplane (m, d) . v = amplitude (the side
    m > 0), which excludes the branch it leaves.

    Parameters
    ----------
    event : Event
        A branch point on a collapsed or overfitting branch.
    path_params : dict
        The parameters at t = 0 of the path of ``event``.
    along, to : str or dict, float
        The path, as in :func:`follow`.
    h : float, optional
        The first arclength step.
    amplitude : float, optional
        The size of (m, d) at the first point (default 1e-2; divided by 10 up to four
        times where the corrector does not converge).
    max_steps : int, optional
        Largest number of steps.
    system : UnitSystem, optional
        The model's system.

    Returns
    -------
    Branch
        The bifurcating branch, from the branch point (its first point) on.

    Raises
    ------
    ValueError
        If the event is no branch point of a branch that a learning branch leaves.
    SolverError
        If the first point does not converge.
    """
    system = system or UnitSystem()
    family = system.families.index(event.branches[0])
    if event.kind != "branch point" or family not in system.grows:
        raise ValueError("event must be a branch point on a branch that another leaves, got "
                         f"{event.kind!r} on {event.branches[0]!r}")
    path = _path(path_params, along, system.parameters)
    t_end = (float(to) - path.start[system.parameters.index(along)]) if isinstance(along, str) \
        else float(to)
    new = system.grows[family]
    z0 = np.array(event.state, dtype=float)
    p = path.at(event.t)
    v = np.linalg.svd(system.pair_block(z0, p))[2][-1]  # its null vector
    if v[0] < 0:  # the side m > 0
        v = -v
    fam = _Family(system, new, z0, path)
    pair = list(system.pair)
    e = np.zeros(len(fam.cols) + 1)
    for j, i in enumerate(pair):
        e[fam.cols.index(i)] = v[j]
    # the first point's (m, d) shrinks until the corrector converges (the branch's
    # curvature sets how far the tangent's prediction holds)
    for k in range(5):
        zp = z0.copy()
        zp[pair] = amplitude * 10.0**-k * v
        x, _, _ = correct(fam, fam.x(zp, event.t), e)
        if x is not None:
            break
    if x is None:
        raise SolverError(f"the branch leaving the branch point at t={event.t!r} did not "
                          "converge", {"t": event.t, "z": z0.tolist()})
    curve = _follow(system, fam, x, e, (min(0.0, t_end), max(0.0, t_end)), h, max_steps)
    # the branch point itself as its first point
    start = fam.x(z0, event.t)
    curve.points.insert(0, start)
    curve.tangents.insert(0, e)
    curve.events = [(k, i + 1, *rest) for k, i, *rest in curve.events]
    return _branch(system, fam, curve)


def _states_at(system, branch, path, t):
    """The branch's states at t: one per segment whose t-range holds t (Newton's method
    at fixed t from the linear interpolation)."""
    fam = _Family(system, branch.family, branch.z[:, 0], path)
    out = []
    for i in range(len(branch.t) - 1):
        a, b = branch.t[i], branch.t[i + 1]
        if min(a, b) <= t <= max(a, b) and a != b:
            w = (t - a) / (b - a)
            z = fam.at_fixed_t((1 - w) * branch.z[:, i] + w * branch.z[:, i + 1], t)
            if z is not None and not any(np.linalg.norm(z - o) <= _SAME * (1 + np.linalg.norm(z))
                                         for _, o in out):
                out.append((i, z))
    return out


def _segment_state(fam, branch, i, t):
    """The state of ``branch`` at t on its segment i: its point where t is one of its
    ends (a segment that starts at a fold has no other state there to solve for),
    else Newton's method at fixed t from the linear interpolation of the ends."""
    a, b = branch.t[i], branch.t[i + 1]
    if t == a or t == b:
        return branch.z[:, i if t == a else i + 1]
    w = (t - a) / (b - a)
    return fam.at_fixed_t((1 - w) * branch.z[:, i] + w * branch.z[:, i + 1], t)


def _crossing(system, path, famA, famB, lo, za_lo, zb_lo, d_lo, hi, za_hi, zb_hi, d_hi):
    """The root of f_A - f_B in t in [lo, hi] (Illinois regula falsi, both states solved
    at each t), or None where a state fails."""
    a, fa, za_a, zb_a = lo, d_lo, za_lo, zb_lo
    b, fb, za_b, zb_b = hi, d_hi, za_hi, zb_hi
    side = 0
    t, za, zb = a, za_a, zb_a
    for _ in range(100):
        t = b - fb * (b - a) / (fb - fa)
        w = (t - a) / (b - a)
        za = famA.at_fixed_t((1 - w) * za_a + w * za_b, t)
        zb = famB.at_fixed_t((1 - w) * zb_a + w * zb_b, t)
        if za is None or zb is None:
            return None
        p = path.at(t)
        ft = system.free_energy(za, p) - system.free_energy(zb, p)
        if ft == 0:
            break
        if np.sign(ft) == np.sign(fb):
            b, fb, za_b, zb_b = t, ft, za, zb
            if side == -1:
                fa *= 0.5
            side = -1
        else:
            a, fa, za_a, zb_a = t, ft, za, zb
            if side == 1:
                fb *= 0.5
            side = 1
        if abs(b - a) <= 4e-16 * (1 + abs(t)):
            break
    return t, za, zb


def crossings(branches, params, along, *, system=None):
    """The first-order crossings between branches: where two branches' free energies are
    equal at the same t, with distinct states.

    Every pair of segments (consecutive points) of two branches whose t-ranges overlap is
    checked at the ends of the overlap (both states solved there at fixed t); a sign
    change of f_A - f_B is located by regula falsi in t to rounding. Two branches that
    meet (at a branch point, with equal states) do not cross.

    Parameters
    ----------
    branches : sequence of Branch
        Branches followed on the same path.
    params : dict
        The parameters at t = 0.
    along : str or dict
        The path, as in :func:`follow`.
    system : UnitSystem, optional
        The model's system.

    Returns
    -------
    list of Event
        Kind ``"first-order crossing"``, sorted by t.
    """
    system = system or UnitSystem()
    path = _path(params, along, system.parameters)
    names = system.parameters
    found = []
    meets = [(e.t, set(e.branches)) for b in branches for e in b.events
             if e.kind == "branch point"]
    for ia, A in enumerate(branches):
        famA = _Family(system, A.family, A.z[:, 0], path)
        for B in branches[ia + 1:]:
            famB = _Family(system, B.family, B.z[:, 0], path)
            for i in range(len(A.t) - 1):
                a0, a1 = sorted((A.t[i], A.t[i + 1]))
                if a0 == a1:
                    continue
                for j in range(len(B.t) - 1):
                    b0, b1 = sorted((B.t[j], B.t[j + 1]))
                    lo, hi = max(a0, b0), min(a1, b1)
                    if not lo < hi:
                        continue
                    ends = []
                    for t in (lo, hi):
                        za, zb = _segment_state(famA, A, i, t), _segment_state(famB, B, j, t)
                        if za is None or zb is None:
                            break
                        p = path.at(t)
                        fa, fb = system.free_energy(za, p), system.free_energy(zb, p)
                        ends.append((za, zb, fa - fb, 1e-12 * (1 + abs(fa) + abs(fb))))
                    if len(ends) < 2 or not np.sign(ends[0][2]) * np.sign(ends[1][2]) < 0:
                        continue
                    if max(abs(ends[0][2]) - ends[0][3], abs(ends[1][2]) - ends[1][3]) <= 0:
                        # equal free energies at rounding along the segment (two collapsed
                        # states, f = 0 on both): a sign change of rounding, no crossing
                        continue
                    ends = [e[:3] for e in ends]
                    root = _crossing(system, path, famA, famB, lo, *ends[0], hi, *ends[1])
                    if root is None:
                        continue
                    t, za, zb = root
                    if np.linalg.norm(za - zb) <= 1e-6 * (1 + np.linalg.norm(za)) or any(
                            pair == {A.name, B.name} and abs(tb - t) <= 1e-7 * (1 + abs(t))
                            for tb, pair in meets):
                        # two branches meeting at a branch point, where f_A - f_B has a
                        # double root (a sign change of rounding): no crossing
                        continue
                    if any(abs(e.t - t) <= 1e-9 * (1 + abs(t)) and set(e.branches)
                           == {A.name, B.name} for e in found):
                        continue
                    found.append(Event("first-order crossing", float(t),
                                       path.named(t, names), (A.name, B.name), za, zb))
    found.sort(key=lambda e: e.t)
    return found


def trace(params, along, to, *, h=1e-2, max_steps=2000, max_branches=12, system=None):
    """Every branch met along a path: the full search at the start, branch switching at
    branch points, the full search again where a branch ends inside the range and on
    both sides of every fold (where another branch may be born).

    Parameters
    ----------
    params : dict
        alpha, beta, lam, rho, eta at the start.
    along : str or dict
        The path, as in :func:`follow`.
    to : float
        Its end, as in :func:`follow`.
    h : float, optional
        The first arclength step.
    max_steps : int, optional
        Largest number of steps per branch.
    max_branches : int, optional
        Largest number of branches followed (default 12).
    system : UnitSystem, optional
        The model's system.

    Returns
    -------
    branches : list of Branch
        The followed branches.
    events : list of Event
        Folds, branch points and first-order crossings, sorted by t (a branch point seen
        from both branches is reported once; one whose bifurcating branch is
        inadmissible from its start, as below the spectral transition, is left out).

    Raises
    ------
    ValueError
        If the path is invalid.
    """
    system = system or UnitSystem()
    path = _path(params, along, system.parameters)
    t_end = (float(to) - path.start[system.parameters.index(along)]) if isinstance(along, str) \
        else float(to)
    lo, hi = min(0.0, t_end), max(0.0, t_end)
    branches = []
    searched = set()

    todo = []

    def known(family, z, t):
        x = np.append(z, t)
        for b in branches + todo:
            if b.family != family:
                continue
            for _, zb in _states_at(system, b, path, t):
                if np.linalg.norm(zb - z) <= 1e-6 * (1 + np.linalg.norm(z)):
                    return True
            # near a fold no segment's t-range may hold t on the other half: a state
            # within a tenth of a segment's length of its chord is on the branch (a step
            # turns the tangent by < 0.3 rad, so the curve stays within 0.04 of it)
            pts = np.vstack([b.z, b.t])
            for i in range(len(b.t) - 1):
                a, d = pts[:, i], pts[:, i + 1] - pts[:, i]
                w = np.clip((x - a) @ d / (d @ d), 0.0, 1.0) if d @ d > 0 else 0.0
                if np.linalg.norm(x - a - w * d) <= 0.1 * np.linalg.norm(d) + 1e-6 * (
                        1 + np.linalg.norm(x)):
                    return True
        return False

    def search(t, backward_too):
        if round(t, 12) in searched:
            return []
        searched.add(round(t, 12))
        out = []
        for family, z, _ in system.search(path.at(t)):
            if known(family, z, t):
                continue
            fam = _Family(system, family, z, path)
            for sign in ((1.0, -1.0) if backward_too else (np.sign(t_end),)):
                direction = np.zeros(len(fam.cols) + 1)
                direction[-1] = sign
                try:
                    curve = _follow(system, fam, fam.x(z, t), direction, (lo, hi), h,
                                    max_steps)
                    # not a state that leaves the domain at once
                    if len(curve.points) > 1 or curve.events:
                        out.append(_branch(system, fam, curve))
                except SolverError as err:  # a state the float64 corrector cannot hold
                    log.info("the %s state at t=%s is not followed: %s",
                             system.families[family], t, err)
        return out

    todo.extend(search(0.0, False))
    dropped = []  # branch points whose bifurcating branch is inadmissible from its start
    while todo and len(branches) < max_branches:
        b = todo.pop(0)
        branches.append(b)
        for e in b.events:
            if e.kind == "branch point" and b.family in system.grows:
                seen = any(o.family == system.grows[b.family] and any(
                    oe.kind == "branch point" and abs(oe.t - e.t) <= 1e-8 * (1 + abs(e.t))
                    for oe in o.events) for o in branches + todo)
                if seen:
                    continue
                try:
                    new = switch(e, params, along, to, h=h, max_steps=max_steps, system=system)
                except SolverError as err:
                    log.debug("no branch switching at t=%s: %s", e.t, err)
                    continue
                if new.stop == "inadmissible" and len(new.t) <= 2:
                    # the equations' bifurcation, but no admissible state leaves it (below
                    # the spectral transition the learning branch has QE < R^2)
                    log.info("the branch leaving t=%s is inadmissible: dropped", e.t)
                    dropped.append(e)
                else:
                    todo.append(new)
            elif e.kind == "fold":
                # a branch may be born where another turns (the overfitting branch at the
                # collapsed branch's fold): the full search on both sides
                delta = 1e-3 * (1 + abs(e.t))
                for t in (e.t - delta, e.t + delta):
                    if lo <= t <= hi:
                        todo.extend(search(float(t), True))
        if b.stop not in ("range", "max_steps", "branch point") and len(b.t) > 1:
            todo.extend(search(float(b.t[-1]), True))
    events = []
    for b in branches:
        for e in b.events:
            dup = any(o.kind == e.kind and set(o.branches) == set(e.branches)
                      and abs(o.t - e.t) <= 1e-8 * (1 + abs(e.t)) for o in events)
            if not dup and not any(e is d for d in dropped):
                events.append(e)
    events.extend(crossings(branches, params, along, system=system))
    events.sort(key=lambda e: e.t)
    return branches, events
