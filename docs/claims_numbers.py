"""The numbers quoted on docs/claims.md: each qualitative claim of the paper, computed.

Run from the repository root (about 100 s on two cores without --finite-n; see "Stated
times" in docs/benchmarks.md):

    .venv/bin/python docs/claims_numbers.py                   # RS theory only
    .venv/bin/python docs/claims_numbers.py --finite-n        # + exact finite-N checks

Everything is at rho = eta = 1 (the paper's minimal setting) unless a table says
otherwise. All RS numbers come from ``symrep.solve`` / ``symrep.solvers.solve_arrays``
(the lowest-free-energy stationary point); the asymptotic ones from
``symrep.asymptotics``.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import sympy as sp
from scipy.optimize import minimize_scalar

import symrep
from symrep import asymptotics
from symrep import symbols as S
from symrep.solvers import PHASES, solve_arrays

RHO = ETA = 1.0
LEARNING = PHASES.index("learning")
REGULARIZED = PHASES.index("regularized")


def heading(text):
    print(f"\n## {text}\n")


def fmt(x, digits=4):
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    if math.isinf(x):
        return "inf"
    return f"{x:.{digits}g}"


def table(header, rows):
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(fmt(v) if not isinstance(v, str) else v for v in row) + " |")


def values(lam, alpha=None):
    """Numbers for the SymPy symbols of the parameters (rho = RHO, eta = ETA)."""
    out = {S.rho: RHO, S.eta: ETA, S.lam: lam}
    if alpha is not None:
        out[S.alpha] = alpha
    return out


def grid_solve(alpha, beta, lam):
    return solve_arrays(alpha, beta, lam, RHO, ETA, errors="mask")


# ---------------------------------------------------------------------------------------
# Claim 1: interpolation peak at alpha ~ 1 for small beta and lam
# ---------------------------------------------------------------------------------------
def claim1():
    heading("Claim 1: the interpolation peak of eg(alpha)")
    alpha = np.union1d(np.geomspace(0.01, 20, 4001), [1.0])
    lams = (0.01, 0.1, 0.5, 1.0, 2.0, 10.0)
    betas = (0.05, 0.1, 0.5, 1.0, 1.5)
    print("Cells: 'alpha_max: eg_max', the largest eg over 0.01 <= alpha <= 20; '<= 0.01'")
    print("where it is at the small-alpha end of the range; 'none' where eg never exceeds")
    print("its small-alpha value rho (no peak). Rows lam, columns beta.\n")
    rows = []
    for lam in lams:
        row = [f"lam = {lam:g}"]
        for beta in betas:
            eg = grid_solve(alpha, beta, lam)["eg"]
            k = int(np.nanargmax(eg))
            interior = 0 < k < len(alpha) - 1 and eg[k] > eg[0] + 1e-9
            if interior:
                row.append(f"{alpha[k]:.3g}: {eg[k]:.3f}")
            elif k == 0 and eg[0] > RHO + 1e-9:  # largest at the small-alpha end
                row.append(f"<= {alpha[0]:g}: {eg[0]:.3f}")
            else:
                row.append("none")
        rows.append(row)
    table(["", *[f"beta = {b:g}" for b in betas]], rows)
    print("\neg as alpha -> 0 at beta = 0.5 (the phase in brackets):")
    for lam in (0.01, 0.1, 1.0):
        pts = [symrep.solve(a, 0.5, lam, RHO, ETA) for a in (1e-5, 1e-3)]
        print(f"  lam = {lam:g}: " + ", ".join(
            f"eg(alpha = {r.alpha:g}) = {r.eg:.4f} ({r.phase})" for r in pts))
    print("\nThe cusp at alpha = 1 (lam = 1, beta = 0.5): one-sided difference quotients")
    print("of eg; from the right they grow like h^(-1/2) (a square-root onset of learning).")
    e1 = symrep.solve(1.0, 0.5, 1.0, RHO, ETA).eg
    for h in (1e-4, 1e-6, 1e-8):
        left = (e1 - symrep.solve(1 - h, 0.5, 1.0, RHO, ETA).eg) / h
        right = (symrep.solve(1 + h, 0.5, 1.0, RHO, ETA).eg - e1) / h
        print(f"  h = {h:g}: left {left:+.4f}, right {right:+.1f}")


# ---------------------------------------------------------------------------------------
# Claim 2: plateau eg = rho whose length grows with beta; no decrease past a threshold
# ---------------------------------------------------------------------------------------
def learning_onset(beta, lam, alpha_max=1e6):
    """Smallest alpha with the learning phase (bisection), or inf below alpha_max."""
    alpha = np.geomspace(1e-3, alpha_max, 1200)
    ph = grid_solve(alpha, beta, lam)["phase"]
    learn = np.nonzero(ph == LEARNING)[0]
    if learn.size == 0:
        return math.inf, alpha, ph
    k = learn[0]
    if not np.all(ph[k:] == LEARNING):
        raise AssertionError(f"learning phase not an interval in alpha at beta={beta}")
    lo, hi = (alpha[k - 1], alpha[k]) if k > 0 else (0.0, alpha[0])
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if symrep.solve(mid, beta, lam, RHO, ETA).phase == "learning":
            hi = mid
        else:
            lo = mid
    return hi, alpha, ph


def phase_segments(alpha, phase):
    """'phase [from, to)' runs along a grid, boundaries to grid precision."""
    out, k = [], 0
    while k < len(alpha):
        j = k
        while j + 1 < len(alpha) and phase[j + 1] == phase[k]:
            j += 1
        upper = f"{alpha[j + 1]:.3g})" if j + 1 < len(alpha) else f"{alpha[j]:.3g}]"
        out.append(f"{PHASES[phase[k]]} [{alpha[k]:.3g}, {upper}")
        k = j + 1
    return " -> ".join(out)


def claim2():
    heading("Claim 2: the plateau eg = rho and its length (lam = 1)")
    lam = 1.0
    print("Phases along alpha (grid of 1200 points, 1e-3 <= alpha <= 1e6): in the")
    print("regularized phase the optimum is collapsed (W = 0) and eg = rho = 1 exactly; in")
    print("the overfitting phase eg > rho; learning (eg < rho) starts at alpha_c, located by")
    print("bisection. The large-alpha estimate alpha_c ~ c/(beta - rho - eta) comes from the")
    print("1/alpha expansion of the collapse threshold, beta_c = rho + eta + c/alpha, with")
    stab = asymptotics.collapsed_stability()
    c = float(stab.threshold_correction.subs(values(lam)))
    print(f"c = {c:.4g} at lam = 1.\n")
    rows = []
    for beta in (0.1, 0.5, 1.0, 1.5, 1.7, 1.75, 1.8, 1.9, 1.95, 1.99, 2.0, 2.5, 3.0):
        onset, alpha, ph = learning_onset(beta, lam)
        eg = grid_solve(alpha, beta, lam)["eg"]
        est = c / (beta - RHO - ETA) if beta < RHO + ETA else math.inf
        rows.append([f"{beta:g}", phase_segments(alpha, ph), onset, f"{np.nanmin(eg):.4f}", est])
    table(["beta", "phases along alpha", "alpha_c (learning onset)", "min eg, alpha <= 1e6",
           "large-alpha estimate of alpha_c"], rows)


# ---------------------------------------------------------------------------------------
# Claim 3: inevitable collapse beyond beta = rho + eta
# ---------------------------------------------------------------------------------------
def collapse_threshold_numeric(alpha, lam, beta_max=60.0):
    """sup{beta: learning} at (alpha, lam) from the RS optimum, by bisection."""
    beta = np.geomspace(1e-3, beta_max, 3000)
    ph = grid_solve(alpha, beta, lam)["phase"]
    learn = np.nonzero(ph == LEARNING)[0]
    if learn.size == 0:
        return None
    k = learn[-1]
    if k == len(beta) - 1:
        return math.inf
    lo, hi = beta[k], beta[k + 1]
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if symrep.solve(alpha, mid, lam, RHO, ETA).phase == "learning":
            lo = mid
        else:
            hi = mid
    return lo


def claim3(finite_n=False):
    heading("Claim 3: the collapse threshold beta_c(alpha) against rho + eta = 2")
    stab = asymptotics.collapsed_stability()
    spike = stab.spike_threshold
    corr = stab.threshold_correction
    alphas = (1.5, 2.0, 5.0, 10.0, 100.0, 1000.0, 10000.0)
    lams = (0.0, 0.1, 0.5, 0.8, 1.0, 2.0)
    print("beta_c(alpha): the largest beta at which the RS optimum is in the learning phase")
    print("(bisection on the phase of symrep.solve). In brackets: the linear-stability")
    print("threshold along the spike eigenvalue (asymptotics.collapsed_stability().")
    print("spike_threshold); c: the coefficient of 1/alpha in beta_c = rho + eta + c/alpha.\n")
    rows = []
    for lam in lams:
        row = [f"lam = {lam:g}"]
        for a in alphas:
            num = collapse_threshold_numeric(a, lam)
            lin = float(spike.subs(values(lam, a)))
            row.append(f"{fmt(num, 6)} ({lin:.6g})")
        c = float(corr.subs(values(lam)))
        row.append(f"{0.0 if abs(c) < 1e-12 else c:+.4g}")
        # the largest threshold over alpha > eta^2/rho^2 (where the spike exists)
        curve = sp.lambdify(S.alpha, spike.subs(values(lam)), "numpy")
        # (from just above alpha = eta^2/rho^2, where the spike leaves the bulk: exactly
        # there the learning and overfitting branches are degenerate)
        grid = np.geomspace(1.001 * ETA**2 / RHO**2, 1e6, 20001)
        k = int(np.argmax(curve(grid)))
        row.append(f"{fmt(collapse_threshold_numeric(grid[k], lam), 5)} at alpha = "
                   f"{grid[k]:.4g}")
        rows.append(row)
    table(["", *[f"alpha = {a:g}" for a in alphas], "c", "max over alpha"], rows)
    print("\nBelow alpha = eta^2/rho^2 = 1 there is no learning phase at any beta:")
    for lam in (0.0, 1.0):
        print(f"  lam = {lam:g}: beta_c(alpha = 0.5) = "
              f"{fmt(collapse_threshold_numeric(0.5, lam))}, beta_c(alpha = 0.99) = "
              f"{fmt(collapse_threshold_numeric(0.99, lam))} ('-': none)")
    lam_star = ETA * (RHO + ETA) ** 2 / (RHO * ((RHO + ETA) ** 2 + 1))
    print(f"\nc > 0 (learning reaches above rho + eta at finite alpha) iff lam < "
          f"eta (rho+eta)^2 / (rho ((rho+eta)^2 + 1)) = {lam_star:.4g} here.")
    print("\nbeta = 2.2 > rho + eta: the alphas with the learning phase, per lam:")
    alpha = np.geomspace(0.01, 1e4, 4000)
    for lam in (0.0, 0.1, 0.5, 1.0):
        ph = grid_solve(alpha, 2.2, lam)["phase"]
        learn = alpha[ph == LEARNING]
        span = f"{learn.min():.3g} <= alpha <= {learn.max():.4g}" if learn.size else "none"
        print(f"  lam = {lam:g}: {span}")
    alpha = np.linspace(0.9, 2.2, 1301)
    r = grid_solve(alpha, 3.0, 0.0)
    learn, below = alpha[r["phase"] == LEARNING], alpha[r["eg"] < RHO - 1e-12]
    k = int(np.argmin(r["eg"]))
    print(f"\nlam = 0, beta = 3 (Appendix E.1 figure): learning for {learn.min():.3g} <= alpha"
          f" <= {learn.max():.4g}; eg < rho for {below.min():.3g} <= alpha <= {below.max():.4g};"
          f" min eg = {r['eg'][k]:.4f} at alpha = {alpha[k]:.3g} (grid step 0.001)")
    if finite_n:
        from symrep.simulate.experiment import simulate

        print("\nExact finite-N optimum (N = 2000, 4 data sets) at beta = 2.3 > rho + eta:")
        for a, lam in ((3.0, 0.1), (3.0, 0.0), (20.0, 0.1)):
            r = symrep.solve(a, 2.3, lam, RHO, ETA)
            res = simulate(2000, a, 2.3, lam, RHO, ETA, seeds=4)
            eg = np.array([x.eg for x in res])
            m = np.array([abs(x.m) for x in res])
            print(f"  alpha = {a:g}, lam = {lam:g}: RS {r.phase}, eg = {r.eg:.4f}, m = {r.m:.4f};"
                  f" finite N: eg = {eg.mean():.4f} +- {eg.std(ddof=1) / 2:.4f},"
                  f" |m| = {m.mean():.4f}")


# ---------------------------------------------------------------------------------------
# Claim 4: the optimal beta depends on alpha, tends to eta with a 1/alpha correction
# ---------------------------------------------------------------------------------------
def optimal_beta_numeric(alpha, lam):
    """(beta_opt, eg_min, degenerate) minimising the RS eg over beta in (0, 3 (rho+eta)]."""
    beta = np.geomspace(1e-4, 3 * (RHO + ETA), 4000)
    eg = grid_solve(alpha, beta, lam)["eg"]
    k = int(np.nanargmin(eg))
    if abs(eg[k] - RHO) < 1e-12:  # the best is the collapsed model: any beta in a range
        return beta[np.isclose(eg, RHO, atol=1e-12, rtol=0)].min(), RHO, True
    lo, hi = beta[max(k - 1, 0)], beta[min(k + 1, len(beta) - 1)]
    res = minimize_scalar(lambda b: symrep.solve(alpha, b, lam, RHO, ETA).eg,
                          bounds=(lo, hi), method="bounded",
                          options={"xatol": 1e-10 * hi})
    return float(res.x), float(res.fun), False


def claim4():
    heading("Claim 4: the optimal beta against alpha")
    b0, b1 = asymptotics.optimal_beta_expansion()
    print(f"asymptotics.optimal_beta_expansion(): beta_opt = {b0} + beta1/alpha, beta1 = "
          f"{b1}\n")
    alphas = (0.5, 1.0, 1.5, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0)
    for lam in (0.0, 0.1, 1.0, 2.0):
        beta1 = float(b1.subs(values(lam)))
        print(f"lam = {lam:g} (beta1 = {beta1:+.4g}):\n")
        rows = []
        for a in alphas:
            bopt, egmin, degenerate = optimal_beta_numeric(a, lam)
            if degenerate:
                rows.append([f"{a:g}", f"any beta >= {bopt:.3g} (collapsed)", egmin, "-", "-",
                             "-"])
            else:
                rows.append([f"{a:g}", f"{bopt:.5f}", egmin, a * (bopt - ETA),
                             ETA + beta1 / a, a * a * (bopt - ETA - beta1 / a)])
        table(["alpha", "beta_opt", "eg at beta_opt", "alpha (beta_opt - eta)",
               "eta + beta1/alpha", "alpha^2 (beta_opt - eta - beta1/alpha)"], rows)
        print()


# ---------------------------------------------------------------------------------------
# Claim 5: the RD curve reaches Shannon's Gaussian R(D) only at large alpha
# ---------------------------------------------------------------------------------------
def distortion_limit(alpha, lam, h=1e-6):
    """D_min = lim_{beta -> 0} of the RS distortion at (alpha, lam).

    D(beta) = D_min + c1 beta + c2 beta^2 + ... near beta = 0, so Richardson's
    extrapolation from beta = h, 2h, 4h (h at the bottom of the accepted range) cancels
    the first two corrections: (8 D(h) - 6 D(2h) + D(4h))/3, off by O(h^3). The same
    from 2h, 4h, 8h must agree, as a check (a phase change near beta = 0 would break it).
    """
    betas = h * np.array([1.0, 2.0, 4.0, 8.0])
    d = grid_solve(alpha, betas, lam)["distortion"]
    fine = (8 * d[0] - 6 * d[1] + d[2]) / 3
    coarse = (8 * d[1] - 6 * d[2] + d[3]) / 3
    if not abs(fine - coarse) <= 1e-9 * abs(fine):
        raise AssertionError(f"D_min at alpha = {alpha:g}: extrapolations {fine!r} and "
                             f"{coarse!r} disagree")
    return float(fine)


def claim5():
    heading("Claim 5: rate-distortion curves against Shannon's R(D) (lam = 1)")
    D, limit = asymptotics.rd_curve_limit()
    print(f"asymptotics.rd_curve_limit(): R = {limit}; minus Shannon's: "
          f"{asymptotics.rd_limit_difference()}\n")
    print("Rate in excess of Shannon's R(D) = log((rho+eta)/(2D))/2 at fixed distortion D,")
    print("on the RS curve traced by beta; '-' where the curve does not reach that D")
    print("(D_min: its smallest distortion, the limit beta -> 0, extrapolated).\n")
    betas = np.geomspace(1e-5, 3 * (RHO + ETA), 4000)
    targets = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9)
    rows = []
    for a in (1.0, 2.0, 5.0, 20.0, 100.0, 1000.0, 10000.0):
        r = grid_solve(a, betas, 1.0)
        dist, rate = r["distortion"], r["rate"]
        order = np.argsort(dist)
        dist, rate = dist[order], rate[order]
        d_min = distortion_limit(a, 1.0)
        row = [f"{a:g}", d_min]
        for t in targets:
            if t < dist.min():  # (the grid's smallest beta, 1e-5: D_min < t < it never occurs)
                row.append("-")
            else:
                shannon = 0.5 * math.log((RHO + ETA) / (2 * t))
                row.append(float(np.interp(t, dist, rate)) - shannon)
        rows.append(row)
    table(["alpha", "D_min", *[f"D = {t:g}" for t in targets]], rows)
    print("\nShannon's R(D) at these D: " + ", ".join(
        f"{0.5 * math.log((RHO + ETA) / (2 * t)):.4f}" for t in targets))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--finite-n", action="store_true",
                        help="also check claim 3 against the exact finite-N optimum")
    args = parser.parse_args()
    np.set_printoptions(precision=4)
    print(f"symrep {symrep.__version__}, rho = {RHO:g}, eta = {ETA:g}")
    claim1()
    claim2()
    claim3(args.finite_n)
    claim4()
    claim5()


if __name__ == "__main__":
    main()
