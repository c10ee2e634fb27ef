"""Simulation grids with M latent units and M* features (symrep.grid, the "units" store).

The ground truth of a task is symrep.simulate.simulate(..., M=M, rho=...), the batched
call the grid splits into tasks: every task must give its data set's numbers bit for
bit, wherever it runs and whether or not it went through a store.
"""

import json
import logging

import numpy as np
import pytest
from test_grid import (  # the 2-worker LocalCluster and the interrupt of the one-unit tests
    interrupt_after,
    local_cluster,
)

from symrep.cli import main
from symrep.grid import MATRIX_OBSERVABLES, OBSERVABLES, Task, run_task, run_tasks
from symrep.grid.results import task_result
from symrep.grid.store import GridStore
from symrep.simulate.experiment import finite_size_runs, simulate, summarize

N = 20
RHO = (2.0, 0.7)


def grid(methods=("exact", "lbfgs"), seeds=2, alphas=(2.0,), M=2, rho=RHO):
    return [Task(alpha=a, beta=0.5, lam=1.0, rho=rho, M=M, N=N, seed=10 + k, method=m,
                 first_seed=10, seeds=seeds)
            for a in alphas for m in methods for k in range(seeds)]


def assert_same_records(got, want):
    """Records equal bit for bit: the same names, types, shapes and bytes."""
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        assert a.keys() == b.keys()
        for name in a:
            x, y = a[name], b[name]
            assert type(x) is type(y), name
            if isinstance(x, tuple):
                assert x == y, name
            else:
                x, y = np.asarray(x), np.asarray(y)
                assert (x.dtype, x.shape, x.tobytes()) == (y.dtype, y.shape, y.tobytes()), name


@pytest.fixture(scope="module")
def serial():
    tasks = grid()
    return tasks, run_tasks(tasks, scheduler="serial", progress=False)


def test_units_task_reproduces_its_run_of_the_batched_simulation():
    # data set k of simulate(first_seed=10, seeds=2, M=M, rho=rho): the same data, the
    # same starting point when training, so the same matrices, observables and phases
    for M, rho, methods in ((2, RHO, ("exact", "lbfgs")), (3, 1.5, ("exact",)),
                            (1, (2.0, 0.7, 1.2), ("exact",))):
        for method in methods:
            batch = simulate(N, 2.0, 0.5, 1.0, rho=rho, M=M, seeds=2, method=method,
                             first_seed=10)
            for k, want in enumerate(batch):
                task = Task(alpha=2.0, beta=0.5, lam=1.0, rho=rho, M=M, N=N, seed=10 + k,
                            method=method, first_seed=10, seeds=2)
                got = run_task(task)
                assert set(got) == {*OBSERVABLES, "phases"}
                for name in OBSERVABLES[:-4]:
                    value = np.asarray(getattr(want, name))
                    assert np.asarray(got[name]).tobytes() == value.tobytes(), (M, k, name)
                    assert np.shape(got[name]) == value.shape, (M, k, name)
                assert got["phases"] == want.phases and got["n_iter"] == want.n_iter
                assert task_result(task, got).as_dict() == want.as_dict()


def test_units_task_is_checked_and_canonical():
    a = Task(alpha=1, beta=0.5, lam=1, rho=[2, 0.7], M=2, N=N, seed=3)
    assert a == Task(alpha=1.0, beta=0.5, lam=1.0, rho=np.array(RHO), M=2, N=N, seed=3)
    assert a.rho == RHO and type(a.rho[0]) is float and (a.M, a.Mstar, a.units) == (2, 2, True)
    assert len({a, Task(alpha=1, beta=0.5, lam=1, rho=RHO, M=2, N=N, seed=3)}) == 1
    one = Task(alpha=1, beta=0.5, lam=1, rho=(2.0,), N=N, seed=3)
    assert one == Task(alpha=1, beta=0.5, lam=1, rho=2, N=N, seed=3) and one.rho == 2.0
    assert not one.units and Task(alpha=1, beta=0.5, lam=1, rho=2, M=2, N=N).units
    # M is the last field: positional construction of the existing fields is unchanged
    assert Task(1, 0.5, 1, 2.0, 1.0, N, 3) == one
    for kwargs, name in ((dict(M=0), "M"), (dict(M=1.5), "M"), (dict(rho=(2.0, -1.0)), "rho"),
                         (dict(rho=[[1.0, 2.0]]), "rho"), (dict(rho=()), "rho"),
                         (dict(rho=(1.0,) * (N + 1)), "rho"), (dict(rho="2,0.7"), "rho")):
        with pytest.raises(ValueError, match=name):
            Task(**{**dict(alpha=1, beta=0.5, lam=1, N=N, seed=3), **kwargs})


def test_units_store_resumes_and_recomputes_half_written_records(tmp_path, serial, caplog):
    import zarr

    tasks, want = serial
    store, k = tmp_path / "g.zarr", 2

    interrupt_after(tasks, store, k)
    # the data of the last task written (wrong numbers), its done flag not: as if cut off
    grid_store = GridStore(store, tasks)
    i = grid_store.index[grid_store._coords(tasks[-1])]
    assert not grid_store._done[i]
    group = zarr.open_group(store, mode="r+")
    for name in OBSERVABLES:
        group[name][i] = -1.0
    group["phases"][i] = "collapsed"
    with caplog.at_level(logging.INFO, logger="symrep.grid"):
        again = run_tasks(tasks, store=store, scheduler="serial", progress=False)
    assert (again.computed, again.found, again.total) == (len(tasks) - k, k, len(tasks))
    assert f"computed {len(tasks) - k} of {len(tasks)} tasks ({k} found" in caplog.text
    assert_same_records(again, want)
    # read back in another order: found by identity, the records as run_task gave them
    third = run_tasks(tasks[::-1], store=store, scheduler="serial", progress=False)
    assert (third.computed, third.found) == (0, len(tasks))
    assert_same_records(third, want[::-1])


def test_units_store_reads_with_xarray_padded_with_nan(tmp_path):
    import xarray as xr

    # M = 3 with one feature, M = 1 with two, and one of one unit and one feature; the
    # strengths 0.1 + 0.2 and 1/3 have no short decimal: their text must give them back
    tasks = [Task(alpha=2.0, beta=0.5, lam=1.0, rho=rho, M=M, N=N, seed=1)
             for M, rho in ((3, 1.5), (1, (0.1 + 0.2, 1 / 3)), (1, 1.0))]
    want = [run_task(t) for t in tasks]
    (one_unit,) = simulate(N, 2.0, 0.5, 1.0, rho=1.0, seeds=1, first_seed=1)
    store = tmp_path / "g.zarr"
    run_tasks(tasks, store=store, scheduler="serial", progress=False)
    ds = xr.open_zarr(store)
    assert ds.attrs["layout"] == "units" and ds.sizes == dict(task=3, unit=3, unit_=3,
                                                              feature=2)
    shapes = dict(m=(3, 3, 2), d=(3, 3, 2), Q=(3, 3, 3), E=(3, 3, 3), R=(3, 3, 3), D=(3, 3),
                  phases=(3, 3), eg=(3,), done=(3,))
    for name, shape in shapes.items():
        assert ds[name].shape == shape and ds[name].chunks[0] == (1, 1, 1), name
    assert ds["m"].dims == ("task", "unit", "feature") and ds["Q"].dims[1:] == ("unit",
                                                                                 "unit_")
    assert "learning feature k" in ds["phases"].attrs["description"]
    assert ds["M"].values.tolist() == [3, 1, 1] and ds["M"].dtype.kind == "i"
    assert ds["rho"].values.tolist() == ["1.5", f"{0.1 + 0.2!r},{1 / 3!r}", "1.0"]
    assert [tuple(float(r) for r in text.split(",")) for text in ds["rho"].values] == [
        (1.5,), (0.1 + 0.2, 1 / 3), (1.0,)]
    for i, (task, record) in enumerate(zip(tasks, want, strict=True)):
        M, Ms = task.M, task.Mstar
        for name in MATRIX_OBSERVABLES:
            stored = ds[name].values[i]
            extent = {"m": (M, Ms), "d": (M, Ms), "Q": (M, M), "E": (M, M), "R": (M, M),
                      "D": (M,)}[name]
            filled = np.full(stored.shape, False)
            filled[tuple(slice(n) for n in extent)] = True
            assert np.array_equal(stored[filled], np.ravel(record[name])), (i, name)
            assert np.all(np.isnan(stored[~filled])), (i, name)  # the padding
        phases = record.get("phases") or one_unit.as_units().phases
        assert ds["phases"].values[i].tolist() == [*phases, *[""] * (3 - M)]
        assert float(ds["eg"].values[i]) == record["eg"]
    assert bool(ds["done"].all())
    done = xr.open_zarr(store).load()  # the recipe of docs/cluster.md
    done = done.isel(task=done.done.values)
    assert done.eg.groupby(done.M).mean().sizes["M"] == 2
    assert (done.phases == "learning feature 1").sum("unit").shape == (3,)
    again = run_tasks(tasks, store=store, scheduler="serial", progress=False)
    assert (again.computed, again.found) == (0, 3)
    assert_same_records(again, want)  # the one-unit task's record is floats again
    # room for the largest M and M* of the grid the store was made for, no more
    for M, rho in ((4, 1.5), (2, (1.0, 1.0, 1.0))):
        with pytest.raises(ValueError, match="store"):
            run_tasks([*tasks, Task(alpha=2.0, beta=0.5, lam=1.0, rho=rho, M=M, N=N)],
                      store=store, scheduler="serial", progress=False)
    assert xr.open_zarr(store).sizes["task"] == 3


def test_one_unit_store_keeps_its_layout_and_refuses_units(tmp_path):
    import xarray as xr

    store = tmp_path / "one.zarr"
    tasks = grid(methods=("exact",), seeds=1, alphas=(0.5, 2.0), M=1, rho=1.0)
    run_tasks(tasks, store=store, scheduler="serial", progress=False)
    ds = xr.open_zarr(store)
    assert "layout" not in ds.attrs and "M" not in ds.variables and "phases" not in ds
    assert dict(ds.sizes) == {"task": len(tasks)} and ds["rho"].dtype == np.float64
    for name in (*OBSERVABLES, "done", "alpha", "rho", "options"):
        assert ds[name].dims == ("task",), name
    done = ds.load()  # the recipe of docs/cluster.md
    done = done.isel(task=done.done.values)
    assert done.eg.groupby(done.alpha).mean().sizes["alpha"] == len(tasks)
    # several units in a one-unit store: refused, and nothing appended
    for bad in (grid(methods=("exact",), seeds=1, M=2, rho=1.0),
                grid(methods=("exact",), seeds=1, M=1, rho=RHO)):
        with pytest.raises(ValueError, match="store"):
            run_tasks(tasks + bad, store=store, scheduler="serial", progress=False)
    assert xr.open_zarr(store).sizes["task"] == len(tasks)


@pytest.mark.slow
def test_units_two_workers_give_the_serial_numbers(tmp_path, serial):
    from distributed import Client

    tasks, want = serial
    store = tmp_path / "g.zarr"
    with local_cluster() as cluster, Client(cluster) as client:
        run = run_tasks(tasks, store=store, client=client, progress=False)
    assert run.computed == len(tasks) and run.where == "client"
    assert_same_records(run, want)  # bit for bit
    again = run_tasks(tasks, store=store, scheduler="serial", progress=False)
    assert (again.computed, again.found) == (0, len(tasks))
    assert_same_records(again, want)


SIMULATE = ["simulate", "--N", str(N), "--alpha", "2", "--beta", "0.5", "--lam", "1",
            "--M", "2", "--rho", "2,0.7", "--seeds", "2", "--json"]


def test_cli_simulate_units_store_round_trip(tmp_path, capsys):
    store = str(tmp_path / "sim.zarr")
    assert main(SIMULATE) == 0
    plain = capsys.readouterr().out
    assert main([*SIMULATE, "--store", store]) == 0
    first = capsys.readouterr()
    assert main([*SIMULATE, "--store", store, "--scheduler", "serial"]) == 0
    second = capsys.readouterr()
    assert first.out == second.out == plain
    assert "computed 2 of 2 tasks" in first.err and "computed 0 of 2 tasks" in second.err
    # the runs are those of simulate(), the summary that of summarize()
    want = simulate(N, 2.0, 0.5, 1.0, rho=RHO, M=2, seeds=2)
    out = json.loads(plain)
    assert out["runs"] == [json.loads(json.dumps(dict(seed=k, **r.as_dict())))
                           for k, r in enumerate(want)]
    assert np.array_equal(out["summary"]["m"]["mean"], summarize(want)["m"][0])


@pytest.mark.parametrize("extra, needle", [
    (["--rho", "2,-1"], "rho"),
    (["--M", "0"], "M"),
    (["--scheduler", "nowhere"], "scheduler"),
])
def test_cli_simulate_units_bad_input_is_one_line_exit_2(tmp_path, capsys, extra, needle):
    assert main([*SIMULATE, "--store", str(tmp_path / "s.zarr"), *extra]) == 2
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert out.out == "" and len(lines) == 1 and needle in lines[0], out.err
    assert "Traceback" not in out.err


def test_finite_size_runs_through_a_store(tmp_path, caplog):
    points = {"(2,2)": dict(alpha=2.0, beta=0.5, lam=1.0, rho=RHO, M=2),
              "(1,1)": dict(alpha=2.0, beta=0.5, lam=1.0)}
    store = tmp_path / "f.zarr"
    with caplog.at_level(logging.INFO, logger="symrep.grid"):
        rows = finite_size_runs(points, Ns=(N,), seeds=2, progress=False, store=store,
                                scheduler="serial")
        again = finite_size_runs(points, Ns=(N,), seeds=2, progress=False, store=store)
    assert "computed 4 of 4 tasks" in caplog.text and "computed 0 of 4 tasks" in caplog.text
    for row, row2 in zip(rows, again, strict=True):
        p = points[row["point"]]
        results = simulate(N, p["alpha"], p["beta"], p["lam"], rho=p.get("rho", 1.0),
                           M=p.get("M", 1), seeds=2)
        for name, (mean, sem) in summarize(results).items():
            for r in (row, row2):
                assert np.asarray(r["summary"][name][0]).tobytes() == np.asarray(
                    mean).tobytes(), name
                assert np.asarray(r["summary"][name][1]).tobytes() == np.asarray(
                    sem).tobytes(), name
        units = [r.as_units() if hasattr(r, "as_units") else r for r in results]
        assert row["phases"] == row2["phases"] == {
            tuple(u.phases): sum(v.phases == u.phases for v in units) for u in units}
    with pytest.raises(ValueError, match="store"):
        finite_size_runs(points, Ns=(N,), seeds=2, progress=False, store=store,
                         settings=dict(other=1))
