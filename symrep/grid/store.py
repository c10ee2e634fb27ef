"""Results of a grid in a Zarr store, written through xarray, one record per task.

Layout (``xarray.open_zarr(path)`` reads it): one dimension ``task``; one coordinate
along it per field of :class:`~symrep.grid.tasks.Task` (alpha, beta, lam, rho, eta, N,
seed, method, first_seed, seeds, options); one float64 data variable per observable of
:data:`~symrep.grid.tasks.OBSERVABLES` (NaN until computed); the boolean ``done``; and
the attributes ``symrep_version`` and ``settings`` (JSON of the grid's settings).

A grid with a task of several latent units or features (``Task.units``: M > 1 or
M* > 1) gets the layout ``"units"``, decided when the store is created and kept in the
attribute ``layout`` (a store without it has the one-unit layout above, as every store
written before tasks had M): besides, the coordinate ``M`` (int); ``rho`` as text, the
strengths joined by commas (``"2.0,0.7"``; each written with ``repr``, so the floats
come back exactly); the matrix observables with the dimensions ``unit`` and ``feature``
(or ``unit_``) of the grid's largest M and M*, NaN past a task's own M and M*: ``m``
and ``d`` (task, unit, feature), ``Q``, ``E`` and ``R`` (task, unit, unit_), ``D``
(task, unit); and ``phases`` (task, unit), each unit's phase as text, ``""`` past the
task's units. A task of one unit and one feature in such a store fills the first entry
of each matrix. Tasks that do not fit a store's layout (several units in a one-unit
store, more units or features than the store has room for) are refused.

The store is in Zarr format 2 (text coordinates of any length, read by every Zarr
library) with consolidated metadata. Every variable has chunks of one task, so writing
a record touches no other task's chunk. A record is written in three steps: its data,
then its ``checksum`` (uint64, a hash of the task's parameters and of the record's
values as stored), then its ``done`` flag. A record whose writing was cut off has
``done`` false and is computed again, never read as complete; a record marked done is
read only once its checksum matches, so one damaged on disk (a chunk lost, truncated,
overwritten or copied from another task, a variable's folder removed) is computed
again as well: its ``done`` is reset, a warning logged, and the task runs in this run.
The store is created in a temporary folder and renamed into place
(:func:`symrep.io.atomic_directory`); tasks not yet in it are appended with ``done``
false before they run. One process writes a store at a time.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np

from symrep.grid.tasks import (
    MATRIX_OBSERVABLES,
    OBSERVABLES,
    PARAMETERS,
    record_phases,
)

__all__ = ["RecordStore", "GridStore", "ONE_UNIT", "UNITS", "CHECKSUM"]

logger = logging.getLogger("symrep.grid")

#: The layout of a grid of one latent unit and one feature (no ``layout`` attribute).
ONE_UNIT = "one unit"
#: The layout of a grid with several units or features (attribute ``layout``).
UNITS = "units"

#: The variable of a record's checksum (see :meth:`RecordStore.checksum`).
CHECKSUM = "checksum"
_CHECKSUM_MEANING = ("hash of the task's parameters and of its record as stored, written "
                     "after the record and before done; a done record whose checksum does "
                     "not match is computed again")

#: Extra dimensions of the matrix observables in the ``"units"`` layout.
_MATRIX_DIMS = {"m": ("unit", "feature"), "d": ("unit", "feature"), "Q": ("unit", "unit_"),
                "E": ("unit", "unit_"), "R": ("unit", "unit_"), "D": ("unit",)}
_MATRIX_MEANING = {"m": "W^T W0 / N", "d": "W~ W0 / N", "Q": "W^T W / N",
                   "E": "W~ W~^T / N", "R": "W^T W~^T / N", "D": "encoder variances"}
_PHASES_MEANING = ("phase of each latent unit (symrep.simulate.observables.unit_phases): "
                   "'learning feature k' (k = 1..M*), 'overfitting' or 'collapsed'; '' past "
                   "the task's M units and until the task is done")


def _settings_text(settings):
    try:
        return json.dumps(settings or {}, sort_keys=True, default=str)
    except (TypeError, ValueError):
        raise ValueError(f"settings = {settings!r} is invalid: expected a dict of plain "
                         "values (numbers, strings, lists)") from None


def _options_text(options):
    return ";".join(f"{k}={v!r}" for k, v in options)


def _strengths_text(rho):
    """``"2.0,0.7"``: repr of each strength, so that the text gives back the floats."""
    return ",".join(repr(float(r)) for r in (rho if isinstance(rho, tuple) else (rho,)))


def _strengths_from_text(text):
    """The canonical rho of a task (a float, or a tuple of several) from its text."""
    values = tuple(float(t) for t in str(text).split(","))
    return values[0] if len(values) == 1 else values


def _coordinate(task, name, layout=ONE_UNIT):
    value = getattr(task, name)
    if name == "options":
        return _options_text(value)
    if name == "rho" and layout == UNITS:
        return _strengths_text(value)
    return value


def _extent(name, task):
    """The entries of a matrix observable that hold the task's units and features."""
    cols = {"feature": task.Mstar, "unit_": task.M}
    return tuple(slice(task.M) if dim == "unit" else slice(cols[dim])
                 for dim in _MATRIX_DIMS[name])


def _layout_of(tasks):
    """Layout and (units, features) of a new store for these tasks."""
    if not any(t.units for t in tasks):
        return ONE_UNIT, (1, 1)
    return UNITS, (max(t.M for t in tasks), max(t.Mstar for t in tasks))


class RecordStore:
    """A Zarr store of one grid's records, one per task: what the grid stores share.

    A subclass gives the layout: :meth:`_new_layout` and :meth:`_read_layout` (of a new
    store for these tasks, of an existing one), ``_parameters`` (the coordinates along
    ``task``) and ``_record_names`` (the variables of a record), :meth:`_coords` (a
    task's identity as the index keys it), :meth:`_dataset` (the empty records of new
    tasks), :meth:`_index_keys` (the keys of a store's rows), :meth:`_record` and
    :meth:`_write_values`. The flow is this class's: a missing store is created in a
    temporary folder and renamed into place, tasks not yet in it are appended with
    ``done`` false, a record is written data first and its ``done`` flag last, and a
    store written with other settings is refused.

    Parameters
    ----------
    path : str or path
        The store (a folder); created when missing.
    tasks : sequence
        The tasks of this run; those not in the store yet are added (``done`` false).
    settings : dict, optional
        What defines the grid beyond its tasks, kept as the attribute ``settings``.
    """

    #: What the store is called in error messages.
    kind = "grid"

    def __init__(self, path, tasks, settings=None):
        self.path = Path(path)
        self.settings = _settings_text(settings)
        tasks = list(dict.fromkeys(tasks))
        if self.path.exists():
            ds = self._check_existing()
            self._check_fit(tasks)  # every refusal before the store is touched
            self._repair(ds)
        else:
            if not tasks:
                raise ValueError("tasks is invalid: a new store needs at least one task")
            self._new_layout(tasks)
            self._check_fit(tasks)
            self._create(tasks)
        self._load_index()
        self._group = None
        new = [t for t in tasks if self._coords(t) not in self.index]
        if new:
            self._append(new)
            self._load_index()

    @classmethod
    def check(cls, path, settings=None):
        """Refuse, before any work, a store of another kind or of other settings.

        A missing ``path`` is fine (the run will create it). The store is only read.

        Parameters
        ----------
        path : str, pathlib.Path or None
            The store's location; None (no store) passes.
        settings : mapping, optional
            The settings of the grid about to run, as the store records them.

        Raises
        ------
        ValueError
            Naming ``store``: ``path`` holds no store of this kind, or one written with
            other settings.
        """
        if path is None or not Path(path).exists():
            return
        store = cls.__new__(cls)
        store.path, store.settings = Path(path), _settings_text(settings)
        store._check_existing()

    def _check_existing(self):
        """The existing store's dataset, once it is one of this kind and settings."""
        ds = self._open()
        self._read_layout(ds)
        missing = [n for n in (*self._parameters, *self._record_names, "done")
                   if n not in ds.variables]
        if "settings" not in ds.attrs or missing:
            raise ValueError(f"store = {str(self.path)!r} is invalid: it is not a symrep "
                             f"{self.kind} store (no settings or variables "
                             f"{', '.join(missing) or 'settings'})")
        if ds.attrs["settings"] != self.settings:
            raise ValueError(f"store = {str(self.path)!r} is invalid: it holds another "
                             f"grid (settings {ds.attrs['settings']}, here "
                             f"{self.settings}); use another store, or remove this one "
                             "to start again")
        return ds

    def _check_fit(self, tasks):
        """Refuse tasks the store has no room for (default: none)."""

    def _encoding(self, ds):
        # one chunk per task: its row of every variable (all its units and features)
        return {name: {"chunks": (1, *var.shape[1:])} for name, var in ds.variables.items()
                if var.dims[:1] == ("task",)}

    def _records_dataset(self, tasks):
        """The layout's empty records of these tasks, with their (empty) checksums."""
        ds = self._dataset(tasks)
        ds[CHECKSUM] = ("task", np.zeros(ds.sizes["task"], dtype=np.uint64),
                        dict(description=_CHECKSUM_MEANING))
        return ds

    def _create(self, tasks):
        from symrep.io import atomic_directory

        ds = self._records_dataset(tasks)
        with atomic_directory(self.path) as tmp:
            ds.to_zarr(tmp, mode="w", encoding=self._encoding(ds), consolidated=True,
                       zarr_format=2)

    def _open(self):
        import xarray as xr

        try:
            return xr.open_zarr(self.path, consolidated=True)
        except Exception as exc:  # not a Zarr store, or an unreadable one
            raise ValueError(f"store = {str(self.path)!r} is invalid: it is not a symrep "
                             f"{self.kind} store ({type(exc).__name__}: {exc})") from None

    def _append(self, tasks):
        ds = self._records_dataset(tasks)
        # what has no task dimension (a coordinate shared by every task) is there already
        ds = ds.drop_vars([n for n, v in ds.variables.items() if "task" not in v.dims])
        ds.to_zarr(self.path, mode="a", append_dim="task", consolidated=True, zarr_format=2)

    def _repair(self, ds):
        """Give back to the store what a record check needs: the metadata of a variable
        whose folder was removed (from the consolidated metadata; its chunks are gone,
        and its records fail their check), and the ``checksum`` variable to a store
        written before records had one (its records are computed again)."""
        meta = json.loads((self.path / ".zmetadata").read_text())["metadata"]
        from symrep.io import atomic_write_text

        restored = []
        for key, value in meta.items():
            name, _, part = key.rpartition("/")
            if name and part in (".zarray", ".zattrs") and not (self.path / key).exists():
                (self.path / name).mkdir(exist_ok=True)
                atomic_write_text(self.path / key, json.dumps(value, indent=2))
                restored.append(name)
        if restored:
            logger.warning("store %s: the metadata of %s restored (its folder was removed); "
                           "its records are computed again", self.path,
                           ", ".join(sorted(set(restored))))
        if CHECKSUM not in ds.variables:
            import xarray as xr

            n = ds.sizes["task"]
            extra = xr.Dataset({CHECKSUM: ("task", np.zeros(n, dtype=np.uint64),
                                           dict(description=_CHECKSUM_MEANING))})
            extra.to_zarr(self.path, mode="a", encoding={CHECKSUM: {"chunks": (1,)}},
                          consolidated=True, zarr_format=2)
            logger.warning("store %s: written before records had checksums; its records "
                           "are computed again", self.path)

    def _load_index(self):
        import zarr

        ds = self._open()
        self.index = {key: i for i, key in enumerate(self._index_keys(ds))}
        group = zarr.open_group(self.path, mode="r")
        done, readable = _read_rows(group, "done", ds.sizes["task"])
        self._done = np.asarray(done, dtype=bool) & readable
        if not readable.all():
            logger.warning("store %s: the done flag of %d record(s) unreadable: computed "
                           "again", self.path, np.count_nonzero(~readable))

    def checksum(self, task, rows):
        """The checksum of a task's record: a 64-bit hash (never 0, the value of no
        checksum) of the task's identity and of each variable's row as stored.

        Parameters
        ----------
        task : Task
            The task.
        rows : mapping
            Each recorded variable's row of the task, as stored.

        Returns
        -------
        int
            The checksum, in [1, 2**64).
        """
        h = hashlib.blake2b(repr(self._coords(task)).encode(), digest_size=8)
        for name in self._record_names:
            value = np.asarray(rows[name])
            h.update(f"\0{name}\0{value.shape}\0".encode())
            if value.dtype.kind in "OUST":  # text, whatever its NumPy dtype
                h.update(json.dumps([str(v) for v in value.ravel()]).encode())
            else:
                h.update(value.dtype.str.encode() + np.ascontiguousarray(value).tobytes())
        return int.from_bytes(h.digest(), "little") or 1

    def finished(self, tasks):
        """``task -> record`` of the given tasks that are done in the store and pass
        their check (every chunk readable, the checksum matching); the records that
        fail it get ``done`` false, to be computed again.

        Parameters
        ----------
        tasks : iterable of Task
            The tasks to look up; each must be in the store.

        Returns
        -------
        dict
            Maps each finished task that passes the check to its record, as
            :func:`~symrep.grid.tasks.run_task` gives it.
        """
        import zarr

        rows = {task: self.index[self._coords(task)] for task in tasks}
        rows = {task: i for task, i in rows.items() if self._done[i]}
        if not rows:
            return {}
        group = zarr.open_group(self.path, mode="r")
        n = len(self._done)
        columns, readable = {}, np.ones(n, dtype=bool)
        for name in (*self._record_names, CHECKSUM):
            columns[name], ok = _read_rows(group, name, n)
            readable &= ok
        records, damaged = {}, []
        for task, i in rows.items():
            if readable[i] and int(columns[CHECKSUM][i]) == self.checksum(
                    task, {name: columns[name][i] for name in self._record_names}):
                records[task] = self._record(task, i, columns)
            else:
                damaged.append((task, i))
        if damaged:
            logger.warning("store %s: %d finished record(s) damaged (a chunk missing, "
                           "unreadable or not the task's): computed again; first %r",
                           self.path, len(damaged), damaged[0][0])
            group = self._writable()
            for _, i in damaged:
                group["done"][i] = False
                self._done[i] = False
        return records

    def _writable(self):
        import zarr

        if self._group is None:
            self._group = zarr.open_group(self.path, mode="r+")
        return self._group

    def write(self, task, record):
        """Store one task's record: its data, then its checksum, then its ``done`` flag.

        Parameters
        ----------
        task : Task
            A task of the store.
        record : dict
            Its record, as :func:`~symrep.grid.tasks.run_task` gives it.
        """
        i = self.index[self._coords(task)]
        group = self._writable()
        rows = self._write_values(group, i, task, record)  # the rows, or None: read back
        stored = ({name: group[name][i] for name in self._record_names} if rows is None
                  else {name: _as_stored(rows[name], group[name].dtype)
                        for name in self._record_names})
        group[CHECKSUM][i] = self.checksum(task, stored)
        group["done"][i] = True  # last: the record counts only from here on
        self._done[i] = True


def _as_stored(value, dtype):
    """A row as the store gives it back: numbers in the array's dtype (text is hashed
    as text whatever its dtype)."""
    value = np.asarray(value)
    return value if dtype.kind in "OUST" or value.dtype.kind in "OUST" else \
        value.astype(dtype)


def _read_rows(group, name, n):
    """The rows of a variable and which of them could be read (a chunk that does not
    decode is unreadable; one that is missing reads as the fill value)."""
    array = group[name] if name in group else None
    if array is None:
        return np.zeros(n), np.zeros(n, dtype=bool)
    try:
        return array[:], np.ones(n, dtype=bool)
    except Exception:  # some chunk does not decode (truncated, garbage): row by row
        values, ok = [None] * n, np.ones(n, dtype=bool)
        for i in range(n):
            try:
                values[i] = array[i][()]  # a 0-d row as a scalar, as array[:][i] gives it
            except Exception:
                ok[i] = False
                kind = array.dtype.kind
                values[i] = (np.full(array.shape[1:], np.nan) if kind in "fc" else
                             np.full(array.shape[1:], "", dtype=object) if kind in "OUST"
                             else np.zeros(array.shape[1:], dtype=array.dtype))
        return values, ok


class GridStore(RecordStore):
    """The Zarr store of a simulation grid: which tasks are done, and a place for each
    result (the layout of this module's docstring).

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
        ``store`` is not a grid store, holds a grid with other settings, or has no room
        for a task's units and features (its layout is fixed when it is created).
    """

    # --- layout -----------------------------------------------------------------------

    def _new_layout(self, tasks):
        self.layout, self.shape = _layout_of(tasks)

    def _read_layout(self, ds):
        self.layout = ds.attrs.get("layout", ONE_UNIT)
        if self.layout not in (ONE_UNIT, UNITS):
            raise ValueError(f"store = {str(self.path)!r} is invalid: it is not a symrep grid "
                             f"store (its layout is {self.layout!r}, a grid store's "
                             f"{ONE_UNIT!r} or {UNITS!r})")
        self.shape = (ds.sizes.get("unit", 1), ds.sizes.get("feature", 1))

    @property
    def _record_names(self):
        return (*OBSERVABLES, "phases") if self.layout == UNITS else OBSERVABLES

    @staticmethod
    def _coords(task):
        """The task's identity as the index keys it (whatever the layout)."""
        return tuple(_coordinate(task, name) for name in PARAMETERS)

    @property
    def _parameters(self):
        """The coordinates of the layout (the one-unit layout has no ``M``)."""
        return PARAMETERS if self.layout == UNITS else tuple(
            p for p in PARAMETERS if p != "M")

    def _dataset(self, tasks):
        import xarray as xr

        from symrep._version import __version__

        n = len(tasks)
        text = ("method", "options", "rho") if self.layout == UNITS else ("method", "options")
        coords = {}
        for name in self._parameters:
            values = [_coordinate(t, name, self.layout) for t in tasks]
            coords[name] = ("task", np.array(values, dtype=object if name in text
                                            else type(values[0])))
        data = {name: ("task", np.full(n, np.nan)) for name in OBSERVABLES}
        attrs = dict(symrep_version=__version__, settings=self.settings,
                     description="symrep simulation grid: one task per data set; a record "
                     "counts once done is true")
        if self.layout == UNITS:
            size = {"unit": self.shape[0], "unit_": self.shape[0], "feature": self.shape[1]}
            for name, dims in _MATRIX_DIMS.items():
                data[name] = (("task", *dims), np.full((n, *(size[d] for d in dims)), np.nan),
                              dict(description=f"{_MATRIX_MEANING[name]}; NaN past the "
                                   "task's M units and M* features"))
            data["phases"] = (("task", "unit"), np.full((n, self.shape[0]), "", dtype=object),
                              dict(description=_PHASES_MEANING))
            attrs["layout"] = UNITS
        data["done"] = ("task", np.zeros(n, dtype=bool))
        return xr.Dataset(data, coords=coords, attrs=attrs)

    def _check_fit(self, tasks):
        units, features = self.shape
        for t in tasks:
            if t.M > units or t.Mstar > features:
                room = ("one latent unit and one feature" if self.layout == ONE_UNIT else
                        f"at most M = {units} latent units and M* = {features} features")
                raise ValueError(
                    f"store = {str(self.path)!r} is invalid for this grid: it has room for "
                    f"{room}, and a task has M = {t.M}, M* = {t.Mstar} ({t!r}); use another "
                    "store for it")

    # --- records ----------------------------------------------------------------------

    def _record(self, task, i, columns):
        """The record of row i as :func:`~symrep.grid.tasks.run_task` gives it."""
        record = {}
        for name in OBSERVABLES:
            value = columns[name][i]
            if self.layout == UNITS and name in MATRIX_OBSERVABLES:
                value = (np.array(value[_extent(name, task)], dtype=np.float64) if task.units
                         else value.flat[0])
            record[name] = value if isinstance(value, np.ndarray) else float(value)
        if task.units:
            record["phases"] = tuple(str(p) for p in columns["phases"][i][:task.M])
        return record

    def _index_keys(self, ds):
        columns = {name: ds[name].values.tolist() for name in self._parameters}
        if self.layout == UNITS:  # the text back to the task's canonical rho
            columns["rho"] = [_strengths_from_text(r) for r in columns["rho"]]
        else:
            columns["M"] = [1] * ds.sizes["task"]
        return zip(*(columns[name] for name in PARAMETERS), strict=True)

    def _write_values(self, group, i, task, record):
        """Write the record's rows; return them (for its checksum)."""
        # whole rows (one chunk each), never read back and merged: a damaged chunk is
        # replaced whatever it holds
        rows = {}
        for name in OBSERVABLES:
            if self.layout == UNITS and name in MATRIX_OBSERVABLES:
                extent = _extent(name, task)
                row = np.full(group[name].shape[1:], np.nan)
                row[extent] = np.reshape(np.asarray(record[name], dtype=np.float64),
                                         tuple(s.stop for s in extent))
            else:
                row = np.float64(record[name])
            group[name][i] = rows[name] = row
        if self.layout == UNITS:
            phases = np.full(self.shape[0], "", dtype=object)
            phases[:task.M] = record_phases(task, record)
            group["phases"][i] = rows["phases"] = phases
        return rows
