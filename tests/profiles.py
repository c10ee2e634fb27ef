"""Hypothesis profiles of the test suite (registered by conftest.py; see docs/testing.md).

- ``dev`` (the default): random examples; failures are kept in the local database
  (``.hypothesis/``) and the committed regressions in ``tests/hypothesis-examples`` are
  replayed first.
- ``ci``: the README test command: a fixed seed per test (``derandomize``), no deadline,
  nothing read or written. Hypothesis switches the example database off under a fixed
  seed (``derandomize=True`` implies ``database=None``, and so do ``@seed`` and
  ``--hypothesis-seed``), so the known failing examples are pinned with ``@example`` in
  the tests, which every profile runs first.
- ``fuzz``: :data:`FUZZ_FACTOR` times the examples of every property test; loaded by
  ``pytest -m fuzz`` (the property tests carry the ``fuzz`` marker).
- ``record``: like ``fuzz``, but failures are written to ``tests/hypothesis-examples`` so
  that they can be committed as regressions.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import settings
from hypothesis.database import (
    DirectoryBasedExampleDatabase,
    MultiplexedDatabase,
    ReadOnlyDatabase,
)

ROOT = Path(__file__).resolve().parents[1]
#: The committed example database: known failing examples, replayed before new ones.
EXAMPLES = Path(__file__).resolve().parent / "hypothesis-examples"
#: How many times more examples the fuzz profile runs.
FUZZ_FACTOR = 10
#: Hypothesis' own default number of examples, the unit of :func:`examples`.
_DEFAULT_EXAMPLES = 100


def _committed():
    return ReadOnlyDatabase(DirectoryBasedExampleDatabase(EXAMPLES))


def _local():
    return DirectoryBasedExampleDatabase(ROOT / ".hypothesis" / "examples")


def register_profiles():
    """Register the four profiles and load ``dev``."""
    settings.register_profile("dev", deadline=None,
                              database=MultiplexedDatabase(_local(), _committed()))
    settings.register_profile("ci", derandomize=True, deadline=None, database=None,
                              print_blob=True)
    settings.register_profile("fuzz", max_examples=FUZZ_FACTOR * _DEFAULT_EXAMPLES,
                              deadline=None,
                              database=MultiplexedDatabase(_local(), _committed()),
                              print_blob=True)
    settings.register_profile("record", max_examples=FUZZ_FACTOR * _DEFAULT_EXAMPLES,
                              deadline=None,
                              database=DirectoryBasedExampleDatabase(EXAMPLES), print_blob=True)
    settings.load_profile("dev")


def examples(n):
    """The number of examples of a property test whose budget is ``n`` under dev and ci.

    The fuzz profile multiplies every budget by :data:`FUZZ_FACTOR`. (An explicit
    ``max_examples`` in ``@settings`` overrides the profile, so the budgets are scaled
    here, when the test module is imported, after the profile has been loaded.)
    """
    return max(1, round(n * settings.default.max_examples / _DEFAULT_EXAMPLES))
