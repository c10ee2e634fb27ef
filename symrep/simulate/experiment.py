"""Repeated finite-N experiments: several data sets at one parameter point, summarised."""

from __future__ import annotations

import math

import numpy as np

from symrep.resources import check_resources, simulation_estimate
from symrep.simulate.data import sample_scm
from symrep.simulate.exact import exact_minimum
from symrep.simulate.observables import SCALAR_FIELDS
from symrep.simulate.training import METHODS, train
from symrep.validation import check_parameters, check_positive_int, check_seed

__all__ = ["simulate", "summarize", "SIMULATION_METHODS"]

SIMULATION_METHODS = ("exact", *METHODS)


def simulate(N, alpha, beta, lam, rho=1.0, eta=1.0, seeds=5, method="exact", *,
             first_seed=0, device=None, progress=None, force=False, **train_options):
    """Exact optimum or trained model on ``seeds`` independent data sets.

    Parameters
    ----------
    N : int
        Input dimension; the number of samples is P = round(alpha N) (at least 1).
    alpha, beta, lam, rho, eta : float
        Model parameters.
    seeds : int
        Number of independent data sets; data set k uses seed ``first_seed + k`` for the
        data and, when training, for the initialisation.
    method : {"exact", "lbfgs", "adam"}
        :func:`exact_minimum` or :func:`train` with that optimiser (all seeds in one batch).
    force : bool
        Run even if the estimated memory or time exceeds what is at hand (see
        :mod:`symrep.resources`).

    Returns
    -------
    list of SimulationResult

    Raises
    ------
    ValueError
        If a parameter is out of range.
    symrep.errors.TooLargeError
        If the runs would need more memory or time than is at hand (``force=False``).
    symrep.errors.SolverError
        If training diverged.
    """
    p = check_parameters(alpha=alpha, beta=beta, lam=lam, rho=rho, eta=eta)
    N = check_positive_int("N", N)
    seeds = check_positive_int("seeds", seeds)
    first_seed = check_seed(first_seed, "first_seed") or 0
    check_seed(first_seed + seeds - 1, "first_seed + seeds - 1")
    if method not in SIMULATION_METHODS:
        raise ValueError(
            f"method = {method!r} is invalid: must be one of {', '.join(SIMULATION_METHODS)}"
        )
    check_resources(simulation_estimate(N, p["alpha"], seeds, method), force=force)
    P = max(1, round(p["alpha"] * N))
    W0 = np.ones((N, 1))
    model = dict(beta=p["beta"], lam=p["lam"], rho=p["rho"], eta=p["eta"])

    def data(k):
        return sample_scm(P, N, p["rho"], p["eta"], seed=first_seed + k, force=True)[0]

    if method == "exact":  # one data set at a time: memory of one, not of all
        return [exact_minimum(data(k), W0, **model) for k in range(seeds)]
    return train([data(k) for k in range(seeds)], W0, **model, seed=first_seed,
                 device=device, method=method, progress=progress, force=True,
                 **train_options)


def summarize(results, fields=SCALAR_FIELDS):
    """Mean and standard error of the mean of each scalar field over the results.

    Returns
    -------
    dict
        ``{field: (mean, sem)}``; the standard error is 0 for a single result.

    Raises
    ------
    ValueError
        If ``results`` is empty, or a field is not a scalar field of the results.
    """
    results = list(results)
    if not results:
        raise ValueError("results is invalid: at least one result is needed")
    fields = [fields] if isinstance(fields, str) else list(fields)
    out = {}
    for name in fields:
        try:
            values = np.array([getattr(r, name) for r in results], dtype=float)
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f"field {name!r} is invalid: expected one of "
                             f"{', '.join(SCALAR_FIELDS)}") from None
        if values.ndim != 1:
            raise ValueError(f"field {name!r} is invalid: it is not a scalar")
        sem = values.std(ddof=1) / math.sqrt(len(values)) if len(values) > 1 else 0.0
        out[name] = (float(values.mean()), float(sem))
    return out
