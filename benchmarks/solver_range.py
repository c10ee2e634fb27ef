"""Where the float64 solver is accurate: the measurement behind the parameter ranges.

The allowed ranges of :mod:`symrep.validation` are where this script finds the float64
solver (``symrep.solve``, and ``solve_arrays`` under sweeps and phase diagrams) accurate.
It measures, with the ranges temporarily widened to (0, inf):

1. one parameter at a time, at 10^k for k = -300 ... 308, around four base points (one
   per phase and one without weight decay): the decades where the solver fails
   (``SolverError``) and the first decade where it fails for good (overflow);
2. 30,000 log-uniform random points of the box: how many end in ``SolverError``;
3. every corner of the box (with lam at its bounds and lam = 0) and ``--points``
   log-uniform random points inside it, against the closed forms of the saddle point
   solved in 60-digit arithmetic (:func:`symrep.crosscheck.closed_form_mp`, independent
   of the generic solver's method; ``solve_mp`` starts from the float64 solution and
   would only check its rounding). The error of each
   quantity is |float64 - reference| over the larger of |reference| and a floor at the
   scale of the terms it is computed from (order parameters and eg: 1e-9 max(Q, E, |R|,
   rho); rates and KLs: 1e-3 nats; distortions and the free energy: 1e-9 (rho + eta +
   beta + lam)(1 + alpha); the chihat: 1e-9 of the largest). A mismatch of phase is
   reported separately (it happens only at a transition, which float64 resolves to
   about 1e-8 in beta).

Usage::

    python benchmarks/solver_range.py [--points 800] [--seed 5]

About ten minutes on two cores.
"""

from __future__ import annotations

import argparse
import itertools
import math
import time
import warnings

import numpy as np

import symrep.validation as validation
from symrep.errors import SolverError

BASES = {
    "learning": dict(alpha=2.0, beta=0.5, lam=1.0, rho=1.0, eta=1.0),
    "overfitting": dict(alpha=0.5, beta=0.5, lam=0.2, rho=1.0, eta=1.0),
    "regularized": dict(alpha=2.0, beta=3.0, lam=1.0, rho=1.0, eta=1.0),
    "lam = 0": dict(alpha=2.0, beta=0.3, lam=0.0, rho=1.0, eta=1.0),
}
ORDER = ("m", "d", "Q", "E", "R", "eg")
NATS = ("rate", "kl_posterior", "rate_train", "kl_posterior_train")
ENERGIES = ("distortion", "distortion_train", "free_energy")
CHI = ("chihat_Q", "chihat_R", "chihat_E")
PHASES = ("regularized", "overfitting", "learning")


def widened():
    """The ranges of the model itself, (0, inf) and [0, inf), without float64 limits."""
    return {name: validation.Interval(0.0, closed=(name == "lam"))
            for name in validation.PARAMETER_RANGES}


def scan_one_parameter():
    import symrep

    print("1. one parameter at a time (10^k, k = -300..308; others at the base point)")
    for name in ("alpha", "beta", "lam", "rho", "eta"):
        for label, base in BASES.items():
            failed = []
            for k in range(-300, 309):
                try:
                    symrep.solve(**dict(base, **{name: 10.0**k}))
                except SolverError:
                    failed.append(k)
            low = [k for k in failed if k < 0]
            high = [k for k in failed if k > 0]
            print(f"   {name:>5} around {label:<12} fails at 10^k for "
                  f"k <= {max(low) if low else '-'} (lowest ok: "
                  f"{min(set(range(-300, 1)) - set(low), default='-')}), "
                  f"k >= {min(high) if high else '-'}; failures in total {len(failed)}")


def log_uniform(rng, ranges, n):
    p = {k: 10 ** rng.uniform(math.log10(max(r.low, 1e-6)), math.log10(r.high), n)
         for k, r in ranges.items()}
    p["lam"] = np.where(rng.random(n) < 0.15, 0.0, p["lam"])
    return p


def random_failures(ranges, n=30_000, seed=1):
    from symrep.solvers import solve_arrays

    rng = np.random.default_rng(seed)
    p = log_uniform(rng, ranges, n)
    out = solve_arrays(**p, errors="mask")
    bad = np.nonzero(~out["converged"])[0]
    print(f"2. {n} random points of the box: {bad.size} end in SolverError")
    for i in bad:
        print("   ", {k: float(f"{v[i]:.3g}") for k, v in p.items()})


def scaled_errors(r, ref, p):
    f = {k: float(v) for k, v in ref.items()}
    big = max(abs(f["Q"]), abs(f["E"]), abs(f["R"]), p["rho"])
    chi = max(abs(f[c]) for c in CHI)
    floors = {**{k: 1e-9 * big for k in ORDER}, **{k: 1e-3 for k in NATS},
              **{k: 1e-9 * (p["rho"] + p["eta"] + p["beta"] + p["lam"]) * (1 + p["alpha"])
                 for k in ENERGIES},
              **{k: 1e-9 * chi for k in CHI}, "D": 0.0}
    out = {}
    for k, floor in floors.items():
        x = getattr(r, k)
        out[k] = abs(x - f[k]) / max(abs(f[k]), floor, 1e-300) if math.isfinite(x) else math.inf
    return out


def against_high_precision(ranges, n, seed):
    import symrep
    from symrep.crosscheck import closed_form_mp

    box = {k: (max(r.low, 1e-6), r.high) for k, r in ranges.items()}
    points = [dict(zip(box, c, strict=True)) for c in itertools.product(*box.values())]
    points += [dict(q, lam=0.0) for q in points]
    rng = np.random.default_rng(seed)
    rand = log_uniform(rng, ranges, n)
    points += [{k: float(v[i]) for k, v in rand.items()} for i in range(n)]
    worst = dict.fromkeys((*ORDER, *NATS, *ENERGIES, *CHI, "D"), (0.0, None))
    failures, mismatched, above = 0, [], 0
    for p in points:
        try:
            r = symrep.solve(**p)
        except SolverError:
            failures += 1
            continue
        try:
            ref = closed_form_mp(**p, dps=60)
        except Exception:  # a singular Newton step: the closed form is exact already
            ref = closed_form_mp(**p, dps=60, newton_steps=0)
        if r.phase != PHASES[int(ref["branch"])]:
            mismatched.append(p)
            continue
        errs = scaled_errors(r, ref, p)
        above += max(errs.values()) > 1e-6
        for k, e in errs.items():
            if e > worst[k][0]:
                worst[k] = (e, p)
    print(f"3. {len(points)} points against 60-digit arithmetic: {failures} SolverError, "
          f"{len(mismatched)} with another phase (at a transition), {above} with an error "
          "above 1e-6 of its scale; largest error per quantity:")
    for k, (e, p) in worst.items():
        print(f"   {k:>18}  {e:.1e}  at {p}")
    for p in mismatched:
        print("   phase differs at", p)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=800)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    ranges = dict(validation.PARAMETER_RANGES)
    print("allowed ranges:", ", ".join(f"{k} in {v}" for k, v in ranges.items()))
    start = time.perf_counter()
    validation.PARAMETER_RANGES.update(widened())
    try:
        scan_one_parameter()
        random_failures(ranges)
        against_high_precision(ranges, args.points, args.seed)
    finally:
        validation.PARAMETER_RANGES.update(ranges)
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
