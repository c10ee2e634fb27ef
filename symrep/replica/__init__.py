"""The replica-symmetric theory of the linear beta-VAE, derived step by step by SymPy.

The chain of steps (each a function returning a :class:`~symrep.replica.derivation.Step`
whose ``result`` is tested):

1. :func:`per_sample_objective` - the objective as a quadratic form in the local fields;
2. :func:`local_field_covariance` - the Gaussian statistics of the fields of n replicas
   under the replica-symmetric ansatz;
3. :func:`energetic_term` - the Gaussian average over the data, G_E(n);
4. :func:`entropic_term` - the volume of the weights via conjugate variables, G_S(n);
5. :func:`replica_limit` - the limit n -> 0;
6. :func:`zero_temperature` - the limit b -> infinity with scaled susceptibilities;
7. :func:`eliminate_conjugates` - the conjugates solved in closed form;
8. :func:`rs_free_energy` - the free energy f;
9. :func:`saddle_point_equations` - its extremum conditions, D eliminated.

The observables are in :mod:`symrep.observables`.
"""

from symrep.replica.conjugates import eliminate_conjugates
from symrep.replica.energetic import energetic_term
from symrep.replica.entropic import entropic_term
from symrep.replica.free_energy import free_energy_step, rs_free_energy
from symrep.replica.local_fields import local_field_covariance
from symrep.replica.objective import per_sample_objective
from symrep.replica.replica_limit import replica_limit
from symrep.replica.saddle_point import (
    UNKNOWNS,
    SaddlePointSystem,
    saddle_point_equations,
    saddle_point_step,
)
from symrep.replica.zero_temperature import zero_temperature

__all__ = [
    "UNKNOWNS",
    "SaddlePointSystem",
    "derivation_step_functions",
    "derivation_steps",
    "eliminate_conjugates",
    "energetic_term",
    "entropic_term",
    "local_field_covariance",
    "per_sample_objective",
    "replica_limit",
    "rs_free_energy",
    "saddle_point_equations",
    "zero_temperature",
]


def derivation_steps(model=None):
    """All steps of the replica derivation, in order, for the LaTeX document.

    Parameters
    ----------
    model : LinearVAE, optional
        The model (default ``LinearVAE()``, M = M* = 1).

    Returns
    -------
    list of Step
        The steps, from the per-sample objective to the observables.
    """
    return [make(model) for make in derivation_step_functions()]


def derivation_step_functions():
    """The functions that make the steps of :func:`derivation_steps`, in order.

    Each takes the model (or None) and returns its :class:`~symrep.replica.derivation.Step`;
    ``symrep derive`` calls them one by one to report each step as it finishes.

    Returns
    -------
    tuple of callable
        The step functions, in the order of the document.
    """
    from symrep.observables import observables_step

    return (per_sample_objective, local_field_covariance, energetic_term, entropic_term,
            replica_limit, zero_temperature, eliminate_conjugates, free_energy_step,
            saddle_point_step, observables_step)
