"""A model is a value: code outside a model's own module never names a model and never
branches on the number of units for the model's physics; it asks the model.

The model modules are ``symrep/model.py`` (the linear VAE) and ``symrep/models/*``. Every
other ``.py`` file under ``symrep/`` (but the generated modules: ``symrep/numeric/
generated/*`` and what ``ruff.toml`` excludes as generated) is parsed with :mod:`ast`, and
the test fails, listing ``file:line`` and the source, on

(a) a name, attribute or import of a model class (the classes of
    :data:`symrep.models.MODELS`, their bases in the model modules and the classes there
    derived from them, found when the test runs), an ``isinstance`` against one (a name
    of one), or a string equal to a model's name compared with ``==``, ``!=``, ``in``,
    ``not in``;
(b) a comparison of a number of units or features (names ``M``, ``Mstar``, ``n_units``,
    ``n_features``, attributes ``.M``, ``.Mstar``, or a tuple of them) with a number
    literal, wherever it stands (a condition, an assert, an assignment, a return value, a
    call's argument).

Docstrings, comments and strings that are not compared are text, never flagged. The
exceptions are listed with a reason in :data:`ALLOWED` (validation of the range a
function supports, a result's own presentation of the 1 x 1 case, the paper's data
convention for one feature, array shapes: never physics); the notation rule itself lives
in ``symrep.solvers.result`` (``paper_notation``, ``one_by_one``). An entry of
:data:`ALLOWED` that matches nothing fails the test (stale); :data:`PENDING` lists
branches being removed by work in progress (empty when none is), a stale entry there is
reported as a warning.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib
import pkgutil
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "symrep"

#: The model modules (paths relative to the repository): the only places a model's
#: class, name or sizes may decide anything.
MODEL_MODULES = ("symrep/model.py", "symrep/models/*")

#: Generated code, beside what ruff.toml excludes.
GENERATED = ("symrep/numeric/generated/*",)

UNIT_NAMES = frozenset({"M", "Mstar", "n_units", "n_features"})
UNIT_ATTRIBUTES = frozenset({"M", "Mstar"})

_VALIDATION = "input validation: the range the function supports, named in a ValueError"
_PRESENTATION = "presentation of the 1 x 1 case in the result's own output"
_CONVENTION = "the paper's data convention for one feature, kept so its numbers stay"

#: (relative path, stripped source line) -> why the line is not the model's physics.
ALLOWED = {
    ("symrep/solvers/result.py",
     "return (M is None or M == 1) and not isinstance(rho, (tuple, list))"):
        _PRESENTATION + ": the one rule for when a request is in the paper's one-unit "
        "notation (paper_notation); the solver is the same",
    ("symrep/solvers/result.py",
     "several = self.Mstar > 1  # the feature is named only where there is a choice"):
        _PRESENTATION + ": unit_phases names the feature learned only where there are "
        "several",
    ("symrep/simulate/observables.py",
     "scalar = M == 1 and Mstar == 1 and not self.unit_matrices"):
        _PRESENTATION + ": SimulationResult reads its 1 x 1 matrices as numbers",
    ("symrep/simulate/training.py", "if n_features > 1:"):
        "array shape: one strength per run is a column, several are rows of (runs, M*)",
    ("symrep/simulate/data.py", "if n_features == 1:"):
        _CONVENTION + ": the all-ones column is the paper's one feature; several "
        "features need orthogonal columns (default_features)",
    ("symrep/stability/branches.py", "if model.M != 1 or model.Mstar != 1:"):
        _VALIDATION + " (the reduced Hessian and replicon are derived for one unit)",
    ("symrep/asymptotics/stability.py", "if model.M != 1:"):
        _VALIDATION + " (the mode ansatz of mode_objective is written for one unit)",
    ("symrep/numeric/layout.py", "if plain and (M, Mstar) != (1, 1):"):
        _VALIDATION + " (entries without indices exist only for 1 x 1 matrices)",
    ("symrep/numeric/layout.py", "if Mstar != 1:"):
        _VALIDATION + " (one plain strength name is for one feature)",
}

_BEING_REMOVED = "being removed"

#: Branches in modules being rewritten now; emptied as they go.
PENDING = {}


@dataclass(frozen=True)
class Finding:
    """One offending line: where, what kind, and its source (stripped)."""

    path: str
    line: int
    kind: str
    source: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.path, self.source)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind}: {self.source}"


def _matches(rel: str, patterns) -> bool:
    return any(fnmatch.fnmatch(rel, p) for p in patterns)


def _generated_patterns() -> tuple[str, ...]:
    # the lists of ruff.toml's exclude and extend-exclude (tomllib is Python >= 3.11)
    text = (ROOT / "ruff.toml").read_text(encoding="utf-8")
    excluded = []
    for block in re.findall(r"^(?:extend-)?exclude\s*=\s*\[(.*?)\]", text, re.M | re.S):
        excluded += re.findall(r'"([^"]+)"', block)
    return GENERATED + tuple(p for p in excluded if p.startswith("symrep/"))


def checked_files() -> list[Path]:
    """Every ``.py`` under ``symrep/`` but the model modules and the generated ones."""
    skip = MODEL_MODULES + _generated_patterns()
    return sorted(p for p in PACKAGE.rglob("*.py")
                  if not _matches(p.relative_to(ROOT).as_posix(), skip))


def _is_model_module(name: str | None) -> bool:
    return name is not None and (name == "symrep.model" or name == "symrep.models"
                                 or name.startswith("symrep.models."))


def model_classes() -> tuple[set, set]:
    """Names of the model classes and the models' names, found in :mod:`symrep.models`.

    The classes of ``MODELS``, every class of their MRO defined in a model module, and
    every class of a model module derived from one of them (``ReplicaModel``).
    """
    import symrep.models
    from symrep.models import MODELS

    for info in pkgutil.iter_modules(symrep.models.__path__, "symrep.models."):
        importlib.import_module(info.name)  # the classes of every model module
    found = set()
    for cls in MODELS.values():
        found.update(c for c in cls.__mro__ if _is_model_module(c.__module__))
    todo = list(found)
    while todo:
        for sub in todo.pop().__subclasses__():
            if _is_model_module(sub.__module__) and sub not in found:
                found.add(sub)
                todo.append(sub)
    del symrep
    names = set(MODELS) | {c.name for c in found if isinstance(getattr(c, "name", None), str)}
    return {c.__name__ for c in found}, names


def _units_operand(node) -> bool:
    if isinstance(node, ast.Name):
        return node.id in UNIT_NAMES
    if isinstance(node, ast.Attribute):
        return node.attr in UNIT_ATTRIBUTES
    if isinstance(node, ast.Tuple):
        return any(_units_operand(e) for e in node.elts)
    return False


def _number_literal(node) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
    if isinstance(node, ast.Tuple):
        return bool(node.elts) and all(_number_literal(e) for e in node.elts)
    return False


_NAME_OPS = (ast.Eq, ast.NotEq, ast.In, ast.NotIn)


def check_source(source: str, path: str, class_names, model_names) -> list[Finding]:
    """The findings of (a) and (b) in one module's source.

    Parameters
    ----------
    source : str
        The module's text.
    path : str
        Its path relative to the repository (for the report).
    class_names : set of str
        Names of the model classes.
    model_names : set of str
        The models' names (``"linear-vae"``, ...).

    Returns
    -------
    list of Finding
        In source order.
    """
    tree = ast.parse(source, filename=path)
    lines = source.splitlines()
    # a model class's name rebound in this module by something else (a class of its own,
    # an import from a module that is not a model module: symrep.simulate's torch
    # LinearVAE) refers to that other thing here
    foreign = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name in class_names:
            foreign.add(node.name)
        elif isinstance(node, ast.ImportFrom) and not _is_model_module(node.module):
            foreign.update(a.asname or a.name for a in node.names
                           if a.name in class_names)
    out = []

    def flag(node, kind):
        out.append(Finding(path, node.lineno, kind, lines[node.lineno - 1].strip()))

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and _is_model_module(node.module):
            if any(a.name in class_names for a in node.names):
                flag(node, "imports a model class")
        elif isinstance(node, ast.Name) and node.id in class_names - foreign:
            flag(node, "names a model class")
        elif (isinstance(node, ast.Attribute) and node.attr in class_names
              and node.attr not in foreign):
            flag(node, "names a model class")
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if (any(isinstance(op, _NAME_OPS) for op in node.ops)
                    and any(isinstance(o, ast.Constant) and o.value in model_names
                            for o in operands)):
                flag(node, "compares with a model's name")
            if any(_units_operand(o) for o in operands) and any(
                    _number_literal(o) for o in operands):
                flag(node, "compares a number of units with a literal")
    return sorted(set(out), key=lambda f: (f.line, f.kind))


def findings() -> list[Finding]:
    """Every finding in the checked files."""
    class_names, model_names = model_classes()
    out = []
    for path in checked_files():
        rel = path.relative_to(ROOT).as_posix()
        out.extend(check_source(path.read_text(encoding="utf-8"), rel, class_names,
                                model_names))
    return out


# --- the rule on the package ------------------------------------------------------------

def test_every_exception_has_a_reason_that_is_not_physics():
    for table in (ALLOWED, PENDING):
        for key, reason in table.items():
            assert isinstance(reason, str) and reason.strip(), key
    for key, reason in ALLOWED.items():
        assert reason.startswith((_VALIDATION, _PRESENTATION, _CONVENTION, "array shape")), (
            key, reason)
    assert set(PENDING.values()) <= {_BEING_REMOVED}
    assert not set(ALLOWED) & set(PENDING)


def test_code_outside_the_model_modules_asks_the_model():
    found = findings()
    bad = [f for f in found if f.key not in ALLOWED and f.key not in PENDING]
    assert not bad, ("code outside the model modules names a model or branches on its "
                     "number of units (ask the model instead, or list the line with a "
                     "reason that is not physics):\n" + "\n".join(map(str, bad)))
    matched = {f.key for f in found}
    stale = [k for k in ALLOWED if k not in matched]
    assert not stale, f"entries of ALLOWED that match nothing (delete them): {stale}"
    gone = [k for k in PENDING if k not in matched]
    if gone:
        warnings.warn(f"entries of PENDING whose branch is gone (delete them): {gone}",
                      stacklevel=1)


def test_the_files_checked_are_the_package_but_the_model_and_generated_modules():
    rel = {p.relative_to(ROOT).as_posix() for p in checked_files()}
    assert "symrep/replica/free_energy.py" in rel
    assert "symrep/numeric/layout.py" in rel
    assert "symrep/model.py" not in rel
    assert not any(r.startswith(("symrep/models/", "symrep/numeric/generated/")) for r in rel)
    assert len(rel) > 50


def test_the_model_classes_are_discovered():
    class_names, model_names = model_classes()
    from symrep.models import MODELS

    assert {c.__name__ for c in MODELS.values()} <= class_names
    assert "ReplicaModel" in class_names  # a base for models written elsewhere
    assert set(MODELS) <= model_names


# --- the checker on small sources (mutation checks) -------------------------------------

_CLASSES = {"LinearVAE", "LearnedVarianceVAE"}
_NAMES = {"linear-vae", "learned-variance"}

MUTANT = '''
"""Mentions LinearVAE and "if M == 1" in a docstring: text, never flagged."""
from symrep.model import LinearVAE
import symrep.models


def solve(model, M, Mstar, n_units):
    """M == 1 is the scalar case of LinearVAE (documentation)."""
    # if M == 1: a comment is not code
    if M == 1:
        pass
    one = model.Mstar == 1
    while n_units > 1:
        n_units -= 1
    assert (M, Mstar) == (1, 1)
    value = 0 if model.M != 1 else 2
    if isinstance(model, symrep.models.LearnedVarianceVAE):
        pass
    if model.name == "learned-variance" or "linear-vae" in {model.name}:
        pass
    return LinearVAE(M, Mstar), one, value
'''


def test_the_checker_flags_both_kinds_and_not_the_documentation():
    found = check_source(MUTANT, "symrep/mutant.py", _CLASSES, _NAMES)
    by_line = {}
    for f in found:
        by_line.setdefault(f.source, set()).add(f.kind)
    units = "compares a number of units with a literal"
    assert by_line == {
        "from symrep.model import LinearVAE": {"imports a model class"},
        "if M == 1:": {units},
        "one = model.Mstar == 1": {units},
        "while n_units > 1:": {units},
        "assert (M, Mstar) == (1, 1)": {units},
        "value = 0 if model.M != 1 else 2": {units},
        "if isinstance(model, symrep.models.LearnedVarianceVAE):": {"names a model class"},
        'if model.name == "learned-variance" or "linear-vae" in {model.name}:':
            {"compares with a model's name"},
        "return LinearVAE(M, Mstar), one, value": {"names a model class"},
    }, by_line


def test_the_checker_leaves_what_asks_the_model():
    source = '''
from symrep.simulate.model import LinearVAE  # the torch module, another class
from symrep.models import default_model


def fine(model, M, rows):
    if model.is_scalar or len(rows) == 1 or M > rows:
        return LinearVAE(model.M)
    return default_model(M, 1), model.name == other, "linear-vae", M - 1
'''
    assert check_source(source, "symrep/ok.py", _CLASSES, _NAMES) == []


def test_a_branch_added_to_a_module_of_the_package_fails_the_rule(monkeypatch):
    # the mutation on a copy of a real module: the rule's test must catch it
    target = PACKAGE / "replica" / "free_energy.py"
    mutated = target.read_text(encoding="utf-8") + "\n\nif model.M == 1:\n    pass\n"
    original = Path.read_text

    def read_text(self, *args, **kwargs):
        return mutated if self == target else original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read_text)
    with pytest.raises(AssertionError, match=r"symrep/replica/free_energy\.py:\d+: "
                                             r"compares a number of units"):
        test_code_outside_the_model_modules_asks_the_model()


if __name__ == "__main__":  # pragma: no cover - a quick listing while editing
    for f in findings():
        print(f, "" if f.key in ALLOWED or f.key in PENDING else "  <-- not listed",
              file=sys.stdout)
