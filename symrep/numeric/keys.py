"""Keys of generated code: hashes of everything the code is generated from.

Generated code (the disk cache of :mod:`symrep.numeric.codegen` and the modules shipped in
``symrep/numeric/generated``) is valid only for the sources it was generated from. Those
are the files of the derivation and of the code generator, and the model's definition:
the source file of the model's class and of every class in its method resolution order
(a subclass of :class:`~symrep.model.LinearVAE` in a user's file brings that file), with
the classes' names and the model's ``repr`` (its fields). Editing any of them changes
the key, so stale code is never loaded.

Plain Python (no SymPy): the key of a shipped module is checked on every first solve.
Every function takes an optional ``root``: a copy of the ``symrep`` package folder whose
files replace the installed ones in the key (files outside the package, such as a user's
model, are read where they are). The tests use it to show that an edit of a copy changes
the keys.
"""

from __future__ import annotations

import hashlib
import inspect
import linecache
import os
from functools import cache
from pathlib import Path

__all__ = ["PACKAGE", "relocate", "class_sources", "definition_key", "default_model_sources",
           "model_code_sources", "model_code_key"]

#: The installed ``symrep`` package folder.
PACKAGE = Path(__file__).resolve().parents[1]


def relocate(paths, root=None) -> list[Path]:
    """The paths with the package folder replaced by ``root``.

    Parameters
    ----------
    paths : iterable of str or path-like
        Source files.
    root : str or path-like, optional
        A copy of the ``symrep`` package folder (default None: the paths unchanged).

    Returns
    -------
    list of pathlib.Path
        Each path inside :data:`PACKAGE` moved to the same place under ``root``; other
        paths unchanged.
    """
    out = []
    for p in paths:
        p = Path(p)
        if root is not None:
            try:
                p = Path(root) / p.resolve().relative_to(PACKAGE)
            except ValueError:  # outside the package: a user's file
                pass
        out.append(p)
    return out


def _classes(model_or_class) -> tuple[type, ...]:
    cls = model_or_class if isinstance(model_or_class, type) else type(model_or_class)
    return tuple(c for c in cls.__mro__ if c is not object)


def class_sources(model_or_class) -> tuple[str, ...]:
    """The source files of a model's class and of every class in its MRO but ``object``.

    Parameters
    ----------
    model_or_class : object or type
        A model, or its class.

    Returns
    -------
    tuple of str
        The files (``inspect.getsourcefile``), in MRO order, without repetitions. For a
        class defined in an interactive session the name is the one ``linecache`` knows
        it by (:func:`definition_key` reads its text from there).

    Raises
    ------
    ValueError
        If a class has no source (a built-in class, or one defined where no text of it
        is kept, as in ``python -c``): its code could not be keyed by its definition.
    """
    out = []
    for cls in _classes(model_or_class):
        try:
            path = inspect.getsourcefile(cls)
        except (TypeError, OSError):
            path = None
        if path is None or not (os.path.exists(path) or linecache.getlines(path)):
            raise ValueError(
                f"model class {cls.__module__}.{cls.__qualname__} has no source file: "
                "define the model in a module (a .py file) so that its generated code "
                "can be keyed by its definition")
        if path not in out:
            out.append(path)
    return tuple(out)


def _read(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes()
    return "".join(linecache.getlines(str(path))).encode()  # an interactive session's cell


def definition_key(model, root=None) -> str:
    """Hex digest of a model's definition: its classes' sources, names and its ``repr``.

    Parameters
    ----------
    model : object
        A model (:class:`~symrep.model.LinearVAE` or any class of the model protocol).
    root : str or path-like, optional
        A copy of the ``symrep`` package folder to read the package's files from
        (default None: the installed package).

    Returns
    -------
    str
        The SHA-256 hex digest. It changes with the content (not the folder) of any source
        file of a class in the model's MRO, with the classes' qualified names and with
        the model's fields as ``repr`` shows them.

    Raises
    ------
    ValueError
        If a class of the model has no source (:func:`class_sources`).
    """
    if root is None:
        return _installed_definition_key(type(model), repr(model))
    return _definition_key(type(model), repr(model), root)


@cache
def _installed_definition_key(cls, text: str) -> str:
    # one digest per class object and fields: a module edited and reloaded defines a
    # new class object, keyed afresh
    return _definition_key(cls, text, None)


def _definition_key(cls, text: str, root) -> str:
    h = hashlib.sha256()
    for path in relocate(class_sources(cls), root):
        h.update(path.name.encode() + b"\0" + _read(path) + b"\0")
    for c in _classes(cls):
        h.update(f"{c.__module__}.{c.__qualname__}\0".encode())
    h.update(text.encode())
    return h.hexdigest()


def default_model_sources() -> list[Path]:
    """The files of the model the one-unit derivation uses by default (``LinearVAE()``).

    The one-unit generated modules (:mod:`symrep.numeric.system`,
    :mod:`symrep.numeric.unit_map`, the large-alpha expansion) are derived from its
    objective, so its classes' files enter their keys, with the layout of the unknowns
    that ``model.py`` reads.

    Returns
    -------
    list of pathlib.Path
        The source files of ``LinearVAE``'s classes, then ``numeric/layout.py``.
    """
    from symrep.models import default_model

    return [Path(p) for p in class_sources(default_model())] + [PACKAGE / "numeric" / "layout.py"]


def model_code_sources(root=None) -> list[Path]:
    """The files a model's generated saddle-point code is generated from, besides the
    model's own classes (:func:`class_sources`).

    Parameters
    ----------
    root : str or path-like, optional
        A copy of the ``symrep`` package folder (default None: the installed package).

    Returns
    -------
    list of pathlib.Path
        ``model.py`` (the default model of the derivation and the symbols of every model),
        the layout of the unknowns, the code generators, ``symbols.py`` and the
        derivation (``replica/*.py``).
    """
    package = PACKAGE if root is None else Path(root)
    return ([package / "model.py", package / "numeric" / "layout.py",
             package / "numeric" / "model_codegen.py", package / "numeric" / "codegen.py",
             package / "symbols.py"]
            + sorted((package / "replica").glob("*.py")))


def model_code_key(model, *, jacobian: bool, versions: bool = True, root=None) -> str:
    """Key of the generated saddle-point code of ``model``.

    Parameters
    ----------
    model : object
        The model (:class:`~symrep.model.LinearVAE` or a subclass).
    jacobian : bool
        Whether the code includes the residual's Jacobian.
    versions : bool, optional
        Include the SymPy and NumPy versions (default True: the key of the disk cache);
        False gives the key written into the shipped modules (``SOURCE_KEY``).
    root : str or path-like, optional
        A copy of the ``symrep`` package folder (default None: the installed package).

    Returns
    -------
    str
        The SHA-256 hex digest of :func:`model_code_sources`, :func:`definition_key`,
        the model's key, the backend and ``jacobian``.

    Raises
    ------
    ValueError
        If a class of the model has no source (:func:`class_sources`).
    """
    from symrep.numeric.codegen import source_key

    return source_key(model_code_sources(root),
                      extra=(definition_key(model, root), model.key, "numpy",
                             f"jacobian={bool(jacobian)}"),
                      versions=versions)
