"""Finite-N ground truth: data, the torch linear VAE, its exact optimum and training.

- :func:`sample_scm` / :func:`sample_scm_torch`: spiked-covariance data;
- :class:`LinearVAE`, :func:`vae_objective`: the model and its objective;
- :func:`exact_minimum`: the global minimum at finite N, by linear algebra;
- :func:`train`: batched gradient training (Adam or L-BFGS) to convergence;
- :class:`SimulationResult` (M = M* = 1) and :class:`MatrixSimulationResult` (M latent
  units, M* features): order parameters, observables and per-unit phases of one model;
- :func:`simulate`, :func:`summarize`, :func:`count_phases`: many data sets at one point,
  mean and standard error; :func:`finite_size_runs`: several points and sizes.
"""

from symrep.simulate.data import default_features, sample_scm, sample_scm_torch
from symrep.simulate.exact import exact_minimum
from symrep.simulate.experiment import count_phases, finite_size_runs, simulate, summarize
from symrep.simulate.model import LinearVAE, gram_objective, vae_objective
from symrep.simulate.observables import (
    MatrixSimulationResult,
    SimulationResult,
    observables_from_unit_weights,
    observables_from_weights,
    unit_phases,
)
from symrep.simulate.training import METHODS, train

__all__ = [
    "METHODS",
    "LinearVAE",
    "MatrixSimulationResult",
    "SimulationResult",
    "count_phases",
    "default_features",
    "exact_minimum",
    "finite_size_runs",
    "gram_objective",
    "observables_from_unit_weights",
    "observables_from_weights",
    "sample_scm",
    "sample_scm_torch",
    "simulate",
    "summarize",
    "train",
    "unit_phases",
    "vae_objective",
]
