"""A point's answer does not depend on the other points of its batch.

The vectorised solver works on batches of columns; every column's arithmetic must depend
on that column alone. These tests solve the same points alone, in batches of other
sizes, in other orders and with or without continuation, and require the same answer
to 1e-12 (relative) or the same failure (not converged) every time.
"""

import numpy as np
import pytest

from symrep.solvers import PHASES, SolverError, solve, solve_arrays
from symrep.solvers.saddle_point import RESULT_FIELDS

#: The point of the report: alone and beside up to 1000 other points it gave
#: Q = 425,275; beside 2000, 2048 or 4095 copies of (2, 0.5, 1, 1, 1) other Q (312,511,
#: 610,788), all reported converged (the unit-norm scan was split into blocks of grid
#: rows whose size depended on the batch, each warm-started from the previous block).
POINT = (8.82399958541034e-06, 1.0450861232216146e-05, 0.0, 1631.8652030368912,
         267.83202358403105)
OTHER = (2.0, 0.5, 1.0, 1.0, 1.0)


def random_points(n, seed, zeros=0.1):
    """Log-uniform points over the validated ranges, a share with lam = 0."""
    rng = np.random.default_rng(seed)

    def log_uniform(lo, hi):
        return np.exp(rng.uniform(np.log(lo), np.log(hi), n))

    alpha, beta, lam = log_uniform(1e-6, 1e8), log_uniform(1e-6, 1e6), log_uniform(1e-6, 1e6)
    lam[rng.random(n) < zeros] = 0.0
    return [alpha, beta, lam, log_uniform(1e-4, 1e4), log_uniform(1e-4, 1e4)]


def solve_in_batches(params, order, size, continuation):
    """Solve the points in the given order, ``size`` at a time; results in point order."""
    n = len(order)
    out = {name: np.full(n, np.nan) for name in RESULT_FIELDS}
    out["converged"] = np.zeros(n, bool)
    out["phase"] = np.full(n, -1)
    for lo in range(0, n, size):
        idx = order[lo:lo + size]
        got = solve_arrays(*(p[idx] for p in params), errors="mask",
                           continuation=continuation)
        for name in out:
            out[name][idx] = got[name]
    return out


def differences(a, b, rtol=1e-12):
    """Points whose outcome differs: converged in one only, another phase, or a field off
    by more than ``rtol`` relative. Returns (indices, largest relative difference)."""
    both = a["converged"] & b["converged"]
    worst = np.zeros(len(both))
    for name in RESULT_FIELDS:
        x, y = a[name], b[name]
        with np.errstate(all="ignore"):
            rel = np.abs(x - y) / np.maximum(np.abs(x), np.abs(y))
        worst = np.maximum(worst, np.where(both & (x != y), rel, 0.0))
    differ = ((a["converged"] != b["converged"]) | (both & (a["phase"] != b["phase"]))
              | ~(worst <= rtol))
    return np.nonzero(differ)[0], float(worst.max(initial=0.0))


def as_arrays(result):
    """A :class:`SolveResult` as one-point arrays of the fields :func:`differences` reads."""
    out = {name: np.array([getattr(result, name)]) for name in RESULT_FIELDS}
    out.update(converged=np.array([result.converged]),
               phase=np.array([PHASES.index(result.phase)]))
    return out


def picked(results, i):
    """Point i of array results, as one-point arrays."""
    return {k: np.asarray(v)[..., i:i + 1] for k, v in results.items()}


def test_differences_sees_a_change_of_one_part_in_1e11():
    a = solve_arrays(*(np.array([v]) for v in OTHER))
    b = dict(a, Q=a["Q"] * (1 + 1e-11))
    assert differences(a, a)[0].size == 0
    assert list(differences(a, b)[0]) == [0]
    assert list(differences(a, dict(a, converged=~a["converged"]))[0]) == [0]


@pytest.mark.parametrize("copies", [2000, 4095])
def test_the_reported_point_beside_many_others(copies):
    alone = solve_arrays(*(np.array([v]) for v in POINT), continuation=False, errors="mask")
    params = [np.r_[v, np.full(copies, w)] for v, w in zip(POINT, OTHER, strict=True)]
    for continuation in (False, True):
        batch = solve_arrays(*params, continuation=continuation, errors="mask")
        bad, worst = differences(alone, picked(batch, 0))
        assert not len(bad), (copies, continuation, batch["Q"][0], alone["Q"][0], worst)
    single = solve(*POINT)
    assert single.Q == alone["Q"][0] and single.phase == "overfitting"


def test_a_curve_agrees_with_its_points_alone():
    """The sweep of the report: 99 of 100 points converged, while the point at
    alpha = 5.094e-6 alone raised SolverError. Every point of the curve now gives what it
    gives alone (here: the same failures, the same states)."""
    alpha = np.geomspace(1e-6, 1e8, 100)
    rest = (3.087817840674168, 91.68319709801293, 0.42389886867626236, 9806.714675831228)
    params = [alpha, *(np.full(100, v) for v in rest)]
    curve = solve_arrays(*params, errors="mask")
    apart = solve_in_batches(params, np.random.default_rng(0).permutation(100), 7, False)
    bad, worst = differences(curve, apart)
    assert not len(bad), (alpha[bad], worst)
    assert not curve["converged"][4]  # alpha = 5.094e-6
    with pytest.raises(SolverError):
        solve(alpha[4], *rest)
    for i in (1, 20, 60):  # a few points through the one-point entry point
        assert curve["converged"][i]
        assert not len(differences(as_arrays(solve(alpha[i], *rest)), picked(curve, i))[0])


def test_shuffled_random_batches_agree():
    """3000 random points of the validated ranges in one shuffled batch, with
    continuation, and in another order in batches of 250 without: the same outcome."""
    n = 3000
    params = random_points(n, seed=11)
    rng = np.random.default_rng(12)
    one = solve_in_batches(params, rng.permutation(n), n, True)
    many = solve_in_batches(params, rng.permutation(n), 250, False)
    bad, worst = differences(one, many)
    assert not len(bad), (len(bad), worst, [float(p[bad[0]]) for p in params])
    assert one["converged"].mean() > 0.95
    # and a few of them through the one-point entry point
    for i in rng.choice(n, 8, replace=False):
        point = [float(p[i]) for p in params]
        if not one["converged"][i]:
            with pytest.raises(SolverError):
                solve(*point)
            continue
        assert not len(differences(as_arrays(solve(*point)), picked(one, i))[0]), point


@pytest.mark.slow
def test_shuffled_random_batches_of_1e5_points_agree():
    n = 100_000
    params = random_points(n, seed=2026)
    rng = np.random.default_rng(2027)
    one = solve_in_batches(params, rng.permutation(n), n, False)
    many = solve_in_batches(params, rng.permutation(n), 3000, True)
    bad, worst = differences(one, many)
    assert not len(bad), (len(bad), worst, [float(p[bad[0]]) for p in params])
