"""Ground truth for the stability of each branch, from the exact finite-N objective.

At large N the training objective with the decoder along an eigenvector of the sample
covariance with eigenvalue s, the encoder and D at their optimum, is a function of
Q = W.W/N alone (tests/closed_forms.py, docs/model.md):

    f(Q) = Q (lam/2 - A^2 / (2 ((Q + beta) A + lam))) + alpha beta/2 log(1 + Q/beta),
    A = alpha s,

with f''(Q) = A^3 (beta A + lam) / ((Q + beta) A + lam)^3 - alpha beta / (2 (Q + beta)^2).
A state with the decoder along eigenvalue s is a local minimum of the objective iff s is
the top eigenvalue (turning W towards a larger one lowers the objective) and
f''(Q) > 0; the collapsed state (Q = 0) is one iff beta > beta_c(s_top), the per-mode
threshold alpha s/(lam + alpha) - lam/(alpha s). In the limit the top eigenvalue is the
BBP spike (rho + eta)(1 + eta/(alpha rho)) when alpha rho^2 > eta^2, else the bulk edge
eta (1 + alpha^{-1/2})^2. The learning state sits on the spike, the overfitting state on
the edge.

:func:`agreement` compares these local-minimum flags with the RS stability flags of
:func:`symrep.stability.branch_stability_arrays` on a grid.
"""

from __future__ import annotations

import numpy as np

__all__ = ["finite_n_local_minimum", "agreement", "reduced_curvature"]


def reduced_curvature(Q, alpha, beta, lam, s):
    """f''(Q) of the reduced finite-N objective along an eigenvector of eigenvalue s.

    Parameters
    ----------
    Q, alpha, beta, lam, s : array_like
        Decoder norm, sample complexity, KL weight, weight decay and eigenvalue.

    Returns
    -------
    ndarray
        The second derivative.
    """
    A = alpha * s
    return A**3 * (beta * A + lam) / ((Q + beta) * A + lam) ** 3 - alpha * beta / (
        2 * (Q + beta) ** 2)


def _top(alpha, rho, eta):
    spike = alpha * rho**2 > eta**2
    s_spike = (rho + eta) * (1 + eta / (alpha * rho))
    s_edge = eta * (1 + alpha**-0.5) ** 2
    return np.where(spike, s_spike, s_edge), s_spike, s_edge, spike


def finite_n_local_minimum(family, Q, alpha, beta, lam, rho, eta):
    """Whether the state is a local minimum of the finite-N objective (N -> infinity).

    Parameters
    ----------
    family : {"collapsed", "overfitting", "learning"}
        The branch.
    Q : array_like
        The branch's decoder norm (ignored for the collapsed state).
    alpha, beta, lam, rho, eta : array_like
        The parameters.

    Returns
    -------
    ndarray of bool
        True where the state is a local minimum.

    Raises
    ------
    ValueError
        If ``family`` is not one of the three.
    """
    alpha, beta, lam, rho, eta, Q = (np.asarray(v, float) for v in
                                     (alpha, beta, lam, rho, eta, Q))
    top, s_spike, s_edge, spike = _top(alpha, rho, eta)
    if family == "collapsed":
        threshold = alpha * top / (lam + alpha) - lam / (alpha * top)
        return beta > threshold
    if family == "overfitting":
        return ~spike & (reduced_curvature(Q, alpha, beta, lam, s_edge) > 0)
    if family == "learning":
        return spike & (reduced_curvature(Q, alpha, beta, lam, s_spike) > 0)
    raise ValueError(f"family = {family!r} is invalid: must be 'collapsed', "
                     "'overfitting' or 'learning'")


def agreement(alpha, beta, lam, rho=1.0, eta=1.0):
    """Compare the RS stability flags with the finite-N local minima on given points.

    Parameters
    ----------
    alpha, beta, lam, rho, eta : array_like
        The points (broadcast together).

    Returns
    -------
    dict
        family -> dict with ``states`` (number of points where the branch exists),
        ``agree`` (where the RS flag equals the finite-N one), ``stable`` (RS-stable
        states), ``disagree_at`` (list of (alpha, beta, lam, rho, eta, hessian_min) where
        they differ) and ``closest`` (smallest |hessian_min| among agreeing states).
    """
    from symrep.stability.branches import branch_stability_arrays

    arrays = [np.ravel(a) for a in np.broadcast_arrays(*(np.asarray(v, float) for v in
                                                          (alpha, beta, lam, rho, eta)))]
    res = branch_stability_arrays(*arrays)
    out = {}
    for name, e in res.items():
        ok = e["exists"]
        truth = finite_n_local_minimum(name.split("_")[0], e["z"][0], *arrays)
        same = ok & (truth == e["stable"])
        diff = np.nonzero(ok & (truth != e["stable"]))[0]
        out[name] = {"states": int(ok.sum()), "agree": int(same.sum()),
                     "stable": int((ok & e["stable"]).sum()),
                     "disagree_at": [(*(float(a[i]) for a in arrays),
                                      float(e["hessian_min"][i])) for i in diff],
                     "closest": float(np.min(np.abs(e["hessian_min"][same])))
                     if same.any() else np.nan,
                     "replicon_min": float(np.nanmin(e["replicon"][ok])) if ok.any() else np.nan,
                     "replicon_max": float(np.nanmax(e["replicon"][ok])) if ok.any() else np.nan}
    return out


def naive_schur_agreement(alpha, beta, lam, rho=1.0, eta=1.0):
    """How often the naive test (Schur complement with the inverse of the Y block positive
    definite) matches the finite-N local minima, for the overfitting and learning states.

    Parameters
    ----------
    alpha, beta, lam, rho, eta : array_like
        The points (broadcast together).

    Returns
    -------
    dict
        family -> (number agreeing, number of states).
    """
    from symrep.stability.branches import branch_stability_arrays
    from symrep.stability.rs_hessian import hessian_blocks

    arrays = [np.ravel(a) for a in np.broadcast_arrays(*(np.asarray(v, float) for v in
                                                          (alpha, beta, lam, rho, eta)))]
    res = branch_stability_arrays(*arrays)
    out = {}
    for name, e in res.items():
        family = name.split("_")[0]
        if family == "collapsed":
            continue
        ok = e["exists"]
        truth = finite_n_local_minimum(family, e["z"][0], *arrays)[ok]
        H = hessian_blocks(e["z"][:, ok], [a[ok] for a in arrays])
        naive = []
        with np.errstate(all="ignore"):
            for Hi in H:
                A, B, C = Hi[:5, :5], Hi[:5, 5:], Hi[5:, 5:]
                try:
                    S = A - B @ np.linalg.solve(C, B.T)
                    naive.append(bool(np.linalg.eigvalsh((S + S.T) / 2)[0] > 0))
                except np.linalg.LinAlgError:
                    naive.append(None)
        out[name] = (int(sum(a == b for a, b in zip(naive, truth, strict=True))),
                     int(ok.sum()))
    return out


def summary(alpha, beta, lam, rho=1.0, eta=1.0):
    """The numbers of docs/stability.md on a grid: agreement, naive test, optimum ranges.

    Parameters
    ----------
    alpha, beta, lam, rho, eta : array_like
        The grid (broadcast together).

    Returns
    -------
    str
        A plain-text report.
    """
    from symrep.stability.branches import branch_stability_arrays

    arrays = [np.ravel(a) for a in np.broadcast_arrays(*(np.asarray(v, float) for v in
                                                          (alpha, beta, lam, rho, eta)))]
    lines = [f"{arrays[0].size} points"]
    for name, v in agreement(*arrays).items():
        lines.append(f"{name}: {v['agree']}/{v['states']} agree with the finite-N minima, "
                     f"{v['stable']} RS-stable, replicon in [{v['replicon_min']:.3g}, "
                     f"{v['replicon_max']:.3g}], disagreements {v['disagree_at'][:3]}")
    for name, (a, n) in naive_schur_agreement(*arrays).items():
        lines.append(f"naive Schur test, {name}: {a}/{n} agree")
    res = branch_stability_arrays(*arrays)
    for name, e in res.items():
        o = e["optimum"]
        if o.any():
            strict = o & ~e["flat"]
            lines.append(
                f"optimum {name}: {o.sum()} points, all stable {bool(e['stable'][o].all())}, "
                f"smallest Hessian eigenvalue (not flat) "
                f"{np.min(e['hessian_min'][strict]) if strict.any() else np.nan:.3g}, "
                f"flat {int((o & e['flat']).sum())}, replicon in "
                f"[{np.min(e['replicon'][o]):.3g}, {np.max(e['replicon'][o]):.3g}]")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    grids = {
        "rho = eta = 1": np.meshgrid(np.geomspace(0.1, 100, 24), np.linspace(0.05, 4, 40),
                                     [0, 0.1, 1, 3], 1.0, 1.0, indexing="ij"),
        "rho, eta in {0.5, 2}": np.meshgrid(np.geomspace(0.1, 100, 12),
                                            np.linspace(0.05, 6, 20), [0, 0.5, 2],
                                            [0.5, 2], [0.5, 2], indexing="ij"),
        "wide (paper's ranges), rho = eta = 1": np.meshgrid(
            np.geomspace(1e-3, 1e4, 36), np.linspace(0.05, 4, 40),
            [0, 0.01, 0.1, 0.5, 1, 2, 10], 1.0, 1.0, indexing="ij"),
    }
    for title, grid in grids.items():
        print(f"## {title}")
        print(summary(*grid))


def finite_n_hessian_minimum(N, alpha, beta, lam, rho=1.0, eta=1.0, seed=0):
    """Smallest eigenvalue of the exact Hessian of the training objective at its optimum.

    One data set of the spiked covariance model (one feature W0 = all-ones), N inputs and
    P = alpha N samples; the optimum is built from its closed form (decoder along the top
    eigenvector v of the sample covariance, with eigenvalue s, Q the global minimiser of
    the reduced objective, W~ = kappa W, D = beta/(beta + Q); see tests/closed_forms.py),
    and the Hessian of L in (W, W~, D) is written out by hand:

        d2L/dW2 = ((v.v + P D)/N + lam) I,   d2L/dW~2 = (Q + beta) X^T X/N + lam I,
        d2L/dW dW~ = -X^T X/N + 2 W (X^T v)^T / N^{3/2},   d2L/dW dD = P W/N,
        d2L/dD2 = beta P/(2 D^2),

    with v = X W~/sqrt(N) the encoder means. A replicon eigenvalue of zero (the overfitting
    state) shows here as a smallest eigenvalue that falls with N like the gap between the
    two top sample eigenvalues (N^{-2/3}); a positive one as a gap that stays finite.

    Parameters
    ----------
    N : int
        Input dimension.
    alpha, beta, lam, rho, eta : float
        The parameters.
    seed : int, optional
        Seed of the data set (default 0).

    Returns
    -------
    dict
        ``min`` (smallest Hessian eigenvalue), ``gradient`` (largest |dL| at the point,
        a check of the closed form), ``gap`` (difference of the two top eigenvalues of
        the sample covariance), ``Q``.
    """
    import math

    from scipy.optimize import brentq

    rng = np.random.default_rng(seed)
    P = int(round(alpha * N))
    c = rng.normal(size=P)
    X = math.sqrt(rho / N) * np.outer(c, np.ones(N)) + math.sqrt(eta) * rng.normal(size=(P, N))
    XtX = X.T @ X
    w, V = np.linalg.eigh(XtX / P)
    s, top = w[-1], V[:, -1]
    A = alpha * s

    def slope(Q):
        return (lam / 2 - A**2 * (beta * A + lam) / (2 * ((Q + beta) * A + lam) ** 2)
                + alpha * beta / (2 * (Q + beta)))

    def value(Q):
        return Q * (lam / 2 - A**2 / (2 * ((Q + beta) * A + lam))) + alpha * beta / 2 * np.log1p(
            Q / beta)

    grid = np.geomspace(1e-10, 2 * s + 1, 4000)
    g = slope(grid)
    roots = [brentq(slope, grid[i], grid[i + 1])
             for i in np.nonzero((g[:-1] < 0) & (g[1:] >= 0))[0]]
    Q = min([0.0, *roots], key=value)
    kappa = A / ((Q + beta) * A + lam)
    W = math.sqrt(N * Q) * top
    Wt, D = kappa * W, beta / (beta + Q)
    u, v = X @ W / math.sqrt(N), X @ Wt / math.sqrt(N)
    eye = np.eye(N)
    H = np.zeros((2 * N + 1, 2 * N + 1))
    H[:N, :N] = ((v @ v + P * D) / N + lam) * eye
    H[:N, N:2 * N] = -XtX / N + (2 / N**1.5) * np.outer(W, X.T @ v)
    H[N:2 * N, :N] = H[:N, N:2 * N].T
    H[N:2 * N, N:2 * N] = XtX * (Q + beta) / N + lam * eye
    H[:N, -1] = H[-1, :N] = P * W / N
    H[-1, -1] = beta * P / (2 * D * D)
    grad = np.concatenate([-X.T @ v / math.sqrt(N) + (v @ v + P * D) * W / N + lam * W,
                           X.T @ (-u + (Q + beta) * v) / math.sqrt(N) + lam * Wt,
                           [P * Q / 2 + beta * P * (1 - 1 / D) / 2]])
    return {"min": float(np.linalg.eigvalsh(H)[0]), "gradient": float(np.max(np.abs(grad))),
            "gap": float(w[-1] - w[-2]), "Q": float(Q)}
