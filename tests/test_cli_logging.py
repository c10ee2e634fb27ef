"""The command line's logging (-v/-q) and --device: quiet silences the INFO lines and
the report lines, verbose adds DEBUG lines, a failure is still one stderr line."""

import json
import logging
import subprocess
import sys

import pytest
import torch

from symrep.cli import main
from symrep.progress import configure_logging, progress_enabled

SIMULATE = ["simulate", "--N", "20", "--alpha", "1", "--beta", "1", "--lam", "1",
            "--seeds", "2", "--method", "lbfgs"]


def run_module(*args):
    return subprocess.run([sys.executable, "-m", "symrep", *args], capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def fake_compare(monkeypatch):
    """``symrep compare`` without its simulations: one report line per point, an INFO
    and a DEBUG line from a symrep module."""
    import matplotlib

    import symrep.compare

    matplotlib.use("Agg")

    def fake_comparison(alphas, betas, *, log, **kwargs):
        import matplotlib.pyplot as plt

        log("learning_curve: 1/1 exact alpha=1 beta=0.5 lam=1 (0.1 s)")
        logging.getLogger("symrep.compare").info("an info line")
        logging.getLogger("symrep.compare").debug("a debug line")
        fig = plt.figure(figsize=(2, 2))
        return fig, [dict(beta=0.5, alpha=1.0, method="exact", theory=1.0, mean=1.0,
                          sem=0.1)]

    monkeypatch.setattr(symrep.compare, "learning_curve_comparison", fake_comparison)
    yield
    configure_logging(0)
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.mark.parametrize("flags, report, info, debug", [
    ([], True, True, False),
    (["-q"], False, False, False),
    (["--quiet"], False, False, False),
    (["-v"], True, True, True),
])
@pytest.mark.parametrize("after", [False, True])
def test_verbosity_of_compare(tmp_path, capsys, fake_compare, flags, report, info, debug,
                              after):
    argv = ["compare", "--quick", "--out", str(tmp_path)]
    assert main(argv + flags if after else flags + argv) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert (lines[0] == "# learning_curve: 1/1 exact alpha=1 beta=0.5 lam=1 (0.1 s)") is report
    assert any(line.startswith("figure: ") for line in lines)  # the report itself stays
    assert ("# an info line" in err.splitlines()) is info
    assert ("# debug: a debug line" in err.splitlines()) is debug
    if not (info or debug):
        assert err == ""


def test_quiet_turns_progress_bars_off(monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    try:
        configure_logging(0)
        assert progress_enabled()
        configure_logging(-1)
        assert not progress_enabled()
        assert progress_enabled(True)  # an explicit choice is kept
    finally:
        configure_logging(0)


def test_configure_logging_rejects_unknown_verbosity():
    with pytest.raises(ValueError, match="verbosity"):
        configure_logging(2)


def test_verbose_and_quiet_together_are_one_error_line():
    for argv in (["-v", "-q", *SIMULATE], ["-v", *SIMULATE, "-q"]):
        out = run_module(*argv)
        assert out.returncode == 2 and out.stdout == ""
        assert len(out.stderr.strip().splitlines()) == 1
        assert "-q/--quiet" in out.stderr and "Traceback" not in out.stderr


def test_simulate_verbose_logs_training_and_keeps_json(capsys):
    try:
        assert main(["-v", *SIMULATE, "--device", "cpu", "--json"]) == 0
        out, err = capsys.readouterr()
        assert json.loads(out)["method"] == "lbfgs"  # stdout stays JSON
        # each data set is one grid task (symrep.grid): one run per training call
        assert any(line.startswith("# debug: lbfgs: 1 run(s), N = 20")
                   for line in err.splitlines()), err
        assert main([*SIMULATE, "--json", "-q"]) == 0
        assert capsys.readouterr().err == ""
    finally:
        configure_logging(0)


def test_failure_is_one_line_in_verbose_mode():
    out = run_module("-v", "simulate", "--N", "0", "--alpha", "1", "--beta", "1", "--lam", "1")
    assert out.returncode == 2 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "N = 0" in lines[0]


@pytest.mark.parametrize("argv", [
    SIMULATE,
    ["compare", "--quick", "--N", "20"],
    ["figures", "--quick", "--only", "fig2_right"],
    ["realdata", "--quick"],
])
@pytest.mark.parametrize("device", ["cuda", "tpu-or-so"])
def test_bad_device_is_one_line_exit_2(tmp_path, capsys, argv, device):
    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("a CUDA device is available")
    extra = [] if argv[0] == "simulate" else ["--out", str(tmp_path / "out")]
    assert main([*argv, *extra, "--device", device]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"symrep {argv[0]}: error: device = {device!r} is invalid: " + (
            "no CUDA device is available" if device == "cuda" else
            "expected 'cpu', 'cuda', 'cuda:0', ... or a torch.device")]
    assert not (tmp_path / "out").exists()  # refused before anything is made


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_simulate_on_cuda_matches_cpu():
    argv = ["simulate", "--N", "60", "--alpha", "2", "--beta", "0.5", "--lam", "0.5",
            "--seeds", "2", "--method", "lbfgs", "--json"]
    cpu, gpu = (run_module(*argv, "--device", d) for d in ("cpu", "cuda"))
    assert cpu.returncode == 0 and gpu.returncode == 0, gpu.stderr
    for a, b in zip(json.loads(cpu.stdout)["runs"], json.loads(gpu.stdout)["runs"],
                    strict=True):
        assert a["eg"] == pytest.approx(b["eg"], abs=1e-6)
