"""Simulation grids at scale: pure tasks, run in one process or on a Dask cluster,
results kept in a Zarr store as they finish.

- :mod:`symrep.grid.tasks`: :class:`Task` (one data set at one parameter point, with M
  latent units and M* features) and :func:`run_task` (its observables; pure, one BLAS
  thread);
- :mod:`symrep.grid.executor`: :func:`run_tasks` (in-process, a LocalCluster, or an
  existing cluster; skips what a store already holds) and :func:`run_groups` (the same,
  records per group of tasks, a call when a group is finished);
- :mod:`symrep.grid.store`: :class:`GridStore` (the Zarr layout, read with
  ``xarray.open_zarr``);
- :mod:`symrep.grid.results`: :func:`task_result` (a record as the result object of
  :func:`symrep.simulate.simulate`).

The batches of VAEs of ``symrep realdata`` are grid tasks of another kind
(:class:`symrep.realdata.grid.RealDataTask`, with its own store): :func:`run_tasks` runs
any list of tasks of one kind that have ``run``, ``key``, ``seconds`` and ``open_store``.

``docs/cluster.md`` shows how to run ``symrep figures``, ``compare`` and ``simulate`` on
a cluster and resume them.
"""

from symrep.grid.executor import GridResults, open_client, run_groups, run_tasks
from symrep.grid.results import task_result
from symrep.grid.store import GridStore
from symrep.grid.tasks import MATRIX_OBSERVABLES, OBSERVABLES, Task, run_task

__all__ = ["Task", "run_task", "run_tasks", "run_groups", "open_client", "GridResults", "GridStore",
           "OBSERVABLES", "MATRIX_OBSERVABLES", "task_result"]
