"""Step 1: the per-sample objective as a quadratic form in the local fields.

For one sample x, with the local fields u = x.W/sqrt(N) and v = x.W~/sqrt(N) (v is the
encoder mean) and Q = W.W/N, the objective of the model reads

    (||x||^2 - 2 u v + v^2 Q + Q D)/2 + beta (D + v^2 - 1 - log D)/2.

SymPy splits it into the data norm ||x||^2/2, a quadratic form h^T K h / 2 in
h = (u, v), and a part that depends on the weights only through Q and D.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from symrep.replica.derivation import Equation, Step
from symrep.symbols import D, Q, beta, u, v, x2

__all__ = ["per_sample_objective", "field_matrix"]


@cache
def per_sample_objective() -> Step:
    """Split the per-sample objective into data norm, field quadratic form and weight term.

    Returns
    -------
    Step
        ``result`` is a dict with ``objective`` (the per-sample objective), ``K`` (the 2x2
        matrix of the quadratic form in (u, v)) and ``weight_term`` (the part depending on
        Q and D only).
    """
    objective = (x2 - 2 * u * v + v**2 * Q + Q * D) / 2 + beta * (D + v**2 - 1 - sp.log(D)) / 2
    h = sp.Matrix([u, v])
    K = sp.hessian(objective, (u, v))
    linear = [sp.diff(objective, s).subs({u: 0, v: 0}) for s in (u, v)]
    if any(sp.simplify(t) != 0 for t in linear):  # pragma: no cover - structural guarantee
        raise AssertionError("the objective has terms linear in the local fields")
    rest = sp.expand(objective - (h.T * K * h)[0, 0] / 2 - x2 / 2)
    weight_term = rest
    # displayed as (Q D + beta (D - 1 - log D)) / 2
    weight_display = sp.Mul(sp.Rational(1, 2), sp.collect(sp.expand(2 * rest), beta),
                            evaluate=False)
    text = r"""
For a sample $x$ define the local fields $u = x\cdot W/\sqrt{N}$ (decoder) and
$v = x\cdot \tilde W/\sqrt{N}$ (the encoder mean), and $Q = W\cdot W/N$. The
objective per sample, with the Gaussian expectation and the Kullback--Leibler divergence
in closed form, is $\ell$ below. It is a quadratic form in $h = (u, v)$ with matrix
$K = \partial^2 \ell / \partial h\,\partial h^{\mathsf T}$ (no linear term), plus the
data norm $\|x\|^2/2$, which no parameter changes and which is dropped from the free
energy, plus a term $w(Q, D)$ that depends on the weights only through $Q$ and $D$:
\[
  \ell = \frac{\|x\|^2}{2} + \frac{1}{2} h^{\mathsf T} K h + w(Q, D).
\]
"""
    return Step(
        key="01_objective",
        title="The objective in terms of local fields",
        text=text,
        equations=(
            Equation(r"\ell", objective.subs(x2, sp.Symbol(r"\|x\|^{2}"))),
            Equation("K", K),
            Equation("w(Q, D)", weight_display),
        ),
        result={"objective": objective, "K": sp.ImmutableMatrix(K), "weight_term": weight_term},
    )


def field_matrix() -> sp.ImmutableMatrix:
    """The matrix K of the quadratic form h^T K h / 2 in the local fields h = (u, v)."""
    return per_sample_objective().result["K"]
