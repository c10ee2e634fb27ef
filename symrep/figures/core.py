"""Shared machinery of the figures: sizes, simulation points, plotting, saving.

Every figure draws the replica-symmetric (RS) prediction as lines (from the solver) and
finite-N ground truth as points: the mean and standard error over independent data sets
of the exact global optimum (``method="exact"``) and of trained models
(``method="lbfgs"``). The simulation points of a figure are kept as a table (one row per
parameter point and method, every observable's mean, standard error and RS value) that
:meth:`FigureResult.save` writes next to the PNG as CSV, and that a later run can reuse
instead of simulating again.

Every output is written atomically (:mod:`symrep.io`: a temporary name renamed into
place, so an interrupted run never leaves a truncated file or destroys the previous one)
and byte for byte reproducible: the PDF carries no creation date, the PNG no time stamp,
and the simulations are seeded, so a rerun on the same machine writes identical files.
Colours come from the Okabe-Ito palette, which stays distinguishable with the common
forms of colour blindness.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from symrep.io import atomic_open, atomic_path
from symrep.progress import progress_bar
from symrep.validation import check_parameters, check_positive_int

logger = logging.getLogger(__name__)

__all__ = [
    "Size", "SIZES", "size_from_env", "resolve_size", "SIM_FIELDS", "METHOD_STYLE",
    "FigureResult", "simulation_points", "measured_phase", "load_points", "point_key",
    "series_colors", "plot_points", "method_legend", "describe_size", "OKABE_ITO",
    "SERIES_COLORS", "FIGURE_FORMATS", "REPRODUCIBLE_METADATA", "Progress",
]

#: Observables recorded for every simulation point (mean, standard error, RS value).
SIM_FIELDS = ("m", "d", "Q", "E", "R", "D", "eg", "rate", "distortion", "kl_posterior",
              "free_energy")

#: How each finite-N method is drawn and named.
METHOD_STYLE = {
    "exact": dict(marker="o", ms=6.5, mfc="white", mew=1.3, label="exact optimum"),
    "lbfgs": dict(marker="s", ms=3.2, mfc=None, mew=0.8, label="trained (L-BFGS)"),
    "adam": dict(marker="^", ms=3.5, mfc=None, mew=0.8, label="trained (Adam)"),
}


@dataclass(frozen=True)
class Size:
    """How much simulation a figure does.

    Attributes
    ----------
    name : str
        ``"full"`` or ``"quick"`` (each figure picks its set of simulation points from it).
    N : int
        Input dimension of the simulations.
    seeds : int
        Independent data sets per point (the error bars are standard errors over them).
    methods : tuple of str
        Finite-N ground truth: ``"exact"`` (global optimum) and/or ``"lbfgs"``/``"adam"``
        (trained models).
    device : str, optional
        Torch device of the trained models (default: CUDA when available, else CPU; see
        :func:`symrep.simulate.device.resolve_device`). The simulation points do not
        depend on it beyond rounding, so it is not part of a point's identity.
    """

    name: str
    N: int
    seeds: int
    methods: tuple = ("exact", "lbfgs")
    device: str | None = None

    @property
    def quick(self) -> bool:
        """True for every size but ``"full"``."""
        return self.name != "full"

    def with_(self, **changes) -> Size:
        """A copy with some fields changed (e.g. ``N``, ``seeds``).

        Parameters
        ----------
        **changes
            New values of fields, by name (``N``, ``seeds``, ``methods``, ``device``).

        Returns
        -------
        Size
            The copy.
        """
        return replace(self, **changes)


#: The two standard sizes: ``quick`` for CI and notebooks, ``full`` for the paper figures.
SIZES = {
    "quick": Size("quick", N=300, seeds=2),
    "full": Size("full", N=1000, seeds=5),
}


def resolve_size(size) -> Size:
    """A :class:`Size` from a Size, ``"quick"``/``"full"``, or a bool (True = quick).

    Parameters
    ----------
    size : Size, str or bool
        A :class:`Size` (returned after checking N and seeds), ``"quick"`` or ``"full"``
        (the sizes of :data:`SIZES`), or a bool (True for ``"quick"``).

    Returns
    -------
    Size
        The size.

    Raises
    ------
    ValueError
        If ``size`` is none of these, or a Size has N or seeds not a positive integer.
    """
    if isinstance(size, Size):
        check_positive_int("N", size.N)
        check_positive_int("seeds", size.seeds)
        return size
    if isinstance(size, bool):
        return SIZES["quick" if size else "full"]
    if isinstance(size, str) and size in SIZES:
        return SIZES[size]
    raise ValueError(f"size = {size!r} is invalid: must be 'quick', 'full' or a Size")


def size_from_env(var="SYMREP_QUICK", default="1") -> Size:
    """The size chosen by environment variables (used by the notebooks).

    ``SYMREP_QUICK=1`` (the default) gives the quick size, ``SYMREP_QUICK=0`` the full one;
    ``SYMREP_N``, where set, replaces the size's input dimension N of the simulations (the
    same points and seeds: a smaller N runs faster, with larger finite-size effects).

    Parameters
    ----------
    var : str, optional
        The variable that chooses quick or full (default ``"SYMREP_QUICK"``); ``1``,
        ``true``, ``yes``, ``on`` or ``quick`` for quick, ``0``, ``false``, ``no``, ``off``
        or ``full`` for full.
    default : str, optional
        Its value when unset (default ``"1"``).

    Returns
    -------
    Size
        The size.

    Raises
    ------
    ValueError
        If the variable has another value, or ``SYMREP_N`` is not a positive integer.
    """
    value = os.environ.get(var, default).strip().lower()
    if value in ("1", "true", "yes", "on", "quick"):
        size = SIZES["quick"]
    elif value in ("0", "false", "no", "off", "full"):
        size = SIZES["full"]
    else:
        raise ValueError(f"{var} = {value!r} is invalid: must be 1 (quick) or 0 (full)")
    n = os.environ.get("SYMREP_N", "").strip()
    if n:
        try:
            N = int(n)
        except ValueError:
            N = 0
        if N < 1:
            raise ValueError(f"SYMREP_N = {n!r} is invalid: must be a positive integer")
        size = size.with_(N=N)
    return size


def describe_size(size: Size) -> str:
    """``"N = 300, 2 seeds"``, for titles and legends.

    Parameters
    ----------
    size : Size
        The size.

    Returns
    -------
    str
        The description, N in LaTeX math.
    """
    return f"$N={size.N}$, {size.seeds} seed{'s' if size.seeds != 1 else ''}"


# --- simulation points -------------------------------------------------------------------

_PARAMS = ("alpha", "beta", "lam", "rho", "eta")


def point_key(method, N, seeds, first_seed, p):
    """Identity of one simulation point: method, N, seeds, first seed and the parameters.

    Parameters
    ----------
    method : str
        ``"exact"``, ``"lbfgs"`` or ``"adam"``.
    N, seeds, first_seed : int
        Input dimension, number of seeds and first seed.
    p : mapping
        The parameters ``alpha``, ``beta``, ``lam``, ``rho`` and ``eta`` (numbers or
        numeric text).

    Returns
    -------
    tuple
        ``(method, N, seeds, first_seed, alpha, beta, lam, rho, eta)``, the parameters
        rounded to 12 significant digits so that values read back from a CSV match.
    """
    return (method, int(N), int(seeds), int(first_seed),
            *(float(f"{float(p[k]):.12g}") for k in _PARAMS))


def measured_phase(result, q_floor=1e-6, cos_floor=0.25):
    """Phase of one finite-N model from its order parameters.

    ``"regularized"`` (collapsed) when Q <= ``q_floor``; ``"learning"`` when the decoder
    is clearly aligned with the feature, |m| / sqrt(Q) > ``cos_floor`` (below the
    transition the alignment of a finite-N model is of order N^(-1/2)); ``"overfitting"``
    otherwise.

    Parameters
    ----------
    result : SimulationResult
        A finite-N result with scalar ``Q`` and ``m``.
    q_floor : float, optional
        Largest Q of a collapsed model (default 1e-6).
    cos_floor : float, optional
        Smallest cosine |m| / sqrt(Q) of a learning model (default 0.25).

    Returns
    -------
    str
        ``"regularized"``, ``"learning"`` or ``"overfitting"``.
    """
    Q, m = float(result.Q), float(result.m)
    if not Q > q_floor:
        return "regularized"
    return "learning" if abs(m) / math.sqrt(Q) > cos_floor else "overfitting"


def _progress_bar(total, desc, progress):
    return progress_bar(total, desc, progress, unit="pt")


class Progress:
    """Progress over a known number of steps: a tqdm bar or one line per step.

    Parameters
    ----------
    total : int
        Number of steps.
    desc : str
        What is counted (the bar's label, the start of each line).
    progress : bool, optional
        Show a progress bar (default: when stderr is a terminal).
    log : callable, optional
        Without a bar, called with one line per step (``"fig2_left: 3/32 exact alpha=2
        (1.2 s)"``); default: ``logging`` at INFO level (silent unless logging is set up).
    """

    def __init__(self, total, desc, progress=None, log=None):
        self.total, self.desc, self.done = total, desc, 0
        self.bar = _progress_bar(total, desc, progress)
        self.log = log or logger.info
        self._last = time.perf_counter()

    def step(self, text=""):
        """One step done; ``text`` says which.

        Parameters
        ----------
        text : str, optional
            The step's label, shown by the bar or at the end of the line (default empty).
        """
        self.done += 1
        now = time.perf_counter()
        line = f"{self.desc}: {self.done}/{self.total} {text} ({now - self._last:.1f} s)"
        self._last = now
        if self.bar is not None:  # the bar shows the step; the log keeps it (-v)
            self.bar.update()
            self.bar.set_postfix_str(text)
            logger.debug(line)
            return
        self.log(line)

    def close(self):
        """Remove the bar (also when the work stops early: no stale bar above an error)."""
        if self.bar is not None:
            self.bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False


def _device_option(size, method):
    """The device of a training task (none for the exact optimum or the default)."""
    device = getattr(size, "device", None)
    return (("device", device),) if device is not None and method != "exact" else ()


def simulation_points(points, size, *, figure="", progress=None, cache=None,
                      fields=SIM_FIELDS, independent=True, log=None, store=None, client=None,
                      scheduler=None, settings=None):
    """Simulate every parameter point with every method of ``size``.

    Each data set of each (point, method) is one :class:`~symrep.grid.Task`; the tasks
    run through :func:`symrep.grid.run_tasks` (in this process for a small grid, else on
    a Dask cluster; ``store``, ``client`` and ``scheduler`` go there).

    Parameters
    ----------
    points : sequence of dict
        Each ``dict(alpha, beta, lam[, rho, eta])``; extra keys (e.g. ``panel``) are
        copied into the rows.
    size : Size
        N, seeds and methods.
    figure : str
        Name recorded in the rows (and shown on the progress bar).
    progress : bool, optional
        Progress bar over the points (default: when stderr is a terminal).
    log : callable, optional
        Without a progress bar, called with one line per simulated point (default:
        ``logging`` at INFO level); see :class:`Progress`.
    cache : dict, optional
        ``point_key -> row`` of earlier results (see :func:`load_points`); a point found
        there is not simulated again.
    independent : bool
        Point number i (in the order given) draws its data sets from seeds
        ``i * seeds, ..., i * seeds + seeds - 1``, so that different points are
        statistically independent and their error bars can be read separately. With
        False every point uses seeds ``0, ..., seeds - 1`` (common random numbers: the
        fluctuations are shared along a curve). The methods of one point always see the
        same data sets.
    fields : sequence of str
        Observables recorded (fields of both
        :class:`~symrep.simulate.observables.SimulationResult` and
        :class:`~symrep.solvers.SolveResult`).
    store : str or path, optional
        Zarr store of the tasks' results (see :class:`symrep.grid.GridStore`): what it
        holds is not computed again, and every finished task is written at once.
    client : distributed.Client, optional
        Run the tasks on this Dask cluster.
    scheduler : str, optional
        ``"tcp://host:8786"``, ``"local"`` or ``"serial"`` (see
        :func:`symrep.grid.run_tasks`).
    settings : dict, optional
        The grid's settings kept in the store (default: N, seeds, methods and
        ``independent``); a store with other settings is refused.

    Returns
    -------
    list of dict
        One row per (point, method): the parameters, ``method``, ``N``, ``seeds``,
        ``first_seed``, ``P``, ``converged`` (runs that met the stopping rule),
        ``phase_theory``, the counts ``n_learning``, ``n_overfitting``, ``n_regularized``
        of the measured phases (see :func:`measured_phase`), and for every field of
        ``fields`` (default :data:`SIM_FIELDS`) its ``_mean``, ``_sem`` and RS value
        ``_theory``.
    """
    from types import SimpleNamespace

    from symrep.grid import Task, run_tasks
    from symrep.simulate.experiment import summarize
    from symrep.solvers import solve

    size = resolve_size(size)
    jobs = []
    for i, point in enumerate(points):
        extra = {k: v for k, v in point.items() if k not in _PARAMS}
        p = check_parameters(**{k: point[k] for k in _PARAMS if k in point})
        p = {"rho": 1.0, "eta": 1.0, **p}
        first_seed = i * size.seeds if independent else 0
        for method in size.methods:
            jobs.append((p, extra, method, first_seed))
    rows = [None] * len(jobs)
    tasks, owner = [], {}
    for j, (p, extra, method, first_seed) in enumerate(jobs):
        key = point_key(method, size.N, size.seeds, first_seed, p)
        if cache is not None and key in cache and all(f"{f}_mean" in cache[key]
                                                      for f in fields):
            rows[j] = {**cache[key], **extra, "figure": figure}
            continue
        for k in range(size.seeds):
            task = Task(**p, N=size.N, seed=first_seed + k, method=method,
                        first_seed=first_seed, seeds=size.seeds,
                        options=_device_option(size, method))
            tasks.append(task)
            owner.setdefault(task, []).append(j)
    if settings is None:
        settings = dict(grid="simulation points", N=size.N, seeds=size.seeds,
                        methods=list(size.methods), independent=bool(independent))
        if getattr(size, "device", None) is not None:  # a store per device, as the tasks
            settings["device"] = size.device
    theory_cache = {}

    def label(j):
        p, _, method, _ = jobs[j]
        return f"{method} alpha={p['alpha']:g} beta={p['beta']:g} lam={p['lam']:g}"

    with Progress(len(jobs), figure or "simulations", progress, log) as tracker:
        for j, row in enumerate(rows):
            if row is not None:
                tracker.step(label(j))
        waiting = {j: size.seeds for j in range(len(jobs)) if rows[j] is None}
        finished = {}

        def one_done(task, record):
            finished[task] = record
            for j in owner[task]:
                waiting[j] -= 1
                if waiting[j] == 0:
                    tracker.step(label(j))

        if tasks:
            records = run_tasks(tasks, store=store, client=client, scheduler=scheduler,
                                progress=one_done, settings=settings)
        else:  # every point taken from earlier results: no grid to run
            records = []
            logger.info("%s: all %d simulation points reused from earlier results, none "
                        "computed", figure or "simulations", len(jobs))
        # a task found in the store does not pass through one_done
        if any(n > 0 for n in waiting.values()):
            for task, record in zip(tasks, records, strict=True):
                if task not in finished:
                    one_done(task, record)
    by_task = dict(zip(tasks, records, strict=True))
    for j, (p, extra, method, first_seed) in enumerate(jobs):
        if rows[j] is not None:
            continue
        results = [SimpleNamespace(**by_task[Task(**p, N=size.N, seed=first_seed + k,
                                                  method=method, first_seed=first_seed,
                                                  seeds=size.seeds,
                                                  options=_device_option(size, method))])
                   for k in range(size.seeds)]
        tkey = tuple(p[k] for k in _PARAMS)
        if tkey not in theory_cache:
            theory_cache[tkey] = solve(**p)
        theory = theory_cache[tkey]
        summary = summarize(results, fields)
        phases = [measured_phase(r) for r in results]
        row = dict(figure=figure, **extra, method=method, N=size.N, seeds=size.seeds,
                   first_seed=first_seed, **p, P=int(results[0].P),
                   converged=sum(bool(r.converged) for r in results),
                   phase_theory=theory.phase,
                   n_learning=phases.count("learning"),
                   n_overfitting=phases.count("overfitting"),
                   n_regularized=phases.count("regularized"))
        for name in fields:
            mean, sem = summary[name]
            row[f"{name}_mean"], row[f"{name}_sem"] = mean, sem
            row[f"{name}_theory"] = float(getattr(theory, name))
        if cache is not None:
            cache[point_key(method, size.N, size.seeds, first_seed, p)] = row
        rows[j] = row
    return rows


def _parse(value):
    if value in ("True", "False"):
        return value == "True"
    try:
        number = float(value)
    except (TypeError, ValueError):  # text, or None for a missing cell of a short row
        return value
    return int(number) if number.is_integer() and "." not in value and "e" not in value \
        else number


def load_points(path):
    """Rows of a CSV written by :meth:`FigureResult.save`, as a cache for
    :func:`simulation_points` (``{}`` when the file does not exist).

    The table stays a plain CSV for its readers, so it carries no checksum; instead it is
    read defensively: a row that is incomplete (a field missing, the last line cut off,
    an observable that is not a number) is left out, so that its point is simulated
    again, and an unreadable file counts as empty. symrep writes the table atomically,
    so a damaged one comes from elsewhere (an older version, another program).

    Parameters
    ----------
    path : str or path-like
        The CSV file.

    Returns
    -------
    dict
        Maps the :func:`point_key` of each complete row to the row (a dict with the
        numbers parsed).
    """
    try:
        raw = Path(path).read_bytes()
    except OSError:
        return {}
    if not raw.endswith(b"\n"):  # the last row was cut off
        raw = raw[: raw.rfind(b"\n") + 1]
    try:
        records = list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))
    except (UnicodeDecodeError, csv.Error):
        return {}
    points = {}
    for record in records:
        if None in record or None in record.values():  # too many or too few fields
            continue
        row = {k: _parse(v) for k, v in record.items()}
        # an observable's mean, sem and RS value (phase_theory, text, has no _mean)
        numbers = [v for k, v in row.items() if k.endswith(("_mean", "_sem"))
                   or (k.endswith("_theory") and f"{k[:-len('_theory')]}_mean" in row)]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers):
            continue
        try:
            key = point_key(row["method"], row["N"], row["seeds"], row["first_seed"], row)
        except (KeyError, TypeError, ValueError):
            continue
        points[key] = row
    return points


# --- drawing -----------------------------------------------------------------------------

#: The Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"): eight colours that
#: stay distinct under protanopia, deuteranopia and tritanopia.
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky blue": "#56B4E9",
    "bluish green": "#009E73", "yellow": "#F0E442", "blue": "#0072B2",
    "vermillion": "#D55E00", "reddish purple": "#CC79A7",
}

#: Colours of the curves of a figure, in order: the Okabe-Ito palette without black
#: (theory limits and guides are drawn in black and grey) and with yellow last (faint on
#: white).
SERIES_COLORS = tuple(OKABE_ITO[name] for name in (
    "blue", "vermillion", "bluish green", "reddish purple", "orange", "sky blue",
    "yellow"))


def series_colors(n, cmap=None, start=0.0, stop=0.82):
    """``n`` colours for ``n`` curves.

    Parameters
    ----------
    n : int
        Number of curves.
    cmap : str, optional
        A sequential colour map to sample from ``start`` to ``stop`` instead of the
        default, :data:`SERIES_COLORS` (which serves up to seven curves; beyond that the
        colour-blind-safe map ``"cividis"`` is sampled).

    Returns
    -------
    list
        ``n`` Matplotlib colours.
    """
    if cmap is None and n <= len(SERIES_COLORS):
        return list(SERIES_COLORS[:n])
    import matplotlib.pyplot as plt

    cm = plt.get_cmap(cmap or "cividis")
    return [cm(x) for x in (np.linspace(start, stop, n) if n > 1 else [start])]


def plot_points(ax, rows, x, y, color, *, xerr=False, zorder=3):
    """Draw simulation rows (mean +- standard error), one marker style per method.

    Parameters
    ----------
    rows : sequence of dict
        Rows of :func:`simulation_points`.
    x, y : str
        A parameter name (``"alpha"``) or an observable (``"eg"``: its ``_mean`` and
        ``_sem`` are used).
    xerr : bool
        Also draw horizontal error bars (when x is an observable).
    """
    for method, style in METHOD_STYLE.items():
        sel = [r for r in rows if r["method"] == method]
        if not sel:
            continue
        xs = [r[x] if x in r else r[f"{x}_mean"] for r in sel]
        ys = [r[f"{y}_mean"] for r in sel]
        yerr = [r[f"{y}_sem"] for r in sel]
        xe = [r[f"{x}_sem"] for r in sel] if xerr else None
        ax.errorbar(xs, ys, yerr=yerr, xerr=xe, fmt=style["marker"], ms=style["ms"],
                    mfc=style["mfc"] or color, mec=color, mew=style["mew"], color=color,
                    ecolor=color, elinewidth=1.0, capsize=2.0, lw=0, zorder=zorder)


def method_legend(ax, size, *, loc="upper right", theory_label="RS theory", **kw):
    """A legend of the line and marker styles (theory, exact optimum, trained models).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes to add the legend to (added as an artist, so that a further legend
        does not replace it).
    size : Size
        Its methods get a marker each; its N and seeds make the title.
    loc : str, optional
        Location of the legend (default ``"upper right"``).
    theory_label : str, optional
        Label of the theory line (default ``"RS theory"``).
    **kw
        Further arguments of ``Axes.legend`` (``title`` replaces the default).

    Returns
    -------
    matplotlib.legend.Legend
        The legend.
    """
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color="0.25", lw=1.6, label=theory_label)]
    for method in size.methods:
        style = METHOD_STYLE[method]
        handles.append(Line2D([], [], color="0.25", lw=0, marker=style["marker"],
                              ms=style["ms"], mfc=style["mfc"] or "0.25", mec="0.25",
                              mew=style["mew"], label=style["label"]))
    kw.setdefault("title", f"points: {describe_size(size)}")
    leg = ax.legend(handles=handles, loc=loc, fontsize="small", framealpha=0.9,
                    title_fontsize="small", **kw)
    ax.add_artist(leg)
    return leg


# --- result ------------------------------------------------------------------------------

@dataclass
class FigureResult:
    """A finished figure and its simulation points.

    Attributes
    ----------
    name : str
        Registry name (file stem of the outputs).
    figure : matplotlib.figure.Figure
    points : list of dict
        The simulation rows (see :func:`simulation_points`).
    size : Size
    notes : dict
        Figure-specific numbers worth reporting (e.g. where a curve peaks).
    """

    name: str
    figure: object
    points: list
    size: Size
    notes: dict = field(default_factory=dict)

    def save(self, out, dpi=150, formats=None):
        """Write ``out/<name>.png``, ``out/<name>.pdf`` and ``out/<name>.csv``.

        Each file is written to a temporary name and renamed into place, so an
        interrupted call leaves every file either complete or as it was. The outputs
        are reproducible byte for byte (no dates or times in them).

        Parameters
        ----------
        out : path
            Output folder (created if needed).
        dpi : float
            Resolution of the PNG (and of the rasterised parts of the PDF).
        formats : sequence of str, optional
            Figure formats, default :data:`FIGURE_FORMATS` (``("png", "pdf")``).

        Returns
        -------
        list of Path
            The written files: the figures, then the table (when there are points).
        """
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for fmt in FIGURE_FORMATS if formats is None else formats:
            path = out / f"{self.name}.{fmt}"
            with atomic_path(path) as tmp:
                self.figure.savefig(tmp, format=fmt, dpi=dpi,
                                    metadata=REPRODUCIBLE_METADATA.get(fmt))
            paths.append(path)
        if self.points:
            table = out / f"{self.name}.csv"
            names = list(dict.fromkeys(k for row in self.points for k in row))
            with atomic_open(table, "w", encoding="utf-8", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=names)
                writer.writeheader()
                writer.writerows(self.points)
            paths.append(table)
        return paths


#: Figure formats written by :meth:`FigureResult.save`.
FIGURE_FORMATS = ("png", "pdf")

#: Metadata that makes the files reproducible: matplotlib stamps a PDF with the time
#: of writing (``CreationDate``) unless told not to; PNG and SVG carry no time.
REPRODUCIBLE_METADATA = {"pdf": {"CreationDate": None}, "svg": {"Date": None}}
