"""Results of a grid in a Zarr store, written through xarray, one record per task.

Layout (``xarray.open_zarr(path)`` reads it): one dimension ``task``; one coordinate
along it per field of :class:`~symrep.grid.tasks.Task` (alpha, beta, lam, rho, eta, N,
seed, method, first_seed, seeds, options); one float64 data variable per observable of
:data:`~symrep.grid.tasks.OBSERVABLES` (NaN until computed); the boolean ``done``; and
the attributes ``symrep_version`` and ``settings`` (JSON of the grid's settings).

The store is in Zarr format 2 (text coordinates of any length, read by every Zarr
library) with consolidated metadata. Every variable has chunks of one task, so writing
a record touches no other task's chunk. A record is written in two steps, its data and
then its ``done`` flag: a record whose writing was cut off in between has ``done``
false and is computed again, never read as complete. The store is created in a
temporary folder and renamed into place (:func:`symrep.io.atomic_directory`); tasks
not yet in it are appended with ``done`` false before they run. One process writes a
store at a time.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from symrep.grid.tasks import OBSERVABLES, PARAMETERS

__all__ = ["GridStore"]


def _settings_text(settings):
    try:
        return json.dumps(settings or {}, sort_keys=True, default=str)
    except (TypeError, ValueError):
        raise ValueError(f"settings = {settings!r} is invalid: expected a dict of plain "
                         "values (numbers, strings, lists)") from None


def _options_text(options):
    return ";".join(f"{k}={v!r}" for k, v in options)


def _coordinate(task, name):
    value = getattr(task, name)
    return _options_text(value) if name == "options" else value


class GridStore:
    """The Zarr store of one grid: which tasks are done, and a place for each result.

    Parameters
    ----------
    path : str or path
        The store (a folder); created when missing.
    tasks : sequence of Task
        The tasks of this run; those not in the store yet are added (``done`` false).
    settings : dict, optional
        What defines the grid beyond its tasks (command, size, options), kept as the
        attribute ``settings``. An existing store with other settings is refused.

    Raises
    ------
    ValueError
        ``store`` is not a grid store, or holds a grid with other settings.
    """

    def __init__(self, path, tasks, settings=None):
        self.path = Path(path)
        self.settings = _settings_text(settings)
        tasks = list(dict.fromkeys(tasks))
        if self.path.exists():
            self._check_existing()
        else:
            self._create(tasks)
        self._load_index()
        self._group = None
        new = [t for t in tasks if self._coords(t) not in self.index]
        if new:
            self._append(new)
            self._load_index()

    # --- layout -----------------------------------------------------------------------

    @staticmethod
    def _coords(task):
        return tuple(_coordinate(task, name) for name in PARAMETERS)

    def _dataset(self, tasks):
        import xarray as xr

        from symrep._version import __version__

        n = len(tasks)
        coords = {}
        for name in PARAMETERS:
            values = [_coordinate(t, name) for t in tasks]
            coords[name] = ("task", np.array(values, dtype=object if name in ("method", "options")
                                            else type(values[0])))
        data = {name: ("task", np.full(n, np.nan)) for name in OBSERVABLES}
        data["done"] = ("task", np.zeros(n, dtype=bool))
        return xr.Dataset(data, coords=coords,
                          attrs=dict(symrep_version=__version__, settings=self.settings,
                                     description="symrep simulation grid: one task per "
                                     "data set; a record counts once done is true"))

    def _encoding(self, ds):
        return {name: {"chunks": (1,)} for name in ds.variables}

    def _create(self, tasks):
        from symrep.io import atomic_directory

        if not tasks:
            raise ValueError("tasks is invalid: a new store needs at least one task")
        ds = self._dataset(tasks)
        with atomic_directory(self.path) as tmp:
            ds.to_zarr(tmp, mode="w", encoding=self._encoding(ds), consolidated=True,
                      zarr_format=2)

    def _open(self):
        import xarray as xr

        try:
            return xr.open_zarr(self.path, consolidated=True)
        except Exception as exc:  # not a Zarr store, or an unreadable one
            raise ValueError(f"store = {str(self.path)!r} is invalid: it is not a symrep "
                             f"grid store ({type(exc).__name__}: {exc})") from None

    def _check_existing(self):
        ds = self._open()
        missing = [n for n in (*PARAMETERS, *OBSERVABLES, "done") if n not in ds.variables]
        if "settings" not in ds.attrs or missing:
            raise ValueError(f"store = {str(self.path)!r} is invalid: it is not a symrep grid "
                             "store (no settings or variables "
                             f"{', '.join(missing) or 'settings'})")
        if ds.attrs["settings"] != self.settings:
            raise ValueError(f"store = {str(self.path)!r} is invalid: it holds another grid "
                             f"(settings {ds.attrs['settings']}, here {self.settings}); use "
                             "another store, or remove this one to start again")

    def _append(self, tasks):
        ds = self._dataset(tasks)
        ds.to_zarr(self.path, mode="a", append_dim="task", consolidated=True, zarr_format=2)

    def _load_index(self):
        ds = self._open()
        columns = [ds[name].values.tolist() for name in PARAMETERS]
        self.index = {key: i for i, key in enumerate(zip(*columns, strict=True))}
        self._done = ds["done"].values.copy()

    # --- records ----------------------------------------------------------------------

    def finished(self, tasks):
        """``task -> record`` of the given tasks that are done in the store."""
        import zarr

        rows = {task: self.index[self._coords(task)] for task in tasks}
        rows = {task: i for task, i in rows.items() if self._done[i]}
        if not rows:
            return {}
        group = zarr.open_group(self.path, mode="r")
        columns = {name: group[name][:] for name in OBSERVABLES}
        return {task: {name: float(columns[name][i]) for name in OBSERVABLES}
                for task, i in rows.items()}

    def write(self, task, record):
        """Store one task's record: its data first, then its ``done`` flag."""
        import zarr

        i = self.index[self._coords(task)]
        if getattr(self, "_group", None) is None:
            self._group = zarr.open_group(self.path, mode="r+")
        group = self._group
        for name in OBSERVABLES:
            group[name][i] = record[name]
        group["done"][i] = True  # last: the record counts only from here on
        self._done[i] = True

