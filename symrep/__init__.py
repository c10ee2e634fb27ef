"""symrep: replica theory of the linear beta-VAE on spiked-covariance data.

The package is organised as a pipeline:

- symbolic: :mod:`symrep.symbols`, :mod:`symrep.replica`, :mod:`symrep.observables`,
  :mod:`symrep.asymptotics` build the replica-symmetric free energy with SymPy;
- generated numeric code and solvers turn it into fast vectorised functions;
- :mod:`symrep.simulate` is the finite-N ground truth (exact optimum and training);
- figures reproduce the paper.

Model parameters are validated by :mod:`symrep.validation` at every entry point.
"""

from symrep._version import __version__
from symrep.validation import check_parameters

__all__ = ["__version__", "check_parameters"]
