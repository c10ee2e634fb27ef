"""Every public function and method of symrep has a numpydoc docstring.

Public means a name without a leading underscore, in a module whose name has none, defined
in that module (not imported into it). Each such function needs a docstring; one that
takes arguments (other than ``self`` or ``cls``) needs a ``Parameters`` section, and one
whose body has a ``return <value>`` needs a ``Returns`` section (``Yields`` for a
generator). Property getters are documented as attributes (numpydoc), so they need a
docstring only. The generated numerics (``symrep/numeric/generated/``) are exempt: their
docstrings come from the generator.

Importing every module is cheap: no module derives or computes anything on import.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import symrep

EXEMPT_PACKAGES = ("symrep.numeric.generated",)


def _public_modules() -> list[str]:
    names = ["symrep"]
    for info in pkgutil.walk_packages(symrep.__path__, "symrep."):
        name = info.name
        if any(name == p or name.startswith(p + ".") for p in EXEMPT_PACKAGES):
            continue
        if any(part.startswith("_") for part in name.split(".")):
            continue
        names.append(name)
    return sorted(names)


def _section(doc: str, *titles: str) -> bool:
    pattern = r"^\s*(" + "|".join(titles) + r")\s*\n\s*-{3,}\s*$"
    return re.search(pattern, doc, flags=re.MULTILINE) is not None


def _own_nodes(node: ast.AST):
    """The nodes of a function's body, not descending into nested scopes."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        yield child
        yield from _own_nodes(child)


def _returns_value(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for child in _own_nodes(node):
        if isinstance(child, ast.Return) and child.value is not None:
            if not (isinstance(child.value, ast.Constant) and child.value.value is None):
                return True
    return False


def _yields(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(c, (ast.Yield, ast.YieldFrom)) for c in _own_nodes(node))


def _function_nodes(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    """Function definitions by qualified name (module level and in classes)."""
    nodes: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}

    def visit(body, prefix):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                # the last definition wins, as at run time (overloads, property setters)
                nodes.setdefault(prefix + node.name, node)
                if any(_decorator_name(d) in ("overload", "setter") for d in node.decorator_list):
                    continue
                nodes[prefix + node.name] = node
            elif isinstance(node, ast.ClassDef):
                visit(node.body, prefix + node.name + ".")
            elif isinstance(node, (ast.If, ast.Try, ast.With)):
                visit(node.body, prefix)
                for extra in ("orelse", "finalbody"):
                    visit(getattr(node, extra, []), prefix)
                for handler in getattr(node, "handlers", []):
                    visit(handler.body, prefix)

    visit(tree.body, "")
    return nodes


def _decorator_name(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def _arguments(node: ast.FunctionDef | ast.AsyncFunctionDef, in_class: bool) -> list[str]:
    a = node.args
    names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
    if a.vararg:
        names.append(a.vararg.arg)
    if a.kwarg:
        names.append(a.kwarg.arg)
    static = any(_decorator_name(d) == "staticmethod" for d in node.decorator_list)
    if in_class and not static and names and names[0] in ("self", "cls", "mcs"):
        names = names[1:]
    return names


def _public_functions(module):
    """(qualified name, function object, is property getter) defined in the module."""
    for name, obj in vars(module).items():
        if name.startswith("_"):
            continue
        if inspect.isfunction(obj) and obj.__module__ == module.__name__:
            yield name, inspect.unwrap(obj), False
        elif inspect.isclass(obj) and obj.__module__ == module.__name__:
            yield from _methods(obj, name)


def _methods(cls, prefix):
    for name, attr in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(attr, (staticmethod, classmethod)):
            attr = attr.__func__
        if isinstance(attr, property):
            if attr.fget is not None:
                yield f"{prefix}.{name}", inspect.unwrap(attr.fget), True
        elif inspect.isfunction(attr) and attr.__module__ == cls.__module__:
            yield f"{prefix}.{name}", inspect.unwrap(attr), False
        elif inspect.isclass(attr) and attr.__module__ == cls.__module__:
            yield from _methods(attr, f"{prefix}.{name}")


def _problems(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    nodes = _function_nodes(tree)
    problems = []
    for qualname, func, is_property in _public_functions(module):
        node = nodes.get(func.__qualname__)
        if node is None or "<locals>" in func.__qualname__:
            continue  # made by a factory; documented where it is made
        doc = inspect.getdoc(func) or ""
        where = f"{module_name}.{qualname}"
        if not doc.strip():
            problems.append(f"{where}: no docstring")
            continue
        if is_property:
            continue
        in_class = "." in func.__qualname__
        if _arguments(node, in_class) and not _section(doc, "Parameters"):
            problems.append(f"{where}: no Parameters section")
        if _yields(node):
            if not _section(doc, "Yields"):
                problems.append(f"{where}: no Yields section")
        elif _returns_value(node) and not _section(doc, "Returns"):
            problems.append(f"{where}: no Returns section")
    return problems


@pytest.mark.parametrize("module_name", _public_modules())
def test_public_functions_have_numpydoc_docstrings(module_name):
    problems = _problems(module_name)
    assert not problems, "\n".join(problems)


def test_the_check_finds_missing_sections():
    source = '''
def f(a, b):
    """Summary only."""
    return a + b

def g():
    """Summary.

    Returns
    -------
    int
        One.
    """
    return 1
'''
    tree = ast.parse(source)
    nodes = _function_nodes(tree)
    assert _arguments(nodes["f"], False) == ["a", "b"]
    assert _returns_value(nodes["f"]) and _returns_value(nodes["g"])
    assert not _section("Summary only.", "Parameters")
    assert _section(inspect.cleandoc(nodes["g"].body[0].value.value), "Returns")
