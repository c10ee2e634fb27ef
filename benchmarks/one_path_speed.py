"""The solver's speed against another checkout of symrep, in one run, as ratios.

Every case is timed in fresh processes, the two trees taking turns (``--rounds``
times), and the best time of each tree is kept: load from other work on the host hits
both alike. Use it to show that a change costs no speed:

    git worktree add /tmp/before <commit>      # or any copy of an older tree
    python benchmarks/one_path_speed.py --before /tmp/before

Cases (the linear VAE): one point; a 1000-point beta curve with and without weight
decay; 3000 random points solved independently; a 40 x 25 sweep; one point and a
1000-point curve with M = 2 units; the first solve of a new process (import included).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

CASES = r'''
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import symrep
symrep.solve(2.0, 0.5, 1.0)
cold = time.perf_counter() - t0
from symrep.solvers.saddle_point import solve_arrays
from symrep.solvers.latent_units import solve_units_arrays

def best(f, k):
    out = []
    for _ in range(k):
        t = time.perf_counter(); f(); out.append(time.perf_counter() - t)
    return min(out)

b = np.linspace(0.05, 3, 1000)
rng = np.random.default_rng(1)
R = dict(alpha=rng.uniform(0.1, 10, 3000), beta=rng.uniform(0.05, 3, 3000),
         lam=rng.uniform(0, 2, 3000), rho=rng.uniform(0.2, 3, 3000),
         eta=rng.uniform(0.3, 2, 3000))
a40, b25 = np.linspace(0.1, 5, 40), np.linspace(0.2, 3, 25)
solve_arrays(2.0, b, 0.5); symrep.sweep(a40[:4], 0.5, 1.0)
solve_units_arrays(4.0, b, 1.0, (2.0, 0.7), 1.0, M=2)
times = {
    "first solve of a process (s)": cold,
    "one point (ms)": 1e3 * best(lambda: symrep.solve(2.0, 0.5, 1.0), 20),
    "1000-point beta curve, lam = 0.5 (ms)": 1e3 * best(
        lambda: solve_arrays(2.0, b, 0.5), 5),
    "1000-point beta curve, lam = 0 (ms)": 1e3 * best(lambda: solve_arrays(2.0, b, 0.0), 5),
    "3000 random points, each on its own (s)": best(
        lambda: solve_arrays(**R, continuation=False), 2),
    "40 x 25 sweep (s)": best(lambda: symrep.sweep(a40, b25, 1.0), 3),
    "one point, M = 2 (ms)": 1e3 * best(
        lambda: symrep.solve(4.0, 0.5, 1.0, rho=(2.0, 0.7), M=2), 10),
    "1000-point beta curve, M = 2 (ms)": 1e3 * best(
        lambda: solve_units_arrays(4.0, b, 1.0, (2.0, 0.7), 1.0, M=2), 3),
}
print(json.dumps(times))
'''


def _run(tree):
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = str(tree) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", CASES], env=env, capture_output=True,
                         text=True, check=True, cwd=tree or Path.cwd())
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True,
                        help="root of the other tree (the folder that holds symrep/)")
    parser.add_argument("--rounds", type=int, default=3, help="turns of each tree")
    args = parser.parse_args(argv)
    before, after = {}, {}
    for k in range(args.rounds):
        for name, tree, into in (("before", Path(args.before), before),
                                 ("after", None, after)):
            times = _run(tree)
            for case, t in times.items():
                into[case] = min(into.get(case, float("inf")), t)
            print(f"# round {k + 1} {name} done", file=sys.stderr)
    print("| case | before | after | after / before |")
    print("|---|---|---|---|")
    for case in before:
        print(f"| {case} | {before[case]:.4g} | {after[case]:.4g} | "
              f"{after[case] / before[case]:.3f} |")


if __name__ == "__main__":
    main()
