"""`symrep derive` regenerates the committed derivations byte for byte, and they compile."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from symrep.cli import main
from symrep.derive import compile_pdf, write_derivations
from symrep.texwidth import math_width

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    out = tmp_path_factory.mktemp("derivations")
    write_derivations(out)
    return out


def test_committed_derivations_are_identical_to_a_fresh_run(fresh):
    committed = sorted(p.name for p in (ROOT / "derivations").glob("*.tex"))
    regenerated = sorted(p.name for p in fresh.glob("*.tex"))
    assert committed == regenerated
    for name in regenerated:
        assert (ROOT / "derivations" / name).read_bytes() == (fresh / name).read_bytes(), name


#: Points of the three phases, with weight decay (where the susceptibilities are finite):
#: (alpha, beta, lam, rho, eta).
CONTENT_POINTS = [(3.0, 0.5, 0.7, 1.0, 1.0), (0.5, 0.5, 0.2, 1.0, 1.0),
                  (2.0, 3.0, 1.0, 1.0, 1.0), (2.0, 0.3, 0.05, 2.0, 0.5),
                  (10.0, 1.0, 0.3, 0.5, 1.5)]


def test_committed_free_energy_and_saddle_point_equations_are_the_physics(fresh):
    """What the committed sections 08 (free energy) and 09 (saddle point) say is true.

    The byte-identical regeneration above only shows that the files are what the code
    prints today. Here the SymPy objects those two sections print (their LaTeX is checked
    to be the committed files, so the check is about the committed text) are evaluated at
    the random-matrix optimum of tests/closed_forms.py, which shares no code with symrep:
    Q minimising the reduced objective at the BBP spike or MP edge, W~ = kappa W,
    D = beta/(beta + Q), and the susceptibilities chi as Marchenko-Pastur integrals of the
    inverse Hessian of the objective. There the printed f must equal the minimum of the
    objective per N (less the data norm), every printed derivative df/dz must vanish, and
    D^* must be beta/(beta + Q); at points of the learning, overfitting and collapsed
    phases (measured: within 1e-13). (``fresh``: the derivation, cached in the process,
    is then done once for this module.)
    """
    import closed_forms
    import sympy as sp

    from symrep import symbols as S
    from symrep.derive import step_latex
    from symrep.replica import derivation_step_functions

    steps = {st.key: st for st in (make(None) for make in derivation_step_functions())
             if st.key in ("08_free_energy", "09_saddle_point")}
    for key, step in steps.items():
        assert step_latex(step) == (ROOT / "derivations" / f"{key}.tex").read_text(), key
    (f,) = [e.rhs for e in steps["08_free_energy"].equations if e.lhs == "f"]
    equations = {e.lhs: e.rhs for e in steps["09_saddle_point"].equations}
    unknowns = ("Q", "R", "E", "m", "d", r"\chi_{Q}", r"\chi_{R}", r"\chi_{E}")
    assert sorted(equations) == sorted(["D^*", *(rf"\partial f/\partial {z}" for z in unknowns)])
    args = (S.Q, S.R, S.E, S.m, S.d, S.chi_Q, S.chi_R, S.chi_E, S.D,
            S.alpha, S.beta, S.lam, S.rho, S.eta)
    f_num = sp.lambdify(args, f, "math")
    grads = {k: sp.lambdify(args, v, "math") for k, v in equations.items() if k != "D^*"}
    D_star = sp.lambdify(args, equations["D^*"], "math")
    phases = set()
    for point in CONTENT_POINTS:
        ref = closed_forms.reference(*point, chi=True)
        phases.add(ref["phase"])
        values = (ref["Q"], ref["R"], ref["E"], ref["m"], ref["d"], ref["chi_Q"],
                  ref["chi_R"], ref["chi_E"], ref["D"], *point)
        scale = 1 + abs(ref["free_energy"])
        assert abs(f_num(*values) - ref["free_energy"]) <= 1e-10 * scale, point
        for name, grad in grads.items():
            assert abs(grad(*values)) <= 1e-10 * scale, (point, name)
        assert D_star(*values) == pytest.approx(point[1] / (point[1] + ref["Q"]), rel=1e-14)
    assert phases == {"learning", "overfitting", "regularized"}


def test_main_document_includes_every_step(fresh):
    main = (fresh / "main.tex").read_text()
    for tex in fresh.glob("*.tex"):
        if tex.name != "main.tex":
            assert f"\\input{{{tex.stem}}}" in main


needs_pdflatex = pytest.mark.skipif(shutil.which("pdflatex") is None,
                                    reason="pdflatex is not installed")
# what pdflatex reports for a line wider than the text (TeX's own measurement)
OVERFULL = re.compile(r"Overfull \\hbox \(([0-9.]+)pt too wide\)")


@needs_pdflatex
def test_committed_document_compiles_without_overfull_lines(tmp_path, monkeypatch):
    # the committed files, compiled by pdflatex: independent of the width estimate that
    # broke the lines (symrep.texwidth), this is TeX measuring the typeset lines
    for tex in (ROOT / "derivations").glob("*.tex"):
        shutil.copy(tex, tmp_path / tex.name)
    monkeypatch.chdir(tmp_path.parent)  # a relative folder, as `symrep derive --out DIR`
    pdf = compile_pdf(tmp_path.name)
    assert pdf == (tmp_path / "main.pdf").resolve()
    assert pdf.is_file() and pdf.stat().st_size > 10_000
    overfull = [float(w) for w in OVERFULL.findall((tmp_path / "main.log").read_text())]
    assert max(overfull, default=0.0) <= 10.0, f"overfull lines (pt too wide): {overfull}"
    # pdflatex ran in a temporary folder, removed afterwards
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".tex") == [
        "main.log", "main.pdf"]


@needs_pdflatex
def test_width_estimate_agrees_with_pdflatex(tmp_path):
    # TeX measures each formula (\wd of a box); the estimate must be within 5 % for
    # the kinds of lines the derivation breaks: sums of fractions, brackets, roots,
    # scripts, logarithms, matrices
    formulas = [
        r"- \alpha \left(\frac{\chi_{E} \eta \left(Q \eta + m^{2} \rho\right)}{2 \Delta_{2}}"
        r" - \frac{\left(E \eta + d^{2} \rho\right) \left(Q + \beta - \chi_{Q} \eta\right)}"
        r"{2 \Delta_{2}}\right)",
        r"\frac{1}{2 y_{E} y_{Q} - 2 y_{R}^{2}}\Bigl[- E Q^{2} \eta^{2} y_{Q} - 2 E Q \beta"
        r" \eta^{2} y_{Q} - 2 E Q \eta^{2} y_{R} - E \beta^{2} \eta^{2} y_{Q}",
        r"{}+ \beta \eta^{3} \rho^{\frac{3}{2}} \sqrt{- \beta + \eta + \rho} + 2 \beta"
        r" \eta^{3} \rho^{2} \biggr)",
        r"\frac{\beta \log{\left(\eta + \rho \right)}}{2} + \frac{\beta}{2} - \frac{\eta}{2}"
        r" - \frac{\rho}{2} + \frac{\hat{\chi}_{R} \hat{r}}{\Delta_{1}}",
        r"\left[\begin{matrix}- Q - \beta & -1\\-1 & 0\end{matrix}\right] + \lim_{\alpha"
        r"\to\infty}\alpha(\beta_c^{\mathrm{spike}} - \rho-\eta)",
        r"\mathcal R_{\infty} - R_{\mathrm{Shannon}} = \tfrac12\operatorname{tr}(\hat{\mathcal"
        r" X}\mathcal Q) - \hat t^{\mathsf T} t",
    ]
    body = "\n".join(rf"\setbox0\hbox{{$\displaystyle {f}$}}\typeout{{WIDTH{i}=\the\wd0}}"
                     for i, f in enumerate(formulas))
    (tmp_path / "w.tex").write_text("\\documentclass[10pt]{article}\\usepackage{amsmath,amssymb}"
                                    f"\\begin{{document}}\n{body}\n\\end{{document}}\n")
    subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "w.tex"],
                   cwd=tmp_path, capture_output=True, timeout=120, check=True)
    log = (tmp_path / "w.log").read_text().replace("\n", "")
    measured = {int(i): float(w) for i, w in re.findall(r"WIDTH(\d+)=([0-9.]+)pt", log)}
    assert sorted(measured) == list(range(len(formulas)))
    for i, formula in enumerate(formulas):
        assert math_width(formula) == pytest.approx(measured[i], rel=0.05), formula


def test_write_derivations_refuses_a_file_as_folder(tmp_path):
    target = tmp_path / "derivations"
    target.write_text("not a folder")
    with pytest.raises(ValueError, match="out_dir"):
        write_derivations(target)
    assert target.read_text() == "not a folder"


@needs_pdflatex
def test_failed_compilation_keeps_the_previous_pdf(tmp_path):
    (tmp_path / "main.tex").write_text("\\documentclass{article}\\begin{document}\\undefined\n")
    (tmp_path / "main.pdf").write_bytes(b"previous pdf")
    with pytest.raises(RuntimeError, match="pdflatex failed"):
        compile_pdf(tmp_path)
    assert (tmp_path / "main.pdf").read_bytes() == b"previous pdf"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["main.pdf", "main.tex"]


def test_compile_pdf_needs_the_main_document(tmp_path):
    with pytest.raises(ValueError, match="main.tex"):
        compile_pdf(tmp_path)


def test_cli_derive_writes_files(tmp_path, fresh, capsys):
    """``symrep derive`` through the command-line entry point, in this process (where the
    derivation is already cached: in a new process it takes 10 s of SymPy), and the same
    files as the fixture."""
    assert main(["derive", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert (tmp_path / "main.tex").is_file()
    assert len(list(tmp_path.glob("*.tex"))) >= 11
    for tex in fresh.glob("*.tex"):
        assert (tmp_path / tex.name).read_bytes() == tex.read_bytes(), tex.name


def test_derive_subcommand_runs_as_a_module(tmp_path):
    """``python -m symrep derive --help`` in a subprocess: the module entry point knows the
    subcommand (the derivation itself is tested in process above)."""
    out = subprocess.run([sys.executable, "-m", "symrep", "derive", "--help"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "--out" in out.stdout


@needs_pdflatex
def test_general_model_derivation_compiles_without_overfull_lines(tmp_path, capsys):
    """`symrep derive --M 2 --Mstar 2`: the replica steps on matrix expressions, typeset."""
    assert main(["derive", "--M", "2", "--Mstar", "2", "--out", str(tmp_path), "--pdf"]) == 0
    capsys.readouterr()
    names = sorted(p.name for p in tmp_path.glob("*.tex"))
    assert names[-1] == "main.tex" and len(names) == 11  # the ten replica steps
    main_tex = (tmp_path / "main.tex").read_text()
    assert "$M = 2$ latent units and $M^* = 2$" in main_tex
    assert "D_{2}^*" in (tmp_path / "09_saddle_point.tex").read_text()
    overfull = [float(w) for w in OVERFULL.findall((tmp_path / "main.log").read_text())]
    assert max(overfull, default=0.0) <= 10.0, f"overfull lines (pt too wide): {overfull}"


@pytest.mark.parametrize("argv, message", [
    (["--M", "0"], "M = 0 is invalid"),
    (["--Mstar", "10"], "Mstar = 10 is invalid"),
    (["--M", "two"], "invalid int value"),
])
def test_derive_refuses_bad_model_sizes(tmp_path, capsys, argv, message):
    try:
        status = main(["derive", "--out", str(tmp_path / "out"), *argv])
    except SystemExit as exc:  # argparse rejects a malformed number itself
        status = exc.code
    assert status == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_write_derivations_refuses_a_model_that_is_not_one(tmp_path):
    with pytest.raises(ValueError, match="model"):
        write_derivations(tmp_path, model=(2, 2))


@needs_pdflatex
def test_three_by_three_derivation_compiles(tmp_path):
    """M = M* = 3, the largest size the issue asks for (about 2 s)."""
    from symrep.model import LinearVAE

    write_derivations(tmp_path, model=LinearVAE(3, 3))
    compile_pdf(tmp_path)
    overfull = [float(w) for w in OVERFULL.findall((tmp_path / "main.log").read_text())]
    assert max(overfull, default=0.0) <= 10.0, f"overfull lines (pt too wide): {overfull}"
