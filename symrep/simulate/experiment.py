"""Repeated finite-N experiments: several data sets at one parameter point, summarised."""

from __future__ import annotations

import math
import sys

import numpy as np

from symrep.resources import Estimate, check_resources, simulation_estimate
from symrep.simulate.data import check_strengths, default_features, sample_scm
from symrep.simulate.exact import exact_minimum
from symrep.simulate.observables import MATRIX_FIELDS, SCALAR_FIELDS
from symrep.simulate.training import METHODS, train
from symrep.validation import check_parameters, check_positive_int, check_seed

__all__ = ["simulate", "summarize", "count_phases", "finite_size_runs", "SIMULATION_METHODS"]

SIMULATION_METHODS = ("exact", *METHODS)


def simulate(N, alpha, beta, lam, rho=1.0, eta=1.0, seeds=5, method="exact", *, M=1,
             first_seed=0, device=None, progress=None, force=False, **train_options):
    """Exact optimum or trained model on ``seeds`` independent data sets.

    Parameters
    ----------
    N : int
        Input dimension; the number of samples is P = round(alpha N) (at least 1).
    alpha, beta, lam, eta : float
        Model parameters.
    rho : float or sequence of float
        Signal strength of the one feature (a scalar), or rho_1..rho_M* of M* features
        (a sequence); the features are :func:`~symrep.simulate.data.default_features`
        (the all-ones column for a scalar).
    M : int, default 1
        Number of latent units (keyword only).
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
    p = check_parameters(alpha=alpha, beta=beta, lam=lam, eta=eta)
    p["rho"] = check_strengths(rho)
    M = check_positive_int("M", M)
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
    if np.ndim(p["rho"]) == 0:
        W0 = np.ones((N, 1))
    else:
        if p["rho"].size > N:
            raise ValueError(f"rho is invalid: {p['rho'].size} features do not fit in "
                             f"N = {N} dimensions")
        W0 = default_features(N, p["rho"].size)
    model = dict(beta=p["beta"], lam=p["lam"], rho=p["rho"], eta=p["eta"])

    def data(k):
        return sample_scm(P, N, p["rho"], p["eta"], W0=W0, seed=first_seed + k,
                          force=True)[0]

    if method == "exact":  # one data set at a time: memory of one, not of all
        return [exact_minimum(data(k), W0, **model, M=M) for k in range(seeds)]
    return train([data(k) for k in range(seeds)], W0, **model, seed=first_seed,
                 device=device, method=method, progress=progress, force=True, M=M,
                 **train_options)


def summarize(results, fields=SCALAR_FIELDS):
    """Mean and standard error of the mean of each field over the results.

    Parameters
    ----------
    results : sequence of SimulationResult
    fields : str or sequence of str
        Names of numeric fields; the default, :data:`SCALAR_FIELDS`, names every order
        parameter and observable of both result types.

    Returns
    -------
    dict
        ``{field: (mean, sem)}``; floats for a scalar field, and for a matrix field
        (m, d, Q, E, R, D of a result with several units or features) arrays of its shape, the
        mean and standard error of each entry. The standard error is 0 for a single
        result.

    Raises
    ------
    ValueError
        If ``results`` is empty, a field is neither a scalar nor a matrix order
        parameter of the results, or its shape differs between results.
    """
    results = list(results)
    if not results:
        raise ValueError("results is invalid: at least one result is needed")
    fields = [fields] if isinstance(fields, str) else list(fields)
    out = {}
    for name in fields:
        try:
            values = np.array([getattr(r, name) for r in results], dtype=float)
        except AttributeError:
            raise ValueError(f"field {name!r} is invalid: expected one of "
                             f"{', '.join(SCALAR_FIELDS)}") from None
        except (TypeError, ValueError):
            raise ValueError(f"field {name!r} is invalid: it is not numeric, or its shape "
                             "differs between the results") from None
        if values.ndim == 1:
            sem = values.std(ddof=1) / math.sqrt(len(values)) if len(values) > 1 else 0.0
            out[name] = (float(values.mean()), float(sem))
        elif name not in MATRIX_FIELDS:  # the weights, say: not an observable
            raise ValueError(f"field {name!r} is invalid: it is not a scalar or a matrix "
                             f"order parameter ({', '.join(MATRIX_FIELDS)})")
        else:
            sem = (values.std(axis=0, ddof=1) / math.sqrt(len(values)) if len(values) > 1
                   else np.zeros(values.shape[1:]))
            out[name] = (values.mean(axis=0), sem)
    return out


def count_phases(results):
    """How often each phase structure occurs among results with per-unit phases.

    Parameters
    ----------
    results : sequence of SimulationResult
        Results of any M (one unit: a tuple of one phase).

    Returns
    -------
    dict
        ``{phases: count}`` with ``phases`` the tuple of the units' phases, most frequent
        first.

    Raises
    ------
    ValueError
        If a result has no ``phases`` (an object other than a result).
    """
    counts = {}
    for k, r in enumerate(results):
        phases = getattr(r, "phases", None)
        if not isinstance(phases, tuple):
            raise ValueError(f"results[{k}] is invalid: it has no per-unit phases (expected "
                             "a SimulationResult)")
        counts[phases] = counts.get(phases, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))


_POINT_KEYS = {"alpha", "beta", "lam", "rho", "eta", "M"}


def _check_runs_points(points):
    if not isinstance(points, dict) or not points:
        raise ValueError("points is invalid: expected a non-empty dict label -> "
                         "dict(alpha=..., beta=..., lam=...[, rho=..., eta=..., M=...])")
    out = {}
    for label, p in points.items():
        if not isinstance(p, dict) or not {"alpha", "beta", "lam"} <= set(p):
            raise ValueError(f"points[{label!r}] is invalid: expected dict(alpha=..., "
                             "beta=..., lam=...[, rho=..., eta=..., M=...])")
        unknown = set(p) - _POINT_KEYS
        if unknown:
            raise ValueError(f"points[{label!r}] is invalid: unknown parameter(s) "
                             f"{', '.join(sorted(unknown))}")
        q = check_parameters(**{k: p[k] for k in ("alpha", "beta", "lam", "eta") if k in p})
        q["rho"] = check_strengths(p.get("rho", 1.0))
        q["M"] = check_positive_int("M", p.get("M", 1))
        out[label] = q
    return out


def finite_size_runs(points, Ns=(500, 1000, 2000), seeds=8, method="exact", *,
                     fields=SCALAR_FIELDS, progress=None, force=False, store=None,
                     client=None, scheduler=None, settings=None, **train_options):
    """The finite-N ground truth at several parameter points and sizes, summarised.

    Generic in the model: each point carries its own M and rho (a scalar, or one strength
    per feature), so that one call covers several (M, M*). The theory is not involved;
    the rows are meant to be set next to a prediction (see :mod:`symrep.compare`).

    Parameters
    ----------
    points : dict
        ``label -> dict(alpha, beta, lam[, rho, eta, M])`` (defaults rho = eta = 1,
        M = 1).
    Ns : sequence of int
        Input dimensions.
    seeds : int
        Independent data sets per (point, N) (seeds 0 .. seeds - 1).
    method : {"exact", "lbfgs", "adam"}
        As in :func:`simulate`.
    fields : sequence of str
        Summarised fields (see :func:`summarize`).
    progress : bool, optional
        Progress on stderr (default: when stderr is a terminal).
    force : bool
        Run even if the estimated memory or time exceeds what is at hand.
    store, client, scheduler : optional
        Where the data sets run and their results are kept: each is a
        :class:`symrep.grid.Task` (seeds 0, ..., seeds - 1 at every (point, N), with the
        point's M and rho), run by :func:`symrep.grid.run_tasks` with these arguments;
        it gives the numbers of :func:`simulate` wherever it runs.
    settings : dict, optional
        The grid's settings kept in the store (default: seeds and method).
    **train_options
        Options of the trainer (:data:`symrep.grid.tasks.TRAIN_OPTIONS`); ignored for
        ``method="exact"``.

    Returns
    -------
    list of dict
        One row per (point, N), in the order given: ``point`` (label), ``N``,
        ``params`` (the point's checked parameters), ``summary`` (``field -> (mean,
        sem)`` from :func:`summarize`: arrays for matrix fields) and ``phases``
        (:func:`count_phases`; for M = M* = 1 the phase of the one unit as
        ``SimulationResult.as_units()`` gives it).
    """
    points = _check_runs_points(points)
    Ns = [check_positive_int("N", n) for n in ([Ns] if np.ndim(Ns) == 0 else Ns)]
    if not Ns:
        raise ValueError("Ns is invalid: at least one N is needed")
    seeds = check_positive_int("seeds", seeds)
    if method not in SIMULATION_METHODS:
        raise ValueError(
            f"method = {method!r} is invalid: must be one of {', '.join(SIMULATION_METHODS)}"
        )
    estimate = Estimate(f"finite-N runs ({len(points)} points, N up to {max(Ns):,}, "
                        f"{seeds:,} seeds)", 0.0, 0.0)
    for p in points.values():
        for N in Ns:
            estimate = estimate + simulation_estimate(N, p["alpha"], seeds, method)
    check_resources(estimate, force=force)
    from symrep.grid import Task, run_groups
    from symrep.grid.results import task_result

    options = tuple(train_options.items()) if method != "exact" else ()
    grid = {(label, N): [Task(alpha=p["alpha"], beta=p["beta"], lam=p["lam"], rho=p["rho"],
                              eta=p.get("eta", 1.0), M=p["M"], N=N, seed=k, method=method,
                              first_seed=0, seeds=seeds, options=options)
                         for k in range(seeds)]
            for label, p in points.items() for N in Ns}
    show = sys.stderr.isatty() if progress is None else progress
    finished = []

    def one_point(pair):
        finished.append(pair)
        if show:
            print(f"\rfinite-N runs: {len(finished)}/{len(grid)}", end="", file=sys.stderr,
                  flush=True)

    records = run_groups(grid, on_group=one_point, store=store, client=client,
                         scheduler=scheduler, settings=settings or dict(
                             grid="finite-N runs", seeds=seeds, method=method))
    if show:
        print(file=sys.stderr)
    rows = []
    for (label, N), tasks in grid.items():
        results = [task_result(t, r) for t, r in zip(tasks, records[label, N], strict=True)]
        rows.append(dict(point=label, N=N, params=dict(points[label]),
                         summary=summarize(results, fields), phases=count_phases(results)))
    return rows
