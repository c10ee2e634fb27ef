"""Solve a model through its theory model: the map every solver layer applies.

A model (:mod:`symrep.models`) says how its replica-symmetric theory is computed: the
saddle point of ``model.theory_model()`` at ``model.theory_parameters(p)``, its free
energy multiplied by ``model.objective_scale(p)``, with ``model.theory_extras(p)`` (order
parameters the theory model lacks, such as ``sigma2``) attached, and the observables the
model measures differently replaced by ``model.theory_observables(fields, p)`` (the KL
to the posterior of its own decoder). The solvers call
:func:`theory_point` with the user's point, solve the returned point with their own code
and report the user's parameters with the scaled free energies and the extras. No code
here asks which model it is given: only the protocol.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_MODEL_NAME", "check_model", "theory_point", "extras_names",
           "as_extras", "model_observables"]

#: The name results carry when no model is given (the paper's linear VAE).
DEFAULT_MODEL_NAME = "linear-vae"

_PROTOCOL = ("name", "key", "M", "Mstar", "theory_model", "theory_parameters",
             "theory_extras", "objective_scale")


def check_model(model, *, M=None, Mstar=None, rho=None, reserved=()):
    """Validate a model against the solver's other arguments.

    Parameters
    ----------
    model : object
        A model of :mod:`symrep.models` (anything with the numeric protocol).
    M : int, optional
        The number of latent units passed with the model (None: the model's).
    Mstar : int, optional
        The number of feature strengths passed with the model (None: not checked).
    rho : object, optional
        The strengths as passed, for the message.
    reserved : iterable of str
        Names the extras of the model must not take (the result's own fields).

    Returns
    -------
    int
        The model's number of latent units.

    Raises
    ------
    ValueError
        If ``model`` lacks the protocol, or ``M`` or the number of strengths in ``rho``
        disagrees with the model's M or M*.
    """
    missing = [a for a in _PROTOCOL if not hasattr(model, a)]
    if missing:
        raise ValueError(f"model = {model!r} is invalid: it lacks {', '.join(missing)} "
                         "(the model protocol of symrep.models)")
    if M is not None and (isinstance(M, bool) or M != model.M):
        raise ValueError(f"M = {M!r} is invalid: the model {model.name!r} has "
                         f"M = {model.M} latent units (leave M out or pass M={model.M})")
    if Mstar is not None and Mstar != model.Mstar:
        raise ValueError(f"rho = {rho!r} is invalid: {Mstar} feature strength(s), but "
                         f"the model {model.name!r} has Mstar = {model.Mstar} features")
    clash = set(extras_names(model)) & set(reserved)
    if clash:  # pragma: no cover - a model whose extras shadow a result field
        raise ValueError(f"model = {model!r} is invalid: its extras {sorted(clash)} are "
                         "names of the result's fields")
    return model.M


def theory_point(model, params):
    """The theory model's point at ``params`` and what maps its results back.

    Parameters
    ----------
    model : object
        A model with the numeric protocol of :mod:`symrep.models`.
    params : dict
        ``alpha``, ``beta``, ``lam``, ``rho``, ``eta`` (validated numbers or arrays of one
        shape; ``rho`` may be a tuple of strengths).

    Returns
    -------
    theory : object
        ``model.theory_model()``.
    mapped : dict
        ``model.theory_parameters(params)``: the point to solve the theory model at.
    scale : float or ndarray
        ``model.objective_scale(params)``: the factor of every free energy.
    extras : dict
        ``model.theory_extras(params)``.

    Raises
    ------
    ValueError
        If the model brings its own solver (``theory_solver``): the code that calls this
        solves the linear VAE.
    """
    if hasattr(model, "theory_solver"):  # the linear VAE's code would solve another model
        raise ValueError(f"model = {model.name!r} brings its own solver: solve it with "
                         "model.theory_solver() (symrep.solve and symrep.phase_diagram "
                         "call it; solve_arrays(...) for arrays); sweeps take the "
                         "built-in models")
    return (model.theory_model(), model.theory_parameters(dict(params)),
            model.objective_scale(dict(params)), model.theory_extras(dict(params)))


def extras_names(model) -> tuple:
    """The names of the extras of a model's results (``("sigma2",)``, or empty).

    Parameters
    ----------
    model : object or None
        A model with the numeric protocol; None: the default model, without extras.

    Returns
    -------
    tuple of str
        The keys of ``model.theory_extras`` at a valid point.
    """
    if model is None:
        return ()
    probe = {"alpha": 1.0, "beta": 1.0, "lam": 1.0, "rho": (1.0,) * model.Mstar, "eta": 1.0}
    return tuple(model.theory_extras(probe))


def as_extras(extras, shape):
    """The extras as float64 arrays of the grid's shape (or floats for ``shape=None``).

    Parameters
    ----------
    extras : dict
        ``model.theory_extras(params)``: numbers or arrays broadcastable to ``shape``.
    shape : tuple of int or None
        The shape of the batch; None for one point.

    Returns
    -------
    dict
        Name -> float (one point) or a new ndarray of ``shape``.
    """
    if shape is None:
        return {k: float(v) for k, v in extras.items()}
    return {k: np.array(np.broadcast_to(np.asarray(v, dtype=float), shape))
            for k, v in extras.items()}


def model_observables(model, fields, params) -> dict:
    """The result fields the model replaces: ``model.theory_observables(fields, params)``.

    Parameters
    ----------
    model : object
        A model with the numeric protocol; one without ``theory_observables`` keeps
        every field of its theory model.
    fields : dict
        The theory model's result fields at the mapped point (floats, arrays of the
        batch's shape, or the matrices of the units' solver).
    params : dict
        The model's own parameter point.

    Returns
    -------
    dict
        Field name -> value, of the fields' shapes.
    """
    method = getattr(model, "theory_observables", None)
    return {} if method is None else dict(method(dict(fields), dict(params)))
