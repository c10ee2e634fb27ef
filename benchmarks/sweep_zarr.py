"""Theory grids beyond memory: a 5-parameter sweep streamed to Zarr, time and peak memory.

:func:`symrep.solvers.sweep_lazy.sweep_to_zarr` solves the grid block by block on a Dask
scheduler with two workers and writes every block to a Zarr store as it finishes. Each
run is a fresh process; a thread samples, every 0.1 s, the resident memory (RSS) of that
process and of all its child processes (the workers of a process-based scheduler), and
the peak of their sum is reported, together with the largest ``ru_maxrss`` of the
process itself and of its children (``resource.getrusage``).

The grid, of ``P`` points: alpha log-spaced over [0.2, 5] and beta over [0.1, 3] (their
product ``P / 10^4``, alpha the longer), lam over [0.05, 2], rho over [0.5, 3] (10 each),
eta over [0.5, 2] (100 values, the innermost dimension: curves of 100 points along
which the solver continues). Blocks of ``--chunk-size`` points (16,384 by default:
blocks of 1 x 1 x 10 x 10 x 100 = 10^4 points), ``errors="mask"``.

Schedulers: ``threads`` (Dask's thread pool, 2 threads), ``processes`` (Dask's
multiprocessing pool, 2 processes) and ``distributed`` (a ``distributed.LocalCluster``
of 2 worker processes with one thread each).

Usage::

    python benchmarks/sweep_zarr.py --points 1e5 1e6 --schedulers threads processes \\
        distributed [--chunk-size 16384] [--json OUT] [--no-write]

The results are printed and written into ``docs/benchmarks.md`` (between the markers of
its section; runs of earlier invocations are kept unless the same points, scheduler and chunk size
are measured again).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BEGIN, END = "<!-- sweep_zarr: begin -->", "<!-- sweep_zarr: end -->"
DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
WORKERS = 2


def grid(points):
    """The 5-parameter grid of ``points`` points (a multiple of 10^4)."""
    import numpy as np

    outer = int(round(points / 10**4))
    if outer < 1 or outer * 10**4 != int(points):
        raise ValueError(f"points = {points!r} is invalid: must be a multiple of 10^4")
    n_beta = max(d for d in range(1, int(math.isqrt(outer)) + 1) if outer % d == 0)
    n_alpha = outer // n_beta
    return dict(alpha=np.geomspace(0.2, 5, n_alpha), beta=np.geomspace(0.1, 3, n_beta),
                lam=np.geomspace(0.05, 2, 10), rho=np.geomspace(0.5, 3, 10),
                eta=np.geomspace(0.5, 2, 100))


class PeakMemory:
    """Samples the RSS of this process plus all its descendants in a thread."""

    def __init__(self, interval=0.1):
        import psutil

        self._proc = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self.peak_total = 0
        self.peak_self = 0
        self._cpu = {}  # last CPU time (user + system) seen per process
        self._cpu_start = sum(self._proc.cpu_times()[:2])
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self):
        import psutil

        own = self._proc.memory_info().rss
        total = own
        self._cpu[self._proc.pid] = sum(self._proc.cpu_times()[:2])
        for child in self._proc.children(recursive=True):
            try:
                total += child.memory_info().rss
                self._cpu[child.pid] = sum(child.cpu_times()[:2])
            except psutil.Error:  # ended between listing and reading
                pass
        self.peak_self = max(self.peak_self, own)
        self.peak_total = max(self.peak_total, total)

    def _run(self):
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self._interval)

    @property
    def cpu_seconds(self):
        """CPU time of the process and its descendants while sampled (a process that
        ended loses at most its last interval)."""
        return sum(self._cpu.values()) - self._cpu_start

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()


def run_one(points, scheduler, chunk_size, store):
    """One measurement, in this process: returns a dict of results."""
    import resource

    import dask
    import numpy as np
    import xarray as xr

    from symrep.solvers.sweep_lazy import sweep_to_zarr

    params = grid(points)
    shape = tuple(len(v) for v in params.values())
    cluster = client = None
    with PeakMemory() as mem:
        start = time.perf_counter()
        if scheduler == "distributed":
            from distributed import Client, LocalCluster

            cluster = LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=40)
            client = Client(cluster)
            config = dask.config.set()
        else:
            config = dask.config.set(scheduler=scheduler, num_workers=WORKERS)
        with config:
            solve_start = time.perf_counter()
            sweep_to_zarr(store, **params, chunk_size=chunk_size, errors="mask",
                          progress=False)
            solve_end = time.perf_counter()
        if client is not None:
            client.close()
            cluster.close()
        wall = time.perf_counter() - start
    cpu = mem.cpu_seconds
    back = xr.open_zarr(store, consolidated=True)
    converged = int(back["converged"].sum().compute())
    blocks = int(np.prod(back["eg"].data.numblocks))
    size = sum(f.stat().st_size for f in Path(store).rglob("*") if f.is_file())
    kib = 1024
    return dict(points=int(points), shape=shape, scheduler=scheduler, workers=WORKERS,
                chunk_size=chunk_size, blocks=blocks, block_shape=back["eg"].data.chunksize,
                wall_s=wall, solve_s=solve_end - solve_start,
                points_per_s=points / (solve_end - solve_start), converged=converged,
                cpu_s=cpu, cores_used=cpu / wall,
                peak_rss_total_bytes=mem.peak_total, peak_rss_main_bytes=mem.peak_self,
                maxrss_self_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * kib,
                maxrss_children_bytes=(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
                                       * kib),
                store_bytes=size)


def measure(points, scheduler, chunk_size):
    """Run one measurement in a fresh process (clean peak memory); return its dict."""
    folder = tempfile.mkdtemp(prefix="sweep_zarr_")
    try:
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                   MKL_NUM_THREADS="1")
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(int(points)), scheduler,
             str(chunk_size), str(Path(folder) / "grid.zarr")],
            env=env, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"{scheduler} at {points:g} points failed:\n{out.stderr}")
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _gib(n):
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def _time(s):
    return f"{s:.0f} s" if s < 600 else f"{s / 60:.1f} min"


def _cores(r):
    return f"{r['cores_used']:.2f}" if "cores_used" in r else "not measured"


def table(rows):
    head = ("| points | grid (alpha x beta x lam x rho x eta) | scheduler | blocks (points) "
            "| wall | points/s | CPU cores used | peak RSS, all processes "
            "| peak RSS, main process | store |\n"
            "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|")
    lines = [head]
    for r in sorted(rows, key=lambda r: (r["points"], -r["chunk_size"], r["scheduler"])):
        lines.append(
            f"| {r['points']:.0e} | {' x '.join(map(str, r['shape']))} | {r['scheduler']} "
            f"| {r['blocks']} ({math.prod(r['block_shape']):,}) | {_time(r['wall_s'])} "
            f"| {r['points_per_s']:,.0f} | {_cores(r)} "
            f"| {_gib(r['peak_rss_total_bytes'])} | {_gib(r['peak_rss_main_bytes'])} "
            f"| {_gib(r['store_bytes'])} |")
    return "\n".join(lines)


def _previous_rows():
    """The runs recorded in the doc's section (kept as JSON in a comment)."""
    doc = DOC.read_text()
    found = re.search(r"<!-- sweep_zarr runs: (.*?) -->", doc, flags=re.S)
    return json.loads(found.group(1)) if found else []


def write_doc(rows, command):
    def key(r):
        return r["points"], r["scheduler"], r["chunk_size"]

    old = {key(r): r for r in _previous_rows()}
    old.update({key(r): r for r in rows})
    rows = list(old.values())
    section = (f"{BEGIN}\n`{command}` (and earlier invocations of the same script)\n\n"
               f"{table(rows)}\n\n<!-- sweep_zarr runs: {json.dumps(rows)} -->\n{END}")
    doc = DOC.read_text()
    if BEGIN in doc:
        doc = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: section, doc,
                     flags=re.S)
    else:
        doc = doc.rstrip("\n") + "\n\n## Theory grids beyond memory: sweeps streamed to Zarr\n\n" \
            + section + "\n"
    from symrep.io import atomic_write_text

    atomic_write_text(DOC, doc)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        points, scheduler, chunk_size, store = sys.argv[2:6]
        print(json.dumps(run_one(int(points), scheduler, int(chunk_size), store)))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=float, nargs="+", default=[1e5, 1e6])
    ap.add_argument("--schedulers", nargs="+", default=["threads", "distributed"],
                    choices=["threads", "processes", "distributed"])
    ap.add_argument("--chunk-size", type=int, default=16_384)
    ap.add_argument("--json", default=None, help="write the results to this file")
    ap.add_argument("--from-json", nargs="+", default=None,
                    help="do not measure: write the results of these files into the doc")
    ap.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = ap.parse_args()
    if args.from_json:
        rows = [r for f in args.from_json for r in json.loads(Path(f).read_text())]
        print(table(rows))
        write_doc(rows, "python benchmarks/sweep_zarr.py (the runs below)")
        return
    rows = []
    for points in args.points:
        for scheduler in args.schedulers:
            r = measure(int(points), scheduler, args.chunk_size)
            print(json.dumps(r), flush=True)
            rows.append(r)
    print(table(rows))
    if args.json:
        from symrep.io import atomic_write_text

        atomic_write_text(args.json, json.dumps(rows, indent=1))
    if not args.no_write:
        command = ("python benchmarks/sweep_zarr.py --points "
                   + " ".join(f"{p:g}" for p in args.points) + " --schedulers "
                   + " ".join(args.schedulers) + f" --chunk-size {args.chunk_size}")
        write_doc(rows, command)


if __name__ == "__main__":
    main()
