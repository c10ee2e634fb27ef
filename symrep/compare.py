"""Theory against finite-N ground truth.

- :func:`finite_size_study`: at chosen parameter points, the RS prediction next to the
  mean and standard error of the exact optimum (or trained models) over seeds, for a
  sequence of N, with the deviation in units of the standard error;
- :func:`learning_curve_comparison`: eg (or any observable) against alpha, theory curve
  and simulation points, with a figure. ``symrep compare`` runs it.

Both show their progress: a bar when stderr is a terminal, otherwise one line per
simulated point through ``log`` (default: :mod:`logging` at INFO level).
"""

from __future__ import annotations

import math

import numpy as np

from symrep.resources import Estimate, check_resources, simulations_estimate, sweep_estimate
from symrep.simulate.observables import SCALAR_FIELDS
from symrep.solvers import solve
from symrep.solvers.saddle_point import RESULT_FIELDS
from symrep.validation import check_parameter, check_parameters, check_positive_int

__all__ = ["DEFAULT_POINTS", "COMPARED", "COMPARABLE", "finite_size_study", "markdown_table",
           "learning_curve_comparison", "finite_size_estimate", "learning_curve_estimate"]

#: One parameter point in each phase, and one without weight decay (rho = eta = 1).
DEFAULT_POINTS = {
    "learning": dict(alpha=3.0, beta=0.5, lam=0.7),
    "overfitting": dict(alpha=0.5, beta=0.5, lam=0.2),
    "regularized": dict(alpha=2.0, beta=3.0, lam=1.0),
    "learning, lam = 0": dict(alpha=2.0, beta=0.3, lam=0.0),
}

#: Quantities that both the theory and a simulation report.
COMPARABLE = tuple(f for f in SCALAR_FIELDS if f in RESULT_FIELDS)

#: Quantities compared by default.
COMPARED = ("m", "Q", "R", "E", "eg", "rate", "distortion", "kl_posterior", "rate_train",
            "distortion_train", "free_energy")


def _check_points(points):
    """Validate ``label -> dict(alpha, beta, lam[, rho, eta])``; return a checked copy."""
    if not isinstance(points, dict) or not points:
        raise ValueError("points is invalid: expected a non-empty dict label -> "
                         "dict(alpha=..., beta=..., lam=...)")
    out = {}
    for label, p in points.items():
        if not isinstance(p, dict) or not {"alpha", "beta", "lam"} <= set(p):
            raise ValueError(f"points[{label!r}] is invalid: expected dict(alpha=..., "
                             "beta=..., lam=...[, rho=..., eta=...])")
        unknown = set(p) - {"alpha", "beta", "lam", "rho", "eta"}
        if unknown:
            raise ValueError(f"points[{label!r}] is invalid: unknown parameter(s) "
                             f"{', '.join(sorted(unknown))}")
        out[label] = check_parameters(**p)
    return out


def _check_observables(observables):
    observables = [observables] if isinstance(observables, str) else list(observables)
    unknown = [o for o in observables if o not in COMPARABLE]
    if unknown or not observables:
        raise ValueError(f"observables = {observables!r} is invalid: choose from "
                         f"{', '.join(COMPARABLE)}")
    return observables


def _check_methods(methods):
    from symrep.simulate.experiment import SIMULATION_METHODS  # torch: not for an estimate

    methods = [methods] if isinstance(methods, str) else list(methods)
    unknown = [m for m in methods if m not in SIMULATION_METHODS]
    if unknown or not methods:
        raise ValueError(f"methods = {methods!r} is invalid: choose from "
                         f"{', '.join(SIMULATION_METHODS)}")
    return methods


def finite_size_estimate(points=None, Ns=(500, 1000, 2000, 4000), seeds=8,
                         method="exact", scheduler=None):
    """Memory and time of :func:`finite_size_study` (see :mod:`symrep.resources`).

    Parameters
    ----------
    points : dict, optional
        ``label -> dict(alpha, beta, lam[, rho, eta])``; default :data:`DEFAULT_POINTS`.
    Ns : sequence of int, optional
        Input dimensions (default 500, 1000, 2000, 4000).
    seeds : int, optional
        Independent data sets per (point, N) (default 8).
    method : {"exact", "lbfgs", "adam"}, optional
        Finite-N ground truth (default ``"exact"``).
    scheduler : str, optional
        Where the grid runs, as for :func:`symrep.grid.run_tasks` (default None: decided
        from its size; see :func:`symrep.resources.grid_estimate`).

    Returns
    -------
    symrep.resources.Estimate
        The estimated peak memory and run time.
    """
    points = DEFAULT_POINTS if points is None else points
    estimate = Estimate(f"a finite-size study ({len(points)} points, N up to "
                        f"{max(Ns):,}, {seeds:,} seeds)", 0.0, 0.0)
    for N in Ns:
        estimate = estimate + simulations_estimate([p["alpha"] for p in points.values()], N,
                                                   seeds, (method,), tasks=True,
                                                   scheduler=scheduler)
    return estimate


def learning_curve_estimate(alphas, betas, *, N=500, seeds=3, methods=("exact",),
                            curve_points=400, scheduler=None):
    """Memory and time of :func:`learning_curve_comparison` (see :mod:`symrep.resources`).

    Parameters
    ----------
    alphas, betas : float or sequence of float
        Simulated alphas; one curve per beta.
    N : int, optional
        Input dimension of the simulations (default 500).
    seeds : int, optional
        Independent data sets per point (default 3).
    methods : sequence of {"exact", "lbfgs", "adam"}, optional
        Finite-N ground truths (default ``("exact",)``).
    curve_points : int, optional
        Points of each theory curve (default 400).
    scheduler : str, optional
        Where the simulations run, as for :func:`symrep.grid.run_tasks` (default None:
        decided from their size; see :func:`symrep.resources.grid_estimate`).

    Returns
    -------
    symrep.resources.Estimate
        The estimated peak memory and run time of the simulations and the theory curves.
    """
    alphas, betas = np.atleast_1d(alphas), np.atleast_1d(betas)
    what = (f"{alphas.size * betas.size * len(methods)} simulations with N = {N:,}, "
            f"{seeds:,} seed(s)")
    return (simulations_estimate(list(alphas) * betas.size, N, seeds, methods, what=what,
                                 tasks=True, scheduler=scheduler)
            + sweep_estimate(curve_points * betas.size))


def finite_size_study(points=None, Ns=(500, 1000, 2000, 4000), seeds=8, method="exact",
                      observables=COMPARED, progress=None, log=None, force=False, *,
                      store=None, client=None, scheduler=None, settings=None):
    """RS prediction against the finite-N optimum at growing N.

    Parameters
    ----------
    points : dict, optional
        ``label -> dict(alpha, beta, lam[, rho, eta])``; default :data:`DEFAULT_POINTS`.
    Ns : sequence of int
        Input dimensions.
    seeds : int
        Independent data sets per (point, N).
    method : {"exact", "lbfgs", "adam"}
        Finite-N ground truth: the exact optimum or trained models.
    progress : bool, optional
        Progress bar over the (point, N) pairs (default: when stderr is a terminal).
    log : callable, optional
        Without a bar, called with one line per (point, N) (default: ``logging``).
    force : bool
        Run even if the estimated memory or time exceeds what is at hand (see
        :mod:`symrep.resources`).
    store, client, scheduler : optional
        Where the data sets run and their results are kept: each is a
        :class:`symrep.grid.Task` (seeds 0, ..., seeds - 1 at every (point, N)), run by
        :func:`symrep.grid.run_tasks` with these arguments.
    settings : dict, optional
        The grid's settings kept in the store (default: seeds and method).

    Returns
    -------
    list of dict
        One row per (point, N, observable): ``point``, ``phase`` (theory), ``N``,
        ``observable``, ``theory``, ``mean``, ``sem``, ``deviation`` (mean - theory) and
        ``z`` (deviation / sem; 0 when both vanish, inf when only sem does).
    """
    from symrep.figures.core import Progress

    points = _check_points(DEFAULT_POINTS if points is None else points)
    Ns = [check_positive_int("N", n) for n in ([Ns] if np.ndim(Ns) == 0 else Ns)]
    if not Ns:
        raise ValueError("Ns is invalid: at least one N is needed")
    seeds = check_positive_int("seeds", seeds)
    (method,) = _check_methods([method])
    observables = _check_observables(observables)
    check_resources(finite_size_estimate(points, Ns, seeds, method), force=force)
    from types import SimpleNamespace

    from symrep.grid import Task, run_groups
    from symrep.simulate.experiment import summarize

    pairs = [(label, N) for label in points for N in Ns]
    grid = {(label, N): [Task(**points[label], N=N, seed=k, method=method, first_seed=0,
                              seeds=seeds) for k in range(seeds)] for label, N in pairs}
    with Progress(len(pairs), "finite-size study", progress, log) as tracker:
        records = run_groups(grid, on_group=lambda pair: tracker.step(
            f"{pair[0]} N={pair[1]}"), store=store, client=client, scheduler=scheduler,
            settings=settings or dict(grid="finite-size study", seeds=seeds, method=method))
    rows = []
    for label, p in points.items():
        theory = solve(**p)
        for N in Ns:
            res = [SimpleNamespace(**record) for record in records[label, N]]
            summary = summarize(res, observables)
            for name in observables:
                mean, sem = summary[name]
                dev = mean - getattr(theory, name)
                z = 0.0 if abs(dev) <= 1e-12 else (abs(dev) / sem if sem > 0 else math.inf)
                rows.append(dict(point=label, phase=theory.phase, N=N, observable=name,
                                 theory=getattr(theory, name), mean=mean, sem=sem,
                                 deviation=dev, z=z, **p))
    return rows


def markdown_table(rows, observables=None):
    """Markdown table: one line per (point, N), columns theory and mean +- sem (z).

    Parameters
    ----------
    rows : iterable of dict
        Rows of :func:`finite_size_study`.
    observables : sequence of str, optional
        The columns, in order (default: every observable of the rows, in order of first
        appearance).

    Returns
    -------
    str
        The table: for each point a line of theory values, then one line per N with
        the mean, its standard error and the z-score.

    Raises
    ------
    ValueError
        If a row lacks a key of :func:`finite_size_study`'s rows, or a (point, N) has no
        row for an observable.
    """
    rows = list(rows)
    needed = {"point", "N", "observable", "phase", "theory", "mean", "sem", "z"}
    for k, r in enumerate(rows):
        if not isinstance(r, dict) or not needed <= set(r):
            raise ValueError(f"rows[{k}] is invalid: expected a row of finite_size_study with "
                             f"the keys {', '.join(sorted(needed))}")
    observables = observables or list(dict.fromkeys(r["observable"] for r in rows))
    missing = {(r["point"], r["N"], o) for r in rows for o in observables} - {
        (r["point"], r["N"], r["observable"]) for r in rows}
    if missing:
        raise ValueError(f"observables is invalid: no row for {sorted(missing)[0]}")
    by_key = {}
    for r in rows:
        by_key.setdefault((r["point"], r["N"]), {})[r["observable"]] = r
    head = "| point | N | " + " | ".join(observables) + " |"
    lines = [head, "|" + "---|" * (len(observables) + 2)]
    last_point = None
    for (point, N), obs in by_key.items():
        if point != last_point:
            theory = " | ".join(f"**{obs[o]['theory']:.4f}**" for o in observables)
            lines.append(f"| {point} ({obs[observables[0]]['phase']}) | theory | {theory} |")
            last_point = point
        cells = []
        for o in observables:
            r = obs[o]
            z = "" if r["z"] == 0 else f" ({r['z']:.1f})"
            cells.append(f"{r['mean']:.4f} ± {r['sem']:.4f}{z}")
        lines.append(f"| | {N} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def learning_curve_comparison(alphas, betas, lam=1.0, rho=1.0, eta=1.0, *, N=500, seeds=3,
                              methods=("exact",), observable="eg", curve_points=400,
                              ax=None, force=False, progress=None, log=None, device=None,
                              store=None, client=None, scheduler=None, settings=None):
    """Theory curves of one observable against alpha, with finite-N points.

    A one-panel use of :class:`symrep.figures.curves.CurvePanel`, which the figures of the
    paper share. ``progress`` (default: when stderr is a terminal) shows a bar over the
    simulated points; without one, ``log`` gets a line per point (default: ``logging``).

    Parameters
    ----------
    alphas, betas : sequence of float
        Simulated alphas; one curve per beta.
    lam, rho, eta : float
        Fixed parameters.
    N, seeds : int
        Size of the simulations.
    methods : sequence of {"exact", "lbfgs", "adam"}
    observable : str
        One of :data:`COMPARABLE`.
    curve_points : int
        Points of each theory curve.
    force : bool
        Run even if the estimated memory or time exceeds what is at hand (see
        :mod:`symrep.resources`).
    progress : bool or None
        Progress bar over the simulated points (None: when stderr is a terminal).
    log : callable, optional
        Without a bar, called with one line per point (default: ``logging``).
    device : str or torch.device, optional
        Where the trained models train (default: CUDA when available, else CPU).
    store, client, scheduler, settings : optional
        Where the simulations run and their results are kept (see
        :func:`symrep.figures.core.simulation_points` and :func:`symrep.grid.run_tasks`).

    Returns
    -------
    fig : matplotlib.figure.Figure
    table : list of dict
        For every (beta, alpha, method): theory, mean, sem.
    """
    import matplotlib.pyplot as plt

    from symrep.figures.core import (
        SIM_FIELDS,
        Size,
        method_legend,
        series_colors,
        simulation_points,
    )
    from symrep.figures.curves import CurvePanel

    alphas = np.atleast_1d(check_parameter("alpha", alphas, allow_array=True))
    betas = np.atleast_1d(check_parameter("beta", betas, allow_array=True))
    if alphas.ndim != 1 or betas.ndim != 1:
        raise ValueError("alphas and betas must be numbers or 1-d sequences of numbers")
    p = check_parameters(lam=lam, rho=rho, eta=eta)
    lam, rho, eta = p["lam"], p["rho"], p["eta"]
    N = check_positive_int("N", N)
    seeds = check_positive_int("seeds", seeds)
    methods = _check_methods(methods)
    (observable,) = _check_observables([observable])
    curve_points = check_positive_int("curve_points", curve_points)
    check_resources(learning_curve_estimate(alphas, betas, N=N, seeds=seeds, methods=methods,
                                            curve_points=curve_points), force=force)
    alphas = alphas.astype(float)
    curve_alpha = np.linspace(min(alphas.min(), 0.05), alphas.max() * 1.05, curve_points)
    panel = CurvePanel(observable, "alpha", curve_alpha, "beta", tuple(betas),
                       dict(lam=lam, rho=rho, eta=eta), sim_x=tuple(alphas),
                       colors=series_colors(len(betas)))
    size = Size("custom", N=N, seeds=seeds, methods=tuple(methods), device=device)
    rows = simulation_points(panel.points(), size, figure="learning_curve",
                             progress=progress, log=log,
                             fields=tuple(dict.fromkeys((*SIM_FIELDS, observable))),
                             independent=False, store=store, client=client,
                             scheduler=scheduler, settings=settings)
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4), constrained_layout=True)
    panel.draw(ax, rows)
    table = [dict(beta=r["beta"], alpha=r["alpha"], method=r["method"],
                  theory=r[f"{observable}_theory"], mean=r[f"{observable}_mean"],
                  sem=r[f"{observable}_sem"]) for r in rows]
    order = {m: k for k, m in enumerate(methods)}
    table.sort(key=lambda r: (list(panel.values).index(r["beta"]), order[r["method"]]))
    ax.set_title(rf"theory (lines) vs N={N} ({', '.join(methods)}; points), "
                 rf"$\lambda={lam:g}$", fontsize="small")
    method_legend(ax, size, loc="upper center")
    ax.legend(fontsize="small")
    return ax.figure, table
