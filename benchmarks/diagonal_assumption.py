"""Is the lowest-free-energy RS state diagonal in the feature basis? A search without ansatz.

``symrep.solve(..., M=M)`` builds its answer from latent units that do not interact
(block-diagonal order parameters). This script checks that nothing lower exists: at
random parameter points it runs a damped Newton iteration on the FULL saddle-point
equations of ``LinearVAE(M, Mstar).numeric()`` (every entry of Q, R, E, m, d and of the
precision matrix free, no diagonal ansatz) from many starts: the assembled state rotated
by a random orthogonal matrix in the space of the units, rescaled and perturbed. Every
converged admissible root (residual < 1e-10 relative, positive semidefinite precision and
G - t t^T) is compared with the assembled state by free energy, and its distance from
diagonal form (largest off-diagonal entry of Q, R, E and the precision blocks, and the
overlap mass outside the best one-to-one matching of units and features) is recorded.

Usage (about 2 minutes for the default on two cores)::

    .venv/bin/python benchmarks/diagonal_assumption.py [--points 24] [--starts 60]
        [--model 2,2] [--seed 1] [--out docs/diagonal_assumption.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import time

import numpy as np

from symrep.io import atomic_write_text
from symrep.model import LinearVAE
from symrep.solvers.latent_units import solve_units


def _random_rotation(rng, M):
    A = rng.standard_normal((M, M))
    Q, R = np.linalg.qr(A)
    return Q * np.sign(np.diag(R))


def newton(system, Z, params, *, iterations=60):
    """Damped Newton on the full system, all starts at once; returns (Z, residual)."""
    n = Z.shape[1]

    def F_of(X):
        with np.errstate(all="ignore"):
            return system.residual(X, params)

    for _ in range(iterations):
        with np.errstate(all="ignore"):
            F, J = system.residual_jacobian(Z, params)
        norm = np.abs(F).max(axis=0)
        live = np.isfinite(norm) & (norm > 1e-13)
        if not live.any():
            break
        Jm = np.nan_to_num(np.moveaxis(J, -1, 0))
        Fm = np.nan_to_num(F.T)
        try:
            step = np.linalg.solve(Jm, -Fm[..., None])[..., 0].T
        except np.linalg.LinAlgError:  # a singular Jacobian somewhere: least squares
            step = np.stack([np.linalg.lstsq(Jm[i], -Fm[i], rcond=None)[0]
                             for i in range(n)], axis=1)
        t = np.ones(n)
        accepted = np.zeros(n, bool)
        new = Z.copy()
        for _ in range(25):  # backtracking on the largest residual
            trial = Z + t * step
            Fn = F_of(trial)
            ok = (np.all(np.isfinite(Fn), axis=0)
                  & (np.abs(Fn).max(axis=0) < (1 - 1e-4 * t) * norm))
            take = ok & ~accepted & live
            new[:, take] = trial[:, take]
            accepted |= take
            t = np.where(accepted, t, t / 2)
            if accepted[live].all():
                break
        Z = np.where((live & accepted)[None], new, Z)
    return Z, np.abs(F_of(Z)).max(axis=0)


def _admissible(mats, i, tol=1e-9):
    Y = mats["Y"][..., i]
    G = np.block([[mats["Q"][..., i], mats["R"][..., i]],
                  [mats["R"][..., i].T, mats["E"][..., i]]])
    t = np.vstack([mats["m"][..., i], mats["d"][..., i]])
    return (np.linalg.eigvalsh(Y).min() >= -tol * np.abs(Y).max()
            and np.linalg.eigvalsh(G - t @ t.T).min() >= -tol * (1 + np.abs(G).max()))


def off_diagonal(mats, i):
    """Distance from the block-diagonal form of non-interacting units."""
    M = mats["Q"].shape[0]
    off = ~np.eye(M, dtype=bool)
    Y = mats["Y"][..., i]
    blocks = [mats["Q"][..., i], mats["R"][..., i], mats["E"][..., i], Y[:M, :M],
              Y[:M, M:], Y[M:, M:]]
    worst = max(np.abs(b[off]).max(initial=0.0) for b in blocks)
    m = np.abs(mats["m"][..., i])
    Mstar = m.shape[1]
    # overlap mass outside the best matching of units to features
    best = max(sum(m[u, k] for u, k in zip(perm, range(Mstar), strict=False)
                   if u is not None)
               for perm in itertools.permutations(list(range(M)) + [None] * Mstar, Mstar))
    return max(worst, m.sum() - best)


def study(model, points, starts, seed):
    system = model.numeric()
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(points):
        alpha = float(np.exp(rng.uniform(np.log(0.3), np.log(30))))
        beta = float(np.exp(rng.uniform(np.log(0.05), np.log(4))))
        lam = float(np.exp(rng.uniform(np.log(0.05), np.log(3))))
        rho = tuple(sorted((float(r) for r in np.exp(rng.uniform(np.log(0.3), np.log(4),
                                                                 model.Mstar))),
                           reverse=True))
        eta = float(np.exp(rng.uniform(np.log(0.5), np.log(2))))
        params = (alpha, beta, lam, *rho, eta)
        r = solve_units(alpha, beta, lam, rho, eta, M=model.M)
        assembled = {"Q": r.Q, "R": r.R, "E": r.E, "m": r.m, "d": r.d,
                     "chihat_Q": r.chihat_Q, "chihat_R": r.chihat_R,
                     "chihat_E": r.chihat_E}
        z0 = system.pack({k: np.asarray(v)[..., None] for k, v in assembled.items()})
        f0 = float(system.free_energy(z0, params)[0])
        res0 = float(np.abs(system.residual(z0, params)).max())
        base = system.matrices(z0)
        S = []
        for _ in range(starts):
            O = _random_rotation(rng, model.M)
            O2 = np.kron(np.eye(2), O)
            scale = rng.uniform(0.3, 2.0)
            noise = rng.choice([0.01, 0.05, 0.2])
            mats = {"Q": O @ base["Q"][..., 0] @ O.T * scale,
                    "R": O @ base["R"][..., 0] @ O.T * scale,
                    "E": O @ base["E"][..., 0] @ O.T * scale,
                    "m": O @ base["m"][..., 0] * np.sqrt(scale),
                    "d": O @ base["d"][..., 0] * np.sqrt(scale),
                    "Y": O2 @ base["Y"][..., 0] @ O2.T}
            z = system.pack({k: v[..., None] for k, v in mats.items()})[:, 0]
            S.append(z + noise * rng.standard_normal(z.size) * (1 + np.abs(z)))
        Z, res = newton(system, np.array(S).T, params)
        mats = system.matrices(Z)
        found = []
        for i in range(starts):
            if res[i] < 1e-10 * (1 + np.abs(Z[:, i]).max()) and _admissible(mats, i):
                found.append((float(system.free_energy(Z[:, i:i + 1], params)[0]),
                              float(off_diagonal(mats, i))))
        tol = 1e-9 * (1 + abs(f0))
        lower = [f for f, _ in found if f < f0 - tol]
        non_diagonal = [(f, od) for f, od in found if od > 1e-6]
        rows.append(dict(
            alpha=alpha, beta=beta, lam=lam, rho=rho, eta=eta, phases=r.phases,
            assembled_free_energy=f0, assembled_residual=res0, roots=len(found),
            back_to_assembled=sum(abs(f - f0) <= tol for f, _ in found),
            lower=len(lower), non_diagonal=len(non_diagonal),
            lowest_non_diagonal_gap=(min(f for f, _ in non_diagonal) - f0
                                     if non_diagonal else None)))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=24)
    parser.add_argument("--starts", type=int, default=60)
    parser.add_argument("--model", default="2,2", help="M,Mstar (a shipped model)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=None, help="write the rows as JSON")
    args = parser.parse_args(argv)
    M, Mstar = (int(x) for x in args.model.split(","))
    start = time.perf_counter()
    rows = study(LinearVAE(M, Mstar), args.points, args.starts, args.seed)
    seconds = time.perf_counter() - start
    for r in rows:
        gap = r["lowest_non_diagonal_gap"]
        print(f"alpha={r['alpha']:.3g} beta={r['beta']:.3g} lam={r['lam']:.3g} "
              f"rho={tuple(round(x, 3) for x in r['rho'])} eta={r['eta']:.3g} "
              f"{', '.join(r['phases'])}: residual {r['assembled_residual']:.1e}, "
              f"{r['roots']} roots, {r['back_to_assembled']} at the assembled f, "
              f"{r['lower']} lower, {r['non_diagonal']} non-diagonal"
              + (f" (lowest {gap:+.3g} above)" if gap is not None else ""))
    summary = dict(model=[M, Mstar], points=len(rows), starts=args.starts,
                   roots=sum(r["roots"] for r in rows),
                   lower=sum(r["lower"] for r in rows),
                   non_diagonal=sum(r["non_diagonal"] for r in rows),
                   smallest_non_diagonal_gap=min(
                       (r["lowest_non_diagonal_gap"] for r in rows
                        if r["lowest_non_diagonal_gap"] is not None), default=None),
                   worst_assembled_residual=max(r["assembled_residual"] for r in rows),
                   seconds=round(seconds, 1))
    print(json.dumps(summary))
    if args.out:
        atomic_write_text(args.out, json.dumps({"summary": summary, "rows": rows},
                                               indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
