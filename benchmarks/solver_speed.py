"""Speed of the generic solver against the closed-form route, in one run.

For M = M* = 1 the generic solver (``symrep.solve_arrays``: the stationary points of
the generated equations, found without closed forms, continued along curves) is timed
against :func:`symrep.crosscheck.closed_form_solution` (the random-matrix closed forms,
evaluated with the same generated free energy and observables) on:

- a 1000-point beta curve (alpha = 2, lam = 1, rho = eta = 1, beta log-spaced over
  [0.01, 10]);
- a 1000-point alpha curve (beta = 0.5, lam = 1, rho = eta = 1, alpha log-spaced over
  [0.01, 100]), and the same without weight decay (lam = 0);
- 10^4 random points of the acceptance box (as ``generic_vs_closed_form.py``);
- the full search alone (``symrep.solvers.units.stationary_points``) at one point and at
  the anchors of the beta curve, against the closed-form route on the whole curve: what
  the curve's time is made of;
- one point, ``symrep.solve(2, 0.5, 1)`` against the closed forms at that point;
- the generated functions' own share of the beta curve: the time spent inside the
  compiled generated functions (their calls, arguments included) against the whole
  curve, and how many point evaluations they made; the rest is the solver's NumPy
  rounds around them.

Each time is the median of ``--repeat`` runs after a warm-up, the two routes timed in
turns; the ratio is the median of the ratios of consecutive runs (a slow spell of the
host weighs on both sides of a ratio alike). The result is printed and written into
``docs/benchmarks.md`` (between the markers of its section).

Usage::

    python benchmarks/solver_speed.py [--repeat 5] [--json OUT] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from pathlib import Path

import numpy as np

import symrep
from symrep.crosscheck import closed_form_solution
from symrep.io import atomic_write_text
from symrep.solvers.continuation import SPACING, _anchors
from symrep.solvers.saddle_point import solve_arrays
from symrep.solvers.units import stationary_points

BEGIN, END = "<!-- solver_speed: begin -->", "<!-- solver_speed: end -->"
DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def cases():
    n = 1000
    rng = np.random.default_rng(2026)

    def log_uniform(lo, hi, size):
        return np.exp(rng.uniform(np.log(lo), np.log(hi), size))

    m = 10_000
    box = (log_uniform(0.01, 100, m), log_uniform(0.01, 10, m),
           np.where(rng.random(m) < 0.05, 0.0, rng.uniform(0, 5, m)),
           log_uniform(0.1, 10, m), log_uniform(0.1, 10, m))
    return {
        "1000-point beta curve (alpha = 2, lam = 1)": (2.0, np.geomspace(0.01, 10, n), 1.0,
                                                       1.0, 1.0),
        "1000-point alpha curve (beta = 0.5, lam = 1)": (np.geomspace(0.01, 100, n), 0.5,
                                                         1.0, 1.0, 1.0),
        "1000-point alpha curve (beta = 0.5, lam = 0)": (np.geomspace(0.01, 100, n), 0.5,
                                                         0.0, 1.0, 1.0),
        "10^4 random points of the acceptance box": box,
    }


def paired(generic, closed, repeat):
    """Median times of the two routes and the median of their ratios, timed in turns
    (generic, closed forms, generic, ...) after a warm-up of each, so that a slow spell
    of the host weighs on both sides of a ratio alike."""
    generic()  # warm-up (generated modules, caches)
    closed()
    times, ratios = ([], []), []
    for _ in range(repeat):
        pair = []
        for fn, into in ((generic, times[0]), (closed, times[1])):
            t = time.perf_counter()
            fn()
            pair.append(time.perf_counter() - t)
            into.append(pair[-1])
        ratios.append(pair[0] / pair[1])
    return statistics.median(times[0]), statistics.median(times[1]), statistics.median(ratios)


def measure(repeat):
    rows = []
    every = cases()
    for name, params in every.items():
        rows.append((name, *paired(lambda p=params: solve_arrays(*p),
                                   lambda p=params: closed_form_solution(*p), repeat)))
    # what a curve's time is made of: the full search alone, on one point and on the
    # anchors of the beta curve, against the closed-form route on the whole curve
    beta_curve = [np.broadcast_to(np.asarray(v, float), (1000,)).copy()
                  for v in every["1000-point beta curve (alpha = 2, lam = 1)"]]
    idx, _ = _anchors(beta_curve, SPACING)
    for name, where in (("full search alone at 1 point of the beta curve", [500]),
                        (f"full search alone at the beta curve's {len(idx)} anchors", idx)):
        sub = [p[where] for p in beta_curve]
        rows.append((f"{name} (closed forms: the whole curve)",
                     *paired(lambda s=sub: stationary_points(*s),
                             lambda: closed_form_solution(*beta_curve), repeat)))
    rows.append(generated_share(beta_curve, repeat))
    point = (2.0, 0.5, 1.0, 1.0, 1.0)
    rows.append(("one point, symrep.solve(2, 0.5, 1)",
                 *paired(lambda: symrep.solve(*point), lambda: closed_form_solution(*point),
                         10 * repeat)))
    return rows


def generated_share(curve, repeat):
    """The time of the beta curve spent inside the compiled generated functions (the
    calls timed one by one), against the whole curve: what compiling them has left to
    the solver's NumPy rounds."""
    from symrep.numeric import compiled

    inner, columns = [0.0], [0]
    run = compiled._Compiled._run

    def timed(self, args):
        t = time.perf_counter()
        out = run(self, args)
        inner[0] += time.perf_counter() - t
        columns[0] += 0 if out is None else out[0].size
        return out

    solve_arrays(*curve)  # warm-up
    whole, share = [], []
    compiled._Compiled._run = timed
    try:
        for _ in range(repeat):
            inner[0], columns[0] = 0.0, 0
            t = time.perf_counter()
            solve_arrays(*curve)
            whole.append(time.perf_counter() - t)
            share.append(inner[0])
    finally:
        compiled._Compiled._run = run
    return (f"generated functions' own time in the beta curve ({columns[0]:,} point "
            f"evaluations; last column: the whole curve, share of it)",
            statistics.median(share), statistics.median(whole),
            statistics.median([a / b for a, b in zip(share, whole, strict=True)]))


def table(rows):
    lines = ["| measurement | generic | closed forms | generic / closed forms |",
             "|---|---:|---:|---:|"]
    for name, generic, closed, ratio in rows:
        lines.append(f"| {name} | {_fmt(generic)} | {_fmt(closed)} | "
                     f"{ratio:.{2 if ratio < 1 else 1}f} |")
    return "\n".join(lines)


def _fmt(t):
    return f"{t * 1e3:.1f} ms" if t < 1 else f"{t:.2f} s"


def write_doc(text, repeat):
    command = f"`.venv/bin/python benchmarks/solver_speed.py --repeat {repeat}`"
    section = f"{BEGIN}\n{command}\n\n{text}\n{END}"
    doc = DOC.read_text()
    if BEGIN in doc:
        doc = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: section, doc,
                     flags=re.S)
    else:
        doc = doc.rstrip("\n") + ("\n\n## Generic solver against the closed-form route: "
                                  "speed\n\n" + section + "\n")
    atomic_write_text(DOC, doc)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", default=None, help="write the timings to this file")
    ap.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = ap.parse_args()
    rows = measure(args.repeat)
    text = table(rows)
    print(text)
    if args.json:
        atomic_write_text(args.json, json.dumps(
            [dict(measurement=n, generic_s=g, closed_form_s=c, ratio=r)
             for n, g, c, r in rows], indent=1))
    if not args.no_write:
        write_doc(text, args.repeat)


if __name__ == "__main__":
    main()
