"""The real-data experiment as a grid: one task per batch of VAEs, resumable, on Dask.

A :class:`RealDataTask` is one batch of the experiment of ``symrep realdata``: VAEs of
one kind, trained (or, for the linear kind, put at their exact optimum) on the subset of
P = round(alpha N) samples that one seed draws from the training pool, one VAE per beta
of the grid, and measured on the held-out set. It is a grid task of
:func:`symrep.grid.run_tasks` (it has ``run``, ``key``, ``seconds`` and ``open_store``
as :class:`symrep.grid.Task` has them), so the batches run in this process, on a local
Dask cluster or on a user's one, and with a store every finished batch is kept and a
rerun computes only what is missing.

Store layout (:class:`RealDataStore`, ``xarray.open_zarr(path)`` reads it): the
dimensions ``task`` and ``beta``; one coordinate along ``task`` per field of the task's
identity (:data:`TASK_FIELDS`), the coordinate ``beta`` (the grid, the same for every
task of a store); ``rate``, ``reconstruction``, ``frechet`` and ``final_loss``
(task, beta) and ``P`` (task), NaN until computed; the record's ``checksum`` and the
boolean ``done``; the attributes ``symrep_version``, ``settings`` (the data set and its
spectrum estimate) and ``layout`` (``"realdata"``). Records are written and checked as
in :class:`symrep.grid.GridStore`: data first, then the checksum, ``done`` last; a
damaged record is computed again.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, fields

import numpy as np

from symrep.grid.store import RecordStore
from symrep.validation import check_finite_float, check_positive_int, check_seed

__all__ = ["RealDataTask", "RealDataStore", "prepared_data", "TASK_FIELDS",
           "RECORD_FIELDS", "LAYOUT"]

#: What a task's record holds besides ``P``: one value per beta of the grid.
RECORD_FIELDS = ("rate", "reconstruction", "frechet", "final_loss")
#: The ``layout`` attribute of a real-data store.
LAYOUT = "realdata"
#: Seconds per sample and epoch of one MLP VAE on one CPU thread, the scale of
#: :meth:`RealDataTask.seconds`, calibrated on digits (``docs/benchmarks.md``,
#: "Real-data training").
_SECONDS_PER_SAMPLE_EPOCH = 2.7e-6


@functools.lru_cache(maxsize=2)
def prepared_data(dataset, root=None, n_test=297):
    """A data set as the experiment uses it, loaded once per process.

    Returns
    -------
    dict
        ``test`` and ``pool`` (float32 tensors: the held-out set and the training pool,
        a fixed split), ``labels`` (of the pool), ``mean`` (of the pool), ``test_c`` and
        ``pool_c`` (centred with it) and ``shape`` (the image shape).
    """
    import torch

    from symrep.realdata import datasets
    from symrep.realdata.experiment import split_data

    X, labels = datasets.load(dataset, root, return_labels=True)
    X = torch.as_tensor(X, dtype=torch.float32)
    test, pool = split_data(X, n_test)
    _, pool_labels = split_data(torch.as_tensor(labels), n_test)
    mean = pool.mean(dim=0)
    return dict(test=test, pool=pool, labels=pool_labels, mean=mean, test_c=test - mean,
                pool_c=pool - mean, shape=datasets.image_shape(dataset))


@dataclass(frozen=True)
class RealDataTask:
    """One batch of VAEs of the real-data experiment: one kind, one alpha, one seed,
    every beta of the grid.

    Parameters
    ----------
    dataset : str
        A name of :data:`symrep.realdata.datasets.DATASETS`.
    kind : str
        VAE kind (:data:`symrep.realdata.vae.KINDS`).
    alpha : float
        Sample complexity: P = round(alpha N) samples of the training pool.
    seed : int
        Draws the subset; fixes initialisation, mini-batch order and noise.
    betas : tuple of float
        The beta grid (one VAE each).
    latent : int
        Latent units.
    epochs, batch_size : int
    lr : float
        Adam's settings (not used by the linear kind at its exact optimum).
    n_test : int
        Held-out samples.
    linear_exact : bool
        The linear kind at its exact optimum instead of trained.
    features : str
        Feature network of the Frechet distance.
    device : str
        Where the VAEs train ("cpu", "cuda", ...); part of the task's identity.
    threads : int
        Torch threads while the task runs.
    root : str, optional
        Folder of the data set's files; not part of the identity (where the files are,
        not what they hold).
    """

    dataset: str
    kind: str
    alpha: float
    seed: int
    betas: tuple
    latent: int = 2
    epochs: int = 20
    batch_size: int = 128
    lr: float = 1e-3
    n_test: int = 297
    linear_exact: bool = True
    features: str = "auto"
    device: str = "cpu"
    threads: int = 1
    root: str = field(default=None, compare=False)

    def __post_init__(self):
        from symrep.realdata.datasets import DATASETS
        from symrep.realdata.vae import KINDS

        if str(self.dataset).lower() not in DATASETS:
            raise ValueError(f"dataset = {self.dataset!r} is invalid: must be one of "
                             f"{', '.join(DATASETS)}")
        object.__setattr__(self, "dataset", str(self.dataset).lower())
        if self.kind not in KINDS:
            raise ValueError(f"kind = {self.kind!r} is invalid: must be one of "
                             f"{', '.join(KINDS)}")
        object.__setattr__(self, "alpha", check_finite_float("alpha", self.alpha, low=0.0))
        object.__setattr__(self, "seed", check_seed(self.seed) or 0)
        betas = tuple(float(b) for b in np.atleast_1d(np.asarray(self.betas, float)))
        if not betas or not all(math.isfinite(b) and b > 0 for b in betas):
            raise ValueError(f"betas = {self.betas!r} is invalid: must be a non-empty "
                             "sequence of numbers in (0, inf)")
        object.__setattr__(self, "betas", betas)
        for name in ("latent", "epochs", "batch_size", "n_test", "threads"):
            object.__setattr__(self, name, check_positive_int(name, getattr(self, name)))
        object.__setattr__(self, "lr", check_finite_float("lr", self.lr, low=0.0))
        object.__setattr__(self, "linear_exact", bool(self.linear_exact))
        object.__setattr__(self, "features", str(self.features))
        object.__setattr__(self, "device", str(self.device))
        if self.root is not None:
            object.__setattr__(self, "root", str(self.root))

    def key(self) -> tuple:
        """The task's identity as plain values (every field but ``root``).

        Returns
        -------
        tuple
            ``betas`` and the values of :data:`TASK_FIELDS`.
        """
        return tuple(getattr(self, name) for name in ("betas", *TASK_FIELDS))

    def run(self):
        """Train and measure the batch; the record (see :data:`RECORD_FIELDS`).

        Returns
        -------
        dict
            ``rate``, ``reconstruction``, ``frechet``, ``final_loss``: float64 arrays
            over ``betas``; ``P`` (float).
        """
        import torch

        from symrep.realdata import evaluation, frechet, training
        from symrep.realdata.experiment import _subset, exact_linear_vaes

        data = prepared_data(self.dataset, self.root, self.n_test)
        pool_c, shape = data["pool_c"], data["shape"]
        N = pool_c.shape[1]
        P = int(round(self.alpha * N))
        if not 1 <= P <= pool_c.shape[0]:
            raise ValueError(f"alpha = {self.alpha} is invalid for {self.dataset}: P = {P} "
                             f"samples, the training pool has {pool_c.shape[0]} (N = {N})")
        threads = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            idx = torch.as_tensor(_subset(pool_c.shape[0], P, self.seed))
            if self.kind == "linear" and self.linear_exact:
                result = exact_linear_vaes(pool_c[idx], self.betas, latent=self.latent,
                                           seed=self.seed)
            else:
                result = training.train_vaes(
                    pool_c[idx], self.betas, kind=self.kind, image_shape=shape,
                    seeds=(self.seed,), epochs=self.epochs, batch_size=self.batch_size,
                    lr=self.lr, latent=self.latent, device=self.device, progress=False)
            metrics = evaluation.heldout_metrics(result, data["test_c"])
            fakes = evaluation.generate(result, self.n_test, seed=self.seed) + data["mean"]
            fd = frechet.frechet_distances(data["test"], fakes, dataset=self.dataset,
                                           image_shape=shape, features=self.features)
        finally:
            torch.set_num_threads(threads)
        values = dict(rate=metrics["rate"], reconstruction=metrics["reconstruction"],
                      frechet=fd, final_loss=np.asarray(result.loss)[-1])
        record = {k: np.asarray(v, dtype=np.float64).reshape(len(self.betas))
                  for k, v in values.items()}
        record["P"] = float(P)
        return record

    def seconds(self):
        """Estimated run time: MLP-sized training, per sample and epoch of every VAE.

        Returns
        -------
        float
            Seconds on one CPU thread (a scale for scheduling, not a promise): the exact
            linear VAEs a fixed small cost per beta, convolutional VAEs four times an MLP.
        """
        if self.kind == "linear" and self.linear_exact:
            return 0.05 * len(self.betas)
        from symrep.realdata.datasets import image_shape

        N = math.prod(image_shape(self.dataset))
        return (_SECONDS_PER_SAMPLE_EPOCH * self.epochs * len(self.betas)
                * self.alpha * N * (4 if self.kind == "conv" else 1))

    @classmethod
    def open_store(cls, path, tasks, settings=None):
        """The store of a grid of such tasks: :class:`RealDataStore`.

        Parameters
        ----------
        path : str or Path
            The Zarr store.
        tasks : sequence of RealDataTask
            The grid's tasks, all with the same ``betas``.
        settings : dict, optional
            What defines the experiment beyond its tasks (data set, spectrum estimate).

        Returns
        -------
        RealDataStore
            The store, created or opened.
        """
        return RealDataStore(path, tasks, settings)


#: The fields of a task that are coordinates of its store (all but betas and root).
TASK_FIELDS = tuple(f.name for f in fields(RealDataTask) if f.name not in ("betas", "root"))
_TEXT = ("dataset", "kind", "features", "device")


class RealDataStore(RecordStore):
    """The Zarr store of a real-data grid (the layout of this module's docstring).

    Parameters
    ----------
    path : str or path
    tasks : sequence of RealDataTask
        All with the same ``betas``.
    settings : dict, optional
        What defines the experiment beyond its tasks (data set, spectrum estimate).

    Raises
    ------
    ValueError
        ``store`` is not a real-data store, holds another experiment, or its beta grid
        is not the tasks'.
    """

    kind = "real-data"
    _parameters = TASK_FIELDS
    _record_names = (*RECORD_FIELDS, "P")

    @staticmethod
    def _coords(task):
        return tuple(getattr(task, name) for name in TASK_FIELDS)

    def _new_layout(self, tasks):
        self.betas = tasks[0].betas

    def _read_layout(self, ds):
        if ds.attrs.get("layout") != LAYOUT or "beta" not in ds.variables:
            raise ValueError(f"store = {str(self.path)!r} is invalid: it is not a symrep "
                             f"real-data store (layout {ds.attrs.get('layout')!r})")
        self.betas = tuple(float(b) for b in ds["beta"].values)

    def _check_fit(self, tasks):
        for t in tasks:
            if t.betas != self.betas:
                raise ValueError(f"store = {str(self.path)!r} is invalid for this grid: its "
                                 f"beta grid has {len(self.betas)} values from "
                                 f"{self.betas[0]:.6g} to {self.betas[-1]:.6g}, the task's "
                                 "differs; use another store for it")

    def _dataset(self, tasks):
        import xarray as xr

        from symrep._version import __version__

        n, b = len(tasks), len(self.betas)
        coords = {name: ("task", np.array([getattr(t, name) for t in tasks],
                                          dtype=object if name in _TEXT else None))
                  for name in TASK_FIELDS}
        coords["beta"] = ("beta", np.array(self.betas))
        data = {name: (("task", "beta"), np.full((n, b), np.nan)) for name in RECORD_FIELDS}
        data["P"] = ("task", np.full(n, np.nan))
        data["done"] = ("task", np.zeros(n, dtype=bool))
        attrs = dict(symrep_version=__version__, settings=self.settings, layout=LAYOUT,
                     description="symrep real-data grid: one task per batch of VAEs (kind, "
                     "alpha, seed), one value per beta; a record counts once done is true")
        return xr.Dataset(data, coords=coords, attrs=attrs)

    def _index_keys(self, ds):
        return zip(*(ds[name].values.tolist() for name in TASK_FIELDS), strict=True)

    def _record(self, task, i, columns):
        record = {name: np.array(columns[name][i], dtype=np.float64)
                  for name in RECORD_FIELDS}
        record["P"] = float(columns["P"][i])
        return record

    def _write_values(self, group, i, task, record):
        for name in RECORD_FIELDS:
            group[name][i] = np.asarray(record[name], dtype=np.float64)
        group["P"][i] = record["P"]
