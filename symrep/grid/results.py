"""The records of grid tasks as result objects, for code written against those of
:func:`symrep.simulate.simulate`."""

from __future__ import annotations

import numpy as np

from symrep.grid.tasks import MATRIX_OBSERVABLES, OBSERVABLES, record_phases

__all__ = ["task_result"]


def task_result(task, record):
    """The result of one task, without the weights, shaped like that of ``simulate``.

    Parameters
    ----------
    task : Task
    record : dict
        Its record (:func:`~symrep.grid.tasks.run_task`, or read from a store).

    Returns
    -------
    SimulationResult
        A :class:`~symrep.simulate.observables.SimulationResult` with ``W`` and
        ``W_enc`` None and the ``phases`` of its units: order parameters as numbers for a
        task of one unit and one feature, as matrices for a task of several
        (:attr:`~symrep.grid.tasks.Task.units`). Its ``as_dict()`` is that of the run of
        ``simulate`` that the task reproduces.
    """
    from symrep.simulate.observables import SimulationResult

    N, P = task.N, int(record["P"])
    info = dict(method=task.method, converged=bool(record["converged"]),
                n_iter=int(record["n_iter"]), grad_norm=record["grad_norm"])
    values = {name: np.array(record[name], dtype=np.float64) if name in MATRIX_OBSERVABLES
              else record[name] for name in OBSERVABLES[:-4]}
    # the result puts rho, M and Mstar in the form of its own presentation
    params = dict(alpha=P / N, beta=task.beta, lam=task.lam, rho=task.rho, eta=task.eta,
                  N=N, P=P, M=task.M, Mstar=task.Mstar)
    return SimulationResult(**values, phases=record_phases(task, record), W=None,
                            W_enc=None, params=params, **info)
