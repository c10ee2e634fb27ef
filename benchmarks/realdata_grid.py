"""The batches of ``symrep realdata`` in one process and on a 2-worker LocalCluster.

Runs the full digits experiment (``SETTINGS["full"]``: alphas 1, 4, 16 that fit the
pool, 28 betas, 5 seeds; 15 batches of MLP VAEs trained by Adam and 15 of linear VAEs at
their exact optimum, 840 VAEs) three times, each into a fresh store, in one run:

1. serially, in this process;
2. on a LocalCluster of two worker processes with one thread each, its workers started
   as symrep starts them (glibc's adaptive malloc thresholds);
3. the same with Dask's own worker environment (``MALLOC_TRIM_THRESHOLD_=65536``), to
   show what that setting costs torch training;

and checks that the three give the same runs bit for bit. Prints a Markdown table
(``--markdown FILE`` writes it between the markers of its section). About 25 minutes on
two cores.

Usage::

    python benchmarks/realdata_grid.py [--markdown docs/benchmarks.md] [--skip-default]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import platform
import tempfile
import time
import warnings
from pathlib import Path

import symrep.grid.executor as executor
from symrep.realdata.experiment import SETTINGS, run_experiment


def _timed(scheduler, store, dask_default=False):
    original = executor._worker_environment
    if dask_default:  # Dask's worker environment as it comes
        executor._worker_environment = contextlib.nullcontext
    try:
        start = time.perf_counter()
        result = run_experiment("digits", settings=SETTINGS["full"], store=store,
                                scheduler=scheduler)
        return time.perf_counter() - start, result
    finally:
        executor._worker_environment = original


def measure(skip_default=False):
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        runs = [("serial, one process (one torch thread)", "serial", False),
                ("LocalCluster, 2 workers x 1 thread (symrep's worker environment)",
                 "local", False)]
        if not skip_default:
            runs.append(("the same with Dask's worker environment "
                         "(MALLOC_TRIM_THRESHOLD_=65536)", "local", True))
        for k, (label, scheduler, default) in enumerate(runs):
            seconds, result = _timed(scheduler, Path(tmp) / f"{k}.zarr", default)
            rows.append((label, seconds, result))
    return rows


def report(rows):
    serial_seconds, serial = rows[0][1], rows[0][2]
    same = all(r[2].runs == serial.runs for r in rows[1:])
    lines = [f"`symrep realdata --dataset digits` (full settings): {len(serial.runs)} VAEs "
             f"in {serial.notes['grid'].split(' ')[2]} batches; {platform.machine()}, "
             "2 cores.", "",
             "| run | wall time (s) | against serial |", "|---|---:|---:|"]
    for label, seconds, _ in rows:
        lines.append(f"| {label} | {seconds:.1f} | {serial_seconds / seconds:.2f}x |")
    lines += ["", f"Every run gives the same runs bit for bit: {same}."]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", default=None, help="write the table into this file")
    parser.add_argument("--skip-default", action="store_true",
                        help="leave out the run with Dask's worker environment")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    warnings.simplefilter("ignore")
    text = report(measure(args.skip_default))
    print(text)
    if args.markdown:
        from grid_figures import write_section

        write_section(args.markdown, text, name="realdata_grid")


if __name__ == "__main__":
    main()
