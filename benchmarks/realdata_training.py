"""Time per epoch of 16 MLP VAEs on digits-sized data: one batched model vs one run at a time.

P = 1500 samples, N = 64 inputs (the size of scikit-learn's 8 x 8 digits), the MLP VAE of
App. D (H = 128, L = 2), mini-batch 128, Adam; 16 runs = 4 betas x 4 seeds. Both ways
train the same runs (each run trains identically alone and in the batch), so the ratio
is the gain of batching. One torch thread by default: on a shared two-core machine two
threads made both timings erratic (up to 40x slower) whenever other work ran.
Usage: ``python benchmarks/realdata_training.py [--epochs 3] [--threads 1]``.
"""

import argparse
import time

import torch

from symrep.realdata.training import train_vaes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    X = torch.rand(1500, 64, generator=torch.Generator().manual_seed(0))
    betas, seeds = [0.1, 0.5, 1.0, 2.0], [0, 1, 2, 3]
    kw = dict(kind="mlp", epochs=args.epochs, batch_size=128, device="cpu")
    train_vaes(X[:256], betas, seeds=seeds, **{**kw, "epochs": 1})  # warm-up

    start = time.perf_counter()
    train_vaes(X, betas, seeds=seeds, **kw)
    batched = (time.perf_counter() - start) / args.epochs

    start = time.perf_counter()
    for beta in betas:
        for seed in seeds:
            train_vaes(X, [beta], seeds=[seed], **kw)
    sequential = (time.perf_counter() - start) / args.epochs

    print(f"16 MLP VAEs, P = 1500, N = 64, {torch.get_num_threads()} threads: "
          f"{batched:.3f} s/epoch batched, {sequential:.3f} s/epoch one after another, "
          f"ratio {sequential / batched:.1f}x")


if __name__ == "__main__":
    main()
