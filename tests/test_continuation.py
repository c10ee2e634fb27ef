"""Continuation of branches and boundaries against closed forms typed here.

Ground truth (independent of the RS equations): the reduced objective of
tests/closed_forms.py. With A = alpha s, s the top eigenvalue of the population covariance
(the spike (rho + eta)(1 + eta/(alpha rho)) above the spectral transition alpha rho^2 =
eta^2, the bulk edge eta (1 + alpha^-1/2)^2 below it), Q = 0 is a minimum of
f(Q) = Q (lam/2 - A^2 / (2 ((Q + beta) A + lam))) + alpha beta/2 log(1 + Q/beta) iff
f'(0) >= 0, i.e. beta >= (A^2 / (lam + alpha) - lam) / A: with the spike this is the
collapse threshold (a learning branch leaves the collapsed one), with the bulk edge the
end (fold) of the collapsed branch, where the overfitting branch leaves it. The
first-order line solves f(Q) = 0 = f'(Q) at Q > 0.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from closed_forms import optimum, top_eigenvalue
from scipy.optimize import brentq

from symrep.continuation import (
    collapse_threshold_curve,
    first_order_curve,
    follow,
    learning_threshold_curve,
    overfitting_threshold_curve,
    phase_boundaries,
    switch,
    trace,
)
from symrep.continuation.linear_vae import UnitSystem


def threshold(alpha, lam, s):
    """The beta where f'(0) = 0 for top eigenvalue s."""
    A = alpha * s
    return (A * A / (lam + alpha) - lam) / A


def spike(alpha, rho, eta):
    return (rho + eta) * (1 + eta / (alpha * rho))


def edge(alpha, eta):
    return eta * (1 + alpha**-0.5) ** 2


def first_order_beta(alpha, lam, rho, eta, beta_guess, Q_guess):
    """f(Q) = 0 = f'(Q) at Q > 0 in 40 digits (the reduced objective, typed here)."""
    with mp.workdps(40):
        A = mp.mpf(alpha) * mp.mpf(spike(alpha, rho, eta))
        lam, alpha = mp.mpf(lam), mp.mpf(alpha)

        def f(Q, b):
            return Q * (lam / 2 - A**2 / (2 * ((Q + b) * A + lam))) + alpha * b / 2 * mp.log(
                1 + Q / b)

        def fp(Q, b):
            return (lam / 2 - A**2 * (b * A + lam) / (2 * ((Q + b) * A + lam) ** 2)
                    + alpha * b / (2 * (Q + b)))

        Q, b = mp.findroot([f, fp], (mp.mpf(Q_guess), mp.mpf(beta_guess)))
        assert Q > 1e-6
        return float(b)


def jump(alpha, lam, rho, eta, lo, hi):
    """(beta, Q) just below the jump of the closed-form optimum's Q to 0 (a bisection on
    the closed form alone): the start of the high-precision root."""
    s, _, _ = top_eigenvalue(alpha, rho, eta)
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        if optimum(alpha, mid, lam, s)[0] > 0:
            lo = mid
        else:
            hi = mid
    return lo, optimum(alpha, lo, lam, s)[0]


SYSTEM = UnitSystem()


def start(params, family):
    names = SYSTEM.parameters
    found = [z for f, z, _ in SYSTEM.search(np.array([params[k] for k in names]))
             if f == family]
    assert found, (params, family)
    return found[0]


def events(branch, kind):
    return [e for e in branch.events if e.kind == kind]


def test_branch_point_on_the_collapsed_branch():
    p = dict(alpha=2.0, beta=3.0, lam=1.0, rho=1.0, eta=1.0)
    b = follow("collapsed", start(p, 0), p, "beta", 0.5)
    (bp,) = events(b, "branch point")
    assert bp.branches == ("collapsed", "learning")
    exact = threshold(2.0, 1.0, spike(2.0, 1.0, 1.0))
    assert exact == pytest.approx(11 / 6, rel=1e-15)
    assert bp.parameters["beta"] == pytest.approx(exact, rel=1e-10, abs=0)


def test_fold_where_the_collapsed_branch_ends():
    # past the threshold the collapsed branch turns back at the bulk-edge threshold,
    # where the precision's fixed points merge (and the overfitting branch leaves)
    p = dict(alpha=2.0, beta=3.0, lam=1.0, rho=1.0, eta=1.0)
    b = follow("collapsed", start(p, 0), p, "beta", 0.5)
    (fold,) = events(b, "fold")
    assert fold.branches == ("collapsed",)
    assert fold.parameters["beta"] == pytest.approx(threshold(2.0, 1.0, edge(2.0, 1.0)),
                                                    rel=1e-10, abs=0)
    # it turned: the branch came back to larger beta after the fold
    assert b.t.min() < fold.t - 1e-3 or b.t[-1] > b.t.min()


def test_pitchfork_seen_from_the_learning_branch():
    p = dict(alpha=3.0, beta=0.5, lam=0.5, rho=1.2, eta=0.9)
    b = follow("learning", start(p, 2), p, "beta", 5.0)
    (bp,) = events(b, "branch point")
    assert bp.branches == ("learning", "collapsed")
    assert b.stop == "branch point"
    exact = threshold(3.0, 0.5, spike(3.0, 1.2, 0.9))
    assert bp.parameters["beta"] == pytest.approx(exact, rel=1e-10, abs=0)
    assert np.all(bp.partner[:5] == 0)  # located on the collapsed branch
    assert not events(b, "fold")  # the turn of the parabola is the branch point's


def test_spectral_branch_point_on_the_overfitting_branch():
    rho, eta = 1.3, 1.1
    p = dict(alpha=0.4, beta=0.1, lam=0.3, rho=rho, eta=eta)
    b = follow("overfitting", start(p, 1), p, "alpha", 2.0)
    (bp,) = events(b, "branch point")
    assert bp.branches == ("overfitting", "learning")
    assert bp.parameters["alpha"] == pytest.approx((eta / rho) ** 2, rel=1e-10, abs=0)


def test_spectral_branch_point_seen_from_the_learning_branch():
    rho, eta = 1.3, 1.1
    p = dict(alpha=2.0, beta=0.1, lam=0.3, rho=rho, eta=eta)
    b = follow("learning", start(p, 2), p, "alpha", 0.3)
    (bp,) = events(b, "branch point")
    assert bp.branches == ("learning", "overfitting")
    assert bp.parameters["alpha"] == pytest.approx((eta / rho) ** 2, rel=1e-10, abs=0)
    assert bp.partner[0] > 0.1 and bp.partner[3] == 0  # on the overfitting branch


class CountingSystem(UnitSystem):
    """The linear VAE's system, counting the full searches."""

    def __init__(self):
        super().__init__()
        self.searches = []

    def search(self, p):
        self.searches.append(np.array(p))
        return super().search(p)


def test_trace_searches_only_at_the_start_and_where_branches_are_born():
    # below the spectral transition: the collapsed branch turns at the bulk-edge
    # threshold, where the overfitting branch is born; the (m, d) determinant's root
    # on the collapsed branch leaves only inadmissible states (no event)
    system = CountingSystem()
    p = dict(alpha=0.5, beta=3.0, lam=1.0, rho=1.0, eta=1.0)
    branches, evs = trace(p, "beta", 0.2, system=system)
    # the overfitting branch, followed back from beside the fold, ends on the collapsed
    # one where its Q reaches 0: at the fold, located from both branches
    assert sorted((e.kind, e.branches) for e in evs) == [
        ("branch point", ("overfitting", "collapsed")), ("fold", ("collapsed",))]
    exact = threshold(0.5, 1.0, edge(0.5, 1.0))
    for e in evs:
        assert e.parameters["beta"] == pytest.approx(exact, rel=1e-10, abs=0)
    assert {b.name for b in branches} == {"collapsed", "overfitting"}
    (over,) = [b for b in branches if b.name == "overfitting" and b.stop == "range"]
    assert 3.0 + over.t[-1] == pytest.approx(0.2, rel=1e-14)
    s, _, _ = top_eigenvalue(0.5, 1.0, 1.0)
    assert over.z[0, -1] == pytest.approx(optimum(0.5, 0.2, 1.0, s)[0], rel=1e-9)
    # the start and both sides of the fold
    assert len(system.searches) == 3
    assert system.searches[0][1] == 3.0


def test_switching_reaches_the_closed_form_learning_state():
    p = dict(alpha=2.0, beta=3.0, lam=1.0, rho=1.0, eta=1.0)
    b = follow("collapsed", start(p, 0), p, "beta", 0.5)
    (bp,) = events(b, "branch point")
    learning = switch(bp, p, "beta", 0.5)
    assert learning.name == "learning" and learning.stop == "range"
    beta_end = 3.0 + learning.t[-1]
    assert beta_end == pytest.approx(0.5, rel=1e-14)
    s, overlap2, _ = top_eigenvalue(2.0, 1.0, 1.0)
    Q, _, _ = optimum(2.0, beta_end, 1.0, s)
    assert learning.z[0, -1] == pytest.approx(Q, rel=1e-9)
    assert learning.z[3, -1] == pytest.approx(math.sqrt(Q * overlap2), rel=1e-9)


def test_first_order_crossing_and_the_subcritical_fold():
    alpha, lam, rho, eta = 2.0, 5.0, 1.0, 1.0
    branches, evs = trace(dict(alpha=alpha, beta=0.2, lam=lam, rho=rho, eta=eta), "beta",
                          0.005)
    kinds = [(e.kind, e.branches) for e in evs]
    assert ("branch point", ("collapsed", "learning")) in kinds
    assert ("fold", ("learning",)) in kinds
    (cross,) = [e for e in evs if e.kind == "first-order crossing"]
    assert set(cross.branches) == {"collapsed", "learning"}
    b_guess, Q_guess = jump(alpha, lam, rho, eta, 0.03, 0.1)
    exact = first_order_beta(alpha, lam, rho, eta, b_guess, Q_guess)
    assert cross.parameters["beta"] == pytest.approx(exact, rel=1e-10, abs=0)
    # order along beta: spinodal of the collapsed branch < crossing < fold of learning
    bp = [e for e in evs if e.kind == "branch point"][0]
    fold = [e for e in evs if e.kind == "fold"][0]
    assert bp.parameters["beta"] < cross.parameters["beta"] < fold.parameters["beta"]
    assert bp.parameters["beta"] == pytest.approx(threshold(alpha, lam, spike(alpha, rho, eta)),
                                                  rel=1e-10, abs=0)


def test_branch_point_on_a_line_in_two_parameters():
    # alpha = 2 - 0.3 t, beta = 3 - t: the collapsed branch meets beta_c(alpha) where
    # beta_c(2 - 0.3 t) = 3 - t (brentq on the closed form)
    p = dict(alpha=2.0, beta=3.0, lam=1.0, rho=1.0, eta=1.0)
    _, evs = trace(p, {"alpha": -0.3, "beta": -1.0}, 2.8)
    (bp,) = [e for e in evs if e.kind == "branch point" and e.branches[1] == "learning"]
    exact = brentq(lambda t: threshold(2 - 0.3 * t, 1.0, spike(2 - 0.3 * t, 1.0, 1.0))
                   - (3 - t), 0.5, 2.0, xtol=1e-15)
    assert bp.t == pytest.approx(exact, rel=1e-10, abs=0)
    assert bp.parameters["alpha"] == pytest.approx(2 - 0.3 * exact, rel=1e-12)


def test_collapse_threshold_curve_is_the_closed_form():
    lam, rho, eta = 0.7, 1.4, 0.8
    c = collapse_threshold_curve(lam, rho, eta, alpha=(1.0, 4.0))
    assert c["stop"] == "range" and c["alpha"][-1] == pytest.approx(4.0, rel=1e-14)
    exact = np.array([threshold(a, lam, spike(a, rho, eta)) for a in c["alpha"]])
    assert np.max(np.abs(c["beta"] / exact - 1)) < 1e-10
    assert len(c["alpha"]) > 5


def test_learning_threshold_curve_is_the_spectral_line():
    c = learning_threshold_curve(0.4, 1.2, 0.8, beta=(0.05, 0.5))
    assert c["stop"] == "range"
    assert np.max(np.abs(c["alpha"] / (0.8 / 1.2) ** 2 - 1)) < 1e-10
    assert c["beta"][0] == pytest.approx(0.05) and c["beta"][-1] == pytest.approx(0.5)


def test_first_order_curve_points_solve_the_closed_form():
    c = first_order_curve(5.0, 1.0, 1.0, alpha=(2.0, 2.2))
    assert c["stop"] == "range"
    for k in (0, len(c["alpha"]) // 2, -1):
        exact = first_order_beta(c["alpha"][k], 5.0, 1.0, 1.0, c["beta"][k],
                                 c["states"][1, 0, k])
        assert c["beta"][k] == pytest.approx(exact, rel=1e-10, abs=0)


def test_overfitting_threshold_curve_is_the_bulk_edge_closed_form():
    lam, rho, eta = 0.6, 0.8, 1.1  # spectral transition at alpha = 1.89
    c = overfitting_threshold_curve(lam, rho, eta, alpha=(0.3, 1.5))
    assert c["stop"] == "range"
    exact = np.array([threshold(a, lam, edge(a, eta)) for a in c["alpha"]])
    assert np.max(np.abs(c["beta"] / exact - 1)) < 1e-10


def test_per_unit_thresholds_are_one_unit_curves():
    from symrep.solvers.units_phase_plane import collapse_thresholds

    rhos = (2.0, 0.7)
    ref = collapse_thresholds(np.array([3.0]), 1.0, list(rhos), 1.0, M=2, steps=40)[0]
    ours = [collapse_threshold_curve(1.0, r, 1.0, alpha=(2.9, 3.0))["beta"][-1] for r in rhos]
    assert np.allclose(sorted(ours, reverse=True), ref, rtol=1e-9, atol=0)


def test_bad_input():
    p = dict(alpha=2.0, beta=3.0, lam=1.0, rho=1.0, eta=1.0)
    z = start(p, 0)
    with pytest.raises(ValueError, match="along"):
        follow(0, z, p, "gamma", 1.0)
    with pytest.raises(ValueError, match="family"):
        follow("frozen", z, p, "beta", 1.0)
    with pytest.raises(ValueError, match="to"):
        follow(0, z, p, "beta", 3.0)
    with pytest.raises(ValueError, match="alpha"):
        collapse_threshold_curve(1.0, alpha=(2.0, 1.0))
    with pytest.raises(ValueError, match="eta"):
        follow(0, z, {**p, "eta": -1.0}, "beta", 1.0)


@pytest.mark.slow
def test_phase_boundaries_from_curves():
    out = phase_boundaries(np.linspace(0.1, 5, 8), np.linspace(0.05, 3, 8), 1.0)
    assert set(out) == {"learning|regularized", "learning|overfitting",
                        "overfitting|regularized"}
    a, b = out["learning|regularized"].T
    exact = [threshold(x, 1.0, spike(x, 1.0, 1.0)) for x in a]
    assert np.allclose(b, exact, rtol=1e-10, atol=0)
    assert np.allclose(out["learning|overfitting"][:, 0], 1.0, rtol=1e-10, atol=0)
    a, b = out["overfitting|regularized"].T
    exact = [threshold(x, 1.0, edge(x, 1.0)) for x in a]
    assert np.allclose(b, exact, rtol=1e-10, atol=0)
    # the curves meet at the triple point (alpha = 1, beta = 1.75)
    assert out["overfitting|regularized"][-1] == pytest.approx([1.0, 1.75], rel=1e-9)


@pytest.mark.slow
def test_random_cases_against_the_closed_forms():
    """200 random (rho, eta, lam): collapse threshold, spectral threshold and first-order
    line by continuation, each within 1e-10 of the closed forms."""
    rng = np.random.default_rng(7)
    worst = {"collapse": 0.0, "bbp": 0.0, "first": 0.0, "curve": 0.0}
    count = dict.fromkeys(worst, 0)
    for case in range(200):
        rho, eta = rng.uniform(0.3, 3.0, 2)
        lam = rng.uniform(0.05, 2.0)
        a_bbp = (eta / rho) ** 2
        alpha = a_bbp * rng.uniform(1.5, 6.0)
        s = spike(alpha, rho, eta)
        p = dict(alpha=alpha, beta=4 * (rho + eta), lam=lam, rho=rho, eta=eta)
        b = follow(0, start(p, 0), p, "beta", 1e-5)
        exact = threshold(alpha, lam, s)
        bps = events(b, "branch point")
        if exact > 1e-5:
            assert len(bps) == 1
            worst["collapse"] = max(worst["collapse"], abs(bps[0].parameters["beta"] / exact - 1))
            count["collapse"] += 1
        # the spectral transition, along alpha on the overfitting branch
        q = dict(alpha=0.5 * a_bbp, beta=0.05 * threshold(0.5 * a_bbp, lam,
                                                          edge(0.5 * a_bbp, eta)),
                 lam=lam, rho=rho, eta=eta)
        if q["beta"] > 0:
            ob = follow(1, start(q, 1), q, "alpha", 2 * a_bbp)
            (bp,) = events(ob, "branch point")
            worst["bbp"] = max(worst["bbp"], abs(bp.parameters["alpha"] / a_bbp - 1))
            count["bbp"] += 1
        # a first-order line: lam where the transition is discontinuous and beta_c > 0
        A = alpha * s
        lo = brentq(lambda x, a=alpha, A=A: 2 * x * (x + a) ** 2 - A * A * (2 * x + a), 0.0,
                    10 * (A + alpha))
        hi = (-alpha + math.sqrt(alpha * alpha + 4 * A * A)) / 2  # lam (lam + alpha) = A^2
        if lo < hi:
            lam1 = lo + rng.uniform(0.2, 0.8) * (hi - lo)
            bc = threshold(alpha, lam1, s)
            r = dict(alpha=alpha, beta=bc * 20, lam=lam1, rho=rho, eta=eta)
            _, evs = trace(r, "beta", bc * 0.5)
            # (the overfitting branch, metastable above the transition, may cross the
            # collapsed one as well)
            cross = [e for e in evs if e.kind == "first-order crossing"
                     and set(e.branches) == {"collapsed", "learning"}]
            assert len(cross) == 1
            c = cross[0]
            zl = c.partner if c.branches[1] == "learning" else c.state
            exact = first_order_beta(alpha, lam1, rho, eta, c.parameters["beta"], zl[0])
            worst["first"] = max(worst["first"], abs(c.parameters["beta"] / exact - 1))
            count["first"] += 1
        if case % 10 == 0 and threshold(alpha, lam, s) > 1e-5:
            # the threshold as a curve from this alpha to twice it
            cv = collapse_threshold_curve(lam, rho, eta, alpha=(alpha, 2 * alpha))
            exact = np.array([threshold(a, lam, spike(a, rho, eta)) for a in cv["alpha"]])
            worst["curve"] = max(worst["curve"], np.max(np.abs(cv["beta"] / exact - 1)))
            count["curve"] += len(exact)
    print(worst, count)
    assert count["collapse"] > 150 and count["bbp"] > 150 and count["first"] > 100
    assert max(worst.values()) < 1e-10


@pytest.mark.slow
def test_phase_diagram_draws_its_boundaries_from_the_continued_curves():
    """boundary_method="continuation": the phase diagram's boundaries are the continued
    curves, on the collapse threshold of the (m, d) determinant's root finder and on the
    spectral line alpha = eta^2 / rho^2; an unknown method is a ValueError (10 s: two
    phase diagrams)."""
    import symrep
    from symrep.solvers.collapse_threshold import collapse_threshold

    alpha, beta = np.linspace(1.2, 5, 12), np.linspace(0.05, 3, 12)
    pd = symrep.phase_diagram(alpha, beta, 1.0, 1.0, 1.0, boundary_method="continuation")
    collapse = pd.boundaries["learning|regularized"]
    assert len(collapse) >= 5
    for a, b in collapse[:: max(1, len(collapse) // 5)]:
        assert b == pytest.approx(collapse_threshold(a, 1.0).beta_c, rel=1e-9)
    low = symrep.phase_diagram(np.linspace(0.3, 3, 8), beta, 1.0, 1.2, 0.9,
                               boundary_method="continuation")
    spectral = low.boundaries["learning|overfitting"]
    assert np.allclose(spectral[:, 0], (0.9 / 1.2) ** 2, rtol=1e-10)
    with pytest.raises(ValueError, match="boundary_method"):
        symrep.phase_diagram(alpha, beta, boundary_method="spline")
