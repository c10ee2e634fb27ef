"""Figure 2 of the paper: learning curves and the posterior mismatch (Sec. 6.1).

- :func:`fig2_left`: signal recovery error against alpha for several weight decays lam
  at fixed beta: the peak is smoothed away by lam, and a large lam holds eg on the
  plateau up to a larger alpha;
- :func:`fig2_middle`: the same for several beta (lam = 1): the interpolation peak at
  alpha = 1 for small beta, the plateau at eg = rho for large beta and no learning at all
  beyond beta = rho + eta;
- :func:`fig2_right`: KL(q(z|x) || p_W(z|x)) against beta for several alpha (lam = 1).
"""

from __future__ import annotations

import numpy as np

from symrep.figures.core import (
    FigureResult,
    method_legend,
    resolve_size,
    simulation_points,
)
from symrep.figures.curves import CurvePanel, parameter_text
from symrep.solvers import PHASES

__all__ = ["fig2_left", "fig2_middle", "fig2_right", "alpha_grid"]


def alpha_grid(stop, start=0.02, num=600, kinks=(1.0,)):
    """Evenly spaced alphas with the kinks of the curves (alpha = 1) included exactly.

    Parameters
    ----------
    stop : float
        Largest alpha.
    start : float, optional
        Smallest alpha (default 0.02).
    num : int, optional
        Number of evenly spaced values (default 600).
    kinks : sequence of float, optional
        Values added where they lie strictly between ``start`` and ``stop`` (default
        ``(1.0,)``).

    Returns
    -------
    ndarray
        The sorted alphas.
    """
    return np.union1d(np.linspace(start, stop, num), [k for k in kinks if start < k < stop])


def _figure(figsize=(5.6, 4.2)):
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize, constrained_layout=True)


def plain_log_ticks(axis, ticks):
    """Log-scale axis with plain-number tick labels at ``ticks``.

    Parameters
    ----------
    axis : matplotlib.axis.Axis
        The axis (``ax.xaxis`` or ``ax.yaxis``), on a log scale.
    ticks : sequence of float
        Where to put the major ticks; the minor ticks get no labels.
    """
    from matplotlib.ticker import FixedLocator, FormatStrFormatter, NullFormatter

    axis.set_major_locator(FixedLocator(ticks))
    axis.set_major_formatter(FormatStrFormatter("%g"))
    axis.set_minor_formatter(NullFormatter())


def mark_plateau(ax, rho=1.0, x=0.98, text=r"$\epsilon_g=\rho$ ($W=0$)"):
    """Dotted line at the error of the collapsed model, eg = rho, with a label.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes.
    rho : float, optional
        The signal strength, the height of the line (default 1.0).
    x : float, optional
        Right end of the label, in axes coordinates (default 0.98).
    text : str, optional
        The label.
    """
    ax.axhline(rho, color="0.55", lw=0.8, ls=":", zorder=1)
    ax.text(x, rho, text, transform=ax.get_yaxis_transform(), ha="right", va="bottom",
            fontsize="x-small", color="0.35")


def _finish(ax, panel, size, curve_title, *, curve_loc, method_loc):
    method_legend(ax, size, loc=method_loc)
    ax.legend(loc=curve_loc, fontsize="small", title=curve_title, title_fontsize="small",
              framealpha=0.9)
    ax.set_title(parameter_text(panel.fixed), fontsize="medium")


#: beta values of the middle panel (lam = 1); 3 > rho + eta never learns.
MIDDLE_BETAS = (0.1, 0.5, 1.0, 1.5, 3.0)
MIDDLE_SIM_ALPHA = {"full": (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0),
                    "quick": (0.5, 1.0, 2.0, 4.0)}


def fig2_middle(size="quick", *, progress=None, cache=None, grid=None):
    """Signal recovery error against alpha for several beta at lam = 1.

    Parameters
    ----------
    size : {"quick", "full"} or Size
        Simulation size (N, seeds, methods) and the set of simulated alphas.
    progress : bool, optional
        Progress bar over the simulation points (default: when stderr is a terminal).
    cache : dict, optional
        Earlier simulation rows to reuse (see :func:`symrep.figures.core.load_points`).
    grid : dict, optional
        Where the simulations run and are kept: ``store``, ``client``, ``scheduler``,
        ``settings`` of :func:`~symrep.figures.core.simulation_points`.

    Returns
    -------
    FigureResult
    """
    size = resolve_size(size)
    panel = CurvePanel("eg", "alpha", alpha_grid(6.2), "beta", MIDDLE_BETAS, dict(lam=1.0),
                       sim_x=MIDDLE_SIM_ALPHA["quick" if size.quick else "full"])
    rows = simulation_points(panel.points(), size, figure="fig2_middle", progress=progress,
                             cache=cache, **(grid or {}))
    fig, ax = _figure()
    panel.draw(ax, rows)
    mark_plateau(ax, x=0.9)
    ax.set_xlim(0, 6.2)
    ax.set_ylim(0, None)
    _finish(ax, panel, size, None, curve_loc="lower left", method_loc="upper right")
    peak = {b: float(panel.grid[np.nanargmax(panel.curve(b))]) for b in MIDDLE_BETAS}
    return FigureResult("fig2_middle", fig, rows, size,
                        notes={"observables": ("eg",), "argmax_alpha": peak})


#: weight decays of the left panel (beta = 0.5).
LEFT_LAMS = (0.01, 0.1, 1.0, 10.0)
LEFT_BETA = 0.5
LEFT_SIM_ALPHA = {"full": (0.5, 1.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0),
                  "quick": (0.5, 2.0, 6.0, 10.0)}


def fig2_left(size="quick", *, progress=None, cache=None, grid=None):
    """Signal recovery error against alpha for several weight decays lam at beta = 0.5.

    Parameters
    ----------
    size : {"quick", "full"} or Size
        Simulation size and the set of simulated alphas.
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
    """
    size = resolve_size(size)
    panel = CurvePanel("eg", "alpha", alpha_grid(12.5), "lam", LEFT_LAMS,
                       dict(beta=LEFT_BETA),
                       sim_x=LEFT_SIM_ALPHA["quick" if size.quick else "full"])
    rows = simulation_points(panel.points(), size, figure="fig2_left", progress=progress,
                             cache=cache, **(grid or {}))
    fig, ax = _figure()
    panel.draw(ax, rows)
    mark_plateau(ax, x=0.62)
    ax.set_yscale("log")
    plain_log_ticks(ax.yaxis, [0.2, 0.3, 0.5, 1, 2, 3, 5, 8])
    ax.set_xlim(0, 12.5)
    _finish(ax, panel, size, None, curve_loc="lower left", method_loc="upper right")
    # end of the plateau eg = rho of the largest lam: first alpha where it leaves it
    top = panel.curve(LEFT_LAMS[-1])
    left = panel.grid[np.nonzero(np.abs(top - 1.0) > 1e-9)[0]]
    return FigureResult("fig2_left", fig, rows, size, notes={
        "observables": ("eg",),
        "plateau_end_alpha": float(left[left > 1.0].min()) if np.any(left > 1.0) else None})


#: alphas of the right panel (lam = 1).
RIGHT_ALPHAS = (0.5, 1.0, 2.0, 5.0, 10.0)
RIGHT_SIM_BETA = {"full": (0.05, 0.2, 0.5, 1.0, 1.5, 2.5), "quick": (0.1, 0.5, 1.5)}
RIGHT_SIM_ALPHAS = {"full": RIGHT_ALPHAS, "quick": (0.5, 2.0, 10.0)}


def fig2_right(size="quick", *, progress=None, cache=None, grid=None):
    """KL(q(z|x) || p_W(z|x)) against beta for several alpha at lam = 1.

    The KL vanishes in the collapsed (regularized) phase: the vertical axis is
    logarithmic above 1e-3 and linear below, so that zero is on the plot.

    Parameters
    ----------
    size : {"quick", "full"} or Size
        Simulation size and the set of simulated points.
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
    """
    size = resolve_size(size)
    which = "quick" if size.quick else "full"
    panel = CurvePanel("kl_posterior", "beta", np.geomspace(0.01, 3.0, 600), "alpha",
                       RIGHT_ALPHAS, dict(lam=1.0), sim_x=RIGHT_SIM_BETA[which],
                       sim_values=RIGHT_SIM_ALPHAS[which])
    rows = simulation_points(panel.points(), size, figure="fig2_right", progress=progress,
                             cache=cache, **(grid or {}))
    fig, ax = _figure()
    panel.draw(ax, rows)
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=1e-3, linscale=0.4)
    ax.set_ylim(0, 3)
    ax.set_xlim(0.01, 3.0)
    ax.axvline(1.0, color="0.55", lw=0.8, ls=":", zorder=1)
    ax.text(1.0, 0.02, r" $\beta=\eta$", transform=ax.get_xaxis_transform(), ha="left",
            va="bottom", fontsize="x-small", color="0.35")
    _finish(ax, panel, size, None, curve_loc="lower left", method_loc="upper right")
    argmin = {}
    for a in RIGHT_ALPHAS:
        kl, learning = panel.curve(a), panel.curve(a, "phase") == PHASES.index("learning")
        if learning.any():
            argmin[a] = float(panel.grid[learning][np.nanargmin(kl[learning])])
    return FigureResult("fig2_right", fig, rows, size,
                        notes={"observables": ("kl_posterior",),
                               "argmin_beta_learning": argmin})
