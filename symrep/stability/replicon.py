"""The replicon (de Almeida-Thouless) eigenvalue of the RS saddle point, derived by SymPy.

Before the limit n -> 0 the replica action per N is a function of the full 2n x 2n
overlap matrix G (blocks G_ab, 2 x 2, of the overlaps of (W_a, W~_a) with (W_b, W~_b)):

    Phi(G) = 1/2 log det(G - (1 (x) t)(1 (x) t)^T)                     (entropic)
             - alpha/2 log det(I + b (I_n (x) K) C(G))                   (energetic)
             - b n [local terms of the diagonal blocks],

with C(G) = rho (1 1^T) (x) t t^T + eta G. The entropic term is the Legendre transform of
the Gaussian integral of :mod:`symrep.replica.entropic` (the conjugate G~ at its extremum
G~ = (G - mean part)^{-1}: the log-volume of the weights with overlaps G is half the
log-determinant of their covariance). The energetic term is that of
:mod:`symrep.replica.energetic`. K depends on the diagonal blocks only (through Q_aa).

A replicon perturbation changes only off-diagonal blocks, dG_ab = dG_ba^T (a != b), with
zero block row sums: sum_b dG_ab = 0. For an RS matrix M (block A on the diagonal, B
off it) M^{-1} = I (x) (A - B)^{-1} + 1 1^T (x) Z, and the 1 1^T part drops out of
tr(M^{-1} dM M^{-1} dM) because dM has zero block row and column sums. Hence

    d^2 log det M = -sum_{a != b} tr(P dM_ab P dM_ba),  P = (A - B)^{-1},

whatever n: the replicon form is a sum over replica pairs of one 4 x 4 quadratic form in
the entries of dG_ab, independent of n (so the limit n -> 0 is immediate). SymPy builds
both RS matrices from the derivation's own blocks, applies the zero-temperature scaling
of :mod:`symrep.replica.zero_temperature` (g = G - X/b), and finds the form per pair

    d^2 Phi = -b^2 sum_{a<b} vec(dG_ab)^T R vec(dG_ab),
    R = Y (x) Y - alpha eta^2 Gamma (x) Gamma,   Gamma = (K^{-1} + eta X)^{-1},

with Y = X^{-1} the precision (P_S = b Y from the entropic term, P_E K = Gamma from the
energetic one). With N = K^{-1} Y + eta I, Gamma = Y N^{-1}, so R = (Y (x) Y)
(I - alpha eta^2 N^{-1} (x) N^{-1}) (checked by SymPy). The exponent is a maximum in the
replicon directions iff R is positive definite; relative to Y (x) Y its eigenvalues are

    lambda_ij = 1 - alpha eta^2 nu_i nu_j,   nu_i the eigenvalues of N^{-1},

and the replicon eigenvalue is the smallest, 1 - alpha eta^2 max nu_i^2. The generated
code gives R and the normalized matrix I - alpha eta^2 N^{-1} (x) N^{-1}, vectorised over
points; the derivation is checked numerically at finite n (4, 5, 6) and finite b in the
tests, and against the contraction rate of the conjugate map of
:mod:`symrep.solvers.units` (lambda = 1 - rate^2).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from symrep.numeric import system
from symrep.numeric.codegen import load_or_generate, source_key
from symrep.numeric.keys import relocate

__all__ = ["replicon_expressions", "generated", "replicon_eigenvalues", "pair_form"]

_SOURCES = (*system._SOURCES, Path(__file__))


def _key(*, versions: bool = True, root=None) -> str:
    return source_key(relocate(_SOURCES, root), extra=("replicon",), versions=versions)


def pair_form(P_S, P_E, K, alpha, eta, b, delta):
    """The replicon second variation of Phi for one replica pair (both orders).

    -tr(P_S d P_S d^T) + alpha (b eta)^2 tr(P_E K d P_E K d^T): the entropic term
    contributes 1/2 d^2 log det, the energetic -alpha/2 d^2 log det with
    dM = b eta (I (x) K) dG.

    Parameters
    ----------
    P_S, P_E, K : sympy.Matrix or ndarray (2, 2)
        (A - B)^{-1} of the entropic and energetic RS matrices, and K.
    alpha, eta : sympy.Expr or float
        Sample complexity and noise strength.
    b : sympy.Expr or float
        Inverse temperature.
    delta : sympy.Matrix or ndarray (2, 2)
        The off-diagonal block dG_ab.

    Returns
    -------
    sympy.Expr or float
        The contribution of the pair (a, b) and (b, a) to d^2 Phi.
    """
    G = P_E * K if hasattr(P_E, "is_Matrix") else P_E @ K
    if hasattr(delta, "is_Matrix"):
        return (-(P_S * delta * P_S * delta.T).trace()
                + alpha * (b * eta)**2 * (G * delta * G * delta.T).trace())
    return (-np.trace(P_S @ delta @ P_S @ delta.T)
            + alpha * (b * eta)**2 * np.trace(G @ delta @ G @ delta.T))


@cache
def replicon_expressions() -> dict:
    """SymPy expressions of the replicon matrix at the RS saddle (computed once).

    Returns
    -------
    dict
        ``R_X``: the 4 x 4 matrix of the form -d^2 Phi / b^2 per pair, in vec(dG_ab)
        = (dG_11, dG_12, dG_21, dG_22), as SymPy derived it (in X, K, alpha, eta; b drops
        out); ``R``: the same in the precision form's unknowns, (Y (x) Y) times
        ``normalized``: I - alpha eta^2 N^{-1} (x) N^{-1} (4 x 4); ``Ninv``: N^{-1};
        ``unknowns``, ``parameters``.

    Raises
    ------
    AssertionError
        If a step of the derivation fails its SymPy check.
    """
    import sympy as sp

    from symrep import symbols as S
    from symrep.replica.energetic import energetic_field_matrix
    from symrep.replica.local_fields import local_field_covariance
    from symrep.replica.objective import field_matrix

    s_ = _model_symbols()
    b, eta, alpha = S.b, S.eta, S.alpha
    X = sp.Matrix([[S.chi_Q, S.chi_R], [S.chi_R, S.chi_E]])
    G, g = sp.Matrix(s_.G), sp.Matrix(s_.g)
    scaling = {sym: val for sym, val in zip(g, G - X / b, strict=True)
               if isinstance(sym, sp.Symbol)}
    # entropic: the covariance of the weights minus the mean part; its A - B is G - g
    P_S = (G - g).subs(scaling).applyfunc(sp.expand).inv()
    # energetic: the RS matrix I + b (I (x) K) C of the derivation; A - B = I + eta K X
    M = energetic_field_matrix()
    AmB = (M.diag - M.off).subs(scaling).applyfunc(sp.expand)
    if AmB.has(b):  # pragma: no cover - structural guarantee
        raise AssertionError("A - B of the energetic matrix depends on b")
    cov = local_field_covariance().result
    if (cov.diag - cov.off - eta * (G - g)).applyfunc(sp.expand) != sp.zeros(2, 2):
        raise AssertionError("the field covariance's A - B is not eta (G - g)")  # pragma: no cover
    K = sp.Matrix(field_matrix())
    d = sp.Matrix(2, 2, sp.symbols("delta_11 delta_12 delta_21 delta_22", real=True))
    form = -pair_form(P_S, AmB.inv(), K, alpha, eta, b, d) / b**2
    vec = list(d)
    R_X = sp.Matrix(4, 4, lambda i, j: sp.diff(form, vec[i], vec[j]) / 2)
    # the compact form, checked exactly at random rational points (two values of b: the
    # form scales as b^2)
    Gamma = (K.inv() + eta * X).inv()
    compact = sp.kronecker_product(X.inv(), X.inv()) - alpha * eta**2 * sp.kronecker_product(
        Gamma, Gamma)
    rng = np.random.default_rng(0)
    for _ in range(3):
        point = {sym: sp.Rational(int(rng.integers(1, 40)), int(rng.integers(1, 40)))
                 for sym in (R_X.free_symbols | compact.free_symbols)}
        for b_value in (3, 7):
            at = {**point, b: b_value}
            if (R_X.xreplace(at) - compact.xreplace(at)).applyfunc(sp.nsimplify) != sp.zeros(4, 4):
                raise AssertionError("the replicon form differs from "  # pragma: no cover
                                     "X^-1 (x) X^-1 - alpha eta^2 Gamma (x) Gamma")
    Y = sp.Matrix([[S.chihat_Q, S.chihat_R], [S.chihat_R, S.chihat_E]])
    N = sp.Matrix(K.inv() * Y + eta * sp.eye(2))
    Ninv = N.inv().applyfunc(sp.cancel)
    normalized = sp.eye(4) - alpha * eta**2 * sp.kronecker_product(Ninv, Ninv)
    R = sp.kronecker_product(Y, Y) * normalized
    # Gamma = Y N^{-1} with X = Y^{-1}, so R is the compact form in precision variables
    to_precision = dict(zip((S.chi_Q, S.chi_R, S.chi_E),
                            (Y.inv()[0, 0], Y.inv()[0, 1], Y.inv()[1, 1]), strict=True))
    if (Gamma.subs(to_precision) - Y * Ninv).applyfunc(sp.cancel) != sp.zeros(2, 2):
        raise AssertionError("Gamma differs from Y N^-1")  # pragma: no cover
    unknowns = (S.Q, S.R, S.E, S.m, S.d, S.chihat_Q, S.chihat_R, S.chihat_E)
    return {"R": R, "R_X": R_X, "normalized": normalized, "Ninv": Ninv,
            "unknowns": unknowns, "parameters": S.PARAMETERS}


def _model_symbols():
    from symrep.models import default_model

    return default_model().symbols()


def _build_source() -> str:
    from symrep.numeric.codegen import generate_source

    ex = replicon_expressions()
    args = (*ex["unknowns"], *ex["parameters"])
    functions = {"replicon_matrix": (args, list(ex["R"])),
                 "replicon_normalized": (args, list(ex["normalized"]))}
    return generate_source(functions, module="numpy",
                           header="Generated by symrep.stability.replicon; do not edit.")


@cache
def generated():
    """The generated NumPy functions (from the disk cache; generated at first use).

    ``replicon_matrix(*z, *p)``: the 16 entries of R, row-major; ``replicon_normalized(*z,
    *p)``: the 16 entries of I - alpha eta^2 N^{-1} (x) N^{-1}. z are the eight unknowns of
    :mod:`symrep.numeric.system`, p = (alpha, beta, lam, rho, eta).

    Returns
    -------
    module
        The generated module.
    """
    return load_or_generate("replicon", lambda: _key(), _build_source)


def replicon_eigenvalues(z, params):
    """Eigenvalues of the normalized replicon matrix at RS saddle points, ascending.

    Parameters
    ----------
    z : ndarray (8, n)
        The unknowns (Q, R, E, m, d, chihat_Q, chihat_R, chihat_E) per column.
    params : sequence of 5 array_like
        alpha, beta, lam, rho, eta, each broadcasting to ``(n,)``.

    Returns
    -------
    ndarray (n, 4)
        The four eigenvalues 1 - alpha eta^2 nu_i nu_j per point, ascending (real parts:
        N^{-1} has real eigenvalues wherever Y is positive semidefinite); the first is the
        replicon eigenvalue. NaN where z is not finite.
    """
    z = np.asarray(z, dtype=float)
    n = z.shape[1]
    p = [np.broadcast_to(np.asarray(v, dtype=float), (n,)) for v in params]
    with np.errstate(all="ignore"):
        out = generated().replicon_normalized(*z, *p)
    A = np.stack([np.broadcast_to(np.asarray(v, dtype=float), (n,)) for v in out], axis=-1)
    A = A.reshape(n, 4, 4)
    ok = np.all(np.isfinite(A), axis=(1, 2))
    eig = np.full((n, 4), np.nan)
    if ok.any():
        eig[ok] = np.sort(np.linalg.eigvals(A[ok]).real, axis=1)
    return eig
