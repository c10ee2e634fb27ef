"""Generate NumPy code from SymPy expressions and cache it on disk as a Python module.

Each generated function evaluates a list of expressions with one common-subexpression
elimination over all of them (outputs of one function share most of their work). The
module source is written to the cache folder under a name derived from a key; a later
process imports it directly, without importing SymPy. The key is a hash of the source
files that define the expressions, the SymPy, NumPy and symrep versions and the code
generation options, so editing the symbolic code invalidates the cache.

Cache folder: ``$SYMREP_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/symrep`` or
``~/.cache/symrep``. When it cannot be written, the code is compiled in memory.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

__all__ = ["cache_dir", "source_key", "load_or_generate", "generate_source"]

_FORMAT = 1  # bump when the layout of generated modules changes


def cache_dir() -> Path:
    """Folder of the generated modules."""
    env = os.environ.get("SYMREP_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "symrep"


def source_key(paths, extra=()) -> str:
    """Hex digest of the given source files and extra strings (versions, options)."""
    from importlib.metadata import PackageNotFoundError, version

    h = hashlib.sha256()
    for p in sorted(str(p) for p in paths):
        h.update(Path(p).name.encode())
        h.update(Path(p).read_bytes())
    for pkg in ("sympy", "numpy"):
        try:
            h.update(f"{pkg}={version(pkg)}".encode())
        except PackageNotFoundError:  # pragma: no cover
            h.update(f"{pkg}=?".encode())
    from symrep._version import __version__

    h.update(f"symrep={__version__};format={_FORMAT}".encode())
    for item in extra:
        h.update(str(item).encode())
    return h.hexdigest()


def generate_source(functions, header="", module="numpy") -> str:
    """Python source of a module defining one function per entry.

    Parameters
    ----------
    functions : dict
        ``name -> (args, exprs)``: a sequence of SymPy symbols (the positional
        arguments) and a sequence of SymPy expressions (the outputs).
    header : str
        Module docstring.
    module : {"numpy", "math"}
        "numpy" code is vectorised over array arguments; "math" code works on Python
        floats only and is an order of magnitude faster for single points.

    Returns
    -------
    str
        Source defining ``name(*args) -> list`` for every entry. Symbols are renamed to
        valid identifiers, so names such as ``lambda`` are allowed.
    """
    import sympy as sp
    from sympy.printing.numpy import NumPyPrinter
    from sympy.printing.pycode import PythonCodePrinter

    if module == "numpy":
        printer = NumPyPrinter({"fully_qualified_modules": True, "inline": True})
    elif module == "math":
        printer = PythonCodePrinter({"fully_qualified_modules": True, "inline": True})
    else:
        raise ValueError(f"module = {module!r} is invalid: must be 'numpy' or 'math'")
    lines = [f'"""{header}"""', f"import {module}", ""]
    for name, (args, exprs) in functions.items():
        safe = {s: sp.Symbol(f"a{i}_{_identifier(s.name)}") for i, s in enumerate(args)}
        exprs = [sp.sympify(e).xreplace(safe) for e in exprs]
        # sort before CSE: its output depends on the order in which it meets terms
        replacements, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("_t"),
                                       order="canonical")
        arg_names = ", ".join(str(safe[s]) for s in args)
        lines.append(f"def {name}({arg_names}):")
        for sym, sub in replacements:
            lines.append(f"    {sym} = {printer.doprint(sub)}")
        outs = ", ".join(printer.doprint(e) for e in reduced)
        lines.append(f"    return [{outs}]")
        lines.append("")
    return "\n".join(lines)


def _identifier(name: str) -> str:
    out = "".join(c if c.isalnum() else "_" for c in name)
    return out or "x"


def _import_file(path: Path, module_name: str):
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _exec_source(source: str, module_name: str):
    import types

    module = types.ModuleType(module_name)
    exec(compile(source, f"<{module_name}>", "exec"), module.__dict__)
    return module


def load_or_generate(name: str, key: str, build):
    """Import the generated module for ``key``, generating it with ``build()`` if needed.

    Parameters
    ----------
    name : str
        Stem of the module file.
    key : str
        Cache key (see :func:`source_key`).
    build : callable
        Returns the module source; called only on a cache miss.

    Returns
    -------
    module
    """
    module_name = f"_symrep_generated_{name}_{key[:16]}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    path = cache_dir() / f"{name}_{key[:16]}.py"
    if path.is_file():
        try:
            module = _import_file(path, module_name)
        except Exception:  # a truncated or foreign file: regenerate below
            module = None
        if module is not None:
            sys.modules[module_name] = module
            return module
    source = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            fh.write(source)
        os.replace(tmp, path)  # atomic: concurrent processes never see half a file
        module = _import_file(path, module_name)
    except OSError:
        module = _exec_source(source, module_name)
    sys.modules[module_name] = module
    return module
