"""Numerical solvers of the RS saddle point: points, sweeps and phase diagrams."""

from symrep.solvers.phase_plane import PhaseDiagram, phase_diagram
from symrep.solvers.saddle_point import PHASES, SolverError, SolveResult, solve, solve_arrays
from symrep.solvers.sweep_grid import sweep, sweep_table
from symrep.solvers.sweep_lazy import sweep_to_zarr

__all__ = ["PHASES", "PhaseDiagram", "SolveResult", "SolverError", "phase_diagram", "solve",
           "solve_arrays", "sweep", "sweep_table", "sweep_to_zarr"]
