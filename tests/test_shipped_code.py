"""The generated modules (one-unit system, unit map, large-alpha expansion) ship with the
package and are current.

Their file names carry the key of the sources they are generated from (the linear VAE
modules carry it in ``SOURCE_KEY``), so an edit of the derivation, the code generator,
the solver's expressions or the model's definition (``symrep/model.py``) makes them
stale; the fix is ``.venv/bin/python -m symrep.numeric.ship`` (or ``--rename`` after
edits that change no generated code). Independent of the code under test: the byte
comparison regenerates from SymPy. ``tests/test_generated_keys.py`` shows on a copy of
the package that an edit of the model's objective makes every shipped module stale.
"""

import subprocess
import sys

import pytest

from symrep.numeric import codegen
from symrep.numeric.ship import shipped_modules, stale_shipped


def test_every_shipped_module_is_current():
    stale = stale_shipped()
    assert not stale, ("the sources changed; run python -m symrep.numeric.ship (or "
                       f"--rename if no generated code changed): {stale}")
    for name, (key, _) in shipped_modules().items():
        assert codegen.shipped_path(name, key).exists(), name


def _fresh_process(code, cache):
    """Run ``code`` in a new Python process with an empty code cache at ``cache``."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"SYMREP_CACHE_DIR": str(cache), "PATH": ""}, timeout=120)
    assert out.returncode == 0, out.stderr
    return out


def test_first_solve_needs_no_sympy_and_no_cache(tmp_path):
    code = ("import sys, symrep; symrep.solve(2.0, 0.5, 1.0); "
            "symrep.solve(4.0, 0.5, 1.0, rho=(2.0, 0.7), M=2); "
            "print('sympy' in sys.modules, 'importlib.metadata' in sys.modules)")
    out = _fresh_process(code, tmp_path / "cache")
    # nor the installed versions of SymPy and NumPy (importlib.metadata, milliseconds):
    # they key the cache, which the shipped modules do not use
    assert out.stdout.strip() == "False False"
    # nothing generated: the cache holds at most the machine code compiled from the
    # shipped modules (symrep.numeric.compiled)
    cache = tmp_path / "cache"
    made = sorted(str(p.relative_to(cache)) for p in cache.rglob("*")) if cache.exists() else []
    assert all(m == "compiled" or m.startswith("compiled/") for m in made), made


def test_large_alpha_expansion_is_loaded_not_derived(tmp_path):
    """A fresh install reads the shipped expansion (milliseconds) instead of deriving
    it (about 20 s of SymPy) into its cache."""
    code = ("from symrep.asymptotics import large_alpha_expansion; "
            "print(large_alpha_expansion().leading)")
    out = _fresh_process(code, tmp_path / "cache")
    assert "Q: -beta + eta + rho" in out.stdout
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


@pytest.mark.slow
def test_shipped_modules_regenerate_byte_identical():
    for name, (key, build) in shipped_modules().items():
        assert codegen.shipped_path(name, key).read_text(encoding="utf-8") == build(), name
