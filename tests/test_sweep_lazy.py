"""Lazy (Dask-backed) sweeps and their streaming to Zarr: the same values as the eager
sweep, block by block, the resource check on one block, errors when a block is computed."""

import itertools
import math

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr

import symrep
import symrep.solvers.sweep_grid as sweep_grid
import symrep.solvers.sweep_lazy as sl
from symrep.errors import SolverError, TooLargeError
from symrep.solvers import PHASES, sweep_table
from symrep.solvers.sweep_lazy import block_chunks, sweep_to_zarr

ALPHA = np.array([0.6, 1.5, 3.0])
BETA = np.array([0.3, 0.8, 1.4, 2.2])
ETA = np.linspace(0.5, 1.5, 40)


@pytest.fixture(autouse=True)
def _threads():
    with dask.config.set(scheduler="threads", num_workers=2):
        yield


def _blocks(res):
    """Every block of a lazy sweep as index slices along its dimensions."""
    edges = [np.cumsum((0, *c)) for c in res["eg"].chunks]
    for corner in itertools.product(*(range(len(e) - 1) for e in edges)):
        yield {d: slice(e[i], e[i + 1]) for d, e, i in zip(res["eg"].dims, edges, corner,
                                                          strict=True)}


def test_block_chunks_keep_the_innermost_dimension_whole():
    assert block_chunks((3, 4, 40), chunk_size=80) == ((1, 1, 1), (2, 2), (40,))
    assert block_chunks((3, 4, 40), chunk_size=10) == ((1, 1, 1), (1, 1, 1, 1), (40,))
    assert block_chunks((3, 4, 40), chunk_size=10**6) == ((3,), (4,), (40,))
    assert block_chunks((3, 4, 40), 80, given={0: (2, 1)}) == ((2, 1), (2, 2), (40,))
    with pytest.raises(ValueError, match="chunk_size"):
        block_chunks((3,), chunk_size=0)


def test_lazy_sweep_solves_nothing_until_computed(monkeypatch):
    def poisoned(params, **kwargs):
        raise AssertionError("solved")

    eager = set(symrep.sweep(1.0, 0.5, 1.0).data_vars)  # before: the eager sweep solves
    monkeypatch.setattr(sweep_grid, "solve_chunk", poisoned)
    res = symrep.sweep(ALPHA, BETA, 1.0, 1.2, ETA, lazy=True, chunk_size=80)
    assert res["eg"].chunks == ((1, 1, 1), (2, 2), (40,))
    assert set(res.data_vars) == eager
    assert res["phase"].dtype == np.int8 and res["converged"].dtype == bool
    with pytest.raises(AssertionError, match="solved"):
        res["eg"].isel(alpha=0, beta=0).compute()


def test_dask_inputs_make_the_sweep_lazy_with_their_chunks():
    alpha = da.from_array(ALPHA, chunks=2)
    eta = da.from_array(ETA, chunks=7)  # innermost: whole in every block regardless
    res = symrep.sweep(alpha, BETA, 1.0, 1.2, eta, chunk_size=80)
    assert res["eg"].chunks == ((2, 1), (2, 2), (40,))
    np.testing.assert_array_equal(res["alpha"].values, ALPHA)
    eager = symrep.sweep(alpha, BETA[:1], 1.0, 1.2, 1.0, lazy=False)
    assert isinstance(eager["eg"].data, np.ndarray)


def test_every_block_equals_the_eager_sweep_of_its_subgrid():
    res = symrep.sweep(ALPHA, BETA, 1.0, 1.2, ETA, lazy=True, chunk_size=80).compute()
    blocks = list(_blocks(symrep.sweep(ALPHA, BETA, 1.0, 1.2, ETA, lazy=True,
                                       chunk_size=80)))
    assert len(blocks) == 6
    for sel in blocks:
        part = res.isel(sel)
        eager = symrep.sweep(part["alpha"].values, part["beta"].values, 1.0, 1.2, ETA)
        xr.testing.assert_identical(part, eager)  # bit for bit, NaN and all
    # and the values are the optimum: the full search at single points agrees
    for a, b, e in ((0.6, 0.3, ETA[0]), (3.0, 2.2, ETA[-1]), (1.5, 0.8, ETA[17])):
        one = symrep.solve(a, b, 1.0, rho=1.2, eta=e)
        got = res.sel(alpha=a, beta=b, eta=e)
        assert float(got["eg"]) == pytest.approx(one.eg, rel=1e-9, abs=1e-12)
        assert PHASES[int(got["phase"])] == one.phase


def test_lazy_grid_of_flat_runs_equals_the_eager_sweep():
    # blocks of one (alpha, beta) each are runs of the flat grid, as eager chunks are
    res = symrep.sweep(ALPHA, BETA[:2], 1.0, 1.2, ETA, lazy=True, chunk_size=len(ETA))
    assert res["eg"].chunks[-1] == (len(ETA),) and res["eg"].data.npartitions == 6
    eager = symrep.sweep(ALPHA, BETA[:2], 1.0, 1.2, ETA, chunk_size=len(ETA))
    xr.testing.assert_identical(res.compute(), eager)
    one = symrep.sweep(2.0, 0.5, 1.0, lazy=True)  # a single point
    xr.testing.assert_identical(one.compute(), symrep.sweep(2.0, 0.5, 1.0))


def test_lazy_sweep_with_latent_units_equals_the_eager_one(tmp_path):
    alpha, beta = np.array([2.0, 4.0]), np.geomspace(0.2, 2, 30)
    res = symrep.sweep(alpha, beta, 1.0, (2.0, 0.7), M=2, lazy=True, chunk_size=30)
    assert res["Q"].chunks == ((1, 1), (30,), (2,), (2,))
    assert res["m"].dims == ("alpha", "beta", "unit", "feature")
    eager = symrep.sweep(alpha, beta, 1.0, (2.0, 0.7), M=2, chunk_size=30)
    xr.testing.assert_identical(res.compute(), eager)
    sweep_to_zarr(tmp_path / "u.zarr", alpha, beta, 1.0, (2.0, 0.7), M=2, chunk_size=30)
    back = xr.open_zarr(tmp_path / "u.zarr")
    xr.testing.assert_identical(back.load(), eager)
    assert sweep_table(back).shape[0] == 60


def _fail_from_alpha(monkeypatch, threshold):
    """No admissible state where alpha >= threshold."""
    import symrep.solvers.units as units

    physical, collapsed = units.physical, units._collapsed_ok

    def physical_below(z, alpha, *args, **kwargs):
        return physical(z, alpha, *args, **kwargs) & (np.asarray(alpha) < threshold)

    def collapsed_below(z, params, **kwargs):
        return collapsed(z, params, **kwargs) & (np.asarray(params[0]) < threshold)

    monkeypatch.setattr(units, "physical", physical_below)
    monkeypatch.setattr(units, "_collapsed_ok", collapsed_below)


def test_a_block_without_solution_raises_when_computed_or_is_masked(monkeypatch):
    _fail_from_alpha(monkeypatch, 2.0)
    alpha, eta = np.array([1.0, 3.0]), ETA[:10]
    res = symrep.sweep(alpha, 0.5, 1.0, 1.0, eta, lazy=True, chunk_size=10)
    good = res.sel(alpha=1.0).compute()  # the other block is not solved
    assert bool(good["converged"].all())
    with pytest.raises(SolverError, match="alpha': 3.0") as info:
        res.compute()
    assert info.value.diagnostics["failed"] == 10
    masked = symrep.sweep(alpha, 0.5, 1.0, 1.0, eta, lazy=True, chunk_size=10,
                          errors="mask").compute()
    assert not masked["converged"].sel(alpha=3.0).any()
    assert np.isnan(masked["eg"].sel(alpha=3.0)).all()
    xr.testing.assert_identical(masked, symrep.sweep(alpha, 0.5, 1.0, 1.0, eta,
                                                     chunk_size=10, errors="mask"))


def test_the_resource_check_looks_at_one_block():
    grid = np.linspace(1.0, 2.0, 251)  # 251**5 = 1e12 points
    with pytest.raises(TooLargeError):
        symrep.sweep(grid, grid, grid, grid, grid)
    res = symrep.sweep(grid, grid, grid, grid, grid, lazy=True)
    assert res["eg"].size == 251**5
    assert max(res["eg"].data.chunksize[:1]) * 251**4 > 65_536 >= np.prod(
        res["eg"].data.chunksize)
    with pytest.raises(TooLargeError, match="one block"):  # blocks of 4e9 points
        symrep.sweep(grid, grid, grid, grid, grid, lazy=True, chunk_size=251**4)
    symrep.sweep(grid, grid, grid, grid, grid, lazy=True, chunk_size=251**4, force=True)


@pytest.mark.parametrize("change, match", [
    (dict(lazy="yes"), "lazy"),
    (dict(lazy=True, checkpoint="x"), "checkpoint"),
    (dict(lazy=True, progress=True), "progress"),
    (dict(lazy=True, M=0), "M"),
    (dict(lazy=True, M=2, rho=[1.0, -1.0]), "rho"),
    (dict(lazy=True, chunk_size=0), "chunk_size"),
    (dict(lazy=True, errors="ignore"), "errors"),
    (dict(lazy=True, alpha=np.array([1.0, -1.0])), "alpha"),
    (dict(lazy=True, beta=np.ones((2, 2))), "beta"),
])
def test_lazy_sweep_rejects_bad_input(change, match):
    kwargs = dict(alpha=ALPHA, beta=0.5, lam=1.0)
    kwargs.update(change)
    with pytest.raises(ValueError, match=match):
        symrep.sweep(**kwargs)


def test_sweep_to_zarr_writes_the_blocks_as_chunks_atomically(tmp_path):
    store = tmp_path / "grid.zarr"
    out = sweep_to_zarr(store, ALPHA, BETA[:2], 1.0, 1.2, ETA, chunk_size=len(ETA))
    assert out == store and sorted(p.name for p in tmp_path.iterdir()) == ["grid.zarr"]
    back = xr.open_zarr(store)
    assert back["eg"].encoding["chunks"] == (1, 1, len(ETA))
    assert len([p for p in (store / "eg").iterdir() if not p.name.startswith(".")]) == 6
    eager = symrep.sweep(ALPHA, BETA[:2], 1.0, 1.2, ETA, chunk_size=len(ETA))
    xr.testing.assert_identical(back.load(), eager)
    assert len(sweep_table(back)) == eager["eg"].size


@pytest.mark.parametrize("size", [1, 3, 5, 8, 100])
def test_zarr_batches_cover_every_block_once(size):
    chunks = ((1, 1, 1), (2, 2, 1), (40,))
    seen = []
    for batch in sl._batches(("a", "b", "c"), chunks, size):
        assert batch
        for sel in batch:
            a = range(3)[sel.get("a", slice(None))]
            b = range(5)[sel.get("b", slice(None))]
            seen += [(i, j) for i in a for j in b]
    assert sorted(seen) == [(i, j) for i in range(3) for j in range(5)]


def test_sweep_to_zarr_in_many_batches_and_of_one_point(tmp_path, monkeypatch):
    monkeypatch.setattr(sl, "BATCH_BLOCKS", 2)
    sweep_to_zarr(tmp_path / "g.zarr", ALPHA[:2], BETA[:2], 1.0, 1.2, ETA[:10],
                  chunk_size=10, progress=True)  # 4 blocks, 2 batches
    eager = symrep.sweep(ALPHA[:2], BETA[:2], 1.0, 1.2, ETA[:10], chunk_size=10)
    xr.testing.assert_identical(xr.open_zarr(tmp_path / "g.zarr").load(), eager)
    sweep_to_zarr(tmp_path / "one.zarr", 2.0, 0.5, 1.0)
    xr.testing.assert_identical(xr.open_zarr(tmp_path / "one.zarr").load(),
                                symrep.sweep(2.0, 0.5, 1.0))


def test_sweep_to_zarr_graphs_never_span_the_whole_grid(tmp_path, monkeypatch):
    # the metadata are written from single-chunk placeholders and the data batch by
    # batch: no call builds the store graph of every block (at 10^4 blocks that graph
    # held 1.4 GB), so the memory does not grow with the number of blocks
    monkeypatch.setattr(sl, "BATCH_BLOCKS", 2)
    calls = []
    to_zarr = xr.Dataset.to_zarr

    def spy(self, *args, **kwargs):
        calls.append((kwargs.get("region"), max(
            (math.prod(len(c) for c in v.chunks) for v in self.data_vars.values()
             if v.chunks), default=0)))
        return to_zarr(self, *args, **kwargs)

    monkeypatch.setattr(xr.Dataset, "to_zarr", spy)
    sweep_to_zarr(tmp_path / "g.zarr", ALPHA, BETA[:2], 1.0, 1.2, ETA[:10], chunk_size=10)
    assert calls[0] == (None, 1)  # the metadata: one chunk per variable
    assert all(region is not None and blocks <= 2 for region, blocks in calls[1:])
    assert sum(blocks for _, blocks in calls[1:]) == 6  # every block written once
    xr.testing.assert_identical(
        xr.open_zarr(tmp_path / "g.zarr").load(),
        symrep.sweep(ALPHA, BETA[:2], 1.0, 1.2, ETA[:10], chunk_size=10))


@pytest.mark.slow
def test_process_scheduler_starts_one_pool_for_all_batches(tmp_path, monkeypatch):
    # Dask's process scheduler starts a pool for every compute call unless one is
    # configured; a sweep of several batches starts one, whatever the number of batches
    import concurrent.futures

    import dask.multiprocessing as dmp

    monkeypatch.setattr(sl, "BATCH_BLOCKS", 2)
    pools = []

    class Counted(concurrent.futures.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", Counted)
    monkeypatch.setattr(dmp, "ProcessPoolExecutor", Counted)
    with dask.config.set(scheduler="processes", num_workers=2):
        sweep_to_zarr(tmp_path / "g.zarr", ALPHA, BETA[:2], 1.0, 1.2, ETA[:10],
                      chunk_size=10)  # 6 blocks, 3 batches
    assert len(pools) == 1
    xr.testing.assert_identical(
        xr.open_zarr(tmp_path / "g.zarr").load(),
        symrep.sweep(ALPHA, BETA[:2], 1.0, 1.2, ETA[:10], chunk_size=10))
    with dask.config.set(scheduler="processes", num_workers=2):  # a pool of the user's
        with concurrent.futures.ProcessPoolExecutor(2) as own, dask.config.set(pool=own):
            sweep_to_zarr(tmp_path / "h.zarr", ALPHA, BETA[:2], 1.0, 1.2, ETA[:10],
                          chunk_size=10)
    assert len(pools) == 2  # that one only
    xr.testing.assert_identical(xr.open_zarr(tmp_path / "h.zarr").load(),
                                xr.open_zarr(tmp_path / "g.zarr").load())


def test_sweep_to_zarr_keeps_the_old_store_when_a_block_fails(tmp_path, monkeypatch):
    store = tmp_path / "grid.zarr"
    sweep_to_zarr(store, [1.0, 3.0], 0.5, 1.0, 1.0, ETA[:10], chunk_size=10)
    before = xr.open_zarr(store).load()
    _fail_from_alpha(monkeypatch, 2.0)
    with pytest.raises(SolverError):
        sweep_to_zarr(store, [1.0, 3.0], 0.5, 1.0, 1.0, ETA[:10], chunk_size=10)
    xr.testing.assert_identical(xr.open_zarr(store).load(), before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.zarr"]


def _failing_and_slow_tasks(mark):
    """Two tasks: one fails at once, the other sleeps and then writes the file ``mark``
    (as a block that is still writing into the temporary store when another fails)."""
    import time

    def fail():
        raise SolverError("no state", {})

    def slow():
        time.sleep(0.5)
        mark.write_text("written")

    return [dask.delayed(fail)(), dask.delayed(slow)()]


@pytest.mark.parametrize("scheduler", ["threads", "distributed"])
def test_a_failing_batch_returns_after_its_other_tasks_end(scheduler, tmp_path):
    """sweep_to_zarr removes its temporary store when a block fails: every other task
    of the batch must have ended by then (with Dask's own thread pool, or on a cluster,
    the compute call raises while they still run: a block written after the removal
    left a ``.grid.zarr.*.tmp`` folder behind, seen in a loaded test run)."""
    mark = tmp_path / "mark"
    if scheduler == "threads":
        with dask.config.set(scheduler="threads"):
            with pytest.raises(SolverError), sl._own_pool():
                sl._compute_to_the_end(_failing_and_slow_tasks(mark))
            assert mark.read_text() == "written"
    else:
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                          dashboard_address=None) as cluster, Client(cluster):
            with pytest.raises(SolverError):
                sl._compute_to_the_end(_failing_and_slow_tasks(mark))
            # checked before the cluster closes (closing it waits for its tasks)
            assert mark.read_text() == "written"


def test_sweep_to_zarr_rejects_bad_stores_and_chunks(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="store"):
        sweep_to_zarr(tmp_path / "file", ALPHA, 0.5, 1.0)
    with pytest.raises(ValueError, match="store"):
        sweep_to_zarr(tmp_path / "missing" / "grid.zarr", ALPHA, 0.5, 1.0)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "notes.txt").write_text("keep")
    with pytest.raises(ValueError, match="not a Zarr store"):
        sweep_to_zarr(tmp_path / "results", ALPHA, 0.5, 1.0)
    assert (tmp_path / "results" / "notes.txt").read_text() == "keep"
    with pytest.raises(ValueError, match="alpha has chunks"):
        sweep_to_zarr(tmp_path / "g.zarr", da.from_array(ALPHA, chunks=((1, 2),)), 0.5,
                      1.0, eta=ETA[:5])
    assert not (tmp_path / "g.zarr").exists()


@pytest.mark.slow
def test_sweep_to_zarr_of_1e5_points_in_100_blocks_equals_the_eager_sweep(tmp_path):
    grid = dict(alpha=np.geomspace(0.3, 5, 10), beta=np.geomspace(0.2, 3, 10),
                lam=np.linspace(0.2, 1.4, 5), rho=np.geomspace(0.6, 2, 4),
                eta=np.linspace(0.5, 1.5, 50))
    with dask.config.set(scheduler="threads", num_workers=2):
        sweep_to_zarr(tmp_path / "g.zarr", **grid, chunk_size=1000)
    back = xr.open_zarr(tmp_path / "g.zarr")
    assert back["eg"].size == 10**5 and back["eg"].encoding["chunks"] == (1, 1, 5, 4, 50)
    xr.testing.assert_identical(back.load(), symrep.sweep(**grid, chunk_size=1000))
