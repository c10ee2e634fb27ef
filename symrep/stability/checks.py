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
