"""Simulation grids (symrep.grid): pure tasks, a Zarr store, serial and Dask runs agree.

The ground truth of a task is symrep.simulate.simulate, the batched call the grid splits
into tasks: every task must give its data set's numbers bit for bit.
"""

import logging
import os
import signal

import numpy as np
import pytest

from symrep.grid import OBSERVABLES, Task, run_task, run_tasks
from symrep.grid.store import GridStore
from symrep.simulate.experiment import simulate

N = 60


def grid(methods=("exact", "lbfgs"), seeds=2, alphas=(0.5, 2.0), betas=(0.5,)):
    return [Task(alpha=a, beta=b, lam=1.0, N=N, seed=10 + k, method=m, first_seed=10,
                 seeds=seeds)
            for a in alphas for b in betas for m in methods for k in range(seeds)]


@pytest.fixture(scope="module")
def serial():
    tasks = grid()
    return tasks, run_tasks(tasks, scheduler="serial", progress=False)


def test_task_reproduces_its_run_of_the_batched_simulation():
    # data set k of simulate(first_seed=10, seeds=3): the same data, and for training the
    # same starting point (row k of the batch's initialisation)
    for method in ("exact", "lbfgs"):
        batch = simulate(N, 2.0, 0.5, 1.0, seeds=3, method=method, first_seed=10)
        for k, want in enumerate(batch):
            got = run_task(Task(alpha=2.0, beta=0.5, lam=1.0, N=N, seed=10 + k,
                                method=method, first_seed=10, seeds=3))
            for name in OBSERVABLES[:-4]:
                assert got[name] == getattr(want, name), (method, k, name)
            assert got["P"] == want.params["P"] and got["n_iter"] == want.n_iter


def test_task_is_checked_and_hashable():
    a = Task(alpha=1, beta=0.5, lam=1, N=N, seed=3)
    assert a == Task(alpha=1.0, beta=0.5, lam=1.0, N=N, seed=3) and len({a, a}) == 1
    # the exact optimum has no initialisation: its batch does not matter
    assert Task(alpha=1, beta=0.5, lam=1, N=N, seed=3, first_seed=2, seeds=4) == a
    for kwargs, name in ((dict(alpha=-1), "alpha"), (dict(N=0), "N"),
                         (dict(method="sgd"), "method"), (dict(seed=-1), "seed"),
                         (dict(method="lbfgs", first_seed=5, seeds=2), "seed"),
                         (dict(options={"max_iter": 5}), "options")):
        with pytest.raises(ValueError, match=name):
            Task(**{**dict(alpha=1, beta=0.5, lam=1, N=N, seed=3), **kwargs})
    with pytest.raises(ValueError, match="scheduler"):
        run_tasks([a], scheduler="nowhere")


def interrupt_after(tasks, store, k):
    """Run the grid serially into ``store`` and interrupt it (Ctrl-C) after k results."""
    seen = []

    def stop_after_k(task, record):
        seen.append(task)
        if len(seen) == k:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_tasks(tasks, store=store, scheduler="serial", progress=stop_after_k)


def test_store_resumes_and_skips_done_tasks(tmp_path, serial, caplog):
    tasks, want = serial
    store = tmp_path / "g.zarr"
    k = 3

    interrupt_after(tasks, store, k)
    with caplog.at_level(logging.INFO, logger="symrep.grid"):
        again = run_tasks(tasks, store=store, scheduler="serial", progress=False)
    assert (again.computed, again.found, again.total) == (len(tasks) - k, k, len(tasks))
    assert f"computed {len(tasks) - k} of {len(tasks)} tasks ({k} found" in caplog.text
    assert list(again) == list(want)
    third = run_tasks(tasks, store=store, scheduler="serial", progress=False)
    assert (third.computed, third.found) == (0, len(tasks)) and list(third) == list(want)


def test_store_reads_with_xarray_and_matches_by_identity(tmp_path, serial):
    import xarray as xr

    tasks, want = serial
    store = tmp_path / "g.zarr"
    run_tasks(tasks[:3], store=store, scheduler="serial", progress=False)
    # other order, more tasks: the finished ones are found by identity, not position
    order = tasks[::-1]
    again = run_tasks(order, store=store, scheduler="serial", progress=False)
    assert (again.computed, again.found) == (len(tasks) - 3, 3)
    assert list(again) == list(want)[::-1]
    ds = xr.open_zarr(store)
    assert ds.sizes["task"] == len(tasks) and bool(ds["done"].all())
    assert set(OBSERVABLES) | {"done", "checksum"} == set(ds.data_vars)
    for name in ("alpha", "beta", "lam", "rho", "eta", "N", "seed", "method", "first_seed",
                 "seeds", "options"):
        assert ds[name].dims == ("task",)
    assert ds.attrs["symrep_version"] and "settings" in ds.attrs
    index = {(float(a), float(b), str(m), int(s)): i for i, (a, b, m, s) in enumerate(zip(
        ds["alpha"].values, ds["beta"].values, ds["method"].values, ds["seed"].values,
        strict=True))}
    for task, record in zip(tasks, want, strict=True):
        i = index[task.alpha, task.beta, task.method, task.seed]
        assert float(ds["eg"].values[i]) == record["eg"]


def test_half_written_record_is_computed_again(tmp_path, serial):
    tasks, want = serial
    store = tmp_path / "g.zarr"
    grid_store = GridStore(store, tasks)
    # the data of task 0 written (wrong numbers), its done flag not: as if cut off
    import zarr

    group = zarr.open_group(store, mode="r+")
    i = grid_store.index[grid_store._coords(tasks[0])]
    for name in OBSERVABLES:
        group[name][i] = -1.0
    run = run_tasks(tasks, store=store, scheduler="serial", progress=False)
    assert (run.computed, run.found) == (len(tasks), 0)
    assert list(run) == list(want)


def test_store_of_another_grid_is_refused(tmp_path):
    store = tmp_path / "g.zarr"
    tasks = grid(methods=("exact",), seeds=1)
    run_tasks(tasks, store=store, settings=dict(N=N), scheduler="serial", progress=False)
    with pytest.raises(ValueError, match="store"):
        run_tasks(tasks, store=store, settings=dict(N=2 * N), scheduler="serial")
    (tmp_path / "junk").mkdir()
    with pytest.raises(ValueError, match="store"):
        run_tasks(tasks, store=tmp_path / "junk", scheduler="serial")


def local_cluster():
    from distributed import LocalCluster

    return LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                        dashboard_address=":0", silence_logs=logging.ERROR)


def test_two_workers_give_the_serial_numbers(tmp_path, serial):
    from distributed import Client

    tasks, want = serial
    with local_cluster() as cluster, Client(cluster) as client:
        run = run_tasks(tasks, store=tmp_path / "g.zarr", client=client, progress=False)
    assert run.computed == len(tasks) and run.where == "client"
    assert list(run) == list(want)  # bit for bit


@pytest.mark.slow
def test_two_workers_survive_a_killed_worker(tmp_path, serial):
    from distributed import Client

    tasks, want = serial
    store = tmp_path / "g.zarr"
    with local_cluster() as cluster, Client(cluster) as client:
        pids = list(client.run(os.getpid).values())
        killed = []

        def kill_one(task, record):
            if not killed:  # mid-grid: one worker process dies, its task runs elsewhere
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])

        run = run_tasks(tasks, store=store, client=client, progress=kill_one)
    assert killed and run.computed == len(tasks) and run.where == "client"
    assert list(run) == list(want)  # bit for bit
    again = run_tasks(tasks, store=store, scheduler="serial", progress=False)
    assert (again.computed, again.found) == (0, len(tasks)) and list(again) == list(want)


def test_figures_rows_unchanged_through_the_grid(tmp_path):
    from symrep.figures.core import Size, simulation_points

    points = [dict(alpha=2.0, beta=0.5, lam=1.0), dict(alpha=0.5, beta=0.5, lam=0.2)]
    size = Size("custom", N=N, seeds=2)
    store = tmp_path / "p.zarr"
    rows = simulation_points(points, size, progress=False, store=store)
    again = simulation_points(points, size, progress=False, store=store)
    assert rows == again
    # the rows' means are those of simulate() with the documented seeds
    for i, point in enumerate(points):
        for method in size.methods:
            results = simulate(N, **point, seeds=2, method=method, first_seed=2 * i)
            row = next(r for r in rows if r["alpha"] == point["alpha"]
                       and r["method"] == method)
            assert row["eg_mean"] == np.mean([r.eg for r in results])


def _malloc_setting():
    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


@pytest.mark.slow
def test_local_workers_keep_the_adaptive_malloc_and_this_environment(monkeypatch):
    # Dask's default MALLOC_TRIM_THRESHOLD_ = 65536 halves the speed of torch training in
    # its workers (see symrep.grid.executor._worker_environment)
    from symrep.grid import open_client

    for name in ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    with open_client("local", workers=1) as client:
        assert list(client.run(_malloc_setting).values()) == [None]
    assert "MALLOC_TRIM_THRESHOLD_" not in os.environ and "OMP_NUM_THREADS" not in os.environ
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1048576")  # the user's own: kept
    with open_client("local", workers=1) as client:
        assert list(client.run(_malloc_setting).values()) == ["1048576"]
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "1048576"


# --- the store's integrity: a damaged record is computed again, never read back ---------

def small_grid(seeds=3):
    return [Task(alpha=2.0, beta=0.5, lam=1.0, N=30, seed=k) for k in range(seeds)]


def chunk(store, name, i):
    return store / name / str(i)


def remove_chunk(store):
    chunk(store, "eg", 1).unlink()
    return {1}


def truncate_chunk(store):
    path = chunk(store, "m", 2)
    path.write_bytes(path.read_bytes()[:10])
    return {2}


def garbage_chunk(store):
    path = chunk(store, "Q", 0)
    path.write_bytes(bytes(range(7, 7 + len(path.read_bytes()))))
    return {0}


def swapped_chunks(store):
    # a valid chunk of seed 0 in seed 1's place and the other way round: each decodes
    for name in ("eg", "checksum"):
        a, b = chunk(store, name, 0).read_bytes(), chunk(store, name, 1).read_bytes()
        chunk(store, name, 0).write_bytes(b)
        chunk(store, name, 1).write_bytes(a)
    return {0, 1}


def removed_folder(store):
    import shutil

    shutil.rmtree(store / "Q")
    return {0, 1, 2}


def garbage_done_flag(store):
    chunk(store, "done", 2).write_bytes(b"\x00garbage")
    return {2}


def removed_checksum(store):
    chunk(store, "checksum", 0).unlink()
    return {0}


@pytest.mark.parametrize("damage", [remove_chunk, truncate_chunk, garbage_chunk,
                                    swapped_chunks, removed_folder, garbage_done_flag,
                                    removed_checksum], ids=lambda f: f.__name__)
def test_damaged_records_are_computed_again(tmp_path, damage, caplog):
    tasks = small_grid()
    store = tmp_path / "g.zarr"
    clean = run_tasks(tasks, store=store, scheduler="serial", progress=False)
    damaged = damage(store)
    with caplog.at_level(logging.WARNING, logger="symrep.grid"):
        again = run_tasks(tasks, store=store, scheduler="serial", progress=False)
    assert list(again) == list(clean)  # the same numbers, none NaN
    assert (again.computed, again.found) == (len(damaged), len(tasks) - len(damaged))
    assert "computed again" in caplog.text
    third = run_tasks(tasks, store=store, scheduler="serial", progress=False)
    assert (third.computed, list(third)) == (0, list(clean))  # repaired for good


def test_damaged_record_of_several_units_is_computed_again(tmp_path):
    tasks = [Task(alpha=3.0, beta=0.3, lam=0.5, rho=(2.0, 0.7), M=2, N=30, seed=k)
             for k in range(2)]
    store = tmp_path / "u.zarr"
    clean = run_tasks(tasks, store=store, scheduler="serial", progress=False)
    path = store / "Q" / "1.0.0"
    path.write_bytes(path.read_bytes()[:-3])  # truncated matrix chunk
    (store / "phases" / "0.0").unlink()
    again = run_tasks(tasks, store=store, scheduler="serial", progress=False)
    assert again.computed == 2
    for got, want in zip(again, clean, strict=True):
        assert got.keys() == want.keys() and got["phases"] == want["phases"]
        for name in OBSERVABLES:
            np.testing.assert_array_equal(got[name], want[name])


def test_write_cut_off_at_any_step_is_never_read_as_done(tmp_path, monkeypatch):
    # Ctrl-C between any two chunk writes of a record: a reader of the store (xarray, or
    # the next run) sees the record done only with all its data, else computes it again
    import shutil

    import xarray as xr
    import zarr

    task = small_grid(1)[0]
    want = run_task(task)
    empty = tmp_path / "empty.zarr"
    GridStore(empty, [task])  # created whole (atomic_directory); its records written:
    setitem = zarr.Array.__setitem__
    step = 0
    while True:
        step += 1
        store = tmp_path / f"g{step}.zarr"
        shutil.copytree(empty, store)
        calls = []

        def cut_off(self, key, value, calls=calls, step=step):
            calls.append(key)
            if len(calls) == step:
                raise KeyboardInterrupt
            setitem(self, key, value)

        monkeypatch.setattr(zarr.Array, "__setitem__", cut_off)
        try:
            run_tasks([task], store=store, scheduler="serial", progress=False)
            interrupted = False
        except KeyboardInterrupt:
            interrupted = True
        monkeypatch.setattr(zarr.Array, "__setitem__", setitem)
        if not interrupted:
            break
        ds = xr.open_zarr(store).load()
        if bool(ds["done"].values[0]):
            assert all(float(ds[name].values[0]) == want[name] for name in OBSERVABLES)
        again = run_tasks([task], store=store, scheduler="serial", progress=False)
        assert again.computed == 1 and again[0] == want, step
    assert step > len(OBSERVABLES) + 1  # every write of the record was cut off once


def cli_store_files(store):
    return {p.relative_to(store): p.read_bytes() for p in store.rglob("*") if p.is_file()}


@pytest.mark.parametrize("other", [["--beta", "1"], ["--seeds", "3"], ["--device", "cpu"]],
                         ids=lambda o: o[0])
def test_cli_store_of_other_settings_is_refused_untouched(tmp_path, capsys, monkeypatch,
                                                          other):
    from symrep.cli import main

    store = tmp_path / "s.zarr"
    argv = ["simulate", "--N", "30", "--alpha", "2", "--beta", "0.5", "--lam", "1",
            "--seeds", "2", "--method", "lbfgs", "--store", str(store), "-q"]
    assert main(argv) == 0
    before = cli_store_files(store)
    capsys.readouterr()

    def no_work(task):
        raise AssertionError("a task ran")

    monkeypatch.setattr("symrep.grid.tasks.run_task", no_work)
    assert main([*argv, *other]) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and "store" in err and "another grid" in err, err
    assert cli_store_files(store) == before  # byte for byte


def test_cli_compare_refuses_a_store_of_another_grid_before_its_cluster(tmp_path, capsys,
                                                                         monkeypatch):
    from symrep.cli import main

    store = tmp_path / "s.zarr"
    assert main(["simulate", "--N", "30", "--alpha", "2", "--beta", "0.5", "--lam", "1",
                 "--seeds", "2", "--store", str(store), "-q"]) == 0
    before = cli_store_files(store)
    capsys.readouterr()

    def no_cluster(*args, **kwargs):
        raise AssertionError("a cluster was started")

    monkeypatch.setattr("symrep.grid.executor.open_client", no_cluster)
    assert main(["compare", "--quick", "--N", "30", "--seeds", "1", "--scheduler", "local",
                 "--store", str(store), "--out", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "store" in err and "another grid" in err, err
    assert cli_store_files(store) == before
