"""Sweeps of the model with M latent units and M* features, as an xarray Dataset.

The counterpart of :func:`symrep.solvers.sweep` for :func:`symrep.solve` with ``M``
units and feature strengths rho_1..rho_M*: alpha, beta, lam and eta may be arrays (each
becomes a dimension), the strengths are fixed numbers. Matrix order parameters get the
dimensions ``unit`` and ``unit_`` (M x M) or ``unit`` and ``feature`` (M x M*); the
phase of each unit is a code along ``unit`` (names in ``flag_meanings``). Chunks are
solved one after another with a progress bar and, with a checkpoint folder, saved as
they finish (checksummed, see :mod:`symrep.io`), so an interrupted sweep resumes.
"""

from __future__ import annotations

import json

import numpy as np

from symrep._version import __version__
from symrep.errors import SolverError
from symrep.solvers.latent_units import (
    SCALAR_FIELDS,
    _check_strengths,
    _check_units,
    solve_units_arrays,
    unit_state_name,
)

__all__ = ["sweep_units", "units_table", "unit_state_names"]

_SWEPT = ("alpha", "beta", "lam", "eta")
_SQUARE = ("Q", "E", "R", "chihat_Q", "chihat_R", "chihat_E")


def unit_state_names(Mstar: int) -> list[str]:
    """The names of the unit-state codes 0 .. M* + 1.

    Parameters
    ----------
    Mstar : int
        Number of features.

    Returns
    -------
    list of str
        The names (:func:`unit_state_name`), indexed by code.
    """
    return [unit_state_name(c) for c in range(Mstar + 2)]


def sweep_units(alpha, beta, lam, rho=1.0, eta=1.0, *, M=None, chunk_size=16_384,
                progress=None, checkpoint=None, errors="raise", force=False, model=None):
    """Solve the model with M latent units and M* = len(rho) features on a grid.

    Parameters
    ----------
    alpha, beta, lam, eta : float or 1-d array_like
        Every array becomes a dimension of the result (in this order).
    rho : float or sequence of float
        The feature strengths rho_1..rho_M* (fixed numbers).
    M : int, optional
        Number of latent units (1 to 9): default 1, or the model's.
    chunk_size, progress, checkpoint, errors, force
        As in :func:`symrep.sweep`.
    model : optional
        A model of :mod:`symrep.models` with M units and len(rho) features (default the
        linear VAE), as in :func:`symrep.sweep`.

    Returns
    -------
    xarray.Dataset
        Matrix fields with the extra dimensions ``unit`` (and ``unit_`` or ``feature``),
        the observables and ``free_energy``, ``unit_state`` (codes along ``unit``, with
        ``flag_meanings``), ``unit_free_energy``, ``converged`` and ``residual``; the
        strengths as the coordinate ``rho`` along ``feature``; with a model, a variable
        per extra (``sigma2``); the model's name in ``attrs["model"]``.

    Raises
    ------
    ValueError
        If a parameter is out of range, or ``M`` or the strengths disagree with the
        model's.

    Examples
    --------
    >>> import numpy as np
    >>> from symrep.solvers.units_grid import sweep_units
    >>> res = sweep_units(4.0, np.linspace(0.2, 4, 20), 1.0, rho=(2.0, 0.7), M=2)
    >>> res["Q"].dims
    ('beta', 'unit', 'unit_')
    """
    from symrep.solvers.sweep_grid import run_sweep
    from symrep.solvers.sweep_layout import UnitsLayout

    rhos = tuple(float(r) for r in _check_strengths(rho, allow_array=False))
    if model is not None:
        from symrep.solvers.model_map import check_model

        M = check_model(model, M=M, Mstar=len(rhos), rho=rho)
    layout = UnitsLayout(_check_units(1 if M is None else M), rhos, model)
    return run_sweep(layout, alpha, beta, lam, rhos, eta, chunk_size=chunk_size,
                     progress=progress, checkpoint=checkpoint, errors=errors, force=force)


def field_dims(M, Mstar, extras=()):
    """The extra dimensions of every field of a units sweep, and their lengths.

    Parameters
    ----------
    M : int
        Number of latent units.
    Mstar : int
        Number of features.
    extras : sequence of str
        The model's extras (``sigma2``): one number per point each.

    Returns
    -------
    extra : dict
        Maps each field to the names of its extra dimensions (``unit``, ``unit_``,
        ``feature``; empty for a scalar field).
    sizes : dict
        The length of each extra dimension.
    """
    sizes = {"unit": M, "unit_": M, "feature": Mstar}
    extra = {name: ("unit", "unit_") for name in _SQUARE}
    extra.update(m=("unit", "feature"), d=("unit", "feature"), D=("unit",),
                 unit_free_energy=("unit",), unit_state=("unit",))
    extra.update({name: () for name in (*SCALAR_FIELDS, "residual", "converged", *extras)})
    return extra, sizes


def solve_units_chunk(flat, rhos, M, model=None):
    """Solve a batch of points (``flat``: alpha, beta, lam, eta, arrays (n,)) with the
    masked vectorised solver; the fields as :func:`solve_units_arrays` returns them.

    Parameters
    ----------
    flat : sequence of 4 ndarray, shape (n,)
        alpha, beta, lam and eta of each point.
    rhos : list of float
        The feature strengths rho_1, ..., rho_M*.
    M : int
        Number of latent units.
    model : optional
        A model of :mod:`symrep.models` (default the linear VAE).

    Returns
    -------
    dict
        The fields, with ``converged`` false where no admissible state was found; with a
        model, its extras.
    """
    a, b, lam_, e = flat
    out = solve_units_arrays(a, b, lam_, rhos, e, M=M, errors="mask", model=model,
                             neighbours=True)
    out.pop("branch_free_energy")  # of one unit's states: not a field of the grid
    return out


def raise_unsolved_units(out, flat, rhos, M):
    """Raise :class:`SolverError` for the first point of ``out`` without a solution.

    Parameters
    ----------
    out : dict
        The fields of :func:`solve_units_chunk`.
    flat : sequence of 4 ndarray, shape (n,)
        alpha, beta, lam and eta of each point.
    rhos : list of float
        The feature strengths rho_1, ..., rho_M*.
    M : int
        Number of latent units.

    Raises
    ------
    SolverError
        If a point has no admissible state; ``diagnostics`` has its ``parameters`` and
        the number of points that ``failed``.
    """
    failed = ~np.asarray(out["converged"]).ravel()
    if not failed.any():
        return
    i = int(np.nonzero(failed)[0][0])
    point = {name: float(np.ravel(f)[i]) for name, f in zip(_SWEPT, flat, strict=True)}
    point.update(rho=rhos, M=M)
    raise SolverError(f"no admissible state of the latent units at {point} "
                      f"({int(failed.sum())} of {failed.size} points failed)",
                      {"parameters": point, "failed": int(failed.sum())})


def units_dataset(dims, coords, axes, M, rhos, fields, *, extras=(), model=None):
    """The Dataset of a units sweep from its fields (NumPy or Dask arrays of shape
    grid + the field's extra dimensions, see :func:`field_dims`).

    Parameters
    ----------
    dims : sequence of str
        The names of the swept parameters, the grid's dimensions.
    coords : mapping
        Their coordinate values.
    axes : sequence
        The values of alpha, beta, lam and eta (an array for a swept one, a number for a
        fixed one).
    M : int
        Number of latent units.
    rhos : list of float
        The feature strengths.
    fields : mapping
        The arrays of every field, by name.
    extras : sequence of str
        The model's extras in ``fields`` (``sigma2``), each a variable of its own.
    model : optional
        The model, whose name goes into ``attrs["model"]`` (default the linear VAE).

    Returns
    -------
    xarray.Dataset
        The sweep, with the unit and feature coordinates, the fixed parameters as scalar
        coordinates and attributes, and ``unit_state`` as flag values.
    """
    import xarray as xr

    extra, _ = field_dims(M, len(rhos), extras)
    Mstar = len(rhos)
    coords = dict(coords)

    def var(name):
        return (*dims, *extra[name]), fields[name]

    data_vars = {name: var(name) for name in _SQUARE}
    data_vars.update({name: var(name) for name in ("m", "d", "D", "unit_free_energy")})
    data_vars.update({name: var(name) for name in (*SCALAR_FIELDS, "residual", *extras)})
    data_vars["converged"] = (dims, fields["converged"].astype(bool))
    names = unit_state_names(Mstar)
    data_vars["unit_state"] = ((*dims, "unit"), fields["unit_state"].astype(np.int8), {
        "flag_values": list(range(len(names))),
        "flag_meanings": " ".join(n.replace(" ", "_") for n in names)})
    fixed = {name: float(v) for name, v in zip(_SWEPT, axes, strict=True)
             if name not in dims}
    coords.update(fixed)
    coords.update(unit=np.arange(1, M + 1), unit_=np.arange(1, M + 1),
                  feature=np.arange(1, Mstar + 1))
    coords["rho"] = ("feature", np.array(rhos))
    attrs = {**fixed, "M": M, "Mstar": Mstar, "rho": json.dumps(rhos),
             "unit_states": json.dumps(names), "symrep_version": __version__,
             "model": "linear-vae" if model is None else model.name}
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def units_table(res):
    """A sweep of :func:`sweep_units` as a table: one row per point.

    Matrix entries become columns ``Q_11``, ``m_12``, ``D_1``, ...; the phase of unit
    i the column ``phase_i`` (text); the strengths ``rho_1``, ... and every parameter
    a column. What ``symrep sweep --M ... --out FILE.csv`` writes.

    Parameters
    ----------
    res : xarray.Dataset
        The result of :func:`sweep_units`.

    Returns
    -------
    pandas.DataFrame
        One row per point.
    """
    import pandas as pd

    dims = [d for d in res.dims if d not in ("unit", "unit_", "feature")]
    base = res[[v for v in res.data_vars
                if not {"unit", "unit_", "feature"} & set(res[v].dims)]]
    table = (base.to_dataframe().reset_index() if dims
             else pd.DataFrame({v: [base[v].item()] for v in base.data_vars}))
    table = table[[c for c in table.columns if c in (*dims, *base.data_vars)]]
    columns = {}
    for name in _SWEPT:
        columns[name] = (table[name] if name in table
                         else np.full(len(table), float(res.attrs[name])))
    for k, r in enumerate(json.loads(res.attrs["rho"])):
        columns[f"rho_{k + 1}"] = np.full(len(table), r)
    names = json.loads(res.attrs["unit_states"])
    for name in res.data_vars:
        v = res[name]
        extra = [d for d in v.dims if d in ("unit", "unit_", "feature")]
        if not extra:
            continue
        values = v.transpose(*dims, *extra).values.reshape(len(table), -1)
        index = np.stack(np.meshgrid(*[res[d].values for d in extra], indexing="ij"),
                         axis=-1).reshape(-1, len(extra))
        for col, idx in zip(values.T, index, strict=True):
            label = "".join(str(i) for i in idx)  # M, M* <= 9: one digit each
            if name == "unit_state":
                columns[f"phase_{label}"] = np.asarray(names)[col.astype(int)]
            else:
                columns[f"{name}_{label}"] = col
    for name in (*SCALAR_FIELDS, "residual", "converged"):
        columns[name] = table[name].to_numpy()
    for name in base.data_vars:  # a model's extras (sigma2), after the fields
        if name not in columns:
            columns[name] = table[name].to_numpy()
    return pd.DataFrame(columns)
