"""Memory and time a job will need, estimated from its sizes and checked before it starts.

A grid or a run count can be asked for that would exhaust the memory or run for days: a
10,000 x 10,000 phase diagram needs about 30 GB, ``simulate --seeds 100000000000`` never
ends. Every entry point that takes such sizes (:func:`symrep.sweep`,
:func:`symrep.phase_diagram`, :func:`symrep.simulate.simulate`, :func:`~symrep.simulate.train`,
:func:`~symrep.simulate.sample_scm`, the functions of :mod:`symrep.compare`,
:func:`symrep.figures.generate` and the matching subcommands) first estimates its memory
and time from the sizes alone, with a few arithmetic operations and nothing allocated,
and raises :class:`~symrep.errors.TooLargeError` (a ``ValueError``) when the estimate
exceeds

- the memory available: 80 % of ``MemAvailable`` in ``/proc/meminfo`` (or of the free
  physical pages that ``os.sysconf`` reports), lowered to the cgroup limit when the
  process runs in a container with one;
- the time budget: one hour, or the number of seconds in the environment variable
  ``SYMREP_TIME_BUDGET``.

``force=True`` (``--force`` on the command line) skips the check. A lazy sweep
(``symrep.sweep(..., lazy=True)``, :func:`symrep.sweep_to_zarr`) is checked for its
largest block, what one worker solves at once, not for the whole grid: it is solved
block by block when computed, and written to a store without being held in memory.

The estimates are simple models. Their constants come from the timings in
``docs/benchmarks.md`` (an idle two-core machine) and from sweeps and simulations
measured while writing this module, rounded up: a sweep costs 30 microseconds and
250 bytes per point on top of the working memory of one chunk of 65,536 points, 300 MB
(measured: 14 to 22 us and about 200 bytes per point, 250 MB per chunk); writing it as
CSV costs 50 us and 400 bytes more per point; dense linear algebra runs at 10 GFLOP/s
(about 20 on the benchmark machine); an L-BFGS or Adam iteration costs 5 ms of overhead
(measured: 293 iterations of 65 batched runs in 2.5 s) plus its products with the N x N
data covariance. They tell a job that fits from one that cannot; they are no forecast:
the whole set of figures is estimated at 2 minutes (quick) and 43 minutes (full) where
about 1 and 13 minutes are measured.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from symrep.errors import TooLargeError

__all__ = [
    "Estimate",
    "available_memory",
    "time_budget",
    "check_resources",
    "sweep_estimate",
    "phase_diagram_estimate",
    "data_estimate",
    "simulation_estimate",
    "training_estimate",
    "simulations_estimate",
    "grid_scheduler",
    "grid_estimate",
    "format_bytes",
    "format_seconds",
    "MEMORY_FRACTION",
    "DEFAULT_TIME_BUDGET",
    "SMALL_GRID_SECONDS",
    "SMALL_GRID_TASKS",
]

#: Share of the available memory a job may plan to use.
MEMORY_FRACTION = 0.8
#: Seconds a job may be estimated to take unless ``SYMREP_TIME_BUDGET`` says otherwise.
DEFAULT_TIME_BUDGET = 3600.0

# Measured constants (two CPU cores), rounded up; see the module docstring and the
# section "Cost model" of docs/benchmarks.md (benchmarks/cost_model.py measures them).
_SWEEP_FIXED_BYTES = 300e6  # for a whole chunk
_SWEEP_CHUNK = 65_536
_SWEEP_BYTES = 250.0
_SWEEP_SECONDS = 100e-6  # measured 87 us (256 x 256 grid, loaded machine)
_CSV_BYTES = 400.0
_CSV_SECONDS = 100e-6  # measured 85 us (sweep_table + to_csv)
_FLOPS = 1e10
_NORMALS_PER_SECOND = 5e7
# Overhead of one training iteration: a fixed part and a part per batched run (measured:
# 1.8 ms and 0.3 ms for one run at N = 1; L-BFGS 8.5 ms for 65 batched runs)
_ITERATION_SECONDS = {"lbfgs": (0.002, 0.0001), "adam": (0.0005, 0.00002)}
_TYPICAL_ITERATIONS = {"lbfgs": 300, "adam": 20_000}  # measured 10 and 5,680 at N = 1
_FLOAT = 8.0  # bytes of a float64
# Fixed costs of a grid task (symrep.grid.run_tasks: one data set, one Task, one record),
# whatever its size: measured 1.3 ms and 1.2 kB for the exact optimum at N = 1.
_TASK_SECONDS = 2e-3
_TASK_BYTES = 2e3
# Importing torch, once per process that trains (measured 1.1 s beyond Python's start).
_TORCH_SECONDS = 1.5
# A grid on Dask (symrep.grid.run_tasks): starting and closing a LocalCluster, and the
# cost of a task on a cluster besides its work (scheduling it, moving its record, taking
# it in as it finishes), measured with tasks of almost no work (the exact optimum at N = 1)
_CLUSTER_START_SECONDS = 10.0  # measured 1.0 s idle, 6.6 s loaded (two workers)
_DASK_TASK_SECONDS = 0.01  # measured 5.7 to 7.3 ms (2000 tasks), 27 ms at load 11

#: A grid of at most this many seconds of estimated work (the sum of its tasks'
#: ``seconds()``) runs in the process that asks for it (:func:`grid_scheduler`; the
#: estimates are cautious: about four times the real time for the figures, so this is
#: about half a minute of work).
SMALL_GRID_SECONDS = 120.0
#: A grid with fewer tasks than this to compute runs in the process that asks for it.
SMALL_GRID_TASKS = 4


@dataclass(frozen=True)
class Estimate:
    """Resources of a job: peak memory in bytes and wall time in seconds.

    ``a + b`` is the estimate of running ``a`` then ``b``: the larger peak memory and the
    sum of the times.
    """

    what: str
    bytes: float
    seconds: float

    def __add__(self, other: Estimate) -> Estimate:
        return Estimate(self.what, max(self.bytes, other.bytes), self.seconds + other.seconds)

    def __str__(self) -> str:
        return (f"{self.what} needs about {format_bytes(self.bytes)} of memory and "
                f"{format_seconds(self.seconds)}")


def _finite(x) -> float:
    """``float(x)``, or inf for an integer too large for a float (sizes can be absurd)."""
    try:
        return float(x)
    except OverflowError:
        return math.inf


def _count(n) -> str:
    """``"65,536"``, or ``"1e+400"`` for absurd sizes (a message stays one short line)."""
    x = _finite(n)
    if not math.isfinite(x) or x >= 1e12:
        text = str(n)
        return f"{text[0]}.{text[1:3]}e+{len(text) - 1}" if isinstance(n, int) else f"{x:.3g}"
    return f"{x:,.0f}"


def format_bytes(n: float) -> str:
    """``"3.2 GB"``; decimal units.

    Parameters
    ----------
    n : float
        A number of bytes.

    Returns
    -------
    str
        The size, with three significant digits from kB on (``"an unbounded amount"``
        for inf or NaN).
    """
    if not math.isfinite(n):
        return "an unbounded amount"
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} PB"  # pragma: no cover


def format_seconds(s: float) -> str:
    """``"40 s"``, ``"12 min"``, ``"3.5 h"``, ``"20 days"``, ``"3e+04 years"``.

    Parameters
    ----------
    s : float
        A duration in seconds.

    Returns
    -------
    str
        The duration in the largest fitting unit (``"forever"`` for inf or NaN).
    """
    if not math.isfinite(s):
        return "forever"
    if s < 60:
        return f"{max(s, 0.1):.2g} s"
    if s < 3600:
        return f"{s / 60:.2g} min"
    if s < 86400 * 2:
        return f"{s / 3600:.2g} h"
    if s < 86400 * 365:
        return f"{s / 86400:.3g} days"
    years = s / (86400 * 365)
    return f"{years:.3g} years" if years < 1e4 else f"{years:.2g} years"


def _meminfo_available():
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return math.inf


def _cgroup_available():
    root = Path("/sys/fs/cgroup")
    try:
        limit = (root / "memory.max").read_text().strip()
        if limit == "max":
            return math.inf
        return float(limit) - float((root / "memory.current").read_text().strip())
    except (OSError, ValueError):
        return math.inf


def available_memory() -> float:
    """Bytes of memory a new job can use now (inf if the system does not say).

    Returns
    -------
    float
        The smaller of the available memory of the system and the limit of the process's
        control group, in bytes.
    """
    return min(_meminfo_available(), _cgroup_available())


def time_budget() -> float:
    """Seconds a job may take: ``SYMREP_TIME_BUDGET``, else :data:`DEFAULT_TIME_BUDGET`.

    Returns
    -------
    float
        The budget in seconds.

    Raises
    ------
    ValueError
        If ``SYMREP_TIME_BUDGET`` is set but is not a number of seconds > 0.
    """
    text = os.environ.get("SYMREP_TIME_BUDGET", "").strip()
    if not text:
        return DEFAULT_TIME_BUDGET
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value > 0:
        raise ValueError(f"SYMREP_TIME_BUDGET = {text!r} is invalid: it must be a number "
                         "of seconds > 0")
    return value


def check_resources(estimate: Estimate, *, force: bool = False) -> Estimate:
    """Raise :class:`~symrep.errors.TooLargeError` if ``estimate`` does not fit.

    Parameters
    ----------
    estimate : Estimate
    force : bool
        Skip the check.

    Returns
    -------
    Estimate
        The estimate, unchanged.
    """
    if force:
        return estimate
    memory = MEMORY_FRACTION * available_memory()
    budget = time_budget()
    over = []
    if estimate.bytes > memory:
        over.append(f"{format_bytes(memory)} of memory can be used "
                    f"({MEMORY_FRACTION:.0%} of what is available)")
    if estimate.seconds > budget:
        over.append(f"the time budget is {format_seconds(budget)} (SYMREP_TIME_BUDGET)")
    if over:
        raise TooLargeError(
            f"{estimate}, but {' and '.join(over)}: make the job smaller, or pass "
            "force=True (--force on the command line) to run it anyway",
            {"bytes": estimate.bytes, "seconds": estimate.seconds,
             "memory_limit": memory, "time_limit": budget})
    return estimate


# --- models of the jobs ------------------------------------------------------------------

def sweep_estimate(n_points, *, csv: bool = False, what=None) -> Estimate:
    """A sweep of ``n_points`` parameter points (and writing it as CSV).

    Parameters
    ----------
    n_points : int
        Number of parameter points.
    csv : bool, optional
        Include writing the result as CSV (default False).
    what : str, optional
        The job's name in messages (default: the number of points).

    Returns
    -------
    Estimate
        The estimated peak memory (bytes) and run time (seconds), with a description of
        the job.
    """
    n = _finite(n_points)
    per_byte = _SWEEP_BYTES + (_CSV_BYTES if csv else 0.0)
    per_second = _SWEEP_SECONDS + (_CSV_SECONDS if csv else 0.0)
    # the working memory is that of one chunk of at most 65,536 points
    working = _SWEEP_FIXED_BYTES * min(n, _SWEEP_CHUNK) / _SWEEP_CHUNK
    return Estimate(what or f"a sweep of {_count(n)} points", working + per_byte * n,
                    per_second * n)


def phase_diagram_estimate(n_alpha, n_beta) -> Estimate:
    """A phase diagram on an ``n_alpha`` x ``n_beta`` grid (the grid, its boundaries and
    the figure: about 50 bytes per point more than the sweep).

    Parameters
    ----------
    n_alpha, n_beta : int
        Number of values of alpha and beta.

    Returns
    -------
    Estimate
        The estimated peak memory (bytes) and run time (seconds), with a description of
        the job.
    """
    n = _finite(n_alpha) * _finite(n_beta)
    base = sweep_estimate(n)
    return Estimate(f"a {_count(n_alpha)} x {_count(n_beta)} phase diagram",
                    base.bytes + 50.0 * n, base.seconds * 1.2)


def data_estimate(P, N, batch=1, features=1) -> Estimate:
    """Drawing ``batch`` data sets of P samples in dimension N (:func:`sample_scm`) with
    ``features`` features (the N x M* matrix W0).

    Parameters
    ----------
    P : int
        Number of samples of each data set.
    N : int
        Input dimension.
    batch : int, optional
        Number of data sets (default 1).
    features : int, optional
        Number of features M* (default 1).

    Returns
    -------
    Estimate
        The estimated peak memory (bytes) and run time (seconds), with a description of
        the job.
    """
    size = _finite(P) * _finite(N) * _finite(batch)
    # the noise, the signal term and their sum exist at once, besides the features
    return Estimate(f"{_count(batch)} data set(s) of {_count(P)} x {_count(N)}",
                    3 * _FLOAT * size + _FLOAT * _finite(N) * _finite(features),
                    size / _NORMALS_PER_SECOND)


def training_estimate(B, N, P_total, method="lbfgs", max_iter=None) -> Estimate:
    """Training ``B`` models in dimension N on ``P_total`` samples in all.

    Parameters
    ----------
    B : int
        Number of models trained together.
    N : int
        Input dimension.
    P_total : int
        Number of samples of all the models together.
    method : {"lbfgs", "adam"}, optional
        The optimiser (default ``"lbfgs"``).
    max_iter : int, optional
        Largest number of iterations (default: the typical number of the method).

    Returns
    -------
    Estimate
        The estimated peak memory (bytes) and run time (seconds), with a description of
        the job.
    """
    B, Nf, P = _finite(B), _finite(N), _finite(P_total)
    iters = _TYPICAL_ITERATIONS.get(method, 300)
    fixed, per_run = _ITERATION_SECONDS.get(method, _ITERATION_SECONDS["lbfgs"])
    if max_iter is not None:
        iters = min(iters, _finite(max_iter))
    # data moments C (B x N x N), the data itself, and L-BFGS memory (20 vectors per run)
    memory = _FLOAT * (2 * B * Nf * Nf + P * Nf + 25 * B * 2 * Nf)
    seconds = ((2 * P * Nf * Nf + iters * 8 * B * Nf * Nf) / _FLOPS
               + iters * (fixed + B * per_run))
    return Estimate(f"training {_count(B)} model(s) with N = {_count(N)}", memory, seconds)


def grid_scheduler(n_tasks, work_seconds, scheduler=None, *, client=False) -> str:
    """Where :func:`symrep.grid.run_tasks` runs a grid: ``"serial"`` (this process),
    ``"local"`` (a LocalCluster started for it) or ``"client"`` (a running cluster).

    Parameters
    ----------
    n_tasks : int
        Tasks to compute.
    work_seconds : float
        Their estimated work, the sum of their ``seconds()``.
    scheduler : str, optional
        ``None`` (decide from the size), ``"serial"``, ``"local"`` or an address.
    client : bool, optional
        A ``distributed.Client`` was given (default False).

    Returns
    -------
    str
        ``"serial"`` for fewer than :data:`SMALL_GRID_TASKS` tasks or at most
        :data:`SMALL_GRID_SECONDS` of work when ``scheduler`` does not say; else
        ``"local"``.
    """
    if client:
        return "client"
    if scheduler == "serial":
        return "serial"
    if scheduler is not None:
        return "local" if scheduler == "local" else "client"
    if _finite(n_tasks) < SMALL_GRID_TASKS or _finite(work_seconds) <= SMALL_GRID_SECONDS:
        return "serial"
    return "local"


def grid_estimate(serial, n_tasks, work_seconds, scheduler=None, *, once=0.0,
                  workers=None) -> Estimate:
    """A grid of tasks on the scheduler that :func:`grid_scheduler` picks for it.

    Parameters
    ----------
    serial : Estimate
        The grid run in this process, one task after another (fixed costs included).
    n_tasks : int
        Its tasks.
    work_seconds : float
        The sum of its tasks' ``seconds()`` (what decides where it runs).
    scheduler : str, optional
        As for :func:`symrep.grid.run_tasks` (default None: decided from the size).
    once : float, optional
        Seconds of ``serial`` paid once per process (importing torch): once per worker,
        in parallel, on a cluster (default 0).
    workers : int, optional
        Worker processes of the cluster (default: this machine's cores; a remote cluster
        is assumed to have at least as many).

    Returns
    -------
    Estimate
        ``serial`` itself in this process; on a cluster, the start of a LocalCluster
        (``"local"``), a fixed time per task and the rest of the work shared among the
        workers.
    """
    where = grid_scheduler(n_tasks, work_seconds, scheduler)
    if where == "serial":
        return serial
    workers = max(1, workers or os.cpu_count() or 1)
    start = _CLUSTER_START_SECONDS if where == "local" else 0.0
    seconds = (start + _DASK_TASK_SECONDS * _finite(n_tasks)
               + max(serial.seconds - once, 0.0) / workers + once)
    on = "a local Dask cluster" if where == "local" else "a Dask cluster"
    return Estimate(f"{serial.what} on {on}", serial.bytes, seconds)


def simulation_estimate(N, alpha, seeds, method="exact", *, tasks=False,
                        start=True, scheduler=None) -> Estimate:
    """``simulate(N, alpha, ..., seeds, method)``: data, then the exact optimum or training.

    The exact optimum draws and solves one data set at a time; training holds every data
    set and its N x N moments at once.

    With ``tasks=True`` every data set is a grid task of its own (:func:`symrep.grid.
    run_tasks`, the way the command line runs them): each costs a fixed time and memory
    (its Task and record) besides its work, is trained alone (each L-BFGS or Adam
    iteration pays its overhead once per data set) and draws the initialisation of the
    whole batch of ``seeds`` runs to take its own row. ``start`` adds the import of
    torch for training (once per process). The grid is estimated on the scheduler that
    :func:`symrep.grid.run_tasks` will use for it (:func:`grid_estimate`: a Dask cluster
    costs its start and a fixed time per task).

    Parameters
    ----------
    N : int
        Input dimension.
    alpha : float
        Sample complexity; P = max(1, round(alpha N)).
    seeds : int
        Number of data sets.
    method : {"exact", "lbfgs", "adam"}, optional
        The exact optimum or training (default ``"exact"``).
    tasks : bool, optional
        Every data set a grid task of its own (default False).
    start : bool, optional
        Count the import of torch for training (default True).
    scheduler : str, optional
        With ``tasks``: where the grid runs, as for :func:`symrep.grid.run_tasks`
        (default None: decided from its size).

    Returns
    -------
    Estimate
        The estimated peak memory (bytes) and run time (seconds), with a description of
        the job.
    """
    Nf, seeds_f = _finite(N), _finite(seeds)
    P = max(1.0, round(_finite(alpha) * Nf)) if math.isfinite(Nf) else math.inf
    one = data_estimate(int(P) if math.isfinite(P) else P, N)
    draw = one.seconds * seeds_f
    what = (f"simulating {_count(seeds)} data set(s) with N = {_count(N)}, P = {_count(P)} "
            f"({method})")
    fixed = Estimate(what, _TASK_BYTES * seeds_f if tasks else 0.0,
                     _TASK_SECONDS * seeds_f if tasks else 0.0)
    if tasks and scheduler != "serial":  # where run_tasks will run them (Task.seconds)
        serial = simulation_estimate(N, alpha, seeds, method, tasks=True, start=start,
                                     scheduler="serial")
        work = seeds_f * simulation_estimate(N, alpha, 1, method).seconds
        return grid_estimate(serial, seeds_f, work, scheduler,
                             once=_TORCH_SECONDS if method != "exact" and start else 0.0)
    if method == "exact":
        # S = X^T X / P and a dense eigensolver up to N = 1200, Lanczos on X beyond
        flops = 2 * P * Nf * Nf + 4 * Nf**3 if Nf <= 1200 else 1200 * P * Nf
        memory = one.bytes + (3 * _FLOAT * Nf * Nf if Nf <= 1200 else 70 * _FLOAT * Nf)
        return Estimate(what, memory + fixed.bytes, draw + seeds_f * flops / _FLOPS
                        + fixed.seconds)
    torch = _TORCH_SECONDS if start else 0.0
    if tasks:  # one run per task, each drawing the batch's initialisation (2 N per run)
        train = training_estimate(1, N, P, method)
        init = seeds_f * 2 * Nf / _NORMALS_PER_SECOND
        return Estimate(what, one.bytes + train.bytes + _FLOAT * 2 * Nf * seeds_f
                        + fixed.bytes,
                        draw + seeds_f * (train.seconds + init) + fixed.seconds + torch)
    train = training_estimate(seeds, N, P * seeds_f, method)
    return Estimate(what, one.bytes + _FLOAT * P * Nf * seeds_f + train.bytes,
                    draw + train.seconds + torch)


def simulations_estimate(runs, N, seeds, methods=("exact",), what=None, *,
                         tasks=False, scheduler=None) -> Estimate:
    """Many :func:`~symrep.simulate.simulate` calls, one after another.

    Parameters
    ----------
    runs : iterable of float
        The alpha of every simulated parameter point.
    N, seeds : int
        Size of every run.
    methods : sequence of str
        Every point is simulated with each method.
    what : str, optional
        The job's name in messages.
    tasks : bool
        Every data set a grid task (see :func:`simulation_estimate`), all of them one
        grid.
    scheduler : str, optional
        With ``tasks``: where the grid runs, as for :func:`symrep.grid.run_tasks`
        (default None: decided from its size; see :func:`grid_estimate`).

    Returns
    -------
    Estimate
        The estimated peak memory (bytes) and run time (seconds), with a description of
        the job.
    """
    alphas = list(runs)
    total = Estimate(what or f"{_count(len(alphas) * len(methods))} simulations with "
                     f"N = {_count(N)}, {_count(seeds)} seed(s)", 0.0, 0.0)
    held = 0.0  # the tasks of every point are made before the first runs
    work, torch = 0.0, 0.0  # the tasks' seconds(), which decide where the grid runs
    for k, alpha in enumerate(alphas):
        for method in methods:
            one = simulation_estimate(N, alpha, seeds, method, tasks=tasks, start=k == 0,
                                      scheduler="serial")
            total = total + one
            held += _TASK_BYTES * _finite(seeds) if tasks else 0.0
            work += _finite(seeds) * simulation_estimate(N, alpha, 1, method).seconds
            torch = _TORCH_SECONDS if method != "exact" else torch
    total = Estimate(total.what, total.bytes + held, total.seconds)
    if not tasks:
        return total
    return grid_estimate(total, len(alphas) * len(methods) * _finite(seeds), work,
                         scheduler, once=torch)
