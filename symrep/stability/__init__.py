"""Stability of the replica-symmetric branches: the reduced RS Hessian and the replicon.

:func:`branch_stability` (one point) and :func:`branch_stability_arrays` (curves) report,
for every stationary state of the one-unit RS equations, whether it is a local minimum
within replica symmetry and its replicon (de Almeida-Thouless) eigenvalue. The theory
and the checks are in docs/stability.md.
"""

from symrep.stability.branches import (
    HESSIAN_TOLERANCE,
    MARGINAL,
    BranchStability,
    branch_stability,
    branch_stability_arrays,
)

__all__ = ["BranchStability", "branch_stability", "branch_stability_arrays", "MARGINAL",
           "HESSIAN_TOLERANCE"]
