"""The documentation site builds in strict mode (every warning an error).

Skipped when the ``docs`` extra (mkdocs, its theme and plugins) is not installed; CI
installs it and builds the site in its own step.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS_MODULES = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python",
                "pymdownx")


def _missing():
    missing = []
    for name in DOCS_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            missing.append(name)
    return missing


def test_site_builds_strict(tmp_path):
    missing = _missing()
    if missing:
        pytest.skip(f"docs extra not installed ({', '.join(missing)}): "
                    'pip install -e ".[docs]"')
    site = tmp_path / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
         str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    assert "RS prediction for the linear beta-VAE at one parameter point" in api
    derivation = (site / "derivation" / "index.html").read_text(encoding="utf-8")
    assert derivation.count('class="arithmatex"') > 100
    assert "<!-- derivation-steps -->" not in derivation
    assert not (site / "README").exists() and not (site / "gen_derivation.py").exists()


def test_license_and_citation_match_the_package():
    # setup.cfg declares the license and symrep/_version.py the version; LICENSE and
    # CITATION.cff must say the same (CITATION.cff is validated against the CFF 1.2.0
    # schema with `cffconvert --validate`, which is not a project dependency)
    from symrep._version import __version__

    setup = (ROOT / "setup.cfg").read_text()
    assert "license = BSD-3-Clause" in setup
    assert (ROOT / "LICENSE").read_text().startswith("BSD 3-Clause License\n")
    cff = (ROOT / "CITATION.cff").read_text()
    assert "cff-version: 1.2.0" in cff and "license: BSD-3-Clause" in cff
    versions = [line.split(":", 1)[1].strip() for line in cff.splitlines()
                if line.startswith("version:")]
    assert versions == [__version__]
    assert "references:" in cff
