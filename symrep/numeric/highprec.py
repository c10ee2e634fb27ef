"""Arbitrary-precision (mpmath) solution of the saddle point, to check the float64 path.

The float64 solver (:func:`symrep.solvers.saddle_point.solve_arrays`) gives the optimum
and its branch; that point is then polished by Newton's method on the same SymPy
expressions, lambdified for mpmath, at a chosen number of digits. The residual it
reaches (far below 1e-30 at 50 digits) certifies that the float64 answer lies within its
rounding of an exact root of the RS equations, and the values are the reference the
generated float64 code is compared with. An independent reference, from the
random-matrix closed forms, is :func:`symrep.crosscheck.random_matrix.closed_form_mp`.
"""

from __future__ import annotations

from symrep.numeric.system import OBSERVABLE_NAMES, UNKNOWN_NAMES, generated
from symrep.validation import check_parameters

__all__ = ["solve_mp", "newton_mp"]

def newton_mp(z, params, branch, newton_steps=8):
    """Newton's method in the current mpmath precision on the generated RS equations.

    Parameters
    ----------
    z : sequence of 8 numbers
        Start (Q, R, E, m, d, chihat_Q, chihat_R, chihat_E).
    params : sequence of 5 ``mpmath.mpf``
    branch : int
        0 collapsed, 1 overfitting, 2 learning: which unknowns are free.

    Returns
    -------
    list of ``mpmath.mpf``
        Steps stop when the residual no longer decreases. Without weight decay the
        steps are least squares of minimum norm (the Jacobian is singular for
        alpha < 1, where the encoder has flat directions), and the encoder overlaps are
        set to their limit of vanishing weight decay, W~ = W/(Q + beta), as the float64
        solver reports them.
    """
    import mpmath

    from symrep.solvers.units import NEWTON_BLOCKS  # the free unknowns of each family

    fns = generated("mpmath")
    zb = [mpmath.mpf(x) for x in z]
    rows, cols = NEWTON_BLOCKS[int(branch)]
    flat = params[2] == 0 and int(branch) > 0

    def ridge_limit(z):
        if flat:
            kappa = 1 / (z[0] + params[1])
            z[1], z[2], z[4] = kappa * z[0], kappa**2 * z[0], kappa * z[3]
        return z

    zb = ridge_limit(zb)
    for _ in range(newton_steps):
        out = fns.residual_jacobian(*zb, *params)
        F, J = out[:8], out[8:]
        if max(abs(x) for x in F) < mpmath.mpf(10) ** (-mpmath.mp.dps + 5):
            break
        A = mpmath.matrix([[J[8 * r + c] for c in cols] for r in rows])
        b = mpmath.matrix([F[r] for r in rows])
        step = _minimum_norm_solve(A, b) if params[2] == 0 else mpmath.qr_solve(A, b)[0]
        trial = list(zb)
        for j, c in enumerate(cols):
            trial[c] -= step[j]
        trial = ridge_limit(trial)
        if max(abs(x) for x in fns.residual(*trial, *params)) >= max(abs(x) for x in F):
            break
        zb = trial
    return zb


def _minimum_norm_solve(A, b):
    """Least-squares solution of minimum norm (singular values below 10^(5 - dps) of the
    largest dropped): the Jacobian is singular without weight decay for alpha < 1."""
    import mpmath

    U, S, V = mpmath.svd_r(A)
    cut = max(S) * mpmath.mpf(10) ** (-mpmath.mp.dps + 5)
    Utb = U.T * b
    x = mpmath.matrix(A.cols, 1)
    for k in range(len(S)):
        if S[k] > cut:
            for i in range(A.cols):
                x[i] += V[k, i] * Utb[k] / S[k]
    return x


def solve_mp(alpha, beta, lam, rho=1.0, eta=1.0, dps=50, newton_steps=8):
    """Solve the RS saddle point in ``dps``-digit arithmetic.

    The float64 solution of :func:`symrep.solve` is polished by :func:`newton_mp`.

    Parameters
    ----------
    alpha : float
        Sample complexity P/N.
    beta : float
        Weight of the KL term.
    lam : float
        Weight decay.
    rho : float, optional
        Signal strength (default 1.0).
    eta : float, optional
        Noise strength (default 1.0).
    dps : int, optional
        Decimal digits of the arithmetic (default 50).
    newton_steps : int, optional
        Largest number of Newton steps (default 8).

    Returns
    -------
    dict
        ``branch`` (0 collapsed, 1 overfitting, 2 learning), the unknowns by name,
        ``D``, the observables by name, ``free_energy`` and ``residual`` (largest
        absolute residual of the eight equations), all as ``mpmath.mpf``.

    Raises
    ------
    SolverError
        Where the float64 solver finds no stationary point.
    ValueError
        If a parameter is outside its range (the message names it).
    """
    import mpmath

    from symrep.solvers.saddle_point import solve_arrays

    p = check_parameters(alpha=alpha, beta=beta, lam=lam, rho=rho, eta=eta)
    names = ("alpha", "beta", "lam", "rho", "eta")
    start = solve_arrays(**p)
    branch = int(start["phase"])
    fns = generated("mpmath")
    with mpmath.workdps(dps):
        params = [mpmath.mpf(p[k]) for k in names]
        zb = newton_mp([float(start[k]) for k in UNKNOWN_NAMES], params, branch,
                       newton_steps)
        return _result(fns, zb, params, branch)


def _result(fns, zb, params, branch):
    residual = max(abs(x) for x in fns.residual(*zb, *params))
    obs = fns.observables(*zb, *params)
    result = dict(zip(UNKNOWN_NAMES, zb, strict=True))
    result["D"] = params[1] / (params[1] + result["Q"])
    result.update(zip(OBSERVABLE_NAMES, obs, strict=True))
    result.update(branch=int(branch), free_energy=fns.free_energy(*zb, *params)[0],
                  residual=residual)
    return result
