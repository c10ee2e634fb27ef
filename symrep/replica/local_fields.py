"""Step 2: the statistics of the local fields of n replicas over the data.

For replicas a = 1..n with weights (W_a, W~_a), the local fields of one sample,
h_a = (W_a^T x, W~_a x)/sqrt(N), are linear in the Gaussian data
x = sqrt(1/N) W0 diag(rho)^{1/2} c + sqrt(eta) n, hence jointly Gaussian with zero mean
and covariance

    E[h_a h_b^T] = t_a diag(rho) t_b^T + eta G_ab,

where t_a = [m_a; d_a] are the overlaps with the features and G_ab the 2M x 2M matrix
of overlaps between the weights of replicas a and b. The replica-symmetric ansatz sets
G_aa = [[Q, R], [R^T, E]], G_ab = [[q, r], [r^T, e]] for a != b, and t_a = t. For
M = M* = 1 the covariance is rho t t^T + eta G.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from symrep.replica.derivation import Equation, Step
from symrep.replica.objective import _model
from symrep.replica.rs_matrices import RSMatrix

__all__ = ["local_field_covariance"]


def local_field_covariance(model=None) -> Step:
    """The RS covariance of the 2Mn local fields of one sample.

    Parameters
    ----------
    model : LinearVAE, optional
        The model (default ``LinearVAE()``).

    Returns
    -------
    Step
        ``result`` is an :class:`~symrep.replica.rs_matrices.RSMatrix` with diagonal
        block t diag(rho) t^T + eta G and off-diagonal block t diag(rho) t^T + eta g.
    """
    return _local_field_covariance(_model(model))


@cache
def _local_field_covariance(model) -> Step:
    s = model.symbols()
    t, G, g = s.t, s.G, s.g
    if model.is_scalar:
        signal = s.rho[0] * t * t.T
    else:
        signal = t * s.P * t.T
    cov = RSMatrix(sp.ImmutableMatrix(signal + s.eta * G),
                   sp.ImmutableMatrix(signal + s.eta * g), s.n)
    if model.is_scalar:
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
        equations = (
            Equation(r"\mathcal Q", G),
            Equation(r"\mathcal q", g),
            Equation(r"\mathbb E[h_a h_a^{\mathsf T}]", cov.diag),
            Equation(r"\mathbb E[h_a h_b^{\mathsf T}]_{a\neq b}", cov.off),
        )
    else:
        text = rf"""
The local fields $h_a = (W_a^{{\mathsf T}} x, \tilde W_a x)/\sqrt N\in\mathbb R^{{2M}}$ of
the $n$ replicas are linear in the Gaussian sample
$x = N^{{-1/2}} W_0 \operatorname{{diag}}(\rho)^{{1/2}} c + \sqrt\eta\,\xi$
($W_0\in\mathbb R^{{N\times M^*}}$, $W_0^{{\mathsf T}}W_0/N = I$, $M^* = {model.Mstar}$
features), so they are jointly Gaussian with zero mean and covariance
$\mathbb E[h_a h_b^{{\mathsf T}}] = t_a \operatorname{{diag}}(\rho)\, t_b^{{\mathsf T}}
+ \eta\, G_{{ab}}$, where $t_a = [W_a^{{\mathsf T}}W_0; \tilde W_a W_0]/N$ is
$2M\times M^*$ and $G_{{ab}}$ is the $2M\times 2M$ matrix of overlaps between replicas $a$
and $b$. Under the replica-symmetric ansatz $t_a = t = [m; d]$, $G_{{aa}} = \mathcal Q$ and
$G_{{a\neq b}} = \mathcal q$ (below), so the covariance is an RS block matrix with blocks
$t\operatorname{{diag}}(\rho)t^{{\mathsf T}} + \eta\mathcal Q$ and
$t\operatorname{{diag}}(\rho)t^{{\mathsf T}} + \eta\mathcal q$, written out below.
"""
        equations = (
            Equation(r"\mathcal Q", G),
            Equation(r"\mathcal q", g),
            Equation("t", t),
            Equation(r"\mathbb E[h_a h_a^{\mathsf T}]", cov.diag),
            Equation(r"\mathbb E[h_a h_b^{\mathsf T}]_{a\neq b}", cov.off),
        )
    return Step(
        key="02_local_fields",
        title="Local fields and the replica-symmetric ansatz",
        text=text,
        equations=equations,
        result=cov,
    )
