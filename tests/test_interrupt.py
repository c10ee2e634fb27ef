"""Ctrl-C at random moments during ``symrep figures --quick`` never damages a file.

The acceptance check of atomic outputs, run by ``benchmarks/sigint_figures.py``: K runs
(``SYMREP_SIGINT_RUNS``, default 50; about an hour on two cores) each interrupted at a
random moment, in a folder that is empty or holds the files of a complete run; every
file left behind must be byte for byte the complete run's file of the same name. The
fast counterpart, which interrupts the writing of one figure deterministically, is in
``tests/test_figures.py``.
"""

import importlib.util
import os
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "sigint_figures.py"


def load_script():
    spec = importlib.util.spec_from_file_location("sigint_figures", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_sigint_at_random_moments_leaves_only_complete_files(tmp_path):
    script = load_script()
    runs = int(os.environ.get("SYMREP_SIGINT_RUNS", "50"))
    full, trials = script.run_trials(runs=runs, seed=0, work=tmp_path, log=None)
    failed = [(t.run, t.failures) for t in trials if t.failures]
    assert not failed, failed
    assert any(t.signalled for t in trials)
