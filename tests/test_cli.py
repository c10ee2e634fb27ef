"""The command line: subcommands are listed, bad input is one line and exit status 2."""

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


def test_help_starts_nearly_as_fast_as_python():
    """`symrep --help` in a fresh process: at most 1.5 times `python -c pass` plus 0.1 s
    (the fastest of five runs of each, so that other load on the machine does not count)."""
    import time

    def fastest(argv):
        times = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run(argv, capture_output=True, timeout=60, check=True)
            times.append(time.perf_counter() - start)
        return min(times)

    bare = fastest([sys.executable, "-c", "pass"])
    helped = fastest([sys.executable, "-m", "symrep", "--help"])
    assert helped <= 1.5 * bare + 0.1, (helped, bare)
