"""Compact LaTeX for short formulas written in a chosen arrangement.

SymPy's LaTeX printer orders the terms of a sum and the factors of a product itself and
spells every bracket as ``\\left( ... \\right)``. Some equations of the derivation are
shown in the arrangement a reader expects (``-\\frac{n-1}{2}\\log\\det(\\mathcal A -
\\mathcal B)``, coefficients in front of brackets). They are SymPy expressions built
unevaluated (``Add``/``Mul``/``MatAdd``/``MatMul`` with ``evaluate=False``) in that
arrangement, and :func:`display_latex` prints them with :class:`DisplayLatexPrinter`,
which keeps the order of the arguments and follows these rules:

- a sum of two scalar atoms (symbols or numbers) is written without spaces (``n-1``,
  ``Q+E``); other sums with spaces around ``+`` and ``-``;
- a product with a non-integer rational coefficient p/q is written as a fraction whose
  numerator holds p and every factor but the last, followed by the last factor
  (``\\frac{n-1}{2}\\log\\det(X)``, ``\\tfrac Q2(T+D)``); a fraction of two one-token
  parts drops the braces (``\\frac12``, ``\\tfrac\\beta2``);
- a sum that is a factor of a product is put in brackets: ``\\Bigl[ ... \\Bigr]`` when it
  contains a fraction, plain ``( ... )`` otherwise;
- ``log(Determinant(X))`` is ``\\log\\det(X)`` and the logarithm of a symbol ``\\log D``;
- factors follow one another without a space unless two letters would run together.

``expr.doit()`` evaluates such an expression into SymPy's canonical form.
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.printing.latex import LatexPrinter

__all__ = ["DisplayLatexPrinter", "display_latex", "DerivationLatexPrinter", "derivation_latex"]

_SINGLE_TOKEN = re.compile(r"^(?:[A-Za-z0-9]|\\[A-Za-z]+)$")


def _is_scalar_atom(term) -> bool:
    return isinstance(term, (sp.Symbol, sp.Number))


def _has_fraction(expr) -> bool:
    return any((isinstance(a, sp.Rational) and not a.is_Integer)
               or (isinstance(a, sp.Pow) and a.exp.is_negative)
               for a in sp.preorder_traversal(expr))


def _split_coefficient(expr):
    """(c, factors) for a product c * factors (c the leading number, 1 if none)."""
    args = list(expr.args)
    if args and args[0].is_Number:
        return args[0], args[1:]
    return sp.Integer(1), args


class DisplayLatexPrinter(LatexPrinter):
    """LaTeX printer that keeps the arrangement of an unevaluated expression.

    Parameters
    ----------
    settings : dict, optional
        Settings of :class:`sympy.printing.latex.LatexPrinter`, plus ``fraction``: the
        command for fractions, ``"\\frac"`` (default) or ``"\\tfrac"``.
    """

    _default_settings = {**LatexPrinter._default_settings, "fraction": r"\frac"}

    def __init__(self, settings=None):
        settings = dict(settings or {})
        settings.setdefault("order", "none")
        super().__init__(settings)

    # --- pieces ----------------------------------------------------------------

    def _fraction(self, numerator: str, denominator: str) -> str:
        cmd = self._settings["fraction"]
        if _SINGLE_TOKEN.match(numerator) and _SINGLE_TOKEN.match(denominator):
            space = " " if numerator[0].isalpha() else ""
            glue = " " if (numerator[-1].isalpha() and numerator.startswith("\\")
                           and denominator[0].isalpha()) else ""
            return f"{cmd}{space}{numerator}{glue}{denominator}"
        return f"{cmd}{{{numerator}}}{{{denominator}}}"

    @staticmethod
    def _join(pieces) -> str:
        out = ""
        for piece in pieces:
            if out and out[-1].isalpha() and piece[:1].isalpha():
                out += " "
            out += piece
        return out

    def _factor(self, factor, alone: bool = False) -> str:
        text = self._print(factor)
        if isinstance(factor, (sp.Add, sp.MatAdd)) and not alone:
            if _has_fraction(factor):
                return rf"\Bigl[{text}\Bigr]"
            return f"({text})"
        return text

    def _signed_terms(self, terms, tight: bool) -> str:
        out = ""
        for i, term in enumerate(terms):
            negative, body = self._split_sign(term)
            if i == 0:
                out += ("-" if negative else "") + body
            elif tight:
                out += ("-" if negative else "+") + body
            else:
                out += (" - " if negative else " + ") + body
        return out

    def _split_sign(self, term):
        """(negative, LaTeX of |term|) for a term of a sum."""
        if term.is_Number:
            return bool(term < 0), self._print(abs(term))
        if isinstance(term, (sp.Mul, sp.MatMul)):
            c, factors = _split_coefficient(term)
            if c < 0:
                return True, self._product(-c, factors)
        return False, self._print(term)

    def _product(self, c, factors) -> str:
        if not c.is_Integer:
            p, q = c.p, c.q
            numerator, tail = factors[:-1], factors[-1:]
            if numerator:
                pieces = ([] if p == 1 else [self._print(sp.Integer(p))]) + [
                    self._factor(f, alone=len(numerator) == 1 and p == 1) for f in numerator]
                top = self._join(pieces)
            else:
                top = self._print(sp.Integer(p))
            return self._join([self._fraction(top, self._print(sp.Integer(q))),
                               *[self._factor(f) for f in tail]])
        pieces = [] if c == 1 else [self._print(c)]
        return self._join(pieces + [self._factor(f) for f in factors])

    # --- printing methods ------------------------------------------------------

    def _print_Add(self, expr, order=None):
        terms = list(expr.args)
        tight = len(terms) == 2 and all(_is_scalar_atom(t) for t in terms)
        return self._signed_terms(terms, tight)

    def _print_MatAdd(self, expr):
        return self._signed_terms(list(expr.args), tight=False)

    def _print_Mul(self, expr):
        c, factors = _split_coefficient(expr)
        if c < 0:
            return "-" + self._product(-c, factors)
        return self._product(c, factors)

    def _print_MatMul(self, expr):
        return self._print_Mul(expr)

    def _print_log(self, expr, exp=None):
        arg = expr.args[0]
        if isinstance(arg, sp.Determinant):
            return rf"\log\det({self._print(arg.arg)})"
        if isinstance(arg, sp.Symbol):
            return rf"\log {self._print(arg)}"
        return rf"\log({self._print(arg)})"

    def _print_Determinant(self, expr, exp=None):
        return rf"\det({self._print(expr.arg)})"


def display_latex(expr, **settings) -> str:
    """LaTeX of ``expr`` in its own arrangement (:class:`DisplayLatexPrinter`).

    Parameters
    ----------
    expr : sympy.Basic
        An expression, usually built unevaluated in the arrangement to show.
    **settings
        Settings of SymPy's LaTeX printer (``mul_symbol``, ``fold_short_frac``, ...).

    Returns
    -------
    str
        The LaTeX, on one line.
    """
    return DisplayLatexPrinter(settings).doprint(expr)


class DerivationLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer with two fixes for matrix expressions.

    A term of a matrix sum whose scalar coefficient is negative is joined with ``-``
    (SymPy writes ``+ -``), and the identity matrix is ``I``.
    """

    def _print_MatAdd(self, expr):
        out = ""
        for i, term in enumerate(expr.args):
            text = self._print(term)
            if i == 0:
                out = text
            elif text.startswith("-"):
                out += " - " + text[1:].lstrip()
            else:
                out += " + " + text
        return out

    def _print_Identity(self, expr):
        return "I"


def derivation_latex(expr) -> str:
    """LaTeX of ``expr`` as the derivation document prints it (:class:`DerivationLatexPrinter`).

    Parameters
    ----------
    expr : sympy.Basic
        The expression.

    Returns
    -------
    str
        The LaTeX.
    """
    return DerivationLatexPrinter().doprint(expr)
