"""`symrep derive --model learned-variance`: the model's own chapter, then the linear VAE's.

The chapter prints the SymPy objects of ``LearnedVarianceVAE.reduction()``; here they are
checked against the objective typed out (probabilistic PCA's decoder with sigma^2), a
numerical minimum over sigma^2, and the identity of the map evaluated at random points.
"""

import random
import shutil
from pathlib import Path

import pytest
import sympy as sp

from symrep.cli import main
from symrep.derive import step_latex, write_derivations
from symrep.models import LearnedVarianceVAE
from symrep.models.learned_variance_step import STEP_KEY, _display_symbols
from symrep.replica.display import derivation_latex

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "derivations" / "learned-variance"


@pytest.fixture(scope="module")
def chapter():
    (step,) = LearnedVarianceVAE().derivation_steps()
    return step, step_latex(step)


def _scalars(s):
    """The M = M* = 1 symbols (1 x 1 matrices in ModelSymbols) as scalars."""
    return {name: getattr(s, name)[0, 0] for name in ("u", "v", "Q", "D", "E")}


def _typed_objectives(s, sigma2, N):
    """Per-sample objectives written out for M = M* = 1 (docs/model.md): the learned
    model's and the linear VAE's at a given beta."""
    u, v, Q, D = (_scalars(s)[k] for k in ("u", "v", "Q", "D"))
    recon = (s.x2 - 2 * u * v + Q * v**2 + Q * D) / 2
    kl = (D + v**2 - 1 - sp.log(D)) / 2

    def linear(beta):
        return recon + beta * kl

    learned = recon / sigma2 + N * sp.log(sigma2) / 2 + s.beta * kl
    return learned, linear


def test_chapter_prints_the_objective_and_the_map(chapter):
    step, tex = chapter
    model = LearnedVarianceVAE()
    shown = _display_symbols(model)
    assert step.key == STEP_KEY
    # the printed objective is the model's SymPy object, which is the one typed out here
    s, s2, N = model.symbols(), model.sigma2_symbol(), model.dimension_symbol()
    learned, _ = _typed_objectives(s, s2, N)
    assert sp.simplify(model.per_sample_objective() - learned) == 0
    objective = derivation_latex(model.per_sample_objective().xreplace(shown))
    assert f"\\ell_\\sigma = {objective}" in tex
    assert r"\sigma_{2}" not in tex and "x_{2}" not in tex  # SymPy's raw names
    # the map and its value at the saddle point, as printed
    assert r"\beta' = \beta \sigma^{2}" in tex
    assert r"\lambda' = \lambda \sigma^{2}" in tex
    assert r"\beta'\bigr|_{\sigma^2 = \sigma^2_*} = \beta \eta" in tex
    assert r"\lambda'\bigr|_{\sigma^2 = \sigma^2_*} = \eta \lambda" in tex
    assert r"\sigma^2_* = \eta" in tex
    assert r"s\bigr|_{\sigma^2 = \sigma^2_*} = \frac{1}{\eta}" in tex
    assert r"\mathcal I = 0" in tex
    red = step.result
    assert red.parameters == {s.beta: s.beta * s2, s.lam: s.lam * s2}
    assert red.sigma2_star == s.eta and sp.simplify(red.scale * s2) == 1


def test_identity_is_zero_and_a_wrong_map_is_not():
    """The identity the chapter prints as 0, evaluated independently from the typed
    objectives at random points: 1/sigma^2 (linear at sigma^2 beta) + weight decay at
    sigma^2 lam / sigma^2 equals the learned model's O(1) part; with beta unmapped it
    does not."""
    model = LearnedVarianceVAE()
    assert model.reduction().identity == 0
    s, s2, N = model.symbols(), model.sigma2_symbol(), model.dimension_symbol()
    learned, linear = _typed_objectives(s, s2, N)
    x = _scalars(s)
    decay = (x["Q"] + x["E"]) / 2
    rest = learned - s.x2 / (2 * s2) - N * sp.log(s2) / 2 + s.lam * decay
    # the printed regularizer is this weight decay
    assert sp.expand(model.regularizer() - s.lam * decay) == 0

    def mapped(beta, lam):
        return (linear(beta) - s.x2 / 2 + lam * decay) / s2

    right = rest - mapped(s2 * s.beta, s2 * s.lam)
    wrong = rest - mapped(s.beta, s2 * s.lam)
    rng = random.Random(3)
    for _ in range(5):
        point = {sym: sp.Rational(rng.randint(1, 97), rng.randint(1, 13))
                 for sym in (*x.values(), s.beta, s.lam, s2, s.x2)}
        assert right.subs(point) == 0
        assert wrong.subs(point) != 0 or point[s2] == 1


def test_leading_order_minimum_is_eta_numerically():
    """The printed L_inf(sigma^2) is minimal at sigma^2 = eta (a bounded scalar search)."""
    from scipy.optimize import minimize_scalar

    model = LearnedVarianceVAE()
    red = model.reduction()
    s = model.symbols()
    for eta in (0.7, 2.5, 1.0, 13.0):
        leading = sp.lambdify(red.sigma2, red.leading_order.subs(s.eta, eta))
        best = minimize_scalar(leading, bounds=(1e-3, 50), method="bounded",
                               options={"xatol": 1e-10}).x
        assert best == pytest.approx(eta, rel=1e-6)


def test_committed_chapter_and_linear_chapters(chapter):
    """The committed model chapter is a fresh print; the linear VAE's chapters in the
    model's folder are the committed linear VAE's, byte for byte (which test_derive.py
    checks against a fresh run)."""
    _, tex = chapter
    assert (COMMITTED / f"{STEP_KEY}.tex").read_text() == tex
    linear = sorted(p.name for p in (ROOT / "derivations").glob("*.tex") if p.name != "main.tex")
    ours = sorted(p.name for p in COMMITTED.glob("*.tex"))
    assert ours == sorted([f"{STEP_KEY}.tex", "main.tex", *linear])
    for name in linear:
        assert (COMMITTED / name).read_bytes() == (ROOT / "derivations" / name).read_bytes()
    main_tex = (COMMITTED / "main.tex").read_text()
    assert main_tex.index(f"\\input{{{STEP_KEY}}}") < main_tex.index("\\input{01_objective}")
    assert r"\texttt{learned-variance}" in main_tex


@pytest.mark.slow
def test_committed_learned_variance_document_is_a_fresh_run(tmp_path):
    """The whole committed document, regenerated (about 25 s in a new process: the
    linear VAE's M = M* = 1 chain)."""
    write_derivations(tmp_path, model=LearnedVarianceVAE())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in COMMITTED.iterdir())
    for path in tmp_path.iterdir():
        assert path.read_bytes() == (COMMITTED / path.name).read_bytes(), path.name


def test_cli_derive_learned_variance_two_units(tmp_path, capsys):
    """`symrep derive --model learned-variance --M 2 --Mstar 2`: the model's chapter for
    two units, then the ten replica steps on matrices (about 2 s)."""
    out = tmp_path / "lv"
    assert main(["derive", "--model", "learned-variance", "--M", "2", "--Mstar", "2",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out.split()
    names = sorted(p.name for p in out.glob("*.tex"))
    assert names[0] == f"{STEP_KEY}.tex" and names[-1] == "main.tex" and len(names) == 12
    assert printed[0].endswith(f"{STEP_KEY}.tex") and printed[-1].endswith("main.tex")
    tex = (out / f"{STEP_KEY}.tex").read_text()
    assert "$M = 2$ latent units" in tex and "D_{2}" in tex and "Q_{12}" in tex
    assert r"\beta' = \beta \sigma^{2}" in tex and r"\mathcal I = 0" in tex
    main_tex = (out / "main.tex").read_text()
    assert "$M = 2$ latent units and $M^* = 2$" in main_tex
    assert r"\texttt{learned-variance}" in main_tex
    # the linear VAE's chapters as `derive --M 2 --Mstar 2` writes them
    assert "D_{2}^*" in (out / "09_saddle_point.tex").read_text()


def test_cli_derive_default_model_is_the_linear_vae(tmp_path, capsys):
    """`--model linear-vae` and no --model write the same files (M = M* = 2: seconds)."""
    for sub, extra in (("a", []), ("b", ["--model", "linear-vae"])):
        assert main(["derive", "--M", "2", "--Mstar", "2", "--out", str(tmp_path / sub),
                     *extra]) == 0
    capsys.readouterr()
    a = sorted((tmp_path / "a").iterdir())
    assert [p.name for p in a] == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert not (tmp_path / "a" / f"{STEP_KEY}.tex").exists()
    for path in a:
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes()


@pytest.mark.parametrize("name", ["linear_vae", "learned", "LINEAR-VAE", ""])
def test_cli_derive_refuses_an_unknown_model(tmp_path, capsys, name):
    with pytest.raises(SystemExit) as exc:
        main(["derive", "--model", name, "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "linear-vae" in err and "learned-variance" in err and f"{name!r}" in err
    assert not (tmp_path / "out").exists()


needs_pdflatex = pytest.mark.skipif(shutil.which("pdflatex") is None,
                                    reason="pdflatex is not installed")


@needs_pdflatex
def test_committed_learned_variance_document_compiles(tmp_path):
    import re

    from symrep.derive import compile_pdf

    for tex in COMMITTED.glob("*.tex"):
        shutil.copy(tex, tmp_path / tex.name)
    compile_pdf(tmp_path)
    log = (tmp_path / "main.log").read_text()
    overfull = [float(w) for w in re.findall(r"Overfull \\hbox \(([0-9.]+)pt too wide\)", log)]
    assert max(overfull, default=0.0) <= 10.0, overfull
