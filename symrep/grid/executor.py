"""Run a list of tasks: in this process, on a local Dask cluster, or on an existing one.

:func:`run_tasks` is the one way symrep runs a simulation grid. Where it runs:

- in this process when the grid is small: fewer than :data:`SMALL_GRID_TASKS` tasks to
  compute, or an estimated :data:`SMALL_GRID_SECONDS` of work or less (starting worker
  processes costs seconds);
- otherwise on a ``dask.distributed.LocalCluster`` started for the call: one worker
  process per core, one thread each;
- on an existing cluster with ``scheduler="tcp://host:8786"`` (or a
  ``distributed.Client`` as ``client``): see ``docs/cluster.md``.

``scheduler="serial"`` and ``scheduler="local"`` force the first two. Results are
gathered as they finish (``distributed.as_completed``) and, with a ``store``, written at
once (:class:`~symrep.grid.store.GridStore`); a rerun with the same store computes only
what is missing. The tasks are pure (:func:`~symrep.grid.tasks.run_task`; the batches of
VAEs of :class:`symrep.realdata.grid.RealDataTask` too), so Dask may
run a task again on another worker when one dies, and every way of running gives the
same numbers.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import sys
import threading
import time
from contextlib import ExitStack, closing, contextmanager

from symrep.grid.tasks import Task
from symrep.resources import SMALL_GRID_SECONDS, SMALL_GRID_TASKS, grid_scheduler

__all__ = ["run_tasks", "run_groups", "open_client", "GridResults", "estimate_seconds",
           "SMALL_GRID_SECONDS", "SMALL_GRID_TASKS", "SCHEDULERS"]

logger = logging.getLogger("symrep.grid")

# A grid with at most SMALL_GRID_SECONDS of estimated work, or fewer than SMALL_GRID_TASKS
# tasks, runs in this process: symrep.resources.grid_scheduler decides (and the estimate
# of a job counts the scheduler it will run on).

#: Named choices of ``scheduler`` (besides an address such as ``tcp://host:8786``).
SCHEDULERS = ("serial", "local")
_PROTOCOLS = ("tcp://", "tls://", "ucx://", "inproc://", "ws://", "wss://")


class GridResults(list):
    """The records of :func:`run_tasks`, in task order, with what the run did.

    Attributes
    ----------
    total : int
        Distinct tasks in the grid.
    computed : int
        Tasks computed by this run.
    found : int
        Tasks found done in the store (not computed again).
    where : str
        ``"serial"``, ``"local"`` (a LocalCluster started for the run), ``"client"``
        (the given client or scheduler) or ``"store"`` (nothing to compute).
    """

    def __init__(self, records, *, total, computed, found, where):
        super().__init__(records)
        self.total, self.computed, self.found, self.where = total, computed, found, where


def check_scheduler(scheduler):
    """``None``, ``"serial"``, ``"local"`` or a scheduler address; else ValueError.

    Parameters
    ----------
    scheduler : str or None
        None (the default of the caller), ``"serial"``, ``"local"`` or the address of a
        Dask scheduler (``tcp://``, ``tls://``, ``ucx://``, ``inproc://``, ``ws://``,
        ``wss://`` followed by a host).

    Returns
    -------
    str or None
        ``scheduler``, unchanged.

    Raises
    ------
    ValueError
        If ``scheduler`` is none of these.
    """
    if scheduler is None or scheduler in SCHEDULERS:
        return scheduler
    if isinstance(scheduler, str) and scheduler.startswith(_PROTOCOLS) and len(
            scheduler.split("://", 1)[1]) > 0:
        return scheduler
    raise ValueError(f"scheduler = {scheduler!r} is invalid: must be 'serial', 'local' or "
                     "the address of a Dask scheduler such as 'tcp://host:8786'")


def estimate_seconds(tasks):
    """Estimated run time of the tasks one after another (each task's ``seconds()``).

    Parameters
    ----------
    tasks : iterable of Task
        The tasks.

    Returns
    -------
    float
        The sum of their estimated run times, in seconds.
    """
    return sum(t.seconds() for t in tasks)


@contextmanager
def open_client(scheduler=None, *, workers=None):
    """A ``distributed.Client``: of a new LocalCluster, or connected to ``scheduler``.

    Parameters
    ----------
    scheduler : str, optional
        None or ``"local"``: start a LocalCluster of ``workers`` processes (default: the
        number of cores), one thread each, closed on exit; an address
        (``"tcp://host:8786"``): connect to that scheduler.
    workers : int, optional
        Worker processes of the LocalCluster.

    Yields
    ------
    distributed.Client
    """
    from distributed import Client, LocalCluster

    from symrep.io import interrupts_deferred

    scheduler = check_scheduler(scheduler)
    if scheduler == "serial":
        raise ValueError("scheduler = 'serial' is invalid here: a client needs a cluster")
    with ExitStack() as stack:
        if scheduler in (None, "local"):
            n = (os.cpu_count() or 1) if workers is None else workers
            stack.enter_context(_worker_environment())
            import dask

            # Ctrl-C reaches this process, not the workers: SIGINT blocked in the threads
            # that start them (a mask is inherited), then ignored in each (a preload)
            preload = [*(dask.config.get("distributed.worker.preload", None) or []),
                       "symrep.grid._worker_setup"]
            # and a Ctrl-C while the cluster starts takes effect once it can be closed
            with interrupts_deferred(), _sigint_blocked():
                cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", silence_logs=logging.CRITICAL,
                                       preload=preload)
                stack.callback(_close_deferring_sigint, cluster)
                client = Client(cluster)
                stack.callback(_close_deferring_sigint, client)
        else:
            client = stack.enter_context(Client(scheduler))
        yield client


@contextmanager
def _sigint_blocked():
    """SIGINT blocked in this thread meanwhile, so in every thread started here and in
    every process those threads start (a signal mask is inherited by both).

    A LocalCluster starts its event loop and the threads that spawn its worker processes
    here: with SIGINT blocked there, a Ctrl-C at the terminal, which the system sends to
    every process of the foreground group, reaches this process only. Its main thread
    gets the KeyboardInterrupt (a Ctrl-C meanwhile is delivered when the block ends)
    and closes the cluster, which stops the workers; before, every worker died of it
    with a traceback of its own, and some outlived the command.
    """
    if (threading.current_thread() is not threading.main_thread()
            or not hasattr(signal, "pthread_sigmask")):  # pragma: no cover
        yield
        return
    # multiprocessing starts its resource tracker in the first thread that makes a lock,
    # and then unblocks SIGINT in that thread (the cluster's event loop, whose threads
    # start the workers): started here and now, it is not started again
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _close_deferring_sigint(closable):
    """Close a client or cluster; a Ctrl-C meanwhile takes effect once it is closed (a
    second Ctrl-C while the first one stops the run would leave workers behind)."""
    from symrep.io import interrupts_deferred

    with interrupts_deferred():
        closable.close()


#: Dask's default for the workers it starts (``distributed.nanny.pre-spawn-environ``).
_DASK_TRIM_THRESHOLD = 65536


@contextmanager
def _worker_environment():
    """Worker processes of a LocalCluster with glibc's own malloc thresholds, and this
    process's environment as it was once the cluster is closed.

    Dask starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536`` (memory handed back to
    the system early); a fixed threshold also switches off glibc's adaptive mmap
    threshold, and every tensor above 128 KiB is then mapped and unmapped afresh, which
    slows the training of VAEs in such a worker markedly (``docs/benchmarks.md``,
    "Real-data training"). Left to a user who configured
    another value or set the variable. Dask's nannies write the workers' variables
    (``distributed.nanny.pre-spawn-environ``) into this process's environment, where
    later child processes would inherit them: they are put back on exit.
    """
    import dask
    import distributed  # noqa: F401  (its configuration defaults)

    key = "distributed.nanny.pre-spawn-environ"
    names = [*dask.config.get(key, {}), "PYTHONHASHSEED"]
    before = {name: os.environ.get(name) for name in names}
    trim = f"{key}.MALLOC_TRIM_THRESHOLD_"
    override = ({trim: None} if dask.config.get(trim, None) == _DASK_TRIM_THRESHOLD
                and before.get("MALLOC_TRIM_THRESHOLD_") is None else {})
    try:
        with dask.config.set(override):
            yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _task_key(task):
    return "symrep-task-" + hashlib.sha1(repr(task.key()).encode()).hexdigest()


def _where(pending, client, scheduler):
    if client is not None or scheduler is not None or len(pending) < SMALL_GRID_TASKS:
        return grid_scheduler(len(pending), 0.0, scheduler, client=client is not None)
    return grid_scheduler(len(pending), estimate_seconds(pending))  # the tasks' seconds()


def _computed(pending, where, client, scheduler, log):
    """Yield (task, record) as the tasks finish."""
    if not pending:
        return
    if where == "serial":
        for task in pending:
            yield task, task.run()
        return
    from distributed import as_completed

    with ExitStack() as stack:
        if client is None:
            client = stack.enter_context(open_client(scheduler))
        link = getattr(client, "dashboard_link", None)
        log(f"{len(pending)} tasks on {client.scheduler.address}"
            + (f"; dashboard {link}" if link else ""))
        futures = client.map(_run, pending, key=[_task_key(t) for t in pending],
                             pure=False)
        owner = {f.key: t for f, t in zip(futures, pending, strict=True)}
        try:
            for future, record in as_completed(futures, with_results=True):
                yield owner[future.key], record
        finally:  # stopped early (an error, Ctrl-C): nothing keeps running for us
            client.cancel(futures)


def _run(task):
    return task.run()


def _check_tasks(tasks):
    """The tasks as a list, and their kind: all symrep.grid.Task, or all of one other kind
    of grid task (symrep.realdata.RealDataTask), which has ``run``, ``key``, ``seconds``
    and ``open_store`` as Task has them."""
    tasks = list(tasks)
    kind = type(tasks[0]) if tasks else Task
    for k, t in enumerate(tasks):
        if type(t) is not kind or not all(callable(getattr(t, name, None)) for name in
                                          ("run", "key", "seconds", "open_store")):
            raise ValueError(f"tasks[{k}] = {t!r} is invalid: expected a symrep.grid.Task "
                             "(or a grid task of one kind, such as "
                             "symrep.realdata.RealDataTask, for every task)")
    return tasks, kind


def run_tasks(tasks, *, store=None, client=None, scheduler=None, progress=None, log=None,
              settings=None):
    """Run every task once; the records in task order.

    Parameters
    ----------
    tasks : sequence of Task
        The grid (a task listed twice is computed once); or tasks of one other kind
        with the same methods ``run``, ``key``, ``seconds`` and ``open_store``
        (:class:`symrep.realdata.grid.RealDataTask`).
    store : str or path, optional
        A Zarr store (:class:`~symrep.grid.store.GridStore`, or the store of the tasks'
        kind): tasks done there are read, not computed; every computed task is written
        as soon as it finishes.
    client : distributed.Client, optional
        Run on this client's cluster.
    scheduler : str, optional
        ``"tcp://host:8786"``: run on that Dask scheduler; ``"local"``: on a new
        LocalCluster; ``"serial"``: in this process. Default: in this process for a small
        grid (see :data:`SMALL_GRID_TASKS`, :data:`SMALL_GRID_SECONDS`), else a
        LocalCluster.
    progress : bool or callable, optional
        A tqdm bar over the tasks (default: when stderr is a terminal); a callable is
        called as ``progress(task, record)`` after each finished task instead (an
        exception it raises, KeyboardInterrupt included, stops the run; the store keeps
        what was written).
    log : callable, optional
        Gets the lines of the run (where it runs, the dashboard, ``"computed K of T
        tasks ..."`` at the end, also when the run stops early); default: the logger
        ``"symrep.grid"`` at INFO level.
    settings : dict, optional
        What defines the grid beyond its tasks, kept in the store; a store written with
        other settings is refused.

    Returns
    -------
    GridResults
        A list of ``name -> float`` dicts (see :func:`~symrep.grid.tasks.run_task`; the
        matrix observables as arrays, and ``phases``, for a task of several units or
        features; for another kind of task its ``run()``), with the counts ``total``,
        ``computed`` and ``found``.

    Raises
    ------
    ValueError
        For a task that is not a :class:`Task`, both ``client`` and ``scheduler``, an
        invalid ``scheduler``, or a ``store`` that is not a grid store, holds another
        grid, or has no room for a task's units and features.
    symrep.errors.SolverError
        If a task failed (the finished ones are in the store).
    """
    tasks, kind = _check_tasks(tasks)
    scheduler = check_scheduler(scheduler)
    if client is not None and scheduler is not None:
        raise ValueError("scheduler is invalid together with client: give one of them")
    log = log or logger.info
    unique = list(dict.fromkeys(tasks))
    grid = None
    if store is not None:  # GridStore, or the store of the tasks' kind
        grid = kind.open_store(store, unique, settings)
    records = grid.finished(unique) if grid is not None else {}
    found = len(records)
    pending = [t for t in unique if t not in records]
    where = _where(pending, client, scheduler) if pending else "store"
    callback = progress if callable(progress) else None
    show = sys.stderr.isatty() if progress is None else (progress is True)
    bar = None
    if show and pending:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(pending), desc="tasks", unit="task", leave=False)
    computed, start = 0, time.perf_counter()
    try:
        with closing(_computed(pending, where, client, scheduler, log)) as results:
            for task, record in results:
                if grid is not None:
                    grid.write(task, record)
                records[task] = record
                computed += 1
                if bar is not None:
                    bar.update()
                if callback is not None:
                    callback(task, record)
    finally:
        if bar is not None:
            bar.close()
        stopped = "" if computed == len(pending) else ", stopped early"
        log(f"computed {computed} of {len(unique)} tasks ({found} found in the store; "
            f"{where}{stopped}, {time.perf_counter() - start:.1f} s)")
    return GridResults([records[t] for t in tasks], total=len(unique), computed=computed,
                       found=found, where=where)


def run_groups(groups, *, on_group=None, **run_options):
    """Run the tasks of several groups as one grid; the records of each group.

    The studies that summarise several data sets per point (seeds at each (point, N))
    hand all their tasks to :func:`run_tasks` at once and report a point when the last
    of its data sets is finished, computed or found in the store.

    Parameters
    ----------
    groups : dict
        ``label -> sequence of Task``; a task may belong to several groups.
    on_group : callable, optional
        Called as ``on_group(label)`` once per group, when its last task is finished.
    **run_options
        ``store``, ``client``, ``scheduler``, ``log``, ``settings`` of :func:`run_tasks`.

    Returns
    -------
    dict
        ``label -> list of records``, in the order of the group's tasks.
    """
    tasks = [t for label in groups for t in groups[label]]
    waiting = {label: len(groups[label]) for label in groups}
    owners = {}
    for label in groups:
        for t in groups[label]:
            owners.setdefault(t, []).append(label)
    finished = set()

    def one_done(task, record):
        if task in finished:
            return
        finished.add(task)
        for label in owners[task]:
            waiting[label] -= 1
            if waiting[label] == 0 and on_group is not None:
                on_group(label)

    records = run_tasks(tasks, progress=one_done, **run_options)
    for task in tasks:  # found in the store: run_tasks reports only what it computes
        one_done(task, None)
    by_task = dict(zip(tasks, records, strict=True))
    return {label: [by_task[t] for t in groups[label]] for label in groups}
