"""The Hessian of the RS free energy on a saddle point, reduced to what must be a minimum.

f(z, Y) (:mod:`symrep.numeric.system`: z = (Q, R, E, m, d), the precision Y = X^{-1} with
entries chihat_Q, chihat_R, chihat_E, D eliminated at its minimum) is extremised, not
minimised: at fixed physical overlaps z the extremum over the conjugate Y is the
zero-temperature limit of -(1/b) log of the constrained partition function, i.e. the
minimum of L/N over the weights with those overlaps, f_red(z). It is f_red that must
have a local minimum on a stable branch; Y enters with whatever sign the elimination
gives, and its block of the Hessian is indefinite (two negative eigenvalues and a zero
one on every non-collapsed state of the grids of docs/stability.md; the whole 8 x 8
Hessian has 3 to 5 negative eigenvalues, stable or not): a test of the sign of the whole
Hessian or of the Y block says nothing.

The Y block is singular everywhere on the branches: f is constant along one direction v
of Y at a saddle point (checked numerically to rounding), and the mixed derivatives
along v are those of det(G - t t^T) = (Q - m^2)(E - d^2) - (R - m d)^2. That coefficient
of Y is a Lagrange multiplier: the zero-temperature saddle point has G - t t^T of rank
one (decoder and encoder parallel outside the feature, W~ = kappa W as in the exact
finite-N optimum), and f_red is defined on that surface. A Schur complement with the
inverse of the singular Y block (the naive check) divides by rounding and its sign is
noise. The correct second-order condition is that of a constrained extremum: eliminate
the regular part of Y (Schur complement with the pseudo-inverse of the Y block, whose
null vector is v) and project the result onto the tangent space of the constraint
{dz : (B v) . dz = 0}, B the (z, Y) block of the Hessian. The reduced Hessian is the
4 x 4 matrix on that tangent space; a branch is stable within RS iff it is positive
definite.

At the collapsed state G = 0 lies on the boundary of the admissible overlaps (G - t t^T
positive semidefinite): f is degree-one homogeneous in G there, the Y block vanishes, and
only the (m, d) block (which decouples from the rest, f being even in (m, d)) is a
Hessian; the (Q, R, E) directions at the boundary are bulk directions, decided by the
replicon (:mod:`symrep.stability.replicon`).
"""

from __future__ import annotations

import numpy as np

from symrep.numeric.compiled import stacked
from symrep.numeric.system import generated

__all__ = ["reduced_hessian", "hessian_blocks"]


def hessian_blocks(z, params):
    """The 8 x 8 Hessian of f at each column of z, from the generated Jacobian.

    Parameters
    ----------
    z : ndarray (8, n)
        The unknowns per column.
    params : sequence of 5 array_like
        alpha, beta, lam, rho, eta broadcasting to ``(n,)``.

    Returns
    -------
    ndarray (n, 8, 8)
        The Hessian (symmetrised: it is the Jacobian of the gradient).
    """
    z = np.asarray(z, dtype=float)
    n = z.shape[1]
    p = [np.broadcast_to(np.asarray(v, dtype=float), (n,)) for v in params]
    with np.errstate(all="ignore"):
        out = stacked(generated("compiled").residual_jacobian, *z, *p)
    H = np.moveaxis(np.asarray(out[8:], dtype=float).reshape(8, 8, n), -1, 0)
    return (H + np.swapaxes(H, 1, 2)) / 2


def reduced_hessian(z, params, collapsed):
    """Eigenvalues of the Hessian of f_red at each saddle point (see the module).

    Parameters
    ----------
    z : ndarray (8, n)
        The unknowns (Q, R, E, m, d, chihat_Q, chihat_R, chihat_E) per column.
    params : sequence of 5 array_like
        alpha, beta, lam, rho, eta broadcasting to ``(n,)``.
    collapsed : array_like of bool (n,)
        True for collapsed states (W = 0): only the (m, d) block is returned (the other
        two entries are NaN).

    Returns
    -------
    eigenvalues : ndarray (n, 4)
        Ascending eigenvalues of the reduced Hessian on the tangent space of the
        constraint (collapsed: the two of the (m, d) block, then NaN); NaN where z is not
        finite.
    y_block : ndarray (n, 3)
        Ascending eigenvalues of the Y block (for the record: indefinite and singular).
    """
    z = np.asarray(z, dtype=float)
    n = z.shape[1]
    collapsed = np.broadcast_to(np.asarray(collapsed, bool), (n,))
    H = hessian_blocks(z, params)
    eig = np.full((n, 4), np.nan)
    y_eig = np.full((n, 3), np.nan)
    finite = np.all(np.isfinite(H), axis=(1, 2))
    for i in np.nonzero(finite)[0]:
        A, B, C = H[i, :5, :5], H[i, :5, 5:], H[i, 5:, 5:]
        w, V = np.linalg.eigh(C)
        y_eig[i] = w
        if collapsed[i]:
            eig[i, :2] = np.linalg.eigvalsh(A[3:5, 3:5])
            continue
        # the null direction of the Y block is the multiplier of the rank constraint;
        # the other two are eliminated (f_red extremised over them)
        k = np.argmin(np.abs(w))
        keep = [j for j in range(3) if j != k]
        U = V[:, keep]
        S = A - B @ U @ np.diag(1 / w[keep]) @ U.T @ B.T
        normal = B @ V[:, k]
        # tangent space of the constraint: the orthogonal complement of its gradient
        _, _, Vt = np.linalg.svd(normal[None, :])
        T = Vt[1:].T
        eig[i] = np.linalg.eigvalsh(T.T @ S @ T)
    return eig, y_eig
