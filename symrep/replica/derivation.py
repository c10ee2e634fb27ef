"""The record of one derivation step: what was done, the equations, and the result.

Each step of the replica calculation is a function returning a :class:`Step`. Its
``result`` is the SymPy object later steps use (and the tests check); ``text`` and
``equations`` are what ``symrep derive`` writes as LaTeX.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Equation", "Step"]


@dataclass(frozen=True)
class Equation:
    """``lhs = rhs`` for the LaTeX output; ``lhs`` is LaTeX, ``rhs`` a SymPy object.

    Attributes
    ----------
    lhs : str
        LaTeX of the left-hand side.
    rhs : sympy object
        The right-hand side.
    relation : str
        LaTeX of the relation.
    display : dict or None
        None: ``rhs`` is printed by SymPy's LaTeX printer (and broken over lines where
        it is too wide). A dict: ``rhs`` is an expression built unevaluated in the
        arrangement to show, printed on one line by
        :func:`symrep.replica.display.display_latex` with these settings.
    """

    lhs: str
    rhs: Any
    relation: str = "="
    display: dict | None = None

    def __post_init__(self):
        if isinstance(self.rhs, str):
            raise TypeError(f"the right-hand side of {self.lhs} is text; every equation "
                            "is printed from a SymPy object")

    def rhs_latex(self) -> str:
        """LaTeX of the right-hand side.

        With ``display`` set, :func:`symrep.replica.display.display_latex` prints ``rhs`` in
        its own arrangement with these settings; otherwise
        :func:`symrep.replica.display.derivation_latex` does.

        Returns
        -------
        str
            The LaTeX of ``rhs``.
        """
        if self.display is not None:
            from symrep.replica.display import display_latex

            return display_latex(self.rhs, **self.display)
        from symrep.replica.display import derivation_latex

        return derivation_latex(self.rhs)


@dataclass(frozen=True)
class Step:
    """One step of the derivation.

    Attributes
    ----------
    key : str
        File stem of the LaTeX output, e.g. ``"03_energetic"``.
    title : str
        Section title.
    text : str
        LaTeX prose explaining the step (may contain displayed formulas).
    equations : tuple of Equation
        Equations produced by SymPy in this step.
    result : Any
        The SymPy object(s) the step produces, used by the following steps.
    closing : str
        LaTeX prose after the equations (empty: none).
    """

    key: str
    title: str
    text: str
    equations: tuple = field(default_factory=tuple)
    result: Any = None
    closing: str = ""
