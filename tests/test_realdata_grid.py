"""The real-data experiment as a grid of batches: store, resume, Dask."""

from __future__ import annotations

import numpy as np
import pytest

from symrep.grid import Task, run_tasks
from symrep.realdata.experiment import SETTINGS, run_experiment
from symrep.realdata.grid import RealDataStore, RealDataTask

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

BETAS = (0.003, 0.1, 3.0)


def _tasks(seeds=(0, 1)):
    """Two kinds, a few seeds: batches of three small VAEs (a fraction of a second each)."""
    return [RealDataTask("digits", kind, 2.0, seed, BETAS, latent=1, epochs=5)
            for kind in ("mlp", "linear") for seed in seeds]


@pytest.fixture(scope="module")
def serial():
    tasks = _tasks()
    return tasks, run_tasks(tasks, scheduler="serial", progress=False)


def _same(records, want):
    assert len(records) == len(want)
    for got, ref in zip(records, want, strict=True):
        assert got.keys() == ref.keys()
        for name in got:  # bit for bit
            np.testing.assert_array_equal(got[name], ref[name])


def test_store_resumes_an_interrupted_grid_of_batches(tmp_path, serial):
    tasks, want = serial
    store = tmp_path / "real.zarr"
    seen = []

    def stop_after_two(task, record):
        seen.append(task)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_tasks(tasks, store=store, scheduler="serial", progress=stop_after_two)
    again = run_tasks(tasks, store=store, scheduler="serial", progress=False)
    assert (again.computed, again.found, again.total) == (2, 2, 4)
    _same(again, want)
    third = run_tasks(tasks, store=store, scheduler="serial", progress=False)
    assert (third.computed, third.found) == (0, 4)
    _same(third, want)
    # a third seed later: only its batches run, and they are the ones run alone
    more = _tasks((0, 1, 2))
    grown = run_tasks(more, store=store, scheduler="serial", progress=False)
    assert (grown.computed, grown.found) == (2, 4)
    _same([grown[i] for i in (0, 1, 3, 4)], want)
    _same([grown[i] for i in (2, 5)], [more[2].run(), more[5].run()])


def test_the_store_reads_with_xarray(tmp_path, serial):
    import xarray as xr

    tasks, want = serial
    store = tmp_path / "real.zarr"
    run_tasks(tasks, store=store, scheduler="serial", progress=False)
    ds = xr.open_zarr(store)
    assert ds.attrs["layout"] == "realdata" and bool(ds["done"].all())
    assert ds.sizes == {"task": 4, "beta": 3}
    np.testing.assert_array_equal(ds["beta"].values, BETAS)
    row = int(np.nonzero((ds["kind"].values == "mlp") & (ds["seed"].values == 1))[0][0])
    np.testing.assert_array_equal(ds["frechet"].values[row], want[1]["frechet"])
    assert ds["P"].values[row] == want[1]["P"] == 128
    # the recipe of docs/cluster.md
    ds = ds.load()
    ds = ds.isel(task=ds.done.values)
    mlp = ds.where(ds.kind == "mlp", drop=True)
    rate = mlp.rate.groupby(mlp.alpha).mean()
    np.testing.assert_allclose(rate.sel(alpha=2.0).values,
                               (want[0]["rate"] + want[1]["rate"]) / 2, rtol=1e-15)


def test_a_store_of_another_experiment_is_refused(tmp_path):
    store = tmp_path / "real.zarr"
    task = RealDataTask("digits", "linear", 2.0, 0, (0.5, 1.0))
    RealDataStore(store, [task], {"dataset": "digits"})
    with pytest.raises(ValueError, match="holds another grid"):
        RealDataStore(store, [task], {"dataset": "patches"})
    other = RealDataTask("digits", "linear", 2.0, 0, (0.5, 2.0))
    with pytest.raises(ValueError, match="beta grid"):
        RealDataStore(store, [other], {"dataset": "digits"})
    grid = tmp_path / "grid.zarr"
    run_tasks([Task(1.0, 0.5, 1.0, N=10)], store=grid, scheduler="serial", progress=False)
    with pytest.raises(ValueError, match="not a symrep real-data store"):
        RealDataStore(grid, [task])
    with pytest.raises(ValueError, match="not a symrep grid store .its layout is 'realdata'"):
        run_tasks([Task(1.0, 0.5, 1.0, N=10)], store=store, scheduler="serial",
                  progress=False)


def test_tasks_of_two_kinds_are_refused():
    task = RealDataTask("digits", "linear", 2.0, 0, (0.5,))
    with pytest.raises(ValueError, match=r"tasks\[1\].*grid task of one kind"):
        run_tasks([task, Task(1.0, 0.5, 1.0, N=10)], scheduler="serial")


@pytest.mark.parametrize("change, name", [
    (dict(dataset="nope"), "dataset"), (dict(kind="tree"), "kind"), (dict(alpha=0), "alpha"),
    (dict(betas=()), "betas"), (dict(betas=(1.0, -1.0)), "betas"), (dict(epochs=0), "epochs"),
    (dict(seed=-1), "seed"), (dict(lr=float("nan")), "lr"),
])
def test_task_validation_names_the_parameter(change, name):
    args = dict(dataset="digits", kind="mlp", alpha=2.0, seed=0, betas=(1.0,))
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        RealDataTask(**{**args, **change})


def test_root_is_not_part_of_the_identity(tmp_path):
    a = RealDataTask("digits", "mlp", 2.0, 0, (1.0,))
    b = RealDataTask("digits", "mlp", 2.0, 0, [1.0], root=str(tmp_path))
    assert a == b and hash(a) == hash(b) and a.key() == b.key()


@pytest.mark.slow
def test_two_workers_give_the_serial_results(serial):
    tasks, want = serial
    local = run_tasks(tasks, scheduler="local", progress=False)
    assert local.where == "local"
    _same(local, want)


@pytest.mark.slow
def test_experiment_resumes_from_its_store(tmp_path, monkeypatch):
    settings = SETTINGS["quick"].with_(alphas=(2.0,), n_betas=3, n_betas_near=0,
                                       seeds=(0, 1), steps=40, latent=1)
    reference = run_experiment("digits", settings=settings, scheduler="serial")
    store = tmp_path / "real.zarr"
    run = RealDataTask.run
    calls = []

    def stop_at_third(task):
        calls.append(task)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return run(task)

    monkeypatch.setattr(RealDataTask, "run", stop_at_third)
    with pytest.raises(KeyboardInterrupt):
        run_experiment("digits", settings=settings, store=store, scheduler="serial")
    monkeypatch.setattr(RealDataTask, "run", run)
    again = run_experiment("digits", settings=settings, store=store)
    assert again.notes["grid"] == "2 of 4 batches computed, 2 found in the store (serial)"
    assert again.runs == reference.runs and again.summary == reference.summary
