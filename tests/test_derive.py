"""`symrep derive` regenerates the committed derivations byte for byte, and they compile."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from symrep.cli import main
from symrep.derive import compile_pdf, write_derivations

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


def test_main_document_includes_every_step(fresh):
    main = (fresh / "main.tex").read_text()
    for tex in fresh.glob("*.tex"):
        if tex.name != "main.tex":
            assert f"\\input{{{tex.stem}}}" in main


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_main_document_compiles(fresh):
    pdf = compile_pdf(fresh)
    assert pdf.is_file() and pdf.stat().st_size > 10_000


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
