"""Speed of the solver for M latent units and M* features (M = M* = 2, rho = (2, 0.7)).

Measures, in one run on this machine: a 1000-point curve in beta and one in alpha
(``symrep.sweep(..., M=2)``), a 128 x 128 (alpha, beta) phase diagram without and with
the per-unit collapse thresholds (``units_phase_diagram``), and a single
``symrep.solve(..., M=2)``. Each timing is the best of ``--repeat`` runs after one
warm-up (code loading and caches are not timed).

Usage::

    .venv/bin/python benchmarks/units_speed.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np


def best_of(fn, repeat):
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    import symrep
    from symrep.solvers.units_phase_plane import units_phase_diagram

    rho = (2.0, 0.7)
    betas = np.linspace(0.05, 3.5, 1000)
    alphas = np.geomspace(0.05, 50, 1000)
    grid_a, grid_b = np.linspace(0.1, 8, 128), np.linspace(0.05, 3.5, 128)
    out = {
        "single solve, M = 2 (s)": best_of(
            lambda: symrep.solve(4.0, 0.5, 1.0, rho=rho, eta=1.0, M=2), args.repeat),
        "1000-point beta curve, M = 2 (s)": best_of(
            lambda: symrep.sweep(4.0, betas, 1.0, rho=rho, M=2), args.repeat),
        "1000-point alpha curve, M = 2 (s)": best_of(
            lambda: symrep.sweep(alphas, 0.5, 1.0, rho=rho, M=2), args.repeat),
        "128 x 128 phase diagram, M = 2 (s)": best_of(
            lambda: units_phase_diagram(grid_a, grid_b, 1.0, rho, 1.0, M=2,
                                        thresholds=False), 1),
        "128 x 128 phase diagram with thresholds, M = 2 (s)": best_of(
            lambda: units_phase_diagram(grid_a, grid_b, 1.0, rho, 1.0, M=2), 1),
    }
    out = {k: round(v, 3) for k, v in out.items()}
    out["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, Python " \
                     f"{platform.python_version()}"
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
