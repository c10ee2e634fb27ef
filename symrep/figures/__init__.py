"""The figures of the paper: RS theory (lines) against finite-N simulation (points).

Every figure is a function ``name(size="quick", *, progress=None, cache=None)`` returning a
:class:`~symrep.figures.core.FigureResult` (the matplotlib figure and its simulation
points); :data:`FIGURES` lists them, and :func:`generate` writes ``<name>.png``,
``<name>.pdf`` and ``<name>.csv`` for all or some of them (``symrep figures`` runs it).
Every file is written atomically and reproducibly: an interrupted run leaves each file
either complete or as it was, and a rerun writes identical bytes (see
:meth:`~symrep.figures.core.FigureResult.save`).

=========================  ==========================================================
``fig2_left``              eg against alpha for several lam, beta = 0.5 (Fig. 2 left)
``fig2_middle``            eg against alpha for several beta, lam = 1 (Fig. 2 middle)
``fig2_right``             KL(q(z|x) || p_W(z|x)) against beta, lam = 1 (Fig. 2 right)
``fig3_phase_diagram``     phases in (alpha, beta), lam = 1, with finite-N phases
``fig4_rate_distortion``   rate-distortion curves at finite alpha and alpha -> infinity
``figE1_no_weight_decay``  eg, Q and rate-distortion at lam = 0 (Appendix E.1)
=========================  ==========================================================

Sizes: ``"quick"`` (N = 300, 2 seeds, few points) and ``"full"`` (N = 1000, 5 seeds),
see :data:`~symrep.figures.core.SIZES`; the notebooks choose with the environment variable
``SYMREP_QUICK`` (:func:`~symrep.figures.core.size_from_env`).

Importing this package is cheap: the figure modules (NumPy, matplotlib, the solvers)
load when a figure is made.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass

from symrep._lazy import lazy_getattr

__all__ = ["FigureSpec", "FIGURES", "figure_names", "make_figure", "generate",
           "check_names", "estimate", "Size", "SIZES", "size_from_env", "FigureResult"]


@dataclass(frozen=True)
class FigureSpec:
    """One entry of the registry: where the figure function lives and what it shows."""

    name: str
    module: str
    title: str

    def load(self):
        """The figure function.

        Returns
        -------
        callable
            The function ``name`` of ``module``, imported on first use.
        """
        return getattr(importlib.import_module(self.module), self.name)


#: The registry, in the paper's order.
FIGURES = {spec.name: spec for spec in (
    FigureSpec("fig2_left", "symrep.figures.fig2",
               "signal recovery error vs alpha for several lam (beta = 0.5)"),
    FigureSpec("fig2_middle", "symrep.figures.fig2",
               "signal recovery error vs alpha for several beta (lam = 1)"),
    FigureSpec("fig2_right", "symrep.figures.fig2",
               "KL(q(z|x) || p_W(z|x)) vs beta for several alpha (lam = 1)"),
    FigureSpec("fig3_phase_diagram", "symrep.figures.fig3",
               "phase diagram in (alpha, beta) with finite-N phases (lam = 1)"),
    FigureSpec("fig4_rate_distortion", "symrep.figures.fig4",
               "rate-distortion curves at finite alpha and alpha -> infinity (lam = 1)"),
    FigureSpec("figE1_no_weight_decay", "symrep.figures.figE1",
               "eg, Q and rate-distortion without weight decay (lam = 0)"),
)}

#: Simulated parameter points of each figure (each is simulated with every method of the
#: size): ``name -> {"quick" | "full": (count, sum of their alphas, largest alpha)}``,
#: counted from a run. For :func:`estimate` only: an approximation is enough.
SIMULATED_POINTS = {
    "fig2_left": {"quick": (16, 74.0, 10.0), "full": (32, 174.0, 12.0)},
    "fig2_middle": {"quick": (20, 37.5, 4.0), "full": (45, 95.0, 6.0)},
    "fig2_right": {"quick": (9, 37.5, 10.0), "full": (30, 111.0, 10.0)},
    "fig3_phase_diagram": {"quick": (6, 9.9, 3.0), "full": (20, 42.4, 5.0)},
    "fig4_rate_distortion": {"quick": (6, 18.0, 5.0), "full": (15, 130.0, 20.0)},
    "figE1_no_weight_decay": {"quick": (13, 32.5, 5.0), "full": (40, 219.0, 20.0)},
}

_LAZY = {"Size": "symrep.figures.core", "SIZES": "symrep.figures.core",
         "size_from_env": "symrep.figures.core", "FigureResult": "symrep.figures.core"}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


def figure_names():
    """Names of all figures, in order.

    Returns
    -------
    list of str
        The names.
    """
    return list(FIGURES)


def check_names(names):
    """Validate figure names (a list, or comma-separated strings); return them in order.

    Parameters
    ----------
    names : iterable of str or None
        Figure names, each item possibly a comma-separated list; None for every figure.

    Returns
    -------
    list of str
        The names, in the order of :data:`FIGURES`.

    Raises
    ------
    ValueError
        For an unknown name, listing the valid ones.
    """
    if names is None:
        return figure_names()
    wanted = [n.strip() for item in names for n in str(item).split(",") if n.strip()]
    unknown = [n for n in wanted if n not in FIGURES]
    if unknown or not wanted:
        raise ValueError(f"figure {', '.join(map(repr, unknown)) or '(none)'} is unknown: "
                         f"choose from {', '.join(FIGURES)}")
    return [n for n in FIGURES if n in wanted]


def make_figure(name, size="quick", **options):
    """Make one figure by name; ``options`` go to the figure function.

    Parameters
    ----------
    name : str
        A figure name (:func:`figure_names`).
    size : Size, str or bool, optional
        ``"quick"`` (default), ``"full"``, a bool (True for quick) or a
        :class:`~symrep.figures.core.Size`.
    **options
        Keyword arguments of the figure function.

    Returns
    -------
    FigureResult
    """
    (name,) = check_names([name])
    return FIGURES[name].load()(size, **options)


def estimate(names=None, size="quick", scheduler=None):
    """Memory and time to make figures, from their numbers of simulated points.

    Parameters
    ----------
    names : iterable of str, optional
        Figure names, as for :func:`check_names` (default: every figure).
    size : Size, str or bool, optional
        ``"quick"`` (default), ``"full"``, a bool (True for quick) or a
        :class:`~symrep.figures.core.Size`.
    scheduler : str, optional
        Where the simulations run, as for :func:`generate` (default None: in this process
        when they are estimated at :data:`~symrep.resources.SMALL_GRID_SECONDS` or less,
        else on a LocalCluster, whose start and time per task are counted).

    Returns
    -------
    symrep.resources.Estimate
    """
    from symrep.figures.core import resolve_size
    from symrep.resources import _TORCH_SECONDS, Estimate, grid_estimate, simulations_estimate

    names = check_names(names)
    size = resolve_size(size)
    which = "quick" if size.quick else "full"
    total = Estimate(f"{len(names)} figure(s) with N = {size.N:,}, {size.seeds:,} seed(s)",
                     0.0, 0.0)
    tasks = 0
    for name in names:
        count, alpha_sum, alpha_max = SIMULATED_POINTS[name][which]
        # every point at the mean alpha for the time, one at the largest for the memory
        runs = simulations_estimate([alpha_sum / count] * count, size.N, size.seeds,
                                    size.methods, tasks=True, scheduler="serial")
        peak = simulations_estimate([alpha_max], size.N, size.seeds, size.methods,
                                    tasks=True, scheduler="serial")
        total = total + Estimate("", peak.bytes, runs.seconds)
        tasks += count * size.seeds * len(size.methods)
    # one cluster for all the figures, as generate() decides (on the estimate in-process)
    return grid_estimate(total, tasks, total.seconds, scheduler,
                         once=0.0 if set(size.methods) == {"exact"} else _TORCH_SECONDS)


def generate(out, names=None, size="quick", *, progress=None, reuse=False, log=print,
             force=False, store=None, client=None, scheduler=None):
    """Make figures and write ``out/<name>.png``, ``out/<name>.pdf`` and ``out/<name>.csv``.

    Parameters
    ----------
    out : path
        Output folder (created if needed).
    names : sequence of str, optional
        Figures to make (default: all).
    size : {"quick", "full"} or Size
        Simulation size.
    progress : bool, optional
        Progress bars (default: when stderr is a terminal).
    reuse : bool
        Take simulation points from an existing ``out/<name>.csv`` where method, N,
        seeds and parameters match, instead of simulating them again.
    log : callable or None
        Called with one line per written figure.
    force : bool
        Run even if the estimated memory or time exceeds what is at hand (see
        :func:`estimate` and :mod:`symrep.resources`).
    store : str or path, optional
        A Zarr store of every simulated data set (:class:`symrep.grid.GridStore`): the
        figures' tasks are added to it and written as they finish, and a rerun computes
        only what it lacks.
    client : distributed.Client, optional
        Run the simulations on this Dask cluster.
    scheduler : str, optional
        ``"tcp://host:8786"`` (a Dask scheduler), ``"local"`` or ``"serial"``; default:
        one LocalCluster for all figures when the estimated work is large (see
        :func:`symrep.grid.run_tasks`), else this process.

    Returns
    -------
    dict
        ``name -> (FigureResult, [written paths], seconds)``.
    """
    from symrep.figures.core import resolve_size
    from symrep.io import check_output_dir
    from symrep.resources import check_resources

    names = check_names(names)
    size = resolve_size(size)
    check_resources(estimate(names, size), force=force)
    out = check_output_dir(out)
    from contextlib import ExitStack

    from symrep.grid.executor import SMALL_GRID_SECONDS, check_scheduler, open_client

    scheduler = check_scheduler(scheduler)
    with ExitStack() as stack:
        # one cluster for all the figures, not one per figure
        if client is None and (scheduler not in (None, "serial") or (
                scheduler is None
                and estimate(names, size, "serial").seconds > SMALL_GRID_SECONDS)):
            client, scheduler = stack.enter_context(open_client(scheduler)), None
        grid = dict(store=store, client=client, scheduler=scheduler)
        return _generate(out, names, size, progress, reuse, log, grid)


def _generate(out, names, size, progress, reuse, log, grid):
    import matplotlib.pyplot as plt

    from symrep.figures.core import load_points

    done = {}
    for name in names:
        start = time.perf_counter()
        cache = load_points(out / f"{name}.csv") if reuse else {}
        result = FIGURES[name].load()(size, progress=progress, cache=cache, grid=grid)
        paths = result.save(out)
        plt.close(result.figure)
        seconds = time.perf_counter() - start
        done[name] = (result, paths, seconds)
        if log is not None:
            log(f"{', '.join(map(str, paths))}  ({len(result.points)} simulation points, "
                f"{seconds:.0f} s)")
    return done
