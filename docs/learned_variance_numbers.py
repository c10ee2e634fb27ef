"""Numbers of the section "Learned decoder variance" of docs/claims.md (RS solver).

Run: .venv/bin/python docs/learned_variance_numbers.py   (about a minute on two cores)
"""

from __future__ import annotations

import numpy as np

import symrep
from symrep.models import LearnedVarianceVAE
from symrep.solvers.units_phase_plane import collapse_thresholds


def thresholds():
    print("## collapse threshold beta_c (M = M* = 1)")
    print("| alpha | lam | rho | eta | linear VAE | learned variance | "
          "alpha->inf: rho+eta | (rho+eta)/eta |")
    print("|---|---|---|---|---|---|---|---|")
    for rho, eta in ((1.0, 1.0), (1.0, 0.5), (1.0, 2.0), (2.0, 0.5)):
        for lam in (0.0, 1.0):
            for alpha in (2.0, 10.0, 1e6):
                lin = collapse_thresholds(alpha, lam, rho, eta)[0, 0]
                lv = collapse_thresholds(alpha, lam, rho, eta,
                                         model=LearnedVarianceVAE())[0, 0]
                print(f"| {alpha:g} | {lam:g} | {rho:g} | {eta:g} | {lin:.6g} | {lv:.6g} "
                      f"| {rho + eta:g} | {(rho + eta) / eta:g} |")


def bbp():
    print("\n## beta = 1, lam = 0 around the BBP point alpha rho^2 = eta^2")
    print("| rho | eta | alpha / alpha_BBP | phase | m | Q | sigma2 |")
    print("|---|---|---|---|---|---|---|")
    for rho, eta in ((1.0, 1.0), (0.5, 1.0), (2.0, 0.5)):
        a_bbp = eta**2 / rho**2
        for x in (0.25, 0.5, 0.9, 0.99, 1.01, 1.1, 2.0, 10.0):
            r = symrep.solve(x * a_bbp, 1.0, 0.0, rho, eta, model=LearnedVarianceVAE())
            print(f"| {rho:g} | {eta:g} | {x:g} | {r.phase} | {r.m:.6g} | {r.Q:.6g} "
                  f"| {r.sigma2:g} |")


def collapse_scan():
    print("\n## beta = 1, lam = 0: phases over alpha (rho, eta as above)")
    for rho, eta in ((1.0, 1.0), (0.5, 1.0), (2.0, 0.5)):
        alpha = np.geomspace(1e-3, 1e4, 400)
        res = symrep.sweep(alpha, 1.0, 0.0, rho, eta, model=LearnedVarianceVAE())
        phases = sorted({("regularized", "overfitting", "learning")[int(p)]
                         for p in res["phase"].values})
        qmin = float(res["Q"].min())
        print(f"rho={rho:g} eta={eta:g}: phases met {phases}; min Q {qmin:.4g}")


def units():
    print("\n## M = 3, M* = 1, beta = 1, lam = 0 (rho = 1, eta = 1 and rho = 2, eta = 0.5)")
    print("| rho | eta | alpha | phases | Q_ii | unit free energies |")
    print("|---|---|---|---|---|---|")
    model = LearnedVarianceVAE(3, 1)
    for rho, eta in ((1.0, 1.0), (2.0, 0.5)):
        for alpha in (0.5, 2.0, 10.0):
            r = symrep.solve(alpha, 1.0, 0.0, rho, eta, model=model)
            q = ", ".join(f"{v:.4g}" for v in np.diag(r.Q))
            f = ", ".join(f"{v:.4g}" for v in r.unit_free_energy)
            print(f"| {rho:g} | {eta:g} | {alpha:g} | {', '.join(r.phases)} | {q} | {f} |")
    print("\n## M = 3, M* = 1, lam = 0, rho = eta = 1, alpha = 2: phases against beta")
    for beta in (0.5, 1.0, 1.5, 1.9, 2.1, 3.0):
        r = symrep.solve(2.0, beta, 0.0, 1.0, 1.0, model=model)
        print(f"beta={beta:g}: {', '.join(r.phases)}")


if __name__ == "__main__":
    thresholds()
    bbp()
    collapse_scan()
    units()
