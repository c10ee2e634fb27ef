"""Arbitrary-precision (mpmath) solution of the saddle point, to check the float64 path.

The same closed-form branches and the same SymPy expressions as the float64 solver, but
evaluated with mpmath at a chosen number of digits; the selected branch is then polished
by Newton iteration in that precision. The residual it reaches (far below 1e-30 at 50
digits) certifies that the closed forms solve the RS equations exactly, and the values
are the reference the generated float64 code is compared with.
"""

from __future__ import annotations

import numpy as np

from symrep.numeric.system import OBSERVABLE_NAMES, UNKNOWN_NAMES, generated
from symrep.validation import check_parameters

__all__ = ["solve_mp"]

_NEWTON_BLOCKS = {0: ((0, 1, 2), (5, 6, 7)), 1: ((0, 1, 2, 5, 6, 7),) * 2,
                  2: (tuple(range(8)),) * 2}


def solve_mp(alpha, beta, lam, rho=1.0, eta=1.0, dps=50, newton_steps=8):
    """Solve the RS saddle point in ``dps``-digit arithmetic.

    Returns
    -------
    dict
        ``branch`` (0 collapsed, 1 overfitting, 2 learning), the unknowns by name,
        ``D``, the observables by name, ``free_energy`` and ``residual`` (largest
        absolute residual of the eight equations), all as ``mpmath.mpf``.
    """
    import mpmath

    from symrep.crosscheck.random_matrix import MP, candidates

    p = check_parameters(alpha=alpha, beta=beta, lam=lam, rho=rho, eta=eta)
    fns = generated("mpmath")
    with mpmath.workdps(dps):
        params = [mpmath.mpf(p[k]) for k in ("alpha", "beta", "lam", "rho", "eta")]
        z, valid, branch = candidates(*(np.asarray(x, dtype=object) for x in params), xp=MP())
        best, f_best = None, None
        for k in range(z.shape[0]):
            if not bool(valid[k]):
                continue
            zk = [mpmath.mpf(x) for x in z[k]]
            if any(not mpmath.isfinite(x) for x in zk):
                continue
            fk = fns.free_energy(*zk, *params)[0]
            if f_best is None or fk < f_best:
                best, f_best = k, fk
        if best is None:
            raise RuntimeError(f"no branch exists at {p}")
        zb = [mpmath.mpf(x) for x in z[best]]
        rows, cols = _NEWTON_BLOCKS[int(branch[best])]
        for _ in range(newton_steps):
            out = fns.residual_jacobian(*zb, *params)
            F, J = out[:8], out[8:]
            if max(abs(x) for x in F) < mpmath.mpf(10) ** (-dps + 5):
                break
            A = mpmath.matrix([[J[8 * r + c] for c in cols] for r in rows])
            b = mpmath.matrix([F[r] for r in rows])
            step = mpmath.qr_solve(A, b)[0]  # least squares: J may be singular (bulk edge)
            trial = list(zb)
            for j, c in enumerate(cols):
                trial[c] -= step[j]
            if max(abs(x) for x in fns.residual(*trial, *params)) >= max(abs(x) for x in F):
                break
            zb = trial
        residual = max(abs(x) for x in fns.residual(*zb, *params))
        obs = fns.observables(*zb, *params)
        result = dict(zip(UNKNOWN_NAMES, zb, strict=True))
        result["D"] = params[1] / (params[1] + result["Q"])
        result.update(zip(OBSERVABLE_NAMES, obs, strict=True))
        result.update(branch=int(branch[best]), free_energy=fns.free_energy(*zb, *params)[0],
                      residual=residual)
    return result
