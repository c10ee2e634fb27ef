"""Errors of the noise and signal strength estimators on spiked-covariance data.

Draws data with known (eta, rho) (symrep.simulate.data.sample_scm) and prints a Markdown
table of the relative errors of symrep.realdata.spectrum.estimate_spectrum: the default
Marchenko-Pastur fit (eta, rho_1, rho_2, spikes found) and the paper's cumulative
estimator at cutoffs 0.8, 0.9, 0.95. The output is recorded in docs/realdata_spectrum.md.

    .venv/bin/python benchmarks/spectrum_estimators.py            # about a minute
    .venv/bin/python benchmarks/spectrum_estimators.py --quick    # N = 400 only
"""

from __future__ import annotations

import argparse
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from symrep.realdata.spectrum import cumulative_noise, estimate_spectrum  # noqa: E402
from symrep.simulate.data import sample_scm  # noqa: E402

CUTOFFS = (0.8, 0.9, 0.95)
#: (P, N, rho): gamma = 1/4 at two sizes (the errors of a consistent estimator shrink)
#: and gamma = 2 (P < N)
CASES = [(1600, 400, (4.0, 2.0)), (6400, 1600, (4.0, 2.0)), (600, 1200, (8.0, 5.0)),
         (1000, 2000, (8.0, 5.0))]
ETAS = (0.5, 1.0, 2.0)


def _pct(values):
    values = 100 * np.asarray(values)
    return f"{values.mean():+.1f} (max {np.abs(values).max():.1f})"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="data sets per row (default 5)")
    parser.add_argument("--quick", action="store_true", help="only N = 400")
    args = parser.parse_args(argv)
    cases = CASES[:1] if args.quick else CASES
    print("Relative errors in %: mean over data sets (largest absolute value).\n")
    print("| N | P | gamma | rho | eta | MP: eta | MP: rho_1 | MP: rho_2 | spikes found | "
          + " | ".join(f"cumulative {c}: eta" for c in CUTOFFS) + " |")
    print("|" + "---|" * (9 + len(CUTOFFS)))
    for P, N, rho in cases:
        for eta in ETAS:
            err_eta, err_r1, err_r2, found = [], [], [], []
            cumulative = {c: [] for c in CUTOFFS}
            for seed in range(args.seeds):
                X, _ = sample_scm(P, N, rho, eta, seed=seed)
                s = estimate_spectrum(X)
                err_eta.append(s.eta / eta - 1)
                err_r1.append(s.rho[0] / rho[0] - 1)
                err_r2.append(s.rho[1] / rho[1] - 1 if s.n_spikes > 1 else np.nan)
                found.append(s.n_spikes)
                for c, value in cumulative_noise(X, CUTOFFS).items():
                    cumulative[c].append(value / eta - 1)
            print(f"| {N} | {P} | {N / P:g} | {rho} | {eta:g} | {_pct(err_eta)} | "
                  f"{_pct(err_r1)} | {_pct(err_r2)} | {','.join(map(str, found))} | "
                  + " | ".join(_pct(cumulative[c]) for c in CUTOFFS) + " |")


if __name__ == "__main__":
    main()
