"""Finite-N ground truth: data, the torch linear VAE, its exact optimum and training.

- :func:`sample_scm` / :func:`sample_scm_torch`: spiked-covariance data;
- :class:`LinearVAE`, :func:`vae_objective`: the model and its objective;
- :func:`exact_minimum`: the global minimum at finite N, by linear algebra;
- :func:`train`: batched gradient training (Adam or L-BFGS) to convergence;
- :class:`SimulationResult`: order parameters and observables of one model;
- :func:`simulate`, :func:`summarize`: many data sets at one point, mean and standard error.
"""

from symrep.simulate.data import default_features, sample_scm, sample_scm_torch
from symrep.simulate.exact import exact_minimum
from symrep.simulate.experiment import simulate, summarize
from symrep.simulate.model import LinearVAE, gram_objective, vae_objective
from symrep.simulate.observables import SimulationResult, observables_from_weights
from symrep.simulate.training import METHODS, train

__all__ = [
    "METHODS",
    "LinearVAE",
    "SimulationResult",
    "default_features",
    "exact_minimum",
    "gram_objective",
    "observables_from_weights",
    "sample_scm",
    "sample_scm_torch",
    "simulate",
    "summarize",
    "train",
    "vae_objective",
]
