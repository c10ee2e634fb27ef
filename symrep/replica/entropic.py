"""Step 4: the entropic term, the volume of weights with given overlaps.

The overlaps are fixed by delta functions written as Fourier integrals over conjugate
variables. The conjugate of the 2Mn x 2Mn overlap matrix G is an RS matrix G~ (blocks
A~ on the diagonal, B~ off it), the conjugate of the feature overlaps t (2M x M*) is a
matrix H~, entering as 1 (x) H~ W0_i at site i (W0_i the i-th row of W0). The weights
factorise over the N sites, and per site

    G_S(n) = extr [ tr(G~ G)/2 - n tr(H~^T t) + log int dw exp(-w^T G~ w/2 + (H~ W0_i)^T w) ]

with the Gaussian integral log int = n M log(2 pi) - log det G~ / 2 + the quadratic form
of H~ W0_i in G~^{-1} / 2. Averaged over the sites, W0^T W0 / N = I turns the quadratic
form into n tr(H~^T (A~ + (n-1) B~)^{-1} H~) / 2. For M = M* = 1, H~ = (m~, d~).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from symrep.replica.derivation import Equation, Step
from symrep.replica.objective import _model
from symrep.replica.rs_matrices import RSMatrix

__all__ = ["entropic_term", "conjugate_matrix", "structural_entropic"]


def conjugate_matrix(model=None) -> RSMatrix:
    """The RS conjugate of the overlap matrix: [[Q~, R~], [R~, E~]] and [[q~, r~], [r~, e~]].

    Parameters
    ----------
    model : LinearVAE, optional
        The model (default ``LinearVAE()``, M = M* = 1).

    Returns
    -------
    RSMatrix
        The RS matrix with blocks A~ (diagonal) and B~ (off-diagonal), explicit matrices
        of the conjugate symbols.
    """
    s = _model(model).symbols()
    return RSMatrix(sp.ImmutableMatrix(s.Atilde), sp.ImmutableMatrix(s.Btilde), s.n)


def structural_entropic(model=None):
    """G_S(n) as a matrix expression in the conjugates A~, B~, H~ (matrix symbols).

    Parameters
    ----------
    model : LinearVAE, optional
        The model (default ``LinearVAE()``, M = M* = 1).

    Returns
    -------
    sympy.Expr
        G_S(n), with the conjugates and overlaps the matrix symbols of
        :func:`symrep.replica.matrix_forms.matrix_forms`.
    """
    from symrep.replica.matrix_forms import matrix_forms

    model = _model(model)
    F = matrix_forms(model)
    n = model.symbols().n
    Gt = RSMatrix(F.Atilde, F.Btilde, n)
    gaussian = (n * model.M * sp.log(2 * sp.pi) - Gt.logdet() / 2
                + Gt.inverse_quadratic(F.Htilde) / 2)
    return (n * sp.Trace(F.Atilde * F.G) / 2 + n * (n - 1) * sp.Trace(F.Btilde * F.g) / 2
            - n * sp.Trace(F.Htilde.T * F.t) + gaussian)


def entropic_term(model=None) -> Step:
    """G_S(n): log-volume per site of n replicas of (W, W~) with RS overlaps.

    Parameters
    ----------
    model : LinearVAE, optional
        The model (default ``LinearVAE()``).

    Returns
    -------
    Step
        ``result`` is G_S, to be extremised over the conjugates: for M = M* = 1 a SymPy
        expression in n, the overlaps and the conjugates; otherwise a matrix expression
        (:func:`structural_entropic`).
    """
    return _entropic_term(_model(model))


@cache
def _entropic_term(model) -> Step:
    s = model.symbols()
    if model.is_scalar:
        G = RSMatrix(sp.ImmutableMatrix(s.G), sp.ImmutableMatrix(s.g), s.n)
        Gt = conjugate_matrix(model)
        h = sp.Matrix(s.Htilde)
        t = sp.Matrix(s.t)
        n = s.n
        gaussian = n * sp.log(2 * sp.pi) - Gt.logdet() / 2 + Gt.inverse_quadratic(h) / 2
        G_S = Gt.trace_product(G) / 2 - n * (h.T * t)[0, 0] + gaussian
        text = r"""
The overlaps are imposed by delta functions,
$\delta(N G - \sum_i w_i w_i^{\mathsf T}) \propto \int d\tilde G\,
\exp\bigl(\tfrac12 \operatorname{tr}\tilde G(NG - \sum_i w_i w_i^{\mathsf T})\bigr)$,
and likewise for the overlaps $t$ with the feature, with conjugate field $\tilde h$. Here
$w_i\in\mathbb R^{2n}$ collects the $i$-th components of $(W_a, \tilde W_a)_{a\le n}$.
The integral over the weights factorises over the sites; per site it is Gaussian:
\[
  \log\int dw\, e^{-\frac12 w^{\mathsf T}\tilde G w + \tilde h^{\mathsf T} w}
  = n\log 2\pi - \tfrac12\log\det\tilde G + \tfrac12\tilde h^{\mathsf T}\tilde G^{-1}\tilde h .
\]
With the RS conjugates $\tilde G$ (blocks $\tilde{\mathcal A}$, $\tilde{\mathcal B}$) and
$\tilde h = 1\otimes(\tilde m, \tilde d)$, SymPy evaluates the traces, the determinant and
the quadratic form for general $n$:
"""
        return Step(
            key="04_entropic",
            title="Entropic term: volume of the weights via conjugate variables",
            text=text,
            equations=(
                Equation(r"\tilde{\mathcal A}", Gt.diag),
                Equation(r"\tilde{\mathcal B}", Gt.off),
                Equation("G_S(n)", G_S),
            ),
            result=G_S,
        )
    G_S = structural_entropic(model)
    text = r"""
The overlaps are imposed by delta functions,
$\delta(N G - \sum_i w_i w_i^{\mathsf T}) \propto \int d\tilde G\,
\exp\bigl(\tfrac12 \operatorname{tr}\tilde G(NG - \sum_i w_i w_i^{\mathsf T})\bigr)$,
and likewise for the overlaps $t$ with the features, with a conjugate $2M\times M^*$
matrix $\tilde H$. Here $w_i\in\mathbb R^{2Mn}$ collects the $i$-th rows of
$(W_a, \tilde W_a^{\mathsf T})_{a\le n}$, and the feature constraint contributes
$(\tilde H W_{0,i})^{\mathsf T} w_i$ at site $i$ (replicated $n$ times). The integral over
the weights factorises over the sites; per site it is Gaussian:
\[
  \log\int dw\, e^{-\frac12 w^{\mathsf T}\tilde G w + \tilde h_i^{\mathsf T} w}
  = nM\log 2\pi - \tfrac12\log\det\tilde G + \tfrac12\tilde h_i^{\mathsf T}\tilde G^{-1}
  \tilde h_i ,\qquad \tilde h_i = 1\otimes\tilde H W_{0,i}.
\]
The site average of the quadratic form uses
$\frac1N\sum_i W_{0,i}W_{0,i}^{\mathsf T} = W_0^{\mathsf T}W_0/N = I$, so it becomes a
trace. With the RS conjugates $\tilde G$ (blocks $\tilde{\mathcal A}$, $\tilde{\mathcal B}$,
symmetric $2M\times 2M$), the RS identities of step 3 give, for general $n$ (checked
numerically against the explicit matrices for $n = 1, 2, 3$):
"""
    return Step(
        key="04_entropic",
        title="Entropic term: volume of the weights via conjugate variables",
        text=text,
        equations=(
            Equation(r"\tilde{\mathcal A}", s.Atilde),
            Equation(r"\tilde{\mathcal B}", s.Btilde),
            Equation(r"\tilde H", s.Htilde),
            Equation("G_S(n)", G_S),
        ),
        result=G_S,
    )
