"""Rate-distortion curves (Sec. 6.4): finite alpha against the alpha -> infinity limit.

At fixed alpha, beta traces a curve in the (distortion, rate) plane; as alpha grows the
curves approach the rate-distortion function of a Gaussian source of variance
rho + eta, R(D) = log((rho + eta) / (2 D)) / 2 for 0 < D <= (rho + eta) / 2, which the
replica theory gives as the alpha -> infinity limit
(:func:`symrep.asymptotics.rd_curve_limit`). Small distortion (high rate) needs a
large data set.
"""

from __future__ import annotations

import numpy as np

from symrep.figures.core import (
    FigureResult,
    method_legend,
    plot_points,
    resolve_size,
    series_colors,
    simulation_points,
)
from symrep.figures.curves import OBSERVABLE_LABELS, parameter_text, rows_matching

__all__ = ["fig4_rate_distortion", "rd_limit_function", "rd_limit_curve", "rd_theory_curves",
           "draw_rd_panel", "rd_points"]


def rd_limit_function():
    """The alpha -> infinity rate as a NumPy function ``rate(distortion, rho, eta)``,
    lambdified from :func:`symrep.asymptotics.rd_curve_limit` (valid for
    0 < distortion <= (rho + eta) / 2).

    Returns
    -------
    callable
        ``rate(distortion, rho=1.0, eta=1.0)``: the rate, an array of the shape of
        ``distortion``.
    """
    import sympy as sp

    from symrep import symbols as S
    from symrep.asymptotics import rd_curve_limit

    D, rate = rd_curve_limit()
    f = sp.lambdify((D, S.rho, S.eta), rate, "numpy")

    def limit_rate(distortion, rho=1.0, eta=1.0):
        d = np.asarray(distortion, dtype=float)
        return np.broadcast_to(np.asarray(f(d, rho, eta), dtype=float), d.shape).copy()

    return limit_rate


def rd_limit_curve(rho=1.0, eta=1.0, num=400, d_min=1e-3):
    """The alpha -> infinity rate-distortion curve.

    Parameters
    ----------
    rho : float, optional
        Signal strength (default 1.0).
    eta : float, optional
        Noise strength (default 1.0).
    num : int, optional
        Number of log-spaced distortions (default 400).
    d_min : float, optional
        Smallest distortion (default 1e-3).

    Returns
    -------
    distortion, rate : ndarray
        On d_min <= distortion <= (rho + eta) / 2, where the curve ends at rate 0.
    """
    dist = np.geomspace(d_min, (rho + eta) / 2, num)
    return dist, rd_limit_function()(dist, rho, eta)


def rd_theory_curves(alphas, lam, rho=1.0, eta=1.0, betas=None):
    """RS (distortion, rate) along beta at each alpha.

    Parameters
    ----------
    alphas : sequence of float
        Sample complexities, one curve each.
    lam : float
        Weight decay.
    rho : float, optional
        Signal strength (default 1.0).
    eta : float, optional
        Noise strength (default 1.0).
    betas : array_like, optional
        The KL weights along each curve.

    Returns
    -------
    dict
        ``alpha -> (distortion, rate, phase)`` arrays along ``betas`` (default: 900
        log-spaced values from 1e-3 to 3 (rho + eta)).
    """
    from symrep.solvers import sweep

    betas = np.geomspace(1e-3, 3.0 * (rho + eta), 900) if betas is None else betas
    ds = sweep(alpha=list(alphas), beta=betas, lam=lam, rho=rho, eta=eta, errors="mask")
    out = {}
    for a in alphas:
        sel = ds.sel(alpha=a)
        out[a] = tuple(np.asarray(sel[k].values) for k in ("distortion", "rate", "phase"))
    return out


def _split_jumps(x, y, phase, tol=0.05):
    """Insert NaN where the phase changes with a jump (first-order transition)."""
    xs, ys = [x[0]], [y[0]]
    for i in range(1, len(x)):
        if phase[i] != phase[i - 1] and np.hypot(x[i] - x[i - 1], y[i] - y[i - 1]) > tol:
            xs.append(np.nan)
            ys.append(np.nan)
        xs.append(x[i])
        ys.append(y[i])
    return np.array(xs), np.array(ys)


def rd_points(alphas, betas, lam, rho=1.0, eta=1.0, panel=""):
    """Parameter points for simulation on the rate-distortion plane.

    Parameters
    ----------
    alphas, betas : sequence of float
        Sample complexities and KL weights; every pair is a point.
    lam : float
        Weight decay.
    rho : float, optional
        Signal strength (default 1.0).
    eta : float, optional
        Noise strength (default 1.0).
    panel : str, optional
        Name recorded in the simulation rows (default empty).

    Returns
    -------
    list of dict
        One dict of ``alpha``, ``beta``, ``lam``, ``rho``, ``eta`` and ``panel`` per point.
    """
    return [dict(alpha=a, beta=b, lam=lam, rho=rho, eta=eta, panel=panel)
            for a in alphas for b in betas]


def draw_rd_panel(ax, alphas, lam, rows, size, *, rho=1.0, eta=1.0, colors=None,
                  rate_max=3.0, limit=True, legends=True):
    """Rate against distortion: RS curves at each alpha, the limit, simulation points.

    With ``legends=False`` the caller places the legend of the curves (and the methods'
    legend is left out).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes.
    alphas : sequence of float
        Sample complexities, one RS curve each (along beta).
    lam : float
        Weight decay.
    rows : sequence of dict
        Simulation rows; those at an alpha of ``alphas`` are drawn with its colour.
    size : Size
        The simulation size, for the methods' legend.
    rho : float, optional
        Signal strength (default 1.0).
    eta : float, optional
        Noise strength (default 1.0).
    colors : sequence, optional
        One colour per alpha (default :func:`series_colors`).
    rate_max : float, optional
        Top of the rate axis (default 3.0).
    limit : bool, optional
        Draw the alpha -> infinity curve (default True).
    legends : bool, optional
        Draw the legends (default True).

    Returns
    -------
    dict
        ``alpha -> (distortion, rate, phase)`` of the RS curves.
    """
    colors = colors or series_colors(len(alphas))
    curves = rd_theory_curves(alphas, lam, rho, eta)
    dmax = (rho + eta) / 2
    for a, color in zip(alphas, colors, strict=True):
        dist, rate, phase = curves[a]
        x, y = _split_jumps(dist, rate, phase)
        ax.plot(x, y, color=color, lw=1.6, label=rf"$\alpha={a:g}$", zorder=2)
        plot_points(ax, rows_matching(rows, alpha=a), "distortion", "rate", color,
                    xerr=True)
    if limit:
        d, r = rd_limit_curve(rho, eta)
        ax.plot(d, r, color="k", lw=1.4, ls="--", zorder=2.5,
                label=r"$\alpha\to\infty$: $\frac{1}{2}\log\frac{\rho+\eta}{2\mathcal{D}}$")
    ax.axvline(dmax, color="0.55", lw=0.8, ls=":", zorder=1)
    ax.text(dmax, rate_max * 0.98, r"$\frac{\rho+\eta}{2}$ (collapse) ", ha="right",
            va="top", fontsize="x-small", color="0.35")
    ax.set_xlabel(OBSERVABLE_LABELS["distortion"])
    ax.set_ylabel(OBSERVABLE_LABELS["rate"] + " (nats)")
    ax.set_ylim(0, rate_max)
    ax.set_xlim(0, None)
    if legends:
        method_legend(ax, size, loc="upper right", bbox_to_anchor=(1.0, 0.9))
        ax.legend(loc="lower left", fontsize="small", framealpha=0.9)
    return curves


#: alphas of the theory curves; those simulated; the simulated betas.
ALPHAS = (1.0, 5.0, 20.0, 100.0)
SIM_ALPHAS = {"full": (1.0, 5.0, 20.0), "quick": (1.0, 5.0)}
SIM_BETAS = {"full": (0.1, 0.3, 0.6, 1.0, 1.5), "quick": (0.2, 0.6, 1.2)}


def fig4_rate_distortion(size="quick", *, lam=1.0, rho=1.0, eta=1.0, progress=None,
                         cache=None, grid=None):
    """Rate against distortion traced by beta at several alpha, and the alpha -> infinity
    Gaussian-source curve.

    Parameters
    ----------
    size : {"quick", "full"} or Size
        Simulation size and the set of simulated points.
    lam, rho, eta : float
        Fixed parameters.
    progress : bool, optional
        Progress bar over the simulation points.
    cache : dict, optional
        Earlier simulation rows to reuse.
    grid : dict, optional
        Where the simulations run and are kept: ``store``, ``client``, ``scheduler``,
        ``settings`` of :func:`~symrep.figures.core.simulation_points`.

    Returns
    -------
    FigureResult
        ``notes["rate_gap_at"]``: for each alpha, the RS rate minus the limit at
        distortion 0.3 (rho + eta) / 2 (how far the curve is from the optimal one).
    """
    import matplotlib.pyplot as plt

    size = resolve_size(size)
    which = "quick" if size.quick else "full"
    points = rd_points(SIM_ALPHAS[which], SIM_BETAS[which], lam, rho, eta)
    rows = simulation_points(points, size, figure="fig4_rate_distortion", progress=progress,
                             cache=cache, **(grid or {}))
    fig, ax = plt.subplots(figsize=(5.8, 4.4), constrained_layout=True)
    curves = draw_rd_panel(ax, ALPHAS, lam, rows, size, rho=rho, eta=eta)
    ax.set_title(parameter_text(dict(lam=lam, rho=rho, eta=eta)) + r", curves traced by $\beta$",
                 fontsize="medium")
    return FigureResult("fig4_rate_distortion", fig, rows, size, notes={
        "observables": ("rate", "distortion"),
        "rate_gap_at": _rate_gaps(curves, rho, eta)})


def _rate_gaps(curves, rho, eta, frac=0.3):
    d0 = frac * (rho + eta) / 2
    limit = float(rd_limit_function()(d0, rho, eta))
    gaps = {}
    for a, (dist, rate, _) in curves.items():
        ok = np.isfinite(dist) & np.isfinite(rate)
        order = np.argsort(dist[ok])
        if dist[ok].min() <= d0 <= dist[ok].max():
            gaps[a] = float(np.interp(d0, dist[ok][order], rate[ok][order]) - limit)
    return gaps
