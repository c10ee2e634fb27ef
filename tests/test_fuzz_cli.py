"""Fuzz the command line with bad and extreme input: the error contract holds.

The contract (``docs/cli.md``): every failure is exactly one line on stderr and no
traceback; the exit status is 2 for bad input (a malformed or out-of-range value, an
unusable output path, a job too large for the memory or time at hand), 1 when the
computation fails, 130 when interrupted; nothing is left behind in the output folder by
a failure (no temporary file, no partial output, no new folder), and what a success
writes is complete. No command prints NaN.

Most cases run in-process (``symrep.cli.main``); a representative set, the cases of
issue 12 among them, runs as real subprocesses, and one is interrupted with SIGINT.
Memory and time limits are pinned (8 GB, the default one-hour budget) so that the
refusals do not depend on the machine. Heavy jobs are refused before any work, so every
case is fast; the whole file takes a few seconds.
"""

from __future__ import annotations

import csv
import itertools
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symrep.resources
from symrep.cli import main
from symrep.validation import PARAMETER_RANGES

ROOT = Path(__file__).resolve().parents[1]
EIGHT_GB = 8e9

# --- the contract ------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    """Run ``symrep ARGV`` in-process in an empty folder and check the contract.

    Returns a function ``run(argv, expected) -> (stdout, stderr)``; ``expected`` is the
    exit status (0, 1 or 2).
    """
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SYMREP_DEBUG", raising=False)
    monkeypatch.delenv("SYMREP_TIME_BUDGET", raising=False)
    monkeypatch.setattr(symrep.resources, "available_memory", lambda: EIGHT_GB)

    def run(argv, expected):
        before = snapshot(tmp_path)
        capsys.readouterr()
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse: usage errors and malformed values
            rc = exc.code
        out, err = capsys.readouterr()
        check_contract(rc, out, err, expected, argv)
        if expected != 0:
            assert snapshot(tmp_path) == before, f"{argv} left files behind"
        assert not temporary_files(tmp_path), argv
        return out, err

    return run


def snapshot(folder):
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*"))


def temporary_files(folder):
    return [p for p in Path(folder).rglob("*")
            if ".tmp" in p.name or p.name.startswith(".symrep-write-test")]


def check_contract(rc, out, err, expected, argv):
    assert "Traceback" not in err and "Traceback" not in out, err
    assert rc == expected, f"{argv}: exit {rc}, expected {expected}; stderr {err!r}"
    lines = err.splitlines()
    if expected == 0:
        # on success stderr carries log lines only ("# ...", e.g. "computed K of T
        # tasks" of a simulation grid): no warning, no other output
        assert all(line.startswith("# ") and "warning" not in line.lower()
                   for line in lines), err
        assert not any(word in ("nan", "inf", "-inf", "NaN")
                       for word in out.replace(",", " ").split()), out
    else:
        assert len(lines) == 1, f"{argv}: stderr is not one line: {err!r}"
        prefix = "error:" if expected == 2 else "computation failed:"
        assert lines[0].startswith("symrep") and prefix in lines[0], lines[0]


# --- malformed and out-of-range numbers --------------------------------------------------

#: Texts that are not numbers (argparse or float() rejects them).
MALFORMED = ["abc", "", "1e", "1..2", "0x10", "1 2", "+-1", "inf5", "e5", "1,2", "--", "nan%"]

#: Values outside each parameter's range (below, above, not finite, beyond float).
OUT_OF_RANGE = {
    "alpha": ["0", "-1", "9.9e-7", "1.0000001e8", "1e308", "nan", "inf", "-inf", "1e400"],
    "beta": ["0", "-0.5", "9e-7", "2e6", "1e308", "nan", "inf"],
    "lam": ["-1e-300", "-1", "1.1e6", "1e308", "nan", "inf"],
    "rho": ["0", "5e-5", "2e4", "nan", "-inf", "-1"],
    "eta": ["0", "9.99e-5", "1.5e4", "nan", "inf", "-2"],
}
BASE = {"alpha": "2", "beta": "0.5", "lam": "1", "rho": "1", "eta": "1"}


def with_value(name, value, base=BASE):
    argv = []
    for key, v in base.items():
        argv += [f"--{key}", value if key == name else v]
    return argv


#: Malformed or out-of-range feature strengths (``--rho 1.5,0.8`` is two features).
BAD_STRENGTHS = ["1,", ",1", "1,abc", "1,,2", "1,0", "1,-2", "1,nan", "1,inf",
                 ",".join(["1"] * 10)]

SOLVE_BAD = [(name, v) for name in BASE for v in MALFORMED
             if not (name == "rho" and v == "1,2")] + [
    (name, v) for name, values in OUT_OF_RANGE.items() for v in values] + [
    ("rho", v) for v in BAD_STRENGTHS] + [("M", v) for v in ("0", "10", "1.5", "abc", "-1")]


@pytest.mark.parametrize("name, value", SOLVE_BAD, ids=[f"{n}={v!r}" for n, v in SOLVE_BAD])
def test_solve_bad_value_is_exit_2(cli, name, value):
    base = {**BASE, "M": "1"} if name == "M" else BASE
    _, err = cli(["solve", *with_value(name, value, base)], 2)
    assert f"--{name}" in err or f"{name} = " in err


SIMULATE_BAD = [(name, v) for name, values in OUT_OF_RANGE.items() for v in values[:4]] + [
    (name, v) for name in ("N", "seeds") for v in ("0", "-5", "1.5", "1e3", "abc", "")]


@pytest.mark.parametrize("name, value", SIMULATE_BAD,
                         ids=[f"{n}={v!r}" for n, v in SIMULATE_BAD])
def test_simulate_bad_value_is_exit_2(cli, name, value):
    base = {**BASE, "N": "10", "seeds": "1"}
    _, err = cli(["simulate", *with_value(name, value, base)], 2)
    assert f"--{name}" in err or f"{name} = " in err


@pytest.mark.parametrize("method", ["sgd", "", "EXACT"])
def test_simulate_unknown_method_is_exit_2(cli, method):
    cli(["simulate", "--N", "10", *with_value("", "", BASE), "--method", method], 2)


#: Grid texts that are malformed (num < 1, not an integer, log of a non-positive, ...).
BAD_GRIDS = ["1:2", "1:2:3:4", "1:2:0", "1:2:-3", "1:2:2.5", "log:0:1:3", "log:-1:1:3",
             "log:1:2", "a,b", "1,,2", ",", "1:2:x"]
#: Grids whose values leave the range of the parameter (at an end or inside a list).
OUT_OF_RANGE_GRIDS = {
    "alpha": ["0:1:3", "1:2e8:3", "1,1e9", "log:1e-7:1:3"],
    "beta": ["0:1:3", "1,2e6,3", "log:0.1:1e7:4"],
    "lam": ["-1:1:3", "0,2e6"],
    "rho": ["0:1:2", "1,nan"],
    "eta": ["1e-5:1:2", "1,inf"],
}
SWEEP_BAD = [(name, v) for name in ("alpha", "beta") for v in BAD_GRIDS] + [
    (name, v) for name, values in OUT_OF_RANGE_GRIDS.items() for v in values]


@pytest.mark.parametrize("name, value", SWEEP_BAD, ids=[f"{n}={v!r}" for n, v in SWEEP_BAD])
def test_sweep_bad_grid_is_exit_2(cli, name, value):
    _, err = cli(["sweep", *with_value(name, value), "--out", "sw.csv"], 2)
    assert f"--{name}" in err or f"{name} = " in err


PHASE_BAD = [(name, v) for name in ("alpha", "beta") for v in BAD_GRIDS[:8]] + [
    ("alpha", "0:1:3"), ("beta", "1,2e6"), ("alpha", "1"), ("beta", "0.5"),
    ("alpha", "1:2:1"), ("beta", "log:0.1:1:1"),
] + [(name, v) for name in ("lam", "rho", "eta") for v in ("1,2", "0:1:3", "abc", "-1")
       if not (name == "rho" and v == "1,2")] + [("rho", v) for v in BAD_STRENGTHS[:4]]


@pytest.mark.parametrize("name, value", PHASE_BAD, ids=[f"{n}={v!r}" for n, v in PHASE_BAD])
def test_phase_diagram_bad_grid_is_exit_2(cli, name, value):
    grid = {"alpha": "0.5:3:4", "beta": "0.2:2:4", name: value}
    cli(["phase-diagram", *itertools.chain(*((f"--{k}", v) for k, v in grid.items())),
         "--out", "pd.png"], 2)


COMPARE_BAD = [(name, v) for name in ("lam", "rho", "eta") for v in OUT_OF_RANGE[name][:3]] + [
    (name, v) for name in ("N", "seeds") for v in ("0", "-1", "2.5")]


@pytest.mark.parametrize("name, value", COMPARE_BAD, ids=[f"{n}={v!r}" for n, v in COMPARE_BAD])
def test_compare_bad_value_is_exit_2(cli, name, value):
    _, err = cli(["compare", "--quick", f"--{name}", value, "--out", "res"], 2)
    assert f"--{name}" in err or f"{name} = " in err


FIGURES_BAD = [["--only", "nope"], ["--only", ","], ["--only", "fig2_left,nope"],
               ["--N", "0"], ["--N", "-3"], ["--N", "x"], ["--seeds", "0"], ["--seeds", "1.5"],
               ["--seeds", ""]]


@pytest.mark.parametrize("extra", FIGURES_BAD, ids=[" ".join(e) for e in FIGURES_BAD])
def test_figures_bad_option_is_exit_2(cli, extra):
    cli(["figures", "--quick", "--out", "figs", *extra], 2)


@pytest.mark.parametrize("argv", [[], ["nope"], ["--nope"], ["solve"], ["solve", "--alpha"],
                                  ["sweep", "--alpha", "1"], ["phase-diagram"],
                                  ["simulate", "--alpha", "1", "--beta", "1", "--lam", "1"]],
                         ids=lambda a: " ".join(a) or "(nothing)")
def test_usage_errors_are_exit_2(cli, argv):
    cli(argv, 2)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(min_size=1, max_size=12).filter(lambda t: not t.startswith("-")))
def test_random_text_as_a_number(cli, text):
    """Any text for --alpha: a number in range solves (exit 0, or 1 if the solver reports
    a failure), anything else is exit 2 with one line."""
    try:
        value = float(text)
        valid = math.isfinite(value) and PARAMETER_RANGES["alpha"].contains(value)
    except ValueError:
        valid = False
    argv = ["solve", *with_value("alpha", text)]
    if valid:
        cli(argv, 0 if _solves(argv) else 1)
    else:
        cli(argv, 2)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(sorted(PARAMETER_RANGES)),
       value=st.floats(allow_nan=True, allow_infinity=True))
def test_random_float_for_any_parameter(cli, name, value):
    """Out of range: exit 2 naming the parameter; in range: a result without NaN, or
    exit 1 if the solver reports a failure."""
    rule = PARAMETER_RANGES[name]
    argv = ["solve", *with_value(name, repr(value))]
    if math.isfinite(value) and rule.contains(value):
        cli(argv, 0 if _solves(argv) else 1)
    else:
        _, err = cli(argv, 2)
        assert f"{name} = " in err


def _solves(argv):
    from symrep.errors import SolverError
    from symrep.solvers import solve

    it = iter(argv[1:])
    params = {k.lstrip("-"): float(v) for k, v in zip(it, it, strict=True)}
    try:
        solve(**params)
    except SolverError:
        return False
    return True


# --- output paths, checked before any work -----------------------------------------------

@pytest.fixture
def places(tmp_path):
    """An existing file, an existing folder, a folder named like an output file."""
    (tmp_path / "a-file").write_text("keep me\n")
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "x.csv").mkdir()
    (tmp_path / "x.png").mkdir()
    return tmp_path


SWEEP_OUTS = ["missing/sw.csv", "/proc/x.csv", "a-folder", "x.csv", "sw.txt", "sw", "",
              "missing/sw.nc", "/proc/x.nc", "a-file", "sw.CSV.bak"]


@pytest.mark.parametrize("out", SWEEP_OUTS)
def test_sweep_unusable_out_is_exit_2_before_work(cli, places, out):
    _, err = cli(["sweep", "--alpha", "0.5:3:50", "--beta", "0.5", "--lam", "1",
                  "--out", out], 2)
    assert "out" in err
    assert (places / "a-file").read_text() == "keep me\n"


PHASE_OUTS = [["--out", "missing/pd.png"], ["--out", "/proc/pd.png"], ["--out", "a-folder"],
              ["--out", "x.png"], ["--out", "pd.xyz"], ["--out", ""]] + [
    ["--out", "pd.png", "--data", data]
    for data in ("pd.csv", "missing/d.nc", "/proc/d.nc", "a-folder", "pd.png")]


@pytest.mark.parametrize("outs", PHASE_OUTS, ids=[" ".join(o) for o in PHASE_OUTS])
def test_phase_diagram_unusable_out_is_exit_2(cli, places, outs):
    cli(["phase-diagram", "--alpha", "0.5:3:4", "--beta", "0.2:2:4", *outs], 2)


@pytest.mark.parametrize("command, out", [
    ("derive", "a-file"), ("derive", "/proc/derivations"), ("derive", ""),
    ("compare", "a-file"), ("compare", "/proc/results"), ("compare", ""),
    ("figures", "a-file"), ("figures", "/proc/figures"), ("figures", ""),
])
def test_folder_outputs_unusable_is_exit_2(cli, places, command, out):
    extra = {"compare": ["--quick"], "figures": ["--quick", "--only", "fig3_phase_diagram"],
             "derive": []}[command]
    cli([command, *extra, "--out", out], 2)
    assert (places / "a-file").read_text() == "keep me\n"


def test_figures_output_file_taken_by_a_folder(cli, places):
    (places / "figs" / "fig3_phase_diagram.png").mkdir(parents=True)
    cli(["figures", "--quick", "--only", "fig3_phase_diagram", "--out", "figs"], 2)


def test_derive_pdf_without_pdflatex_writes_the_tex_then_exits_2(tmp_path, monkeypatch,
                                                                  capsys):
    # pdflatex missing is the user's environment (exit 2), not a failed computation: the
    # .tex files are written first, and the one error line says how to install pdflatex.
    # PATH holds a folder without pdflatex; two steps of the derivation keep it fast.
    import itertools

    import symrep.derive

    bare = tmp_path / "bin"
    bare.mkdir()
    monkeypatch.setenv("PATH", str(bare))
    steps = symrep.derive.iter_steps
    monkeypatch.setattr(symrep.derive, "iter_steps",
                        lambda model=None: itertools.islice(steps(model), 2))
    monkeypatch.chdir(tmp_path)
    rc = main(["derive", "--pdf", "--out", "new-folder"])
    out, err = capsys.readouterr()
    assert rc == 2 and "Traceback" not in err, err
    error = [line for line in err.splitlines() if not line.startswith("# ")]
    assert len(error) == 1 and error[0].startswith("symrep derive: error:"), err
    assert "pdflatex" in error[0] and "texlive-latex-base" in error[0], err
    written = sorted(p.name for p in (tmp_path / "new-folder").iterdir())
    assert written == ["01_objective.tex", "02_local_fields.tex", "main.tex"], written
    assert out.split() == [str(Path("new-folder", name)) for name in written]
    assert not (tmp_path / "new-folder" / "main.pdf").exists()


# --- jobs too large for the memory or time at hand ---------------------------------------

TOO_LARGE = [
    ["phase-diagram", "--alpha", "0.1:5:10000", "--beta", "0.1:3:10000", "--out", "pd.png"],
    ["phase-diagram", "--alpha", "log:0.1:5:100000", "--beta", "0.1:3:1000", "--out", "pd.pdf"],
    ["sweep", "--alpha", "0.1:5:10000", "--beta", "0.1:3:10000", "--lam", "1", "--out", "s.csv"],
    ["sweep", "--alpha", "0.1:5:1000", "--beta", "0.1:3:1000", "--lam", "0:1:100",
     "--out", "s.nc"],
    ["sweep", "--alpha", "0.1:5:100000000000", "--beta", "1", "--lam", "1", "--out", "s.csv"],
    ["simulate", "--N", "100", *with_value("", ""), "--seeds", "100000000000"],
    ["simulate", "--N", "100000", "--alpha", "1000", "--beta", "0.5", "--lam", "1"],
    ["simulate", "--N", str(10**30), *with_value("", "")],
    ["simulate", "--N", "20000", *with_value("", ""), "--method", "lbfgs"],
    ["simulate", "--N", "3000", *with_value("", ""), "--method", "adam", "--seeds", "50"],
    ["compare", "--quick", "--N", "100000", "--out", "res"],
    ["compare", "--quick", "--seeds", "100000000", "--out", "res"],
    ["compare", "--quick", "--N", "20000", "--out", "res", "--finite-size"],
    ["figures", "--N", "100000", "--out", "figs"],
    ["figures", "--quick", "--seeds", "100000000", "--out", "figs"],
    ["figures", "--N", "20000", "--only", "fig3_phase_diagram", "--out", "figs"],
]


@pytest.mark.parametrize("argv", TOO_LARGE, ids=[" ".join(a[:3]) + "..." for a in TOO_LARGE])
def test_too_large_is_refused_before_work(cli, argv):
    start = time.perf_counter()
    _, err = cli(argv, 2)
    assert "needs about" in err and "--force" in err
    assert "memory" in err and ("can be used" in err or "time budget" in err)
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("budget", ["abc", "0", "-1", "nan", "1e-9"])
def test_time_budget_from_the_environment(cli, monkeypatch, budget):
    monkeypatch.setenv("SYMREP_TIME_BUDGET", budget)
    _, err = cli(["sweep", "--alpha", "0.5:3:20", "--beta", "0.5", "--lam", "1",
                  "--out", "sw.csv"], 2)
    assert "SYMREP_TIME_BUDGET" in err


def test_force_runs_what_the_budget_refuses(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("SYMREP_TIME_BUDGET", "1e-9")
    argv = ["sweep", "--alpha", "0.5:3:5", "--beta", "0.5", "--lam", "1", "--out", "sw.csv"]
    cli(argv, 2)
    cli([*argv, "--force"], 0)
    assert (tmp_path / "sw.csv").is_file()


# --- failures of the computation ---------------------------------------------------------

#: Points inside the ranges where the solver reports no solution (small alpha and beta
#: with a weight decay far from the other scales, as benchmarks/solver_range.py finds):
#: exit 1, one line, never NaN. (The points used before, alpha ~ 1e-6 and beta ~ 3.5e5
#: without weight decay, are solved since the compiled code: a collapsed state, eg =
#: rho, as the closed forms say.)
SOLVER_FAILURES = [dict(alpha="1.9e-06", beta="5e-06", lam="39", rho="84", eta="217"),
                   dict(alpha="3.53e-06", beta="1.05e-06", lam="19.6", rho="57.4", eta="484")]


@pytest.mark.parametrize("point", SOLVER_FAILURES, ids=lambda p: p["alpha"])
def test_solver_failure_is_exit_1(cli, point):
    _, err = cli(["solve", *itertools.chain(*((f"--{k}", v) for k, v in point.items()))], 1)
    assert "no stationary branch" in err


@pytest.mark.parametrize("point", SOLVER_FAILURES, ids=lambda p: p["alpha"])
def test_sweep_with_a_failing_point_is_exit_1_and_writes_nothing(cli, point):
    argv = ["sweep", *itertools.chain(*((f"--{k}", v) for k, v in point.items()))]
    cli([*argv, "--out", "sw.csv"], 1)
    out, _ = cli([*argv, "--out", "sw.csv", "--keep-going"], 0)  # kept, flagged
    assert "0 converged" in out


def test_debug_gives_the_traceback(monkeypatch):
    monkeypatch.setenv("SYMREP_DEBUG", "1")
    with pytest.raises(ValueError, match="alpha"):
        main(["solve", "--alpha", "0", "--beta", "1", "--lam", "1"])


# --- extreme but valid input: results, never NaN -----------------------------------------

CORNERS = [dict(zip(BASE, c, strict=True)) for c in itertools.product(
    *[(repr(PARAMETER_RANGES[n].low), repr(PARAMETER_RANGES[n].high)) for n in BASE])]
CORNERS += [dict(c, lam="1e-300") for c in CORNERS if c["lam"] == "0.0"]  # tiny, not zero


@pytest.mark.parametrize("point", CORNERS, ids=lambda p: ",".join(p.values()))
def test_solve_at_every_corner_of_the_ranges(cli, point):
    argv = ["solve", "--json", *itertools.chain(*((f"--{k}", v) for k, v in point.items()))]
    out, _ = cli(argv, 0)  # the fixture rejects NaN in the output
    assert '"converged": true' in out


EXTREME_SWEEPS = [
    ["--alpha", "1e-6,1e8", "--beta", "1e-6,1e6", "--lam", "0,1e6", "--rho", "1e-4,1e4",
     "--eta", "1e-4,1e4"],
    ["--alpha", "log:1e-6:1e8:15", "--beta", "0.5", "--lam", "0"],
    ["--alpha", "2", "--beta", "log:1e-6:1e6:13", "--lam", "1", "--eta", "1e4"],
]


@pytest.mark.parametrize("grid", EXTREME_SWEEPS, ids=lambda g: " ".join(g[:4]))
@pytest.mark.parametrize("suffix", [".csv", ".nc"])
def test_sweep_at_extremes_writes_complete_files(cli, tmp_path, grid, suffix):
    out, _ = cli(["sweep", *grid, "--out", f"sw{suffix}"], 0)
    assert "points" in out
    check_sweep_file(tmp_path / f"sw{suffix}")


def check_sweep_file(path):
    import numpy as np

    if path.suffix == ".csv":
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert rows
        for row in rows:
            for name in ("alpha", "beta", "lam", "rho", "eta", "eg", "free_energy"):
                assert math.isfinite(float(row[name])), (name, row)
            assert row["phase"] in ("learning", "overfitting", "regularized")
    else:
        import xarray as xr

        with xr.open_dataset(path) as ds:
            ds.load()
        assert np.all(np.isfinite(ds["eg"].values))
        for name in ("alpha", "beta", "lam", "rho", "eta"):
            assert name in ds.coords


def test_sweep_of_one_point_to_csv_has_every_parameter_and_the_phase_name(cli, tmp_path):
    cli(["sweep", "--alpha", "2", "--beta", "0.5", "--lam", "1", "--out", "sw.csv"], 0)
    with open(tmp_path / "sw.csv", newline="") as fh:
        (row,) = list(csv.DictReader(fh))
    assert [row[k] for k in ("alpha", "beta", "lam", "rho", "eta")] == \
        ["2.0", "0.5", "1.0", "1.0", "1.0"]
    assert row["phase"] == "learning"  # alpha = 2, beta = 0.5, lam = 1: the learning phase


@pytest.mark.parametrize("fixed", [["--lam", "0"], ["--lam", "1e6", "--rho", "1e4"],
                                   ["--eta", "1e-4", "--rho", "1e4"], ["--lam", "1e-3"]],
                         ids=lambda f: " ".join(f))
def test_phase_diagram_at_extremes(cli, tmp_path, fixed):
    """A figure and its data, or exit 1 exactly when the solver reports a failure on the
    grid (it does at alpha = 1e-6, beta = 1e6 without weight decay)."""
    import numpy as np

    from symrep.solvers import solve_arrays

    alpha, beta = np.geomspace(1e-6, 1e8, 4), np.geomspace(1e-6, 1e6, 3)
    it = iter(fixed)
    params = {"lam": 1.0, **{k.lstrip("-"): float(v) for k, v in zip(it, it, strict=True)}}
    solvable = solve_arrays(alpha[:, None], beta[None, :], **params,
                            errors="mask")["converged"].all()
    cli(["phase-diagram", "--alpha", "log:1e-6:1e8:4", "--beta", "log:1e-6:1e6:3", *fixed,
         "--out", "pd.png", "--data", "pd.nc"], 0 if solvable else 1)
    if solvable:
        png = (tmp_path / "pd.png").read_bytes()
        assert png.startswith(b"\x89PNG") and png.endswith(b"IEND\xaeB`\x82")
        check_sweep_file(tmp_path / "pd.nc")


SIMULATE_EXTREMES = [dict(zip(BASE, c, strict=True)) for c in itertools.product(
    ("1e-06", "3"), ("1e-06", "1000000"), ("0", "1000000"), ("0.0001", "10000"),
    ("0.0001", "10000"))][::3]


@pytest.mark.parametrize("point", SIMULATE_EXTREMES, ids=lambda p: ",".join(p.values()))
def test_simulate_exact_at_extremes(cli, point):
    out, _ = cli(["simulate", "--N", "8", "--seeds", "2", "--json",
                  *itertools.chain(*((f"--{k}", v) for k, v in point.items()))], 0)
    assert '"runs"' in out


@pytest.mark.parametrize("point", [dict(alpha="5", beta="1e6", lam="1e6", rho="1e4", eta="1e4"),
                                   dict(alpha="1e-6", beta="1e6", lam="0", rho="1e-4",
                                        eta="1e-4")],
                         ids=["collapsed", "one-sample"])
def test_simulate_lbfgs_at_extremes(cli, point):
    """Where log D of the trained model is extreme: finite observables, no domain error."""
    out, _ = cli(["simulate", "--N", "4", "--seeds", "1", "--method", "lbfgs",
                  *itertools.chain(*((f"--{k}", v) for k, v in point.items()))], 0)
    assert "mean" in out


# --- real processes ----------------------------------------------------------------------

def run_module(args, cwd, env=None):
    env = {**os.environ, "SYMREP_TIME_BUDGET": "600", **(env or {})}
    env.pop("SYMREP_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "symrep", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


SUBPROCESS_CASES = [
    (["solve", "--alpha", "1e308", "--beta", "0.5", "--lam", "1"], 2, "alpha = 1e+308"),
    (["solve", "--alpha", "1e400", "--beta", "0.5", "--lam", "1"], 2, "alpha = inf"),
    (["solve", *itertools.chain(*((f"--{k}", v) for k, v in SOLVER_FAILURES[0].items()))], 1,
     "no stationary branch"),
    (["sweep", "--alpha", "0.5:3:5", "--beta", "0.5", "--lam", "1", "--out", "nowhere/s.csv"],
     2, "does not exist"),
    (["sweep", "--alpha", "0.5:3:5", "--beta", "0.5", "--lam", "1", "--out", "/proc/x.csv"],
     2, "/proc"),
    (["sweep", "--alpha", "0.5:3:5", "--beta", "0.5", "--lam", "1", "--out", "a-folder"], 2,
     "out = 'a-folder'"),
    (["derive", "--out", "a-file"], 2, "is a file"),
    (["phase-diagram", "--alpha", "0.1:5:10000", "--beta", "0.1:3:10000", "--out", "p.png"],
     2, "--force"),
    (["simulate", "--N", "100", "--alpha", "2", "--beta", "0.5", "--lam", "1",
      "--seeds", "100000000000"], 2, "--force"),
    (["simulate", "--N", "100000", "--alpha", "1000", "--beta", "0.5", "--lam", "1"], 2,
     "--force"),
    (["figures", "--out", "a-file"], 2, "is a file"),
    (["compare", "--out", "a-file"], 2, "is a file"),
    (["sweep", "--alpha", "2", "--beta", "0.5", "--lam", "1", "--out", "sw.csv"], 0, ""),
]


@pytest.mark.parametrize("args, status, needle", SUBPROCESS_CASES,
                         ids=[" ".join(a[:2]) + f" -> {s}" for a, s, _ in SUBPROCESS_CASES])
def test_subprocess_exit_status_and_one_line(places, args, status, needle):
    before = snapshot(places)
    proc = run_module(args, places)
    assert proc.returncode == status, proc.stderr
    assert "Traceback" not in proc.stderr
    if status:
        assert len(proc.stderr.splitlines()) == 1, proc.stderr
        assert needle in proc.stderr
        assert snapshot(places) == before
    else:
        assert proc.stderr == ""
        check_sweep_file(places / "sw.csv")
    assert not temporary_files(places)


def _deliver_sigint():
    """In the child before exec: SIGINT at its default, as in a terminal. A test run
    started in the background of a non-interactive shell ignores SIGINT, and Python
    started with SIGINT ignored keeps ignoring it (the command would never see Ctrl-C)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_sigint_exits_130_with_one_line_and_leaves_nothing(tmp_path):
    """Ctrl-C while simulating: status 130, one line, no partial file."""
    env = {**os.environ, "SYMREP_TIME_BUDGET": "600"}
    env.pop("SYMREP_DEBUG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "symrep", "figures", "--quick", "--only", "fig2_middle",
         "--out", "figs"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, preexec_fn=_deliver_sigint)
    try:
        first = proc.stdout.readline()  # printed when the work starts
        assert first.startswith("# 1 figure(s)"), first
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert err.splitlines() == ["symrep figures: interrupted"], err
    assert snapshot(tmp_path / "figs") == []
