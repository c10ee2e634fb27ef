"""Attribute access to the model-specific fields of a result (``result.sigma2``).

Model-specific order parameters (those of a model's ``theory_extras``, such as the
learned decoder variance ``sigma2``) live in the ``extras`` dict of a result, theory or
simulation; :class:`Extras` makes them readable as attributes. No NumPy or torch is
imported here: the solvers and the simulation both use it.
"""

from __future__ import annotations

__all__ = ["Extras"]


class Extras:
    """Mixin: an attribute not found otherwise is looked up in ``self.extras``."""

    __slots__ = ()

    def __getattr__(self, name):
        # only called when ordinary lookup fails; never for dunders (copy and pickle
        # probe them before the instance has its fields)
        extras = self.__dict__.get("extras") if not name.startswith("__") else None
        if extras and name in extras:
            return extras[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
