"""Write the generated modules that ship with the package (``symrep/numeric/generated``).

The one-unit saddle-point system (NumPy and math backends), the unit map and the
large-alpha expansion are generated from the derivation on first use; shipping them
makes the first ``symrep solve`` of a fresh install fast and free of SymPy, and the
first use of :func:`symrep.asymptotics.large_alpha_expansion` take milliseconds instead
of about 20 s of SymPy. Their file names carry the
key of the source files they come from, so an edit of those sources makes the shipped
copy stale: the test suite checks that the current keys are shipped, and this command
rewrites them (old copies are removed)::

    .venv/bin/python -m symrep.numeric.ship
"""

from __future__ import annotations

import sys

from symrep.io import atomic_write_text
from symrep.numeric import codegen, system, unit_map

__all__ = ["shipped_modules", "write_shipped"]


def shipped_modules():
    """``name -> (shipped key, build)`` of every module shipped this way.

    Returns
    -------
    dict
        Maps each module name (``saddle_point_numpy``, ``saddle_point_math``,
        ``unit_map``, ``large_alpha``) to its version-free key and a function of no
        arguments that returns its source.
    """
    out = {}
    for backend in ("numpy", "math"):
        out[f"saddle_point_{backend}"] = (
            codegen.source_key(system._SOURCES, extra=(backend,), versions=False),
            lambda backend=backend: system._build_source(backend))
    out["unit_map"] = (codegen.source_key(unit_map._SOURCES, extra=("unit_map",),
                                          versions=False), unit_map._build_source)
    # imported here: the asymptotics package imports the solvers, which import this
    # package's generated code
    from symrep.asymptotics import large_alpha

    out["large_alpha"] = (large_alpha._cache_key(versions=False), large_alpha._build_source)
    return out


def write_shipped(log=print):
    """Regenerate every shipped module for the current sources; remove stale copies.

    Parameters
    ----------
    log : callable, optional
        Called with one line per file written (default ``print``).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    written = []
    for name, (key, build) in shipped_modules().items():
        path = codegen.shipped_path(name, key)
        for old in codegen.SHIPPED.glob(f"{name}_*.py"):
            if old != path:
                old.unlink()
        atomic_write_text(path, build())
        written.append(path)
        log(f"wrote {path}")
    return written


if __name__ == "__main__":
    write_shipped(log=lambda text: print(text, file=sys.stderr))
