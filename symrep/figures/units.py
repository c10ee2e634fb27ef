"""Phase diagram of M latent units and M* features (Claim 5.2), with finite-N points.

The colours are the phase structures of the units in the RS optimum of
``symrep.solve(..., rho=(rho_1, ...), M=M)`` on an (alpha, beta) grid; the black lines
are the collapse thresholds of the units, one after another as beta grows (the staged
collapse: the unit of the weaker feature first). The markers are the exact finite-N
optimum (``symrep.simulate.exact_minimum``) at a few points, coloured by the phase
structure that most of their data sets show; a cross marks a point whose structure
differs from the theory's.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from symrep.figures.core import FigureResult, describe_size, resolve_size

__all__ = ["fig_units_phase_diagram", "SIM_ALPHA", "SIM_BETA"]

#: Simulated points (alpha x beta) of each size.
SIM_ALPHA = {"quick": (0.5, 4.0), "full": (0.5, 1.5, 4.0, 7.0)}
SIM_BETA = {"quick": (0.5, 2.2, 3.0), "full": (0.5, 1.5, 2.2, 3.0)}
#: Theory grid points along each axis.
RESOLUTION = {"quick": 40, "full": 128}


def fig_units_phase_diagram(size="quick", *, lam=1.0, rho=(2.0, 0.7), eta=1.0, M=2,
                            progress=None, resolution=None):
    """The (alpha, beta) phase diagram of M units with the finite-N optimum on top.

    Parameters
    ----------
    size : {"quick", "full"} or Size
        Simulation size (N and data sets per point) and the set of simulated points.
    lam, eta : float
        Weight decay and noise strength (default 1, as in the paper).
    rho : sequence of float
        Feature strengths (default (2, 0.7)).
    M : int
        Number of latent units (default 2).
    progress : bool, optional
        Progress bar of the theory grid.
    resolution : int, optional
        Theory grid points along each axis (default 40 quick, 128 full).

    Returns
    -------
    FigureResult
        ``name`` ``"units_phase_diagram"``; ``points`` one row per simulated point;
        ``notes["agreement"]`` the fraction of simulated points whose majority phase
        structure is the theory's, ``notes["structures"]`` the structures of the plane.
    """
    import matplotlib.pyplot as plt

    from symrep.simulate import simulate
    from symrep.solvers.latent_units import solve_units
    from symrep.solvers.units_phase_plane import units_phase_diagram

    size = resolve_size(size)
    n = resolution or RESOLUTION[size.name]
    alpha = np.linspace(0.1, 8.0, n)
    beta = np.linspace(0.05, 3.5, n)
    # the collapse thresholds to ~1e-7 relative (28 bisection steps instead of 48; a plot
    # does not resolve more)
    pd = units_phase_diagram(alpha, beta, lam=lam, rho=rho, eta=eta, M=M,
                             progress=progress, force=True, threshold_steps=28)
    fig, ax = plt.subplots(figsize=(8.2, 4.4), constrained_layout=True)
    pd.plot(ax=ax)
    index = {s: k for k, s in enumerate(pd.structures)}
    colours = pd.colours
    rows, agree = [], 0
    for a in SIM_ALPHA[size.name]:
        for b in SIM_BETA[size.name]:
            theory = solve_units(a, b, lam, rho, eta, M=M)
            results = simulate(size.N, a, b, lam, rho=rho, eta=eta, seeds=size.seeds,
                               method="exact", M=M)
            counts = Counter(", ".join(r.phases) for r in results)
            measured, count = counts.most_common(1)[0]
            match = measured == theory.phase
            agree += match
            colour = colours[index[measured]] if measured in index else "0.6"
            ax.scatter([a], [b], s=70, color=colour, edgecolors="k", linewidths=1.0,
                       zorder=4)
            if not match:
                ax.scatter([a], [b], s=70, marker="x", color="k", zorder=5)
            Q = np.array([np.diag(r.Q) for r in results])
            row = {"method": "exact", "alpha": a, "beta": b, "lam": lam,
                   "rho": " ".join(f"{r:g}" for r in rho), "eta": eta, "M": M,
                   "N": size.N, "seeds": size.seeds, "phases_theory": theory.phase,
                   "phases_measured": measured, "agreeing_seeds": count}
            for i in range(M):
                row[f"Q_{i + 1}{i + 1}_theory"] = float(theory.Q[i, i])
                row[f"Q_{i + 1}{i + 1}_mean"] = float(Q[:, i].mean())
                row[f"Q_{i + 1}{i + 1}_sem"] = (float(Q[:, i].std(ddof=1)
                                                      / np.sqrt(len(Q)))
                                                if len(Q) > 1 else 0.0)
            rows.append(row)
    ax.set_xlim(alpha[0], alpha[-1])
    ax.text(0.99, 0.01, f"points: exact optimum, {describe_size(size)}",
            transform=ax.transAxes, ha="right", va="bottom", fontsize="x-small")
    return FigureResult(name="units_phase_diagram", figure=fig, points=rows, size=size,
                        notes={"agreement": agree / len(rows),
                               "structures": list(pd.structures),
                               "thresholds_alpha": alpha.tolist(),
                               "thresholds": pd.thresholds.tolist()})
