"""symrep figures: the registry, the command line and the reusable simulation tables."""

import csv
import subprocess
import sys

import pytest
from closed_forms import reference

from symrep.cli import main
from symrep.figures import FIGURES, check_names, figure_names, generate
from symrep.figures.core import (
    SIM_FIELDS,
    SIZES,
    FigureResult,
    Size,
    load_points,
    measured_phase,
    simulation_points,
    size_from_env,
)
from symrep.simulate import exact_minimum, sample_scm

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
    monkeypatch.setenv("SYMREP_QUICK", "1")
    monkeypatch.setenv("SYMREP_N", "80")
    assert size_from_env() == SIZES["quick"].with_(N=80)
    for bad in ("0", "-3", "many"):
        monkeypatch.setenv("SYMREP_N", bad)
        with pytest.raises(ValueError, match="SYMREP_N"):
            size_from_env()


class _Model:
    def __init__(self, m, Q):
        self.m, self.Q = m, Q


def test_measured_phase_rule_at_its_boundaries():
    """The documented rule: "regularized" when not Q > q_floor = 1e-6, else "learning" when
    |m|/sqrt(Q) > cos_floor = 0.25 (either sign of m), else "overfitting"."""
    assert measured_phase(_Model(0.0, 0.0)) == "regularized"
    assert measured_phase(_Model(1e-9, 1e-12)) == "regularized"
    assert measured_phase(_Model(0.0, 1e-6)) == "regularized"
    assert measured_phase(_Model(0.0, 1.01e-6)) == "overfitting"
    assert measured_phase(_Model(0.0, float("nan"))) == "regularized"
    # Q = 0.25: |m|/sqrt(Q) = 2 |m|, exactly 0.25 at |m| = 0.125
    assert measured_phase(_Model(0.125, 0.25)) == "overfitting"
    assert measured_phase(_Model(0.125 * (1 - 1e-9), 0.25)) == "overfitting"
    assert measured_phase(_Model(0.125 * (1 + 1e-9), 0.25)) == "learning"
    assert measured_phase(_Model(-0.125 * (1 + 1e-9), 0.25)) == "learning"
    assert measured_phase(_Model(0.02, 0.7)) == "overfitting"
    assert measured_phase(_Model(-0.5, 0.6)) == "learning"


@pytest.mark.parametrize("params", [(3.0, 0.5, 0.7), (0.5, 0.5, 0.2), (2.0, 3.0, 1.0),
                                    (2.0, 0.3, 0.0, 2.0, 0.5), (0.5, 0.3, 0.0)])
def test_measured_phase_of_exact_optima_is_the_theory_phase(params):
    """At the figures' quick size (N = 300), the rule gives the phase of the theory.

    Independent of the solver: the phase is that of the random-matrix optimum
    (tests/closed_forms.py); the models are exact finite-N optima on three data sets.
    The rule must separate the overlap cos = |m|/sqrt(Q) of a learning model, the BBP
    value sqrt((1 - eta^2/(alpha rho^2))/(1 + eta/(alpha rho))), from that of an
    overfitted one, of order N^(-1/2) = 0.06.
    """
    alpha, beta, lam, *rest = params
    rho, eta = rest if rest else (1.0, 1.0)
    want = reference(alpha, beta, lam, rho, eta)["phase"]
    N = SIZES["quick"].N
    for seed in range(3):
        X, W0 = sample_scm(round(alpha * N), N, rho, eta, seed=seed)
        assert measured_phase(exact_minimum(X, W0, beta, lam, rho, eta)) == want, seed


def test_points_reused_from_csv(tmp_path, monkeypatch, caplog):
    generate(tmp_path, [CHEAP], TINY, progress=False, log=None)
    first = load_points(tmp_path / f"{CHEAP}.csv")
    assert first

    def fail(*args, **kwargs):
        raise AssertionError("simulated again although the points were on disk")

    monkeypatch.setattr("symrep.simulate.experiment.simulate", fail)
    with caplog.at_level("INFO", logger="symrep"):
        done = generate(tmp_path, [CHEAP], TINY, progress=False, reuse=True, log=None)
    result = done[CHEAP][0]
    assert len(result.points) == len(first)
    # no empty grid is run: the log says every point was reused, not "computed 0 of 0"
    assert f"all {len(first)} simulation points reused" in caplog.text, caplog.text
    assert "of 0 tasks" not in caplog.text, caplog.text
    again = load_points(tmp_path / f"{CHEAP}.csv")
    assert again.keys() == first.keys()
    for key, row in first.items():
        assert again[key]["kl_posterior_mean"] == pytest.approx(row["kl_posterior_mean"])


def test_simulation_rows_have_theory_and_both_methods():
    """Every theory column is the N -> infinity optimum, at the point's own rho and eta.

    Independent of the solver that fills the columns: the reference is the random-matrix
    optimum of tests/closed_forms.py. The exact optimum and the trained models see the
    same data sets, so their means agree.
    """
    alpha, beta, lam, rho, eta = 2.0, 0.5, 1.0, 1.5, 0.7
    rows = simulation_points([dict(alpha=alpha, beta=beta, lam=lam, rho=rho, eta=eta,
                                   panel="p")], TINY, figure="t", progress=False)
    assert [r["method"] for r in rows] == ["exact", "lbfgs"]
    assert rows[0]["eg_mean"] == pytest.approx(rows[1]["eg_mean"], rel=1e-5)  # same data
    want = reference(alpha, beta, lam, rho, eta)
    for r in rows:
        assert r["panel"] == "p" and r["figure"] == "t" and r["P"] == 80
        assert (r["rho"], r["eta"]) == (rho, eta)
        assert r["phase_theory"] == want["phase"] == "learning"
        assert r["n_learning"] + r["n_overfitting"] + r["n_regularized"] == 2
        for name in SIM_FIELDS:
            assert r[f"{name}_theory"] == pytest.approx(want[name], rel=1e-9, abs=1e-12), name
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


# --- atomic, reproducible outputs ----------------------------------------------------------

def small_result(name="demo", y=(1.0, 2.0), points=True):
    """A FigureResult without simulations (a two-point line and a two-row table)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], list(y))
    rows = [dict(alpha=1.0, eg_mean=y[0]), dict(alpha=2.0, eg_mean=y[1])] if points else []
    return FigureResult(name, fig, rows, SIZES["quick"])


def entries(folder):
    """Every file of a folder with its bytes, hidden ones included."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_save_writes_png_pdf_csv_reproducibly(tmp_path):
    paths = small_result().save(tmp_path / "a")
    assert [p.name for p in paths] == ["demo.png", "demo.pdf", "demo.csv"]
    first = entries(tmp_path / "a")
    assert first["demo.png"][:8] == b"\x89PNG\r\n\x1a\n"
    assert first["demo.pdf"][:5] == b"%PDF-" and b"/CreationDate" not in first["demo.pdf"]
    assert first["demo.csv"].decode() == "alpha,eg_mean\r\n1.0,1.0\r\n2.0,2.0\r\n"
    small_result().save(tmp_path / "b")
    assert entries(tmp_path / "b") == first  # a second drawing writes the same bytes


@pytest.mark.parametrize("interrupted", ["png", "pdf", "csv"])
def test_ctrl_c_while_saving_keeps_each_file_complete(tmp_path, monkeypatch, interrupted):
    out = tmp_path / "out"
    small_result(y=(1.0, 2.0)).save(out)
    before = entries(out)
    new = small_result(y=(3.0, 1.0))
    new.save(tmp_path / "complete")
    after = entries(tmp_path / "complete")

    savefig, writerows = type(new.figure).savefig, csv.DictWriter.writerows

    def savefig_then_interrupt(fig, fname, **kw):
        savefig(fig, fname, **kw)
        if kw.get("format") == interrupted:  # a half-written file, then Ctrl-C
            data = open(fname, "rb").read()
            open(fname, "wb").write(data[: len(data) // 2])
            raise KeyboardInterrupt

    def writerows_then_interrupt(writer, rows):
        writerows(writer, rows[:1])
        raise KeyboardInterrupt

    monkeypatch.setattr(type(new.figure), "savefig", savefig_then_interrupt)
    if interrupted == "csv":
        monkeypatch.setattr(csv.DictWriter, "writerows", writerows_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        new.save(out)
    now = entries(out)
    assert set(now) == {"demo.png", "demo.pdf", "demo.csv"}  # no temporary files
    order = ["png", "pdf", "csv"]
    for fmt in order:  # written before the interrupt: new; from it on: the old file
        expected = after if order.index(fmt) < order.index(interrupted) else before
        assert now[f"demo.{fmt}"] == expected[f"demo.{fmt}"], fmt


def test_cli_interrupted_while_writing_keeps_the_old_files(tmp_path, monkeypatch, capsys):
    import matplotlib.figure

    out = tmp_path / "figs"
    out.mkdir()
    old = {f"{CHEAP}.{ext}": f"previous {ext}".encode() for ext in ("png", "pdf", "csv")}
    for name, data in old.items():
        (out / name).write_bytes(data)

    def half_then_interrupt(fig, fname, **kw):
        open(fname, "wb").write(b"\x89PNG\r\n\x1a\n half")
        raise KeyboardInterrupt

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", half_then_interrupt)
    # the simulations are not what is tested here: skip them (the theory curves stay)
    monkeypatch.setattr("symrep.figures.fig2.simulation_points", lambda *a, **k: [])
    status = main(["figures", "--quick", "--only", CHEAP, "--out", str(out)])
    assert status == 130
    err = capsys.readouterr().err.splitlines()
    assert err == ["symrep figures: interrupted"]
    assert entries(out) == old


def test_compare_reports_progress_once_per_point(tmp_path, monkeypatch, capsys):
    import symrep.compare

    lines = []
    symrep.compare.learning_curve_comparison(
        [1.5, 3.0], [0.5], lam=1.0, N=40, seeds=2, methods=("exact",), curve_points=20,
        progress=False, log=lines.append)
    assert [line.split(" (")[0] for line in lines] == [
        "learning_curve: 1/2 exact alpha=1.5 beta=0.5 lam=1",
        "learning_curve: 2/2 exact alpha=3 beta=0.5 lam=1"]

    # the command line (stderr is no terminal here) prints those lines with a "#"
    def fake_comparison(alphas, betas, *, log, **kwargs):
        log("learning_curve: 1/1 exact alpha=1 beta=0.5 lam=1 (0.1 s)")
        fig = small_result().figure
        return fig, [dict(beta=0.5, alpha=1.0, method="exact", theory=1.0, mean=1.0,
                          sem=0.1)]

    monkeypatch.setattr(symrep.compare, "learning_curve_comparison", fake_comparison)
    assert main(["compare", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "# learning_curve: 1/1 exact alpha=1 beta=0.5 lam=1 (0.1 s)"


def test_damaged_points_table_is_read_without_its_damaged_rows(tmp_path):
    # a table written with the csv module (not by symrep), then cut or spoiled
    fields = ["figure", "panel", "method", "N", "seeds", "first_seed", "alpha", "beta",
              "lam", "rho", "eta", "phase_theory", "eg_mean", "eg_sem", "eg_theory"]
    rows = [["f", "", "exact", "300", "2", str(2 * i), str(1.0 + i), "0.5", "1.0", "1.0",
             "1.0", "learning", f"0.{i + 1}23456789", "0.01", "0.5"] for i in range(3)]
    good = ",".join(fields) + "\r\n" + "".join(",".join(r) + "\r\n" for r in rows)
    path = tmp_path / "t.csv"
    path.write_text(good, newline="")
    assert [r["eg_mean"] for r in load_points(path).values()] == [
        0.123456789, 0.223456789, 0.323456789]
    path.write_text(good[: good.rindex("23456789")], newline="")  # last row cut short
    assert [r["eg_mean"] for r in load_points(path).values()] == [0.123456789, 0.223456789]
    path.write_text(good.replace("0.223456789", "0.22x"), newline="")  # not a number
    assert [r["eg_mean"] for r in load_points(path).values()] == [0.123456789, 0.323456789]
    path.write_text(good.replace(",0.01,0.5\r\n", ",0.01\r\n", 1), newline="")  # a field gone
    assert len(load_points(path)) == 2
    for damaged in (b"", b"\xff\xfe\x00garbage\x80"):
        path.write_bytes(damaged)
        assert load_points(path) == {}
