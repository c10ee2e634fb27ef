"""The (alpha, beta) phase diagram (Sec. 6.2), with finite-N phases overlaid.

Three phases of the RS optimum: learning (m != 0), overfitting (m = 0, Q != 0) and
regularized (m = 0, Q = 0: posterior collapse). On top, the phase measured at finite N at
a few points: the exact optimum (large circles) and trained models (small squares),
coloured by the phase of the majority of their seeds (see
:func:`symrep.figures.core.measured_phase`).
"""

from __future__ import annotations

import numpy as np

from symrep.figures.core import (
    METHOD_STYLE,
    FigureResult,
    describe_size,
    resolve_size,
    simulation_points,
)
from symrep.figures.curves import parameter_text

__all__ = ["fig3_phase_diagram", "majority_phase", "RESOLUTION"]

#: Simulated points (alpha x beta), chosen inside each phase.
SIM_ALPHA = {"full": (0.3, 0.8, 1.5, 3.0, 5.0), "quick": (0.3, 3.0)}
SIM_BETA = {"full": (0.4, 1.0, 1.5, 2.4), "quick": (0.4, 1.5, 2.4)}
#: Theory grid points along each axis (the boundaries are bisected at any resolution).
RESOLUTION = {"quick": 120, "full": 240}

#: Where the phase names are written (alpha, beta, rotation), for lam = 1, rho = eta = 1.
LABEL_AT = {"learning": (4.0, 0.7, 0), "overfitting": (0.56, 0.7, 90),
            "regularized": (4.0, 2.78, 0)}


def majority_phase(row):
    """The measured phase of most seeds of a simulation row (ties: the first listed).

    Parameters
    ----------
    row : mapping
        A simulation row with the counts ``n_learning``, ``n_overfitting`` and
        ``n_regularized``.

    Returns
    -------
    str
        ``"learning"``, ``"overfitting"`` or ``"regularized"``.
    """
    counts = {p: row[f"n_{p}"] for p in ("learning", "overfitting", "regularized")}
    return max(counts, key=counts.get)


def fig3_phase_diagram(size="quick", *, lam=1.0, rho=1.0, eta=1.0, progress=None,
                       cache=None, resolution=None, grid=None):
    """Phase diagram in (alpha, beta) with the phases measured at finite N.

    Parameters
    ----------
    size : {"quick", "full"} or Size
        Simulation size and the set of simulated points.
    lam, rho, eta : float
        Fixed parameters (the paper: lam = 1, rho = eta = 1).
    progress : bool, optional
        Progress bar over the simulation points.
    cache : dict, optional
        Earlier simulation rows to reuse.
    grid : dict, optional
        Where the simulations run and are kept: ``store``, ``client``, ``scheduler``,
        ``settings`` of :func:`~symrep.figures.core.simulation_points`.
    resolution : int, optional
        Grid points along each axis of the theory diagram (default
        :data:`RESOLUTION` of the size: 120 quick, 240 full).

    Returns
    -------
    FigureResult
        ``notes["agreement"]``: for each method, the fraction of simulated points whose
        majority phase is the RS phase.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from symrep.solvers import phase_diagram
    from symrep.solvers.phase_plane import PHASE_COLORS

    size = resolve_size(size)
    which = "quick" if size.quick else "full"
    fixed = dict(lam=lam, rho=rho, eta=eta)
    points = [dict(alpha=a, beta=b, **fixed) for a in SIM_ALPHA[which]
              for b in SIM_BETA[which]]
    rows = simulation_points(points, size, figure="fig3_phase_diagram", progress=progress,
                             cache=cache, **(grid or {}))
    alpha_max, beta_max = 6.0, 3.0 * (rho + eta) / 2
    n = resolution or RESOLUTION[which]
    # the boundary lines to 1e-7 relative (the default 1e-10 is no sharper on a plot, and
    # takes a third more bisection rounds)
    pd = phase_diagram(np.linspace(0.02, alpha_max, n), np.linspace(0.01, beta_max, n),
                       **fixed, boundary_tol=1e-7)
    fig, ax = plt.subplots(figsize=(6.0, 4.5), constrained_layout=True)
    pd.plot(ax, legend=False)
    ax.axhline(rho + eta, color="k", lw=0.9, ls="--")
    ax.text(alpha_max * 0.98, rho + eta, r"$\beta=\rho+\eta$ ($\alpha\to\infty$)",
            ha="right", va="bottom", fontsize="x-small")
    if (lam, rho, eta) == (1.0, 1.0, 1.0):
        for name, (a, b, rotation) in LABEL_AT.items():
            text = "regularized (posterior collapse)" if name == "regularized" else name
            ax.text(a, b, text, ha="center", va="center", fontweight="bold",
                    fontsize="small" if name == "overfitting" else "medium",
                    rotation=rotation,
                    color="white" if name != "regularized" else "0.15")
    agreement = {}
    for method in size.methods:
        style = METHOD_STYLE[method]
        mine = [r for r in rows if r["method"] == method]
        for r in mine:
            ax.plot(r["alpha"], r["beta"], marker=style["marker"],
                    ms=style["ms"] * (1.8 if method == "exact" else 1.6),
                    mfc=PHASE_COLORS[majority_phase(r)], mec="k", mew=1.0, lw=0,
                    zorder=4 if method == "exact" else 5)
        agreement[method] = (sum(majority_phase(r) == r["phase_theory"] for r in mine)
                             / max(1, len(mine)))
    handles = [Patch(color=PHASE_COLORS[p], label=p)
               for p in ("learning", "overfitting", "regularized")]
    for method in size.methods:
        style = METHOD_STYLE[method]
        handles.append(Line2D([], [], lw=0, marker=style["marker"],
                              ms=style["ms"] * (1.8 if method == "exact" else 1.6),
                              mfc="white", mec="k", label=style["label"]))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              fontsize="small", title=f"phase measured at\n{describe_size(size)}",
              title_fontsize="small", frameon=False)
    ax.set_xlim(0, alpha_max)
    ax.set_ylim(0, beta_max)
    ax.set_title(parameter_text(fixed), fontsize="medium")
    boundary = {k: v.tolist() for k, v in pd.boundaries.items()}
    return FigureResult("fig3_phase_diagram", fig, rows, size,
                        notes={"observables": ("Q", "m"), "agreement": agreement,
                               "boundaries": list(boundary)})
