"""Solver benchmark: single point, alpha curve, phase diagram, cold and warm start.

Measures, on this machine, in one run:

- cold start: a fresh process with an empty code cache: import symrep, derive the RS
  equations with SymPy, generate and cache the NumPy code, solve one point;
- warm start: the same in a fresh process with the cache filled;
- one point with ``symrep.solve`` (warm, median over repetitions);
- a 1000-point alpha curve with ``symrep.sweep`` (an xarray Dataset of all observables);
- a 256 x 256 (alpha, beta) phase diagram with ``symrep.phase_diagram``, with and
  without the bisection of the boundary curves.

Usage::

    python benchmarks/bench_solver.py [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from symrep.io import atomic_write_text

TARGETS = {"single_point": 1e-3, "alpha_curve_1000": 0.1, "phase_diagram_256": 10.0,
           "warm_start": 1.0}

_START = ("import time; t = time.perf_counter(); import symrep; "
          "symrep.solve(2.0, 0.5, 1.0); print(time.perf_counter() - t)")


def start_time(cache):
    env = dict(os.environ, SYMREP_CACHE_DIR=cache)
    out = subprocess.run([sys.executable, "-c", _START], env=env, capture_output=True,
                         text=True, check=True)
    return float(out.stdout.strip())


def repeat(fn, n):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default=None, help="write the measurements to this file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        cold = start_time(cache)
        warm = statistics.median(start_time(cache) for _ in range(5))
    import symrep

    symrep.solve(2.0, 0.5, 1.0)
    alpha = np.linspace(0.01, 5.0, 1000)
    grid_a, grid_b = np.linspace(0.02, 6.0, 256), np.linspace(0.02, 3.0, 256)
    symrep.sweep(alpha=alpha, beta=0.5, lam=1.0)
    results = {
        "cold_start": cold,
        "warm_start": warm,
        "single_point": repeat(lambda: symrep.solve(2.0, 0.5, 1.0), 500),
        "alpha_curve_1000": repeat(lambda: symrep.sweep(alpha=alpha, beta=0.5, lam=1.0), 20),
        "phase_diagram_256": repeat(lambda: symrep.phase_diagram(grid_a, grid_b, lam=1.0), 3),
        "phase_diagram_256_no_boundaries": repeat(
            lambda: symrep.phase_diagram(grid_a, grid_b, lam=1.0, boundaries=False), 3),
    }
    print(f"{'measurement':34s} {'seconds':>10s} {'target':>8s} {'target / time':>14s}")
    for name, t in results.items():
        target = TARGETS.get(name)
        ratio = f"{target / t:14.1f}" if target else ""
        print(f"{name:34s} {t:10.4g} {target if target else '':>8} {ratio}")
    if args.json:
        atomic_write_text(args.json, json.dumps({"seconds": results, "targets": TARGETS},
                                                indent=2) + "\n")


if __name__ == "__main__":
    main()
