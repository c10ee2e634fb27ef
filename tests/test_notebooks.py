"""The notebooks run: each jupytext .py is converted to a notebook and executed.

The kernel is this interpreter: a kernel spec pointing at ``sys.executable`` is written to
a temporary folder on JUPYTER_PATH, so the test does not depend on which ``python`` is
first on PATH or on kernels registered on the machine.

Two tiers check the same thing, that each notebook runs start to finish and shows a
figure (no number is checked here):

- fast: every notebook in turn in one kernel, each from an empty namespace (``%reset``)
  and its own working folder, at the quick size with the simulations at N = 20
  (``SYMREP_N``): the kernel start, the imports and the first use of the compiled
  functions (about 3 s of CPU per kernel) are paid once, not once per notebook;
- slow: each notebook in a fresh kernel of its own at the size it runs by default
  (quick, N = 300).
"""

import json
import os
import sys
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("ipykernel")

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.py"))
KERNEL = "symrep-test-kernel"
#: Input dimension of the notebooks' simulations in the fast tier (SYMREP_N).
NOTEBOOK_N = 20


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
EXTRA_NOTEBOOKS = {"units_phase_diagram", "realdata", "user_defined_model"}


def test_there_is_a_notebook_per_figure():
    from symrep.figures import figure_names

    assert {p.stem for p in NOTEBOOKS} == set(figure_names()) | EXTRA_NOTEBOOKS


#: Notebooks run only with the slow tests: their pipeline has a fast end-to-end test of
#: its own (realdata: tests/test_realdata_experiment.py), and the kernel, torch and
#: scikit-learn start-up would cost the fast suite about 17 s.
SLOW_NOTEBOOKS = {"realdata"}


def read_notebook(path):
    nb = jupytext.read(path)
    assert nb.metadata.get("jupytext", {}).get("text_representation", {}).get(
        "format_name") == "percent"
    assert any(c.cell_type == "markdown" for c in nb.cells)
    return nb


def check_executed(nb, path, folder):
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert images, f"{path.name} showed no figure"
    # the executed notebook is written to a temporary folder, never next to the source
    jupytext.write(nb, folder / f"{path.stem}.ipynb")


def test_notebooks_run_in_one_kernel(kernel_path, tmp_path):
    """Every notebook of the fast tier, in turn in one kernel, from an empty namespace."""
    from jupyter_client.manager import KernelManager

    env = dict(os.environ, JUPYTER_PATH=str(kernel_path), SYMREP_QUICK="1",
               SYMREP_N=str(NOTEBOOK_N), MPLBACKEND="module://matplotlib_inline.backend_inline")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(kernel_path))  # where the kernel spec is looked up
        km = KernelManager(kernel_name=KERNEL)
        km.start_kernel(env=env, cwd=str(tmp_path))
    try:
        for path in NOTEBOOKS:
            if path.stem in SLOW_NOTEBOOKS:
                continue
            folder = tmp_path / path.stem
            folder.mkdir()
            # a clean start: no name of the notebook before, no open figure, its own folder
            clean = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
                "import os\nimport matplotlib.pyplot\nmatplotlib.pyplot.close('all')\n"
                f"os.chdir({str(folder)!r})\n%reset -f")])
            nbclient.NotebookClient(clean, km=km, timeout=60).execute()
            nb = read_notebook(path)
            try:
                nbclient.NotebookClient(nb, km=km, timeout=300).execute()
            except nbclient.exceptions.CellExecutionError as error:
                pytest.fail(f"{path.name}: {error}")
            check_executed(nb, path, folder)
    finally:
        km.shutdown_kernel(now=True)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, kernel_path, tmp_path, monkeypatch):
    """Each notebook in a fresh kernel, at the size it runs by default."""
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_path))
    monkeypatch.setenv("SYMREP_QUICK", "1")
    monkeypatch.delenv("SYMREP_N", raising=False)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = read_notebook(path)
    client = nbclient.NotebookClient(nb, kernel_name=KERNEL, timeout=900,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    check_executed(nb, path, tmp_path)
