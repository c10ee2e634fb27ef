"""The numerical solver: exactness, branch selection, no NaN, high precision, sweeps."""

import contextlib
import json
import math
import subprocess
import sys

import closed_forms
import numpy as np
import pytest
from closed_forms import reference
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from profiles import examples
from scipy.optimize import minimize_scalar

import symrep
from symrep.crosscheck.random_matrix import candidates, closed_form_mp
from symrep.numeric.highprec import solve_mp
from symrep.numeric.system import generated
from symrep.simulate import exact_minimum, sample_scm
from symrep.solvers import PHASES, SolverError, solve, solve_arrays, sweep
from symrep.solvers.saddle_point import RESULT_FIELDS

FIELDS = ("Q", "R", "E", "m", "d", "chihat_Q", "chihat_R", "chihat_E", "eg", "rate",
          "distortion", "kl_posterior", "rate_train", "distortion_train",
          "kl_posterior_train", "free_energy")

moderate = st.fixed_dictionaries({
    "alpha": st.floats(0.05, 50.0), "beta": st.floats(0.02, 10.0),
    "lam": st.one_of(st.just(0.0), st.floats(1e-3, 10.0)),
    "rho": st.floats(0.1, 10.0), "eta": st.floats(0.1, 10.0),
})


#: Results that rest on the extended-precision steps (x86-64's 80-bit long double, or
#: quad precision): skipped where ``np.longdouble`` is the plain double.
extended_precision = pytest.mark.skipif(
    np.finfo(np.longdouble).eps >= np.finfo(float).eps,
    reason="np.longdouble is the plain double here: no extended-precision steps")

def test_known_point_against_independent_random_matrix_result():
    """Learning phase: Q, m from the 1-d reduced problem with the BBP eigenvalue."""
    a, b, lam, rho, eta = 3.0, 0.5, 0.7, 1.0, 1.0
    s = (rho + eta) * (1 + eta / (a * rho))  # top eigenvalue of the sample covariance
    A = a * s
    f = lambda Q: Q * (lam / 2 - A**2 / (2 * ((Q + b) * A + lam))) + a * b / 2 * np.log1p(Q / b)  # noqa: E731
    Q = minimize_scalar(f, bounds=(0, 20), method="bounded", options={"xatol": 1e-12}).x
    overlap2 = (1 - eta**2 / (a * rho**2)) / (1 + eta / (a * rho))
    r = solve(a, b, lam, rho, eta)
    assert r.phase == "learning"
    assert math.isclose(r.Q, Q, rel_tol=1e-8)
    assert math.isclose(r.m, math.sqrt(Q * overlap2), rel_tol=1e-8)
    assert math.isclose(r.free_energy, f(Q), rel_tol=1e-10)


@pytest.mark.fuzz
@settings(max_examples=examples(60), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(moderate)
def test_solver_equals_the_random_matrix_optimum(p):
    """Every reported quantity is the N -> infinity optimum of the model.

    Independent of the solver (closed forms of the RS equations, generated code): the
    reference in tests/closed_forms.py minimises the reduced objective f(Q) directly at the
    BBP spike or the Marchenko-Pastur edge, types the observables from their definitions
    (training-set moments Q s, kappa Q s, kappa^2 Q s) and computes the susceptibilities
    as Marchenko-Pastur integrals of the inverse Hessian of the objective, compared with
    the inverse of the solver's chihat matrix.

    Domain: the whole moderate box, except within rounding of a first-order transition,
    where two minima of f are degenerate to 1e-9 and either may be reported; the
    susceptibilities where they are finite (not lam = 0 with alpha <= 1).
    """
    want = reference(**p, chi=True)
    assume(want["gap"] > 1e-9 * (1 + abs(want["free_energy"])))
    got = solve(**p)
    assert got.phase == want["phase"]
    for name in RESULT_FIELDS:
        if not name.startswith("chihat"):
            assert abs(getattr(got, name) - want[name]) <= 1e-9 * (1 + abs(want[name])), name
    if want["chi_Q"] is not None:
        chi = np.linalg.inv([[got.chihat_Q, got.chihat_R], [got.chihat_R, got.chihat_E]])
        for value, name in zip((chi[0, 0], chi[0, 1], chi[1, 1]), ("chi_Q", "chi_R", "chi_E"),
                               strict=True):
            assert value == pytest.approx(want[name], rel=1e-8, abs=1e-12), name


@pytest.mark.parametrize("params", [(3.0, 0.5, 0.7), (0.5, 0.5, 0.2), (2.0, 3.0, 1.0),
                                    (2.0, 0.3, 0.0, 2.0, 0.5), (0.5, 0.3, 0.0), (40.0, 9.0, 4.0)])
def test_encoder_variance_minimises_the_objective(params):
    """D, as ``solve`` and ``solve_arrays`` report it, minimises the objective over D.

    Independent of the solver's formula: the objective per sample depends on D through
    (Q D + beta (D - log D))/2 (docs/model.md: the variance term of the reconstruction and
    the KL term), minimised here numerically with scipy at the reported Q.
    """
    a, b, lam, *rest = params
    one = solve(*params)
    many = solve_arrays([a, a], [b, 1.5 * b], lam, *rest)
    for Q, beta, D in ((one.Q, b, one.D), (many["Q"][0], b, many["D"][0]),
                       (many["Q"][1], 1.5 * b, many["D"][1])):
        best = minimize_scalar(lambda x, Q=Q, beta=beta: (Q * x + beta * (x - np.log(x))) / 2,
                               bounds=(1e-9, 1.0), method="bounded",
                               options={"xatol": 1e-13}).x
        assert D == pytest.approx(best, rel=1e-6)


@pytest.mark.fuzz
@settings(max_examples=examples(40), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(moderate)
def test_every_candidate_solves_the_saddle_point_equations(p):
    """Every closed-form candidate is a stationary point of the RS free energy.

    Domain: every parameter point and every candidate that exists (an algebraic identity
    of the closed forms). Independent of them: the residual of the saddle-point equations
    is the generated code of SymPy's derivatives of the RS free energy.
    """
    gen = generated()
    with np.errstate(all="ignore"):
        # named, not positional: hypothesis does not promise the key order of the dict
        params = [p[k] for k in ("alpha", "beta", "lam", "rho", "eta")]
        z, valid, _ = candidates(*(np.asarray(v) for v in params))
    for k in range(z.shape[0]):
        if valid[k] and np.all(np.isfinite(z[k])):
            res = np.max(np.abs(gen.residual(*z[k], *params)))
            scale = (1 + np.max(np.abs(z[k]))) * (1 + p["alpha"] + p["lam"] + 1 / p["beta"]) \
                * (1 + p["rho"] + p["eta"])
            assert res <= 1e-9 * scale


@pytest.mark.fuzz
@settings(max_examples=examples(30), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(moderate)
def test_float64_agrees_with_mpmath_to_1e_10(p):
    """The float64 solver equals the closed forms evaluated in 40-digit arithmetic.

    Independent of the solver's method (the candidates are the random-matrix closed forms
    of ``symrep.crosscheck``, polished by mpmath Newton steps on the generated
    expressions), not of those expressions: the physics is checked by
    :func:`test_solver_equals_the_random_matrix_optimum`. What it checks beyond the
    agreement: at 40 digits the closed forms solve the RS saddle-point equations to
    1e-25. Domain: the moderate box.
    """
    ref = closed_form_mp(**p, dps=40)
    got = solve(**p)
    assert PHASES.index(got.phase) == (2 if ref["m"] > 0 else 1 if ref["Q"] > 0 else 0)
    assert float(ref["residual"]) < 1e-25 * (1 + p["alpha"] + p["lam"] + 1 / p["beta"]) * \
        (1 + float(ref["Q"]) + float(ref["chihat_E"]) + float(ref["chihat_Q"]))
    for name in FIELDS:
        want = float(ref[name])
        assert abs(getattr(got, name) - want) <= 1e-10 * (1 + abs(want)), name


@pytest.mark.parametrize("params", [(3.0, 0.5, 0.7), (0.5, 0.5, 0.2), (2.0, 3.0, 1.0),
                                    (2.0, 0.3, 0.0, 2.0, 0.5), (0.5, 0.3, 0.0),
                                    (0.05, 0.04, 0.0, 0.45, 0.1)])
def test_high_precision_polish_of_the_float64_solution(params):
    """solve_mp starts from the generic float64 solution: its 40-digit polish is a root of
    the RS equations to 1e-30, within 1e-10 of the float64 values, and equals the
    independent closed-form reference (same branch, 1e-25)."""
    ref = closed_form_mp(*params, dps=40)
    got = solve_mp(*params, dps=40)
    assert got["branch"] == ref["branch"]
    assert float(got["residual"]) < 1e-30
    one = solve(*params)
    for name in FIELDS:
        want = float(ref[name])
        assert abs(float(got[name]) - want) <= 1e-25 * (1 + abs(want)), name
        assert abs(getattr(one, name) - want) <= 1e-10 * (1 + abs(want)), name


wide = st.fixed_dictionaries({
    "alpha": st.floats(1e-3, 1e6), "beta": st.floats(1e-3, 1e2),
    "lam": st.floats(0.0, 1e2), "rho": st.floats(1e-2, 1e2), "eta": st.floats(1e-2, 1e2),
})


@pytest.mark.fuzz
@settings(max_examples=examples(300), deadline=None)
@given(wide)
def test_no_nan_escapes_on_wide_ranges(p):
    """The contract: a converged finite result or a SolverError with diagnostics, never NaN.

    Domain: the wide box (alpha up to 1e6, the others over four to five decades).
    """
    try:
        r = solve(**p)
    except SolverError as err:
        assert err.diagnostics["parameters"]
        return
    assert r.converged
    for name in FIELDS:
        assert math.isfinite(getattr(r, name)), name
    assert r.phase in PHASES


def test_no_nan_on_a_dense_random_batch():
    rng = np.random.default_rng(7)
    n = 20_000
    p = dict(alpha=10 ** rng.uniform(-3, 6, n), beta=10 ** rng.uniform(-3, 2, n),
             lam=np.where(rng.random(n) < 0.2, 0.0, 10 ** rng.uniform(-10, 2, n)),
             rho=10 ** rng.uniform(-2, 2, n), eta=10 ** rng.uniform(-2, 2, n))
    out = solve_arrays(**p, errors="mask")
    ok = out["converged"]
    assert ok.mean() > 0.999
    for name in FIELDS:
        assert np.all(np.isfinite(out[name][ok])), name


def test_the_returned_branch_has_the_lowest_free_energy():
    r = solve(3.0, 0.5, 0.7)
    assert set(r.branches) == {"overfitting", "learning"}
    assert r.free_energy == pytest.approx(min(r.branches.values()), abs=1e-14)
    assert r.free_energy < r.branches["overfitting"]


#: Mean of the Tracy-Widom law of order 1 (the largest eigenvalue of a real white
#: sample covariance, centred and scaled as in Johnstone 2001).
TW1_MEAN = -1.2065335745820


def _edge_shift_bias(alpha, beta, lam, N, eta, theory):
    """Finite-size bias of (Q, free energy) of the exact optimum in the overfitting phase.

    There the optimum sits on the top eigenvalue s_N of the white part of the sample
    covariance X^T X / P (the reduced objective of tests/closed_forms.py at s_N is exact at
    finite N), whose mean lies below the limiting MP edge by the Tracy-Widom shift:
    E[s_N] = eta (mu + TW1_MEAN sigma) / P, mu = (sqrt(P - 1) + sqrt(N))^2,
    sigma = (sqrt(P - 1) + sqrt(N)) (1/sqrt(P - 1) + 1/sqrt(N))^(1/3) (Johnstone 2001).
    The closed-form optimum at E[s_N] less the theory is the bias to first order in the
    shift; it overestimates the measured one (about 0.8 of it at N = 300, where the next
    order matters), so it is used as a bound.
    """
    P = round(alpha * N)
    a = math.sqrt(P - 1) + math.sqrt(N)
    s = eta * (a * a + TW1_MEAN * a * (1 / math.sqrt(P - 1) + 1 / math.sqrt(N)) ** (1 / 3)) / P
    Q, f, _ = closed_forms.optimum(alpha, beta, lam, s)
    return Q - theory.Q, f - theory.free_energy


@pytest.mark.parametrize(
    "params, phase",
    [((3.0, 0.5, 0.7), "learning"), ((0.5, 0.5, 0.2), "overfitting"),
     ((2.0, 3.0, 1.0), "regularized"), ((2.0, 0.3, 0.0, 2.0, 0.5), "learning"),
     ((0.5, 0.3, 0.0), "overfitting")],
)
def test_phases_agree_with_the_exact_optimum(params, phase):
    """The theory is the large-N limit of the exact finite-N optimum, to a tolerance set by
    the statistics of the optimum over data sets, not a fixed percentage.

    N = 300, 8 data sets: the mean of Q and of the free energy (and of m in the learning
    phase) over the data sets must be within 4 standard errors of the mean of the theory
    (a t variable with 7 degrees of freedom exceeds 4 with probability 0.5 %), plus, in
    the overfitting phase, the Tracy-Widom shift of the top bulk eigenvalue,
    :func:`_edge_shift_bias` (a bias of order N^(-2/3): 0.03 on Q, 1.2 standard errors
    here). In the learning phase the bias of the spike eigenvalue and of its overlap is of
    order 1/N, below a standard error (measured over 96 data sets: |mean - theory| <= 0.7
    standard errors of the 8-set mean for Q and f). m in the overfitting phase is not
    compared: |m| ~ N^(-1/2) there, biased by the sign convention. The collapsed phase is
    exactly W = 0 on every data set.
    """
    r = solve(*params)
    assert r.phase == phase
    a, b, lam, *rest = params
    rho, eta = rest if rest else (1.0, 1.0)
    N, seeds = 300, (2 if phase == "regularized" else 8)
    results = [exact_minimum(*sample_scm(round(a * N), N, rho, eta, seed=11 + k), b, lam,
                             rho, eta) for k in range(seeds)]
    if phase == "regularized":
        assert all(ex.Q == 0.0 and ex.m == 0.0 for ex in results)
        return
    bias = dict(zip(("Q", "free_energy"), _edge_shift_bias(a, b, lam, N, eta, r),
                    strict=True)) if phase == "overfitting" else {}
    for name in ("Q", "free_energy", *(("m",) if phase == "learning" else ())):
        values = np.array([getattr(ex, name) for ex in results])
        sem = values.std(ddof=1) / math.sqrt(seeds)
        assert abs(values.mean() - getattr(r, name)) <= 4 * sem + abs(bias.get(name, 0.0)), \
            (name, values.mean(), sem, getattr(r, name), bias)


def test_training_objective_equals_the_free_energy_at_the_saddle():
    out = solve_arrays(np.linspace(0.1, 6, 40), 0.4, 0.5)
    gen = generated()
    z = np.array([out[k] for k in ("Q", "R", "E", "m", "d", "chihat_Q", "chihat_R",
                                   "chihat_E")])
    obs = gen.observables(*z, np.linspace(0.1, 6, 40), 0.4, 0.5, 1.0, 1.0)
    assert np.allclose(obs[-1], out["free_energy"], rtol=1e-10, atol=1e-12)


def test_math_and_numpy_code_agree():
    args = (1.1, 0.5, 0.3, 0.2, 0.1, 2.0, -0.5, 1.5, 2.0, 0.6, 0.4, 1.3, 0.9)
    for name in ("free_energy", "residual", "residual_jacobian", "observables"):
        a = getattr(generated("numpy"), name)(*args)
        b = getattr(generated("math"), name)(*args)
        assert np.allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=1e-13)


def test_solver_error_carries_diagnostics(monkeypatch):
    """No admissible stationary point: SolverError listing what was found, or NaN masks."""
    import symrep.solvers.saddle_point as sp_mod
    import symrep.solvers.units as units

    def nothing_admissible(z, *args, **kwargs):
        return np.zeros(np.shape(z)[1:], bool)

    monkeypatch.setattr(units, "physical", nothing_admissible)
    monkeypatch.setattr(units, "_collapsed_ok", nothing_admissible)
    with pytest.raises(SolverError) as info:
        sp_mod.solve_arrays(3.0, 0.5, 0.7)
    diag = info.value.diagnostics
    assert diag["parameters"]["alpha"] == 3.0 and diag["candidates"]
    assert {c["branch"] for c in diag["candidates"]} == {"overfitting", "learning"}
    assert not any(c["admissible"] for c in diag["candidates"])
    out = sp_mod.solve_arrays([3.0, 3.0], 0.5, 0.7, errors="mask")
    assert not out["converged"].any() and np.isnan(out["eg"]).all()


def test_solve_rejects_bad_input():
    with pytest.raises(ValueError, match="alpha"):
        symrep.solve(alpha=-1, beta=1, lam=1)
    with pytest.raises(ValueError, match="beta = nan"):
        symrep.solve(alpha=1, beta=float("nan"), lam=1)
    with pytest.raises(ValueError, match="lam"):
        symrep.solve(alpha=1, beta=1, lam=np.inf)


def test_sweep_table_and_consistency_with_solve(tmp_path):
    res = sweep(alpha=np.linspace(0.2, 4, 12), beta=[0.3, 1.5], lam=0.5, rho=1.2)
    assert res["eg"].shape == (12, 2)
    assert res.attrs["lam"] == 0.5 and json.loads(res.attrs["phases"]) == list(PHASES)
    one = solve(res.alpha.values[5], 1.5, 0.5, rho=1.2)
    assert res["eg"].sel(beta=1.5).values[5] == pytest.approx(one.eg, rel=1e-12)
    assert PHASES[int(res["phase"].sel(beta=1.5)[5])] == one.phase
    path = tmp_path / "s.nc"
    res.to_netcdf(path)
    import xarray as xr

    assert float(abs(xr.open_dataset(path)["Q"] - res["Q"]).max()) == 0.0


def test_sweep_checkpoint_resumes_finished_chunks(tmp_path):
    alpha = np.linspace(0.1, 5, 50)
    first = sweep(alpha=alpha, beta=0.5, lam=1.0, chunk_size=10, checkpoint=tmp_path)
    files = sorted(tmp_path.glob("*.npz"))
    assert len(files) == 5
    # a resumed sweep reads the chunks instead of solving: poison the solver to prove it
    import symrep.solvers.sweep_grid as sg

    original = sg.solve_arrays
    sg.solve_arrays = lambda *a, **k: (_ for _ in ()).throw(AssertionError("re-solved"))
    try:
        again = sweep(alpha=alpha, beta=0.5, lam=1.0, chunk_size=10, checkpoint=tmp_path)
    finally:
        sg.solve_arrays = original
    assert np.array_equal(first["eg"].values, again["eg"].values)


def test_phase_diagram_boundaries():
    pd = symrep.phase_diagram(np.linspace(0.1, 4, 40), np.linspace(0.05, 2.5, 40), lam=1.0)
    assert set(pd.boundaries) == {"learning|overfitting", "learning|regularized",
                                  "overfitting|regularized"}
    # learning and overfitting meet at the spectral transition alpha = (eta/rho)^2 = 1
    assert np.allclose(pd.boundaries["learning|overfitting"][:, 0], 1.0, atol=1e-6)
    # points on the boundaries separate the phases they name
    for key, pts in pd.boundaries.items():
        a, b = pts[len(pts) // 2]
        names = set(key.split("|"))
        near = {solve(a * (1 + s1), b * (1 + s2), 1.0).phase
                for s1 in (-1e-4, 0, 1e-4) for s2 in (-1e-4, 0, 1e-4)}
        assert near == names, (key, a, b, near)
    import matplotlib

    matplotlib.use("Agg")
    fig = pd.plot()
    assert fig.axes


def test_boundary_tolerance_of_a_phase_diagram():
    """boundary_tol sets how far each boundary point is bisected: at 1e-6 every point lies
    within 1e-6 (relative) of the default 1e-10 one, along its axis."""
    grid = (np.linspace(0.3, 3, 8), np.linspace(0.1, 2.0, 8))
    fine = symrep.phase_diagram(*grid, lam=1.0, progress=False)
    coarse = symrep.phase_diagram(*grid, lam=1.0, progress=False, boundary_tol=1e-6)
    assert set(coarse.boundaries) == set(fine.boundaries)
    for key, pts in fine.boundaries.items():
        other = coarse.boundaries[key]
        assert other.shape == pts.shape
        assert np.all(np.abs(other - pts) <= 1e-6 * np.abs(pts)), key
    for bad in (0, 1, -1e-3, float("nan"), "1e-6"):
        with pytest.raises(ValueError, match="boundary_tol"):
            symrep.phase_diagram(*grid, lam=1.0, boundary_tol=bad)


def test_bisected_boundary_points_separate_their_phases():
    """Every boundary point has its two phases within 1e-5 on either side.

    The upper edge of the learning phase at large alpha: its grid crossings, bisected
    together, are close consecutive points that do not form a curve (each midpoint on
    either side of the boundary); states carried between them missed the learning
    branch, and points landed up to 1e-3 inside the learning phase.
    """
    pd = symrep.phase_diagram(np.linspace(3, 6, 60), np.linspace(1.5, 2.2, 60), lam=1.0)
    assert "learning|regularized" in pd.boundaries
    for key, pts in pd.boundaries.items():
        codes = {PHASES.index(name) for name in key.split("|")}
        a, b = pts[:, 0], pts[:, 1]
        seen = np.stack([solve_arrays(a * (1 + s1), b * (1 + s2), 1.0,
                                      continuation=False)["phase"]
                         for s1, s2 in ((-1e-5, 0), (1e-5, 0), (0, -1e-5), (0, 1e-5))])
        wrong = [(a[k], b[k]) for k in range(len(a)) if not codes <= set(seen[:, k])]
        assert not wrong, (key, len(wrong), len(a), wrong[:3])


def test_carried_unit_that_reaches_the_collapsed_state_is_refused():
    """Between two overfitting anchors the overfitting branch ends (alpha = 0.906 is
    below its continuous transition, near 0.9069 at beta = 1.7364): Newton's method
    carries the unit down to Q ~ 1e-14, the collapsed state that solves every family's
    equations. The interval goes to the full search, which finds the collapsed state."""
    from symrep.solvers import continuation, units

    alpha, beta, one = np.array([0.9072, 0.9060, 0.95]), np.full(3, 1.7364435), np.ones(3)
    ends = [0, 2]
    found = units.stationary_points(alpha[ends], beta[ends], one[ends], one[ends], one[ends])
    assert [pt["family"] for pt in found if pt["ok"].all()] == [1]
    keys = continuation._keys(found)
    entries = {key: continuation._empty(key[0], 3) for key in keys}
    for key, pt in zip(keys, found, strict=True):
        continuation._put(entries[key], np.array(ends), pt, np.arange(2))
    assert continuation._carry([alpha, beta, one, one, one], [(0, 2)], entries) == [(0, 2)]
    middle = units.stationary_points(alpha[1:2], beta[1:2], one[:1], one[:1], one[:1])
    assert [pt["family"] for pt in middle if pt["ok"][0]] == [0]
    assert solve_arrays(alpha[1], beta[1], 1.0)["phase"] == PHASES.index("regularized")


def test_curve_without_weight_decay_at_small_alpha_agrees_with_the_closed_forms():
    """A curve found by comparing continued curves with the full search at every point:
    at alpha = 0.0106, without weight decay, the state carried by Newton's method had a
    converged step and free energy but Q off by 5.5e-7 (a nearly singular system); such
    states are now refined on the sign change of d f/dQ, as the full search does."""
    from symrep.crosscheck import closed_form_solution

    alpha = np.geomspace(0.9312291755703925, 0.010130808937263432, 200)
    params = (alpha, 0.02922659589317154, 0.0, 0.9055784728698388, 7.320811226364132)
    got, want = solve_arrays(*params), closed_form_solution(*params)
    assert np.array_equal(got["phase"], want["phase"])
    for name in ("eg", "rate", "distortion", "free_energy"):
        err = np.abs(got[name] - want[name]) / (1 + np.abs(want[name]))
        assert err.max() <= 1e-10, (name, err.max(), alpha[np.argmax(err)])
    err = np.abs(got["Q"] - want["z"][0]) / (1 + want["z"][0])
    assert err.max() <= 1e-10, ("Q", err.max(), alpha[np.argmax(err)])


@contextlib.contextmanager
def _full_searches():
    """The sizes of the point sets given to the full search
    (``units.stationary_points``) while the block runs."""
    from symrep.solvers import units

    calls, full = [], units.stationary_points

    def counted(*args, **kwargs):
        calls.append(len(args[0]))
        return full(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(units, "stationary_points", counted)
        yield calls

@extended_precision
def test_soft_carried_states_are_refined_without_a_second_full_search():
    """The benchmark's curve without weight decay (alpha from 0.01 to 100, beta = 0.5):
    below alpha ~ 0.05 every carried state has a nearly singular Newton system; they are
    refined on the sign change of d f/dQ from their carried Q (150 points went to a
    second full search before), and agree with the closed forms."""
    from symrep.crosscheck import closed_form_solution

    alpha = np.geomspace(0.01, 100, 1000)
    with _full_searches() as calls:
        got = solve_arrays(alpha, 0.5, 0.0)
    assert len(calls) == 1, calls
    want = closed_form_solution(alpha, 0.5, 0.0)
    assert np.array_equal(got["phase"], want["phase"])
    for name in ("eg", "rate", "distortion", "kl_posterior", "free_energy"):
        err = np.abs(got[name] - want[name]) / (1 + np.abs(want[name]))
        assert err.max() <= 1e-10, (name, err.max(), alpha[np.argmax(err)])


def test_learning_unit_carried_to_the_overfitting_state_is_refused():
    """A curve of the curves check of benchmarks/generic_vs_closed_form.py, with its
    anchors where that batch put them (8 points of another curve before it): Newton's
    method carried the learning unit to m = 0, the overfitting state, which solves the
    learning unit's equations too, and the learning state of lower free energy at that
    point was missed (phase overfitting, eg off by 0.17)."""
    from symrep.crosscheck import closed_form_solution

    n = 200
    curve = (np.geomspace(0.01468783854546529, 44.98107041177659, n),
             np.geomspace(0.24394694527353414, 2.586514980093296, n),
             np.full(n, 3.6085318759394607),
             np.geomspace(0.269647234432557, 4.502510154939662, n),
             np.geomspace(0.717727987777036, 7.211859094971571, n))
    before = (np.full(8, 50.0), np.full(8, 5.0), np.zeros(8), np.full(8, 0.2), np.full(8, 0.2))
    params = tuple(np.concatenate([a, b]) for a, b in zip(before, curve, strict=True))
    got, want = solve_arrays(*params), closed_form_solution(*params)
    assert np.array_equal(got["phase"], want["phase"])
    err = np.abs(got["eg"] - want["eg"]) / (1 + np.abs(want["eg"]))
    assert err.max() <= 1e-10


def test_a_phase_that_lasts_four_points_of_a_coarse_curve_is_seen():
    """50 points with alpha from 14 to 0.11 (log steps just under the 0.1 of a curve):
    the learning phase lasts 4 of them, all between two anchors 16 points apart, and was
    not seen. Anchors now lie at most 0.2 apart in the parameters."""
    from symrep.crosscheck import closed_form_solution

    n = 50
    params = (np.geomspace(14.009472386670494, 0.11401733979292251, n),
              np.geomspace(0.9937328417769453, 0.03228170625138992, n),
              np.linspace(0.9381357818219077, 1.088191225044914, n),
              np.geomspace(0.6789406694066012, 0.1808891059603035, n),
              np.geomspace(0.29960958531143617, 0.1147507125280764, n))
    got, want = solve_arrays(*params), closed_form_solution(*params)
    assert np.count_nonzero(want["phase"] == PHASES.index("learning")) == 4
    assert np.array_equal(got["phase"], want["phase"])
    err = np.abs(got["eg"] - want["eg"]) / (1 + np.abs(want["eg"]))
    assert err.max() <= 1e-10


_log_box = st.tuples(*(st.floats(math.log(lo), math.log(hi)) for lo, hi in
                       ((0.01, 100), (0.01, 10), (0.1, 10), (0.1, 10))))


@pytest.mark.fuzz
@settings(max_examples=examples(12), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(_log_box, _log_box, st.one_of(st.just(0.0), st.floats(1e-8, 5.0)),
       st.sampled_from([60, 200]))
def test_continued_curves_agree_with_the_closed_forms(start, end, lam, n):
    """Along a straight line through the acceptance box of issue 10 (log scale for
    alpha, beta, rho, eta; lam fixed, zero for a share of the draws), every point of
    the continued curve has the closed forms' phase and observables to 1e-10.

    Domain: the box of the acceptance check; points where two branches' free energies
    are within 1e-9 (a phase boundary) accept either branch and are checked on the free
    energy only. Left out, as known defects of the solver (not of the theory), each
    kept as a strict xfail test below: weight decays in (0, 1e-8) (next to alpha = 1
    with lam in [1e-15, 1e-13] and small beta the full search is off by up to 6.4e-10,
    depending on the batch), and without weight decay the points within 1e-12 of
    alpha = 1 (off by up to 4.2e-9 within 3e-13 of it; none above 1e-10 in 3.9 10^4
    random points of the box with |alpha - 1| in [1e-12, 1e-6]).
    Independent of the solver: the random-matrix closed forms (symrep.crosscheck),
    evaluated with the same generated free energy.
    """
    from symrep.crosscheck import closed_form_solution

    t = np.linspace(0, 1, n)[:, None]
    alpha, beta, rho, eta = np.exp(np.array(start) + t * (np.array(end) - start)).T
    got = solve_arrays(alpha, beta, lam, rho, eta)
    want = closed_form_solution(alpha, beta, lam, rho, eta)
    f = np.sort(want["branch_free_energy"], axis=0)
    boundary = f[1] - f[0] <= 1e-9 * (1 + np.abs(f[0]))
    boundary |= (lam == 0) & (np.abs(alpha - 1) <= 1e-12)  # a known defect, see docstring
    names = ("eg", "rate", "distortion", "kl_posterior", "free_energy")
    for name in names:
        err = np.abs(got[name] - want[name]) / (1 + np.abs(want[name]))
        checked = err if name == "free_energy" else err[~boundary]
        assert checked.size == 0 or checked.max() <= 1e-10, (name, checked.max())
    assert np.array_equal(got["phase"][~boundary], want["phase"][~boundary])


def test_next_to_alpha_1_without_weight_decay():
    """Within 3.5e-10 of alpha = 1 without weight decay (found by the property test
    above at alpha = 1 - 1.56e-11) the overfitting unit's Q was 3.0000000028749 against
    3.0000000000312 from the closed forms and a 50-digit polish: the extended-precision
    steps that place it were refused because the encoder overlaps, which lie along soft
    directions there and are reset to their ridge limit afterwards, took the next step
    above the last. Both sides of alpha = 1, two parameter sets."""
    from symrep.crosscheck import closed_form_solution

    d = np.geomspace(1e-15, 1e-6, 60)
    alpha = np.concatenate([1 - d, 1 + d])
    for beta, rho, eta in ((1.0, 1.0, 1.0), (3.0, 0.5, 2.0)):
        got = solve_arrays(alpha, beta, 0.0, rho, eta, continuation=False)
        want = closed_form_solution(alpha, beta, 0.0, rho, eta)
        f = np.sort(want["branch_free_energy"], axis=0)
        boundary = f[1] - f[0] <= 1e-9 * (1 + np.abs(f[0]))  # alpha = (eta/rho)^2 = 1
        for name in ("eg", "rate", "distortion"):
            err = np.abs(got[name] - want[name]) / (1 + np.abs(want[name]))
            assert err[~boundary].max() <= 1e-10, (name, err.max(), alpha[np.argmax(err)])


@pytest.mark.xfail(strict=True, reason="known defect: next to alpha = 1 with a weight "
                   "decay of 1e-15 to 1e-13 and small beta the full search is off by up "
                   "to 6.4e-10, depending on the batch")
def test_tiny_weight_decay_next_to_alpha_1():
    """alpha = 1 - d, d in [1e-16, 1e-5], lam = 1e-15, beta = 0.05, rho = 0.3, eta = 5:
    27 of 121 points off by more than 1e-10 (6.4e-10 at d = 9.1e-14, solved alone it is
    at 3e-16). Found with the fix of test_next_to_alpha_1_without_weight_decay."""
    from symrep.crosscheck import closed_form_solution

    alpha = 1 - np.concatenate([[0.0], np.geomspace(1e-16, 1e-5, 120)])
    params = (alpha, 0.05, 1e-15, 0.3, 5.0)
    got, want = solve_arrays(*params), closed_form_solution(*params)
    for name in ("eg", "rate", "distortion"):
        err = np.abs(got[name] - want[name]) / (1 + np.abs(want[name]))
        assert err.max() <= 1e-10, (name, err.max())


@pytest.mark.xfail(strict=True, reason="known defect: at alpha = 1 + 1e-12 without "
                   "weight decay and eta = rho the full search misses the learning branch")
def test_within_1e_7_of_alpha_1_without_weight_decay():
    """alpha = 1 exactly and 1 + 1e-12, lam = 0, eta from 1 down to exp(-0.5), rho = 1
    (found by the property test above): eg off by 3.1e-9 and 4.9e-7. The first is fixed
    (extended-precision steps no longer refused above 1e-8, see
    test_extended_precision_steps_next_to_alpha_1); the second remains: at eta = rho = 1
    the learning and overfitting branches have equal free energies to rounding there
    (the acceptance check would take either), and the full search does not find the
    learning one. Elsewhere without weight decay the errors above 1e-10 lie within
    3e-13 of alpha = 1 (up to 4.2e-9)."""
    from symrep.crosscheck import closed_form_solution

    eta = np.exp(np.linspace(0, -0.5, 200))
    for alpha in (1.0, 1 + 1e-12):
        got = solve_arrays(alpha, 1.0, 0.0, 1.0, eta)
        want = closed_form_solution(alpha, 1.0, 0.0, 1.0, eta)
        err = np.abs(got["eg"] - want["eg"]) / (1 + np.abs(want["eg"]))
        assert err.max() <= 1e-10, (alpha, err.max())


@extended_precision
def test_extended_precision_steps_next_to_alpha_1():
    """Without weight decay within 1e-7 of alpha = 1 the float64 states were off by up to
    2.2e-8 (beta = 0.1, rho = 1, eta = 1 and 0.9): their extended-precision steps were
    refused for being above 1e-8. Noise directions (singular values below 1e-16 of the
    largest) are now cut from those steps and only steps above 1e-6 are refused."""
    from symrep.crosscheck import closed_form_solution

    d = np.geomspace(1e-12, 1e-6, 25)
    alpha = np.concatenate([1 - d, 1 + d])
    for eta in (1.0, 0.9):
        got = solve_arrays(alpha, 0.1, 0.0, 1.0, eta, continuation=False)
        want = closed_form_solution(alpha, 0.1, 0.0, 1.0, eta)
        f = np.sort(want["branch_free_energy"], axis=0)
        off = f[1] - f[0] > 1e-9 * (1 + np.abs(f[0]))  # off the boundary alpha = 1
        assert off.sum() >= 25  # alpha > 1 at eta = rho lies on the boundary
        assert np.array_equal(got["phase"][off], want["phase"][off])
        for name in ("eg", "rate", "distortion"):
            err = (np.abs(got[name] - want[name]) / (1 + np.abs(want[name])))[off]
            assert err.max() <= 1e-10, (eta, name, err.max())


@extended_precision
def test_random_points_next_to_alpha_1_without_weight_decay():
    """1000 random points of the acceptance box with |alpha - 1| in [1e-12, 1e-6] and
    no weight decay, solved at once: none off by more than 1e-10 (about 1 % of such
    points were, by up to 2.6e-7, while extended-precision steps above 1e-8 were
    refused). Points on a phase boundary are checked on the free energy."""
    from symrep.crosscheck import closed_form_solution

    rng = np.random.default_rng(2026)
    n = 1000

    def log_uniform(lo, hi):
        return np.exp(rng.uniform(np.log(lo), np.log(hi), n))

    alpha = 1 + log_uniform(1e-12, 1e-6) * rng.choice([-1.0, 1.0], n)
    params = (alpha, log_uniform(0.01, 10), 0.0, log_uniform(0.1, 10), log_uniform(0.1, 10))
    got = solve_arrays(*params, continuation=False)
    want = closed_form_solution(*params)
    f = np.sort(want["branch_free_energy"], axis=0)
    off = f[1] - f[0] > 1e-9 * (1 + np.abs(f[0]))
    assert np.array_equal(got["phase"][off], want["phase"][off])
    for name in ("eg", "rate", "distortion", "kl_posterior", "free_energy"):
        err = np.abs(got[name] - want[name]) / (1 + np.abs(want[name]))
        checked = err if name == "free_energy" else err[off]
        assert checked.max() <= 1e-10, (name, checked.max())


@extended_precision
@pytest.mark.parametrize("alpha, lam, rho, eta", [
    (1023.6227674577653, 12.133108879567828, 14.603456391630768, 10.895318579735186),
    (4527.067509823327, 0.05576726490279175, 17.155215317922007, 0.7200322273440138),
    (4470.567943707488, 11.431025084764487, 6.471294351965045, 11.906285602483951)])
def test_ill_conditioned_curves_at_large_alpha(alpha, lam, rho, eta):
    """300-point beta curves (1e-3 to above rho + eta) at alpha in [1e3, 5e3], where the
    Newton systems have condition numbers up to 1e13: carried states whose float64
    Newton steps stall above 1e-12, and states of the full search with condition above
    1e9 (but below 1e15) left to the extended-precision steps instead of the regula
    falsi to rounding, agree with the closed forms to 1e-10."""
    from symrep.crosscheck import closed_form_solution

    top = 3 * (rho + eta) * (1 + eta / (alpha * rho)) + 3
    params = (alpha, np.geomspace(1e-3, top, 300), lam, rho, eta)
    got, want = solve_arrays(*params), closed_form_solution(*params)
    f = np.sort(want["branch_free_energy"], axis=0)
    off = f[1] - f[0] > 1e-9 * (1 + np.abs(f[0]))
    assert np.array_equal(got["phase"][off], want["phase"][off])
    for name in ("eg", "rate", "distortion", "kl_posterior", "rate_train",
                 "distortion_train"):
        err = (np.abs(got[name] - want[name]) / (1 + np.abs(want[name])))[off]
        assert err.max() <= 1e-10, (name, err.max())


@extended_precision
def test_ill_conditioned_state_at_large_alpha_and_small_beta():
    """alpha = 377, beta = 1e-3, eta = 19 (outside the acceptance box; condition of the
    Newton system 5e13): the learning state's eg was off by 1.3e-8, its
    extended-precision step (1.0e-8) refused; the closed forms and a 60-digit polish
    agree to 5e-16."""
    from symrep.crosscheck import closed_form_solution

    params = (377.395, 0.001, 0.33544, 9.89675, 19.4334)
    got, want = solve_arrays(*params), closed_form_solution(*params)
    assert got["phase"] == want["phase"] == PHASES.index("learning")
    for name in ("eg", "rate", "distortion", "kl_posterior"):
        err = abs(got[name] - want[name]) / (1 + abs(want[name]))
        assert err <= 1e-10, (name, err)


@extended_precision
@pytest.mark.parametrize("params", [
    (0.010812827760203456, 0.0018805487829807344, 0.0, 0.774362331822684, 14.425871763015966),
    (0.014714401000335857, 0.0017229112741303557, 0.0, 4.1878911498931375, 10.643472142849966),
    (0.01, 0.08273699161224889, 0.0, 0.07054590778173, 17.94276494581323)])
def test_soft_overfitting_state_without_weight_decay_at_small_alpha(params):
    """Without weight decay at alpha ~ 0.01 (rate-distortion domain, outside the
    acceptance box) the overfitting unit's norm Q ~ 1e3 lies along a direction of
    singular value ~1e-17 of the largest: d f/dQ is flat down to its float64 rounding
    and the float64 sign change left Q, eg and the rate off by 4.3e-9, 3.0e-9 and
    2.4e-10 (the regula falsi to rounding now runs in extended precision)."""
    from symrep.crosscheck import closed_form_solution

    got, want = solve_arrays(*params), closed_form_solution(*params)
    assert got["phase"] == want["phase"] == PHASES.index("overfitting")
    assert abs(got["Q"] - want["z"][0]) <= 1e-10 * (1 + want["z"][0])
    for name in ("eg", "rate", "distortion", "kl_posterior"):
        err = abs(got[name] - want[name]) / (1 + abs(want[name]))
        assert err <= 1e-10, (name, err)


@extended_precision
@pytest.mark.parametrize("params", [(8527.0, 30.0, 1.0, 1.0, 1.0),
                                    (5888.4, 23.69, 0.0, 1.0, 1.0),
                                    (2000.0, 40.0, 10.0, 5.0, 5.0),
                                    (9000.0, 0.2, 1.0, 1.0, 1.0)])
def test_free_energy_at_large_alpha_to_rounding(params):
    """The free energy's terms grow with alpha and cancel: evaluated in float64 it was off
    by 8e-12 to 2.6e-11 at these points (f = 0 exactly on the collapsed branch). Against
    a 40-digit evaluation of the closed forms."""
    got, want = solve_arrays(*params), closed_form_mp(*params, dps=40)
    f = float(want["free_energy"])
    assert abs(float(got["free_energy"]) - f) <= 1e-12 * (1 + abs(f))


def test_states_that_change_between_anchors_are_searched_with_them():
    """On the 1000-point beta curve at alpha = 2 the overfitting state ends and the
    collapsed one appears between two anchors, and the learning state ends between the
    next two: the points of both intervals are scanned after the anchors and solved in
    the anchors' batch (one full search for the curve), and agree with the closed
    forms."""
    from symrep.crosscheck import closed_form_solution
    from symrep.solvers import continuation

    beta = np.geomspace(0.01, 10, 1000)
    with _full_searches() as calls:
        points = continuation.stationary_points_along(*np.broadcast_arrays(
            2.0, beta, 1.0, 1.0, 1.0))
    assert calls == [64 + 2 * 15]
    f = np.stack([pt["free_energy"] for pt in points])
    families = np.array([pt["family"] for pt in points])
    want = closed_form_solution(2.0, beta, 1.0)
    assert np.array_equal(families[np.argmin(f, axis=0)], want["phase"])
    assert np.allclose(f.min(axis=0), want["free_energy"], rtol=1e-10, atol=1e-12)


def test_anchors_of_dense_and_coarse_curves():
    from symrep.solvers.continuation import SPACING, SPAN, _anchors, _steps

    ones = np.ones(1000)
    dense = (np.geomspace(0.01, 100, 1000), 0.5 * ones, ones, ones, ones)
    idx, near = _anchors(dense, SPACING)
    assert near.all()
    assert np.array_equal(idx, np.r_[np.arange(0, 1000, SPACING), 999])
    coarse = tuple(p[::10] for p in dense)  # log steps 0.092: one curve, 16 steps 1.5
    idx, near = _anchors(coarse, SPACING)
    assert near.all() and idx[0] == 0 and idx[-1] == 99
    walked = np.r_[0, np.cumsum(_steps(coarse))]
    assert np.all(np.diff(walked[idx]) <= SPAN + 1e-12)
    assert np.all(np.diff(idx) >= 1)


def test_without_continuation_every_point_is_solved_alone():
    alpha = np.geomspace(0.05, 20, 64)
    batch = solve_arrays(alpha, 0.5, 1.0, continuation=False)
    alone = [solve(a, 0.5, 1.0) for a in alpha[::9]]
    assert [r.phase for r in alone] == [PHASES[c] for c in batch["phase"][::9]]
    for name in ("Q", "m", "eg", "free_energy"):
        assert np.allclose(batch[name][::9], [getattr(r, name) for r in alone], rtol=1e-12,
                           atol=1e-14)


def test_warm_start_does_not_import_sympy():
    code = ("import sys, symrep; symrep.solve(2.0, 0.5, 1.0); "
            "symrep.sweep(alpha=[1.0, 2.0], beta=0.5, lam=1.0); print('sympy' in sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=600)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_cli_solve_json_has_the_result_attributes():
    out = subprocess.run([sys.executable, "-m", "symrep", "solve", "--alpha", "2", "--beta",
                          "0.5", "--lam", "1", "--json"], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    for key in ("m", "d", "Q", "E", "R", "D", "eg", "rate", "distortion", "kl_posterior",
                "free_energy", "phase", "converged", "alpha", "beta", "lam", "rho", "eta"):
        assert key in data
    assert data["phase"] == "learning" and data["converged"] is True


def test_cli_sweep_and_phase_diagram(tmp_path, capsys):
    """The sweep and phase-diagram commands, by the CLI's entry point in this process (the
    process itself, ``python -m symrep``, is tested in tests/test_fuzz_cli.py)."""
    from symrep.cli import main

    def run(*argv):
        capsys.readouterr()
        try:
            rc = main(list(argv))
        except SystemExit as exc:  # argparse: usage errors and malformed values
            rc = exc.code
        return rc, capsys.readouterr().err

    csv = tmp_path / "s.csv"
    rc, err = run("sweep", "--alpha", "0.1:4:20", "--beta", "0.5,1", "--lam", "1", "--out",
                  str(csv))
    assert rc == 0, err
    assert len(csv.read_text().splitlines()) == 41
    png = tmp_path / "pd.png"
    rc, err = run("phase-diagram", "--alpha", "0.1:4:30", "--beta", "0.05:2.5:30", "--out",
                  str(png))
    assert rc == 0, err
    assert png.stat().st_size > 1000
    rc, err = run("sweep", "--alpha", "0.1:x:3", "--beta", "1", "--lam", "1", "--out",
                  str(csv))
    assert rc == 2 and len(err.strip().splitlines()) == 1


def test_polish_damps_a_newton_step_that_overshoots():
    """From five times the overlaps of the learning state at (2, 0.5, 1, 1, 1) the full
    Newton step leaves the domain of the equations (its residual is not finite): the
    polish's line search takes a shorter step and ends on the closed-form state."""
    from symrep.crosscheck import closed_form_solution
    from symrep.solvers import units

    params = [np.array([v]) for v in (2.0, 0.5, 1.0, 1.0, 1.0)]
    ref = closed_form_solution(*params)
    assert ref["phase"][0] == 2
    want = ref["z"][:, 0]
    z0 = want.copy()
    z0[:5] *= 5  # Q, R, E, m, d; the precision as at the solution
    z0 = z0[:, None]
    family = np.array([2])
    full, _ = units._newton_step(z0, params, family)
    assert not (units.residual_norm(full, params)[0] < units.residual_norm(z0, params)[0])
    z, res = units.polish(z0, params, family)
    assert res[0] <= 1e-15
    assert np.allclose(z[:, 0], want, rtol=1e-12, atol=1e-14)
