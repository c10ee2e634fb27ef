"""Estimate the width of a math-mode LaTeX string as TeX would typeset it.

:mod:`symrep.derive` breaks long equations across lines; counting characters of LaTeX
source is a poor measure of how wide a line prints (``\\left(`` is six characters and
four points, ``\\frac{a}{b}`` is as wide as one of its arguments). :func:`math_width`
follows TeX's own rules closely enough to decide where to break: glyph widths from the
Computer Modern metrics at 10 pt (``cmmi10``, ``cmr10``, ``cmsy10``, ``cmex10``), the
inter-atom spacing table of *The TeXbook* (chapter 18, thin, medium and thick spaces
between ordinary symbols, operators, binary operators, relations, ...), fractions as wide
as their wider part, sub- and superscripts at the script sizes, ``\\left``/``\\right``
delimiters sized by what they enclose, operators with limits set below in display style,
and matrices column by column. It covers the commands SymPy's LaTeX printer and the
hand-written parts of the derivation use; an unknown command counts as one letter.

The estimate is checked against pdflatex by ``tests/test_derive.py`` (the compiled
derivation has no overfull line); it is typically within a few per cent of the
typeset width.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["math_width", "delimiter_size"]

# --- glyph widths in pt at 10 pt (Computer Modern TFM files, rounded to 0.01 pt; math
# italic letters include their italic correction, which TeX adds in math mode) -------
_ITALIC = dict(zip(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    (5.29, 4.29, 4.33, 5.20, 4.66, 5.98, 5.13, 5.76, 3.45, 4.69, 5.52, 3.18, 8.78, 6.00,
     4.85, 5.03, 4.82, 4.79, 4.69, 3.61, 5.72, 5.21, 7.43, 5.72, 5.26, 5.09, 7.50, 8.09,
     7.87, 8.56, 7.96, 7.82, 7.86, 9.12, 5.18, 6.51, 9.21, 6.81, 10.79, 9.12, 7.91, 7.81,
     7.91, 7.67, 6.71, 7.23, 7.92, 8.05, 10.83, 9.06, 8.03, 7.55), strict=True))
_ROMAN = dict(zip(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    (5.00, 5.56, 4.44, 5.56, 4.44, 3.06, 5.00, 5.56, 2.78, 3.06, 5.28, 2.78, 8.33, 5.56,
     5.00, 5.56, 5.28, 3.92, 3.94, 3.89, 5.56, 5.28, 7.22, 5.28, 5.28, 4.44, 7.50, 7.08,
     7.22, 7.64, 6.81, 6.53, 7.85, 7.50, 3.61, 5.14, 7.78, 6.25, 9.17, 7.50, 7.78, 6.81,
     7.78, 7.36, 5.56, 7.22, 7.50, 7.50, 10.28, 7.50, 7.50, 6.11), strict=True))
_CALLIGRAPHIC = dict(zip(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    (7.98, 6.57, 5.27, 7.71, 5.28, 7.19, 5.95, 8.45, 5.45, 6.78, 7.62, 6.90, 12.01, 8.20,
     7.96, 6.96, 8.17, 8.48, 6.06, 5.45, 6.26, 6.13, 9.88, 7.13, 6.68, 7.25), strict=True))
_GREEK = {
    "alpha": 6.44, "beta": 6.19, "gamma": 5.74, "delta": 4.82, "epsilon": 4.06,
    "zeta": 5.12, "eta": 5.33, "theta": 4.97, "iota": 3.54, "kappa": 5.76, "lambda": 5.83,
    "mu": 6.03, "nu": 5.58, "xi": 4.84, "pi": 6.06, "rho": 5.17, "sigma": 6.07,
    "tau": 5.50, "upsilon": 5.76, "phi": 5.96, "chi": 6.26, "psi": 6.87, "omega": 6.58,
    "varepsilon": 4.66, "vartheta": 5.91, "varpi": 8.56, "varrho": 5.17, "varsigma": 4.43,
    "varphi": 6.54, "Gamma": 6.25, "Delta": 8.33, "Theta": 7.78, "Lambda": 6.94,
    "Xi": 6.67, "Pi": 7.50, "Sigma": 7.22, "Upsilon": 7.78, "Phi": 7.22, "Psi": 7.78,
    "Omega": 7.22, "ell": 4.17, "partial": 5.31, "infty": 10.0, "nabla": 8.33,
    "hbar": 5.76, "imath": 3.45,
}
_BINARY = {"+": 7.78, "-": 7.78, "cdot": 2.78, "times": 7.78, "otimes": 7.78, "pm": 7.78,
           "mp": 7.78, "circ": 5.0, "ast": 5.0, "setminus": 5.0}
_RELATION = {"=": 7.78, "<": 7.78, ">": 7.78, "to": 10.0, "le": 7.78, "leq": 7.78,
             "ge": 7.78, "geq": 7.78, "ne": 7.78, "neq": 7.78, "sim": 7.78, "approx": 7.78,
             "equiv": 7.78, "in": 6.67, "propto": 7.78, "mapsto": 10.0, "rightarrow": 10.0,
             "leftarrow": 10.0, "ll": 10.0, "gg": 10.0, "simeq": 7.78, "coloneqq": 12.0}
_OTHER = {"0": 5.0, "1": 5.0, "2": 5.0, "3": 5.0, "4": 5.0, "5": 5.0, "6": 5.0, "7": 5.0,
          "8": 5.0, "9": 5.0, ".": 2.78, "/": 5.0, "'": 2.75, "|": 2.78, "!": 2.78,
          "*": 5.0, "?": 4.72, "\\|": 5.0, "\\{": 5.0, "\\}": 5.0, "\\%": 8.33, "\\#": 8.33,
          "\\&": 7.78}
_PUNCT = {",": 2.78, ";": 2.78, ":": 2.78}
_OPEN, _CLOSE = "([{", ")]}"
# delimiter widths by size: normal, \big, \Big, \bigg, \Bigg (cmr10 and cmex10)
_DELIMITER_WIDTHS = {
    "(": (3.89, 4.58, 5.97, 7.36, 7.92), ")": (3.89, 4.58, 5.97, 7.36, 7.92),
    "[": (2.78, 4.17, 4.72, 5.28, 5.83), "]": (2.78, 4.17, 4.72, 5.28, 5.83),
    "\\{": (5.0, 5.83, 6.67, 7.5, 8.06), "\\}": (5.0, 5.83, 6.67, 7.5, 8.06),
    "|": (2.78, 3.33, 3.33, 3.33, 3.33), "\\|": (5.0, 5.56, 5.56, 5.56, 5.56),
    "\\langle": (3.89, 4.72, 6.11, 7.5, 8.06), "\\rangle": (3.89, 4.72, 6.11, 7.5, 8.06),
    "\\lbrack": (2.78, 4.17, 4.72, 5.28, 5.83), "\\rbrack": (2.78, 4.17, 4.72, 5.28, 5.83),
    ".": (1.2, 1.2, 1.2, 1.2, 1.2),
}
_DELIMITER_SIZES = (10.0, 12.0, 18.0, 24.0, 30.0)  # total height of each size, pt
_BIG = {"big": 1, "Big": 2, "bigg": 3, "Bigg": 4}
# upright operator names (thin space to an ordinary neighbour); those with limits set
# the subscript below the name in display style
_OPERATORS = {"log", "ln", "exp", "det", "tr", "sin", "cos", "tan", "sinh", "cosh", "tanh",
              "arg", "dim", "ker", "deg", "Pr"}
_LIMIT_OPERATORS = {"lim", "min", "max", "sup", "inf", "limsup", "liminf", "argmin",
                    "argmax"}
_LARGE_OPERATORS = {"sum": (10.56, 14.44), "prod": (9.44, 12.78), "int": (4.72, 5.56),
                    "oint": (4.72, 5.56)}
_ACCENTS = {"hat", "tilde", "bar", "vec", "dot", "ddot", "check", "breve", "widehat",
            "widetilde", "overline", "underline", "boldsymbol", "mathbf", "mathit",
            "mathnormal", "bm"}
_SPACES = {",": 1.67, ":": 2.22, ">": 2.22, ";": 2.78, "!": -1.67, " ": 3.33,
           "quad": 10.0, "qquad": 20.0, "thinspace": 1.67, "enspace": 5.0}
_IGNORED = {"displaystyle", "textstyle", "scriptstyle", "limits", "nolimits", "nonumber",
            "notag", "mathclose", "mathopen", "mathord", "mathrel", "mathbin", "mathpunct",
            "mathop", "mathinner", "protect", "relax", "allowbreak"}
# letters of x-height, without ascender (an accent on them stays low)
_SHORT = set("acegmnopqrsuvwxyz")
_SHORT_GREEK = {"alpha", "gamma", "epsilon", "eta", "iota", "kappa", "mu", "nu", "pi", "rho",
                "sigma", "tau", "upsilon", "chi", "omega", "varepsilon", "varpi", "varrho",
                "varsigma", "varphi"}
_AXIS = 2.5  # height of the math axis above the baseline, pt (cmsy10)

# style index: 0 display, 1 text, 2 script, 3 scriptscript; scale of glyphs in it (the
# 7 pt and 5 pt fonts are drawn relatively wider than a scaled 10 pt font)
_SCALE = (1.0, 1.0, 0.81, 0.68)
_VSCALE = (1.0, 1.0, 0.7, 0.5)  # heights scale with the design size
_SCRIPT_SPACE = 0.5

# inter-atom spacing, The TeXbook ch. 18: 0 none, 1 thin, 2 medium, 3 thick; negative:
# only in display and text style
_ORD, _OP, _BIN, _REL, _OPENC, _CLOSEC, _PUNCTC, _INNER = range(8)
_SPACING = (
    (0, 1, -2, -3, 0, 0, 0, -1),
    (1, 1, 0, -3, 0, 0, 0, -1),
    (-2, -2, 0, 0, -2, 0, 0, -2),
    (-3, -3, 0, 0, -3, 0, 0, -3),
    (0, 0, 0, 0, 0, 0, 0, 0),
    (0, 1, -2, -3, 0, 0, 0, -1),
    (-1, -1, 0, -1, -1, -1, -1, -1),
    (-1, 1, -2, -3, -1, 0, -1, -1),
)
_MU_SPACE = (0.0, 1.67, 2.22, 2.78)

_TOKEN = re.compile(r"\\[a-zA-Z]+\*?|\\.|[{}^_&]|\s+|.", re.DOTALL)


@dataclass
class _Atom:
    kind: int
    width: float
    up: float = 4.5     # extent above the math axis, pt
    down: float = 2.5   # extent below the math axis, pt
    limits: bool = False  # an operator whose scripts go below/above in display style


class _Parser:
    def __init__(self, latex: str):
        self.tokens = [t for t in _TOKEN.findall(latex) if not t.isspace()]
        self.pos = 0
        # TeX's "cramped" styles (denominators, subscripts, radicands) raise
        # superscripts less
        self.cramped = False

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self):
        tok = self.peek()
        self.pos += 1
        return tok

    # a braced group or a single token, as raw tokens (for text-like arguments)
    def raw_argument(self) -> list[str]:
        tok = self.next()
        if tok != "{":
            return [tok] if tok is not None else []
        depth, out = 1, []
        while (tok := self.next()) is not None:
            if tok == "{":
                depth += 1
            elif tok == "}":
                depth -= 1
                if depth == 0:
                    break
            out.append(tok)
        return out

    def argument(self, style: int, cramped: bool | None = None) -> _Atom:
        """A braced group or a single token, typeset as one ordinary atom."""
        if cramped is not None:
            saved, self.cramped = self.cramped, cramped or self.cramped
            try:
                return self.argument(style)
            finally:
                self.cramped = saved
        if self.peek() == "{":
            self.next()
            atoms = self.atoms(style, stop={"}"})
            self.next()
            return _box(atoms, style)
        atoms = self.atoms(style, single=True)
        return _box(atoms, style)

    def atoms(self, style: int, stop=frozenset(), single: bool = False) -> list[_Atom]:
        out: list[_Atom] = []
        while (tok := self.peek()) is not None and tok not in stop:
            if tok in ("^", "_"):
                self.scripts(out, style)
            else:
                self.next()
                atom = self.atom(tok, style)
                if atom is not None:
                    out.append(atom)
            if single and out:
                break
        return out

    def scripts(self, out: list[_Atom], style: int) -> None:
        base = out.pop() if out else _Atom(_ORD, 0.0)
        sup = sub = None
        inner = 2 if style < 2 else 3
        while self.peek() in ("^", "_"):
            which = self.next()
            arg = self.argument(inner, cramped=which == "_")
            if which == "^":
                sup = arg
            else:
                sub = arg
        widths = [a.width for a in (sup, sub) if a is not None]
        if base.limits and style == 0:
            width = max([base.width, *widths])
            up = base.up + (sup.up + sup.down + 2.0 if sup else 0.0)
            down = base.down + (sub.up + sub.down + 2.0 if sub else 0.0)
        else:
            # shifts of the scripts' baselines (cmsy10 sup1/sup2, sub1/sub2, scaled)
            s, v, t = _SCALE[style], _VSCALE[style], _VSCALE[inner]
            width = base.width + max(widths) + _SCRIPT_SPACE * s
            up, down = base.up, base.down
            if sup is not None:
                shift = 2.89 if self.cramped else (4.13 if style == 0 else 3.63)
                up = max(up, (shift - _AXIS) * v + _AXIS * t + sup.up)
            if sub is not None:
                shift = 2.47 if sup is not None else 1.5
                down = max(down, (shift + _AXIS) * v - _AXIS * t + sub.down)
        out.append(_Atom(base.kind, width, up, down))

    def atom(self, tok: str, style: int):
        s = _SCALE[style]
        if tok == "{":
            atoms = self.atoms(style, stop={"}"})
            self.next()
            return _box(atoms, style)
        if tok in ("}", "&"):
            return None
        if tok in _ITALIC:
            return _Atom(_ORD, _ITALIC[tok] * s, *_letter(style, tok not in _SHORT))
        if tok in _BINARY:
            return _Atom(_BIN, _BINARY[tok] * s)
        if tok in _RELATION:
            return _Atom(_REL, _RELATION[tok] * s)
        if tok in _PUNCT:
            return _Atom(_PUNCTC, _PUNCT[tok] * s)
        if tok in _OPEN:
            return _Atom(_OPENC, 3.89 * s if tok == "(" else 2.78 * s)
        if tok in _CLOSE:
            return _Atom(_CLOSEC, 3.89 * s if tok == ")" else 2.78 * s)
        if tok in _OTHER:
            return _Atom(_ORD, _OTHER[tok] * s, *_letter(style))
        if not tok.startswith("\\"):
            return _Atom(_ORD, 5.0 * s, *_letter(style))
        name = tok[1:]
        if name in _SPACES:
            return _Atom(-1, _SPACES[name] * s, 0.0, 0.0)
        if name in _GREEK:
            return _Atom(_ORD, _GREEK[name] * s, *_letter(style, name not in _SHORT_GREEK))
        if name in _BINARY:
            return _Atom(_BIN, _BINARY[name] * s)
        if name in _RELATION:
            return _Atom(_REL, _RELATION[name] * s)
        if name in _IGNORED:
            return None
        if name in ("frac", "tfrac", "dfrac", "binom"):
            return self.fraction(style, {"tfrac": max(style, 1), "dfrac": 0}.get(name, style))
        if name == "sqrt":
            if self.peek() == "[":
                while self.next() not in ("]", None):
                    pass
            arg = self.argument(style, cramped=True)
            surd = 8.33 if arg.up + arg.down < 11.0 else 10.0
            return _Atom(_ORD, arg.width + surd * s, arg.up + 1.5, arg.down)
        if name in ("left", "right") or name.rstrip("lmr") in _BIG:
            return self.delimiter(name, style)
        if name in _OPERATORS:
            return _Atom(_OP, sum(_ROMAN.get(c, 5.0) for c in name) * s, *_letter(style))
        if name in _LIMIT_OPERATORS:
            width = sum(_ROMAN.get(c, 5.0) for c in name) * s
            return _Atom(_OP, width, *_letter(style), limits=True)
        if name in _LARGE_OPERATORS:
            text, display = _LARGE_OPERATORS[name]
            big = style == 0
            return _Atom(_OP, (display if big else text) * s, 7.5 if big else 5.0,
                         7.5 if big else 5.0, limits=name in ("sum", "prod"))
        if name in ("operatorname", "operatorname*"):
            text = self.raw_argument()
            width = sum(_ROMAN.get(c, 5.0) for c in "".join(text)) * s
            return _Atom(_OP, width, *_letter(style), limits=name.endswith("*"))
        if name in ("mathrm", "text", "textrm", "mathsf", "textsf", "texttt", "mathtt",
                    "mbox", "textit", "mathbb", "mathfrak"):
            text = "".join(t.lstrip("\\") for t in self.raw_argument())
            width = sum(_ROMAN.get(c, _OTHER.get(c, 5.0)) for c in text)
            if name == "mathbb":
                width = 7.2 * len(text)
            return _Atom(_ORD, width * s, *_letter(style))
        if name == "mathcal":
            text = "".join(self.raw_argument())
            return _Atom(_ORD, sum(_CALLIGRAPHIC.get(c, 7.0) for c in text) * s,
                         *_letter(style))
        if name in _ACCENTS:
            arg = self.argument(style)
            return _Atom(_ORD, arg.width, arg.up + 2.5 * _VSCALE[style], arg.down)
        if name == "begin":
            return self.environment(style)
        if name in ("end", "\\"):
            return None
        if name in ("hspace", "hspace*", "mspace"):
            self.raw_argument()
            return None
        return _Atom(_ORD, 5.0 * s, *_letter(style))  # unknown: about one letter

    def fraction(self, style: int, outer: int) -> _Atom:
        inner = (1, 2, 3, 3)[outer]
        num, den = self.argument(inner), self.argument(inner, cramped=True)
        # numerator and denominator shifts and the minimum clearance to the bar
        # (cmsy10 num1/denom1 in display style, num2/denom2 otherwise)
        s = _VSCALE[outer]
        up_shift, down_shift, clear = (6.77, 6.86, 1.4) if outer == 0 else (3.94, 3.45, 0.6)
        up = max(up_shift * s, num.down + clear * s) + num.up
        down = max(down_shift * s, den.up + clear * s) + den.down
        return _Atom(_ORD, max(num.width, den.width) + 2 * 1.2 * _SCALE[style], up, down)

    def delimiter(self, name: str, style: int) -> _Atom:
        delim = self.next()
        if delim == "\\" + "right":  # pragma: no cover - malformed input
            delim = "."
        s = _SCALE[style]
        if name == "left":
            atoms = self.atoms(style, stop={"\\right"})
            self.next()  # \right
            closing = self.next()
            inner = _box(atoms, style)
            half = max(inner.up, inner.down)
            need = max(2 * half * 0.901, 2 * half - 5.0)
            size = next((i for i, h in enumerate(_DELIMITER_SIZES) if h >= need),
                        len(_DELIMITER_SIZES) - 1)
            width = (_DELIMITER_WIDTHS.get(delim, (5.0,) * 5)[size]
                     + _DELIMITER_WIDTHS.get(closing, (5.0,) * 5)[size])
            extent = max(half, _DELIMITER_SIZES[size] / 2)
            return _Atom(_INNER, inner.width + width * s, extent, extent)
        if name == "right":  # unmatched \right: ignore
            return None
        size = _BIG[name.rstrip("lmr")] if name.rstrip("lmr") in _BIG else 0
        kind = {"l": _OPENC, "r": _CLOSEC}.get(name[-1], _ORD)
        if name in _BIG:  # \big| without l/r: an ordinary symbol
            kind = _ORD
        extent = _DELIMITER_SIZES[size] / 2
        return _Atom(kind, _DELIMITER_WIDTHS.get(delim, (5.0,) * 5)[size] * s, extent, extent)

    def environment(self, style: int) -> _Atom:
        env = "".join(self.raw_argument())
        if env in ("array", "tabular"):
            self.raw_argument()
        cell_style = max(style, 1)
        rows, row, cells = [], [], []
        while (tok := self.peek()) is not None:
            if tok == "\\end":
                self.next()
                self.raw_argument()
                break
            if tok == "&":
                self.next()
                row.append(_box(cells, cell_style))
                cells = []
            elif tok == "\\\\":
                self.next()
                row.append(_box(cells, cell_style))
                rows.append(row)
                row, cells = [], []
            else:
                cells.extend(self.atoms(cell_style, stop={"&", "\\\\", "\\end"}))
        if cells or row:
            row.append(_box(cells, cell_style))
            rows.append(row)
        ncols = max((len(r) for r in rows), default=0)
        widths = [max((r[j].width for r in rows if j < len(r)), default=0.0)
                  for j in range(ncols)]
        width = sum(widths) + 10.0 * max(ncols - 1, 0) * _SCALE[style]
        height = sum(max(c.up + c.down for c in r) + 3.0 for r in rows)
        fence = {"pmatrix": "(", "bmatrix": "[", "vmatrix": "|", "Bmatrix": "\\{",
                 "Vmatrix": "\\|"}.get(env)
        if fence is not None:
            size = next((i for i, h in enumerate(_DELIMITER_SIZES) if h >= 0.901 * height),
                        len(_DELIMITER_SIZES) - 1)
            width += 2 * _DELIMITER_WIDTHS[fence][size]
        return _Atom(_INNER, width, height / 2, height / 2)


def _letter(style: int, tall: bool = True) -> tuple[float, float]:
    # extent of a letter about the axis: cap height 6.83 pt (x-height 4.31 pt for the
    # short ones), a typical descender 1 pt
    v = _VSCALE[style]
    return ((6.83 if tall else 4.31) - _AXIS) * v, (_AXIS + 1.0) * v


def _box(atoms: list[_Atom], style: int) -> _Atom:
    """Typeset a list of atoms (TeX's spacing rules) as one ordinary atom."""
    width, previous = 0.0, None
    kinds = [a.kind for a in atoms]
    # a binary operator with no left operand (or before a relation, closing or
    # punctuation) is an ordinary symbol, the unary minus of "-x"
    resolved = []
    for i, kind in enumerate(kinds):
        if kind == _BIN:
            left = next((k for k in reversed(resolved) if k != -1), None)
            right = next((k for k in kinds[i + 1:] if k != -1), None)
            if left in (None, _BIN, _OP, _REL, _OPENC, _PUNCTC) or right in (
                    None, _REL, _CLOSEC, _PUNCTC):
                kind = _ORD
        resolved.append(kind)
    for atom, kind in zip(atoms, resolved, strict=True):
        if kind == -1:  # explicit space
            width += atom.width
            continue
        if previous is not None:
            code = _SPACING[previous][kind]
            if code > 0 or (code < 0 and style < 2):
                width += _MU_SPACE[abs(code)] * _SCALE[style]
        width += atom.width
        previous = kind
    up = max((a.up for a in atoms), default=_letter(style)[0])
    down = max((a.down for a in atoms), default=_letter(style)[1])
    return _Atom(_ORD, width, up, down)


def _typeset(latex: str, display: bool) -> _Atom:
    parser = _Parser(latex)
    style = 0 if display else 1
    atoms = []
    while parser.peek() is not None:
        atoms.extend(parser.atoms(style, stop={"}", "&", "\\\\"}))
        if parser.peek() is not None:
            parser.next()
    return _box(atoms, style)


def math_width(latex: str, display: bool = True) -> float:
    """Estimated width, in pt, of ``latex`` typeset in math mode at 10 pt.

    Parameters
    ----------
    latex : str
        Math-mode LaTeX (no surrounding ``$`` or ``\\[``), e.g. ``sympy.latex(expr)``.
    display : bool
        Display style (the default, as in ``\\[ ... \\]`` and ``align*``) or text style.

    Returns
    -------
    float
        The estimated natural width in points (1/72.27 inch).

    Examples
    --------
    >>> round(math_width(r"\\frac{a}{b}"), 1)  # the wider of a and b, plus null delimiters
    7.7
    """
    return _typeset(latex, display).width


def delimiter_size(latex: str, display: bool = True) -> str:
    r"""The ``\big`` family size of a delimiter that encloses ``latex``, as ``\left`` would.

    ``\left``/``\right`` cannot span the lines of an ``align*``, so a bracket broken
    across lines needs a fixed size; this is the one ``\left`` would choose for the
    whole content (TeX's rule: at least 90 % of the height, at most 5 pt short).

    Parameters
    ----------
    latex : str
        The enclosed LaTeX.
    display : bool, optional
        Typeset in display style (default True), else in text style.

    Returns
    -------
    str
        ``""`` (normal size), ``"\big"``, ``"\Big"``, ``"\bigg"`` or ``"\Bigg"``.
    """
    box = _typeset(latex, display)
    need = 2 * max(box.up, box.down)
    need = max(need * 0.901, need - 5.0)
    size = next((i for i, h in enumerate(_DELIMITER_SIZES) if h >= need),
                len(_DELIMITER_SIZES) - 1)
    return ("", "\\big", "\\Big", "\\bigg", "\\Bigg")[size]
