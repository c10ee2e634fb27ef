"""The models symrep knows, as values, and what every layer asks of a model.

A model is a frozen dataclass with the latent width ``M`` and the number of features
``Mstar``; :data:`MODELS` names the built-in ones (the names of ``--model`` on the
command line):

- ``"linear-vae"``: :class:`LinearVAE` (:mod:`symrep.model`), the paper's model;
- ``"learned-variance"``: :class:`LearnedVarianceVAE`, its decoder variance learned.

A layer whose caller gives no model asks :func:`default_model` (the linear VAE, named
once here by :data:`DEFAULT_MODEL`) instead of naming a class.

The protocol
------------
Code outside a model's own module asks the model, never which model it is
(``tests/test_model_agnostic.py`` checks it):

- ``name``, ``key``, ``M``, ``Mstar``, ``parameter_names``;
- ``per_sample_objective()``, ``regularizer()`` (SymPy): the definition;
- ``theory_model()``: the model whose generated saddle-point system gives this model's
  replica-symmetric theory (the linear VAE: itself); ``theory_parameters(params)``: the
  point of the theory model at this model's point; ``theory_extras(params)``: order
  parameters the theory model lacks (``sigma2``); ``objective_scale(params)``: the
  factor from the theory model's free energy to this model's.
"""

from symrep.model import LinearVAE
from symrep.models.learned_variance import LearnedVarianceVAE

__all__ = ["LinearVAE", "LearnedVarianceVAE", "MODELS", "DEFAULT_MODEL", "model_from_name",
           "default_model"]

#: The built-in models by name.
MODELS = {LinearVAE.name: LinearVAE, LearnedVarianceVAE.name: LearnedVarianceVAE}

#: The name of the model a layer uses when its caller gives none (the paper's model).
DEFAULT_MODEL = LinearVAE.name


def model_from_name(name, M=1, Mstar=1):
    """The built-in model called ``name``, with M units and M* features.

    Parameters
    ----------
    name : str
        One of :data:`MODELS` (``"linear-vae"``, ``"learned-variance"``).
    M : int, default 1
        Latent units, 1 to 9.
    Mstar : int, default 1
        Features, 1 to 9.

    Returns
    -------
    LinearVAE or LearnedVarianceVAE

    Raises
    ------
    ValueError
        If ``name`` is not a built-in model, or M, M* out of range.
    """
    if name not in MODELS:
        raise ValueError(f"model = {name!r} is invalid: must be one of "
                         f"{', '.join(sorted(MODELS))}")
    return MODELS[name](M, Mstar)


def default_model(M=1, Mstar=1):
    """The model a layer uses when its caller gives none: the paper's linear VAE.

    Every layer outside the models' own modules asks for it here, so the default is
    named in one place (:data:`DEFAULT_MODEL`).

    Parameters
    ----------
    M : int, default 1
        Latent units, 1 to 9.
    Mstar : int, default 1
        Features, 1 to 9.

    Returns
    -------
    LinearVAE
        ``model_from_name(DEFAULT_MODEL, M, Mstar)``.

    Raises
    ------
    ValueError
        If M or M* is out of range.
    """
    return model_from_name(DEFAULT_MODEL, M, Mstar)
