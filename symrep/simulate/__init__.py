"""Finite-N ground truth: data, the torch linear VAE, its exact optimum and training.

- :func:`sample_scm` / :func:`sample_scm_torch`: spiked-covariance data;
- :class:`LinearVAE`, :func:`vae_objective`: the model and its objective;
- :func:`exact_minimum`: the global minimum at finite N, by linear algebra;
- :func:`train`: batched gradient training (Adam or L-BFGS) to convergence;
- :func:`train_model`: any model (:mod:`symrep.models`) trained from its SymPy objective
  printed to torch (L-BFGS, autograd); ``exact_minimum(..., model=...)`` the exact optimum
  of a model that knows it (the linear VAE, the learned decoder variance);
- :class:`SimulationResult` (any M latent units, M* features; ``MatrixSimulationResult``
  is the same class): order parameters, observables and per-unit phases of one model;
- :func:`simulate`, :func:`summarize`, :func:`count_phases`: many data sets at one point,
  mean and standard error; :func:`finite_size_runs`: several points and sizes.

Each name is imported from its module on first use: ``import symrep.simulate.observables``
or a job's estimate does not load torch, which the model and the trainers need.
"""

from symrep._lazy import lazy_getattr

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
    "train_model",
    "unit_phases",
    "vae_objective",
]

_LAZY = {
    "default_features": "symrep.simulate.data",
    "sample_scm": "symrep.simulate.data",
    "sample_scm_torch": "symrep.simulate.data",
    "exact_minimum": "symrep.simulate.exact",
    "count_phases": "symrep.simulate.experiment",
    "finite_size_runs": "symrep.simulate.experiment",
    "simulate": "symrep.simulate.experiment",
    "summarize": "symrep.simulate.experiment",
    "LinearVAE": "symrep.simulate.model",
    "gram_objective": "symrep.simulate.model",
    "vae_objective": "symrep.simulate.model",
    "MatrixSimulationResult": "symrep.simulate.observables",
    "SimulationResult": "symrep.simulate.observables",
    "observables_from_unit_weights": "symrep.simulate.observables",
    "observables_from_weights": "symrep.simulate.observables",
    "unit_phases": "symrep.simulate.observables",
    "METHODS": "symrep.simulate.training",
    "train": "symrep.simulate.training",
    "train_model": "symrep.simulate.model_training",
}

__getattr__ = lazy_getattr(__name__, _LAZY, globals())


def __dir__():
    return sorted(set(globals()) | set(__all__))
