"""symrep figures: the registry, the command line and the reusable simulation tables."""

import csv
import subprocess
import sys

import pytest

from symrep import solve
from symrep.cli import main
from symrep.figures import FIGURES, check_names, figure_names, generate
from symrep.figures.core import (
    SIZES,
    Size,
    load_points,
    measured_phase,
    simulation_points,
    size_from_env,
)

ALL = ["fig2_left", "fig2_middle", "fig2_right", "fig3_phase_diagram",
       "fig4_rate_distortion", "figE1_no_weight_decay"]
#: The cheapest figure: a few points at N = 300.
CHEAP = "fig2_right"
TINY = Size("quick", N=40, seeds=2)


def test_registry_lists_all_six():
    assert figure_names() == ALL
    for name, spec in FIGURES.items():
        assert callable(spec.load()), name
        assert spec.load().__doc__, name


def test_list_option(capsys):
    assert main(["figures", "--list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == ALL


def test_cli_writes_one_figure(tmp_path, capsys):
    out = tmp_path / "figs"
    assert main(["figures", "--quick", "--out", str(out), "--only", CHEAP]) == 0
    png, table = out / f"{CHEAP}.png", out / f"{CHEAP}.csv"
    assert png.stat().st_size > 10_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert str(png) in printed and str(table) in printed
    with open(table, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["method"] for r in rows} == {"exact", "lbfgs"}
    assert all(r["N"] == "300" and r["seeds"] == "2" for r in rows)
    for r in rows:  # the trained models reach the exact optimum
        twin = next(s for s in rows if s["method"] == "exact" and s["alpha"] == r["alpha"]
                    and s["beta"] == r["beta"])
        assert float(r["kl_posterior_mean"]) == pytest.approx(
            float(twin["kl_posterior_mean"]), rel=1e-4, abs=1e-8)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "symrep", "figures", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("argv, needle", [
    (["--only", "fig9"], "'fig9' is unknown"),
    (["--only", "fig2_middle,nope"], "'nope' is unknown"),
    (["--quick", "--N", "0", "--only", CHEAP], "N = 0"),
    (["--quick", "--seeds", "-1", "--only", CHEAP], "seeds = -1"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, argv, needle):
    out = run_cli("--out", str(tmp_path), *argv)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert needle in lines[0]
    assert "Traceback" not in out.stderr
    assert not list(tmp_path.glob("*.png"))


def test_unwritable_out_is_one_line_exit_2(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(["figures", "--quick", "--out", str(blocker / "sub"), "--only", CHEAP]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "out = " in err[0] and "is not usable" in err[0]


def test_check_names():
    assert check_names(None) == ALL
    assert check_names(["fig3_phase_diagram,fig2_left"]) == ["fig2_left", "fig3_phase_diagram"]
    with pytest.raises(ValueError, match="choose from fig2_left"):
        check_names(["x"])


def test_size_from_env(monkeypatch):
    monkeypatch.delenv("SYMREP_QUICK", raising=False)
    assert size_from_env() == SIZES["quick"]
    monkeypatch.setenv("SYMREP_QUICK", "0")
    assert size_from_env() == SIZES["full"]
    monkeypatch.setenv("SYMREP_QUICK", "maybe")
    with pytest.raises(ValueError, match="SYMREP_QUICK"):
        size_from_env()


def test_measured_phase():
    class R:
        def __init__(self, m, Q):
            self.m, self.Q = m, Q

    assert measured_phase(R(0.0, 0.0)) == "regularized"
    assert measured_phase(R(1e-9, 1e-12)) == "regularized"
    assert measured_phase(R(0.02, 0.7)) == "overfitting"
    assert measured_phase(R(-0.5, 0.6)) == "learning"


def test_points_reused_from_csv(tmp_path, monkeypatch):
    generate(tmp_path, [CHEAP], TINY, progress=False, log=None)
    first = load_points(tmp_path / f"{CHEAP}.csv")
    assert first

    def fail(*args, **kwargs):
        raise AssertionError("simulated again although the points were on disk")

    monkeypatch.setattr("symrep.simulate.experiment.simulate", fail)
    done = generate(tmp_path, [CHEAP], TINY, progress=False, reuse=True, log=None)
    result = done[CHEAP][0]
    assert len(result.points) == len(first)
    again = load_points(tmp_path / f"{CHEAP}.csv")
    assert again.keys() == first.keys()
    for key, row in first.items():
        assert again[key]["kl_posterior_mean"] == pytest.approx(row["kl_posterior_mean"])


def test_simulation_rows_have_theory_and_both_methods():
    rows = simulation_points([dict(alpha=2.0, beta=0.5, lam=1.0, panel="p")], TINY,
                             figure="t", progress=False)
    assert [r["method"] for r in rows] == ["exact", "lbfgs"]
    assert rows[0]["eg_mean"] == pytest.approx(rows[1]["eg_mean"], rel=1e-5)  # same data
    for r in rows:
        assert r["panel"] == "p" and r["figure"] == "t" and r["P"] == 80
        assert r["phase_theory"] == "learning"
        assert r["n_learning"] + r["n_overfitting"] + r["n_regularized"] == 2
        assert r["eg_theory"] == pytest.approx(solve(2.0, 0.5, 1.0).eg, rel=1e-12)
        assert r["eg_sem"] > 0


def test_compare_delegates_to_figures():
    from symrep.compare import learning_curve_comparison

    fig, table = learning_curve_comparison([1.5, 3.0], [0.5], lam=1.0, N=40, seeds=2,
                                           methods=("exact",))
    assert [(r["alpha"], r["method"]) for r in table] == [(1.5, "exact"), (3.0, "exact")]
    assert set(table[0]) >= {"beta", "alpha", "method", "theory", "mean", "sem"}
    assert len(fig.axes[0].lines) >= 1


@pytest.mark.slow
def test_all_figures_quick(tmp_path, capsys):
    assert main(["figures", "--quick", "--out", str(tmp_path)]) == 0
    for name in ALL:
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
        assert (tmp_path / f"{name}.csv").is_file()
