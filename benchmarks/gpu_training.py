"""GPU trainer benchmark: batched Adam on CUDA against the same on CPU, and the paper's
own training loop as the baseline.

The problem of the paper's code at N = 4000: alpha = 0.4, 0.8, ..., 5.2 (13 values),
5 seeds each (65 runs), beta = lam = rho = eta = 1, full-batch Adam (learning rate 1e-3)
for a fixed number of epochs. Every trainer sees the same 65 data sets.

- symrep: ``symrep.simulate.train(..., method="adam", gtol=0)``, all 65 runs in one
  batch, on CPU and, when one is available, on CUDA, for E epochs. The time per epoch is
  the optimiser's loop (taken from the trainer's DEBUG log line) divided by E, so that
  the one-time set-up (data moments C = X^T X / N, initialisation, results) is left out;
  the set-up is reported on its own.
- baseline (``--baseline PATH``): ``batchfit_linearvae`` of the paper's repository
  (https://github.com/Yuma-Ichikawa/vae-replica, files ``src/vae.py``, ``src/utils.py``),
  imported from a local clone and run as published, one run after the other, on the same
  data sets (float32, as its code does), on the same devices. ``--baseline-runs K`` times
  K of the 65 runs (spread over the alphas) and scales their time to 65 runs.

Without a GPU the script says so and reports the CPU part only (exit status 0).
``--update-docs`` writes the result into ``docs/benchmarks.md``, between the markers of
its section.

Usage::

    python benchmarks/gpu_training.py [--N 4000] [--epochs 5] [--gpu-epochs 100] [--baseline PATH]
        [--baseline-runs K] [--dtype float32|float64] [--json OUT] [--update-docs]

Memory: the 65 data sets hold sum(P) x N = 728,000 x 4,000 numbers at N = 4000 (23 GB
in float64 on the host) and the batched trainer 65 N x N moment matrices (4.2 GB in
float32 on the device).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import platform
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from paper_baseline import CLONE_HINT, load_baseline

from symrep.io import atomic_write_text
from symrep.simulate import sample_scm, train

ALPHAS = tuple(0.4 * k for k in range(1, 14))
SEEDS = 5
BETA = LAM = RHO = ETA = 1.0
LR = 1e-3
DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
BEGIN, END = "<!-- gpu_training: begin -->", "<!-- gpu_training: end -->"


def datasets(N):
    """The 65 data sets (alpha-major), float64, and the feature column.

    Drawn on threads (NumPy's generators release the GIL), each from its own seed, so
    the sets do not depend on the number of threads; ``force`` because the memory check
    reads a machine whose RAM grows on demand as too small.
    """
    jobs = [(max(1, round(a * N)), 1000 * i + s) for i, a in enumerate(ALPHAS)
            for s in range(SEEDS)]
    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        data = list(pool.map(
            lambda job: sample_scm(job[0], N, RHO, ETA, seed=job[1], force=True)[0], jobs))
    return data, np.ones((N, 1))


class _LoopSeconds(logging.Handler):
    """Takes the optimiser's own time from the trainer's DEBUG line ("adam: 65 of 65
    run(s) converged, 5 to 5 iterations, 1.23 s"): the epochs without the set-up."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.seconds = None

    def emit(self, record):
        found = re.search(r"iterations, ([0-9.]+) s$", record.getMessage())
        if found:
            self.seconds = float(found.group(1))


def time_symrep(data, W0, *, device, epochs, dtype):
    """Seconds per epoch of the batched trainer (all runs at once), and its set-up (data
    moments, initialisation, results)."""
    logger = logging.getLogger("symrep.simulate.training")
    handler = _LoopSeconds()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        if device.type == "cuda":  # warm-up: CUDA context, kernels, allocator
            train(data[:2], W0, BETA, LAM, method="adam", gtol=0, max_iter=2, seed=0,
                  device=device, dtype=dtype, progress=False, force=True)
        start = time.perf_counter()
        runs = train(data, W0, BETA, LAM, RHO, ETA, seed=0, device=device, method="adam",
                     gtol=0, max_iter=epochs, lr=LR, dtype=dtype, progress=False,
                     force=True)
        total = time.perf_counter() - start
    finally:
        logger.removeHandler(handler)
    if not all(r.n_iter == epochs for r in runs):
        raise SystemExit("a run stopped before its epochs: the timing is not per epoch")
    return handler.seconds / epochs, total - handler.seconds


def time_baseline(path, data, *, device, epochs, runs):
    """Seconds per epoch of the baseline for all 65 runs, one run after another (``runs``
    of them timed, spread over the alphas, scaled to 65)."""
    LinearVAE, fit = load_baseline(path)
    picked = np.unique(np.linspace(0, len(data) - 1, runs).round().astype(int))

    def one(k, n):
        X = torch.as_tensor(data[k], dtype=torch.float32, device=device)
        torch.manual_seed(k)
        model = LinearVAE(X.shape[1], 1).to(device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # its progress prints
            fit(X, model, num_epoch=n, lr=LR, beta=BETA, reg_param=LAM,
                check_interval=n + 1, device=device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    one(int(picked[0]), 1)  # warm-up
    total = sum(one(int(k), epochs) for k in picked) / epochs
    return total * len(data) / len(picked), len(picked)


def devices():
    """CUDA first, when there is one: the part a lent GPU is for is measured before the
    slower CPU part."""
    out = [torch.device("cpu")]
    if torch.cuda.is_available():
        out.insert(0, torch.device("cuda"))
    return out


def report_lines(result):
    lines = [f"N = {result['N']}, {result['runs']} runs (sum P = {result['P_total']}), "
             + ", ".join(f"{n} timed epochs on {dev}"
                         for dev, n in result["epochs_by_device"].items())
             + f", {result['dtype']}; "
             f"{result['machine']}"]
    lines.append("")
    lines.append("| trainer | device | s / epoch (65 runs) | set-up (s) | baseline / this |")
    lines.append("|---|---|---:|---:|---:|")
    for dev, t in result["symrep"].items():
        base = result["baseline"].get(dev)
        ratio = f"{base / t['per_epoch']:.1f}" if base else ""
        lines.append(f"| symrep batched Adam | {dev} | {t['per_epoch']:.4g} | "
                     f"{t['setup']:.3g} | {ratio} |")
    for dev, t in result["baseline"].items():
        lines.append(f"| baseline (vae-replica, one run after another) | {dev} | {t:.4g} | | "
                     "1.0 |")
    if "cuda" in result["symrep"]:
        ratio = result["symrep"]["cpu"]["per_epoch"] / result["symrep"]["cuda"]["per_epoch"]
        lines.append("")
        lines.append(f"symrep batched Adam, CPU / CUDA per epoch: {ratio:.1f}")
    else:
        lines.append("")
        lines.append("No GPU available: the CUDA line was not measured.")
    if not result["baseline"]:
        lines.append(f"Baseline not run: clone it ({CLONE_HINT}) and pass --baseline PATH.")
    elif result["baseline_runs"] < result["runs"]:
        lines.append(f"Baseline: {result['baseline_runs']} of {result['runs']} runs timed, "
                     "scaled to all runs.")
    return lines


def write_doc(lines, command):
    section = f"{BEGIN}\n`{command}`\n\n" + "\n".join(lines) + "\n" + END
    doc = DOC.read_text()
    if BEGIN in doc:
        doc = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: section, doc,
                     flags=re.S)
    else:
        doc = doc.rstrip("\n") + ("\n\n## GPU training: batched Adam on CUDA and CPU, the "
                                  "paper's training loop\n\n" + section + "\n")
    atomic_write_text(DOC, doc)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", type=int, default=4000)
    ap.add_argument("--epochs", type=int, default=5,
                    help="timed epochs on the CPU (after warm-up)")
    ap.add_argument("--gpu-epochs", type=int, default=100,
                    help="timed epochs on CUDA, where an epoch takes milliseconds")
    ap.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    ap.add_argument("--baseline", default=None,
                    help=f"local clone of the paper's repository ({CLONE_HINT})")
    ap.add_argument("--baseline-runs", type=int, default=65,
                    help="baseline runs timed, spread over the alphas (default all 65)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--update-docs", action="store_true")
    args = ap.parse_args(argv)
    dtype = getattr(torch, args.dtype)
    data, W0 = datasets(args.N)
    result = {
        "N": args.N, "runs": len(data), "P_total": int(sum(x.shape[0] for x in data)),
        "dtype": args.dtype,
        "machine": (f"{platform.processor() or platform.machine()}, "
                    f"{torch.get_num_threads()} torch threads"
                    + (f", {torch.cuda.get_device_name()}" if torch.cuda.is_available()
                       else ", no GPU")),
        "symrep": {}, "baseline": {}, "baseline_runs": 0, "epochs_by_device": {},
    }
    if not torch.cuda.is_available():
        print("No GPU available: only the CPU part runs.", flush=True)
    for dev in devices():
        epochs = args.gpu_epochs if dev.type == "cuda" else args.epochs
        result["epochs_by_device"][dev.type] = epochs
        per_epoch, setup = time_symrep(data, W0, device=dev, epochs=epochs, dtype=dtype)
        result["symrep"][dev.type] = {"per_epoch": per_epoch, "setup": setup}
        print(f"symrep batched Adam on {dev.type}: {per_epoch:.4g} s per epoch "
              f"(set-up {setup:.3g} s)", flush=True)
        if args.baseline is not None:
            seconds, timed = time_baseline(args.baseline, data, device=dev,
                                           epochs=epochs, runs=args.baseline_runs)
            result["baseline"][dev.type], result["baseline_runs"] = seconds, timed
            print(f"baseline on {dev.type}: {seconds:.4g} s per epoch for {len(data)} runs",
                  flush=True)
        if args.json:  # after each device: a run cut short keeps what it measured
            atomic_write_text(args.json, json.dumps(result, indent=2) + "\n")
    if args.baseline is None:
        print(f"Baseline not run: clone it ({CLONE_HINT}) and pass --baseline PATH.")
    lines = report_lines(result)
    print("\n".join(lines))
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=2) + "\n")
    if args.update_docs:
        command = ".venv/bin/python benchmarks/gpu_training.py " + " ".join(
            sys.argv[1:] if argv is None else argv).replace("--update-docs", "").strip()
        write_doc(lines, command.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
