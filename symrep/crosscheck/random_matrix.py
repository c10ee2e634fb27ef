"""Random-matrix closed forms of the one-unit RS stationary points: a cross-check only.

symrep's solver does not use this module: it finds the stationary points from the
generated saddle-point equations alone (:mod:`symrep.solvers.units`). The formulas here,
typed by hand from random-matrix theory, are an independent check of that solver for
the tests and the documentation (:func:`closed_form_solution`), and, per latent unit
(distinct spikes), for several units and features.

The RS equations of this model are solved exactly by random-matrix quantities, which
the tests verify (the residual of the generated RS equations vanishes to rounding, and
to 1e-40 in 60-digit arithmetic). Every stationary point belongs to one of three
families:

- **collapsed**: Q = R = E = m = d = 0 and the precision matrix Y solves
  Y = alpha eta (K0^{-1} Y + eta)^{-1} Y + diag(lam + alpha, lam) with
  K0 = [[0, -1], [-1, beta]];
- **overfitting**: (W, W~) along a direction of the noise bulk, at its upper edge
  s = eta (1 + alpha^{-1/2})^2, so m = d = 0;
- **learning**: (W, W~) along the spike, s = (rho + eta)(1 + eta/(alpha rho)), which
  exists when alpha rho^2 > eta^2 (the spectral transition), with
  m^2 / Q = (alpha rho^2 - eta^2) / (alpha rho^2 + eta rho).

For the last two, G = Q (1, kappa)(1, kappa)^T, t = m (1, kappa) with
kappa = 1/(y + p), y = Q + beta, p = lam/(alpha s), and y solves the cubic

    p s y (y + p)^2 + beta (y + p)^2 - s y (beta + p) = 0,      y in [beta, s (1 + p/beta)],

which has up to three roots (up to three stationary points per family). The precision
matrix is Y = K psi(M), M = K^{-1} diag(lam + c, lam), with psi the inverse Stieltjes
transform of the Marchenko-Pastur law evaluated at the two eigenvalues of M.

All functions take an ``xp`` namespace (NumPy, or :data:`MP` for mpmath object arrays)
so that the same code serves the float64 solver and the high-precision checks.
"""

from __future__ import annotations

import types

import numpy as np

__all__ = ["NP", "MP", "spectral_edges", "stationary_y", "candidates", "BRANCHES",
           "closed_form_solution", "closed_form_mp"]

#: Branch names in the order of the candidate blocks.
BRANCHES = ("collapsed", "overfitting", "learning")


def _mp_namespace():
    import mpmath

    vec = np.frompyfunc
    return types.SimpleNamespace(
        sqrt=vec(mpmath.sqrt, 1, 1), log1p=vec(lambda x: mpmath.log(1 + x), 1, 1),
        asarray=lambda x: np.asarray(x, dtype=object),
        zero=mpmath.mpf(0), one=mpmath.mpf(1), eps=mpmath.mpf(10) ** (-mpmath.mp.dps + 5),
        bisect_steps=4 * mpmath.mp.prec,
    )


#: float64 namespace.
NP = types.SimpleNamespace(sqrt=np.sqrt, log1p=np.log1p,
                           asarray=lambda x: np.asarray(x, dtype=np.float64),
                           zero=0.0, one=1.0, eps=np.finfo(float).eps, bisect_steps=110)


def MP():
    """mpmath namespace at the current ``mpmath.mp`` precision (object arrays).

    Returns
    -------
    types.SimpleNamespace
        ``sqrt``, ``log1p``, ``asarray``, ``zero``, ``one``, ``eps`` and ``bisect_steps``
        for mpmath numbers in object arrays, at the precision current when it is called.
    """
    return _mp_namespace()


def spectral_edges(alpha, rho, eta, xp=NP):
    """Top of the noise bulk, top eigenvalue of the spike and the squared overlap.

    Parameters
    ----------
    alpha : array_like
        Sample complexity P / N.
    rho : array_like
        Signal strength.
    eta : array_like
        Noise strength.
    xp : namespace, optional
        :data:`NP` (float64, default) or :func:`MP` (mpmath object arrays).

    Returns
    -------
    edge : array
        eta (1 + alpha^{-1/2})^2, the upper Marchenko-Pastur edge.
    spike : array
        (rho + eta)(1 + eta/(alpha rho)), the top eigenvalue when it separates.
    overlap2 : array
        Squared overlap of the top eigenvector with the feature (0 below the transition).
    separated : bool array
        alpha rho^2 > eta^2.
    """
    edge = eta * (1 + 1 / xp.sqrt(alpha)) ** 2
    spike = (rho + eta) * (1 + eta / (alpha * rho))
    separated = alpha * rho**2 > eta**2
    overlap2 = np.where(separated, (alpha * rho**2 - eta**2) / (alpha * rho**2 + eta * rho),
                        xp.zero)
    return edge, np.where(separated, spike, edge), overlap2, separated


def _cubic(y, s, beta, p):
    """Stationarity cubic and its derivative in y."""
    yp = y + p
    value = p * s * y * yp**2 + beta * yp**2 - s * y * (beta + p)
    slope = p * s * (yp**2 + 2 * y * yp) + 2 * beta * yp - s * (beta + p)
    return value, slope


def stationary_y(s, beta, p, xp=NP):
    """All roots y > beta of the stationarity cubic, by safeguarded Newton iteration.

    The cubic is split into monotone pieces at its critical points; each piece with a
    sign change on [beta, s (1 + p/beta)] holds exactly one root, found by Newton steps
    kept inside the shrinking bracket (bisection when a step would leave it).

    Parameters
    ----------
    s : array_like
        Top eigenvalue of the sample covariance the unit sits on (spike or bulk edge).
    beta : array_like
        Weight of the KL term.
    p : array_like
        lam / (alpha s), the weight decay per sample relative to s.
    xp : namespace, optional
        :data:`NP` (float64, default) or :func:`MP` (mpmath object arrays).

    Returns
    -------
    y : array (3, ...)
    valid : bool array (3, ...)
    """
    s, beta, p = np.broadcast_arrays(s, beta, p)
    lo = beta
    hi = s * (1 + p / beta)
    # critical points of c3 y^3 + c2 y^2 + c1 y + c0: roots of 3 c3 y^2 + 2 c2 y + c1
    c3, c2 = p * s, 2 * p**2 * s + beta
    c1 = p**3 * s + 2 * p * beta - s * (beta + p)
    disc = c2 * c2 - 3 * c3 * c1
    has_crit = disc > 0
    root = xp.sqrt(np.where(has_crit, disc, xp.zero))
    q = -(c2 + root)  # c2 > 0: no cancellation
    linear = c3 == 0  # no weight decay: the derivative is linear
    crit1 = np.where(linear, -c1 / (2 * c2), q / (3 * np.where(linear, xp.one, c3)))
    crit2 = np.where(has_crit, c1 / q, crit1)
    crit1 = np.where(has_crit, crit1, lo)
    crit2 = np.where(has_crit, crit2, lo)
    first = np.minimum(np.maximum(np.minimum(crit1, crit2), lo), hi)
    second = np.minimum(np.maximum(np.maximum(crit1, crit2), lo), hi)
    left = np.stack([lo, first, second])
    right = np.stack([first, second, hi])
    s3, b3, p3 = (np.broadcast_to(v, left.shape) for v in (s, beta, p))
    f_left, _ = _cubic(left, s3, b3, p3)
    f_right, _ = _cubic(right, s3, b3, p3)
    # a root on a knot belongs to the piece it ends (f = 0 at the left end is skipped)
    valid = (right > left) & (f_left * f_right <= 0) & (f_left != 0)
    # orient each bracket so that the cubic is negative at `a` and positive at `b`
    a = np.where(f_left <= 0, left, right)
    b = np.where(f_left <= 0, right, left)
    x = (left + right) / 2
    for _ in range(200):
        fx, dfx = _cubic(x, s3, b3, p3)
        a = np.where(fx <= 0, x, a)
        b = np.where(fx <= 0, b, x)
        safe = np.where(dfx == 0, xp.one, dfx)
        newton = x - fx / safe
        inside = (dfx != 0) & ((newton - a) * (newton - b) < 0)
        x_new = np.where(inside, newton, (a + b) / 2)
        done = np.abs(x_new - x) <= 4 * xp.eps * np.abs(x)
        x = x_new
        if bool(np.all(done | ~valid)):
            break
    return x, valid & (x > lo)


def _psi_plus(mu, alpha, eta, xp):
    """Inverse Stieltjes function at mu >= 0 (stable in both signs of b)."""
    b = eta * (alpha - 1) + mu
    root = xp.sqrt(b * b + 4 * eta * mu)
    denom = np.where(b < 0, root - b, xp.one)
    return np.where(b >= 0, (b + root) / 2, 2 * eta * mu / denom)


def _precision(K11, K22, lam_c, lam, mu_plus, mu_minus, psi_plus, psi_minus):
    """Y = K psi(M), M = K^{-1} diag(lam + c, lam), K = [[K11, -1], [-1, K22]].

    psi(M) = [psi+ (M - mu- I) - psi- (M - mu+ I)] / (mu+ - mu-). Returns (Y11, Y12, Y22).
    """
    det = K11 * K22 - 1
    # K^{-1} = [[K22, 1], [1, K11]] / det
    M11, M12 = K22 * lam_c / det, lam / det
    M21, M22 = lam_c / det, K11 * lam / det
    gap = mu_plus - mu_minus
    P11 = (psi_plus * (M11 - mu_minus) - psi_minus * (M11 - mu_plus)) / gap
    P12 = (psi_plus - psi_minus) * M12 / gap
    P21 = (psi_plus - psi_minus) * M21 / gap
    P22 = (psi_plus * (M22 - mu_minus) - psi_minus * (M22 - mu_plus)) / gap
    Y11 = K11 * P11 - P21
    Y12 = K11 * P12 - P22
    Y22 = -P12 + K22 * P22
    return Y11, Y12, Y22


def candidates(alpha, beta, lam, rho, eta, xp=NP):
    """Every closed-form stationary point, grouped by branch.

    Parameters
    ----------
    alpha, beta, lam, rho, eta : array_like
        Broadcast against each other.

    Returns
    -------
    z : array (7, 8, ...)
        Candidate unknowns (Q, R, E, m, d, chihat_Q, chihat_R, chihat_E): index 0 is the
        collapsed point, 1-3 the overfitting roots, 4-6 the learning roots.
    valid : bool array (7, ...)
        Which candidates exist.
    branch : int array (7,)
        Index into :data:`BRANCHES` of each candidate.
    """
    alpha, beta, lam, rho, eta = (xp.asarray(v) for v in (alpha, beta, lam, rho, eta))
    alpha, beta, lam, rho, eta = np.broadcast_arrays(alpha, beta, lam, rho, eta)
    zero = np.zeros_like(alpha)
    edge, spike, overlap2, separated = spectral_edges(alpha, rho, eta, xp)

    # collapsed: K0 = [[0, -1], [-1, beta]], Lambda0 = diag(lam + alpha, lam)
    lam_c = lam + alpha
    disc = xp.sqrt(beta**2 * lam_c**2 + 4 * lam * lam_c)
    mu_minus = -(beta * lam_c + disc) / 2
    mu_plus = 2 * lam * lam_c / (beta * lam_c + disc)
    # the collapsed saddle exists when the pole -mu-/alpha lies above the bulk
    exists = -mu_minus / alpha >= edge * (1 - 64 * xp.eps)
    b_minus = eta * (alpha - 1) + mu_minus
    root_minus = xp.sqrt(np.where(exists, np.maximum(b_minus**2 + 4 * eta * mu_minus, 0 * alpha),
                                  xp.zero))
    psi_minus = (b_minus - root_minus) / 2
    Y = _precision(zero, beta, lam_c, lam, mu_plus, mu_minus,
                   _psi_plus(mu_plus, alpha, eta, xp), psi_minus)
    blocks = [np.stack([zero, zero, zero, zero, zero, *Y])]
    valid = [exists]
    branch = [0]

    # overfitting (bulk edge) and learning (spike) families side by side on a new axis
    s = np.stack([edge, spike])
    ov2 = np.stack([zero, overlap2])
    present = np.stack([np.ones_like(separated), separated])
    psi_m = np.stack([-eta * (1 + xp.sqrt(alpha)), -(alpha * rho + eta)])
    a2, b2, l2, e2 = (np.broadcast_to(v, s.shape) for v in (alpha, beta, lam, eta))
    p = l2 / (a2 * s)
    y, ok = stationary_y(s, b2, p, xp)  # (3, 2, ...)
    Q = y - b2
    kappa = 1 / (y + p)
    m = xp.sqrt(Q * ov2)
    mu_p = l2 * kappa
    Yk = _precision(0 * y, y, a2 * s * kappa, l2, mu_p, -a2 * s,
                    _psi_plus(mu_p, a2, e2, xp), psi_m)
    family = np.stack([Q, kappa * Q, kappa**2 * Q, m, kappa * m, *Yk])  # (8, 3, 2, ...)
    ok = ok & present
    for fam in range(2):
        for k in range(3):
            blocks.append(family[:, k, fam])
            valid.append(ok[k, fam])
            branch.append(1 + fam)
    return np.stack(blocks), np.stack(valid), np.array(branch)


def closed_form_solution(alpha, beta, lam, rho=1.0, eta=1.0):
    """The RS optimum from the closed forms: the candidate of lowest free energy.

    The free energy and observables of each candidate are evaluated with the generated
    code (the same RS free energy the solver uses); the candidates themselves come from
    the formulas above only.

    Parameters
    ----------
    alpha : float or array_like
        Sample complexity P / N.
    beta : float or array_like
        Weight of the KL term.
    lam : float or array_like
        Weight decay.
    rho : float or array_like, optional
        Signal strength (default 1).
    eta : float or array_like, optional
        Noise strength (default 1).

    Returns
    -------
    dict
        ``z`` (8, ...) the unknowns (Q, R, E, m, d, chihat_Q, chihat_R, chihat_E),
        ``phase`` codes (0 collapsed, 1 overfitting, 2 learning), ``free_energy``,
        ``branch_free_energy`` (3, ...) (+inf where a family does not exist),
        and every observable by name.
    """
    from symrep.numeric.compiled import stacked
    from symrep.numeric.system import OBSERVABLE_NAMES, generated

    gen = generated("compiled")
    params = np.broadcast_arrays(*(np.asarray(v, dtype=float)
                                   for v in (alpha, beta, lam, rho, eta)))
    shape = params[0].shape
    params = [p.ravel() for p in params]
    with np.errstate(all="ignore"):
        z, valid, branch = candidates(*params)
        f = stacked(gen.free_energy, *np.moveaxis(z, 1, 0), *params)[0]
        f = np.where(valid & np.isfinite(f) & np.all(np.isfinite(z), axis=1), f, np.inf)
        best = np.argmin(f, axis=0)
        zb = np.take_along_axis(z, best[None, None], axis=0)[0]
        obs = stacked(gen.observables, *zb, *params)
    out = {"z": zb.reshape((8, *shape)), "phase": branch[best].reshape(shape),
           "free_energy": np.min(f, axis=0).reshape(shape),
           "branch_free_energy": np.stack([
               np.min(np.where((branch == b)[:, None], f, np.inf), axis=0)
               for b in range(3)]).reshape((3, *shape))}
    out.update({name: obs[k].reshape(shape) for k, name in enumerate(OBSERVABLE_NAMES)})
    return out


def closed_form_mp(alpha, beta, lam, rho=1.0, eta=1.0, dps=50, newton_steps=8):
    """The closed-form optimum in ``dps``-digit arithmetic, polished on the RS equations.

    Every closed-form candidate is evaluated with mpmath, the one of lowest free energy
    (generated mpmath code) is kept and polished by
    :func:`symrep.numeric.highprec.newton_mp`. An independent reference for the float64
    solver: its residual (far below 1e-30 at 50 digits) certifies that the closed forms
    solve the generated RS equations exactly.

    Parameters
    ----------
    alpha : float
        Sample complexity P / N.
    beta : float
        Weight of the KL term.
    lam : float
        Weight decay.
    rho : float, optional
        Signal strength (default 1).
    eta : float, optional
        Noise strength (default 1).
    dps : int, optional
        Decimal digits of the arithmetic (default 50).
    newton_steps : int, optional
        Newton steps of the polish on the RS equations (default 8).

    Returns
    -------
    dict
        As :func:`symrep.numeric.highprec.solve_mp`.

    Raises
    ------
    ValueError
        If a parameter is outside its allowed range.
    """
    import mpmath

    from symrep.numeric.highprec import _result, newton_mp
    from symrep.numeric.system import generated
    from symrep.validation import check_parameters

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
        zb = newton_mp(z[best], params, int(branch[best]), newton_steps)
        return _result(fns, zb, params, int(branch[best]))
