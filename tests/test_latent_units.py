"""The RS solver for M latent units and M* features (symrep.solvers.latent_units).

Independent checks: the population observables against their definitions written here
from the model (Gaussian local fields with the moments of docs/model.md), the free energy
and every unit's Q and overlap against the decoupled closed forms of tests/closed_forms.py
(no symrep code), the one-unit solver at M = M* = 1, and the exact finite-N optimum (an
eigendecomposition of the data, no RS theory) at growing N.
"""

import itertools
import math

import closed_forms
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from profiles import examples

from symrep import solve
from symrep.simulate import exact_minimum, sample_scm
from symrep.solvers.latent_units import (
    MATRIX_FIELDS,
    SCALAR_FIELDS,
    solve_units,
    solve_units_arrays,
)

POINT = dict(alpha=4.0, beta=0.5, lam=1.0, rho=(2.0, 0.7), eta=1.0)


def _population_observables(r):
    """Rate, distortion and KL(q || p_W(z|x)) from the definitions (docs/model.md):
    u = W^T x/sqrt(N), v = W~ x/sqrt(N) are centred Gaussians with moments
    m Pi m^T + eta Q, m Pi d^T + eta R, d Pi d^T + eta E; q(z|x) = N(v, D);
    p_W(z|x) = N(A^{-1} u, A^{-1}) with A = I + Q; E||x||^2 = sum rho + N eta."""
    Pi = np.diag(r.rho)
    Suu = r.m @ Pi @ r.m.T + r.eta * r.Q
    Suv = r.m @ Pi @ r.d.T + r.eta * r.R
    Svv = r.d @ Pi @ r.d.T + r.eta * r.E
    D = np.diag(r.D)
    M = r.M
    rate = 0.5 * (np.trace(D) + np.trace(Svv) - M - np.sum(np.log(r.D)))
    distortion = 0.5 * (sum(r.rho) + r.Mstar * r.eta - 2 * np.trace(Suv)
                        + np.trace(r.Q @ Svv) + np.trace(r.Q @ D))
    A = np.eye(M) + r.Q
    Ainv = np.linalg.inv(A)
    kl = 0.5 * (np.trace(A @ D) + np.trace(A @ Svv) - 2 * np.trace(Suv)
                + np.trace(Ainv @ Suu) - M - np.log(np.linalg.det(A)) - np.sum(np.log(r.D)))
    return rate, distortion, kl


def test_documented_point_has_matrix_order_parameters_and_unit_phases():
    r = solve(**POINT, M=2)
    assert r.phases == ("learning feature 1", "learning feature 2")
    assert r.m.shape == (2, 2) and r.Q.shape == (2, 2) and r.D.shape == (2,)
    assert r.m[0, 0] > 0 and r.m[1, 1] > 0 and r.m[0, 1] == 0 and r.m[1, 0] == 0
    r3 = solve(**POINT, M=3)
    assert len(r3.phases) == 3 and r3.phases[2] in ("overfitting", "collapsed")
    assert r3.free_energy <= r.free_energy + 1e-12  # a third unit can only help


@pytest.mark.parametrize("M, rho", [(2, (2.0, 0.7)), (3, (1.0,)), (2, (0.6, 1.5, 3.0))])
@given(st.floats(0.3, 20), st.floats(0.05, 4), st.floats(0.0, 2), st.floats(0.3, 3))
@settings(max_examples=examples(10), deadline=None)
def test_population_observables_match_their_definitions(M, rho, alpha, beta, lam, eta):
    """rate, distortion, kl_posterior of the assembled state against the formulas of
    the model evaluated on its matrices (independent of the generated code)."""
    r = solve_units(alpha, beta, lam, rho, eta, M=M)
    rate, distortion, kl = _population_observables(r)
    assert r.rate == pytest.approx(rate, rel=1e-9, abs=1e-12)
    assert r.distortion == pytest.approx(distortion, rel=1e-9, abs=1e-12)
    assert r.kl_posterior == pytest.approx(kl, rel=1e-9, abs=1e-12)
    # eg from its definition: the best match of units to features
    gain = np.sqrt(np.array(rho))[None, :] * np.abs(r.m)
    eg = sum(rho) + np.trace(r.Q) - 2 * gain.max(axis=0).sum()
    assert r.eg == pytest.approx(eg, rel=1e-12, abs=1e-12)
    # every unit learns at most one feature and every feature is learned at most once
    assert np.all(np.count_nonzero(r.m, axis=0) <= 1)
    assert np.all(np.count_nonzero(r.m, axis=1) <= 1)
    assert np.all(np.diff(np.diag(r.Q)) <= 0)  # units by decreasing norm


@given(st.floats(0.05, 50), st.floats(0.02, 8), st.floats(0.0, 3), st.floats(0.1, 8),
       st.floats(0.1, 8))
@settings(max_examples=examples(15), deadline=None)
def test_one_unit_one_feature_is_the_one_unit_solver(alpha, beta, lam, rho, eta):
    r = solve_units(alpha, beta, lam, (rho,), eta, M=1)
    s = solve(alpha, beta, lam, rho, eta)
    for name in ("m", "d", "Q", "E", "R", "D", "chihat_Q", "chihat_R", "chihat_E"):
        assert np.ravel(getattr(r, name))[0] == pytest.approx(getattr(s, name), abs=1e-14)
    for name in SCALAR_FIELDS:
        assert getattr(r, name) == pytest.approx(getattr(s, name), rel=1e-12, abs=1e-14)
    want = {"learning": "learning feature 1", "overfitting": "overfitting",
            "regularized": "collapsed"}[s.phase]
    assert r.phases == (want,)


def _decoupled_units(alpha, beta, lam, rho, eta, M):
    """The RS optimum of M units on orthogonal features, from tests/closed_forms.py alone.

    As N -> infinity the sample covariance has one BBP outlier per feature above the
    spectral transition (alpha rho_k^2 > eta^2), with mutually orthogonal eigenvectors,
    and the Marchenko-Pastur bulk, with O(N) eigenvalues at its upper edge. At the optimum
    the units lie along distinct eigenvectors, so the objective is a sum over units of the
    one-unit reduced objective f(Q_i) at their eigenvalue s_i: a feature's outlier (or the
    edge below the transition) serves one unit, the edge any number of idle units. Each
    unit minimises f on its own (closed_forms.optimum, closed_forms.reference), and the
    assignment of units to features is the best of all (brute force).

    Returns (free energy, [(Q_i, |m_i|) of the units by decreasing Q], unique): ``unique``
    is False where another assignment with other (Q, |m|) comes within 1e-9 of the best,
    or a unit sits within 1e-9 of its own first-order transition (either may be reported).
    """
    features = [closed_forms.reference(alpha, beta, lam, r, eta) for r in rho]
    edge = eta * (1 + alpha**-0.5) ** 2
    Q_idle, f_idle, gap_idle = closed_forms.optimum(alpha, beta, lam, edge)
    options = []
    for choice in itertools.product(range(-1, len(rho)), repeat=M):  # -1: idle
        taken = [k for k in choice if k >= 0]
        if len(taken) != len(set(taken)):
            continue
        units = [(features[k]["Q"], features[k]["m"], features[k]["free_energy"],
                  features[k]["gap"]) if k >= 0 else (Q_idle, 0.0, f_idle, gap_idle)
                 for k in choice]
        options.append((sum(u[2] for u in units), sorted(((u[0], u[1]) for u in units),
                                                         reverse=True),
                        min(u[3] for u in units)))
    options.sort(key=lambda o: o[0])
    best, units, gap = options[0]
    tol = 1e-9 * (1 + abs(best))
    unique = gap > tol and all(
        np.allclose(o[1], units, rtol=1e-9, atol=1e-12) for o in options if o[0] - best < tol)
    return best, units, unique


@pytest.mark.parametrize("M", [1, 2, 3])
@given(st.floats(0.5, 20), st.floats(0.05, 4), st.floats(0.0, 2), st.floats(0.2, 5),
       st.floats(0.2, 5), st.floats(0.3, 3))
@settings(max_examples=examples(10), deadline=None)
# just above the spectral transition of feature 2 (alpha rho_2^2 = 1.21 eta^2): its
# outlier sits 0.2 % above the bulk edge, its unit learns it with a small overlap
@example(alpha=4.0, beta=0.1, lam=0.5, r1=2.0, r2=0.55, eta=1.0)
def test_units_on_two_features_are_the_decoupled_closed_forms(M, alpha, beta, lam, r1, r2,
                                                              eta):
    """The M-unit solver with two features against :func:`_decoupled_units`, which shares
    no code with symrep (neither the one-unit solver nor the unit search): the free energy
    to 1e-9, and, where the optimum is unique, each unit's norm Q_i and overlap |m_i|."""
    r = solve_units(alpha, beta, lam, (r1, r2), eta, M=M)
    best, units, unique = _decoupled_units(alpha, beta, lam, (r1, r2), eta, M)
    assert abs(r.free_energy - best) <= 1e-9 * (1 + abs(best))
    assert np.sum(r.unit_free_energy) == pytest.approx(r.free_energy, rel=1e-12,
                                                       abs=1e-14)
    if unique:
        got = list(zip(np.diag(r.Q), np.max(np.abs(r.m), axis=1), strict=True))
        for (Q, m), (Q_want, m_want) in zip(got, units, strict=True):
            assert abs(Q - Q_want) <= 1e-9 * (1 + Q_want), (got, units)
            assert abs(m - m_want) <= 1e-9 * (1 + m_want), (got, units)


def test_staged_collapse_weaker_feature_first():
    """rho_1 > rho_2: as beta grows the unit of feature 2 collapses first."""
    betas = np.linspace(0.2, 4.0, 40)
    out = solve_units_arrays(4.0, betas, 1.0, (2.0, 0.7), 1.0, M=2)
    n_learning = np.sum(out["unit_state"] >= 2, axis=-1)
    assert n_learning[0] == 2 and n_learning[-1] == 0
    assert np.all(np.diff(n_learning) <= 0)
    staged = out["unit_state"][n_learning == 1]
    assert len(staged) > 0 and np.all(staged[:, 0] == 2)  # the survivor learns feature 1


def test_arrays_broadcast_and_match_single_points():
    alphas = np.array([0.5, 2.0, 8.0])[:, None]
    betas = np.array([0.3, 1.5])[None, :]
    out = solve_units_arrays(alphas, betas, 0.5, (1.5, 0.8), 1.0, M=2)
    assert out["m"].shape == (3, 2, 2, 2) and out["free_energy"].shape == (3, 2)
    r = solve_units(2.0, 1.5, 0.5, (1.5, 0.8), 1.0, M=2)
    for name in MATRIX_FIELDS:
        np.testing.assert_allclose(out[name][1, 1], getattr(r, name), atol=1e-14)


@pytest.mark.parametrize("kwargs, word", [
    (dict(M=0), "M"), (dict(M=10), "M"), (dict(M=1.5), "M"), (dict(rho=()), "rho"),
    (dict(rho=(1.0, -2.0)), "rho"), (dict(rho=(1.0, math.nan)), "rho"),
    (dict(rho="1,2"), "rho"), (dict(rho=tuple([1.0] * 10)), "rho"),
])
def test_bad_input_names_the_parameter(kwargs, word):
    params = {**POINT, "M": 2, **kwargs}
    with pytest.raises(ValueError, match=word):
        solve(**params)


@pytest.mark.parametrize("steps", [0, -3, 2.5, "28", True])
def test_bad_threshold_steps_name_the_parameter(steps):
    from symrep.solvers.units_phase_plane import collapse_thresholds, units_phase_diagram

    with pytest.raises(ValueError, match="threshold_steps"):
        units_phase_diagram([1.0, 2.0], [0.5, 1.0], threshold_steps=steps)
    with pytest.raises(ValueError, match="steps"):
        collapse_thresholds([1.0, 2.0], 1.0, (2.0, 0.7), M=2, steps=steps)


def test_against_the_exact_optimum_at_growing_N():
    """(M, M*) = (2, 2), rho = (2, 0.7), alpha = 4, beta = 0.5, lam = 1: the exact
    finite-N optimum (no RS theory) approaches the prediction; the gap of the learning
    units' norms shrinks from N = 200 to N = 1600 and is within 3 standard errors there."""
    theory = solve(**POINT, M=2)
    gaps = []
    for N, seeds in ((200, 6), (1600, 6)):
        Q = []
        for seed in range(seeds):
            X, W0 = sample_scm(int(POINT["alpha"] * N), N, POINT["rho"], POINT["eta"],
                               seed=seed)
            ex = exact_minimum(X, W0, POINT["beta"], POINT["lam"], rho=POINT["rho"],
                               eta=POINT["eta"], M=2)
            assert ex.phases == theory.phases
            Q.append(np.diag(ex.Q))
        Q = np.array(Q)
        mean, sem = Q.mean(axis=0), Q.std(axis=0, ddof=1) / math.sqrt(seeds)
        gaps.append(np.abs(mean - np.diag(theory.Q)))
        if N == 1600:
            assert np.all(gaps[-1] <= 3 * sem + 1e-3), (mean, sem, np.diag(theory.Q))
    assert np.all(gaps[1] < gaps[0] + 1e-3)


def test_cli_solve_sweep_simulate_with_units(tmp_path, capsys):
    from symrep.cli import main

    args = ["--alpha", "4", "--beta", "0.5", "--lam", "1", "--rho", "2,0.7", "--M", "2"]
    assert main(["solve", *args, "--json"]) == 0
    import json

    out = json.loads(capsys.readouterr().out)
    assert out["phases"] == ["learning feature 1", "learning feature 2"]
    assert np.shape(out["Q"]) == (2, 2) and out["rho"] == [2.0, 0.7]
    target = tmp_path / "sw.csv"
    assert main(["sweep", "--alpha", "4", "--beta", "0.5,3", "--lam", "1", "--rho",
                 "2,0.7", "--M", "2", "--out", str(target)]) == 0
    import csv

    rows = list(csv.DictReader(target.open()))
    assert [r["phase_2"] for r in rows] == ["learning feature 2", "collapsed"]
    assert float(rows[0]["Q_11"]) == pytest.approx(out["Q"][0][0], rel=1e-12)
    assert main(["sweep", "--alpha", "4", "--beta", "0.5", "--lam", "1", "--rho", "1:2:3",
                 "--M", "2", "--out", str(tmp_path / "x.csv")]) == 2
    assert "not a grid" in capsys.readouterr().err
    assert main(["solve", *args[:-1], "10"]) == 2
    assert main(["simulate", "--N", "60", *args, "--seeds", "1"]) == 0
    assert "learning feature 1" in capsys.readouterr().out


@pytest.mark.slow
def test_collapse_thresholds_equal_the_linear_stability_of_collapse():
    """Where each unit of the generic solver collapses (bisection on the number of
    active units, sharpened by the vanishing norm) against the per-unit thresholds of
    symrep.asymptotics.mode_thresholds (linear stability of the collapsed state under
    the diagonal assumption): they agree to 1e-9, feature units and bulk units alike."""
    from symrep.asymptotics.stability import mode_thresholds
    from symrep.solvers.units_phase_plane import collapse_thresholds

    alphas = np.array([0.5, 2.0, 16.0])
    got = collapse_thresholds(alphas, 1.0, (2.0, 0.7), 1.0, M=3)
    for a, row in zip(alphas, got, strict=True):
        want = mode_thresholds(float(a), 1.0, [2.0, 0.7], 1.0, M=3)
        np.testing.assert_allclose(row, want, rtol=1e-9)


def test_collapse_thresholds_separate_active_from_collapsed_at_every_alpha():
    """48 alphas (enough for the solver to continue states along them): just below each
    threshold the unit is active, just above it collapsed. The bisection's midpoints are
    no curve (each near its own threshold, on either side); continued between them, the
    thresholds came out up to 0.9 % low at alpha in [1.6, 2.5]."""
    from symrep.solvers.units_phase_plane import collapse_thresholds

    alphas = np.geomspace(1.5, 2.6, 48)
    got = collapse_thresholds(alphas, 1.0, 1.0, 1.0, M=1)[:, 0]
    for side, active in ((1 - 1e-6, True), (1 + 1e-6, False)):
        out = solve_units_arrays(alphas, got * side, 1.0, 1.0, 1.0, M=1, continuation=False)
        assert np.all((out["unit_state"][:, 0] != 0) == active), (side, alphas, got)


@pytest.mark.parametrize("lam", [1e-120, 5e-324])
def test_tiny_weight_decay_is_solved_as_none(lam):
    """A weight decay far below rounding (found by the property tests at 2.9e-141)
    gives the answer without weight decay, not a solver failure."""
    args = (0.5119776605759778, 3.9804871461574454)
    assert solve(*args, lam, 2.0, 2.390625).Q == solve(*args, 0.0, 2.0, 2.390625).Q
    r = solve(*args, lam, (2.0, 0.7), 2.390625, M=2)
    assert r.phases == ("overfitting", "overfitting")


def test_unit_shares_add_up_to_the_free_energy_at_cancelling_points():
    """All-collapsed points where the free energy is a cancellation of O(alpha) terms
    (found by the property test above at alpha = 14.59, beta = 3, lam = 0): the units'
    shares are those of the reported state and add up to its free energy."""
    r = solve_units(14.58984375, 3.0, 0.0, (1.0, 1.0), 1.0, M=2)
    assert np.sum(r.unit_free_energy) == pytest.approx(r.free_energy, rel=1e-12, abs=1e-15)
