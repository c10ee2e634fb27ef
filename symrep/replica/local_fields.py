"""Step 2: the statistics of the local fields of n replicas over the data.

For replicas a = 1..n with weights (W_a, W~_a), the local fields of one sample,
h_a = (x.W_a, x.W~_a)/sqrt(N), are linear in the Gaussian data
x = sqrt(rho/N) W0 c + sqrt(eta) n, hence jointly Gaussian with zero mean and covariance

    E[h_a h_b^T] = rho t_a t_b^T + eta G_ab,

where t_a = (m_a, d_a) are the overlaps with the feature and G_ab the 2x2 matrix of
overlaps between the weights of replicas a and b. The replica-symmetric ansatz sets
G_aa = [[Q, R], [R, E]], G_ab = [[q, r], [r, e]] for a != b, and t_a = (m, d).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from symrep.replica.derivation import Equation, Step
from symrep.replica.rs_matrices import RSMatrix
from symrep.symbols import eta, offdiagonal_matrix, overlap_matrix, rho, teacher_overlaps

__all__ = ["local_field_covariance"]


@cache
def local_field_covariance() -> Step:
    """The RS covariance of the 2n local fields of one sample.

    Returns
    -------
    Step
        ``result`` is an :class:`~symrep.replica.rs_matrices.RSMatrix` with diagonal
        block rho t t^T + eta G and off-diagonal block rho t t^T + eta g.
    """
    t = teacher_overlaps()
    G, g = overlap_matrix(), offdiagonal_matrix()
    cov = RSMatrix(sp.ImmutableMatrix(rho * t * t.T + eta * G),
                   sp.ImmutableMatrix(rho * t * t.T + eta * g))
    text = r"""
The local fields $h_a = (x\cdot W_a, x\cdot\tilde W_a)/\sqrt N$ of the $n$ replicas are
linear in the Gaussian sample $x = \sqrt{\rho/N}\,W_0 c + \sqrt\eta\, \xi$, so they are
jointly Gaussian with zero mean and covariance
$\mathbb E[h_a h_b^{\mathsf T}] = \rho\, t_a t_b^{\mathsf T} + \eta\, G_{ab}$, where
$t_a = (W_0\cdot W_a, W_0\cdot\tilde W_a)/N$ and $G_{ab}$ is the $2\times 2$ matrix of
overlaps between replicas $a$ and $b$. Under the replica-symmetric ansatz
$t_a = (m, d)$, $G_{aa} = \mathcal Q$ and $G_{a\neq b} = \mathcal q$, so the covariance is
an RS block matrix with the blocks below.
"""
    return Step(
        key="02_local_fields",
        title="Local fields and the replica-symmetric ansatz",
        text=text,
        equations=(
            Equation(r"\mathcal Q", G),
            Equation(r"\mathcal q", g),
            Equation(r"\mathbb E[h_a h_a^{\mathsf T}]", cov.diag),
            Equation(r"\mathbb E[h_a h_b^{\mathsf T}]_{a\neq b}", cov.off),
        ),
        result=cov,
    )
