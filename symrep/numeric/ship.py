"""Write the generated modules that ship with the package (``symrep/numeric/generated``).

The one-unit saddle-point system (NumPy and math backends), the unit map, the
large-alpha expansion and the parameter derivatives are generated from the derivation
on first use; shipping them makes the first ``symrep solve`` of a fresh install fast
and free of SymPy, and the first use of
:func:`symrep.asymptotics.large_alpha_expansion` take milliseconds instead of about
20 s of SymPy. Their file names carry the key of the source files they come
from (the derivation, the code generator and the model's definition, ``symrep/model.py``),
so an edit of those sources makes the shipped copy stale. The linear VAEs' modules
(``linear_vae_M<M>_Mstar<M*>.py``) carry their key in the constant ``SOURCE_KEY`` and are
used only while it is current (:mod:`symrep.numeric.generated_system`).

The test suite checks that every shipped key is current (:func:`stale_shipped`). After
an edit of the sources, this command rewrites them (old copies are removed)::

    .venv/bin/python -m symrep.numeric.ship

It regenerates the one-unit modules and ``linear_vae_M1_Mstar1`` (about a minute of
SymPy) and writes the new key into the larger linear VAE modules, whose regeneration
takes minutes (``--all`` regenerates them too): only when the regenerated
``linear_vae_M1_Mstar1`` code is unchanged, else it stops and asks for ``--all``. After
edits that change no generated code (comments, documentation, methods the derivation
does not call), the one-liner without SymPy, seconds::

    .venv/bin/python -m symrep.numeric.ship --rename

renames the one-unit modules to their new keys and writes the new key into every
linear VAE module. Either way the tests that regenerate the modules
(``tests/test_shipped_code.py``, ``tests/test_model.py``, the larger ones under the
``slow`` mark) check that the content is what the current sources give.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from symrep.io import atomic_write_text
from symrep.numeric import codegen, system, unit_map

__all__ = ["shipped_modules", "model_module_keys", "stale_shipped", "write_shipped",
           "rename_shipped", "main"]


def shipped_modules(root=None):
    """``name -> (shipped key, build)`` of every module shipped under its key's name.

    Parameters
    ----------
    root : path-like, optional
        A copy of the ``symrep`` package folder whose sources give the keys (default
        None: the installed package).

    Returns
    -------
    dict
        Maps each module name (``saddle_point_numpy``, ``saddle_point_math``,
        ``unit_map``, ``large_alpha``, ``sensitivities``) to its version-free key and a
        function of no arguments that returns its source (from the installed package).
    """
    out = {}
    for backend in ("numpy", "math"):
        out[f"saddle_point_{backend}"] = (
            system._key(backend, versions=False, root=root),
            lambda backend=backend: system._build_source(backend))
    out["unit_map"] = (unit_map._key(versions=False, root=root), unit_map._build_source)
    # imported here: the asymptotics package imports the solvers, which import this
    # package's generated code
    from symrep.asymptotics import large_alpha

    out["large_alpha"] = (large_alpha._cache_key(versions=False, root=root),
                          large_alpha._build_source)
    from symrep.numeric import sensitivities

    out["sensitivities"] = (sensitivities._key(versions=False, root=root),
                            sensitivities._build_source)
    return out


def model_module_keys(root=None) -> dict:
    """``(M, M*) -> key`` the shipped linear VAE modules must carry in ``SOURCE_KEY``.

    Parameters
    ----------
    root : path-like, optional
        A copy of the ``symrep`` package folder whose sources give the keys (default
        None: the installed package).

    Returns
    -------
    dict
        One entry per model of :data:`symrep.numeric.generated_system.SHIPPED`.
    """
    from symrep.models import default_model
    from symrep.numeric import generated_system as gs
    from symrep.numeric.keys import model_code_key

    return {size: model_code_key(default_model(*size), jacobian=gs._with_jacobian(
                default_model(*size)), versions=False, root=root)
            for size in gs.SHIPPED}


def stale_shipped(root=None) -> list[str]:
    """What is stale among the shipped modules: one line per missing or outdated file.

    Parameters
    ----------
    root : path-like, optional
        A copy of the ``symrep`` package folder: its sources give the keys and its
        ``numeric/generated`` folder holds the modules checked (default None: the
        installed package).

    Returns
    -------
    list of str
        Empty when every shipped module carries the key of the current sources.
    """
    from symrep.numeric.generated_system import shipped_source_key

    folder = _folder(root)
    problems = []
    for name, (key, _) in shipped_modules(root).items():
        path = folder / codegen.shipped_path(name, key).name
        if not path.exists():
            problems.append(f"{path.name} is missing")
        problems += [f"{p.name} is stale" for p in sorted(folder.glob(f"{name}_*.py"))
                     if p.name != path.name]
    for (M, Mstar), key in model_module_keys(root).items():
        found = shipped_source_key(M, Mstar, folder)
        if found != key:
            problems.append(f"linear_vae_M{M}_Mstar{Mstar}.py has SOURCE_KEY {found!r}, "
                            f"not {key!r}")
    return problems


def _folder(root=None) -> Path:
    return codegen.SHIPPED if root is None else Path(root) / "numeric" / "generated"


def _one_unit_files(root=None):
    """``name -> (path for the current key, [other files of that name], build)``."""
    folder = _folder(root)
    out = {}
    for name, (key, build) in shipped_modules(root).items():
        path = folder / codegen.shipped_path(name, key).name
        others = sorted(p for p in folder.glob(f"{name}_*.py") if p != path)
        out[name] = (path, others, build)
    return out


def write_shipped(log=print, every_model: bool = False):
    """Regenerate the shipped modules for the current sources; remove stale copies.

    The one-unit modules and ``linear_vae_M1_Mstar1`` are regenerated. The larger
    linear VAE modules are regenerated with ``every_model`` (minutes); otherwise their
    ``SOURCE_KEY`` is updated, but only if ``linear_vae_M1_Mstar1``'s code came out
    unchanged (an edit that changes the model's code changes theirs too).

    Parameters
    ----------
    log : callable, optional
        Called with one line per file written (default ``print``).
    every_model : bool, optional
        Regenerate every linear VAE module (default False).

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    RuntimeError
        If the (1, 1) model's code changed and ``every_model`` is False: the larger
        modules must be regenerated (their keys are left stale).
    """
    from symrep.models import default_model
    from symrep.numeric import generated_system as gs

    written = []
    for path, others, build in _one_unit_files().values():
        for old in others:
            old.unlink()
        atomic_write_text(path, build())
        written.append(path)
        log(f"wrote {path}")
    larger = [size for size in gs.SHIPPED if size != (1, 1)]
    if every_model:
        for path in gs.write_shipped_modules():
            written.append(path)
            log(f"wrote {path}")
        return written
    path = gs.shipped_module_path(1, 1)
    before = _without_key(path.read_text(encoding="utf-8"))
    atomic_write_text(path, gs._source(default_model(1, 1)))
    written.append(path)
    log(f"wrote {path}")
    if _without_key(path.read_text(encoding="utf-8")) != before:
        raise RuntimeError(
            f"the code of {path.name} changed: the larger models' code must be "
            "regenerated too (minutes): python -m symrep.numeric.ship --all")
    for path in gs.stamp_shipped_modules(larger):
        written.append(path)
        log(f"wrote the key into {path}")
    return written


def _without_key(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if not line.startswith("SOURCE_KEY = "))


def rename_shipped(log=print, root=None):
    """Give the shipped modules the keys of the current sources without regenerating them.

    For edits that change no generated code (no SymPy, seconds): each one-unit module
    is renamed to its new key and every linear VAE module gets its new ``SOURCE_KEY``.
    The tests that regenerate the modules check that this was right.

    Parameters
    ----------
    log : callable, optional
        Called with one line per file renamed or rewritten (default ``print``).
    root : path-like, optional
        A copy of the ``symrep`` package folder to work on (default None: the installed
        package).

    Returns
    -------
    list of pathlib.Path
        The files renamed or rewritten.

    Raises
    ------
    FileNotFoundError
        If a one-unit module has no file at all to rename (regenerate it instead).
    """
    from symrep.numeric import generated_system as gs

    written = []
    for name, (path, others, _) in _one_unit_files(root).items():
        if path.exists():
            for old in others:
                old.unlink()
            continue
        if len(others) != 1:
            raise FileNotFoundError(f"{len(others)} shipped files of {name} to rename "
                                    f"to {path.name}: run python -m symrep.numeric.ship")
        others[0].rename(path)
        written.append(path)
        log(f"renamed {others[0].name} to {path.name}")
    for path in gs.stamp_shipped_modules(folder=None if root is None else _folder(root),
                                         root=root):
        written.append(path)
        log(f"wrote the key into {path}")
    return written


def main(argv=None) -> int:
    """Command line: regenerate (default), ``--all`` or ``--rename`` the shipped modules.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0, or 1 when the larger modules must be regenerated (``--all``).
    """
    parser = argparse.ArgumentParser(prog="python -m symrep.numeric.ship",
                                     description=__doc__.split("\n\n")[0])
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--all", action="store_true",
                     help="regenerate every linear VAE module too (minutes)")
    how.add_argument("--rename", action="store_true",
                     help="rename and re-key without regenerating (no SymPy)")
    args = parser.parse_args(argv)

    def log(text):
        print(text, file=sys.stderr)

    if args.rename:
        rename_shipped(log=log)
        return 0
    try:
        write_shipped(log=log, every_model=args.all)
    except RuntimeError as error:
        log(f"error: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
