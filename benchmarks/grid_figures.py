"""The simulation grid of ``symrep figures`` serially and on a 2-worker LocalCluster.

Collects the tasks of every figure (one :class:`symrep.grid.Task` per data set), runs
them one by one in this process (timing each task), then on a LocalCluster of two
worker processes with one thread each, checks that both give the same numbers bit for
bit, and projects the time on a cluster of k workers from the measured task times:
T_k = total / k + longest + tasks x overhead, with the overhead per task the scheduler's
time for a task that does nothing.

Usage::

    python benchmarks/grid_figures.py [--size quick|full] [--markdown docs/benchmarks.md]

The full size (N = 1000, 5 seeds) takes about 13 minutes serially on two cores, the
quick one (N = 300, 2 seeds) about a minute.
"""

from __future__ import annotations

import argparse
import logging
import platform
import re
import time
from pathlib import Path

import symrep.grid
from symrep.figures import FIGURES
from symrep.figures.core import SIZES
from symrep.grid import open_client, run_task, run_tasks


class _Collected(Exception):
    pass


def figure_tasks(size):
    """Every task of every figure, in order (a figure is stopped once its tasks are in)."""
    tasks = []

    def collect(grid_tasks, **kwargs):
        tasks.extend(grid_tasks)
        raise _Collected

    real = symrep.grid.run_tasks
    symrep.grid.run_tasks = collect
    try:
        for spec in FIGURES.values():
            try:
                spec.load()(size, progress=False)
            except _Collected:
                pass
    finally:
        symrep.grid.run_tasks = real
    return list(dict.fromkeys(tasks))


def _noop(x):
    return x


def measure(size_name="quick"):
    size = SIZES[size_name]
    tasks = figure_tasks(size)
    times, serial = [], []
    start = time.perf_counter()
    for task in tasks:
        t0 = time.perf_counter()
        serial.append(run_task(task))
        times.append(time.perf_counter() - t0)
    serial_wall = time.perf_counter() - start
    t0 = time.perf_counter()
    with open_client("local", workers=2) as client:
        startup = time.perf_counter() - t0
        client.run(run_task, tasks[0])  # workers import symrep before the timing
        t0 = time.perf_counter()
        distributed = run_tasks(tasks, client=client, progress=False)
        cluster_wall = time.perf_counter() - t0
        n = 400
        t0 = time.perf_counter()
        client.gather(client.map(_noop, range(n), pure=False))
        overhead = (time.perf_counter() - t0) / n
    assert list(distributed) == serial, "the cluster's numbers differ from the serial ones"
    total, longest = sum(times), max(times)
    return dict(size=size_name, N=size.N, seeds=size.seeds, tasks=len(tasks),
                serial=serial_wall, cluster=cluster_wall, startup=startup, total=total,
                longest=longest, mean=total / len(tasks), overhead=overhead)


def report(r):
    lines = [
        f"`symrep figures` simulation grid, {r['size']} size (N = {r['N']}, {r['seeds']} "
        f"seeds): {r['tasks']} tasks; {platform.processor() or platform.machine()}, "
        "2 cores shared.",
        "",
        "| run | wall time (s) |",
        "|---|---|",
        f"| serial, one process (one BLAS thread per task) | {r['serial']:.1f} |",
        f"| LocalCluster, 2 workers x 1 thread | {r['cluster']:.1f} "
        f"(ratio {r['serial'] / r['cluster']:.2f}x; start-up {r['startup']:.1f} s more) |",
        "",
        f"Task times: total {r['total']:.1f} s, mean {r['mean'] * 1e3:.0f} ms, longest "
        f"{r['longest']:.2f} s; scheduler overhead {r['overhead'] * 1e3:.1f} ms per task "
        "(a task that does nothing). Both runs give the same numbers bit for bit.",
        "",
        "Projected wall time on k workers, T_k = total / k + longest + tasks x overhead:",
        "",
        "| k | T_k (s) | speed-up over serial |",
        "|---|---|---|",
    ]
    for k in (1, 2, 4, 8, 16, 32, 64):
        t = r["total"] / k + r["longest"] + r["tasks"] * r["overhead"]
        lines.append(f"| {k} | {t:.1f} | {r['total'] / t:.1f}x |")
    return "\n".join(lines)


def write_section(path, text, name="grid_figures"):
    doc = Path(path).read_text()
    begin, end = f"<!-- {name}: begin -->", f"<!-- {name}: end -->"
    block = f"{begin}\n{text}\n{end}"
    if begin in doc:
        doc = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda m: block, doc,
                     flags=re.S)
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    from symrep.io import atomic_write_text

    atomic_write_text(path, doc)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("quick", "full"), default="quick")
    parser.add_argument("--markdown", default=None, help="write the table into this file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    text = report(measure(args.size))
    print(text)
    if args.markdown:
        write_section(args.markdown, text)


if __name__ == "__main__":
    main()
