"""Step 1: the per-sample objective as a quadratic form in the local fields.

For one sample x, with the local fields u = W^T x/sqrt(N) and v = W~ x/sqrt(N) (v is the
encoder mean; both of length M) and Q = W^T W/N, the objective of the model
(:meth:`symrep.model.LinearVAE.per_sample_objective`) reads, for M = 1,

    (||x||^2 - 2 u v + v^2 Q + Q D)/2 + beta (D + v^2 - 1 - log D)/2.

SymPy splits it into the data norm ||x||^2/2, a quadratic form h^T K h / 2 in
h = (u, v), and a part that depends on the weights only through Q and D.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from symrep.replica.derivation import Equation, Step

__all__ = ["per_sample_objective", "field_matrix", "field_matrix_inverse"]


def _model(model):
    from symrep.models import default_model

    return default_model() if model is None else model


def per_sample_objective(model=None) -> Step:
    """Split the per-sample objective into data norm, field quadratic form and weight term.

    Parameters
    ----------
    model : LinearVAE, optional
        The model (default ``LinearVAE()``, M = M* = 1).

    Returns
    -------
    Step
        ``result`` is a dict with ``objective`` (the per-sample objective), ``K`` (the
        2M x 2M matrix of the quadratic form in h = (u, v)) and ``weight_term`` (the part
        depending on Q and D only).
    """
    return _per_sample_objective(_model(model))


@cache
def _per_sample_objective(model) -> Step:
    s = model.symbols()
    objective = model.per_sample_objective()
    h = list(s.h)
    K = sp.hessian(objective, h)
    linear = [sp.diff(objective, x).subs({y: 0 for y in h}) for x in h]
    if any(sp.simplify(t) != 0 for t in linear):  # pragma: no cover - structural guarantee
        raise AssertionError("the objective has terms linear in the local fields")
    hm = sp.Matrix(h)
    rest = sp.expand(objective - (hm.T * K * hm)[0, 0] / 2 - s.x2 / 2)
    if any(rest.has(x) for x in h):  # pragma: no cover - structural guarantee
        raise AssertionError("the objective is not quadratic in the local fields")
    weight_term = rest
    # displayed as (Q D + beta (D - 1 - log D)) / 2
    weight_display = sp.Mul(sp.Rational(1, 2), sp.collect(sp.expand(2 * rest), s.beta),
                            evaluate=False)
    if model.is_scalar:
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
    else:
        text = rf"""
For a sample $x$ define the local fields $u = W^{{\mathsf T}} x/\sqrt{{N}}$ (decoder) and
$v = \tilde W x/\sqrt{{N}}$ (the encoder mean), vectors of length $M = {model.M}$, and
$Q = W^{{\mathsf T}} W/N$, $D = \operatorname{{diag}}(D_1, \dots, D_M)$. The objective per
sample, with the Gaussian expectation and the Kullback--Leibler divergence in closed form,
is $\ell = \tfrac12(\|x\|^2 - 2u^{{\mathsf T}}v + v^{{\mathsf T}}Qv + \operatorname{{tr}} QD)
+ \tfrac\beta2(\operatorname{{tr}} D + v^{{\mathsf T}}v - M - \log\det D)$, written out
below. It is a quadratic form in $h = (u, v)\in\mathbb R^{{2M}}$ with matrix
$K = \partial^2 \ell / \partial h\,\partial h^{{\mathsf T}}$ (no linear term), plus the
data norm $\|x\|^2/2$, which is dropped from the free energy, plus a term $w(Q, D)$ that
depends on the weights only through $Q$ and $D$:
\[
  \ell = \frac{{\|x\|^2}}{{2}} + \frac{{1}}{{2}} h^{{\mathsf T}} K h + w(Q, D).
\]
"""
    return Step(
        key="01_objective",
        title="The objective in terms of local fields",
        text=text,
        equations=(
            Equation(r"\ell", objective.subs(s.x2, sp.Symbol(r"\|x\|^{2}"))),
            Equation("K", K),
            Equation("w(Q, D)", weight_display),
        ),
        result={"objective": objective, "K": sp.ImmutableMatrix(K), "weight_term": weight_term},
    )


def field_matrix(model=None) -> sp.ImmutableMatrix:
    """The matrix K of the quadratic form h^T K h / 2 in the local fields h = (u, v).

    Parameters
    ----------
    model : LinearVAE, optional
        The model (default ``LinearVAE()``, M = M* = 1).

    Returns
    -------
    sympy.ImmutableMatrix
        K, of size (M + M*) x (M + M*), in the model's order parameters and beta.
    """
    return per_sample_objective(model).result["K"]


@cache
def _field_matrix_inverse(model) -> sp.ImmutableMatrix:
    K = sp.Matrix(field_matrix(model))
    inverse = K.inv()
    if not model.is_scalar:
        inverse = inverse.applyfunc(sp.factor)
    if sp.expand(K * inverse) != sp.eye(K.shape[0]):  # pragma: no cover - checked here
        raise AssertionError("K^{-1} is not the inverse of K")
    return sp.ImmutableMatrix(inverse)


def field_matrix_inverse(model=None) -> sp.ImmutableMatrix:
    """K^{-1}, explicit (K depends on Q and beta only; its inverse is polynomial).

    Parameters
    ----------
    model : LinearVAE, optional
        The model (default ``LinearVAE()``, M = M* = 1).

    Returns
    -------
    sympy.ImmutableMatrix
        K^{-1}, of the size of K.
    """
    return _field_matrix_inverse(_model(model))
