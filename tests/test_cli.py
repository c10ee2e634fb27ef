"""The command line: subcommands are listed, bad input is one line and exit status 2."""

import os
import subprocess
import sys

import pytest

from symrep.cli import main

SUBCOMMANDS = ["solve", "sweep", "phase-diagram", "derive", "simulate", "figures"]


def run_module(*args):
    return subprocess.run(
        [sys.executable, "-m", "symrep", *args], capture_output=True, text=True, timeout=120
    )


def test_help_lists_subcommands():
    out = run_module("--help")
    assert out.returncode == 0
    for name in SUBCOMMANDS:
        assert name in out.stdout


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["solve", "--alpha", "-1", "--beta", "1", "--lam", "1"], "alpha = -1.0"),
        (["solve", "--alpha", "1", "--beta", "nan", "--lam", "1"], "beta = nan"),
        (["solve", "--alpha", "1", "--beta", "1", "--lam", "-2"], "lam = -2.0"),
        (["solve", "--alpha", "1", "--beta", "1", "--lam", "1", "--rho", "inf"], "rho = inf"),
        (["solve", "--alpha", "1", "--beta", "1", "--lam", "1", "--eta", "0"], "eta = 0.0"),
        (["solve", "--alpha", "abc", "--beta", "1", "--lam", "1"], "--alpha"),
        (["solve", "--beta", "1", "--lam", "1"], "--alpha"),
        (["simulate", "--N", "0", "--alpha", "1", "--beta", "1", "--lam", "1"], "N = 0"),
        (
            ["simulate", "--N", "10", "--alpha", "1", "--beta", "1", "--lam", "1", "--seeds", "-3"],
            "seeds = -3",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(argv, needle):
    out = run_module(*argv)
    assert out.returncode == 2, out.stderr
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert needle in lines[0]
    assert "Traceback" not in out.stderr


def test_main_returns_exit_status_in_process(capsys):
    assert main(["solve", "--alpha", "0", "--beta", "1", "--lam", "1"]) == 2
    assert "alpha = 0.0" in capsys.readouterr().err


def test_cli_module_imports_without_numpy():
    """The `symrep` script imports symrep.cli before main() can catch Ctrl-C: that import
    must stay small (no NumPy), so the window without the one-line contract is short."""
    code = "import sys, symrep.cli; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("argv, shown", [(["--help"], "phase-diagram"),
                                         (["sweep", "--help"], "[1e-6, 1e8]"),
                                         (["simulate", "--help"], "[1e-6, 1e8]")])
def test_help_does_not_import_numpy(argv, shown):
    """The help shows the parameter ranges (symrep.validation) without loading NumPy,
    which used to be about 85 % of the time of `symrep --help`."""
    code = ("import sys\nfrom symrep.cli import main\ntry:\n    main(sys.argv[1:])\n"
            "except SystemExit:\n    pass\nprint('numpy' in sys.modules, file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True,
                         text=True, timeout=60)
    assert shown in out.stdout  # the commands, the ranges
    assert out.stderr.strip() == "False"


# --- bounded work, checked paths and devices: refused before any work (exit 2) -----------

def _one_error_line(capsys, command):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"symrep {command}: error: "), err
    assert "Traceback" not in err
    return err


def test_a_multi_line_error_message_is_one_stderr_line(monkeypatch, capsys):
    import symrep.cli as cli

    def fails(args):
        raise ValueError("first line\nsecond line\n\n  third")

    monkeypatch.setattr(cli, "_cmd_solve", fails)
    assert main(["solve", "--alpha", "1", "--beta", "1", "--lam", "1"]) == 2
    err = _one_error_line(capsys, "solve")
    assert "first line second line third" in err


@pytest.mark.parametrize("argv, command", [
    (["simulate", "--alpha", "1", "--beta", "0.5", "--lam", "1", "--N", "1",
      "--seeds", "1000000000"], "simulate"),
    (["simulate", "--alpha", "1", "--beta", "0.5", "--lam", "1", "--N", "1",
      "--seeds", "10000000"], "simulate"),
    (["compare", "--quick", "--seeds", "10000000", "--N", "2"], "compare"),
    (["realdata", "--quick", "--seeds", "100000"], "realdata"),
])
def test_unbounded_jobs_are_refused_before_work(tmp_path, capsys, argv, command):
    out = tmp_path / "out"
    assert main([*argv, *(["--out", str(out)] if command != "simulate" else [])]) == 2
    err = _one_error_line(capsys, command)
    assert "needs about" in err and "--force" in err
    assert not out.exists()  # nothing made, not even the folder


def test_a_sweep_over_the_time_budget_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SYMREP_TIME_BUDGET", "60")
    out = tmp_path / "F.csv"
    assert main(["sweep", "--alpha", "1:2:3000", "--beta", "1:2:3000", "--lam", "1",
                 "--out", str(out)]) == 2
    err = _one_error_line(capsys, "sweep")
    assert "9,000,000 points" in err and "--force" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [
    ["simulate", "--alpha", "1", "--beta", "0.5", "--lam", "1", "--N", "1",
     "--seeds", "1000000000"],
    ["simulate", "--alpha", "1", "--beta", "0.5", "--lam", "1", "--N", "1",
     "--seeds", "1000000000", "--method", "lbfgs"],
    ["compare", "--quick", "--seeds", "10000000", "--N", "2", "--out", "OUT"],
    ["realdata", "--quick", "--seeds", "100000", "--out", "OUT"],
    ["figures", "--seeds", "100000", "--out", "OUT"],
    ["sweep", "--alpha", "1:2:30000", "--beta", "1:2:3000", "--lam", "1", "--out", "OUT.csv"],
    ["phase-diagram", "--alpha", "0.1:2:10000", "--beta", "0.1:2:10000", "--out", "OUT.png"],
])
def test_refusal_comes_before_the_heavy_imports(tmp_path, argv):
    """A job too large is refused from its arguments alone: torch (seconds to load), the
    Dask cluster and SymPy are not imported on the way to the refusal."""
    argv = [a.replace("OUT", str(tmp_path / "out")) for a in argv]
    code = ("import sys\nfrom symrep.cli import main\nstatus = main(sys.argv[1:])\n"
            "print(status, *sorted(m for m in ('torch', 'distributed', 'sympy') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True,
                         text=True, timeout=120, env={**os.environ, "SYMREP_TIME_BUDGET": "3600"})
    assert out.stdout.split() == ["2"], (out.stdout, out.stderr)
    assert len(out.stderr.splitlines()) == 1 and "--force" in out.stderr, out.stderr
    assert list(tmp_path.iterdir()) == []


def test_long_jobs_report_progress_on_stderr(caplog):
    import logging

    from symrep.cli import _progress_lines
    from symrep.resources import Estimate

    assert _progress_lines(10, "points", Estimate("x", 0.0, 1.0)) is None  # short: none
    with caplog.at_level(logging.INFO, logger="symrep.progress"):
        step = _progress_lines(3, "points", Estimate("x", 0.0, 100.0))
        for _ in range(3):
            step()
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("3 points, expected to take about 1.7 min")
    assert lines[-1].startswith("3 of 3 points done")


def test_large_csv_is_written_in_chunks_with_progress(tmp_path, monkeypatch, caplog):
    """A table is written chunk by chunk, with progress lines, to a temporary name renamed
    at the end; the file is the one a single to_csv writes."""
    import logging

    import numpy as np
    import pandas as pd

    import symrep.cli as cli
    import symrep.resources as resources

    monkeypatch.setattr(cli, "CSV_CHUNK_ROWS", 7)
    monkeypatch.setattr(resources, "_CSV_SECONDS", 1.0)  # long enough to show progress
    monkeypatch.setattr(cli, "PROGRESS_EVERY", 0.0)
    table = pd.DataFrame({"alpha": np.linspace(0.1, 5, 50), "eg": np.arange(50) / 3.0})
    out = tmp_path / "t.csv"
    with caplog.at_level(logging.INFO, logger="symrep.progress"):
        cli._write_csv(table, out)
    table.to_csv(tmp_path / "one.csv", index=False)
    assert out.read_bytes() == (tmp_path / "one.csv").read_bytes()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 + 8 and lines[-1].startswith("50 of 50 rows written"), lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.csv", "t.csv"]


@pytest.mark.parametrize("length", [238, 250, 255, 300])
def test_sweep_out_name_too_long_for_its_temporary_twin(tmp_path, capsys, length):
    name = "a" * (length - 4) + ".csv"
    assert main(["sweep", "--alpha", "1:2:3000", "--beta", "1", "--lam", "1",
                 "--out", str(tmp_path / name)]) == 2
    assert "bytes" in _one_error_line(capsys, "sweep")
    assert list(tmp_path.iterdir()) == []


def test_sweep_out_name_at_the_limit_is_written(tmp_path, capsys):
    out = tmp_path / ("a" * 233 + ".csv")  # 237 bytes: its temporary twin has 255
    assert main(["sweep", "--alpha", "1", "--beta", "0.5", "--lam", "1",
                 "--out", str(out)]) == 0
    assert out.exists() and [p.name for p in tmp_path.iterdir()] == [out.name]


@pytest.mark.parametrize("where", ["proc", "under a file", "too long", "a file"])
def test_unusable_store_is_bad_input_before_work(tmp_path, capsys, where):
    afile = tmp_path / "afile"
    afile.write_text("")
    store = {"proc": "/proc/symrep-store", "under a file": str(afile / "store"),
             "too long": str(tmp_path / ("s" * 300)), "a file": str(afile)}[where]
    assert main(["simulate", "--alpha", "1", "--beta", "0.5", "--lam", "1", "--N", "2",
                 "--seeds", "2", "--store", store]) == 2
    assert "store = " in _one_error_line(capsys, "simulate")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_cpu_device_with_an_index_is_refused(capsys):
    assert main(["simulate", "--alpha", "1", "--beta", "0.5", "--lam", "1", "--N", "2",
                 "--seeds", "2", "--method", "lbfgs", "--device", "cpu:7"]) == 2
    assert "device = 'cpu:7'" in _one_error_line(capsys, "simulate")


def test_phase_diagram_out_format_or_name_unusable(tmp_path, capsys):
    import shutil

    argv = ["phase-diagram", "--alpha", "0.5:2:3", "--beta", "0.5:1:2", "--out"]
    if shutil.which("xelatex") is None:  # .pgf needs a TeX installation
        assert main([*argv, str(tmp_path / "x.pgf")]) == 2
        assert ".pgf" not in _one_error_line(capsys, "phase-diagram").split("end in")[1]
    assert main([*argv, str(tmp_path / ("b" * 300 + ".png"))]) == 2
    _one_error_line(capsys, "phase-diagram")
    assert list(tmp_path.iterdir()) == []


def test_phase_diagram_continued_boundaries_are_one_units(tmp_path, capsys):
    """--boundaries continuation is for one unit of the default model: with a model or
    several units it is bad input (exit 2, one line), before any solving; an unknown
    method is argparse's error."""
    argv = ["phase-diagram", "--alpha", "0.5:2:3", "--beta", "0.5:1:2", "--boundaries",
            "continuation", "--out", str(tmp_path / "pd.png")]
    assert main([*argv, "--model", "learned-variance"]) == 2
    assert "boundary_method" in _one_error_line(capsys, "phase-diagram")
    assert main([*argv, "--M", "2", "--rho", "2,0.7"]) == 2
    assert "boundaries" in _one_error_line(capsys, "phase-diagram")
    with pytest.raises(SystemExit):
        main(["phase-diagram", "--alpha", "0.5:2:3", "--beta", "0.5:1:2", "--boundaries",
              "spline", "--out", str(tmp_path / "pd.png")])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_phase_diagram_with_continued_boundaries(tmp_path, capsys):
    out = tmp_path / "pd.png"
    assert main(["phase-diagram", "--alpha", "0.3:5:12", "--beta", "0.05:3:12",
                 "--boundaries", "continuation", "--out", str(out)]) == 0
    line = capsys.readouterr().out
    assert out.exists() and "learning|regularized" in line and "learning|overfitting" in line
