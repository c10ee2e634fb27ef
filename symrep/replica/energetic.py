"""Step 3: the energetic term, the Gaussian average over the data of n replicas.

The data enter the replicated Boltzmann weight exp(-b sum_a L_a) through
exp(-(b/2) sum_a h_a^T K h_a) for each sample. For Gaussian fields with covariance C,

    E exp(-h^T A h / 2) = det(I + A C)^{-1/2},

so, per sample, G_E(n) = -1/2 log det(I_{2n} + b (I_n (x) K) C). With C replica
symmetric, the determinant reduces to two 2x2 determinants for any n.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from symrep.replica.derivation import Equation, Step
from symrep.replica.local_fields import local_field_covariance
from symrep.replica.objective import field_matrix
from symrep.symbols import b

__all__ = ["energetic_term", "energetic_field_matrix"]


def energetic_field_matrix():
    """The RS matrix I + b (I_n (x) K) C whose log-determinant gives G_E(n)."""
    return local_field_covariance().result.left_multiply(b * field_matrix()).plus_identity()


@cache
def energetic_term() -> Step:
    """G_E(n) = log E_x exp(-(b/2) sum_a h_a^T K h_a) under the RS ansatz.

    Returns
    -------
    Step
        ``result`` is G_E as a SymPy expression in n, b, the overlaps and the parameters.
    """
    M = energetic_field_matrix()
    G_E = -M.logdet() / 2
    A, B = M.diag - M.off, M.symmetric_block()
    text = r"""
Each sample contributes $\exp(-\tfrac b2\sum_a h_a^{\mathsf T} K h_a)$ to the replicated
Boltzmann weight. For zero-mean Gaussian fields with covariance $C$,
$\mathbb E\, e^{-h^{\mathsf T}Ah/2} = \det(I + AC)^{-1/2}$, hence
$G_E(n) = -\tfrac12\log\det\bigl(I_{2n} + b\,(I_n\otimes K)\,C\bigr)$. The matrix is
replica symmetric with diagonal block $\mathcal A$ and off-diagonal block $\mathcal B$;
its determinant is $\det(\mathcal A - \mathcal B)^{n-1}\det(\mathcal A + (n-1)\mathcal B)$.
"""
    return Step(
        key="03_energetic",
        title="Energetic term: the Gaussian average over the data",
        text=text,
        equations=(
            Equation(r"\mathcal A - \mathcal B", sp.ImmutableMatrix(A)),
            Equation(r"\mathcal A + (n-1)\mathcal B", sp.ImmutableMatrix(B)),
            Equation("G_E(n)", r"-\frac{n-1}{2}\log\det(\mathcal A - \mathcal B)"
                     r" - \frac12\log\det(\mathcal A + (n-1)\mathcal B)"),
        ),
        result=G_E,
    )
