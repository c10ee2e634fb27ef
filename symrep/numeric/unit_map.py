"""Generated code for one latent unit: the conjugate fixed-point map and the spectral tests.

A latent unit whose decoder column lies along an eigenvector of the sample covariance
(eigenvalue s) has, at the RS saddle point, a precision matrix Y = X^{-1} that solves

    Y = T(Y) = 2 d(energetic + regularizer)/dG  at fixed K(y),  plus c on the (1, 1) entry,

where y = Q + beta fixes K, and c collects what depends on the decoder norm. This is the
replica fixed point of the conjugates (the same map that state evolution iterates), and it
is derived here from :func:`symrep.replica.rs_free_energy`'s energetic and regularizer
parts by SymPy. Its fixed points come in pairs; the physical one is attracting (the
linearised map has spectral radius below 1), and the pair merges at a fold, which is the
top edge of the noise bulk. The learning unit sits where the Hessian of f in the feature
overlaps t = (m, d) is singular: that Hessian's determinant is generated as well.

Generated functions (vectorised; arguments ``Y11, Y12, Y22`` then the named parameters):

- ``mp_map_jacobian(Y11, Y12, Y22, y, c, alpha, lam, eta)``: T(Y) (3 entries) then its
  3 x 3 Jacobian in (Y11, Y12, Y22), row-major;
- ``mp_linearisation(Y11, Y12, Y22, y, alpha, eta)``: trace and determinant of
  eta sqrt(alpha) A X, whose eigenvalues set the contraction rate of the map;
- ``feature_hessian_det(Y11, Y12, Y22, y, alpha, rho, eta)``: det d^2 f / dt dt^T, which
  vanishes on a spectral value where a unit can learn the feature of strength rho.

Newton steps, for the solver (:mod:`symrep.solvers.units`):

- ``map_step(Y11, Y12, Y22, y, c, alpha, lam, eta)``: F = T(Y) - Y (3 entries), the
  Newton step (DT - I)^{-1} F (3 entries), det(DT - I) and d F_11/d Y_11;
- ``spectral_step(Y11, Y12, Y22, y, c, alpha, lam, eta, sigma)``: F (3 entries),
  h = det(N + sigma I), the Newton step in (Y11, Y12, Y22, c) of the extended system
  F = 0, h = 0 (4 entries), with N = K^{-1} Y + eta I, then d F_11/d Y_11 and
  d h/d Y_11 (for the steps on the boundary Y_12 = Y_22 = 0, which the map keeps
  without weight decay: there the full steps are singular at alpha = 1);
- ``unit_residual(Q, kappa, Y11, Y12, Y22, alpha, beta, lam, rho, eta)``: d f/dQ and
  d f/dY11 of the full RS free energy at the unit state (Q, R, E, m, d) =
  (Q, kappa Q, kappa^2 Q, m, kappa m), each as a + b m^2 (f is even in (m, d)):
  (a_Q, b_Q, a_Y11, b_Y11).

Spectral conditions. With X = Y^{-1}, A = (K^{-1} + eta X)^{-1} = Y B where
B = N^{-1}, so A X = Y B Y^{-1}: the linearisation L = eta sqrt(alpha) A X of the map has
the eigenvalues of eta sqrt(alpha) B, and the eigenvalues of the map's Jacobian are their
pairwise products. On the attracting branch the leading eigenvalue of L falls from 0
(s large) to -1 at the fold, so the bulk edge is det(I + eta sqrt(alpha) B) = 0, that is
det(N + sigma I) = 0 with sigma = eta sqrt(alpha). The feature Hessian is
Y + alpha rho A = Y (I + alpha rho B), so away from singular Y the outlier of feature rho
is det(N + sigma I) = 0 with sigma = alpha rho: both are the same polynomial condition,
quadratic in Y, and the extended systems (Y, c) are regular at their roots. N stays
invertible where Y is singular (no weight decay, fewer samples than dimensions), so all
these steps are finite there.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from symrep.numeric.codegen import load_or_generate, source_key
from symrep.numeric.keys import default_model_sources, relocate

__all__ = ["unit_expressions", "newton_expressions", "unit_functions"]

_PACKAGE = Path(__file__).resolve().parents[1]
# the files the expressions come from, the derivation's model (LinearVAE()) included
_SOURCES = ([_PACKAGE / "symbols.py", _PACKAGE / "observables.py", Path(__file__),
             _PACKAGE / "numeric" / "codegen.py", _PACKAGE / "numeric" / "system.py"]
            + sorted((_PACKAGE / "replica").glob("*.py"))
            + default_model_sources())


def _key(*, versions: bool = True, root=None) -> str:
    """Key of the generated module (``versions=False``: the shipped one's); ``root``: a
    copy of the package folder to read the sources from (tests)."""
    return source_key(relocate(_SOURCES, root), extra=("unit_map",), versions=versions)


@cache
def unit_expressions():
    """SymPy expressions of the unit map, its linearisation and the feature Hessian.

    Returns
    -------
    dict
        ``Y`` (the 3 precision unknowns), ``y``, ``c``, ``T`` (list of 3), ``J``
        (3 x 3 Matrix), ``trace``, ``det`` (of eta sqrt(alpha) A X) and
        ``feature_det``.
    """
    import sympy as sp

    from symrep import symbols as S
    from symrep.replica.objective import field_matrix

    y = sp.Symbol("y", positive=True)
    c = sp.Symbol("c", real=True)
    Yv = (S.chihat_Q, S.chihat_R, S.chihat_E)
    Y = sp.Matrix([[Yv[0], Yv[1]], [Yv[1], Yv[2]]])
    K = sp.Matrix(field_matrix()).subs(S.Q, y - S.beta)  # K depends on Q only via Q + beta
    X = Y.inv()
    A = (K.inv() + S.eta * X).inv()
    # the energetic and regularizer parts of f as functions of the overlaps, at frozen
    # K(y) and precision Y: their G-gradient is the conjugate map
    G, t = S.overlap_matrix(), S.teacher_overlaps()
    Amat = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"_A{i}{j}"))
    Amat = sp.Matrix([[Amat[0, 0], Amat[0, 1]], [Amat[0, 1], Amat[1, 1]]])
    energetic = S.alpha * (Amat * (S.rho * t * t.T + S.eta * G)).trace() / 2
    regularizer = S.lam * (S.Q + S.E) / 2
    h = energetic + regularizer
    frozen = {Amat[0, 0]: A[0, 0], Amat[0, 1]: A[0, 1], Amat[1, 1]: A[1, 1]}
    # -(1/2) tr(Y G) = -(Y11 Q + 2 Y12 R + Y22 E)/2: stationarity in (Q, R, E)
    T = [sp.together((2 * sp.diff(h, S.Q)).xreplace(frozen)) + c,
         sp.together(sp.diff(h, S.R).xreplace(frozen)),
         sp.together((2 * sp.diff(h, S.E)).xreplace(frozen))]
    J = sp.Matrix([[sp.diff(Ti, v) for v in Yv] for Ti in T])
    L = S.eta * sp.sqrt(S.alpha) * A * X
    trace, det = sp.together(L.trace()), sp.together(L.det())
    # Hessian of f in t = (m, d): the t-dependent part of f is
    # +(1/2) t^T Y t + (alpha/2) rho t^T A t
    ft = (t.T * Y * t)[0, 0] / 2 + S.alpha * S.rho * (t.T * A * t)[0, 0] / 2
    H = sp.hessian(ft, (S.m, S.d))
    feature_det = sp.together(H.det())
    return {"Y": Yv, "y": y, "c": c, "T": T, "J": J, "trace": trace, "det": det,
            "feature_det": feature_det}


@cache
def newton_expressions():
    """SymPy expressions of the Newton steps (see the module docstring).

    Derivatives of T are taken through the opaque matrix B = N^{-1} (dA = eta B^T dY B,
    dB = -B K^{-1} dY B), so that the expressions stay polynomial in B, whose entries
    become common subexpressions of the generated code.

    Returns
    -------
    dict
        ``Y``, ``y``, ``c``, ``sigma``, ``kappa`` (symbols) and the output lists
        ``map_step``, ``spectral_step`` and ``unit_residual``.
    """
    import sympy as sp

    from symrep import symbols as S
    from symrep.numeric.system import expressions
    from symrep.replica.objective import field_matrix

    y = sp.Symbol("y", positive=True)
    c = sp.Symbol("c", real=True)
    sigma = sp.Symbol("sigma", real=True)
    Yv = (S.chihat_Q, S.chihat_R, S.chihat_E)
    Y = sp.Matrix([[Yv[0], Yv[1]], [Yv[1], Yv[2]]])
    K = sp.Matrix(field_matrix()).subs(S.Q, y - S.beta)  # K depends on Q only via Q + beta
    Kinv = K.inv()
    G, t = S.overlap_matrix(), S.teacher_overlaps()
    a = sp.symbols("_A00 _A01 _A11")
    Amat = sp.Matrix([[a[0], a[1]], [a[1], a[2]]])
    h = (S.alpha * (Amat * (S.rho * t * t.T + S.eta * G)).trace() / 2
         + S.lam * (S.Q + S.E) / 2)
    # the conjugate map as a function of the entries of A (see unit_expressions)
    T_of_A = [2 * sp.diff(h, S.Q) + c, sp.diff(h, S.R), 2 * sp.diff(h, S.E)]
    b = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"_b{i}{j}"))
    basis = [sp.Matrix([[1, 0], [0, 0]]), sp.Matrix([[0, 1], [1, 0]]),
             sp.Matrix([[0, 0], [0, 1]])]

    def entries(M):  # (11, 12, 22) entries of a matrix that is symmetric in value
        return [M[0, 0], (M[0, 1] + M[1, 0]) / 2, M[1, 1]]

    A = entries(Y * b)
    T = [Ti.xreplace(dict(zip(a, A, strict=True))) for Ti in T_of_A]
    slope = [[sp.diff(Ti, ai) for ai in a] for Ti in T_of_A]  # constant: T is linear in A
    dA = [entries(S.eta * b.T * E * b) for E in basis]
    Jm = sp.Matrix(3, 3, lambda i, k: sum(slope[i][j] * dA[k][j] for j in range(3))
                   - (1 if i == k else 0))
    F = sp.Matrix([T[i] - Yv[i] for i in range(3)])
    det3 = Jm.det(method="berkowitz")
    newton3 = Jm.adjugate() * F / det3
    N = Kinv * Y + S.eta * sp.eye(2)
    spectral = sp.expand((N + sigma * sp.eye(2)).det())
    grad = [sp.diff(spectral, v) for v in Yv]
    # bordered system [[DT - I, e_1], [grad^T, 0]] for (Y, c), solved by its adjugate
    q = sp.Matrix(4, 4, lambda i, j: sp.Symbol(f"_q{i}{j}"))
    q[0, 3], q[1, 3], q[2, 3], q[3, 3] = 1, 0, 0, 0
    rhs = sp.Matrix(sp.symbols("_r0:4"))
    values = {q[i, j]: Jm[i, j] for i in range(3) for j in range(3)}
    values.update({q[3, j]: grad[j] for j in range(3)})
    values.update(dict(zip(rhs, [*F, spectral], strict=True)))
    det4 = q.det(method="berkowitz").xreplace(values)
    newton4 = [v.xreplace(values) / det4 for v in q.adjugate() * rhs]
    Binv = N.adjugate() / N.det()
    opaque = {b[i, j]: Binv[i, j] for i in range(2) for j in range(2)}
    # the unit state in the full RS equations: d f/dQ and d f/dY11 are even in (m, d)
    kappa = sp.Symbol("kappa", real=True)
    residual = expressions()["residual"]
    unit = {S.R: kappa * S.Q, S.E: kappa**2 * S.Q, S.d: kappa * S.m}
    split = []
    for k in (0, 5):
        r = residual[k].xreplace(unit)
        r0 = r.xreplace({S.m: 0})
        split += [r0, r.xreplace({S.m: 1}) - r0]
    return {"Y": Yv, "y": y, "c": c, "sigma": sigma, "kappa": kappa,
            "map_step": [e.xreplace(opaque) for e in (*F, *newton3, det3, Jm[0, 0])],
            "spectral_step": [e.xreplace(opaque)
                              for e in (*F, spectral, *newton4, Jm[0, 0], grad[0])],
            "unit_residual": split}


def _build_source():
    from symrep import symbols as S
    from symrep.numeric.codegen import generate_source

    ex = unit_expressions()
    Yv, y, c = ex["Y"], ex["y"], ex["c"]
    functions = {
        "mp_map_jacobian": ((*Yv, y, c, S.alpha, S.lam, S.eta), [*ex["T"], *list(ex["J"])]),
        "mp_linearisation": ((*Yv, y, S.alpha, S.eta), [ex["trace"], ex["det"]]),
        "feature_hessian_det": ((*Yv, y, S.alpha, S.rho, S.eta), [ex["feature_det"]]),
    }
    nx = newton_expressions()
    sigma, kappa = nx["sigma"], nx["kappa"]
    functions.update({
        "map_step": ((*Yv, y, c, S.alpha, S.lam, S.eta), nx["map_step"]),
        "spectral_step": ((*Yv, y, c, S.alpha, S.lam, S.eta, sigma), nx["spectral_step"]),
        "unit_residual": ((S.Q, kappa, *Yv, *S.PARAMETERS), nx["unit_residual"]),
    })
    return generate_source(functions, module="numpy", expand_powers=True,
                           header="Generated by symrep.numeric.unit_map; do not edit.")


@cache
def unit_functions(backend: str = "compiled"):
    """The generated unit functions (shipped with the package, else from the disk cache).

    Parameters
    ----------
    backend : {"compiled", "numpy"}
        "numpy": the generated NumPy module; "compiled": its functions compiled to
        machine code (:mod:`symrep.numeric.compiled`; the NumPy module where that is not
        available).
    """
    if backend == "compiled":
        from symrep.numeric.compiled import compiled

        return compiled(unit_functions("numpy"))
    if backend != "numpy":
        raise ValueError(f"backend = {backend!r} is invalid: must be 'compiled' or 'numpy'")
    return load_or_generate("unit_map", _key, _build_source,
                            shipped_key=_key(versions=False))
