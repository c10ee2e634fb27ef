"""Trainer benchmark: a per-run loop of Adam against the batched trainer and the exact optimum.

The experiment of the paper's code: N = 250, alpha = 0.4, 0.8, ..., 5.2, 5 seeds,
beta = lam = rho = eta = 1. Every method sees the same data sets.

(a) a plain Python loop over runs, each full-batch Adam (lr 1e-3, float32, weights
    initialised N(0, 1), D = 1) for a fixed 15,000 epochs, as the paper's code does;
(b) ``symrep.simulate.train`` with L-BFGS, all runs in one batch, to convergence;
(b') ``symrep.simulate.train`` with Adam, all runs in one batch, the same 15,000 epochs;
(c) ``symrep.simulate.exact_minimum`` for each run.

Reported: wall time of each method, time ratios measured in this one run, and the
distance of each method's result to the exact optimum (gap of the objective per N and
absolute gap of the signal recovery error eg), as maximum and median over runs.

Usage::

    python benchmarks/bench_trainers.py [--quick] [--device cpu|cuda] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import torch

from symrep.io import atomic_write_text
from symrep.simulate import LinearVAE, exact_minimum, sample_scm, train
from symrep.simulate.observables import observables_from_weights

BETA = LAM = RHO = ETA = 1.0


def per_run_adam(X, W0, *, epochs, device, seed):
    """One run the way the paper's code trains: full-batch Adam on the summed objective."""
    torch.manual_seed(seed)
    Xt = torch.as_tensor(X, dtype=torch.float32, device=device)
    model = LinearVAE(X.shape[1], 1, dtype=torch.float32, device=device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(epochs):
        loss = model.objective(Xt, BETA, LAM)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return observables_from_weights(
        X, W0, model.W.detach().cpu().double().numpy(),
        model.W_enc.detach().cpu().double().numpy(), float(model.D.detach().cpu()),
        beta=BETA, lam=LAM, rho=RHO, eta=ETA, method="adam-loop", converged=False,
        n_iter=epochs,
    )


def distance(results, exact):
    gap_f = np.array([r.free_energy - e.free_energy for r, e in zip(results, exact, strict=True)])
    gap_eg = np.array([abs(r.eg - e.eg) for r, e in zip(results, exact, strict=True)])
    return {
        "objective_gap_max": float(gap_f.max()), "objective_gap_median": float(np.median(gap_f)),
        "eg_gap_max": float(gap_eg.max()), "eg_gap_median": float(np.median(gap_eg)),
    }


def timed(fn):
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t = time.perf_counter()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 alphas, 2 seeds, 1,500 epochs")
    ap.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    ap.add_argument("--json", default=None, help="write the measurements to this file")
    args = ap.parse_args()
    N = 250
    alphas = np.round(np.arange(1, 14) * 0.4, 2)
    seeds, epochs = 5, 15_000
    if args.quick:
        alphas, seeds, epochs = alphas[[0, 6, 12]], 2, 1_500
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    runs = [(a, k) for a in alphas for k in range(seeds)]
    data = [sample_scm(round(a * N), N, RHO, ETA, seed=1000 * k + i)[0]
            for i, (a, k) in enumerate(runs)]
    W0 = np.ones((N, 1))
    print(f"{len(runs)} runs: N = {N}, alpha = {alphas[0]} .. {alphas[-1]}, {seeds} seeds, "
          f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads")

    exact, t_exact = timed(lambda: [exact_minimum(X, W0, BETA, LAM, RHO, ETA) for X in data])
    lbfgs, t_lbfgs = timed(lambda: train(data, W0, BETA, LAM, RHO, ETA, seed=0, device=device,
                                         method="lbfgs", progress=False))
    adam_b, t_adam_b = timed(lambda: train(data, W0, BETA, LAM, RHO, ETA, seed=0, device=device,
                                           method="adam", gtol=0.0, max_iter=epochs,
                                           progress=False))
    loop = []
    t0 = time.perf_counter()
    for i, X in enumerate(data):
        loop.append(per_run_adam(X, W0, epochs=epochs, device=device, seed=i))
        done = time.perf_counter() - t0
        print(f"\r(a) per-run Adam: {i + 1}/{len(data)} runs, {done:.0f} s", end="", flush=True)
    print()
    t_loop = time.perf_counter() - t0

    report = {
        "machine": f"{platform.processor() or platform.machine()}, {device}",
        "runs": len(runs), "N": N, "epochs_adam": epochs,
        "seconds": {"a_adam_loop": t_loop, "b_lbfgs_batched": t_lbfgs,
                    "b_adam_batched": t_adam_b, "c_exact": t_exact},
        "ratio_a_over_b_lbfgs": t_loop / t_lbfgs,
        "ratio_a_over_b_adam_batched": t_loop / t_adam_b,
        "ratio_a_over_c_exact": t_loop / t_exact,
        "distance": {
            "a_adam_loop": distance(loop, exact),
            "b_lbfgs_batched": distance(lbfgs, exact),
            "b_adam_batched": distance(adam_b, exact),
        },
        "lbfgs_converged": int(sum(r.converged for r in lbfgs)),
        "lbfgs_max_iter": int(max(r.n_iter for r in lbfgs)),
    }
    print(f"{'method':28s} {'seconds':>9s} {'a / this':>9s} {'max obj gap':>12s} "
          f"{'med obj gap':>12s} {'max eg gap':>11s} {'med eg gap':>11s}")
    rows = [("(a) per-run Adam loop", t_loop, "a_adam_loop"),
            ("(b) batched L-BFGS", t_lbfgs, "b_lbfgs_batched"),
            ("(b') batched Adam", t_adam_b, "b_adam_batched"),
            ("(c) exact minimum", t_exact, None)]
    for name, t, key in rows:
        d = report["distance"][key] if key else dict.fromkeys(
            ("objective_gap_max", "objective_gap_median", "eg_gap_max", "eg_gap_median"), 0.0)
        print(f"{name:28s} {t:9.2f} {t_loop / t:9.1f} {d['objective_gap_max']:12.2e} "
              f"{d['objective_gap_median']:12.2e} {d['eg_gap_max']:11.2e} "
              f"{d['eg_gap_median']:11.2e}")
    print(f"L-BFGS: {report['lbfgs_converged']}/{len(runs)} runs converged, "
          f"at most {report['lbfgs_max_iter']} iterations")
    if args.json:
        atomic_write_text(args.json, json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
