"""Large-alpha closed forms, thresholds, rate-distortion and stability against the solver.

The solver (`symrep.solve`) takes its stationary points from random-matrix closed forms,
independently of the perturbative expansion in :mod:`symrep.asymptotics`; the tests
compare the two, and the optimal beta against a direct numerical minimisation.
"""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq, minimize_scalar

from symrep import solve
from symrep import symbols as S
from symrep.asymptotics import (
    collapse_threshold,
    collapse_threshold_at,
    collapsed_stability,
    large_alpha_expansion,
    mode_thresholds,
    optimal_beta,
    optimal_beta_expansion,
    rd_curve,
    rd_curve_limit,
    rd_limit_difference,
    rs_collapsed_eigenvalues,
    shannon_rate_distortion,
)
from symrep.simulate import exact_minimum, sample_scm
from symrep.simulate.observables import observables_from_weights
from symrep.solvers import solve_arrays

ARGS = (S.alpha, S.beta, S.lam, S.rho, S.eta)
SLOW = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
EXPANDED = ("Q", "m", "eg", "rate", "distortion", "kl_posterior")


@pytest.fixture(scope="module")
def series():
    exp = large_alpha_expansion()
    return {name: (sp.lambdify(ARGS, exp.series(name, 0)), sp.lambdify(ARGS, exp.series(name)))
            for name in EXPANDED}


# ---------------------------------------------------------------- symbolic statements

def test_headline_closed_forms():
    assert sp.simplify(collapse_threshold() - (S.rho + S.eta)) == 0
    assert sp.simplify(optimal_beta() - S.eta) == 0
    D, rate = rd_curve_limit()
    assert D == S.Dcal
    assert {S.rho, S.eta, S.Dcal} <= rate.free_symbols
    assert rd_limit_difference() == 0


def test_cached_expansion_is_the_fresh_derivation():
    from symrep.asymptotics.large_alpha import _FIELDS, derive_large_alpha_expansion

    fresh, cached = derive_large_alpha_expansion(), large_alpha_expansion()
    for name in _FIELDS:
        assert getattr(cached, name) == getattr(fresh, name), name
    assert cached.leading[S.Q].free_symbols <= {S.rho, S.eta, S.beta}
    assert all(sym.is_positive for sym in cached.leading[S.Q].free_symbols)


def test_leading_order_branch_is_the_random_matrix_limit():
    exp = large_alpha_expansion()
    L = exp.leading
    assert sp.simplify(L[S.Q] - (S.rho + S.eta - S.beta)) == 0
    assert sp.simplify(L[S.m] ** 2 - L[S.Q]) == 0
    # at lam = 0 the branch is Q = s - beta exactly, s the spike eigenvalue
    spike = (S.rho + S.eta) * (1 + S.eta / (S.alpha * S.rho))
    Q_series = exp.series("Q").subs(S.lam, 0)
    assert sp.simplify(Q_series - (spike - S.beta)) == 0
    assert exp.observables["distortion"][0] == S.beta / 2


def test_learning_branch_has_lower_free_energy_wherever_it_exists():
    gap = sp.lambdify((S.beta, S.rho, S.eta), large_alpha_expansion().free_energy_gap)
    rng = np.random.default_rng(0)
    rho, eta = rng.uniform(0.05, 10, (2, 200))
    frac = rng.uniform(0.01, 0.999, 200)
    assert np.all(gap(frac * (rho + eta), rho, eta) < 0)


def test_stability_threshold_tends_to_collapse_threshold_for_every_lam():
    st_ = collapsed_stability()
    assert sp.simplify(st_.large_alpha_threshold - collapse_threshold()) == 0
    assert sp.simplify(sp.limit(st_.edge_threshold, S.alpha, sp.oo) - S.eta) == 0
    # the lower eigenvalue vanishes exactly on the threshold
    low = st_.eigenvalues[0].subs(S.beta, st_.threshold)
    assert abs(float(low.subs({S.alpha: 2.7, S.s: 1.9, S.lam: 0.3}))) < 1e-12


def test_mode_thresholds_for_several_units_and_features():
    assert mode_thresholds(sp.oo, 0.5, [2.0, 1.0], 1.0, M=3) == [3.0, 2.0, 1.0]
    th = mode_thresholds(5.0, 0.5, [2.0, 1.0, 0.1], 1.0, M=4)
    assert th == sorted(th, reverse=True)
    # the weak feature (alpha rho^2 < eta^2) and the extra unit see the bulk edge
    assert th[2] == pytest.approx(th[3])
    edge = 1.0 * (1 + 5.0 ** -0.5) ** 2
    assert th[3] == pytest.approx(5 * edge / 5.5 - 0.5 / (5 * edge))
    with pytest.raises(ValueError, match="rhos\\[1\\]"):
        mode_thresholds(5.0, 0.5, [2.0, -1.0], 1.0)
    with pytest.raises(ValueError, match="alpha"):
        mode_thresholds(-5.0, 0.5, [2.0], 1.0)


# ------------------------------------------------------- solver at alpha = 1e6 (property)

learning_params = st.fixed_dictionaries({
    "frac": st.floats(0.05, 0.9), "lam": st.one_of(st.just(0.0), st.floats(1e-3, 10.0)),
    "rho": st.floats(0.1, 10.0), "eta": st.floats(0.1, 10.0),
})


@settings(max_examples=60, **SLOW)
@given(learning_params)
def test_solver_at_alpha_1e6_agrees_with_the_closed_forms(series, p):
    alpha, rho, eta, lam = 1e6, p["rho"], p["eta"], p["lam"]
    beta = p["frac"] * (rho + eta)
    r = solve(alpha, beta, lam, rho, eta)
    assert r.phase == "learning"
    for name in EXPANDED:
        zeroth, first = (f(alpha, beta, lam, rho, eta) for f in series[name])
        got = getattr(r, name)
        # the remainder is second order: small against the first correction itself
        assert abs(got - first) <= 1e-6 * (1 + abs(got)) + 1e-2 * abs(first - zeroth), name
        # the leading order alone is off by the first correction only
        assert abs(got - zeroth) <= 2 * abs(first - zeroth) + 1e-9 * (1 + abs(got)), name


@settings(max_examples=30, **SLOW)
@given(st.floats(1.1, 20.0), st.floats(0.0, 10.0), st.floats(0.1, 10.0), st.floats(0.1, 10.0))
def test_solver_at_alpha_1e6_is_collapsed_beyond_the_threshold(frac, lam, rho, eta):
    r = solve(1e6, frac * (rho + eta), lam, rho, eta)
    assert r.phase == "regularized"
    coll = large_alpha_expansion().collapsed
    for name in ("eg", "rate", "distortion", "kl_posterior"):
        want = float(coll[name].subs({S.rho: rho, S.eta: eta}))
        assert getattr(r, name) == pytest.approx(want, rel=1e-12, abs=1e-12)


@settings(max_examples=25, **SLOW)
@given(learning_params)
def test_first_correction_leaves_a_second_order_remainder(series, p):
    """Doubling alpha divides the remainder after the 1/alpha term by 4 (or 8 where the
    alpha^-2 coefficient vanishes, e.g. Q at lam = 0); a wrong 1/alpha term gives 2."""
    rho, eta, lam = p["rho"], p["eta"], p["lam"]
    beta = p["frac"] * (rho + eta)
    for name in ("eg", "rate", "m"):
        f = series[name][1]
        r1, r2 = (getattr(solve(a, beta, lam, rho, eta), name) - f(a, beta, lam, rho, eta)
                  for a in (1e4, 2e4))
        assume(abs(r2) > 1e-11 * (1 + abs(f(2e4, beta, lam, rho, eta))))
        assert 3.0 < r1 / r2 < 9.0, name


@pytest.mark.parametrize("lam,rho,eta", [(1.0, 1.0, 1.0), (0.1, 1.0, 1.0), (0.0, 1.0, 0.5),
                                         (0.01, 2.0, 1.0)])
def test_optimal_beta_and_its_correction_against_direct_minimisation(lam, rho, eta):
    b0, b1 = optimal_beta_expansion()
    b1 = float(b1.subs({S.lam: lam, S.rho: rho, S.eta: eta}))
    for alpha in (1e3, 1e4):
        res = minimize_scalar(lambda b, a=alpha: solve(a, b, lam, rho, eta).eg,
                              bounds=(0.2 * eta, min(2 * eta, 0.99 * (rho + eta))),
                              method="bounded", options={"xatol": 1e-11})
        # remainder O(alpha^-2): measured |remainder| alpha^2 <= 5 at these points
        assert abs(res.x - (eta + b1 / alpha)) <= 10 / alpha**2


# ------------------------------------------------------------------ stability (property)

def _continuous(alpha, lam, s):
    return (alpha * s) ** 2 > 2 * lam * (lam + alpha) ** 2 / (2 * lam + alpha)


spike_params = st.fixed_dictionaries({
    "alpha": st.floats(0.5, 200.0), "lam": st.one_of(st.just(0.0), st.floats(1e-3, 5.0)),
    "rho": st.floats(0.2, 5.0), "eta": st.floats(0.2, 5.0),
})


@settings(max_examples=40, **SLOW)
@given(spike_params)
def test_stability_eigenvalue_changes_sign_at_the_threshold_and_the_phase_changes(p):
    a, lam, rho, eta = p["alpha"], p["lam"], p["rho"], p["eta"]
    assume(a * rho**2 > 1.05 * eta**2)
    s = (rho + eta) * (1 + eta / (a * rho))
    beta_c = float(collapse_threshold_at(a).subs({S.lam: lam, S.rho: rho, S.eta: eta}))
    assume(beta_c > 1e-2)
    assume(_continuous(a, lam, s))
    # without weight decay and alpha <= 1 the encoder has flat directions: the collapsed
    # block has an exact zero mode above the threshold (marginal, not unstable)
    assume(lam > 0 or a > 1.05)
    assert beta_c == pytest.approx(a * s / (lam + a) - lam / (a * s), rel=1e-12)
    below, above = beta_c * (1 - 1e-4), beta_c * (1 + 1e-4)
    low = lambda b: rs_collapsed_eigenvalues(a, b, lam, rho, eta)[0]  # noqa: E731
    assert low(below) < 0 < low(above)
    # the RS Jacobian eigenvalue vanishes where the per-mode one does
    root = brentq(low, below, above, xtol=1e-15, rtol=1e-13)
    assert root == pytest.approx(beta_c, rel=1e-9)
    assert solve(a, below, lam, rho, eta).phase == "learning"
    assert solve(a, above, lam, rho, eta).phase == "regularized"


def _phase_switch(a, lam, rho, eta, lo, hi):
    """The beta where the solver's phase turns from learning to regularized (bisection)."""
    assert solve(a, lo, lam, rho, eta).phase == "learning"
    assert solve(a, hi, lam, rho, eta).phase == "regularized"
    for _ in range(60):
        mid = (lo + hi) / 2
        if solve(a, mid, lam, rho, eta).phase == "learning":
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def test_first_order_transition_precedes_the_instability():
    """Where the Q^2 coefficient is negative the learning branch wins above beta_c."""
    a, lam, rho, eta = 1.0, 1.0, 1.0, 0.23
    s = (rho + eta) * (1 + eta / (a * rho))
    beta_c = a * s / (lam + a) - lam / (a * s)
    assert beta_c > 0 and not _continuous(a, lam, s)
    quad = collapsed_stability().quadratic_coefficient.subs({S.alpha: a, S.lam: lam, S.s: s})
    assert float(quad) < 0
    switch = _phase_switch(a, lam, rho, eta, beta_c / 2, 4 * beta_c)
    assert switch > beta_c * 1.01
    # where the collapsed point stops being optimal it is still locally stable
    assert rs_collapsed_eigenvalues(a, switch * 1.001, lam, rho, eta)[0] > 0


def test_continuous_transition_switches_exactly_at_the_threshold():
    a, lam, rho, eta = 3.0, 0.7, 1.0, 1.0
    s = (rho + eta) * (1 + eta / (a * rho))
    beta_c = a * s / (lam + a) - lam / (a * s)
    assert _continuous(a, lam, s)
    # the free energies of the two branches differ by O((beta - beta_c)^2) near a
    # continuous transition, so float64 resolves the switch to about sqrt(eps) ~ 1e-8
    assert _phase_switch(a, lam, rho, eta, beta_c / 2, 2 * beta_c) == pytest.approx(
        beta_c, rel=1e-7)


# ------------------------------------------------- monotonicity, RD curves, invariances

rd_params = st.fixed_dictionaries({
    "alpha": st.floats(0.05, 1e4), "lam": st.one_of(st.just(0.0), st.floats(1e-3, 20.0)),
    "rho": st.floats(0.05, 20.0), "eta": st.floats(0.05, 20.0),
})


def _betas(p):
    top = 3 * (p["rho"] + p["eta"]) * (1 + p["eta"] / (p["alpha"] * p["rho"])) + 3
    return np.geomspace(1e-3, top, 300)


def _convexity_defect(D, R):
    """Most negative change of slope of R(D) (relative), 0 for a convex curve."""
    keep = np.concatenate([[True], np.diff(D) > 1e-7 * (1 + np.abs(D[1:]))])
    D, R = D[keep], R[keep]
    slope = np.diff(R) / np.diff(D)
    if len(slope) < 2:
        return 0.0
    return float(np.min(np.diff(slope) / (1 + np.abs(slope[1:]))))


@settings(max_examples=40, **SLOW)
@given(rd_params)
def test_rate_distortion_monotone_and_bounded(p):
    r = solve_arrays(p["alpha"], _betas(p), p["lam"], p["rho"], p["eta"])
    rate, dist_train, rate_train = (np.asarray(r[k]) for k in
                                    ("rate", "distortion_train", "rate_train"))
    D, eg = np.asarray(r["D"]), np.asarray(r["eg"])
    assert np.all(rate >= -1e-12) and np.all(rate_train >= -1e-12)
    assert np.all(np.diff(rate) <= 1e-12 * (1 + rate[1:]))
    assert np.all(np.diff(rate_train) <= 1e-12 * (1 + rate_train[1:]))
    assert np.all(np.diff(dist_train) >= -1e-12 * (1 + np.abs(dist_train[1:])))
    assert np.all((D > 0) & (D <= 1))
    assert np.all(eg >= -1e-14)
    # the trade-off the objective makes, training distortion against rate, is convex
    assert _convexity_defect(dist_train, rate_train) > -1e-6


@settings(max_examples=30, **SLOW)
@given(rd_params.filter(lambda p: p["alpha"] >= 50))
def test_population_rd_curve_convex_and_monotone_at_large_alpha(p):
    dist, rate = rd_curve(p["alpha"], _betas(p), p["lam"], p["rho"], p["eta"])
    assert np.all(np.diff(dist) >= -1e-12 * (1 + np.abs(dist[1:])))
    assert _convexity_defect(dist, rate) > -1e-6


def test_population_distortion_decreases_with_beta_in_the_overfitting_phase():
    """Recorded behaviour: shrinking an overfitted decoder lowers the test distortion."""
    r = solve_arrays(0.2, [6.1, 9.8], 0.154, 0.66, 1.682)
    assert list(r["phase"]) == [1, 1]
    assert r["distortion"][1] < r["distortion"][0]


@pytest.mark.parametrize("lam", [0.0, 1.0])
def test_finite_alpha_rd_curves_approach_shannon(lam):
    """The gap to Shannon's R(D), at equal distortion, shrinks like 1/alpha."""
    rho = eta = 1.0
    shannon = sp.lambdify(S.Dcal, shannon_rate_distortion().subs({S.rho: rho, S.eta: eta}))
    betas = np.linspace(0.3, 1.5, 25)
    gaps = []
    for alpha in (1e2, 1e3, 1e4):
        dist, rate = rd_curve(alpha, betas, lam, rho, eta)
        gaps.append(np.max(np.abs(rate - shannon(dist))))
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[1] / gaps[2] == pytest.approx(10, rel=0.2)
    # never above the bound: no code beats Shannon
    dist, rate = rd_curve(10.0, betas, lam, rho, eta)
    assert np.all(rate >= shannon(dist) - 1e-12)


def test_invariance_under_sign_flip_of_the_weights():
    X, W0 = sample_scm(600, 300, 1.0, 1.0, seed=3)
    ex = exact_minimum(X, W0, 0.5, 0.3)
    kw = dict(beta=0.5, lam=0.3, rho=1.0, eta=1.0)
    plus = observables_from_weights(X, W0, ex.W, ex.W_enc, ex.D, **kw)
    minus = observables_from_weights(X, W0, -ex.W, -ex.W_enc, ex.D, **kw)
    for name in ("Q", "E", "R", "eg", "rate", "distortion", "kl_posterior", "loss"):
        assert getattr(minus, name) == pytest.approx(getattr(plus, name), rel=1e-12), name
    assert abs(minus.m) == pytest.approx(abs(plus.m), rel=1e-12)
    # and the RS free energy is even in (m, d)
    from symrep.replica import rs_free_energy

    f = rs_free_energy()
    assert sp.simplify(f - f.subs({S.m: -S.m, S.d: -S.d}, simultaneous=True)) == 0


def test_rs_block_is_nan_where_the_collapsed_point_does_not_exist():
    eig = rs_collapsed_eigenvalues(0.5, 0.05, 0.01, 1.0, 1.0)
    assert np.all(np.isnan(eig))
    assert math.isfinite(rs_collapsed_eigenvalues(0.5, 8.0, 0.01, 1.0, 1.0)[0])
