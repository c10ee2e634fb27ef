"""Sweeps beyond memory: a lazy, Dask-backed grid and its streaming to Zarr.

:func:`lazy_sweep` builds the same Dataset as :func:`symrep.sweep`, with every variable a
Dask array: nothing is solved until it is computed (``.compute()``, ``.to_zarr()``,
``.sel(...).values``, ...). The grid is cut into blocks, hyper-rectangles of the outer
product of the parameters, and each block is one task that solves its points with the
same code as the eager sweep (the sweep's layout, :mod:`symrep.solvers.sweep_layout`:
the vectorised solver, continuation along the points in C order, Newton from the
nearest solved neighbour where it failed). The innermost swept dimension always stays whole in a
block, so that every block is a set of whole curves along it, the order in which
continuation is cheap. A block's values are bit-for-bit those of the eager sweep of the
block's own sub-grid (``symrep.sweep`` on its coordinates, with a ``chunk_size`` of at
least its number of points); where the blocks are runs of the flat grid (only the
innermost dimensions, the others one value per block) the whole lazy grid equals the
eager sweep with ``chunk_size`` set to the points per block.

With ``M`` latent units the same holds for :func:`symrep.solvers.units_grid.sweep_units`
(its fields keep their ``unit``, ``unit_`` and ``feature`` dimensions whole in a block).

:func:`sweep_to_zarr` writes such a grid to a Zarr store block by block: each block is
solved, written (one file per variable and block) and dropped, and the blocks are handed
to the scheduler in batches, so the memory needed is that of one batch's task graph and
the blocks in flight, whatever the size of the grid. The store (Zarr format 2 with
consolidated metadata: ``xarray.open_zarr(store)`` reads it) is written into a temporary
folder that replaces ``store`` only when every block is written
(:func:`symrep.io.atomic_directory`).
"""

from __future__ import annotations

import functools
import itertools
import math
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from symrep.resources import check_resources, sweep_estimate
from symrep.solvers.sweep_grid import (
    _axes,
    _grid,
    grid_size,
)
from symrep.validation import check_positive_int

__all__ = ["lazy_sweep", "sweep_to_zarr", "block_chunks", "is_lazy"]

#: The solved fields of a block, stacked in this order along its first axis.
_DTYPES = {"phase": np.int8, "unit_state": np.int8, "converged": bool}


def is_lazy(value) -> bool:
    """Whether ``value`` is a Dask collection (a chunked, lazy array).

    Parameters
    ----------
    value : object
        Anything.

    Returns
    -------
    bool
        True for a Dask collection; False without importing Dask when it is not loaded.
    """
    if "dask" not in sys.modules:  # no Dask array can exist: do not pay for the import
        return False
    from dask import is_dask_collection

    return is_dask_collection(value)


def block_chunks(shape, chunk_size=65_536, given=None):
    """How a grid is cut into blocks: the chunks of every dimension.

    The innermost dimension is always one chunk (whole curves along it, for
    continuation). Every other dimension keeps the chunks in ``given``, or else, from the
    inside out, gets as many values per block as keep a block within ``chunk_size``
    points (at least one).

    Parameters
    ----------
    shape : tuple of int
        The grid's shape.
    chunk_size : int
        Target number of points per block (exceeded only where the innermost dimension
        alone is longer).
    given : dict, optional
        ``{axis: tuple of chunk lengths}`` for dimensions whose chunks are imposed.

    Returns
    -------
    tuple of tuple of int
        The chunk lengths of every dimension, as Dask writes them.

    Examples
    --------
    >>> block_chunks((4, 10, 50), chunk_size=2000)
    ((4,), (10,), (50,))
    >>> block_chunks((4, 10, 50), chunk_size=200)
    ((1, 1, 1, 1), (4, 4, 2), (50,))
    """
    chunk_size = check_positive_int("chunk_size", chunk_size)
    given = dict(given or {})
    chunks = [None] * len(shape)
    inner = 1
    for axis in reversed(range(len(shape))):
        n = int(shape[axis])
        if axis == len(shape) - 1:
            chunks[axis] = (n,)
        elif axis in given:
            chunks[axis] = tuple(int(c) for c in given[axis])
        else:
            step = max(1, min(n, chunk_size // inner))
            chunks[axis] = (step,) * (n // step) + ((n % step,) if n % step else ())
        inner *= max(chunks[axis]) if chunks[axis] else 1
    return tuple(chunks)


def _field(block, *, start, extra, dtype_):
    """One field of a solved block (rows ``start`` onwards of the stack), with its extra
    dimensions last, in its own dtype."""
    width = math.prod(extra)
    x = block[start:start + width].reshape(extra + block.shape[1:])
    return np.moveaxis(x, tuple(range(len(extra))), tuple(range(x.ndim - len(extra),
                                                                 x.ndim))).astype(dtype_)


def _stack(out, layout, shape):
    """The fields of a solved block stacked along a new first axis (float64)."""
    rows = []
    for name, extra, _ in layout:
        x = np.asarray(out[name], dtype=float).reshape(shape + extra)
        x = np.moveaxis(x, tuple(range(len(shape), x.ndim)), tuple(range(len(extra))))
        rows.append(x.reshape((-1, *shape)))
    return np.concatenate(rows)


def _block_grid(coords, swept, fixed, names):
    """The flat parameters of a block (as the eager sweep flattens its grid)."""
    values = dict(fixed)
    values.update(zip(swept, coords, strict=True))
    shape = tuple(len(c) for c in coords)
    return [np.atleast_1d(f) for f in _grid([values[n] for n in names], shape)], shape


def _solve_block(*coords, swept, fixed, errors, layout, sweep):
    """Solve one block: the outer product of ``coords`` (one 1-d array per swept
    parameter) with the fixed parameters, by the eager sweep's code for a grid solved
    as one chunk (``sweep``: its layout, :mod:`symrep.solvers.sweep_layout`); the fields
    stacked along a new first axis."""
    flat, shape = _block_grid(coords, swept, fixed, sweep.names)
    out = sweep.solve(flat)
    if errors == "raise":
        sweep.raise_unsolved(out, flat)
    return _stack(out, layout, shape)


def _lazy_fields(dims, coords, chunks, solver, layout, extra_dims, **kwargs):
    """Every field of the grid as a Dask array: one task per block solves it
    (``solver``), one blockwise layer per field takes its rows.

    ``layout`` lists ``(name, extra lengths, dtype)`` per field in the order of the
    stack; ``extra_dims`` names the extra dimensions of the fields that have some."""
    import dask
    import dask.array as da

    width = sum(math.prod(extra) for _, extra, _ in layout)
    kwargs.update(swept=tuple(dims), layout=layout)
    if dims:
        args = []
        for d, c in zip(dims, chunks, strict=True):
            args += [da.from_array(coords[d], chunks=(c,), name=False), (d,)]
        stacked = da.blockwise(solver, ("field", *dims), *args, new_axes={"field": width},
                               dtype=float, align_arrays=False,
                               meta=np.empty((0,) * (len(dims) + 1)), **kwargs)
    else:  # one point
        stacked = da.from_delayed(dask.delayed(solver, pure=True)(**kwargs),
                                  shape=(width,), dtype=float)
    # blockwise layers are not built block by block: a grid of any number of blocks
    # costs nothing until it is computed
    fields, start = {}, 0
    for name, extra, dtype in layout:
        names = tuple(extra_dims.get(name, ()))
        fields[name] = da.blockwise(
            _field, (*dims, *names), stacked, ("field", *dims), concatenate=True,
            new_axes=dict(zip(names, extra, strict=True)), dtype=dtype,
            meta=np.empty((0,) * (len(dims) + len(extra)), dtype),
            start=start, extra=extra, dtype_=dtype)
        start += math.prod(extra)
    return fields


def _parameters(names, values, chunk_size):
    """Validated grid of lazily given parameters: dims, coords, axes, shape, chunks."""
    import dask

    chunk_size = check_positive_int("chunk_size", chunk_size)
    plain, given = {}, {}
    for name, v in zip(names, values, strict=True):
        if is_lazy(v):
            if getattr(v, "ndim", None) == 1:
                given[name] = tuple(int(c) for c in v.chunks[0])
            v = np.asarray(dask.compute(v)[0])
        plain[name] = v
    dims, coords, axes, shape = _axes(plain)
    chunks = block_chunks(shape, chunk_size,
                          {k: given[d] for k, d in enumerate(dims) if d in given})
    block = grid_size(max(c) if c else 0 for c in chunks)
    fixed = {name: float(v) for name, v in zip(names, axes, strict=True) if name not in dims}
    return dims, coords, axes, chunks, block, fixed


def lazy_sweep(alpha, beta, lam, rho=1.0, eta=1.0, *, M=None, chunk_size=65_536,
               errors="raise", force=False, model=None, layout=None):
    """The sweep of :func:`symrep.sweep` as a lazy, Dask-backed Dataset.

    Called by :func:`symrep.sweep` with ``lazy=True``, or when a parameter is a Dask
    array.

    Parameters
    ----------
    alpha, beta, lam, rho, eta : float, 1-d array_like or 1-d Dask array
        As in :func:`symrep.sweep`. The values of a Dask array are computed at once
        (they are the coordinates, one number per value of a dimension); its chunks
        give the blocks along that dimension, except along the innermost swept
        dimension, which is always whole in a block.
    M : int, optional
        Number of latent units, as in :func:`symrep.sweep` (``rho`` is then the
        sequence of feature strengths; the Dataset of
        :func:`symrep.solvers.units_grid.sweep_units`).
    chunk_size : int
        Target number of points per block along the dimensions without given chunks
        (see :func:`block_chunks`).
    errors : {"raise", "mask"}
        As in :func:`symrep.sweep`; with "raise", computing a block that has a point
        without a solution raises :class:`~symrep.solvers.SolverError`.
    force : bool
        Skip the check of memory and time. The check applies to the largest block (what
        one worker solves at once), not to the whole grid, whose size is limited only by
        where it is written.
    model : optional
        A model of :mod:`symrep.models`, as in :func:`symrep.sweep` (checked there
        against ``M`` and ``rho``).
    layout : optional
        The sweep's layout (:mod:`symrep.solvers.sweep_layout`), as :func:`symrep.sweep`
        passes it; default the one of ``M``, ``rho`` and ``model``.

    Returns
    -------
    xarray.Dataset
        The variables of :func:`symrep.sweep`, each a Dask array with the blocks as
        chunks.

    Raises
    ------
    ValueError
        If a parameter is out of range or not a scalar or 1-d array, or ``errors``,
        ``M`` or ``chunk_size`` is invalid.
    symrep.errors.TooLargeError
        If one block would need more memory or time than is at hand (``force=False``).
    """
    if errors not in ("raise", "mask"):
        raise ValueError(f"errors = {errors!r} is invalid: must be 'raise' or 'mask'")
    if layout is None:
        from symrep.solvers.sweep_layout import sweep_layout

        layout = sweep_layout(M, rho, model)
    dims, coords, axes, chunks, block, fixed = _parameters(
        layout.names, tuple(layout.values(alpha, beta, lam, rho, eta).values()),
        layout.chunk_size(chunk_size))
    check_resources(sweep_estimate(layout.points(block),
                                   what=f"one block of {block:,} points of a sweep"),
                    force=force)
    extra, sizes = layout.field_dims()
    stack = tuple((name, tuple(sizes[d] for d in extra[name]),
                   _DTYPES.get(name, float)) for name in layout.fields)
    fields = _lazy_fields(dims, coords, chunks, _solve_block, stack,
                          {k: v for k, v in extra.items() if v}, fixed=fixed,
                          errors=errors, sweep=layout)
    return layout.dataset(dims, coords, axes, fields)


#: Blocks solved and written per scheduler call by :func:`sweep_to_zarr`.
BATCH_BLOCKS = 256


@contextmanager
def _own_pool():
    """One pool of workers for every batch of :func:`sweep_to_zarr`, shut down (after
    its running tasks end) when the block exits.

    Where a local scheduler is the current one and no pool is configured: Dask's process
    scheduler would otherwise start (and import symrep in) a new pool for every compute
    call, every batch of a sweep; and when a block fails, the compute call raises while
    the other workers may still be writing their blocks into the temporary store, which
    is removed next (seen as a leftover ``.grid.zarr.*.tmp`` folder). With a pool of its
    own, leaving the block waits for them.
    """
    import dask
    import dask.multiprocessing as dmp
    import dask.threaded
    from dask.base import get_scheduler

    scheduler = get_scheduler()
    if dask.config.get("pool", None) is not None or scheduler not in (dmp.get,
                                                                      dask.threaded.get):
        yield
        return
    workers = dask.config.get("num_workers", None)
    if scheduler is dmp.get:
        from concurrent.futures import ProcessPoolExecutor

        if os.environ.get("PYTHONHASHSEED") in (None, "0"):
            # as Dask does for its own pools: one hash seed in every worker process
            os.environ["PYTHONHASHSEED"] = "6640"
        pool = ProcessPoolExecutor(
            workers or dmp.CPU_COUNT, mp_context=dmp.get_context(),
            initializer=functools.partial(
                dmp.initialize_worker_process,
                user_initializer=dask.config.get("multiprocessing.initializer", None)))
    else:
        # the executor Dask's threaded scheduler uses (it carries the caller's context,
        # Dask's configuration included, into the tasks)
        from concurrent.futures import ThreadPoolExecutor

        executor = getattr(dask.threaded, "ContextAwareThreadPoolExecutor",
                           ThreadPoolExecutor)
        pool = executor(workers or dask.threaded.CPU_COUNT)
    try:
        with dask.config.set(pool=pool):
            yield
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _compute_to_the_end(tasks):
    """``dask.compute(*tasks)``, returning or raising only once every task of the call
    has ended: on a distributed cluster a failing block would otherwise leave the other
    workers writing into the temporary store while it is removed (local schedulers:
    see :func:`_own_pool`)."""
    import dask
    from dask.base import get_scheduler

    client = getattr(get_scheduler(), "__self__", None)
    if client is None or not hasattr(client, "gather"):
        return dask.compute(*tasks)
    from distributed import wait

    futures = client.compute(list(tasks))
    wait(futures)
    return client.gather(futures)


def _batches(dims, chunks, size=None):
    """Regions of a grid to write together: lists of ``{dim: slice}`` that cover whole
    blocks, about ``size`` blocks per list, in C order of the blocks."""
    size = BATCH_BLOCKS if size is None else size
    numblocks = [len(c) for c in chunks]
    k = 0  # the regions are slabs: one block along dims[:k], all blocks of the others
    while k < len(dims) and math.prod(numblocks[k:]) > size:
        k += 1
    per_slab = math.prod(numblocks[k:])
    edges = [np.cumsum((0, *c)) for c in chunks]
    batch = []
    for corner in itertools.product(*(range(n) for n in numblocks[:k])):
        batch.append({dims[i]: slice(int(edges[i][j]), int(edges[i][j + 1]))
                      for i, j in enumerate(corner)})
        if len(batch) * per_slab >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _template(res):
    """``res`` with every data variable an empty single-chunk Dask array (same shape,
    dtype, dimensions and attributes): what the store's metadata are written from."""
    import dask.array as da

    out = res.copy()
    for name in out.data_vars:
        v = out[name]
        out[name] = v.copy(data=da.empty(v.shape, chunks=v.shape or (), dtype=v.dtype))
    return out


def _count_blocks(res, sel):
    """Number of blocks of ``res`` inside the region ``sel``."""
    return math.prod(len(c) for c in res["eg"].isel(sel).chunks)


def sweep_to_zarr(store, alpha, beta, lam, rho=1.0, eta=1.0, *, M=None, chunk_size=65_536,
                  errors="raise", force=False, progress=None, model=None):
    """Solve a sweep block by block and write it to a Zarr store, in bounded memory.

    The grid is that of :func:`symrep.sweep` with ``lazy=True`` (see
    :func:`lazy_sweep`); every block is solved, written (one file per variable and
    block: the Zarr chunks are the blocks) and released. The blocks are handed to the
    scheduler in batches of about :data:`BATCH_BLOCKS` (slabs of the grid, in C order),
    so that the memory needed is that of one batch's task graph and of the blocks in
    flight, independent of the size of the grid. The work runs on Dask's current
    scheduler: threads by default, or what ``dask.config.set(scheduler=...)`` or an
    active ``distributed.Client`` selects. On a few cores the process pool,
    ``dask.config.set(scheduler="processes")``, is the fastest: the solver holds the
    GIL most of the time, so threads use little more than one core (measurements in
    ``docs/benchmarks.md``). Read the result with ``xarray.open_zarr(store)``.

    Parameters
    ----------
    store : str or Path
        The Zarr store (a folder) to write; an existing store (or empty folder) is
        replaced, and only once every block is written (the folder is written under a
        temporary name first). Any other existing folder is refused.
    alpha, beta, lam, rho, eta, M, chunk_size, errors, force, model
        As in :func:`symrep.sweep` with ``lazy=True`` (see :func:`lazy_sweep`).
    progress : bool, optional
        A progress bar over the blocks on stderr (default: when stderr is a terminal
        and there is more than one block), advanced batch by batch.

    Returns
    -------
    pathlib.Path
        The store.

    Raises
    ------
    ValueError
        If a parameter is invalid or ``store`` cannot be written.
    SolverError
        With ``errors="raise"``, if a point has no solution (the store is then not
        written).

    Examples
    --------
    >>> import numpy as np, xarray as xr                            # doctest: +SKIP
    >>> sweep_to_zarr("grid.zarr", np.linspace(0.5, 4, 100), np.linspace(0.2, 2, 100),
    ...               1.0, eta=np.linspace(0.5, 1.5, 100))           # doctest: +SKIP
    >>> xr.open_zarr("grid.zarr")["eg"].shape                        # doctest: +SKIP
    (100, 100, 100)
    """
    from symrep.io import atomic_directory, check_output_dir

    store = Path(store)
    if str(store) in ("", "."):
        raise ValueError(f"store = {str(store)!r} is invalid: a folder name is required")
    if store.exists() and not store.is_dir():
        raise ValueError(f"store = {str(store)!r} is a file: a folder (Zarr store) is "
                         "required")
    if (store.is_dir() and any(store.iterdir())
            and not any((store / name).is_file() for name in (".zgroup", "zarr.json"))):
        raise ValueError(f"store = {str(store)!r} is a folder that is not a Zarr store: "
                         "it would be replaced; name a new folder or an existing store")
    check_output_dir(store.parent if str(store.parent) else Path("."), name="store",
                     create=False)
    from symrep.solvers.sweep_grid import sweep

    res = sweep(alpha, beta, lam, rho, eta, M=M, chunk_size=chunk_size, errors=errors,
                force=force, lazy=True, model=model)
    for d, c in zip(res["eg"].dims, res["eg"].chunks, strict=True):
        if len(c) > 1 and (len(set(c[:-1])) > 1 or c[-1] > c[0]):
            raise ValueError(f"{d} has chunks {c}: a Zarr store needs equal chunks along "
                             "a dimension (the last may be shorter)")
    # Zarr chunks = the blocks (the last of each dimension may be shorter)
    encoding = {name: {"chunks": tuple(max(c) for c in res[name].chunks)}
                for name in res.data_vars if res[name].ndim}
    batches = list(_batches(res["eg"].dims, res["eg"].chunks))
    blocks = math.prod(len(c) for c in res["eg"].chunks)
    show = (sys.stderr.isatty() and blocks > 1) if progress is None else bool(progress)
    bar = None
    if show:
        from tqdm.auto import tqdm

        bar = tqdm(total=blocks, desc="sweep", unit="block")
    try:
        with atomic_directory(store) as tmp:
            # the metadata and the coordinates first, then the blocks batch by batch:
            # the task graph in memory is that of one batch, whatever the grid's size.
            # The metadata come from a template whose variables are single-chunk empty
            # arrays: writing them from the grid itself builds the store graph of every
            # block (at 10^4 blocks 40 s and 1.4 GB, held by the process afterwards).
            _template(res).to_zarr(tmp, mode="w", encoding=encoding, zarr_format=2,
                                   consolidated=True, compute=False)
            body = res.drop_vars(list(res.coords))
            with _own_pool():
                for batch in batches:
                    _compute_to_the_end([body.isel(sel).to_zarr(tmp, region=sel, zarr_format=2,
                                                                consolidated=False,
                                                                compute=False)
                                         for sel in batch])
                    if bar is not None:
                        bar.update(sum(_count_blocks(res, sel) for sel in batch))
    finally:
        if bar is not None:
            bar.close()
    return store
