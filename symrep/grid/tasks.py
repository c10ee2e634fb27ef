"""One task of a simulation grid: one data set at one parameter point, and how to run it.

A :class:`Task` is a frozen, hashable description; :func:`run_task` is a pure function of
it. Its result depends on the task only, not on where or with how many threads it runs:
BLAS and torch are held to one thread while it runs (with several threads OpenBLAS
splits its sums differently and the last bits of the exact optimum change), so a grid run
in one process and the same grid run on a cluster give identical numbers.

A task has M latent units and M* features (the length of ``rho``, a float for one
feature): the data, the solver and the seeds are those of
``simulate(..., rho=rho, M=M)``, and M = M* = 1 is the model of the paper.

Seeds are those of :func:`symrep.simulate.simulate`: data set k of a call with
``first_seed`` and ``seeds`` is drawn with seed ``first_seed + k``; a trained model
starts from row k of the initialisation that ``first_seed`` draws for a batch of
``seeds`` runs, so a task reproduces its run of the batched call exactly.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import dataclass, field, fields

import numpy as np

from symrep.validation import check_parameters, check_positive_int, check_seed

__all__ = ["Task", "run_task", "record_phases", "OBSERVABLES", "MATRIX_OBSERVABLES",
           "TRAIN_OPTIONS", "PARAMETERS"]

#: What :func:`run_task` returns, every value a float: the observables of
#: :class:`~symrep.simulate.observables.SimulationResult`, then the number of samples P,
#: whether the run converged (1.0 or 0.0), its iterations and final gradient norm. A task
#: of several units or features (:attr:`Task.units`) has the matrix observables
#: (:data:`MATRIX_OBSERVABLES`) as arrays, and ``phases`` besides.
OBSERVABLES = ("m", "d", "Q", "E", "R", "D", "eg", "rate", "distortion", "kl_posterior",
               "rate_train", "distortion_train", "kl_posterior_train", "loss",
               "free_energy", "P", "converged", "n_iter", "grad_norm")

#: Training options a task may carry (see :func:`symrep.simulate.train`); the device is
#: part of a task's identity (results on another device differ in their last bits).
TRAIN_OPTIONS = ("gtol", "max_iter", "lr", "init_scale", "device", "ftol", "window")

#: The observables that are matrices for M units and M* features: m and d (M, M*), Q, E
#: and R (M, M), D (M,), as in :class:`~symrep.simulate.observables.MatrixSimulationResult`.
MATRIX_OBSERVABLES = ("m", "d", "Q", "E", "R", "D")

_METHODS = ("exact", "lbfgs", "adam")


@dataclass(frozen=True)
class Task:
    """One data set at one parameter point, solved exactly or trained.

    Parameters
    ----------
    alpha, beta, lam, eta : float
        Model parameters.
    rho : float or sequence of float
        Signal strength of the one feature (a float), or the strengths rho_1..rho_M* of
        M* features (at most N), the features being
        :func:`~symrep.simulate.data.default_features`. Kept as a float for one strength
        (``(2.0,)`` is ``2.0``), else as a tuple of floats.
    N : int
        Input dimension; P = max(1, round(alpha N)) samples.
    seed : int
        Seed of the data set.
    method : {"exact", "lbfgs", "adam"}
        The exact global optimum, or training with that optimiser.
    first_seed, seeds : int, optional
        The batch of :func:`symrep.simulate.simulate` the data set belongs to (seeds
        ``first_seed, ..., first_seed + seeds - 1``): a trained model starts from row
        ``seed - first_seed`` of the initialisation drawn with ``first_seed`` for
        ``seeds`` runs. Default: a batch of one (``first_seed = seed``). Ignored, and set
        to that default, for ``method="exact"``.
    options : tuple of (str, value) pairs
        Training options (:data:`TRAIN_OPTIONS`), e.g. ``(("max_iter", 500),)``; kept
        sorted by name. Must be empty for ``method="exact"``.
    M : int, default 1
        Number of latent units.

    Raises
    ------
    ValueError
        If a parameter is out of its range.
    """

    alpha: float
    beta: float
    lam: float
    rho: float = 1.0
    eta: float = 1.0
    N: int = 100
    seed: int = 0
    method: str = "exact"
    first_seed: int = None
    seeds: int = 1
    options: tuple = field(default=())
    M: int = 1

    def __post_init__(self):
        p = check_parameters(alpha=self.alpha, beta=self.beta, lam=self.lam, eta=self.eta)
        for name, value in p.items():
            object.__setattr__(self, name, float(value))
        object.__setattr__(self, "N", check_positive_int("N", self.N))
        object.__setattr__(self, "rho", _canonical_strengths(self.rho, self.N))
        object.__setattr__(self, "M", check_positive_int("M", self.M))
        object.__setattr__(self, "seed", check_seed(self.seed) or 0)
        if self.method not in _METHODS:
            raise ValueError(f"method = {self.method!r} is invalid: must be one of "
                             f"{', '.join(_METHODS)}")
        options = tuple(sorted((str(k), v) for k, v in dict(self.options).items()))
        unknown = [k for k, _ in options if k not in TRAIN_OPTIONS]
        if unknown or (options and self.method == "exact"):
            raise ValueError(f"options = {dict(options)!r} is invalid: training options are "
                             f"{', '.join(TRAIN_OPTIONS)}, and the exact optimum takes none")
        object.__setattr__(self, "options", options)
        if self.method == "exact":  # no initialisation: one task whatever the batch
            first, seeds = self.seed, 1
        else:
            first = self.seed if self.first_seed is None else check_seed(self.first_seed,
                                                                         "first_seed")
            seeds = check_positive_int("seeds", self.seeds)
            if not first <= self.seed < first + seeds:
                raise ValueError(f"seed = {self.seed} is invalid: it must be one of the batch "
                                 f"first_seed, ..., first_seed + seeds - 1 = {first}, ..., "
                                 f"{first + seeds - 1}")
        object.__setattr__(self, "first_seed", first)
        object.__setattr__(self, "seeds", seeds)

    @property
    def Mstar(self) -> int:
        """Number of features M* (the number of strengths)."""
        return 1 if isinstance(self.rho, float) else len(self.rho)

    @property
    def units(self) -> bool:
        """Whether the task has several units or features (M > 1 or M* > 1): its
        observables are those of a ``MatrixSimulationResult``."""
        from symrep.solvers.result import one_by_one

        return not one_by_one(self)

    @property
    def P(self) -> int:
        """Number of samples, max(1, round(alpha N)) as in :func:`symrep.simulate.simulate`."""
        return max(1, round(self.alpha * self.N))

    def key(self) -> tuple:
        """The task's identity as plain values (what a store matches on).

        Returns
        -------
        tuple
            The values of the task's fields, in their order.
        """
        return tuple(getattr(self, f.name) for f in fields(self))

    # what symrep.grid.run_tasks asks of a task (symrep.realdata.RealDataTask has the same)

    def run(self):
        """The task's record: :func:`run_task`.

        Returns
        -------
        dict
            The observables by name (see :func:`run_task`).
        """
        return run_task(self)

    def seconds(self):
        """Estimated run time (see :mod:`symrep.resources`).

        Returns
        -------
        float
            The estimated run time, in seconds, of one seed at the task's N, alpha and method.
        """
        from symrep.resources import simulation_estimate

        return simulation_estimate(self.N, self.alpha, 1, self.method).seconds

    @classmethod
    def open_store(cls, path, tasks, settings=None):
        """The store of a grid of such tasks: :class:`~symrep.grid.store.GridStore`.

        Parameters
        ----------
        path : str or path-like
            The store (a folder); created when missing.
        tasks : sequence of Task
            The tasks of the run.
        settings : dict, optional
            What defines the grid beyond its tasks (default None).

        Returns
        -------
        GridStore
            The opened store.
        """
        from symrep.grid.store import GridStore

        return GridStore(path, tasks, settings)


#: Names of the fields of a :class:`Task` (the coordinates of a store).
PARAMETERS = tuple(f.name for f in fields(Task))


def _canonical_strengths(rho, N):
    """rho as a float (one strength) or a tuple of at least two floats, checked as
    :func:`symrep.simulate.simulate` checks it."""
    if np.ndim(rho) == 0:
        return float(check_parameters(rho=rho)["rho"])
    from symrep.simulate.data import check_strengths

    values = tuple(float(r) for r in check_strengths(rho))
    if len(values) > N:
        raise ValueError(f"rho is invalid: {len(values)} features do not fit in N = {N} "
                         "dimensions")
    return values[0] if len(values) == 1 else values


@contextmanager
def _one_thread(torch_too):
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch") if not torch_too else __import__("torch")
    before = torch.get_num_threads() if torch is not None else None
    try:
        with threadpool_limits(limits=1):
            if torch is not None:
                torch.set_num_threads(1)
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(before)


def run_task(task):
    """Solve or train one task; the observables of its model.

    Pure: the result depends on ``task`` only. BLAS and torch run on one thread meanwhile
    (the previous thread counts are restored afterwards).

    Parameters
    ----------
    task : Task

    Returns
    -------
    dict
        ``name -> float`` for every name of :data:`OBSERVABLES`. For a task of several
        units or features (:attr:`Task.units`) the names of :data:`MATRIX_OBSERVABLES`
        are float64 arrays, m and d (M, M*), Q, E and R (M, M), D (M,), and the record
        has ``phases`` besides, the tuple of the units' phases (see
        :class:`~symrep.simulate.observables.MatrixSimulationResult`).

    Raises
    ------
    ValueError
        If ``task`` is not a :class:`Task`.
    symrep.errors.SolverError
        If training diverged.
    """
    if not isinstance(task, Task):
        raise ValueError(f"task = {task!r} is invalid: expected a symrep.grid.Task")
    from symrep.simulate.data import default_features, sample_scm
    from symrep.simulate.exact import exact_minimum

    N = task.N
    # the features and strengths as simulate() passes them: the all-ones column for a
    # float rho, default_features and an array of strengths for several
    if isinstance(task.rho, float):
        W0, rho = np.ones((N, 1)), task.rho
    else:
        W0, rho = default_features(N, task.Mstar), np.array(task.rho, dtype=np.float64)
    model = dict(beta=task.beta, lam=task.lam, rho=rho, eta=task.eta)
    with _one_thread(task.method != "exact"):
        X = sample_scm(task.P, N, rho, task.eta, W0=W0, seed=task.seed, force=True)[0]
        if task.method == "exact":
            result = exact_minimum(X, W0, **model, M=task.M)
        else:
            from symrep.simulate.training import train

            (result,) = train([X], W0, **model, seed=task.first_seed, method=task.method,
                              progress=False, force=True, M=task.M,
                              init_rows=(task.seed - task.first_seed, task.seeds),
                              **dict(task.options))
    record = {}
    for name in OBSERVABLES[:-4]:
        value = getattr(result, name)
        record[name] = (np.array(value, dtype=np.float64) if task.units
                        and name in MATRIX_OBSERVABLES else float(value))
    record.update(P=float(result.params["P"]), converged=float(bool(result.converged)),
                  n_iter=float(result.n_iter), grad_norm=float(result.grad_norm))
    if not all(np.all(np.isfinite(v)) for v in record.values()):  # train() raises first
        from symrep.errors import SolverError

        raise SolverError(f"the task {task!r} gave a non-finite observable",
                          {k: np.asarray(v).tolist() for k, v in record.items()})
    if task.units:
        record["phases"] = tuple(result.phases)
    return record


def record_phases(task, record):
    """The phase of each latent unit of a task's record (for one unit and one feature,
    as ``SimulationResult.as_units()`` gives it).

    Parameters
    ----------
    task : Task
        The task.
    record : dict
        Its record, as :func:`run_task` gives it.

    Returns
    -------
    tuple of str
        One phase per latent unit.
    """
    if task.units:
        return tuple(record["phases"])
    from symrep.simulate.observables import unit_phases

    return tuple(unit_phases([[record["m"]]], [[record["Q"]]]))
