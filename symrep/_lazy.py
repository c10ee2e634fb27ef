"""Attributes of a package imported on first use (PEP 562 module ``__getattr__``)."""

from __future__ import annotations

import importlib

__all__ = ["lazy_getattr"]


def lazy_getattr(package, lazy, namespace):
    """A module ``__getattr__`` that imports ``lazy[name]`` when ``name`` is first used.

    Parameters
    ----------
    package : str
        The package's name (for the AttributeError of an unknown name).
    lazy : dict
        Attribute name -> module that defines it.
    namespace : dict
        The package's ``globals()``: a loaded attribute is stored there, so the next use
        does not come back here.
    """

    def __getattr__(name):
        if name in lazy:
            value = getattr(importlib.import_module(lazy[name]), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
