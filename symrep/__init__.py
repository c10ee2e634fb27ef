"""symrep: replica theory of the linear beta-VAE on spiked-covariance data.

The package is organised as a pipeline:

- symbolic: :mod:`symrep.symbols`, :mod:`symrep.replica`, :mod:`symrep.observables`
  build the replica-symmetric free energy with SymPy, step by step;
- generated numeric code: :mod:`symrep.numeric` turns it into cached NumPy functions;
- solvers: :func:`solve`, :func:`sweep`, :func:`phase_diagram` (:mod:`symrep.solvers`);
- ground truth: :mod:`symrep.simulate` (exact finite-N optimum and training);
- :mod:`symrep.derive` writes the derivation as LaTeX.

Model parameters are validated by :mod:`symrep.validation` at every entry point.
"""

from symrep._lazy import lazy_getattr
from symrep._version import __version__

__all__ = [
    "__version__",
    "check_parameters",
    "solve",
    "sweep",
    "sweep_to_zarr",
    "phase_diagram",
    "SolveResult",
    "SolverError",
    "PhaseDiagram",
    "parameter_derivatives",
    "branch_stability",
    "branch_stability_arrays",
]

# The solvers are imported on first use, so that `import symrep` (and `symrep --help`)
# does not pay for NumPy code loading it may not need.
_LAZY = {
    "check_parameters": "symrep.validation",
    "solve": "symrep.solvers.saddle_point",
    "SolveResult": "symrep.solvers.result",
    "SolverError": "symrep.solvers.saddle_point",
    "sweep": "symrep.solvers.sweep_grid",
    "sweep_to_zarr": "symrep.solvers.sweep_lazy",
    "phase_diagram": "symrep.solvers.phase_plane",
    "PhaseDiagram": "symrep.solvers.phase_plane",
    "parameter_derivatives": "symrep.solvers.derivatives",
    "branch_stability": "symrep.stability",
    "branch_stability_arrays": "symrep.stability",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())
