"""Measure the constants of the cost model (symrep.resources) on this machine.

Each quantity is the minimum over a few repeats (the machine may be loaded by other
work: the minimum is the cost of the work itself). Prints one line per constant; the
recorded values are in docs/benchmarks.md ("Cost model: the constants of
symrep.resources"). About four minutes on two cores.

    .venv/bin/python benchmarks/cost_model.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

PY = sys.executable
SYMREP = str(Path(PY).with_name("symrep"))


def best(fn, repeats):
    """Minimum wall time of ``fn()`` over ``repeats`` calls, and its last value."""
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return min(times), value


def command(*argv):
    return lambda: subprocess.run(argv, capture_output=True, check=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    r = parser.parse_args().repeats
    env_out = []

    def show(name, value, unit, how):
        line = f"{name:<34} {value:>12.4g} {unit:<8} {how}"
        env_out.append(line)
        print(line, flush=True)

    # process start-up
    t_pass, _ = best(command(PY, "-c", "pass"), r + 2)
    show("python -c pass", t_pass, "s", "fresh interpreter")
    t_help, _ = best(command(SYMREP, "--help"), r + 2)
    limit = 1.5 * t_pass + 0.1  # the criterion of a fast help: 1.5 x python + 0.1 s
    show("symrep --help", t_help, "s", f"ratio {t_help / t_pass:.2f}; criterion "
         f"1.5 x python + 0.1 s = {limit:.3f} s {'holds' if t_help <= limit else 'FAILS'}")
    t_np, _ = best(command(PY, "-c", "import numpy"), r)
    show("import numpy", t_np - t_pass, "s", "beyond python -c pass")
    t_torch, _ = best(command(PY, "-c", "import torch"), r)
    show("import torch", t_torch - t_pass, "s", "beyond python -c pass")
    t_solve, _ = best(command(SYMREP, "solve", "--alpha", "1", "--beta", "0.5", "--lam",
                              "1"), r)
    show("symrep solve (process)", t_solve, "s", "one point, fresh process")

    # grid tasks: the exact optimum at N = 1 (fixed cost of a task), in this process
    from symrep.grid import Task, run_tasks

    def exact_tasks(n, offset=[0]):  # noqa: B006 - fresh seeds every repeat
        offset[0] += n
        tasks = [Task(alpha=1.0, beta=0.5, lam=1.0, N=1, seed=offset[0] + k)
                 for k in range(n)]
        run_tasks(tasks, scheduler="serial", progress=False, log=lambda line: None)

    exact_tasks(20)
    t, _ = best(lambda: exact_tasks(400), r)
    show("exact task, N = 1", t / 400, "s/task", "400 tasks, run_tasks serial")
    exact_tasks_n = lambda n: [Task(alpha=1.0, beta=0.5, lam=1.0, N=1, seed=k)  # noqa: E731
                               for k in range(n)]
    t, _ = best(lambda: exact_tasks_n(2000), r)
    show("making a Task", t / 2000, "s/task", "2000 Task objects")
    tracemalloc.start()
    tasks = exact_tasks_n(2000)
    records = run_tasks(tasks, scheduler="serial", progress=False, log=lambda line: None)
    size, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    show("memory of a task and its record", size / 2000, "bytes", "tracemalloc, 2000")
    del tasks, records

    # training at N = 1: iterations and time per iteration (one task)
    for method, alpha in (("lbfgs", 1.0), ("adam", 1.0), ("adam", 1e-6)):
        def one(method=method, alpha=alpha):
            (rec,) = run_tasks([Task(alpha=alpha, beta=0.5, lam=1.0, N=1, seed=0,
                                     method=method)], scheduler="serial", progress=False,
                               log=lambda line: None)
            return rec["n_iter"]

        one()
        t, n_iter = best(one, r)
        show(f"{method} task, N = 1, alpha = {alpha:g}", t, "s", f"{n_iter:.0f} iterations, "
             f"{t / max(n_iter, 1) * 1e6:.0f} us each")

    # the sweep per point, and CSV per point
    import numpy as np

    import symrep
    from symrep.solvers import sweep_table

    alpha = np.linspace(0.1, 5, 256)
    beta = np.linspace(0.05, 3, 256)
    symrep.sweep(alpha[:8], beta[:8], 1.0, progress=False)
    t, res = best(lambda: symrep.sweep(alpha, beta, 1.0, progress=False), max(1, r - 1))
    show("sweep point", t / alpha.size / beta.size, "s/point", "256 x 256 grid")
    with tempfile.TemporaryDirectory() as tmp:
        t, _ = best(lambda: sweep_table(res).to_csv(os.path.join(tmp, "s.csv"),
                                                    index=False), r)
        show("CSV point", t / alpha.size / beta.size, "s/point", "sweep_table + to_csv")

    # a local Dask cluster: start-up
    from symrep.grid.executor import open_client

    def start():
        with open_client("local"):
            pass

    t_start, _ = best(start, 2)
    show("LocalCluster start and close", t_start, "s", f"{os.cpu_count()} workers")

    # a grid task on Dask: tiny tasks (the exact optimum at N = 1), so that the time is
    # the scheduler's own per task; with the cluster's start-up (run_tasks, "local") and
    # on a cluster already running (a client, as for a remote scheduler)
    n_dask = 2000

    def on_dask(n, offset=[10**6], **where):  # noqa: B006 - fresh seeds, fresh keys
        offset[0] += n
        tasks = [Task(alpha=1.0, beta=0.5, lam=1.0, N=1, seed=offset[0] + k)
                 for k in range(n)]
        run_tasks(tasks, progress=False, log=lambda line: None, **where)

    t, _ = best(lambda: on_dask(n_dask, scheduler="local"), 2)
    show("grid task on a LocalCluster", (t - t_start) / n_dask, "s/task",
         f"{n_dask} tasks, run_tasks 'local', less the start-up")
    with open_client("local") as client:
        on_dask(100, client=client)
        t, _ = best(lambda: on_dask(n_dask, client=client), r)
    show("grid task on a running cluster", t / n_dask, "s/task",
         f"{n_dask} tasks, run_tasks with a client")


if __name__ == "__main__":
    main()
