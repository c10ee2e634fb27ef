"""Repeated finite-N experiments: several data sets at one parameter point, summarised."""

from __future__ import annotations

import math

import numpy as np

from symrep.simulate.data import sample_scm
from symrep.simulate.exact import exact_minimum
from symrep.simulate.observables import SCALAR_FIELDS
from symrep.simulate.training import METHODS, train
from symrep.validation import check_parameters, check_positive_int, check_seed

__all__ = ["simulate", "summarize", "SIMULATION_METHODS"]

SIMULATION_METHODS = ("exact", *METHODS)


def simulate(N, alpha, beta, lam, rho=1.0, eta=1.0, seeds=5, method="exact", *,
             first_seed=0, device=None, progress=None, **train_options):
    """Exact optimum or trained model on ``seeds`` independent data sets.

    Parameters
    ----------
    N : int
        Input dimension; the number of samples is P = round(alpha N).
    alpha, beta, lam, rho, eta : float
        Model parameters.
    seeds : int
        Number of independent data sets; data set k uses seed ``first_seed + k`` for the
        data and, when training, for the initialisation.
    method : {"exact", "lbfgs", "adam"}
        :func:`exact_minimum` or :func:`train` with that optimiser (all seeds in one batch).

    Returns
    -------
    list of SimulationResult
    """
    p = check_parameters(alpha=alpha, beta=beta, lam=lam, rho=rho, eta=eta)
    N = check_positive_int("N", N)
    seeds = check_positive_int("seeds", seeds)
    first_seed = check_seed(first_seed, "first_seed") or 0
    if method not in SIMULATION_METHODS:
        raise ValueError(
            f"method = {method!r} is invalid: must be one of {', '.join(SIMULATION_METHODS)}"
        )
    P = max(1, round(p["alpha"] * N))
    data = [sample_scm(P, N, p["rho"], p["eta"], seed=first_seed + k)[0] for k in range(seeds)]
    W0 = np.ones((N, 1))
    model = dict(beta=p["beta"], lam=p["lam"], rho=p["rho"], eta=p["eta"])
    if method == "exact":
        return [exact_minimum(X, W0, **model) for X in data]
    return train(data, W0, **model, seed=first_seed, device=device, method=method,
                 progress=progress, **train_options)


def summarize(results, fields=SCALAR_FIELDS):
    """Mean and standard error of the mean of each scalar field over the results.

    Returns
    -------
    dict
        ``{field: (mean, sem)}``; the standard error is 0 for a single result.
    """
    out = {}
    for name in fields:
        values = np.array([getattr(r, name) for r in results], dtype=float)
        sem = values.std(ddof=1) / math.sqrt(len(values)) if len(values) > 1 else 0.0
        out[name] = (float(values.mean()), float(sem))
    return out
