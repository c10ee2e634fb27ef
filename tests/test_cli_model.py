"""`--model NAME` on the command line: refused names, the default's output unchanged, and
the learned decoder variance against independent closed forms.

Ground truth: the random-matrix optimum of tests/closed_forms.py (no symrep code) at the
learned model's mapped point (eta beta, eta lam), and, at finite N, probabilistic PCA
(beta = 1, lam = 0): sigma^2 is the mean of the sample-covariance eigenvalues not kept.
"""

import ast
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from symrep.cli import main

COMMANDS = {
    "solve": ["solve", "--alpha", "2", "--beta", "0.5", "--lam", "1"],
    "sweep": ["sweep", "--alpha", "0.5,2", "--beta", "0.5", "--lam", "1", "--out", "OUT.csv"],
    "phase-diagram": ["phase-diagram", "--alpha", "0.5:2:3", "--beta", "0.5:1:2",
                      "--out", "OUT.png"],
    "simulate": ["simulate", "--N", "20", "--alpha", "1", "--beta", "0.5", "--lam", "1",
                 "--seeds", "1"],
    "derive": ["derive", "--out", "OUT"],
}

#: `symrep solve --alpha 2 --beta 0.5 --lam 1` as printed before models had names
#: (commit 5b7d076): the keys, their order and format, and the values (to 1e-9; the
#: residual is rounding and only bounded).
SOLVE_TODAY = """\
             alpha  2
              beta  0.5
               lam  1
               rho  1
               eta  1
                 m  0.5319641683
                 d  0.3509868308
                 Q  0.8489576292
                 E  0.3695752663
                 R  0.5601372527
                 D  0.3706565641
          chihat_Q  2.966880588
          chihat_R  -1.496676301
          chihat_E  2.768398965
                eg  0.7850292925
              rate  0.427951467
        distortion  0.6196553499
      kl_posterior  0.04639894774
        rate_train  0.7359308556
  distortion_train  -0.05244528632
kl_posterior_train  0.06490663635
       free_energy  -0.7596932694
             phase  learning
         converged  True
          residual  1.39936532e-17
          branches  {'overfitting': -0.7067151578547942, 'learning': -0.7596932693517197}
"""

#: The header of `symrep sweep ... --out F.csv` before models had names.
SWEEP_HEADER_TODAY = (
    "alpha,beta,lam,rho,eta,m,d,Q,E,R,D,chihat_Q,chihat_R,chihat_E,eg,rate,distortion,"
    "kl_posterior,rate_train,distortion_train,kl_posterior_train,free_energy,residual,"
    "phase,converged")


def _argv(name, tmp_path):
    return [a.replace("OUT", str(tmp_path / "out")) for a in COMMANDS[name]]


def _run(argv, capsys):
    status = main(argv)
    out = capsys.readouterr()
    assert status == 0, out.err
    return out.out


def _table(text):
    """A solve table as ``{key: value text}`` in printed order."""
    rows = [line.strip().split("  ", 1) for line in text.splitlines()]
    return {k: v.strip() for k, v in rows}


# --- bad names -----------------------------------------------------------------------------

@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("name", ["learned_variance", "Linear-VAE", "vae", ""])
def test_unknown_model_is_one_line_exit_2(tmp_path, capsys, command, name):
    with pytest.raises(SystemExit) as exc:
        main([*_argv(command, tmp_path), "--model", name])
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"symrep {command}: error: argument --model: model = {name!r}")
    assert "linear-vae" in err and "learned-variance" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["solve", "simulate", "derive"])
def test_unknown_model_is_refused_before_numpy_and_sympy(tmp_path, command):
    """(The grid options of sweep and phase-diagram are parsed with NumPy, before
    --model, as they always were.)"""
    code = ("import sys\nfrom symrep.cli import main\ntry:\n    main(sys.argv[1:])\n"
            "except SystemExit as exc:\n    print(exc.code)\n"
            "print(*sorted(m for m in ('numpy', 'sympy', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, *_argv(command, tmp_path),
                          "--model", "nope"], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["2"], out.stdout  # and no heavy module loaded
    assert len(out.stderr.splitlines()) == 1 and "learned-variance" in out.stderr


def test_help_names_the_models_without_numpy():
    code = ("import sys\nfrom symrep.cli import main\ntry:\n    main(sys.argv[1:])\n"
            "except SystemExit:\n    pass\nprint('numpy' in sys.modules, file=sys.stderr)")
    for command in ("solve", "sweep", "phase-diagram", "simulate", "derive"):
        out = subprocess.run([sys.executable, "-c", code, command, "--help"],
                             capture_output=True, text=True, timeout=60)
        assert "--model NAME" in out.stdout and "learned-variance" in out.stdout, command
        assert out.stderr.strip() == "False", command


# --- the default: output as before ---------------------------------------------------------

def test_solve_output_of_the_default_model_is_unchanged(capsys):
    plain = _run(COMMANDS["solve"], capsys)
    named = _run([*COMMANDS["solve"], "--model", "linear-vae"], capsys)
    assert named == plain
    assert _run([*COMMANDS["solve"], "--json"], capsys) == \
        _run([*COMMANDS["solve"], "--json", "--model", "linear-vae"], capsys)
    today, now = _table(SOLVE_TODAY), _table(plain)
    assert list(now) == list(today)  # no model name, no sigma2: the same rows
    assert [line.index("  ") for line in plain.splitlines()] == \
        [line.index("  ") for line in SOLVE_TODAY.splitlines()]
    for key, value in today.items():
        if key == "residual":
            assert float(now[key]) < 1e-12
        elif key == "branches":
            was, got = ast.literal_eval(value), ast.literal_eval(now[key])
            assert list(got) == list(was)
            assert list(got.values()) == pytest.approx(list(was.values()), rel=1e-9)
        elif key in ("phase", "converged"):
            assert now[key] == value
        else:
            assert float(now[key]) == pytest.approx(float(value), rel=1e-9, abs=1e-12), key


def test_sweep_output_of_the_default_model_is_unchanged(tmp_path, capsys):
    argv = ["sweep", "--alpha", "0.5,2", "--beta", "0.5", "--lam", "0.5:1:2", "--out"]
    plain = _run([*argv, str(tmp_path / "a.csv")], capsys)
    named = _run([*argv, str(tmp_path / "b.csv"), "--model", "linear-vae"], capsys)
    assert named.replace("b.csv", "a.csv") == plain
    a, b = (tmp_path / "a.csv").read_bytes(), (tmp_path / "b.csv").read_bytes()
    assert a == b
    assert a.decode().splitlines()[0] == SWEEP_HEADER_TODAY
    # the same numbers as solve at each point
    rows = [line.split(",") for line in a.decode().splitlines()[1:]]
    assert len(rows) == 4
    header = SWEEP_HEADER_TODAY.split(",")
    last = dict(zip(header, rows[-1], strict=True))
    today = _table(SOLVE_TODAY)
    for key in ("m", "Q", "eg", "free_energy"):
        assert float(last[key]) == pytest.approx(float(today[key]), rel=1e-9)


# --- the learned decoder variance ----------------------------------------------------------

#: (alpha, beta, lam, rho, eta) in the three phases; the mapped point (eta beta, eta lam)
#: is learning, overfitting and collapsed respectively.
LEARNED_POINTS = [(3.0, 0.25, 0.35, 3.0, 2.0), (0.5, 0.25, 0.2, 1.0, 2.0),
                  (2.0, 2.0, 0.5, 1.0, 2.0)]


@pytest.mark.parametrize("point", LEARNED_POINTS)
def test_learned_variance_solve_prints_sigma2_eta_and_the_mapped_optimum(capsys, point):
    import closed_forms

    alpha, beta, lam, rho, eta = point
    phase = {0: "learning", 1: "overfitting", 2: "regularized"}[LEARNED_POINTS.index(point)]
    argv = ["solve", "--alpha", str(alpha), "--beta", str(beta), "--lam", str(lam),
            "--rho", str(rho), "--eta", str(eta), "--model", "learned-variance"]
    table = _table(_run(argv, capsys))
    assert table["model"] == "learned-variance"
    assert float(table["sigma2"]) == eta  # printed "2" or "0.5": exactly eta
    # the parameters as given, the order parameters of the linear VAE at (eta beta, eta lam)
    assert (float(table["beta"]), float(table["lam"])) == (beta, lam)
    ref = closed_forms.reference(alpha, eta * beta, eta * lam, rho, eta)
    assert table["phase"] == ref["phase"] == phase
    for key in ("m", "Q", "E", "R", "D", "eg", "rate", "distortion"):
        assert float(table[key]) == pytest.approx(ref[key], rel=1e-8, abs=1e-9), key
    # its objective is the linear VAE's at the mapped point over sigma^2 = eta
    assert float(table["free_energy"]) == pytest.approx(ref["free_energy"] / eta,
                                                        rel=1e-8, abs=1e-10)
    data = json.loads(_run([*argv, "--json"], capsys))
    assert data["sigma2"] == eta and data["model"] == "learned-variance"


def test_learned_variance_sweep_has_sigma2(tmp_path, capsys):
    import closed_forms

    out = tmp_path / "lv.csv"
    _run(["sweep", "--alpha", "0.5,3", "--beta", "0.25", "--lam", "0.35", "--eta", "2",
          "--out", str(out), "--model", "learned-variance"], capsys)
    lines = out.read_text().splitlines()
    header = lines[0].split(",")
    assert "sigma2" in header and header[:len(SWEEP_HEADER_TODAY.split(","))] == \
        SWEEP_HEADER_TODAY.split(",")
    for line in lines[1:]:
        row = dict(zip(header, line.split(","), strict=True))
        assert float(row["sigma2"]) == 2.0 and float(row["beta"]) == 0.25
        ref = closed_forms.reference(float(row["alpha"]), 0.5, 0.7, 1.0, 2.0)
        assert float(row["Q"]) == pytest.approx(ref["Q"], rel=1e-8, abs=1e-9)
        assert row["phase"] == ref["phase"]


def test_learned_variance_phase_diagram_is_the_mapped_one(tmp_path, capsys):
    """The learned model at (beta, lam) with eta = 2 has the phases of the linear VAE at
    (2 beta, 2 lam): the same counts and boundaries on the mapped grid."""
    grid = ["--alpha", "0.5:3:5", "--eta", "2"]
    learned = _run(["phase-diagram", *grid, "--beta", "0.2:2:4", "--lam", "0.5",
                    "--out", str(tmp_path / "lv.png"), "--model", "learned-variance"],
                   capsys)
    linear = _run(["phase-diagram", *grid, "--beta", "0.4:4:4", "--lam", "1",
                   "--out", str(tmp_path / "lin.png")], capsys)
    assert learned.split(":", 1)[1] == linear.split(":", 1)[1]
    assert (tmp_path / "lv.png").stat().st_size > 1000


def test_learned_variance_simulate_is_probabilistic_pca(capsys):
    """beta = 1, lam = 0: the exact finite-N optimum's sigma^2 is the mean of the
    sample-covariance eigenvalues not kept (Tipping & Bishop 1999), computed here with
    numpy from the same data sets."""
    from symrep.simulate import sample_scm

    N, alpha, eta = 60, 3.0, 1.5
    out = _run(["simulate", "--N", str(N), "--alpha", str(alpha), "--beta", "1", "--lam",
                "0", "--eta", str(eta), "--rho", "2", "--seeds", "2", "--json",
                "--model", "learned-variance"], capsys)
    data = json.loads(out)
    assert data["model"] == "learned-variance" and len(data["runs"]) == 2
    P = data["params"]["P"]
    for k, run in enumerate(data["runs"]):
        X = sample_scm(P, N, 2.0, eta, W0=np.ones((N, 1)), seed=k, force=True)[0]
        eig = np.sort(np.linalg.eigvalsh(X.T @ X / P))[::-1]
        # one unit: the top direction is kept (its eigenvalue exceeds sigma^2), the
        # other N - 1 make up sigma^2
        assert eig[0] > run["sigma2"]
        assert run["sigma2"] == pytest.approx(eig[1:].mean(), rel=1e-9)
    assert data["summary"]["sigma2"]["mean"] == pytest.approx(
        np.mean([r["sigma2"] for r in data["runs"]]), rel=1e-12)
    # the table prints the same runs with a sigma2 column
    table = _run(["simulate", "--N", str(N), "--alpha", str(alpha), "--beta", "1", "--lam",
                  "0", "--eta", str(eta), "--rho", "2", "--seeds", "2",
                  "--model", "learned-variance"], capsys).splitlines()
    assert table[0].endswith("method = exact, model = learned-variance")
    assert table[1].split()[-2:] == ["sigma2", "converged"]
    assert float(table[2].split()[-2]) == pytest.approx(data["runs"][0]["sigma2"], rel=1e-5)


def test_learned_variance_simulate_lbfgs_reaches_the_pca_optimum(capsys):
    """Training (L-BFGS on the printed SymPy objective) finds the same sigma^2 as the
    eigenvalues of the sample covariance."""
    from symrep.simulate import sample_scm

    N, alpha = 30, 3.0
    data = json.loads(_run(["simulate", "--N", str(N), "--alpha", str(alpha), "--beta", "1",
                            "--lam", "0", "--rho", "2", "--seeds", "1", "--method", "lbfgs",
                            "--device", "cpu", "--json", "--model", "learned-variance"],
                           capsys))
    (run,) = data["runs"]
    assert data["method"] == "lbfgs" and run["converged"]
    X = sample_scm(data["params"]["P"], N, 2.0, 1.0, W0=np.ones((N, 1)), seed=0,
                   force=True)[0]
    eig = np.sort(np.linalg.eigvalsh(X.T @ X / data["params"]["P"]))[::-1]
    assert run["sigma2"] == pytest.approx(eig[1:].mean(), rel=1e-6)


@pytest.mark.parametrize("extra, needle", [
    (["--method", "adam"], "method = 'adam' is invalid with --model"),
    (["--store", "STORE"], "store = "),
    (["--scheduler", "serial"], "scheduler = 'serial' is invalid with --model"),
])
def test_simulate_with_a_model_refuses_what_it_cannot_do(tmp_path, capsys, extra, needle):
    extra = [e.replace("STORE", str(tmp_path / "store")) for e in extra]
    argv = [*COMMANDS["simulate"], "--model", "learned-variance", *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_simulate_without_model_has_no_model_in_its_header(capsys):
    out = _run(COMMANDS["simulate"], capsys).splitlines()
    assert out[0].endswith("method = exact") and "sigma2" not in out[1]


def test_module_entry_point_takes_the_option():
    out = subprocess.run([sys.executable, "-m", "symrep", *COMMANDS["solve"], "--eta", "2",
                          "--model", "learned-variance", "--json"], capture_output=True,
                         text=True, timeout=120, env={**os.environ, "SYMREP_DEBUG": "0"})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["sigma2"] == 2.0
