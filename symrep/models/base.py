"""Base class of models written outside symrep: subclass, change the objective, solve.

A researcher's model is a subclass of :class:`ReplicaModel` in their own file. It keeps
the linear VAE's variables (decoder W, encoder mean W~ x/sqrt(N), diagonal encoder
variance D; local fields u = W^T x/sqrt(N), v = W~ x/sqrt(N)) and changes what the
objective does with them, by overriding :meth:`~symrep.model.LinearVAE.per_sample_objective`
and/or :meth:`~symrep.model.LinearVAE.regularizer` (SymPy, in ``self.symbols()``)::

    from symrep.models.base import ReplicaModel

    class DecoderDecay(ReplicaModel):
        name = "decoder-decay"

        def regularizer(self):
            s = self.symbols()
            return s.lam * s.Q.trace() / 2   # weight decay on W only

Everything else comes from the replica derivation of :mod:`symrep.replica`, which takes
the model's expressions: ``symrep.derive.write_derivations(out, model)`` writes the
model's derivation as LaTeX, :meth:`ReplicaModel.numeric` generates the model's
saddle-point code (cached on disk, keyed by the model's definition), and
:meth:`ReplicaModel.theory_solver` solves it (:mod:`symrep.solvers.generic`: damped Newton
from the starts of :meth:`ReplicaModel.theory_starts`, the lowest free energy among the
roots). ``docs/adding_a_model.md`` says what a model must declare.

What the derivation needs of the objective (checked by SymPy, reported as ValueError by
:func:`symrep.solvers.generic_system.model_system`): the per-sample objective is
``||x||^2/2`` plus a quadratic form in the fields h = (u, v) with no linear term, plus a
term in Q and D only; each D_i has one stationary point (so it can be eliminated); the
regularizer depends on the overlaps Q, R, E (per N).
"""

from __future__ import annotations

import re

from symrep.model import LinearVAE

__all__ = ["ReplicaModel"]


def _kebab(name: str) -> str:
    # DecoderDecay -> decoder-decay, PlainVAE -> plain-vae
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", name).lower()


class ReplicaModel(LinearVAE):
    """A model defined by its objective, with its theory generated and solved from it.

    Subclass it and override ``per_sample_objective`` and/or ``regularizer`` (and, when
    the data or the observables differ, ``reconstruction_term``/``kl_term``, which give
    the rate and the distortion). The subclass is its own theory model.

    Parameters
    ----------
    M : int, default 1
        Number of latent units, 1 to 9.
    Mstar : int, default 1
        Number of features of the data, 1 to 9.

    Notes
    -----
    ``name`` defaults to the class name in kebab case (``DecoderDecay`` ->
    ``"decoder-decay"``); ``key`` is the name with underscores and the sizes.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = _kebab(cls.__name__)

    @property
    def key(self) -> str:
        """Name in file names and caches, e.g. ``"decoder_decay_M1_Mstar1"``."""
        stem = re.sub(r"[^0-9A-Za-z_]", "_", self.name)
        return f"{stem}_M{self.M}_Mstar{self.Mstar}"

    @property
    def is_scalar(self) -> bool:
        """False: the derivation takes the matrix route at every size.

        The explicit one-unit route of :mod:`symrep.replica` is the linear VAE's own
        (its steps 7 to 9 do not read the model); the matrix route reads the model's
        objective at every step and is exact for M = M* = 1 as well.
        """
        return False

    # --- the numeric protocol (symrep.models, "The protocol") -----------------------

    def theory_starts(self, params: dict) -> list:
        """Starting points of the Newton search at one parameter point.

        The default: every stationary state (collapsed, overfitting, learning) of the
        linear VAE with the same units and features at the same point. A model whose
        states lie far from the linear VAE's overrides this with its own guesses.

        Parameters
        ----------
        params : dict
            ``alpha``, ``beta``, ``lam``, the strengths (``rho`` or ``rho_1``...),
            ``eta``: numbers.

        Returns
        -------
        list of numpy.ndarray
            Vectors of the unknowns, in the order of ``self.unknown_names``.
        """
        from symrep.solvers.generic import linear_vae_starts

        return linear_vae_starts(self.M, self.Mstar, params)

    def theory_solver(self):
        """The solver of this model's saddle point: the generic Newton search.

        Returns
        -------
        symrep.solvers.generic.GenericSolver
            With ``solve(alpha, beta, lam, rho, eta)`` and ``phase_diagram(...)``.
        """
        from symrep.solvers.generic import GenericSolver

        return GenericSolver(self)

    def numeric(self, backend: str = "numpy"):
        """The generated saddle-point system of this model (generated once, cached).

        Parameters
        ----------
        backend : {"numpy"}
            Vectorised NumPy code.

        Returns
        -------
        symrep.numeric.generated_system.GeneratedSystem

        Raises
        ------
        ValueError
            If ``backend`` is not ``"numpy"``, or the objective is not of the form the
            derivation needs (the message says which condition fails).
        """
        if backend != "numpy":
            raise ValueError(f"backend = {backend!r} is invalid: must be 'numpy'")
        from symrep.solvers.generic_system import model_system

        return model_system(self)
