"""Matrix calculus on SymPy matrix expressions, for the derivation with M > 1 units.

With several latent units the replica calculation works with matrices of block size
2M. Written out entry by entry, the determinants and inverses of these matrices are too
large to handle symbolically already for M = 2, so the derivation keeps them as matrix
expressions (``MatrixSymbol``, ``Inverse``, ``Determinant``, ``Trace``) and uses the
rules of matrix calculus:

- d log det M / dx = tr(M^{-1} dM/dx) and dM^{-1}/dx = -M^{-1} (dM/dx) M^{-1}
  (:func:`scalar_derivative`, for a scalar x such as the replica number n);
- the gradient of a trace with respect to a matrix (:func:`gradient`, SymPy's own rules
  applied term by term);
- the large-b behaviour of a sum of traces and log-determinants
  (:func:`linear_coefficient`: the limit of expr / b when expr grows at most linearly).

Each identity used this way is also checked at random rational values
(:func:`vanishes_at_random_point`): every matrix symbol is replaced by its explicit
matrix of entries (the *realization*), every symbol by a random rational number, and the
expression is evaluated exactly. A rational function that vanishes at a random point is
zero, except on a set of measure zero.
"""

from __future__ import annotations

import random

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

__all__ = ["scalar_derivative", "matrix_derivative", "gradient", "expand_traces",
           "linear_coefficient", "realize", "vanishes_at_random_point", "random_values"]


def _is_zero_matrix(M) -> bool:
    return isinstance(M, sp.ZeroMatrix) or (isinstance(M, sp.MatrixBase) and M.is_zero_matrix)


def matrix_derivative(M, x):
    """d M / d x for a matrix expression M and a scalar symbol x.

    Parameters
    ----------
    M : sympy.MatrixExpr or sympy.MatrixBase
        A matrix expression built from sums, products, inverses, transposes, positive
        integer powers and explicit matrices.
    x : sympy.Symbol
        The scalar to differentiate by.

    Returns
    -------
    sympy.MatrixExpr or sympy.ImmutableMatrix
        dM/dx, of the shape of M (a ``ZeroMatrix`` when M does not depend on x).

    Raises
    ------
    NotImplementedError
        If M contains an expression with no rule here (a Hadamard product, a function of a
        matrix).
    """
    if not M.has(x):
        return sp.ZeroMatrix(*M.shape)
    if isinstance(M, sp.MatAdd):
        terms = [matrix_derivative(a, x) for a in M.args]
        terms = [t for t in terms if not _is_zero_matrix(t)]
        return sp.MatAdd(*terms).doit() if terms else sp.ZeroMatrix(*M.shape)
    if isinstance(M, sp.MatMul):
        out = []
        args = M.args
        for i, factor in enumerate(args):
            if not factor.has(x):
                continue
            if isinstance(factor, MatrixExpr) or getattr(factor, "is_Matrix", False):
                d = matrix_derivative(factor, x)
                if _is_zero_matrix(d):
                    continue
            else:
                d = sp.diff(factor, x)
            out.append(sp.MatMul(*args[:i], d, *args[i + 1:]).doit())
        return sp.MatAdd(*out).doit() if out else sp.ZeroMatrix(*M.shape)
    if isinstance(M, sp.Inverse):
        inner = M.arg
        return (-M * matrix_derivative(inner, x) * M).doit()
    if isinstance(M, sp.Transpose):
        return matrix_derivative(M.arg, x).T
    if isinstance(M, sp.MatPow) and M.exp.is_Integer and M.exp > 0:
        # a product of equal factors: the rule of MatMul, which keeps their order
        return matrix_derivative(sp.MatMul(*[M.base] * int(M.exp)), x)
    if isinstance(M, sp.MatrixBase):  # an explicit matrix: entry by entry
        return sp.ImmutableMatrix(M.diff(x))
    # other matrix expressions (Hadamard products, functions of matrices) have no rule
    # here; the derivation does not build them
    raise NotImplementedError(f"d/d{x} of {type(M).__name__}: no rule of matrix calculus "
                              "for it here (sums, products, inverses, transposes, positive "
                              "integer powers and explicit matrices have one)")


def scalar_derivative(expr, x):
    """d expr / d x for a scalar built from traces, log-determinants and symbols.

    Parameters
    ----------
    expr : sympy.Expr
        A scalar built from symbols, traces, determinants and log-determinants of matrix
        expressions, with sums, products, constant powers and functions of one argument.
    x : sympy.Symbol
        The scalar to differentiate by.

    Returns
    -------
    sympy.Expr
        d expr / dx, with traces and inverses kept as matrix expressions.

    Raises
    ------
    NotImplementedError
        If expr contains a form with no rule here (x in an exponent, a function of several
        arguments around traces or determinants).
    """
    if not expr.has(x):
        return sp.Integer(0)
    if isinstance(expr, sp.Add):
        return sp.Add(*[scalar_derivative(a, x) for a in expr.args])
    if isinstance(expr, sp.Mul):
        args = expr.args
        return sp.Add(*[sp.Mul(*args[:i], scalar_derivative(a, x), *args[i + 1:])
                        for i, a in enumerate(args) if a.has(x)])
    if isinstance(expr, sp.Pow) and not expr.exp.has(x):
        return expr.exp * expr.base ** (expr.exp - 1) * scalar_derivative(expr.base, x)
    if isinstance(expr, sp.log) and isinstance(expr.args[0], sp.Determinant):
        M = expr.args[0].arg
        return sp.Trace(sp.Inverse(M) * matrix_derivative(M, x))
    if isinstance(expr, sp.Trace):
        return _trace(matrix_derivative(expr.arg, x))
    if isinstance(expr, sp.Determinant):  # Jacobi's formula
        M = expr.arg
        return expr * sp.Trace(sp.Inverse(M) * matrix_derivative(M, x))
    if isinstance(expr, sp.Symbol):
        return sp.diff(expr, x)
    if not any(isinstance(a, (MatrixExpr, sp.Determinant)) for a in sp.preorder_traversal(expr)):
        return sp.diff(expr, x)
    if isinstance(expr, sp.Function) and len(expr.args) == 1:  # chain rule: f(u)' = f'(u) u'
        u = sp.Dummy("u")
        outer = sp.diff(expr.func(u), u).subs(u, expr.args[0])
        return outer * scalar_derivative(expr.args[0], x)
    # a power with x in its exponent, or a function of several arguments, around traces
    # and determinants: no rule here; the derivation does not build them
    raise NotImplementedError(f"d/d{x} of {type(expr).__name__}: no rule of matrix calculus "
                              "for it here (sums, products, constant powers, functions of "
                              "one argument, log-determinants, determinants and traces "
                              "have one)")


def _trace(M):
    if _is_zero_matrix(M):
        return sp.Integer(0)
    return sp.trace(M)


def expand_traces(expr):
    """Write traces and log-determinants as sums of simple terms.

    Traces of sums become sums of traces with the scalar factors in front; the
    inverse of c M (c scalar) becomes M^{-1}/c, log det(c M) becomes p log c +
    log det M for a p x p matrix M.

    Parameters
    ----------
    expr : sympy.Expr
        A scalar expression with ``Trace``, ``Inverse`` and ``log(Determinant)`` terms.

    Returns
    -------
    sympy.Expr
        The expanded expression, equal to ``expr``.
    """
    def inverse(arg):
        arg = arg.doit()
        if isinstance(arg, sp.MatMul):
            coeff, mat = arg.as_coeff_mmul()
            mat = sp.MatMul(*mat.args) if len(mat.args) > 1 else mat.args[0]
            if coeff != 1:
                return sp.Inverse(mat) / coeff
        return sp.Inverse(arg)

    def logdet(arg):
        arg = arg.doit()
        if isinstance(arg, sp.MatMul):
            coeff, mat = arg.as_coeff_mmul()
            mat = sp.MatMul(*mat.args) if len(mat.args) > 1 else mat.args[0]
            if coeff != 1:
                return arg.shape[0] * sp.log(coeff) + sp.log(sp.Determinant(mat))
        return sp.log(sp.Determinant(arg))

    def trace(arg):
        return sp.trace(sp.expand(arg.doit()))

    expr = expr.replace(lambda e: isinstance(e, sp.Inverse), lambda e: inverse(e.arg))
    expr = expr.replace(lambda e: isinstance(e, sp.log) and isinstance(e.args[0],
                                                                       sp.Determinant),
                        lambda e: logdet(e.args[0].arg))
    expr = expr.replace(lambda e: isinstance(e, sp.Trace), lambda e: trace(e.arg))
    return sp.expand(sp.expand_log(expr, force=True))


def linear_coefficient(expr, b):
    """lim_{b -> inf} expr / b for expr = c1 b + c0 + k log b (after :func:`expand_traces`).

    Raises AssertionError when a term grows faster than b (its coefficient must vanish
    for the limit to exist), so a nonzero b^2 term cannot slip through.

    Parameters
    ----------
    expr : sympy.Expr
        A scalar of traces and log-determinants that grows at most linearly in b.
    b : sympy.Symbol
        The large parameter (the inverse temperature of the zero-temperature limit).

    Returns
    -------
    sympy.Expr
        The coefficient c1 of b.

    Raises
    ------
    AssertionError
        If a term grows faster than b without cancelling, or depends on b in another way.
    """
    expr = expand_traces(expr)
    linear, growing = [], []
    for term in sp.Add.make_args(expr):
        if not term.has(b):
            continue
        coeff, power = term.as_independent(b, as_Add=False)
        if power == b:
            linear.append(coeff)
        elif power == sp.log(b):
            continue  # log(b) / b -> 0
        elif isinstance(power, sp.Pow) and power.base == b and power.exp.is_number:
            if power.exp > 1:
                growing.append(term)
        else:
            raise AssertionError(f"unexpected dependence on {b}: {term}")
    if growing:
        leftover = expand_traces(sp.Add(*growing))
        if leftover != 0:
            raise AssertionError(f"terms growing faster than {b}: {leftover}")
    return sp.Add(*linear)


def gradient(expr, V):
    """d expr / d V for a scalar sum of traces and a matrix symbol V.

    SymPy's rules are applied term by term (its derivative of a sum of traces with
    scalar factors is not reliable as a whole).

    Parameters
    ----------
    expr : sympy.Expr
        A scalar sum of traces (with scalar factors) of matrix expressions.
    V : sympy.MatrixSymbol
        The matrix to differentiate by.

    Returns
    -------
    sympy.MatrixExpr
        d expr / dV, of the shape of V (a ``ZeroMatrix`` when expr does not depend on V).
    """
    out = []
    for term in sp.Add.make_args(sp.expand(expr)):
        if not term.has(V):
            continue
        coeff, rest = term.as_independent(V, as_Add=False)
        d = sp.diff(rest, V)
        if not _is_zero_matrix(d):
            out.append(coeff * d)
    return sp.MatAdd(*out).doit() if out else sp.ZeroMatrix(*V.shape)


def realize(expr, realization: dict):
    """Replace matrix symbols by their explicit matrices and evaluate (``doit``).

    Parameters
    ----------
    expr : sympy.Expr or sympy.MatrixExpr
        A scalar or matrix expression in matrix symbols.
    realization : dict
        Maps each ``MatrixSymbol`` to an explicit matrix of the same shape (entries symbols
        or numbers).

    Returns
    -------
    sympy.Expr or sympy.ImmutableMatrix
        The evaluated expression; identities become explicit identity matrices and a matrix
        result becomes an explicit ``ImmutableMatrix``.
    """
    table = {k: sp.ImmutableMatrix(v) for k, v in realization.items()}
    out = expr.xreplace(table)
    out = out.replace(lambda e: isinstance(e, sp.Identity),
                      lambda e: sp.ImmutableMatrix(sp.eye(int(e.shape[0]))))
    out = out.doit() if hasattr(out, "doit") else out
    if isinstance(out, MatrixExpr):
        out = sp.ImmutableMatrix(out.as_explicit())
    return out


def random_values(symbols, seed: int = 0, positive=()) -> dict:
    """Random rational values (numerators in [-9, 9], denominators in [1, 7]).

    Symbols in ``positive`` (and symbols declared positive or nonnegative) get values in
    (0, 3]; the values avoid 0 so that no denominator vanishes by accident.

    Parameters
    ----------
    symbols : iterable of sympy.Symbol
        The symbols to give values to.
    seed : int, optional
        Seed of the random generator (default 0); the values depend only on the seed and
        the symbols.
    positive : collection of sympy.Symbol, optional
        Symbols that must get positive values (default none besides those declared positive
        or nonnegative).

    Returns
    -------
    dict
        Maps each symbol to a nonzero ``sympy.Rational``.
    """
    rng = random.Random(seed)
    out = {}
    for s in sorted(set(symbols), key=sp.default_sort_key):
        if s in positive or s.is_positive or s.is_nonnegative:
            out[s] = sp.Rational(rng.randint(1, 21), rng.randint(1, 7))
        else:
            num = rng.choice([k for k in range(-9, 10) if k != 0])
            out[s] = sp.Rational(num, rng.randint(1, 7))
    return out


def vanishes_at_random_point(expr, realization: dict, seed: int = 0, extra=None) -> bool:
    """True if ``expr`` (scalar or matrix) evaluates to exactly zero at random rationals.

    ``realization`` maps matrix symbols to explicit matrices of entry symbols; the
    entries and the other symbols get random rational values (``extra`` fixes some), and
    the expression is evaluated in exact arithmetic.

    Parameters
    ----------
    expr : sympy.Expr or sympy.MatrixExpr
        The expression to test, scalar or matrix.
    realization : dict
        Maps each ``MatrixSymbol`` of ``expr`` to an explicit matrix of entry symbols.
    seed : int, optional
        Seed of the random point (default 0).
    extra : dict, optional
        Values that override the random ones for some symbols (default None).

    Returns
    -------
    bool
        True if every entry of the evaluated expression simplifies to zero.
    """
    symbols = set()
    for v in realization.values():
        symbols |= sp.ImmutableMatrix(v).free_symbols
    symbols |= {s for s in expr.free_symbols if isinstance(s, sp.Symbol)
                and not isinstance(s, sp.MatrixSymbol)}
    values = random_values(symbols, seed)
    if extra:
        values.update(extra)
    numeric = {k: sp.ImmutableMatrix(v).xreplace(values) for k, v in realization.items()}
    value = realize(expr.xreplace(values), numeric)
    if isinstance(value, sp.MatrixBase):
        return all(sp.simplify(v) == 0 for v in value)
    return sp.simplify(value) == 0
