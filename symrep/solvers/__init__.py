"""Numerical solvers of the RS saddle point: points, sweeps and phase diagrams.

Each name is imported from its module on first use (``from symrep.solvers import
sweep`` loads the sweep, not every solver).
"""

from symrep._lazy import lazy_getattr

__all__ = ["PHASES", "PhaseDiagram", "SolveResult", "SolverError", "phase_diagram", "solve",
           "solve_arrays", "sweep", "sweep_table", "sweep_to_zarr"]

_LAZY = {
    "PHASES": "symrep.solvers.saddle_point",
    "SolveResult": "symrep.solvers.saddle_point",
    "SolverError": "symrep.solvers.saddle_point",
    "solve": "symrep.solvers.saddle_point",
    "solve_arrays": "symrep.solvers.saddle_point",
    "PhaseDiagram": "symrep.solvers.phase_plane",
    "phase_diagram": "symrep.solvers.phase_plane",
    "sweep": "symrep.solvers.sweep_grid",
    "sweep_table": "symrep.solvers.sweep_grid",
    "sweep_to_zarr": "symrep.solvers.sweep_lazy",
}

__getattr__ = lazy_getattr(__name__, _LAZY, globals())


def __dir__():
    return sorted(set(globals()) | set(__all__))
