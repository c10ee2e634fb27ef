"""The records of grid tasks as result objects, for code written against those of
:func:`symrep.simulate.simulate`."""

from __future__ import annotations

from types import SimpleNamespace

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
    SimpleNamespace or MatrixSimulationResult
        For a task of one unit and one feature, a namespace with the fields of
        :class:`~symrep.simulate.observables.SimulationResult` (the observables,
        ``params``, ``method``, ``converged``, ``n_iter``, ``grad_norm``) and
        ``as_dict()``, and the ``phases`` of its unit (not in ``as_dict()``, as in
        ``SimulationResult``, whose ``as_units()`` has them); for a task of several
        units or features (:attr:`~symrep.grid.tasks.Task.units`) a
        :class:`~symrep.simulate.observables.MatrixSimulationResult` with ``W`` and
        ``W_enc`` None. Either gives the ``as_dict()`` of the run of ``simulate`` that
        the task reproduces.
    """
    N, P = task.N, int(record["P"])
    info = dict(method=task.method, converged=bool(record["converged"]),
                n_iter=int(record["n_iter"]), grad_norm=record["grad_norm"])
    fields = OBSERVABLES[:-4]
    if not task.units:
        run = {name: record[name] for name in fields}
        run.update(params=dict(alpha=P / N, beta=task.beta, lam=task.lam, rho=task.rho,
                               eta=task.eta, N=N, P=P), **info)
        return SimpleNamespace(**run, as_dict=lambda run=run: dict(run),
                               phases=record_phases(task, record))
    from symrep.simulate.observables import MatrixSimulationResult

    rho = task.rho if isinstance(task.rho, tuple) else (task.rho,)
    values = {name: np.array(record[name], dtype=np.float64) if name in MATRIX_OBSERVABLES
              else record[name] for name in fields}
    return MatrixSimulationResult(
        **values, phases=record_phases(task, record), W=None, W_enc=None,
        params=dict(alpha=P / N, beta=task.beta, lam=task.lam, rho=rho, eta=task.eta, N=N,
                    P=P, M=task.M, Mstar=task.Mstar), **info)
