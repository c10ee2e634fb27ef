"""The notebooks run: each jupytext .py is converted to a notebook and executed.

The kernel is this interpreter: a kernel spec pointing at ``sys.executable`` is written to
a temporary folder on JUPYTER_PATH, so the test does not depend on which ``python`` is
first on PATH or on kernels registered on the machine. The notebooks run at the quick
size (``SYMREP_QUICK=1``) with the simulations at N = 60 (``SYMREP_N``).
"""

import json
import sys
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.py"))
KERNEL = "symrep-test-kernel"
#: Input dimension of the notebooks' simulations under test (SYMREP_N).
NOTEBOOK_N = 60


@pytest.fixture(scope="module")
def kernel_path(tmp_path_factory):
    """A kernel spec for the running interpreter, on a private JUPYTER_PATH."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python ({sys.executable})",
        "language": "python",
    }))
    return root


#: Notebooks beyond the figures of ``symrep figures`` (each makes its own figure).
EXTRA_NOTEBOOKS = {"units_phase_diagram", "realdata"}


def test_there_is_a_notebook_per_figure():
    from symrep.figures import figure_names

    assert {p.stem for p in NOTEBOOKS} == set(figure_names()) | EXTRA_NOTEBOOKS


#: Notebooks run only with the slow tests: their pipeline has a fast end-to-end test of
#: its own (realdata: tests/test_realdata_experiment.py), and the kernel, torch and
#: scikit-learn start-up would cost the fast suite about 17 s.
SLOW_NOTEBOOKS = {"realdata"}


@pytest.mark.parametrize("path", [
    pytest.param(p, marks=pytest.mark.slow) if p.stem in SLOW_NOTEBOOKS else p
    for p in NOTEBOOKS], ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, kernel_path, tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_path))
    monkeypatch.setenv("SYMREP_QUICK", "1")
    # the notebook's pipeline end to end (it runs and shows a figure; no number is
    # checked here), with its simulations at a small N, which runs several times faster
    monkeypatch.setenv("SYMREP_N", str(NOTEBOOK_N))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = jupytext.read(path)
    assert nb.metadata.get("jupytext", {}).get("text_representation", {}).get(
        "format_name") == "percent"
    assert any(c.cell_type == "markdown" for c in nb.cells)
    client = nbclient.NotebookClient(nb, kernel_name=KERNEL, timeout=300,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert images, f"{path.name} showed no figure"
    # the executed notebook is written to a temporary folder, never next to the source
    jupytext.write(nb, tmp_path / f"{path.stem}.ipynb")
