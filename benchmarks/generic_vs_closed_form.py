"""The generic solver against the random-matrix closed forms at 10^4 random points.

The acceptance test of the generic solver (``symrep.solve`` / ``solve_arrays``, which
solve the generated saddle-point equations without any closed form): at random points
over alpha in [0.01, 100], beta in [0.01, 10], rho, eta in [0.1, 10] (log-uniform) and
lam uniform in [0, 5] with a share of exact zeros, every order parameter, observable and
the free energy must agree with :func:`symrep.crosscheck.closed_form_solution` to 1e-10
(relative to 1 + |value|), and the phase must be the same. Where two branches' free
energies differ by less than 1e-9 (relative to 1 + |f|: a phase boundary) either branch
is accepted; such points are counted and checked on the free energy and on the phase
being one of the degenerate branches.

With ``--curves K`` the same number of points lies on K random straight lines through
the box (``sample_curves``), solved in one call: the states are then continued along each
line from anchors of the full search (``symrep/solvers/continuation.py``), the path every
sweep and phase diagram takes, checked against the same closed forms.

Prints the worst point with every quantity (generic value, closed form, error) and
writes the result into ``docs/benchmarks.md`` (between the markers of its section).

Usage::

    python benchmarks/generic_vs_closed_form.py [--n 10000] [--seed 2026] [--zeros 0.05]
                                                [--curves K] [--no-write]
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import numpy as np

from symrep.crosscheck import closed_form_solution
from symrep.io import atomic_write_text
from symrep.solvers.saddle_point import PHASES, solve_arrays

NAMES = ("Q", "R", "E", "m", "d", "chihat_Q", "chihat_R", "chihat_E", "eg", "rate",
         "distortion", "kl_posterior", "rate_train", "distortion_train",
         "kl_posterior_train", "free_energy")
TOLERANCE = 1e-10
DEGENERATE = 1e-9
BEGIN, END = "<!-- generic_vs_closed_form: begin -->", "<!-- generic_vs_closed_form: end -->"
CURVES_BEGIN = "<!-- generic_vs_closed_form curves: begin -->"
CURVES_END = "<!-- generic_vs_closed_form curves: end -->"
DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def sample(n, seed, zeros):
    """The random points: log-uniform alpha, beta, rho, eta; lam uniform with zeros."""
    rng = np.random.default_rng(seed)

    def log_uniform(lo, hi):
        return np.exp(rng.uniform(np.log(lo), np.log(hi), n))

    alpha, beta = log_uniform(0.01, 100), log_uniform(0.01, 10)
    lam = np.where(rng.random(n) < zeros, 0.0, rng.uniform(0, 5, n))
    rho, eta = log_uniform(0.1, 10), log_uniform(0.1, 10)
    return alpha, beta, lam, rho, eta


def sample_curves(n, curves, seed, zeros):
    """``curves`` straight lines through the box (log scale for alpha, beta, rho, eta;
    lam constant, zero for a share ``zeros`` of the curves, or linear in [0, 5]) with
    n // curves points each, one after the other: the solver continues its states along
    each of them."""
    rng = np.random.default_rng(seed)
    lo, hi = np.log([0.01, 0.01, 0.1, 0.1]), np.log([100, 10, 10, 10])
    k = n // curves
    t = np.linspace(0, 1, k)[:, None]
    parts = []
    for _ in range(curves):
        start, end = rng.uniform(lo, hi), rng.uniform(lo, hi)
        if rng.random() < 0.5:  # along one parameter only
            j = rng.integers(4)
            end = start.copy()
            end[j] = rng.uniform(lo[j], hi[j])
        alpha, beta, rho, eta = np.exp(start + t * (end - start)).T
        if rng.random() < zeros:
            lam = np.zeros(k)
        elif rng.random() < 0.5:
            lam = np.full(k, rng.uniform(0, 5))
        else:
            lam = np.linspace(rng.uniform(0, 5), rng.uniform(0, 5), k)
        parts.append((alpha, beta, lam, rho, eta))
    return tuple(np.concatenate(v) for v in zip(*parts, strict=True))


def compare(params):
    """Errors of the generic solver against the closed forms, per point and quantity."""
    t = time.perf_counter()
    got = solve_arrays(*params, errors="mask")
    elapsed = time.perf_counter() - t
    ref = closed_form_solution(*params)
    want = {name: ref["z"][k] for k, name in enumerate(NAMES[:8])}
    want.update({name: ref[name] for name in NAMES[8:]})
    err = np.stack([np.abs(got[name] - want[name]) / (1 + np.abs(want[name]))
                    for name in NAMES])
    err = np.where(np.isfinite(err), err, np.inf)
    f = np.sort(ref["branch_free_energy"], axis=0)
    gap = (f[1] - f[0]) / (1 + np.abs(f[0]))
    degenerate = gap < DEGENERATE
    # at a degenerate point: the phase is one of the branches within 1e-9 of the lowest
    near = ref["branch_free_energy"] - f[0] <= DEGENERATE * (1 + np.abs(f[0]))
    phase_ok = np.where(degenerate, near[np.clip(got["phase"], 0, 2), np.arange(len(gap))],
                        got["phase"] == ref["phase"])
    return got, want, ref, err, degenerate, phase_ok, elapsed


def report(params, got, want, ref, err, degenerate, phase_ok, elapsed):
    n = len(params[0])
    fe = NAMES.index("free_energy")
    worst_err = np.where(degenerate, err[fe], err.max(axis=0))
    i = int(np.argmax(worst_err))
    lines = []
    failed = ~got["converged"]
    off = (worst_err > TOLERANCE) | ~phase_ok
    lines.append(f"{n} points, solved in {elapsed:.1f} s; {int(failed.sum())} without a "
                 f"solution; {int(off.sum())} above {TOLERANCE:g} or with another phase; "
                 f"{int(degenerate.sum())} at a phase boundary (two branches within "
                 f"{DEGENERATE:g} in free energy: either branch accepted, checked on the "
                 "free energy and on the phase being one of them).")
    lines.append("")
    p = {k: float(v[i]) for k, v in zip(("alpha", "beta", "lam", "rho", "eta"), params,
                                        strict=True)}
    lines.append("Worst point: " + ", ".join(f"{k} = {v:.6g}" for k, v in p.items())
                 + f"; phase {PHASES[int(got['phase'][i])]} (closed form "
                 f"{PHASES[int(ref['phase'][i])]}); largest error {worst_err[i]:.2e}.")
    lines.append("")
    lines.append("| quantity | generic | closed form | error |")
    lines.append("|---|---:|---:|---:|")
    for k, name in enumerate(NAMES):
        lines.append(f"| {name} | {got[name][i]:.17g} | {want[name][i]:.17g} | "
                     f"{err[k, i]:.1e} |")
    lines.append("")
    per = ", ".join(f"{name} {np.max(np.where(degenerate, 0, err[k])):.1e}"
                    for k, name in enumerate(NAMES))
    lines.append(f"Largest error per quantity (off the boundaries): {per}.")
    zero = params[2] == 0
    lines.append(f"Points without weight decay: {int(zero.sum())}, largest error "
                 f"{np.max(np.where(zero & ~degenerate, worst_err, 0)):.1e}.")
    return "\n".join(lines), int(off.sum() + failed.sum())


def write_doc(text, args):
    command = (f"`.venv/bin/python benchmarks/generic_vs_closed_form.py --n {args.n} "
               f"--seed {args.seed} --zeros {args.zeros}"
               + (f" --curves {args.curves}`" if args.curves else "`"))
    begin, end = (CURVES_BEGIN, CURVES_END) if args.curves else (BEGIN, END)
    section = f"{begin}\n{command}\n\n{text}\n{end}"
    doc = DOC.read_text()
    if begin in doc:
        doc = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: section, doc,
                     flags=re.S)
    else:
        title = "along curves" if args.curves else "at random points"
        doc = doc.rstrip("\n") + (f"\n\n## Generic solver against the random-matrix closed "
                                  f"forms {title}\n\n" + section + "\n")
    atomic_write_text(DOC, doc)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--zeros", type=float, default=0.05,
                    help="share of points with lam = 0 exactly")
    ap.add_argument("--curves", type=int, default=0,
                    help="solve the points as this many random curves (continuation) "
                         "instead of independent random points")
    ap.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = ap.parse_args()
    params = (sample_curves(args.n, args.curves, args.seed, args.zeros) if args.curves
              else sample(args.n, args.seed, args.zeros))
    text, bad = report(params, *compare(params))
    print(text)
    if not args.no_write:
        write_doc(text, args)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
