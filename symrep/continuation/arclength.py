"""Pseudo-arclength continuation of a curve H(x) = 0, H: R^(n+1) -> R^n, with events.

Nothing here knows the model: a curve is given by a function returning H(x) and its
n x (n+1) Jacobian DH(x). The tangent at a point is the unit null vector of DH, oriented
as the previous one; a step predicts x + h t and corrects by Newton's method on

    H(x) = 0,   t . (x - x_pred) = 0,

(the corrector stays on the hyperplane through the prediction orthogonal to the tangent,
so it is regular at folds of any coordinate). The step h grows by 1.5 after a corrector
that converged in at most 3 iterations and is halved after one that failed or where the
tangent turned by more than 0.3 rad.

Test functions tau(x, t) are evaluated at every accepted point; where one changes sign
between two points, its root is located by the Illinois variant of regula falsi on the
arclength s from the earlier point (each evaluation a prediction by s along its tangent
and a correction), to rounding of s.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from symrep.errors import SolverError

__all__ = ["Curve", "TestFunction", "correct", "tangent", "trace_curve", "locate"]

log = logging.getLogger("symrep.continuation")

_NEWTON_TOL = 1e-13  # corrector step relative to 1 + |x|
_NEWTON_MAX = 12
_LOCATE_MAX = 80
_TURN = 0.3  # the largest turn of the tangent over one step, in radians


@dataclass(frozen=True)
class TestFunction:
    """A scalar function along the curve whose sign changes mark events.

    Attributes
    ----------
    kind : str
        The event's kind (``"fold"``, ``"branch point"``, ...).
    function : callable
        ``function(x, tangent) -> float``.
    locate : bool
        Locate the root on this curve (default True); False where the root is a
        singular point of the curve (where two branches cross), which the caller locates
        otherwise: the event's point is then the linear interpolation of the bracket.
    """

    kind: str
    function: object
    locate: bool = True


@dataclass
class Curve:
    """Points of a continued curve and the events found on it.

    Attributes
    ----------
    points : list of ndarray
        The accepted points x (n + 1,), in order.
    tangents : list of ndarray
        The unit tangents at the points.
    events : list of tuple
        (kind, index of the point before the event, x at the event, tangent there, the
        bracket (x before, x after)).
    stop : str
        Why the continuation ended.
    """

    points: list = field(default_factory=list)
    tangents: list = field(default_factory=list)
    events: list = field(default_factory=list)
    stop: str = ""


def tangent(DH, previous):
    """The unit null vector of ``DH`` (n x (n+1)) with a positive product with
    ``previous``.

    Parameters
    ----------
    DH : ndarray, shape (n, n + 1)
        The Jacobian of the curve's equations.
    previous : ndarray, shape (n + 1,)
        The orientation (the previous tangent or the direction of travel).

    Returns
    -------
    ndarray, shape (n + 1,)
        The tangent.
    """
    A = np.vstack([DH, previous])
    b = np.zeros(A.shape[0])
    b[-1] = 1.0
    try:
        v = np.linalg.solve(A, b)
    except np.linalg.LinAlgError:
        v = np.linalg.svd(DH)[2][-1]
    v = v / np.linalg.norm(v)
    return v if v @ previous >= 0 else -v


def correct(fun, x_pred, direction, *, max_iter=_NEWTON_MAX, tol=_NEWTON_TOL):
    """Newton's method on H(x) = 0, direction . (x - x_pred) = 0.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> (H, DH)``.
    x_pred : ndarray
        The prediction.
    direction : ndarray
        The normal of the hyperplane the corrector stays on.
    max_iter : int, optional
        Largest number of Newton steps.
    tol : float, optional
        The step, relative to 1 + |x|, at which it has converged.

    Returns
    -------
    x : ndarray
        The corrected point (None if it did not converge).
    iterations : int
        The Newton steps taken.
    DH : ndarray
        The Jacobian at the corrected point (None if it did not converge).
    """
    x = np.array(x_pred, dtype=float)
    for it in range(1, max_iter + 1):
        with np.errstate(all="ignore"):
            H, DH = fun(x)
        if not (np.all(np.isfinite(H)) and np.all(np.isfinite(DH))):
            return None, it, None
        A = np.vstack([DH, direction])
        b = np.append(H, direction @ (x - x_pred))
        try:
            dx = np.linalg.solve(A, b)
        except np.linalg.LinAlgError:
            return None, it, None
        x = x - dx
        if np.linalg.norm(dx) <= tol * (1 + np.linalg.norm(x)):
            with np.errstate(all="ignore"):
                H, DH = fun(x)
            if np.all(np.isfinite(DH)):
                return x, it, DH
            return None, it, None
    return None, max_iter, None


def locate(fun, x0, t0, tau0, s1, tau1, test, *, tol=1e-15):
    """The root of a test function between the point ``x0`` (arclength 0) and the point
    at arclength ``s1`` along the prediction from ``x0``, by Illinois regula falsi in s.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> (H, DH)``.
    x0, t0 : ndarray
        The earlier point and its tangent.
    tau0, tau1 : float
        The test function at s = 0 and s = s1 (opposite signs).
    s1 : float
        The arclength of the later point's prediction.
    test : callable
        ``test(x, tangent) -> float``.
    tol : float, optional
        The bracket width relative to s1 at which it stops.

    Returns
    -------
    x : ndarray
        The point at the root.
    t : ndarray
        The tangent there.

    Raises
    ------
    SolverError
        If a correction fails inside the bracket.
    """
    a, fa, b, fb = 0.0, tau0, s1, tau1
    side = 0
    best = None
    for _ in range(_LOCATE_MAX):
        s = b - fb * (b - a) / (fb - fa) if fb != fa else 0.5 * (a + b)
        if not (min(a, b) < s < max(a, b)):
            s = 0.5 * (a + b)
        x, _, DH = correct(fun, x0 + s * t0, t0)
        if x is None:
            raise SolverError("an event's location failed: the corrector did not converge "
                              f"at arclength {s!r} in [{a!r}, {b!r}]",
                              {"x0": x0.tolist(), "s": s})
        tn = tangent(DH, t0)
        fs = test(x, tn)
        best = (x, tn)
        if fs == 0 or abs(b - a) <= tol * abs(s1):
            break
        if np.sign(fs) == np.sign(fb):
            b, fb = s, fs
            if side == -1:
                fa *= 0.5
            side = -1
        else:
            a, fa = s, fs
            if side == 1:
                fb *= 0.5
            side = 1
        if abs(b - a) <= tol * abs(s1):
            break
    return best


def trace_curve(fun, x0, direction, *, h=1e-2, h_min=1e-10, h_max=0.2, max_steps=2000,
                tests=(), stop=None, events_stop=()):
    """Continue the curve H = 0 from ``x0`` by pseudo-arclength with step control.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> (H, DH)`` with H (n,) and DH (n, n + 1).
    x0 : ndarray, shape (n + 1,)
        A point on the curve (corrected here).
    direction : ndarray, shape (n + 1,)
        The direction of travel: the first tangent has a positive product with it.
    h, h_min, h_max : float, optional
        The first, smallest and largest step in arclength (the largest relative to
        1 + |x|).
    max_steps : int, optional
        Largest number of accepted steps.
    tests : sequence of TestFunction
        Evaluated at every point; their sign changes are located as events.
    stop : callable, optional
        ``stop(x_prev, x) -> str or (str, x_end) or None``: a reason to end before
        ``x`` (it is not accepted), or to end at ``x_end`` (accepted in its place, with
        its events: the end of a range placed on the range's edge).
    events_stop : sequence of str
        Event kinds after which the continuation ends (at the event).

    Returns
    -------
    Curve
        The points, tangents and events.

    Raises
    ------
    SolverError
        If the starting point does not converge.
    """
    direction = np.asarray(direction, dtype=float)
    x, _, DH = correct(fun, np.asarray(x0, dtype=float), direction)
    if x is None:
        raise SolverError("the continuation's starting point did not converge",
                          {"x0": np.asarray(x0).tolist()})
    t = tangent(DH, direction)
    curve = Curve([x], [t])
    values = [tf.function(x, t) for tf in tests]
    for _ in range(max_steps):
        x_new = None
        while h >= h_min:
            x_new, its, DH = correct(fun, x + h * t, t)
            # a step is accepted only where the tangent turns by less than _TURN: the
            # linear predictions that locate events inside it then stay on the curve
            if x_new is not None and tangent(DH, t) @ t >= np.cos(_TURN):
                break
            x_new = None
            h *= 0.5
        if x_new is None:
            curve.stop = "corrector failed at the smallest step"
            return curve
        reason = stop(x, x_new) if stop is not None else None
        if isinstance(reason, tuple):  # an end point to accept in place of x_new
            reason, x_new = reason
            with np.errstate(all="ignore"):
                _, DH = fun(x_new)
        elif reason:
            curve.stop = reason
            return curve
        t_new = tangent(DH, t)
        new_values = [tf.function(x_new, t_new) for tf in tests]
        ended = None
        changed = [np.sign(v0) * np.sign(v1) < 0 or (v1 == 0 and v0 != 0)
                   for v0, v1 in zip(values, new_values, strict=True)]
        # a singular point (a test that is not located here) in this step: the other
        # tests' sign changes are that point's (a pitchfork seen from its side branch
        # is a turning point in t as well), not events of their own
        singular = any(c and not tf.locate for c, tf in zip(changed, tests, strict=True))
        for tf, v0, v1, c in zip(tests, values, new_values, changed, strict=True):
            if c and not (singular and tf.locate):
                s1 = t @ (x_new - x)
                if v1 == 0:
                    xe, te = x_new, t_new
                elif tf.locate:
                    xe, te = locate(fun, x, t, v0, s1, v1, tf.function)
                else:
                    w = v0 / (v0 - v1)
                    xe, te = x + w * (x_new - x), t_new
                curve.events.append((tf.kind, len(curve.points) - 1, xe, te, (x, x_new)))
                log.debug("%s at %s", tf.kind, xe[-1])
                if tf.kind in events_stop:
                    ended = tf.kind
        if ended:
            curve.stop = ended
            return curve
        curve.points.append(x_new)
        curve.tangents.append(t_new)
        if reason:
            curve.stop = reason
            return curve
        x, t, values = x_new, t_new, new_values
        if its <= 3:
            # the largest step is relative to the point's size: unknowns that are large
            # (a precision entry of several hundred) would otherwise hold the others back
            h = min(1.5 * h, h_max * (1 + np.linalg.norm(x)))
    curve.stop = "max_steps"
    return curve
