"""Generate NumPy code from SymPy expressions and cache it on disk as a Python module.

Each generated function evaluates a list of expressions with one common-subexpression
elimination over all of them (outputs of one function share most of their work). The
module source is written to the cache folder under a name derived from a key; a later
process imports it directly, without importing SymPy. The key is a hash of the source
files that define the expressions, the SymPy, NumPy and symrep versions and the code
generation options, so editing the symbolic code invalidates the cache.

Cache folder: ``$SYMREP_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/symrep`` or
``~/.cache/symrep``. When it cannot be written, the code is compiled in memory.

Every cached module ends with a SHA-256 of its source (:func:`symrep.io.write_checksummed`,
a comment line, so the file stays a valid module), written atomically. A reader runs the
source only when the checksum holds, and compiles it from the bytes it verified (not
through the import system, whose bytecode cache keyed by file time and size could run
stale code). A truncated, empty, edited or foreign file is regenerated.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from symrep.io import read_checksummed, write_checksummed

__all__ = ["cache_dir", "source_key", "load_or_generate", "generate_source"]

_FORMAT = 2  # bump when the layout of generated modules changes (2: checksum)


def cache_dir() -> Path:
    """Folder of the generated modules.

    Returns
    -------
    pathlib.Path
        ``$SYMREP_CACHE_DIR`` if set, else ``symrep`` under ``$XDG_CACHE_HOME`` (default
        ``~/.cache``).
    """
    env = os.environ.get("SYMREP_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "symrep"


def source_key(paths, extra=(), *, versions=True) -> str:
    """Hex digest of the given source files and extra strings (versions, options).

    With ``versions=False`` the installed SymPy and NumPy versions are left out: the key
    of the modules shipped with the package (:func:`shipped_path`), which a fresh install
    loads whatever versions it has.

    Parameters
    ----------
    paths : iterable of str or path-like
        Source files whose names and contents enter the key (in sorted order).
    extra : iterable, optional
        Further items whose ``str`` enters the key (default none).
    versions : bool, optional
        Include the installed SymPy and NumPy versions (default True).

    Returns
    -------
    str
        The SHA-256 hex digest, which also covers the symrep version and the code format.
    """
    h = hashlib.sha256()
    for p in sorted(str(p) for p in paths):
        h.update(Path(p).name.encode())
        h.update(Path(p).read_bytes())
    if versions:  # importlib.metadata costs milliseconds: only for the cache's keys
        from importlib.metadata import PackageNotFoundError, version
    for pkg in ("sympy", "numpy") if versions else ():
        try:
            h.update(f"{pkg}={version(pkg)}".encode())
        except PackageNotFoundError:  # pragma: no cover
            h.update(f"{pkg}=?".encode())
    from symrep._version import __version__

    h.update(f"symrep={__version__};format={_FORMAT}".encode())
    for item in extra:
        h.update(str(item).encode())
    return h.hexdigest()


def generate_source(functions, header="", module="numpy", constants=None,
                    expand_powers=False) -> str:
    """Python source of a module defining one function per entry.

    Parameters
    ----------
    functions : dict
        ``name -> (args, exprs)``: a sequence of SymPy symbols (the positional
        arguments) and a sequence of SymPy expressions (the outputs).
    header : str
        Module docstring.
    constants : dict, optional
        ``name -> value`` written as module constants (``repr`` of numbers, strings and
        tuples of them).
    module : {"numpy", "math"}
        "numpy" code is vectorised over array arguments; "math" code works on Python
        floats only and is an order of magnitude faster for single points.
    expand_powers : bool
        Print integer powers up to 8 as products (``x*x*x``, ``1/(x*x)``): NumPy
        evaluates other powers than 2 through ``pow``, several times slower.

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
        base = NumPyPrinter
    elif module == "math":
        base = PythonCodePrinter
    else:
        raise ValueError(f"module = {module!r} is invalid: must be 'numpy' or 'math'")
    printer = (_products(base) if expand_powers else base)(
        {"fully_qualified_modules": True, "inline": True})
    lines = [f'"""{header}"""', f"import {module}", ""]
    for name, value in (constants or {}).items():
        lines.append(f"{name} = {value!r}")
    if constants:
        lines.append("")
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


def _products(base):
    """A printer class that writes small integer powers as products."""
    from sympy.printing.precedence import PRECEDENCE

    class Printer(base):
        def _print_Pow(self, expr, rational=False):
            b, e = expr.as_base_exp()
            if e.is_Integer and 1 <= abs(int(e)) <= 8 and not b.is_Number:
                factor = self.parenthesize(b, PRECEDENCE["Mul"] + 1)
                product = "*".join([factor] * abs(int(e)))
                return f"({product})" if e > 0 else f"(1/({product}))"
            return super()._print_Pow(expr, rational)

    return Printer


def _identifier(name: str) -> str:
    out = "".join(c if c.isalnum() else "_" for c in name)
    return out or "x"


def _exec_source(source: str, module_name: str, filename: str | None = None):
    import types

    module = types.ModuleType(module_name)
    if filename is not None:
        module.__file__ = filename
    # kept for symrep.numeric.compiled, which rebuilds the expressions from it (a module
    # in memory only has no file to read it back from)
    module._symrep_source = source
    exec(compile(source, filename or f"<{module_name}>", "exec"), module.__dict__)
    return module


def _load_verified(path: Path, module_name: str):
    """The cached module at ``path``, or None if it fails its checksum or does not run."""
    data = read_checksummed(path)
    if data is None:
        return None
    try:
        return _exec_source(data.decode("utf-8"), module_name, str(path))
    except Exception:  # a checksummed file from an incompatible environment: regenerate
        return None


#: Folder of the generated modules that ship with the package.
SHIPPED = Path(__file__).resolve().parent / "generated"


def shipped_path(name: str, shipped_key: str) -> Path:
    """Where the shipped module ``name`` for the version-free key lives.

    Parameters
    ----------
    name : str
        The module's name (the model key and backend).
    shipped_key : str
        The version-free key of :func:`source_key`; its first 16 digits enter the name.

    Returns
    -------
    pathlib.Path
        The file in the package's folder of shipped modules.
    """
    return SHIPPED / f"{name}_{shipped_key[:16]}.py"


def load_or_generate(name: str, key: str, build, *, shipped_key: str | None = None):
    """Import the generated module for ``key``, generating it with ``build()`` if needed.

    Parameters
    ----------
    name : str
        Stem of the module file.
    key : str or callable
        Cache key (see :func:`source_key`), or a function that returns it: called only
        when the shipped module is not used (the key of the cache reads the installed
        versions of SymPy and NumPy, which the shipped module does not need).
    build : callable
        Returns the module source; called only when the cache has no valid copy
        (missing, or failing its checksum: truncated, empty, edited or foreign).
    shipped_key : str, optional
        Key of the source files alone (``source_key(..., versions=False)``): where the
        package ships the module for it (:func:`shipped_path`, written by
        ``python -m symrep.numeric.ship``), it is loaded without SymPy or the cache.

    Returns
    -------
    module
    """
    if shipped_key is not None and shipped_path(name, shipped_key).exists():
        module_name = f"_symrep_shipped_{name}_{shipped_key[:16]}"
        if module_name in sys.modules:
            return sys.modules[module_name]
        path = shipped_path(name, shipped_key)
        module = _exec_source(path.read_text(encoding="utf-8"), module_name, str(path))
        sys.modules[module_name] = module
        return module
    key = key() if callable(key) else key
    module_name = f"_symrep_generated_{name}_{key[:16]}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    path = cache_dir() / f"{name}_{key[:16]}.py"
    module = _load_verified(path, module_name)
    if module is None:
        source = build()
        filename = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_checksummed(path, source.encode("utf-8"))
            filename = str(path)
        except OSError:  # read-only cache folder: the module lives in memory only
            pass
        module = _exec_source(source, module_name, filename)
    sys.modules[module_name] = module
    return module
