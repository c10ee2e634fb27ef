"""Step 6: the zero-temperature limit b -> infinity.

The Boltzmann measure exp(-b L) concentrates on the minimisers of L. The replicas then
differ by O(1/b): the off-diagonal overlaps approach the diagonal ones with finite
susceptibilities X = b (G - g), and the conjugates scale as
A~ - B~ = b X^, B~ = -b^2 Q^, h~ = b (m^, d^). The free energy per N at zero
temperature is f = -lim_{b->inf} phi / b, computed by SymPy term by term and identified
with compact matrix expressions.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from symrep.replica.derivation import Equation, Step
from symrep.replica.objective import field_matrix
from symrep.replica.replica_limit import replica_limit
from symrep.symbols import (
    E,
    Etilde,
    Q,
    Qtilde,
    R,
    Rtilde,
    alpha,
    b,
    chi_E,
    chi_Q,
    chi_R,
    chihat_E,
    chihat_Q,
    chihat_R,
    dhat,
    dtilde,
    e,
    ehat,
    eta,
    etilde,
    mhat,
    mtilde,
    overlap_matrix,
    q,
    qhat,
    qtilde,
    r,
    rhat,
    rho,
    rtilde,
    susceptibility_matrix,
    teacher_overlaps,
)

__all__ = ["zero_temperature", "conjugate_hat_matrices"]


def conjugate_hat_matrices():
    """(X^, Q^, (m^, d^)): the zero-temperature conjugates as SymPy matrices."""
    X_hat = sp.Matrix([[chihat_Q, chihat_R], [chihat_R, chihat_E]])
    Q_hat = sp.Matrix([[qhat, rhat], [rhat, ehat]])
    return X_hat, Q_hat, sp.Matrix([mhat, dhat])


def _scaling():
    X_hat, Q_hat, t_hat = conjugate_hat_matrices()
    diag, off = b * X_hat - b**2 * Q_hat, -(b**2) * Q_hat
    return {
        q: Q - chi_Q / b, r: R - chi_R / b, e: E - chi_E / b,
        Qtilde: diag[0, 0], Rtilde: diag[0, 1], Etilde: diag[1, 1],
        qtilde: off[0, 0], rtilde: off[0, 1], etilde: off[1, 1],
        mtilde: b * t_hat[0], dtilde: b * t_hat[1],
    }


@cache
def zero_temperature() -> Step:
    """f = -lim phi/b with the conjugates still present.

    Returns
    -------
    Step
        ``result`` is a dict with ``entropic`` and ``energetic`` (the limits of the
        corresponding parts of phi / b, in compact form, verified equal to the limits
        SymPy computed) and ``free_energy`` = -entropic - alpha energetic + local.
    """
    parts = replica_limit().result
    scaling = _scaling()
    raw_s = sp.limit(parts["entropic"].subs(scaling) / b, b, sp.oo)
    raw_e = sp.limit(parts["energetic"].subs(scaling) / b, b, sp.oo)
    Gm, t, X = overlap_matrix(), teacher_overlaps(), susceptibility_matrix()
    X_hat, Q_hat, t_hat = conjugate_hat_matrices()
    K = sp.Matrix(field_matrix())
    entropic = ((X_hat * Gm).trace() - (Q_hat * X).trace() - 2 * (t_hat.T * t)[0, 0]
                + (X_hat.inv() * Q_hat).trace() + (t_hat.T * X_hat.inv() * t_hat)[0, 0]) / 2
    energetic = -((K.inv() + eta * X).inv() * (rho * t * t.T + eta * Gm)).trace() / 2
    for raw, compact, name in ((raw_s, entropic, "entropic"), (raw_e, energetic, "energetic")):
        if sp.simplify(raw - compact) != 0:  # pragma: no cover - checked by the tests
            raise AssertionError(f"the {name} limit differs from its compact form")
    free_energy = -entropic - alpha * energetic + parts["local"]
    text = r"""
As $b\to\infty$ the replicas collapse onto the minimiser: $\mathcal q = \mathcal Q -
\mathcal X/b$ with the susceptibility matrix
$\mathcal X = \begin{pmatrix}\chi_Q & \chi_R\\ \chi_R & \chi_E\end{pmatrix}$ finite, and the
conjugates scale as $\tilde{\mathcal A} - \tilde{\mathcal B} = b\hat{\mathcal X}$,
$\tilde{\mathcal B} = -b^2\hat{\mathcal Q}$, $\tilde h = b\,\hat t$. SymPy computes
$\lim_{b\to\infty}\Phi'(0)/b$ term by term; the results are identical (verified by SymPy)
to the compact forms
\begin{align*}
 \lim_{b\to\infty}\frac{G_S'(0)}{b} &= \tfrac12\operatorname{tr}(\hat{\mathcal X}\mathcal Q)
 - \tfrac12\operatorname{tr}(\hat{\mathcal Q}\mathcal X) - \hat t^{\mathsf T} t
 + \tfrac12\operatorname{tr}(\hat{\mathcal X}^{-1}\hat{\mathcal Q})
 + \tfrac12 \hat t^{\mathsf T}\hat{\mathcal X}^{-1}\hat t, \\
 \lim_{b\to\infty}\frac{G_E'(0)}{b} &= -\tfrac12\operatorname{tr}\bigl[(K^{-1}+\eta\mathcal X)^{-1}
 (\rho\, t t^{\mathsf T} + \eta\mathcal Q)\bigr],
\end{align*}
and the free energy per $N$ is $f = -\lim_{b\to\infty}\Phi'(0)/b$:
"""
    return Step(
        key="06_zero_temperature",
        title="The zero-temperature limit",
        text=text,
        equations=(
            Equation(r"K^{-1}", K.inv()),
            Equation(r"f", free_energy),
        ),
        result={"entropic": entropic, "energetic": energetic, "local": parts["local"],
                "free_energy": free_energy},
    )
