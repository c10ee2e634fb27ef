"""The models symrep knows, as values, and what every layer asks of a model.

A model is a frozen dataclass with the latent width ``M`` and the number of features
``Mstar``; :data:`MODELS` names the built-in ones (the names of ``--model`` on the
command line):

- ``"linear-vae"``: :class:`LinearVAE` (:mod:`symrep.model`), the paper's model;
- ``"learned-variance"``: :class:`LearnedVarianceVAE`, its decoder variance learned.

The protocol
------------
Code outside a model's own module asks the model, never which model it is:

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

__all__ = ["LinearVAE", "LearnedVarianceVAE", "MODELS", "model_from_name"]

#: The built-in models by name.
MODELS = {LinearVAE.name: LinearVAE, LearnedVarianceVAE.name: LearnedVarianceVAE}


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
