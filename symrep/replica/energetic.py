"""Step 3: the energetic term, the Gaussian average over the data of n replicas.

The data enter the replicated Boltzmann weight exp(-b sum_a L_a) through
exp(-(b/2) sum_a h_a^T K h_a) for each sample. For Gaussian fields with covariance C,

    E exp(-h^T A h / 2) = det(I + A C)^{-1/2},

so, per sample, G_E(n) = -1/2 log det(I_{2Mn} + b (I_n (x) K) C). With C replica
symmetric, the determinant reduces to two 2M x 2M determinants for any n:
G_E(n) = -(n-1)/2 log det(A - B) - 1/2 log det(A + (n-1) B). For M = M* = 1 SymPy writes
them out; for larger models they stay matrix expressions in A = I + b K (t diag(rho) t^T
+ eta Q) and B = b K (t diag(rho) t^T + eta q) (:mod:`symrep.replica.matrix_forms`).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from symrep.replica.derivation import Equation, Step
from symrep.replica.local_fields import local_field_covariance
from symrep.replica.objective import _model, field_matrix
from symrep.replica.rs_matrices import RSMatrix

__all__ = ["energetic_term", "energetic_field_matrix", "structural_energetic",
           "energetic_display"]


def energetic_field_matrix(model=None) -> RSMatrix:
    """The RS matrix I + b (I_n (x) K) C whose log-determinant gives G_E(n).

    Parameters
    ----------
    model : LinearVAE, optional
        The model (default ``LinearVAE()``, M = M* = 1).

    Returns
    -------
    RSMatrix
        The RS matrix, with explicit blocks of size M + M* in b, n and the order
        parameters.
    """
    model = _model(model)
    b = model.symbols().b
    return local_field_covariance(model).result.left_multiply(
        b * field_matrix(model)).plus_identity()


def structural_energetic(model=None):
    """G_E(n) as a matrix expression in the RS blocks A and B (matrix symbols).

    Parameters
    ----------
    model : LinearVAE, optional
        The model (default ``LinearVAE()``, M = M* = 1).

    Returns
    -------
    sympy.Expr
        -[(n-1) log det(A - B) + log det(A + (n-1) B)] / 2, with A and B the matrix symbols
        of :func:`symrep.replica.matrix_forms.matrix_forms`.
    """
    from symrep.replica.matrix_forms import matrix_forms

    model = _model(model)
    F = matrix_forms(model)
    return RSMatrix(F.A, F.B, model.symbols().n).logdet() * sp.Rational(-1, 2)


def energetic_display(model=None):
    """G_E(n) arranged for display: -(n-1)/2 log det(A - B) - 1/2 log det(A + (n-1) B).

    An unevaluated expression (:mod:`symrep.replica.display`); ``.doit()`` gives
    :func:`structural_energetic`.

    Parameters
    ----------
    model : LinearVAE, optional
        The model (default ``LinearVAE()``, M = M* = 1).

    Returns
    -------
    sympy.Expr
        The unevaluated sum.
    """
    from symrep.replica.matrix_forms import matrix_forms

    model = _model(model)
    F = matrix_forms(model)
    n_minus_1 = sp.Add(model.symbols().n, -1, evaluate=False)
    half = sp.Rational(-1, 2)
    return sp.Add(
        sp.Mul(half, n_minus_1, sp.log(sp.Determinant(sp.MatAdd(F.A, sp.MatMul(-1, F.B)))),
               evaluate=False),
        sp.Mul(half, sp.log(sp.Determinant(sp.MatAdd(F.A, sp.MatMul(n_minus_1, F.B)))),
               evaluate=False),
        evaluate=False)


def energetic_term(model=None) -> Step:
    """G_E(n) = log E_x exp(-(b/2) sum_a h_a^T K h_a) under the RS ansatz.

    Parameters
    ----------
    model : LinearVAE, optional
        The model (default ``LinearVAE()``).

    Returns
    -------
    Step
        ``result`` is G_E: for M = M* = 1 a SymPy expression in n, b, the overlaps and
        the parameters; otherwise a matrix expression in the RS blocks A, B
        (:attr:`symrep.replica.matrix_forms.MatrixForms.definitions` gives them).
    """
    return _energetic_term(_model(model))


@cache
def _energetic_term(model) -> Step:
    text = r"""
Each sample contributes $\exp(-\tfrac b2\sum_a h_a^{\mathsf T} K h_a)$ to the replicated
Boltzmann weight. For zero-mean Gaussian fields with covariance $C$,
$\mathbb E\, e^{-h^{\mathsf T}Ah/2} = \det(I + AC)^{-1/2}$, hence
$G_E(n) = -\tfrac12\log\det\bigl(I_{2n} + b\,(I_n\otimes K)\,C\bigr)$. The matrix is
replica symmetric with diagonal block $\mathcal A$ and off-diagonal block $\mathcal B$;
its determinant is $\det(\mathcal A - \mathcal B)^{n-1}\det(\mathcal A + (n-1)\mathcal B)$.
"""
    G_E_blocks = structural_energetic(model)
    shown = energetic_display(model)
    if sp.expand(shown.doit() - G_E_blocks) != 0:  # pragma: no cover - structural guarantee
        raise AssertionError("the displayed G_E differs from the RS log-determinant")
    if model.is_scalar:
        M = energetic_field_matrix(model)
        G_E = -M.logdet() / 2
        A, B = M.diag - M.off, M.symmetric_block()
        return Step(
            key="03_energetic",
            title="Energetic term: the Gaussian average over the data",
            text=text,
            equations=(
                Equation(r"\mathcal A - \mathcal B", sp.ImmutableMatrix(A)),
                Equation(r"\mathcal A + (n-1)\mathcal B", sp.ImmutableMatrix(B)),
                Equation("G_E(n)", shown, display={}),
            ),
            result=G_E,
        )
    from symrep.replica.matrix_forms import matrix_forms

    F = matrix_forms(model)
    text = text.replace(r"I_{2n}", r"I_{2Mn}") + r"""
Written as matrix expressions (the $2M\times 2M$ determinants are not expanded; the
identity is checked numerically against the explicit $2Mn\times 2Mn$ matrix for
$n = 1, 2, 3$ at random values in the test suite):
"""
    n = model.symbols().n
    return Step(
        key="03_energetic",
        title="Energetic term: the Gaussian average over the data",
        text=text,
        equations=(
            Equation(r"\mathcal A", F.definitions[F.A]),
            Equation(r"\mathcal B", F.definitions[F.B]),
            Equation(r"\mathcal A - \mathcal B",
                     sp.expand(F.definitions[F.A] - F.definitions[F.B])),
            Equation(r"\mathcal A + (n-1)\mathcal B",
                     sp.expand(F.definitions[F.A] + (n - 1) * F.definitions[F.B])),
            Equation("G_E(n)", shown, display={}),
        ),
        result=G_E_blocks,
    )
