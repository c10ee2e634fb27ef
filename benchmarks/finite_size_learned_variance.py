"""Learned decoder variance at finite N against its theory; writes
docs/learned_variance_finite_size.md.

The exact finite-N optimum of :class:`symrep.models.LearnedVarianceVAE`
(``exact_minimum(..., model=...)``) at one point per phase structure, N = 500, 1000,
2000 with 8 data sets each, against the replica theory of the model: the linear VAE at
the mapped point (the model's ``theory_parameters``: beta -> eta beta, lam -> eta lam)
with sigma^2 = eta at N = infinity (``symrep.solve(..., model=model)``), and at finite N
``finite_size_sigma2(distortion_train, eta, N)`` from the theory's training distortion.

Usage, from the root of the clone (about 2 minutes on two cores)::

    .venv/bin/python benchmarks/finite_size_learned_variance.py [--quick] [--out PATH]

``--quick`` runs N = 100, 200 with 4 data sets (a smoke test; it writes the page only
when --out is given).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time

import numpy as np
import torch

import symrep
from symrep.io import atomic_write_text
from symrep.models import LearnedVarianceVAE
from symrep.simulate import exact_minimum, sample_scm, train_model
from symrep.simulate.data import default_features

#: One point per phase structure of the learned model (its own beta, lam; the theory
#: runs at eta beta, eta lam). BBP: rho / eta = 1 / sqrt(alpha).
POINTS = {
    "learning": dict(M=1, rho=2.0, eta=0.5, alpha=2.0, beta=1.5, lam=0.2),
    "overfitting (below BBP, beta = 1, lam = 0)": dict(M=1, rho=0.5, eta=1.0, alpha=2.0,
                                                       beta=1.0, lam=0.0),
    "collapsed (above threshold)": dict(M=1, rho=1.0, eta=0.5, alpha=2.0, beta=6.0,
                                        lam=0.0),
    "M = 2, M* = 2: learning + collapsed": dict(M=2, rho=(3.0, 0.3), eta=0.8, alpha=2.0,
                                                 beta=4.0, lam=0.1),
}

#: Compared quantities; Q and m per unit (diagonal entries; the units in the canonical
#: order of the results, by decreasing Q).
SCALARS = ("eg", "rate", "distortion", "sigma2")


def model_of(point):
    """The learned-variance model of a point."""
    n_features = 1 if np.ndim(point["rho"]) == 0 else len(point["rho"])
    return LearnedVarianceVAE(point["M"], n_features)


def theory(point, N):
    """The theory's numbers at a point: the theory model at the mapped parameters.

    Parameters
    ----------
    point : dict
        M, rho, eta, alpha, beta, lam.
    N : int
        Input dimension (for the finite-N sigma^2 only).

    Returns
    -------
    dict
        Quantity -> value; ``sigma2`` is the finite-N stationary value, ``sigma2_inf``
        the N = infinity one; ``phases`` the theory's phases.
    """
    model = model_of(point)
    params = {k: point[k] for k in ("alpha", "beta", "lam", "rho", "eta")}
    r = symrep.solve(**params, model=model)
    # the same numbers as the theory model solved at the mapped point by hand
    mapped = model.theory_parameters(params)
    by_hand = symrep.solve(mapped["alpha"], mapped["beta"], mapped["lam"], mapped["rho"],
                           mapped["eta"], M=model.theory_model().M)
    for name in ("Q", "m", "eg", "rate", "distortion", "distortion_train"):
        if not np.allclose(getattr(r, name), getattr(by_hand, name), rtol=1e-10, atol=1e-12):
            raise AssertionError(f"solve(model=...) and the mapped solve differ in {name}")
    if not math.isclose(r.sigma2, model.theory_extras(params)["sigma2"], rel_tol=1e-12):
        raise AssertionError("solve(model=...).sigma2 is not the model's theory_extras")
    Q, m = np.atleast_2d(r.Q), np.atleast_2d(r.m)
    out = {f"Q_{i + 1}{i + 1}": float(Q[i, i]) for i in range(model.M)}
    out.update({f"m_{i + 1}{i + 1}": float(abs(m[i, i])) for i in range(min(model.M,
                                                                               model.Mstar))})
    out.update(eg=float(r.eg), rate=float(r.rate), distortion=float(r.distortion),
               sigma2=float(model.finite_size_sigma2(r.distortion_train, point["eta"], N)),
               sigma2_inf=float(r.sigma2))
    # sigma^2 less the data's variance per dimension, ||X||^2 / (P N), whose expectation
    # is (sum_k rho_k + N eta) / N: the O(1/N) term alone, without the noise of ||X||^2
    out["sigma2_gap"] = out["sigma2"] - (float(np.sum(point["rho"])) + N * point["eta"]) / N
    out["phases"] = tuple(getattr(r, "phases", (getattr(r, "phase", ""),)))
    return out


def simulated(point, N, seeds, first_seed=0):
    """Exact optima on ``seeds`` data sets: quantity -> array of values, and the time.

    Parameters
    ----------
    point : dict
        M, rho, eta, alpha, beta, lam.
    N : int
        Input dimension.
    seeds : int
        Data sets (seeds first_seed, first_seed + 1, ...).
    first_seed : int
        Seed of the first data set.

    Returns
    -------
    values : dict
        Quantity -> ndarray (seeds,).
    phases : dict
        Phase structure -> count.
    seconds : float
        Wall time of the exact optima (data included).
    """
    model = model_of(point)
    P = max(1, round(point["alpha"] * N))
    W0 = default_features(N, model.Mstar)
    values, phases = {}, {}
    start = time.perf_counter()
    for k in range(seeds):
        X, _ = sample_scm(P, N, point["rho"], point["eta"], W0=W0, seed=first_seed + k)
        r = exact_minimum(X, W0, point["beta"], point["lam"], point["rho"], point["eta"],
                          model=model)
        data_variance = float(np.einsum("ij,ij->", X, X)) / (P * N)
        Q, m = np.atleast_2d(r.Q), np.atleast_2d(r.m)
        row = {f"Q_{i + 1}{i + 1}": Q[i, i] for i in range(model.M)}
        row.update({f"m_{i + 1}{i + 1}": abs(m[i, i]) for i in range(min(model.M,
                                                                           model.Mstar))})
        row.update(eg=r.eg, rate=r.rate, distortion=r.distortion, sigma2=r.sigma2,
                   sigma2_gap=r.sigma2 - data_variance)
        for name, v in row.items():
            values.setdefault(name, []).append(float(v))
        key = tuple(r.as_units().phases) if hasattr(r, "as_units") else tuple(r.phases)
        phases[key] = phases.get(key, 0) + 1
    seconds = time.perf_counter() - start
    return {k: np.array(v) for k, v in values.items()}, phases, seconds


def compare(values, predicted):
    """Mean, standard error and (mean - theory) / SE of each quantity.

    Parameters
    ----------
    values : dict
        Quantity -> values over the data sets.
    predicted : dict
        Quantity -> theory.

    Returns
    -------
    dict
        Quantity -> (mean, sem, theory, difference, difference / sem).
    """
    out = {}
    for name, v in values.items():
        mean, sem = float(v.mean()), float(v.std(ddof=1) / math.sqrt(v.size))
        diff = mean - predicted[name]
        out[name] = (mean, sem, predicted[name], diff, diff / sem if sem > 0 else
                     (0.0 if diff == 0 else math.inf))
    return out


def run(Ns=(500, 1000, 2000), seeds=8, points=None, progress=False):
    """Every point and N: the comparison rows.

    Parameters
    ----------
    Ns : sequence of int
        Input dimensions.
    seeds : int
        Data sets per (point, N).
    points : dict, optional
        Default :data:`POINTS`.
    progress : bool
        One line per (point, N) on stderr.

    Returns
    -------
    list of dict
        ``point``, ``N``, ``table`` (:func:`compare`), ``phases``, ``theory_phases``,
        ``sigma2_inf``, ``seconds``.
    """
    rows = []
    for label, point in (points or POINTS).items():
        for N in Ns:
            predicted = theory(point, N)
            values, phases, seconds = simulated(point, N, seeds)
            rows.append(dict(point=label, N=N, table=compare(values, predicted),
                             phases=phases, theory_phases=predicted["phases"],
                             sigma2_inf=predicted["sigma2_inf"], seconds=seconds))
            if progress:
                print(f"{label}, N = {N}: {seconds:.1f} s", file=sys.stderr, flush=True)
    return rows


def training_check(Ns=(100, 200), seeds=2, points=None, progress=False):
    """torch L-BFGS on the printed SymPy objective against the exact optimum.

    Parameters
    ----------
    Ns : sequence of int
        Input dimensions.
    seeds : int
        Data sets per (point, N); the initialisation seed is the data set's.
    points : dict, optional
        Default :data:`POINTS`.
    progress : bool
        One line per run on stderr.

    Returns
    -------
    list of dict
        ``point``, ``N``, ``seed``, ``loss_rel`` (|trained - exact| / |exact| of the
        objective L / N), ``sigma2_rel``, ``Q_abs`` (largest |Q_ii| difference),
        ``n_iter``, ``converged``, ``grad_norm``, ``seconds`` (training), ``exact_seconds``.
    """
    out = []
    for label, point in (points or POINTS).items():
        model = model_of(point)
        for N in Ns:
            P = max(1, round(point["alpha"] * N))
            W0 = default_features(N, model.Mstar)
            for k in range(seeds):
                X, _ = sample_scm(P, N, point["rho"], point["eta"], W0=W0, seed=k)
                args = (X, W0, point["beta"], point["lam"], point["rho"], point["eta"])
                t0 = time.perf_counter()
                ex = exact_minimum(*args, model=model)
                t1 = time.perf_counter()
                tr = train_model(*args, model=model, seed=k)
                t2 = time.perf_counter()
                out.append(dict(
                    point=label, N=N, seed=k,
                    loss_rel=abs(tr.loss - ex.loss) / abs(ex.loss),
                    sigma2_rel=abs(tr.sigma2 - ex.sigma2) / ex.sigma2,
                    Q_abs=float(np.max(np.abs(np.diagonal(np.atleast_2d(tr.Q))
                                              - np.diagonal(np.atleast_2d(ex.Q))))),
                    n_iter=tr.n_iter, converged=tr.converged, grad_norm=tr.grad_norm,
                    seconds=t2 - t1, exact_seconds=t1 - t0))
                if progress:
                    print(f"train {label}, N = {N}, seed {k}: {t2 - t1:.1f} s",
                          file=sys.stderr, flush=True)
    return out


def training_markdown(checks):
    """The training table of the page.

    Parameters
    ----------
    checks : list of dict
        From :func:`training_check`.

    Returns
    -------
    str
        Markdown.
    """
    lines = [TRAINING_HEAD,
             "| point | N | seed | loss rel. error | sigma2 rel. error | max abs Q_ii error "
             "| iterations | converged | grad norm | training s | exact s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in checks:
        lines.append(f"| {c['point']} | {c['N']} | {c['seed']} | {c['loss_rel']:.1e} | "
                     f"{c['sigma2_rel']:.1e} | {c['Q_abs']:.1e} | {c['n_iter']} | "
                     f"{c['converged']} | {c['grad_norm']:.1e} | {c['seconds']:.2f} | "
                     f"{c['exact_seconds']:.3f} |")
    worst = max(c["loss_rel"] for c in checks)
    lines.append(f"\nLargest relative objective error: {worst:.1e}; training time "
                 f"{min(c['seconds'] for c in checks):.2f} to "
                 f"{max(c['seconds'] for c in checks):.2f} s per run.\n")
    return "\n".join(lines)


TRAINING_HEAD = """
## Training from the SymPy objective against the exact optimum

`symrep.simulate.train_model(X, W0, beta, lam, rho, eta, model=LearnedVarianceVAE(M, M*))`:
the model's `per_sample_objective()` and `regularizer()` printed to torch
(`sympy.lambdify`, `symrep/simulate/sympy_objective.py`), summed over the P samples, the
gradient by autograd; W, W~, log D and log sigma^2 trained by full-batch
`torch.optim.LBFGS` (strong Wolfe) in float64 on the CPU, W and W~ from
N(0, 1), log D = log sigma^2 = 0. Same points, the same data sets as the exact optimum.
"""


def _g(x):
    return f"{x:.5g}" if abs(x) >= 1e-4 or x == 0 else f"{x:.3e}"


def markdown(rows, seeds, total_seconds, host, training=""):
    """The page: per point a table per N, then the shrinking of the significant gaps.

    Parameters
    ----------
    rows : list of dict
        From :func:`run`.
    seeds : int
        Data sets per row.
    total_seconds : float
        Wall time of the whole run.
    host : str
        Where it ran.
    training : str
        The training section (:func:`training_markdown`), placed before the notes.

    Returns
    -------
    str
        Markdown.
    """
    lines = [PAGE_HEAD.format(seeds=seeds, host=host, seconds=total_seconds)]
    by_point = {}
    for row in rows:
        by_point.setdefault(row["point"], []).append(row)
    for label, point_rows in by_point.items():
        p = POINTS.get(label, {})
        lines.append(f"\n## {label}\n")
        if p:
            lines.append(f"M = {p['M']}, rho = {p['rho']}, eta = {p['eta']}, alpha = "
                         f"{p['alpha']}, beta = {p['beta']}, lam = {p['lam']} (theory: the "
                         f"linear VAE at beta = {p['eta'] * p['beta']:g}, lam = "
                         f"{p['eta'] * p['lam']:g}; sigma2 = {point_rows[0]['sigma2_inf']:g} "
                         "at N = infinity). Theory phases: "
                         f"{', '.join(point_rows[0]['theory_phases'])}.\n")
        lines.append("| N | quantity | mean | SE | theory | difference | difference / SE |")
        lines.append("|---|---|---|---|---|---|---|")
        for row in point_rows:
            for name, (mean, sem, pred, diff, z) in row["table"].items():
                lines.append(f"| {row['N']} | {name} | {_g(mean)} | {_g(sem)} | {_g(pred)} "
                             f"| {_g(diff)} | {z:.2f} |")
        lines.append("")
        for row in point_rows:
            counts = "; ".join(f"{', '.join(k)}: {v}" for k, v in row["phases"].items())
            lines.append(f"- N = {row['N']}: phases {counts} ({row['seconds']:.1f} s)")
        lines.append("")
        flagged = sorted({name for row in point_rows
                          for name, t in row["table"].items() if abs(t[4]) > 3})
        if flagged:
            lines.append("Quantities more than 3 SE from the theory at some N, the "
                         "difference by N:\n")
            for name in flagged:
                diffs = ", ".join(f"N = {row['N']}: {_g(row['table'][name][3])} "
                                  f"({row['table'][name][4]:.1f} SE)" for row in point_rows)
                ratio = (abs(point_rows[-1]["table"][name][3])
                         / max(abs(point_rows[0]["table"][name][3]), 1e-300))
                n_ratio = point_rows[-1]["N"] / point_rows[0]["N"]
                lines.append(f"- {name}: {diffs}; |difference| x {ratio:.2f} over N x "
                             f"{n_ratio:g}")
            lines.append("")
        else:
            lines.append("Every quantity within 3 SE of the theory at every N.\n")
    return "\n".join(lines) + training + PAGE_TAIL


PAGE_HEAD = """# Learned decoder variance: the finite-N optimum against the theory

Generated by `benchmarks/finite_size_learned_variance.py` ({seeds} data sets per
row; {seconds:.0f} s on {host}). Do not edit by hand.

The model is the linear beta-VAE with one learned decoder variance sigma^2
(`symrep.models.LearnedVarianceVAE`). Its finite-N ground truth is the exact global
optimum, `exact_minimum(X, W0, beta, lam, rho, eta, model=LearnedVarianceVAE(M, M*))`:
at fixed sigma^2 the optimum over (W, W~, D) is the linear VAE's exact optimum at
(sigma^2 beta, sigma^2 lam), and the objective is
L_lin*(sigma^2 beta, sigma^2 lam) / sigma^2 + (P N / 2) log sigma^2, a function of
sigma^2 alone minimised globally (a scan in log sigma^2 over the interval that contains
every stationary point, Brent's method, then the stationarity
sigma^2 = sum_mu E_q ||x^mu - W z / sqrt(N)||^2 / (P N) solved to rounding and checked on
the returned weights; `symrep/simulate/variance_profile.py`).

The theory is `symrep.solve(alpha, beta, lam, rho, eta, model=LearnedVarianceVAE(M, M*))`:
the linear VAE's replica-symmetric solution at (eta beta, eta lam) (the model's
`theory_parameters`; the script checks it against solving the linear VAE there by hand),
with sigma^2 = eta at N = infinity (`theory_extras`); the sigma2 row's theory is the
finite-N stationary value `finite_size_sigma2(distortion_train, eta, N)` =
(eta (N - M*) + 2 distortion_train) / N
with the theory's training distortion (its 1/N term is larger than the standard error
at some points). The sigma2 rows of all points share the noise of their data sets (data
set k has seed k at every point), which dominates their fluctuation: their deviations
are correlated across points. The sigma2_gap row, sigma^2 - ||X||^2 / (P N) against
(2 distortion_train - sum_k rho_k - M* eta) / N, removes that noise and tests the 1/N
term alone (0 exactly for a collapsed model, whose sigma^2 is ||X||^2 / (P N)). Q and
m are per unit (diagonal entries, units ordered by decreasing Q, |m|). "difference / SE"
is (mean - theory) / SE of the mean over the data sets.

The exact optimum itself is checked in `tests/test_learned_variance_simulate.py`:
against probabilistic PCA's closed form at beta = 1, lam = 0 (sigma^2 the mean of the
discarded sample-covariance eigenvalues, Q_i = lambda_i - sigma^2), against torch L-BFGS
on the model's SymPy objective printed to torch (`symrep.simulate.train_model`), and
against perturbations.
"""

PAGE_TAIL = """
## Notes

- `kl_posterior` of a result is the unit-variance decoder's (the theory model's), not
  the posterior of the decoder with variance sigma^2; it is not compared here.
- `loss` and `free_energy` of a learned-variance result are the model's own objective:
  `loss` = L / N, `free_energy` = (L - sum_mu ||x^mu||^2 / (2 sigma^2) - (P N / 2) log
  sigma^2) / N, the linear VAE's free energy at the mapped point divided by sigma^2 (the
  model's `objective_scale`).
"""


def main(argv=None):
    """Run the comparison and write the page.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments.

    Returns
    -------
    int
        Exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 100, 200; 4 data sets")
    parser.add_argument("--out", default=None, help="page to write (default: "
                        "docs/learned_variance_finite_size.md unless --quick)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # small problems on a shared host: threads only contend
    Ns, seeds = ((100, 200), 4) if args.quick else ((500, 1000, 2000), 8)
    out = args.out or (None if args.quick else "docs/learned_variance_finite_size.md")
    start = time.perf_counter()
    rows = run(Ns, seeds, progress=True)
    checks = training_check((50, 100) if args.quick else (100, 200), 1 if args.quick else 2,
                            progress=True)
    total = time.perf_counter() - start
    host = (f"{platform.node() or 'host'} ({platform.machine()}, {os.cpu_count()} CPUs shared "
            f"with other jobs, one thread, Python {platform.python_version()}, torch "
            f"{torch.__version__})")
    page = markdown(rows, seeds, total, host, training_markdown(checks))
    if out:
        atomic_write_text(out, page)
        print(f"wrote {out} ({total:.0f} s)", file=sys.stderr)
    else:
        print(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
