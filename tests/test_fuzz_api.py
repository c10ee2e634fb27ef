"""Fuzz the public functions with bad and extreme input: the error contract holds.

Bad input raises ``ValueError`` naming the parameter (and, for model parameters, the
allowed range); a job too large for the memory or time at hand raises
``TooLargeError`` before any work, unless ``force=True``; a failed computation raises
``SolverError``; no function returns NaN. Memory is pinned to 8 GB (and the time budget
to its default) so that the refusals do not depend on the machine.
"""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

import symrep
import symrep.resources
from symrep.asymptotics import (
    large_alpha_expansion,
    mode_thresholds,
    rd_curve,
    rs_collapsed_block,
)
from symrep.compare import finite_size_study, learning_curve_comparison, markdown_table
from symrep.errors import SolverError, TooLargeError
from symrep.figures import generate, make_figure
from symrep.figures.core import Size
from symrep.simulate import (
    exact_minimum,
    observables_from_weights,
    sample_scm,
    sample_scm_torch,
    simulate,
    summarize,
    train,
)
from symrep.solvers import solve_arrays, sweep_table
from symrep.validation import PARAMETER_RANGES

BASE = dict(alpha=2.0, beta=0.5, lam=1.0, rho=1.0, eta=1.0)


@pytest.fixture(autouse=True)
def pinned_resources(monkeypatch):
    monkeypatch.setattr(symrep.resources, "available_memory", lambda: 8e9)
    monkeypatch.delenv("SYMREP_TIME_BUDGET", raising=False)


@pytest.fixture(scope="module")
def data():
    X, W0 = sample_scm(60, 30, 1.0, 1.0, seed=3)
    return X, W0


def bad_values(name):
    """Values outside the range of ``name`` and values that are not real numbers."""
    rule = PARAMETER_RANGES[name]
    return [math.nan, math.inf, -1.0, rule.low - 1e-7 if rule.low > 0 else -1e-300,
            rule.high * 1.001, 10**400, "1", None, True, 1j, Decimal("0.5")]


# --- model parameters of every entry point -----------------------------------------------

ENTRY_POINTS = {
    "solve": lambda p: symrep.solve(**p),
    "solve_arrays": lambda p: solve_arrays(**p),
    "sweep": lambda p: symrep.sweep(**p),
    "rs_collapsed_block": lambda p: rs_collapsed_block(**p),
    "simulate": lambda p: simulate(12, **p, seeds=1),
}
PARAMETER_CASES = [(f, n, v) for f in ENTRY_POINTS for n in BASE for v in bad_values(n)]


@pytest.mark.parametrize("function, name, value", PARAMETER_CASES,
                         ids=[f"{f}-{n}={v!r}"[:60] for f, n, v in PARAMETER_CASES])
def test_bad_model_parameter_is_a_value_error_naming_it(function, name, value):
    with pytest.raises(ValueError, match=rf"\b{name}\b") as info:
        ENTRY_POINTS[function](dict(BASE, **{name: value}))
    assert not isinstance(info.value, TooLargeError)
    assert str(PARAMETER_RANGES[name]) in str(info.value)


DATA_MODEL_CASES = [(f, n, v) for f in ("exact_minimum", "train", "sample_scm")
                    for n in (("rho", "eta") if f == "sample_scm" else ("beta", "lam", "rho",
                                                                          "eta"))
                    for v in bad_values(n)[:6]]


@pytest.mark.parametrize("function, name, value", DATA_MODEL_CASES,
                         ids=[f"{f}-{n}={v!r}"[:60] for f, n, v in DATA_MODEL_CASES])
def test_bad_parameter_of_the_simulation_functions(data, function, name, value):
    X, W0 = data
    p = {**dict(beta=0.5, lam=1.0, rho=1.0, eta=1.0), name: value}
    call = {
        "exact_minimum": lambda: exact_minimum(X, W0, **p),
        "train": lambda: train(X, W0, **p, seed=0, max_iter=5),
        "sample_scm": lambda: sample_scm(10, 5, p["rho"], p["eta"]),
    }[function]
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        call()


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(sorted(BASE)), value=st.floats())
def test_any_float_for_any_parameter(name, value):
    """Out of range: ValueError naming the range. In range: a finite result or a
    SolverError."""
    p = dict(BASE, **{name: value})
    rule = PARAMETER_RANGES[name]
    if not (math.isfinite(value) and rule.contains(value)):
        with pytest.raises(ValueError, match=rf"{name} = .*{rule}".replace("[", r"\[")
                           .replace("(", r"\(")):
            symrep.solve(**p)
        return
    try:
        r = symrep.solve(**p)
    except SolverError as err:
        assert err.diagnostics["parameters"]
        return
    for key, v in r.as_dict().items():
        if isinstance(v, float):
            assert math.isfinite(v), key


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(sorted(BASE)),
       value=st.one_of(st.text(max_size=4), st.none(), st.booleans(), st.complex_numbers(),
                       st.lists(st.floats(), min_size=1, max_size=3), st.binary(max_size=3),
                       st.integers(min_value=10**309)))
@example(name="rho", value=[1.0])  # one feature's strength: valid
@example(name="rho", value=[1.0, float("nan")])
def test_any_non_number_for_any_parameter(name, value):
    rule = PARAMETER_RANGES["rho"]
    if name == "rho" and isinstance(value, list) and all(
            math.isfinite(v) and rule.contains(v) for v in value):
        # a list of valid strengths is not a bad value of rho: one per feature (M* of
        # them), as in solve(..., rho=(1.0, 0.5))
        assert math.isfinite(symrep.solve(**dict(BASE, rho=value)).eg)
        return
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        symrep.solve(**dict(BASE, **{name: value}))


# --- grids ------------------------------------------------------------------------------

PHASE_BAD = [dict(alpha=[]), dict(alpha=[1.0]), dict(alpha=5.0), dict(alpha=[[1, 2], [3, 4]]),
             dict(alpha=[1.0, math.nan]), dict(alpha=[1.0, -1.0]), dict(alpha=["a", "b"]),
             dict(beta=[0.5]), dict(beta=[0.5, 1e7]), dict(beta=[0.5, math.inf]),
             dict(lam=[1.0, 2.0]), dict(rho=[1.0, 2.0]), dict(eta=np.ones(3)),
             dict(lam=-1.0), dict(eta=0.0)]


@pytest.mark.parametrize("change", PHASE_BAD, ids=[repr(c)[:50] for c in PHASE_BAD])
def test_phase_diagram_bad_grid(change):
    p = {**dict(alpha=[0.5, 2.0], beta=[0.3, 1.0]), **change}
    with pytest.raises(ValueError, match="|".join(change)):
        symrep.phase_diagram(**p)


SWEEP_BAD = [dict(alpha=np.ones((2, 2))), dict(alpha=[]), dict(beta=["a"]),
             dict(lam=[0.0, -1.0]), dict(chunk_size=0), dict(chunk_size=1.5),
             dict(errors="ignore")]


@pytest.mark.parametrize("change", SWEEP_BAD, ids=[repr(c)[:50] for c in SWEEP_BAD])
def test_sweep_bad_argument(change):
    p = {**dict(alpha=[0.5, 2.0], beta=0.5, lam=1.0), **change}
    with pytest.raises(ValueError, match="|".join(change)):
        symrep.sweep(**p)


def test_solve_arrays_shapes_that_do_not_broadcast():
    with pytest.raises(ValueError, match="broadcast"):
        solve_arrays([1.0, 2.0], [0.5, 1.0, 2.0], 1.0)


def test_sweep_of_scalars_is_one_row_with_every_parameter(tmp_path):
    res = symrep.sweep(alpha=2.0, beta=0.5, lam=1.0, rho=1.2, eta=0.8)
    table = sweep_table(res)
    assert len(table) == 1
    assert [table[k][0] for k in ("alpha", "beta", "lam", "rho", "eta")] == \
        [2.0, 0.5, 1.0, 1.2, 0.8]
    assert table["phase"][0] == symrep.solve(2.0, 0.5, 1.0, 1.2, 0.8).phase
    import xarray as xr

    res.to_netcdf(tmp_path / "one.nc")
    with xr.open_dataset(tmp_path / "one.nc") as back:
        again = sweep_table(back.load())
    assert list(again.columns) == list(table.columns)
    assert again["phase"][0] == table["phase"][0]


def test_sweep_table_carries_fixed_parameters_as_columns():
    res = symrep.sweep(alpha=[0.5, 3.0], beta=[0.3, 2.0], lam=0.7, eta=2.0)
    table = sweep_table(res)
    assert len(table) == 4 and set(table["lam"]) == {0.7} and set(table["eta"]) == {2.0}
    assert set(table["phase"]) <= {"learning", "overfitting", "regularized"}
    assert float(res["lam"]) == 0.7  # a 0-d coordinate of the Dataset too


# --- too large for the memory or time at hand --------------------------------------------

TOO_LARGE = {
    "sweep": lambda f: symrep.sweep(np.linspace(0.1, 5, 10_000), np.linspace(0.1, 3, 10_000),
                                    1.0, force=f),
    "phase_diagram": lambda f: symrep.phase_diagram(np.linspace(0.1, 5, 10_000),
                                                    np.linspace(0.1, 3, 10_000), force=f),
    "simulate seeds": lambda f: simulate(100, 2.0, 0.5, 1.0, seeds=10**11, force=f),
    "simulate N": lambda f: simulate(100_000, 1000.0, 0.5, 1.0, force=f),
    "simulate lbfgs": lambda f: simulate(20_000, 2.0, 0.5, 1.0, seeds=1, method="lbfgs",
                                         force=f),
    "sample_scm": lambda f: sample_scm(10**9, 10**6, 1.0, 1.0, force=f),
    "sample_scm_torch": lambda f: sample_scm_torch(10**5, 10**5, 1.0, 1.0, batch=10,
                                                   force=f),
    "finite_size_study": lambda f: finite_size_study(Ns=[10**6], force=f),
    "learning_curve_comparison": lambda f: learning_curve_comparison([1.0], [0.5], N=10**6,
                                                                     force=f),
    "generate": lambda f: generate("unused", size=Size("full", N=10**6, seeds=5), force=f),
}


@pytest.mark.parametrize("name", TOO_LARGE)
def test_too_large_is_refused_before_any_work(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TooLargeError, match=r"needs about .* force=True") as info:
        TOO_LARGE[name](False)
    assert info.value.estimate["bytes"] > 0 and info.value.estimate["seconds"] > 0
    assert not list(tmp_path.iterdir())  # nothing made, nothing written


def test_train_too_large_and_force(data, monkeypatch):
    X, W0 = data
    monkeypatch.setattr(symrep.resources, "available_memory", lambda: 1e3)
    with pytest.raises(TooLargeError, match="training"):
        train(X, W0, 0.5, 1.0, seed=0, max_iter=5)
    assert train(X, W0, 0.5, 1.0, seed=0, max_iter=5, force=True).n_iter <= 5


def test_force_runs_what_the_time_budget_refuses(monkeypatch):
    monkeypatch.setenv("SYMREP_TIME_BUDGET", "1e-9")
    with pytest.raises(TooLargeError, match="SYMREP_TIME_BUDGET"):
        symrep.sweep([0.5, 1.0], 0.5, 1.0)
    assert symrep.sweep([0.5, 1.0], 0.5, 1.0, force=True)["eg"].size == 2
    with pytest.raises(TooLargeError):
        simulate(10, 2.0, 0.5, 1.0, seeds=1)
    assert len(simulate(10, 2.0, 0.5, 1.0, seeds=1, force=True)) == 1


@pytest.mark.parametrize("budget", ["x", "0", "-5", "nan", "inf5"])
def test_bad_time_budget_is_a_value_error(monkeypatch, budget):
    monkeypatch.setenv("SYMREP_TIME_BUDGET", budget)
    with pytest.raises(ValueError, match="SYMREP_TIME_BUDGET"):
        symrep.sweep([0.5, 1.0], 0.5, 1.0)


def test_the_estimate_grows_with_the_job_and_is_cheap():
    """Cheap: arithmetic on the sizes, nothing of the job's size is allocated (checked by
    the peak of the memory allocated while estimating, not by a timing: a 10^6-point
    grid's arrays alone would take 8 MB)."""
    import tracemalloc

    from symrep.resources import phase_diagram_estimate, simulation_estimate

    tracemalloc.start()
    try:
        small, large = phase_diagram_estimate(10, 10), phase_diagram_estimate(1000, 1000)
        a = simulation_estimate(500, 2.0, 3)
        b = simulation_estimate(1000, 2.0, 3)
        huge = simulation_estimate(10**400, 2.0, 1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert large.bytes > small.bytes and large.seconds > 100 * small.seconds
    assert b.bytes > 3 * a.bytes and b.seconds > 4 * a.seconds
    assert huge.bytes == math.inf
    assert peak < 1_000_000, peak


# --- data for the simulations ------------------------------------------------------------

BAD_DATA = {
    "nan": lambda X: np.where(np.arange(X.size).reshape(X.shape) == 7, np.nan, X),
    "inf": lambda X: np.where(np.arange(X.size).reshape(X.shape) == 0, np.inf, X),
    "no rows": lambda X: X[:0],
    "no columns": lambda X: X[:, :0],
    "1-d": lambda X: X[0],
    "3-d": lambda X: X[None, None],
    "strings": lambda X: np.full(X.shape, "a"),
    "overflow": lambda X: X * 1e200,
}


@pytest.mark.parametrize("case", BAD_DATA)
@pytest.mark.parametrize("function", ["exact_minimum", "train"])
def test_bad_data_is_a_value_error_naming_x(data, function, case):
    X, W0 = data
    bad = BAD_DATA[case](X)
    if function == "train" and case == "3-d":
        bad = bad[0]  # a batch of one data set is a valid 3-d input: make it 3-d of 3-d
        bad = np.stack([bad, bad])
    call = {"exact_minimum": lambda: exact_minimum(bad, W0, 0.5, 1.0),
            "train": lambda: train(bad, W0, 0.5, 1.0, seed=0, max_iter=5)}[function]
    with pytest.raises(ValueError, match=r"\bX\b"):
        call()


BAD_FEATURES = {"wrong length": np.ones(7), "two features": np.ones((30, 2)),
                "not normalised": 2 * np.ones(30), "nan": np.full(30, np.nan),
                "strings": ["a"] * 30}


@pytest.mark.parametrize("case", BAD_FEATURES)
def test_bad_feature_is_a_value_error_naming_w0(data, case):
    X, _ = data
    with pytest.raises(ValueError, match="W0"):
        exact_minimum(X, BAD_FEATURES[case], 0.5, 1.0)


@pytest.mark.parametrize("lam", [0.0, 1.0])
def test_exact_minimum_of_all_zero_data_is_collapsed(lam):
    """Without data variance the objective is lam/2 (|W|^2 + |W~|^2) plus beta times the
    KL of N(0, D) from N(0, 1), minimised by W = W~ = 0, D = 1, at value 0 (a closed form
    that shares no code with exact_minimum)."""
    r = exact_minimum(np.zeros((20, 10)), np.ones(10), 0.5, lam, rho=1.3, eta=0.7)
    assert (r.Q, r.E, r.R, r.m, r.D) == (0.0, 0.0, 0.0, 0.0, 1.0)
    assert r.eg == pytest.approx(1.3, abs=1e-15)  # rho - 2 sqrt(rho) |m| + Q with m = Q = 0
    assert r.free_energy == 0.0 and r.rate == 0.0 and r.loss == 0.0


# gtol = 0 and ftol = 0 are valid: they turn the gradient rule and the stall rule off
BAD_OPTIONS = [(k, v) for k in ("lr", "init_scale", "gtol", "ftol")
               for v in (math.nan, math.inf, -1.0, 0.0, "1e-3", None)
               if not (k in ("gtol", "ftol") and v in (None, 0.0))] + [
    ("max_iter", 0), ("max_iter", -1), ("max_iter", 1.5), ("window", 0), ("window", -1),
    ("window", 1.5), ("seed", -1), ("seed", 2**64),
    ("seed", 1.5), ("seed", "1"), ("method", "sgd"), ("dtype", torch.int64),
    ("device", "nonsense")]


@pytest.mark.parametrize("option, value", BAD_OPTIONS,
                         ids=[f"{k}={v!r}" for k, v in BAD_OPTIONS])
def test_bad_training_option_is_a_value_error_naming_it(data, option, value):
    X, W0 = data
    opts = {"seed": 0, "max_iter": 5, "method": "adam" if option == "lr" else "lbfgs",
            option: value}
    with pytest.raises(ValueError, match=option):
        train(X, W0, 0.5, 1.0, **opts)


@pytest.mark.parametrize("X", [[], [np.ones((5, 3)), np.ones((5, 4))]], ids=["empty", "mixed N"])
def test_bad_batches_of_data(X):
    with pytest.raises(ValueError, match="X"):
        train(X, np.ones(3), 0.5, 1.0)


def test_train_with_seed_none_leaves_the_global_torch_rng_alone(data):
    X, W0 = data
    state = torch.get_rng_state()
    train(X, W0, 0.5, 1.0, seed=None, max_iter=3)
    sample_scm_torch(5, 5, 1.0, 1.0, seed=None, device="cpu")
    assert torch.equal(state, torch.get_rng_state())


def test_diverging_training_is_a_solver_error_not_nan(data):
    X, W0 = data
    with pytest.raises(SolverError, match="diverged"):
        train(X, W0, 0.5, 1.0, method="adam", lr=1e6, max_iter=20, seed=0)
    with pytest.raises(SolverError, match="diverged"):
        train(X, W0, 0.5, 1.0, init_scale=1e200, max_iter=5, seed=0)


def test_extreme_training_is_finite(data):
    X, W0 = data
    for beta, lam in ((1e-6, 0.0), (1e6, 1e6)):
        r = train(X, W0, beta, lam, seed=1, max_iter=40)
        for name in ("m", "Q", "D", "eg", "rate", "kl_posterior", "rate_train",
                     "kl_posterior_train", "free_energy"):
            assert math.isfinite(getattr(r, name)), (beta, lam, name)


def test_observables_work_in_log_d_where_d_underflows(data):
    """D = exp(-1000) is 0.0 in float64, but the rate is (D + v2 - 1 - log D) / 2: its
    log term is 500 and must appear (a domain error or inf before)."""
    X, W0 = data
    W = np.full(30, 0.1)
    r = observables_from_weights(X, W0, W, W, 0.0, log_D=-1000.0, beta=0.5, lam=1.0,
                                 rho=1.0, eta=1.0)
    assert 499 < r.rate < 502 and math.isfinite(r.kl_posterior_train)
    assert math.isfinite(r.free_energy)


@pytest.mark.parametrize("D, log_D", [(0.0, None), (-1.0, None), (math.nan, None),
                                      (math.inf, None), (1.0, math.nan), (1.0, -math.inf)])
def test_observables_reject_an_invalid_variance(data, D, log_D):
    X, W0 = data
    with pytest.raises(ValueError, match="D"):
        observables_from_weights(X, W0, np.ones(30), np.ones(30), D, log_D=log_D, beta=0.5,
                                 lam=1.0, rho=1.0, eta=1.0)


@pytest.mark.parametrize("name, value", [("W", np.ones(3)), ("W_enc", np.ones((2, 30))),
                                         ("W", np.full(30, np.nan)), ("W0", np.ones(31))])
def test_observables_reject_weights_of_the_wrong_shape(data, name, value):
    X, W0 = data
    args = {"W0": W0, "W": np.ones(30), "W_enc": np.ones(30), name: value}
    with pytest.raises(ValueError, match=name):
        observables_from_weights(X, args["W0"], args["W"], args["W_enc"], 1.0, beta=0.5,
                                 lam=1.0, rho=1.0, eta=1.0)


SIMULATE_BAD = [dict(N=0), dict(N=2.5), dict(seeds=0), dict(seeds=-2), dict(method="sgd"),
                dict(first_seed=-1), dict(first_seed=2**63 - 1, seeds=2), dict(N="10")]


@pytest.mark.parametrize("change", SIMULATE_BAD, ids=[repr(c)[:40] for c in SIMULATE_BAD])
def test_simulate_bad_argument(change):
    p = {**dict(N=10, alpha=2.0, beta=0.5, lam=1.0, seeds=1), **change}
    with pytest.raises(ValueError, match="|".join(change)):
        simulate(**p)


@pytest.mark.parametrize("results, fields, needle", [
    ([], ("eg",), "results"), (None, ("nope",), "nope"), (None, ("W",), "W"),
], ids=["empty", "unknown field", "not a scalar"])
def test_summarize_bad_argument(results, fields, needle):
    if results is None:
        results = simulate(8, 2.0, 0.5, 1.0, seeds=2)
    with pytest.raises(ValueError, match=needle):
        summarize(results, fields)


@pytest.mark.parametrize("P, N", [(0, 5), (5, 0), (2.5, 5), (-1, 5), (5, "5")])
def test_sample_scm_bad_sizes(P, N):
    with pytest.raises(ValueError, match="P|N"):
        sample_scm(P, N, 1.0, 1.0)


# --- comparisons, asymptotics, figures, derivation ---------------------------------------

COMPARE_BAD = [
    (lambda: finite_size_study(Ns=[]), "Ns"),
    (lambda: finite_size_study(Ns=[0]), "N"),
    (lambda: finite_size_study(seeds=0), "seeds"),
    (lambda: finite_size_study(method="sgd"), "method"),
    (lambda: finite_size_study(observables=["nope"]), "observables"),
    (lambda: finite_size_study(points={}), "points"),
    (lambda: finite_size_study(points={"a": {"alpha": 1.0}}), "points"),
    (lambda: finite_size_study(points={"a": dict(alpha=1.0, beta=0.5, lam=1.0, mu=2)}),
     "points"),
    (lambda: finite_size_study(points={"a": dict(alpha=-1.0, beta=0.5, lam=1.0)}), "alpha"),
    (lambda: learning_curve_comparison([], [0.5]), "alpha"),
    (lambda: learning_curve_comparison([1.0], [0.0]), "beta"),
    (lambda: learning_curve_comparison([1.0], [0.5], N=0), "N"),
    (lambda: learning_curve_comparison([1.0], [0.5], seeds=0), "seeds"),
    (lambda: learning_curve_comparison([1.0], [0.5], methods=("sgd",)), "methods"),
    (lambda: learning_curve_comparison([1.0], [0.5], observable="nope"), "observables"),
    (lambda: learning_curve_comparison([1.0], [0.5], curve_points=0), "curve_points"),
    (lambda: learning_curve_comparison([1.0], [0.5], lam=-1.0), "lam"),
    (lambda: markdown_table([{"a": 1}]), "rows"),
    (lambda: markdown_table([dict(point="p", N=10, observable="eg", phase="learning",
                                  theory=1.0, mean=1.0, sem=0.1, z=0.0)],
                            observables=["rate"]), "observables"),
]


@pytest.mark.parametrize("k", range(len(COMPARE_BAD)))
def test_compare_bad_argument(k):
    call, needle = COMPARE_BAD[k]
    with pytest.raises(ValueError, match=needle):
        call()


ASYMPTOTICS_BAD = [
    (lambda: rd_curve(-1.0, [0.5], 1.0), "alpha"),
    (lambda: rd_curve(1.0, "a", 1.0), "beta"),
    (lambda: rd_curve(1.0, [0.5, math.nan], 1.0), "beta"),
    (lambda: mode_thresholds(2.0, 1.0, [-1.0], 1.0), "rhos"),
    (lambda: mode_thresholds(2.0, 1.0, [1.0], 1.0, M=0), "M"),
    (lambda: mode_thresholds(1e300, 1.0, [1.0], 1.0), "alpha"),
    (lambda: rs_collapsed_block(np.array([1.0, 0.0]), 1.0, 1.0), "alpha"),
    (lambda: large_alpha_expansion().series("nope"), "nope"),
]


@pytest.mark.parametrize("k", range(len(ASYMPTOTICS_BAD)))
def test_asymptotics_bad_argument(k):
    call, needle = ASYMPTOTICS_BAD[k]
    with pytest.raises(ValueError, match=needle):
        call()


def test_figures_and_derivation_bad_argument(tmp_path):
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(ValueError, match="size"):
        generate(tmp_path / "figs", size="huge")
    with pytest.raises(ValueError, match="nope"):
        generate(tmp_path / "figs", names=["nope"])
    with pytest.raises(ValueError, match="a-file"):
        generate(tmp_path / "a-file", names=["fig3_phase_diagram"])
    with pytest.raises(ValueError, match="seeds"):
        generate(tmp_path / "figs", size=Size("quick", N=10, seeds=0))
    with pytest.raises(ValueError, match="nope"):
        make_figure("nope")
    from symrep.derive import write_derivations

    with pytest.raises(ValueError, match="out_dir"):
        write_derivations(tmp_path / "a-file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


@pytest.mark.parametrize("row", [
    "exact,abc,1,0,1,1,1,1,1", "exact,10,x,0,1,1,1,1,1", "exact,10,1,0,one,1,1,1,1",
    "exact,10,1,0,1,1,1,1,", "garbage"])
def test_damaged_reuse_rows_are_simulated_again(tmp_path, row):
    """``figures --reuse`` reads the points of an earlier run: a damaged row is dropped
    (and simulated again), the good ones are kept."""
    from symrep.figures.core import load_points

    header = "method,N,seeds,first_seed,alpha,beta,lam,rho,eta"
    good = "exact,10,1,0,2,0.5,1,1,1"
    (tmp_path / "f.csv").write_text(f"{header}\n{row}\n{good}\n")
    cache = load_points(tmp_path / "f.csv")
    assert list(cache) == [("exact", 10, 1, 0, 2.0, 0.5, 1.0, 1.0, 1.0)]


# --- refused before any work ----------------------------------------------------------

def test_sample_scm_beyond_memory_is_refused_before_allocating():
    from symrep.errors import TooLargeError
    from symrep.simulate import sample_scm

    for P, N in ((1, 10**12), (10, 10**12), (10**12, 1)):
        with pytest.raises(TooLargeError, match="needs about"):
            sample_scm(P=P, N=N, rho=1.0, eta=1.0)


@pytest.mark.parametrize("where", ["a file", "under a file", "proc"])
def test_sweep_checkpoint_unusable_is_a_value_error_before_work(tmp_path, monkeypatch,
                                                               where):
    import symrep
    from symrep.solvers import sweep_grid

    afile = tmp_path / "afile"
    afile.write_text("")
    path = {"a file": afile, "under a file": afile / "ckpt",
            "proc": "/proc/symrep-checkpoint"}[where]

    def never(*args, **kwargs):  # no point may be solved
        raise AssertionError("solved before the checkpoint was checked")

    monkeypatch.setattr(sweep_grid, "solve_chunk", never)
    with pytest.raises(ValueError, match="^checkpoint = "):
        symrep.sweep([1.0, 2.0], 0.5, 1.0, checkpoint=path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]
