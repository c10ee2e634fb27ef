"""The matrices of the derivation as SymPy matrix symbols, and their explicit entries.

For a model with M latent units and M* features (p = 2M), the derivation manipulates
p x p and p x M* matrices as wholes (:mod:`symrep.replica.matrix_calculus`). Each
matrix symbol here prints as in the derivation document (e.g. ``\\mathcal{Q}``) and has a
*realization*, its explicit matrix of entries (:class:`symrep.model.ModelSymbols`), used
to evaluate and check the matrix expressions and, at the end, to write the free energy
entry by entry for the code generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

__all__ = ["MatrixForms", "matrix_forms"]


@dataclass(frozen=True)
class MatrixForms:
    """Matrix symbols of one model and their realization.

    Attributes
    ----------
    G, g : MatrixSymbol
        Overlaps of a replica with itself and with another one (p x p).
    t, P : MatrixSymbol
        Feature overlaps [m; d] (p x M*) and diag(rho) (M* x M*).
    K, Kinv : MatrixSymbol
        The matrix of the quadratic form of the objective in the fields, and its inverse.
    X, Xhat, Qhat, that : MatrixSymbol
        Susceptibilities and the zero-temperature conjugates.
    Atilde, Btilde, Htilde : MatrixSymbol
        Finite-temperature conjugates (diagonal block, off-diagonal block, of t).
    A, B : MatrixSymbol
        Diagonal and off-diagonal blocks of the RS matrix of the energetic term.
    Y, N : MatrixSymbol
        The precision matrix Y = X^{-1} and N = K^{-1} Y + eta I.
    I : Identity
        The p x p identity.
    realization : dict
        Matrix symbol -> explicit ImmutableMatrix (A and B as matrix expressions in the
        other symbols are in ``definitions``).
    definitions : dict
        A and B in terms of the other symbols (at finite temperature).
    """

    G: sp.MatrixSymbol
    g: sp.MatrixSymbol
    t: sp.MatrixSymbol
    P: sp.MatrixSymbol
    K: sp.MatrixSymbol
    Kinv: sp.MatrixSymbol
    X: sp.MatrixSymbol
    Xhat: sp.MatrixSymbol
    Qhat: sp.MatrixSymbol
    that: sp.MatrixSymbol
    Atilde: sp.MatrixSymbol
    Btilde: sp.MatrixSymbol
    Htilde: sp.MatrixSymbol
    A: sp.MatrixSymbol
    B: sp.MatrixSymbol
    Y: sp.MatrixSymbol
    N: sp.MatrixSymbol
    I: sp.Identity
    realization: dict
    definitions: dict


@cache
def matrix_forms(model) -> MatrixForms:
    """The matrix symbols of ``model`` (a :class:`~symrep.model.LinearVAE`)."""
    from symrep.replica.objective import field_matrix, field_matrix_inverse

    s = model.symbols()
    p, k = 2 * model.M, model.Mstar

    def square(name):
        return sp.MatrixSymbol(name, p, p)

    G, g = square(r"\mathcal{Q}"), square(r"\mathcal{q}")
    t = sp.MatrixSymbol("t", p, k)
    P = sp.MatrixSymbol(r"\mathrm{diag}(\rho)", k, k)
    K, Kinv = square("K"), square("K^{-1}")
    X, Xhat, Qhat = square(r"\mathcal{X}"), square(r"\hat{\mathcal{X}}"), square(
        r"\hat{\mathcal{Q}}")
    that = sp.MatrixSymbol(r"\hat{t}", p, k)
    Atilde, Btilde = square(r"\tilde{\mathcal{A}}"), square(r"\tilde{\mathcal{B}}")
    Htilde = sp.MatrixSymbol(r"\tilde{H}", p, k)
    A, B = square(r"\mathcal A"), square(r"\mathcal B")
    Y, N = square(r"\mathcal{Y}"), square(r"\mathcal{N}")
    I = sp.Identity(p)
    K_explicit = sp.ImmutableMatrix(field_matrix(model))
    realization = {
        G: s.G, g: s.g, t: s.t, P: s.P, K: K_explicit,
        Kinv: sp.ImmutableMatrix(field_matrix_inverse(model)),
        X: s.X, Xhat: s.Y, Qhat: s.Qhat, that: s.that, Atilde: s.Atilde,
        Btilde: s.Btilde, Htilde: s.Htilde, Y: s.Y,
    }
    b, eta = s.b, s.eta
    definitions = {A: I + b * K * (t * P * t.T + eta * G), B: b * K * (t * P * t.T + eta * g)}
    return MatrixForms(G=G, g=g, t=t, P=P, K=K, Kinv=Kinv, X=X, Xhat=Xhat, Qhat=Qhat,
                       that=that, Atilde=Atilde, Btilde=Btilde, Htilde=Htilde, A=A, B=B,
                       Y=Y, N=N, I=I, realization=realization, definitions=definitions)
