"""Trainer benchmark: the paper's training loop against the batched trainer and the exact optimum.

The experiment of the paper's code: N = 250, alpha = 0.4, 0.8, ..., 5.2, 5 seeds,
beta = lam = rho = eta = 1. Every method sees the same data sets.

(a) the paper's own loop, ``batchfit_linearvae`` of its repository run as published from
    a local clone (``--baseline PATH``; see ``paper_baseline.py``): one run after
    another, full-batch Adam (lr 1e-3, float32, weights initialised N(0, 1), D = 1) for
    a fixed 15,000 epochs. ``--baseline-runs K`` trains K of the runs (one per alpha
    when K = 13), scales their time to all runs and measures their distance to the
    optimum; without ``--baseline`` (a) is left out and no ratio is printed;
(b) ``symrep.simulate.train`` with L-BFGS, all runs in one batch, to convergence;
(b') ``symrep.simulate.train`` with Adam, all runs in one batch, the same 15,000 epochs;
(c) ``symrep.simulate.exact_minimum`` for each run.

Reported: wall time of each method, time ratios measured in this one run, and the
distance of each method's result to the exact optimum (gap of the objective per N and
absolute gap of the signal recovery error eg), as maximum and median over runs.

Usage::

    python benchmarks/bench_trainers.py [--quick] [--device cpu|cuda] [--json OUT]
        [--baseline PATH] [--baseline-runs K]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import time

import numpy as np
import torch
from paper_baseline import CLONE_HINT, load_baseline

from symrep.io import atomic_write_text
from symrep.simulate import exact_minimum, sample_scm, train
from symrep.simulate.observables import observables_from_weights

BETA = LAM = RHO = ETA = 1.0


def paper_loop(fit_and_model, X, W0, *, epochs, device, seed):
    """One run of the paper's ``batchfit_linearvae`` as published, and its observables."""
    LinearVAE, fit = fit_and_model
    Xt = torch.as_tensor(X, dtype=torch.float32, device=device)
    torch.manual_seed(seed)
    model = LinearVAE(X.shape[1], 1).to(device)
    with contextlib.redirect_stdout(io.StringIO()):  # its progress prints
        _, model = fit(Xt, model, num_epoch=epochs, lr=1e-3, beta=BETA, reg_param=LAM,
                       check_interval=epochs + 1, device=device)
    W = model.dec.weight.detach().cpu().double().numpy()[:, 0]
    W_enc = model.mu.weight.detach().cpu().double().numpy()[0]
    return observables_from_weights(
        X, W0, W, W_enc, float(model.var.detach().cpu()[0]),
        beta=BETA, lam=LAM, rho=RHO, eta=ETA, method="paper-loop", converged=False,
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
    ap.add_argument("--baseline", default=None,
                    help=f"local clone of the paper's repository ({CLONE_HINT})")
    ap.add_argument("--baseline-runs", type=int, default=None,
                    help="runs of the paper's loop trained, spread over the alphas "
                         "(default all)")
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
    loop, t_loop, picked = [], None, []
    if args.baseline is not None:
        baseline = load_baseline(args.baseline)
        k = len(runs) if args.baseline_runs is None else args.baseline_runs
        picked = [int(i) for i in np.unique(np.linspace(0, len(runs) - 1, k).round())]
        t0 = time.perf_counter()
        for j, i in enumerate(picked):
            loop.append(paper_loop(baseline, data[i], W0, epochs=epochs, device=device,
                                   seed=i))
            done = time.perf_counter() - t0
            print(f"\r(a) paper's loop: {j + 1}/{len(picked)} runs, {done:.0f} s", end="",
                  flush=True)
        print()
        t_loop = (time.perf_counter() - t0) * len(runs) / len(picked)
    else:
        print(f"(a) not run: clone the paper's repository ({CLONE_HINT}) and pass "
              "--baseline PATH")

    seconds = {"b_lbfgs_batched": t_lbfgs, "b_adam_batched": t_adam_b, "c_exact": t_exact}
    dist = {"b_lbfgs_batched": distance(lbfgs, exact),
            "b_adam_batched": distance(adam_b, exact)}
    if t_loop is not None:
        seconds["a_paper_loop"] = t_loop
        dist["a_paper_loop"] = distance(loop, [exact[i] for i in picked])
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {device}",
        "runs": len(runs), "N": N, "epochs_adam": epochs, "seconds": seconds,
        "paper_loop_runs": len(picked),
        "ratios_a_over": ({key: t_loop / t for key, t in seconds.items()}
                          if t_loop is not None else None),
        "distance": dist,
        "adam_batched_epochs": sorted({int(r.n_iter) for r in adam_b}),
        "lbfgs_converged": int(sum(r.converged for r in lbfgs)),
        "lbfgs_max_iter": int(max(r.n_iter for r in lbfgs)),
    }
    print(f"{'method':28s} {'seconds':>9s} {'a / this':>9s} {'max obj gap':>12s} "
          f"{'med obj gap':>12s} {'max eg gap':>11s} {'med eg gap':>11s}")
    rows = [("(a) paper's loop", "a_paper_loop"), ("(b) batched L-BFGS", "b_lbfgs_batched"),
            ("(b') batched Adam", "b_adam_batched"), ("(c) exact minimum", "c_exact")]
    zero = dict.fromkeys(
        ("objective_gap_max", "objective_gap_median", "eg_gap_max", "eg_gap_median"), 0.0)
    for name, key in rows:
        if key not in seconds:
            continue
        t, d = seconds[key], dist.get(key, zero)
        ratio = f"{t_loop / t:9.1f}" if t_loop is not None else f"{'':9s}"
        print(f"{name:28s} {t:9.2f} {ratio} {d['objective_gap_max']:12.2e} "
              f"{d['objective_gap_median']:12.2e} {d['eg_gap_max']:11.2e} "
              f"{d['eg_gap_median']:11.2e}")
    if t_loop is not None and len(picked) < len(runs):
        print(f"(a): {len(picked)} of {len(runs)} runs trained; time scaled to all runs, "
              "distances over those runs")
    print(f"L-BFGS: {report['lbfgs_converged']}/{len(runs)} runs converged, "
          f"at most {report['lbfgs_max_iter']} iterations; batched Adam: epochs per run "
          f"{report['adam_batched_epochs']}")
    if args.json:
        atomic_write_text(args.json, json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
