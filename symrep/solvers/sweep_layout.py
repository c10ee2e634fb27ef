"""What a sweep solves and how its Dataset is laid out: the one thing that differs
between a sweep in the paper's one-unit notation and a sweep of M latent units.

Every sweep, eager (:func:`symrep.sweep`, chunk by chunk through
:mod:`symrep.solvers.chunked`) or lazy (:mod:`symrep.solvers.sweep_lazy`, block by
block), runs the same steps: validate the swept parameters, flatten the grid, solve
every point with the units' solver (:func:`symrep.solvers.latent_units.solve_units_arrays`,
with the retry from the solved neighbour), report a point without a solution, and build
the Dataset. A layout says, for one notation, which parameters may be swept, how a
batch of points is handed to the solver, the fields a chunk has, and the Dataset:

- :class:`PaperLayout`: one unit and one feature in the paper's notation: alpha, beta,
  lam, rho and eta may each be swept; every field is a number per point (``phase``
  with the paper's names);
- :class:`UnitsLayout`: M units and the fixed strengths rho_1..rho_M*: alpha, beta, lam
  and eta may be swept; matrix fields carry the dimensions ``unit``, ``unit_``,
  ``feature``.
"""

from __future__ import annotations

from dataclasses import dataclass

from symrep.solvers.model_map import extras_names

__all__ = ["PaperLayout", "UnitsLayout", "sweep_layout"]


class _Layout:
    """What both layouts share: the model's extras and its part of the chunk key."""

    @property
    def extras(self):
        """The model's extras (``sigma2``), a variable each."""
        return extras_names(self.model)

    def _model_tag(self):
        return "" if self.model is None else f";{self.model.key}"


@dataclass(frozen=True)
class PaperLayout(_Layout):
    """A sweep of one unit and one feature in the paper's notation.

    Parameters
    ----------
    model : optional
        A model of :mod:`symrep.models` with one unit and one feature (default the
        linear VAE).
    """

    model: object = None

    #: The parameters that may be swept, in grid order.
    names = ("alpha", "beta", "lam", "rho", "eta")
    #: Start of the names of the chunk files.
    prefix = "sweep"

    def values(self, alpha, beta, lam, rho, eta):
        """The parameters by name, as the sweep was given them (rho a number or array).

        Parameters
        ----------
        alpha, beta, lam, rho, eta : float or 1-d array_like
            The sweep's arguments.

        Returns
        -------
        dict
            The layout's swept-or-fixed parameters by name, in grid order.
        """
        return dict(zip(self.names, (alpha, beta, lam, rho, eta), strict=True))

    def chunk_size(self, chunk_size):
        """The chunk size a sweep of this layout uses.

        Parameters
        ----------
        chunk_size : int
            The chunk size asked for.

        Returns
        -------
        int
        """
        return chunk_size

    def points(self, n):
        """The one-unit problems solved for n grid points (for the cost estimate).

        Parameters
        ----------
        n : int
            Grid points.

        Returns
        -------
        int
        """
        return n

    def tag(self, chunk_size):
        """What the chunk files' key depends on beside the points.

        Parameters
        ----------
        chunk_size : int
            The chunk size.

        Returns
        -------
        str
        """
        return f"{chunk_size}" + self._model_tag()

    @property
    def fields(self):
        """The fields a solved chunk has (a saved one missing one is solved again)."""
        from symrep.solvers.saddle_point import RESULT_FIELDS

        return (*RESULT_FIELDS, "residual", "converged", "phase", *self.extras)

    shapes = {}

    def solve(self, flat):
        """Solve a flat batch (alpha, beta, lam, rho, eta arrays).

        Parameters
        ----------
        flat : sequence of ndarray (n,)
            The batch's parameters, in the order of :attr:`names`.

        Returns
        -------
        dict
            The fields of every point (``converged`` False, NaN values where no solution
            was found).
        """
        from symrep.solvers import sweep_grid

        return sweep_grid.solve_chunk(flat, model=self.model)

    def raise_unsolved(self, out, flat):
        """Raise :class:`SolverError` for the first point of ``out`` without a solution.

        Parameters
        ----------
        out : dict
            A solved batch, as :meth:`solve` gives it.
        flat : sequence of ndarray (n,)
            Its parameters.

        Raises
        ------
        SolverError
            If a point has no solution.
        """
        from symrep.solvers.sweep_grid import raise_unsolved

        raise_unsolved(out, flat)

    def dataset(self, dims, coords, axes, fields):
        """The Dataset from the fields on the grid.

        Parameters
        ----------
        dims : sequence of str
            The swept parameters, in grid order.
        coords : dict
            Their values.
        axes : sequence
            Every parameter of :attr:`names`, a float or a 1-d array.
        fields : dict
            Every field as an array of the grid's shape plus its extra dimensions.

        Returns
        -------
        xarray.Dataset
        """
        from symrep.solvers.sweep_grid import grid_dataset

        return grid_dataset(dims, coords, axes, fields, extras=self.extras,
                            model=self.model)

    def field_dims(self):
        """The extra dimensions of every field and their lengths.

        Returns
        -------
        extra : dict
            Field name -> names of its extra dimensions.
        sizes : dict
            Dimension name -> length.
        """
        return {name: () for name in self.fields}, {}


@dataclass(frozen=True)
class UnitsLayout(_Layout):
    """A sweep of M latent units and the fixed strengths ``rhos``.

    Parameters
    ----------
    M : int
        Latent units.
    rhos : tuple of float
        The feature strengths rho_1..rho_M*.
    model : optional
        A model of :mod:`symrep.models` with M units and len(rhos) features (default the
        linear VAE).
    """

    M: int
    rhos: tuple
    model: object = None

    names = ("alpha", "beta", "lam", "eta")
    prefix = "units"

    def values(self, alpha, beta, lam, rho, eta):
        """The parameters by name, as the sweep was given them (the strengths are the layout's).

        Parameters
        ----------
        alpha, beta, lam, rho, eta : float or 1-d array_like
            The sweep's arguments.

        Returns
        -------
        dict
            The layout's swept-or-fixed parameters by name, in grid order.
        """
        return dict(zip(self.names, (alpha, beta, lam, eta), strict=True))

    def chunk_size(self, chunk_size):
        """The chunk size a sweep of this layout uses: at most 16384 points (each point
        is M* one-unit problems).

        Parameters
        ----------
        chunk_size : int
            The chunk size asked for.

        Returns
        -------
        int
        """
        return min(chunk_size, 16_384)

    def points(self, n):
        """The one-unit problems solved for n grid points (for the cost estimate).

        Parameters
        ----------
        n : int
            Grid points.

        Returns
        -------
        int
        """
        return n * len(self.rhos)

    def tag(self, chunk_size):
        """What the chunk files' key depends on beside the points.

        Parameters
        ----------
        chunk_size : int
            The chunk size.

        Returns
        -------
        str
        """
        return f"{self.rhos};{self.M};{chunk_size}" + self._model_tag()

    @property
    def fields(self):
        """The fields a solved chunk has (a saved one missing one is solved again)."""
        from symrep.solvers.result import MATRIX_FIELDS, SCALAR_FIELDS

        return (*MATRIX_FIELDS, *SCALAR_FIELDS, "unit_state", "unit_free_energy",
                "converged", "residual", *self.extras)

    @property
    def shapes(self):
        """Trailing shapes a saved chunk's fields must have."""
        return {"unit_state": (self.M,)}

    def solve(self, flat):
        """Solve a flat batch (alpha, beta, lam, eta arrays).

        Parameters
        ----------
        flat : sequence of ndarray (n,)
            The batch's parameters, in the order of :attr:`names`.

        Returns
        -------
        dict
            The fields of every point (``converged`` False, NaN values where no solution
            was found).
        """
        from symrep.solvers import units_grid

        return units_grid.solve_units_chunk(flat, self.rhos, self.M, model=self.model)

    def raise_unsolved(self, out, flat):
        """Raise :class:`SolverError` for the first point of ``out`` without a solution.

        Parameters
        ----------
        out : dict
            A solved batch, as :meth:`solve` gives it.
        flat : sequence of ndarray (n,)
            Its parameters.

        Raises
        ------
        SolverError
            If a point has no solution.
        """
        from symrep.solvers.units_grid import raise_unsolved_units

        raise_unsolved_units(out, flat, self.rhos, self.M)

    def dataset(self, dims, coords, axes, fields):
        """The Dataset from the fields on the grid.

        Parameters
        ----------
        dims : sequence of str
            The swept parameters, in grid order.
        coords : dict
            Their values.
        axes : sequence
            Every parameter of :attr:`names`, a float or a 1-d array.
        fields : dict
            Every field as an array of the grid's shape plus its extra dimensions.

        Returns
        -------
        xarray.Dataset
        """
        from symrep.solvers.units_grid import units_dataset

        return units_dataset(dims, coords, axes, self.M, self.rhos, fields,
                             extras=self.extras, model=self.model)

    def field_dims(self):
        """The extra dimensions of every field and their lengths.

        Returns
        -------
        extra : dict
            Field name -> names of its extra dimensions.
        sizes : dict
            Dimension name -> length.
        """
        from symrep.solvers.units_grid import field_dims

        return field_dims(self.M, len(self.rhos), self.extras)


def sweep_layout(M, rho, model):
    """The layout of a sweep: the paper's notation without ``M`` for one unit and one
    feature (a number or an array of strengths), else M units.

    Parameters
    ----------
    M : int or None
        The ``M`` given to the sweep.
    rho : object
        The ``rho`` given to the sweep.
    model : optional
        The model given to the sweep (checked against ``M`` and ``rho``).

    Returns
    -------
    PaperLayout or UnitsLayout

    Raises
    ------
    ValueError
        If ``M`` or the strengths are invalid or disagree with the model's.
    """
    from symrep.solvers.latent_units import _check_strengths, _check_units
    from symrep.solvers.sweep_grid import model_units

    if model is not None:
        M = model_units(model, M, rho)
    if M is None:
        return PaperLayout(model)
    rhos = tuple(float(r) for r in _check_strengths(rho, allow_array=False))
    return UnitsLayout(_check_units(M), rhos, model)
