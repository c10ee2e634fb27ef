"""The RS prediction at one parameter point: one result type for any number of units.

:func:`symrep.solve` returns a :class:`SolveResult` whatever the model's size. Its
order parameters are the matrices of the (M, M*) model (m, d: M x M*; Q, E, R and the
precision blocks: M x M; D: M), its phases one per unit. A request with one feature
strength given as a number (``rho=1.0``, the paper's one-unit model) is answered in the
paper's scalar notation: the 1 x 1 matrices read as numbers (``r.Q`` a float), the one
unit's phase under the paper's name (``r.phase`` "learning", "overfitting" or
"regularized"), and the free energy of each one-unit branch in ``r.branches``. Either
way :meth:`SolveResult.matrix` gives the matrix of any order parameter.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from symrep.extras import Extras

__all__ = ["SolveResult", "MATRIX_FIELDS", "SCALAR_FIELDS", "unit_state_name",
           "paper_phase_name", "PAPER_PHASES", "one_by_one", "paper_notation",
           "result_from_arrays"]

#: Order-parameter matrices of a solution: (M, M) or (M, M*) per point, D (M,).
MATRIX_FIELDS = ("m", "d", "Q", "E", "R", "D", "chihat_Q", "chihat_R", "chihat_E")

#: Observables and free energy of a solution (one number per point).
SCALAR_FIELDS = ("eg", "rate", "distortion", "kl_posterior", "rate_train",
                 "distortion_train", "kl_posterior_train", "free_energy")

#: The paper's names of the phases of one unit, by unit-state family (0 collapsed,
#: 1 overfitting, 2 learning).
PAPER_PHASES = ("regularized", "overfitting", "learning")

# unit-state codes: 0 collapsed, 1 overfitting, 2 + k learning feature k + 1
_LEARNING = 2


def unit_state_name(code: int) -> str:
    """Name of a unit-state code of :func:`symrep.solvers.latent_units.solve_units_arrays`.

    Parameters
    ----------
    code : int
        0 collapsed, 1 overfitting, 2 + k learning feature k + 1.

    Returns
    -------
    str
        ``"collapsed"``, ``"overfitting"`` or ``"learning feature k"``.
    """
    code = int(code)
    if code == 0:
        return "collapsed"
    if code == 1:
        return "overfitting"
    return f"learning feature {code - _LEARNING + 1}"


def paper_phase_name(code: int) -> str:
    """The paper's name of a unit's phase: "regularized", "overfitting" or "learning".

    Parameters
    ----------
    code : int
        A unit-state code (0 collapsed, 1 overfitting, 2 + k learning feature k + 1).

    Returns
    -------
    str
    """
    return PAPER_PHASES[min(int(code), _LEARNING)]


@dataclass(frozen=True)
class SolveResult(Extras):
    """The RS prediction at one parameter point (see ``docs/model.md`` for conventions).

    Attributes
    ----------
    alpha, beta, lam, eta : float
        The parameters.
    rho : float or tuple of float
        The feature strength, as a number for the one-unit request in the paper's
        notation, else the tuple rho_1..rho_M*.
    M, Mstar : int
        Latent units and features.
    m, d : float or ndarray (M, M*)
        Feature overlaps W^T W0 / N and W~ W0 / N at the training optimum (m >= 0).
    Q, E, R : float or ndarray (M, M)
        W^T W / N, W~ W~^T / N, W^T W~^T / N.
    D : float or ndarray (M,)
        Encoder variances.
    chihat_Q, chihat_R, chihat_E : float or ndarray (M, M)
        Blocks of the precision matrix (the inverse of the susceptibility matrix; finite
        also where a susceptibility diverges, e.g. chi_E without weight decay for
        alpha <= 1).
    eg, rate, distortion, kl_posterior : float
        Signal recovery error, rate, distortion and KL(q(z|x) || p_W(z|x)) under the data
        distribution (None, for a model solved by the generic solver, where the model's
        generated system does not give the observable).
    rate_train, distortion_train, kl_posterior_train : float
        The same on the training set.
    free_energy : float
        RS free energy: min L/N minus sum_mu ||x^mu||^2/(2N).
    phases : tuple of str
        Phase of each unit: ``"learning feature k"``, ``"overfitting"`` or
        ``"collapsed"``; units in order of decreasing Q_ii.
    unit_free_energy : ndarray (M,)
        Each unit's share of the free energy.
    converged : bool
        The returned point satisfies the saddle-point equations (always True: otherwise
        :class:`SolverError` is raised).
    residual : float
        Largest saddle-point residual, relative to the scale of the equations.
    branches : dict
        In the scalar notation: lowest free energy of each one-unit branch family that
        exists ("collapsed", "overfitting", "learning"); empty otherwise.
    extras : dict
        What the model has beyond the linear VAE, also read as attributes: order
        parameters (``r.sigma2`` of the learned-variance model); for a model solved by
        the generic solver also ``roots``, ``undetermined`` and its other generated
        observables. Empty for the linear VAE.
    model : str
        The model's name (:data:`symrep.models.MODELS`), ``"linear-vae"`` by default.
    """

    alpha: float
    beta: float
    lam: float
    rho: object
    eta: float
    m: object
    d: object
    Q: object
    E: object
    R: object
    D: object
    chihat_Q: object
    chihat_R: object
    chihat_E: object
    eg: float
    rate: float
    distortion: float
    kl_posterior: float
    rate_train: float
    distortion_train: float
    kl_posterior_train: float
    free_energy: float
    phases: tuple
    unit_free_energy: np.ndarray = field(repr=False, default=None)
    converged: bool = True
    residual: float = 0.0
    branches: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)
    model: str = "linear-vae"

    @property
    def scalar_notation(self) -> bool:
        """Whether the result is in the paper's scalar notation (rho given as a number)."""
        return not isinstance(self.rho, tuple)

    @property
    def M(self) -> int:
        """Number of latent units."""
        return int(np.size(self.D))

    @property
    def Mstar(self) -> int:
        """Number of features."""
        return 1 if self.scalar_notation else len(self.rho)

    @property
    def phase(self) -> str:
        """The phase: in the scalar notation the paper's name ("learning",
        "overfitting", "regularized"), else the units' phases joined by ", "."""
        if self.scalar_notation:
            return _PAPER_BY_UNIT[self.phases[0]]
        return ", ".join(self.phases)

    @property
    def unit_phases(self) -> tuple:
        """The phase of each unit in the paper's words: "learning" (with the feature,
        "learning feature k", where there are several), "overfitting", "regularized"."""
        several = self.Mstar > 1  # the feature is named only where there is a choice
        return tuple(p if several and p.startswith("learning") else _PAPER_BY_UNIT[p]
                     for p in self.phases)

    def matrix(self, name):
        """An order parameter as its matrix, in either notation.

        Parameters
        ----------
        name : str
            One of :data:`MATRIX_FIELDS`.

        Returns
        -------
        ndarray
            (M, M*) for m and d, (M,) for D, (M, M) otherwise.
        """
        if name not in MATRIX_FIELDS:
            raise ValueError(f"name = {name!r} is invalid: must be one of "
                             f"{', '.join(MATRIX_FIELDS)}")
        value = np.asarray(getattr(self, name), dtype=float)
        return value.reshape(1) if name == "D" else value.reshape(self.M, -1)

    def as_dict(self):
        """Plain dict of all attributes, arrays as nested lists (JSON-friendly).

        Returns
        -------
        dict
            Every field by name (in the scalar notation: ``phase`` and ``branches``; else
            ``M``, ``Mstar``, ``phases`` and ``unit_free_energy``), arrays as lists; the
            extras as entries of their own (``"sigma2"``) in place of ``"extras"``.
        """
        out = {k: (v.tolist() if isinstance(v, np.ndarray) else v)
               for k, v in asdict(self).items()}
        extras = out.pop("extras")
        if self.scalar_notation:  # the keys of the paper's one-unit table, in its order
            order = ("alpha", "beta", "lam", "rho", "eta", *MATRIX_FIELDS, *SCALAR_FIELDS)
            head = {k: out.pop(k) for k in order}
            for k in ("phases", "unit_free_energy"):
                out.pop(k)
            return {**head, "phase": self.phase, **out, **extras}
        order = ("alpha", "beta", "lam", "rho", "eta")
        head = {k: out.pop(k) for k in order}
        out.pop("branches")
        return {**head, "M": self.M, "Mstar": self.Mstar, **out, **extras}


_PAPER_BY_UNIT = {"collapsed": "regularized", "overfitting": "overfitting"}
_PAPER_BY_UNIT.update({unit_state_name(_LEARNING + k): "learning" for k in range(9)})


def paper_notation(M, rho) -> bool:
    """Whether a request is in the paper's one-unit notation: one latent unit (``M``
    None or 1) and the feature strength given as a number (or one array of points).

    Parameters
    ----------
    M : int or None
        The number of latent units asked for.
    rho : float, array or sequence
        The strength(s) as given.

    Returns
    -------
    bool
    """
    return (M is None or M == 1) and not isinstance(rho, (tuple, list))


def one_by_one(obj) -> bool:
    """Whether a solution or a model has one unit and one feature (its matrices are
    1 x 1): the case the paper writes in scalar notation.

    Parameters
    ----------
    obj : dict or model
        A solution (its ``m``, of shape (..., M, M*)) or a model (its ``M``, ``Mstar``).

    Returns
    -------
    bool
    """
    size = obj.M * obj.Mstar if hasattr(obj, "Mstar") else np.shape(obj["m"])[-2:]
    return int(np.prod(size)) == 1


def result_from_arrays(out, params, *, scalar_notation, branches=None, extras=None,
                       model="linear-vae"):
    """The :class:`SolveResult` of one point of the arrays of the units' solver.

    Parameters
    ----------
    out : dict
        :func:`symrep.solvers.latent_units.solve_units_arrays` at one point (0-d arrays,
        matrices (M, M), (M, M*), D (M,)).
    params : dict
        alpha, beta, lam, eta (floats) and rho (a tuple, or a float in the scalar
        notation).
    scalar_notation : bool
        Read the 1 x 1 matrices as numbers (the paper's one-unit notation).
    branches : dict, optional
        Lowest free energy of each one-unit branch family (scalar notation only).
    extras : dict, optional
        The model's extras.
    model : str
        The model's name.

    Returns
    -------
    SolveResult
    """
    if scalar_notation:
        matrices = {k: float(np.ravel(out[k])[0]) for k in MATRIX_FIELDS}
    else:
        matrices = {k: np.array(out[k], dtype=float) for k in MATRIX_FIELDS}
    return SolveResult(
        alpha=params["alpha"], beta=params["beta"], lam=params["lam"], rho=params["rho"],
        eta=params["eta"], **matrices, **{k: float(out[k]) for k in SCALAR_FIELDS},
        phases=tuple(unit_state_name(c) for c in np.ravel(out["unit_state"])),
        unit_free_energy=np.array(out["unit_free_energy"], dtype=float).reshape(-1),
        converged=bool(out["converged"]), residual=float(out["residual"]),
        branches=dict(branches or {}), extras=dict(extras or {}), model=model)
