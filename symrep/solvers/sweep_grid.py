"""Sweeps: the RS solution on a grid of parameters, as an xarray Dataset.

Every array-valued argument becomes a dimension of the result (in the order alpha,
beta, lam, rho, eta), with the values as coordinates. The grid is solved in chunks
with the vectorised solver; a progress bar shows the chunks, and with a checkpoint
folder every finished chunk is saved, so an interrupted sweep resumes where it stopped.
The chunks, their files and the resume are those of every sweep
(:mod:`symrep.solvers.chunked`).

Points where the stationary states found do not meet the tolerance are retried by Newton
iteration warm-started from the nearest solved point along the grid (continuation), as
the solver does along every curve, before being reported.
"""

from __future__ import annotations

import json
import math

import numpy as np

from symrep._version import __version__
from symrep.resources import check_resources, sweep_estimate
from symrep.solvers.chunked import chunk_key, solve_in_chunks
from symrep.solvers.model_map import (
    DEFAULT_MODEL_NAME,
    check_model,
)
from symrep.solvers.result import one_by_one
from symrep.solvers.saddle_point import (
    PHASES,
    RESULT_FIELDS,
    SolverError,
    solve_arrays,
)
from symrep.validation import check_parameter, check_positive_int

__all__ = ["sweep", "sweep_table", "grid_size"]

_NAMES = ("alpha", "beta", "lam", "rho", "eta")
_UNKNOWNS = ("Q", "R", "E", "m", "d", "chihat_Q", "chihat_R", "chihat_E")


def _axes(values):
    """Validate the parameters; return the swept dimensions, their coordinates, every
    parameter as a float or a 1-d array, and the grid shape (nothing is allocated yet)."""
    dims, coords, axes = [], {}, []
    for name, v in values.items():
        arr = check_parameter(name, v, allow_array=True)
        if np.ndim(arr) == 0:
            axes.append(float(arr))
        elif np.ndim(arr) == 1:
            dims.append(name)
            coords[name] = arr
            axes.append(arr)
        else:
            raise ValueError(f"{name} must be a scalar or a 1-d array, got shape {np.shape(arr)}")
    shape = tuple(len(coords[d]) for d in dims)
    return dims, coords, axes, shape


def _grid(axes, shape):
    """Every parameter as a flat array over the grid (in C order of the dimensions)."""
    mesh = iter(np.meshgrid(*[a for a in axes if np.ndim(a) == 1], indexing="ij"))
    full = [next(mesh) if np.ndim(a) == 1 else a for a in axes]
    return [np.broadcast_to(a, shape).ravel() for a in full]


def grid_size(shape) -> int:
    """Number of points of a grid of this shape (a Python int: never overflows).

    Parameters
    ----------
    shape : sequence of int
        The grid's shape.

    Returns
    -------
    int
        The product of the lengths.
    """
    return math.prod(int(s) for s in shape)


def sweep(alpha, beta, lam, rho=1.0, eta=1.0, *, M=None, chunk_size=65_536, progress=None,
          checkpoint=None, errors="raise", force=False, lazy=None, model=None):
    """Solve the RS saddle point on a grid of parameters.

    Parameters
    ----------
    alpha, beta, lam, rho, eta : float or 1-d array_like
        Every array becomes a dimension of the result. With ``M`` given, ``rho`` is
        instead the sequence of the feature strengths rho_1..rho_M* (fixed numbers).
    M : int, optional
        Number of latent units: the model with M units and M* = len(rho) features,
        solved by :func:`symrep.solvers.units_grid.sweep_units` (its Dataset has the
        matrix dimensions ``unit``, ``unit_``, ``feature``). Default: one unit and
        one feature, ``rho`` a number or a swept array.
    chunk_size : int
        Points solved per vectorised call (with ``lazy``: the target number of points
        per block, see :func:`symrep.solvers.sweep_lazy.block_chunks`).
    progress : bool or callable, optional
        Progress bar over chunks (default: when stderr is a terminal and there is more
        than one chunk); a callable is called as ``progress(n)`` after each chunk of
        ``n`` points instead. Not with ``lazy`` (nothing is solved here; see
        :func:`symrep.solvers.sweep_lazy.sweep_to_zarr`).
    checkpoint : path, optional
        Folder where each finished chunk is saved; a sweep over the same grid resumes
        from the chunks found there. Not with ``lazy``.
    errors : {"raise", "mask"}
        Where no branch satisfies the equations (even after continuation): raise
        :class:`~symrep.solvers.SolverError`, or keep the point with ``converged``
        False and NaN observables. With ``lazy``, the error is raised when a block
        with such a point is computed.
    force : bool
        Run even if the estimated memory or time exceeds what is at hand (see
        :mod:`symrep.resources`). With ``lazy``, the check applies to one block (what
        is solved at once), not to the whole grid.
    lazy : bool, optional
        Return a lazy, Dask-backed Dataset instead of solving now: each block of the
        grid (whole along the innermost swept dimension) is solved when computed, with
        the values of the eager sweep of that block (see
        :mod:`symrep.solvers.sweep_lazy`). Default: lazy when a parameter is a Dask
        array (whose chunks then give the blocks along its dimension), eager
        otherwise. ``lazy=False`` with Dask arrays computes their values and solves
        now.
    model : optional
        A model of :mod:`symrep.models` (default the linear VAE): its theory model is
        solved at the mapped points (:mod:`symrep.solvers.model_map`); the Dataset has
        the parameters as given, the free energy scaled to the model's, a variable per
        extra of the model (``sigma2``) and the model's name in ``attrs["model"]``. A
        model with several units or features gives the Dataset of ``M`` units (``M``
        may then be left out).

    Returns
    -------
    xarray.Dataset
        Variables: every field of :class:`~symrep.solvers.SolveResult` that is a number
        (``res["eg"]``, ``res["Q"]``, ...), ``phase`` (codes, with the names in its
        ``flag_meanings`` attribute and in ``res.attrs["phases"]``), ``converged`` and
        ``residual``; coordinates: the swept parameters (dimensions) and the scalar ones
        (0-d coordinates, also in ``attrs``), so that ``res["lam"]`` works for either.
        :func:`sweep_table` turns it into a table.

    Raises
    ------
    ValueError
        If a parameter is out of range or not a scalar or 1-d array, or ``M`` or the
        strengths disagree with the model's.
    symrep.errors.TooLargeError
        If the grid would need more memory or time than is at hand (``force=False``).
    SolverError
        With ``errors="raise"``, if a point has no solution.

    Examples
    --------
    >>> import numpy as np, symrep
    >>> res = symrep.sweep(alpha=np.linspace(0.1, 5, 50), beta=0.5, lam=1.0)
    >>> res["eg"].shape
    (50,)
    >>> lazy = symrep.sweep(alpha=np.linspace(0.1, 5, 50), beta=[0.5, 1.0], lam=1.0,
    ...                     lazy=True, chunk_size=20)
    >>> lazy["eg"].chunks                  # blocks of 10 x 2 points, solved when computed
    ((10, 10, 10, 10, 10), (2,))
    """
    from symrep.solvers.sweep_layout import sweep_layout
    from symrep.solvers.sweep_lazy import is_lazy, lazy_sweep

    params = (alpha, beta, lam, rho, eta)
    layout = sweep_layout(M, rho, model)
    if lazy is None:
        lazy = any(is_lazy(p) for p in params)
    if lazy not in (True, False):
        raise ValueError(f"lazy = {lazy!r} is invalid: must be True, False or None")
    if lazy:
        for name, value in (("checkpoint", checkpoint), ("progress", progress)):
            if value is not None and not (name == "progress" and value is False):
                raise ValueError(f"{name} = {value!r} is invalid with lazy=True: must be "
                                 "None (see symrep.solvers.sweep_lazy.sweep_to_zarr)")
        return lazy_sweep(*params, layout=layout, chunk_size=chunk_size, errors=errors,
                          force=force)
    if checkpoint is not None:  # a folder that can be made: checked before any work
        from symrep.io import check_store_path

        check_store_path(checkpoint, name="checkpoint")
    if any(is_lazy(p) for p in params):
        import dask

        params = dask.compute(*params)
    return run_sweep(layout, *params, chunk_size=chunk_size, progress=progress,
                     checkpoint=checkpoint, errors=errors, force=force)


def run_sweep(layout, alpha, beta, lam, rho, eta, *, chunk_size, progress=None,
              checkpoint=None, errors="raise", force=False):
    """The eager sweep of any layout: grid, chunks, the failure report, the Dataset.

    Parameters
    ----------
    layout : PaperLayout or UnitsLayout
        What is solved and how the Dataset is laid out
        (:mod:`symrep.solvers.sweep_layout`).
    alpha, beta, lam, rho, eta : float or 1-d array_like
        As for :func:`sweep` (``rho`` is the layout's own with M units).
    chunk_size, progress, checkpoint, errors, force
        As for :func:`sweep`.

    Returns
    -------
    xarray.Dataset
        The layout's Dataset.

    Raises
    ------
    ValueError
        If a parameter is out of range or not a scalar or 1-d array.
    symrep.errors.TooLargeError
        If the grid would need more memory or time than is at hand (``force=False``).
    SolverError
        With ``errors="raise"``, if a point has no solution.
    """
    if errors not in ("raise", "mask"):
        raise ValueError(f"errors = {errors!r} is invalid: must be 'raise' or 'mask'")
    chunk_size = layout.chunk_size(check_positive_int("chunk_size", chunk_size))
    dims, coords, axes, shape = _axes(layout.values(alpha, beta, lam, rho, eta))
    n = grid_size(shape)
    check_resources(sweep_estimate(layout.points(n)), force=force)
    flat = [np.atleast_1d(f) for f in _grid(axes, shape)]
    out = solve_in_chunks(flat, layout.solve, prefix=layout.prefix,
                          key=chunk_key(flat, layout.tag(chunk_size)), chunk_size=chunk_size,
                          progress=progress, checkpoint=checkpoint, fields=layout.fields,
                          shapes=layout.shapes)
    if errors == "raise":
        layout.raise_unsolved(out, flat)
    return layout.dataset(dims, coords, axes,
                          {name: v.reshape(shape + v.shape[1:]) for name, v in out.items()})


def model_units(model, M, rho):
    """Check a sweep's model against ``M`` and ``rho``; the ``M`` of the sweep's layout.

    Parameters
    ----------
    model : object
        A model with the numeric protocol of :mod:`symrep.models`.
    M : int or None
        The ``M`` passed to the sweep.
    rho : object
        The ``rho`` passed to the sweep (one strength or a swept array without ``M``, the
        sequence of strengths with it).

    Returns
    -------
    int or None
        None for the one-unit layout (a model with one unit and one feature and no
        ``M``), else the number of units.

    Raises
    ------
    ValueError
        If ``M`` or the number of strengths disagrees with the model's.
    """
    if M is None and one_by_one(model):  # the paper's one-unit layout
        check_model(model, Mstar=1, reserved=RESULT_FIELDS)
        return None
    from symrep.solvers.latent_units import _check_strengths

    rhos = _check_strengths(rho, allow_array=False)
    return check_model(model, M=M, Mstar=len(rhos), rho=rho, reserved=RESULT_FIELDS)


def solve_chunk(params, model=None):
    """Solve a batch of points with the vectorised solver: continuation along the batch,
    and Newton from the units' states at the nearest solved point before any point
    where the search found no solution (as every curve is solved).

    Parameters
    ----------
    params : sequence of 5 ndarray (n,)
        alpha, beta, lam, rho, eta at every point.
    model : optional
        A model of :mod:`symrep.models` with one unit and one feature (default the
        linear VAE): its theory model is solved at the mapped points.

    Returns
    -------
    dict
        Arrays (n,) for every name in ``RESULT_FIELDS``, ``phase``, ``converged`` and
        ``residual`` (NaN observables where ``converged`` is False); with a model, the
        free energy scaled to the model's, its extras and the fields it computes itself
        (``model.theory_observables``).
    """
    part = solve_arrays(*params, errors="mask", model=model, neighbours=True)
    part.pop("branch_free_energy")
    return part


def raise_unsolved(out, flat):
    """Raise :class:`SolverError` for the first point of a solved batch that has no
    solution (``out`` as :func:`solve_chunk` returns, ``flat`` its parameters).

    Parameters
    ----------
    out : dict
        The solved batch, as :func:`solve_chunk` returns it.
    flat : sequence of array_like
        The batch's parameters, in the order alpha, beta, lam, rho, eta.

    Raises
    ------
    SolverError
        If a point of the batch has not converged (its parameters in ``diagnostics``).
    """
    failed = ~np.asarray(out["converged"]).ravel()
    if not failed.any():
        return
    i = int(np.nonzero(failed)[0][0])
    point = {name: float(np.ravel(f)[i]) for name, f in zip(_NAMES, flat, strict=True)}
    raise SolverError(f"no stationary branch satisfies the saddle-point equations at "
                      f"{point} ({int(failed.sum())} of {failed.size} points failed)",
                      {"parameters": point, "failed": int(failed.sum())})


def grid_dataset(dims, coords, axes, fields, *, extras=(), model=None):
    """The Dataset of a sweep from its fields on the grid (NumPy or Dask arrays).

    Parameters
    ----------
    dims : list of str
        The swept parameters, in grid order.
    coords : dict
        Their values (1-d arrays).
    axes : list
        Every parameter, a float or a 1-d array, in the order of ``_NAMES``.
    fields : dict
        ``RESULT_FIELDS``, ``residual``, ``phase`` (codes, any numeric dtype) and
        ``converged`` as arrays of the grid's shape.
    extras : sequence of str
        The model's extras in ``fields`` (``sigma2``), each a variable of its own.
    model : optional
        The model, whose name goes into ``attrs["model"]`` (default the linear VAE).

    Returns
    -------
    xarray.Dataset
        The sweep: each field as a variable over ``dims`` (the phase as int8 codes,
        their names in the ``phases`` attribute), the fixed parameters as 0-d
        coordinates and attributes.
    """
    import xarray as xr

    coords = dict(coords)
    data_vars = {}
    for name in (*RESULT_FIELDS, "residual"):
        data_vars[name] = (dims, fields[name])
    data_vars["phase"] = (dims, fields["phase"].astype(np.int8), {
        "flag_values": list(range(len(PHASES))), "flag_meanings": " ".join(PHASES)})
    data_vars["converged"] = (dims, fields["converged"].astype(bool))
    for name in extras:
        data_vars[name] = (dims, fields[name])
    attrs = {name: float(v) for name, v in zip(_NAMES, axes, strict=True) if name not in dims}
    coords.update(attrs)  # the fixed parameters as 0-d coordinates
    attrs.update(phases=json.dumps(PHASES), symrep_version=__version__,
                 model=DEFAULT_MODEL_NAME if model is None else model.name)
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def sweep_table(res):
    """A sweep as a table: one row per point, every parameter and result a column.

    Parameters
    ----------
    res : xarray.Dataset
        A result of :func:`sweep` (also one read back from NetCDF).

    Returns
    -------
    pandas.DataFrame
        Columns ``alpha, beta, lam, rho, eta`` (swept and fixed ones alike), every
        result field, ``residual``, ``phase`` as its name ("learning", ...) and
        ``converged``. What ``symrep sweep --out FILE.csv`` writes.
    """
    if "M" in res.attrs:  # a sweep with M latent units
        from symrep.solvers.units_grid import units_table

        return units_table(res)
    ds = res if res.sizes else res.expand_dims("point")  # a single point: one row
    table = ds.to_dataframe().reset_index()
    for name in _NAMES:
        if name not in table and name in res.attrs:
            table[name] = float(res.attrs[name])
    names = json.loads(res.attrs["phases"]) if "phases" in res.attrs else list(PHASES)
    table["phase"] = np.asarray(names)[table["phase"].to_numpy(dtype=int)]
    first = [c for c in (*_NAMES, *RESULT_FIELDS, "residual", "phase", "converged")
             if c in table]
    return table[first + [c for c in table if c not in first and c != "point"]]
