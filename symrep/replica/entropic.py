"""Step 4: the entropic term, the volume of weights with given overlaps.

The overlaps are fixed by delta functions written as Fourier integrals over conjugate
variables. The conjugate of the 2n x 2n overlap matrix G is an RS matrix G~ (blocks
A~ on the diagonal, B~ off it), the conjugate of the feature overlaps t is a field
h~ = 1 (x) (m~, d~). Since W0 has entries of modulus one (or by rotation invariance),
the weights factorise over the N sites, and per site

    G_S(n) = extr [ tr(G~ G)/2 - sum_a h~.t_a + log int dw exp(-w^T G~ w/2 + h~^T w) ]

with the Gaussian integral log int = n log(2 pi) - log det G~ / 2 + h~^T G~^{-1} h~ / 2.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from symrep.replica.derivation import Equation, Step
from symrep.replica.rs_matrices import RSMatrix
from symrep.symbols import (
    Etilde,
    Qtilde,
    Rtilde,
    dtilde,
    etilde,
    mtilde,
    n,
    offdiagonal_matrix,
    overlap_matrix,
    qtilde,
    rtilde,
    teacher_overlaps,
)

__all__ = ["entropic_term", "conjugate_matrix"]


def conjugate_matrix() -> RSMatrix:
    """The RS conjugate of the overlap matrix: [[Q~, R~], [R~, E~]] and [[q~, r~], [r~, e~]]."""
    return RSMatrix(sp.ImmutableMatrix([[Qtilde, Rtilde], [Rtilde, Etilde]]),
                    sp.ImmutableMatrix([[qtilde, rtilde], [rtilde, etilde]]))


@cache
def entropic_term() -> Step:
    """G_S(n): log-volume per site of n replicas of (W, W~) with RS overlaps.

    Returns
    -------
    Step
        ``result`` is G_S as a SymPy expression in n, the overlaps and the conjugates
        (to be extremised over the conjugates).
    """
    G = RSMatrix(sp.ImmutableMatrix(overlap_matrix()), sp.ImmutableMatrix(offdiagonal_matrix()))
    Gt = conjugate_matrix()
    h = sp.Matrix([mtilde, dtilde])
    t = teacher_overlaps()
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
