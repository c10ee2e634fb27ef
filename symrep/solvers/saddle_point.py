"""Solve the RS saddle point: every stationary point, the one of lowest free energy.

At each parameter point :mod:`symrep.solvers.units` finds every stationary state of the
generated saddle-point equations (:mod:`symrep.numeric.system`) that a latent unit can be
in (collapsed, overfitting on the bulk edge, learning the feature; several roots per
family are possible), without any closed-form solution: spectral values from the
generated conjugate map, unit norms by scan and regula falsi, and Newton's method on the
full system to rounding. Admissible states (positive semidefinite precision and
G - t t^T, a conjugate fixed point that does not repel) are compared by free energy; the
lowest is the training optimum. Where none satisfies the equations to the tolerance,
:class:`SolverError` reports the point and what was found. No NaN is ever returned.
Points given in curve order (sweeps, rows of phase diagrams) are solved by continuation
(:mod:`symrep.solvers.continuation`): the full search at anchors, Newton's method from
the anchors' states in between, verified, with the full search where that fails.
The random-matrix closed forms are a cross-check only (:mod:`symrep.crosscheck`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from symrep.errors import SolverError
from symrep.extras import Extras
from symrep.numeric.compiled import stacked
from symrep.numeric.system import OBSERVABLE_NAMES, UNKNOWN_NAMES, generated
from symrep.solvers.continuation import stationary_points_along
from symrep.solvers.model_map import (
    DEFAULT_MODEL_NAME,
    as_extras,
    check_model,
    model_observables,
    theory_point,
)
from symrep.solvers.units import FAMILIES as BRANCHES
from symrep.solvers.units import (
    RESIDUAL_TOLERANCE,
    effective_weight_decay,
    finish,
    order_transition_pairs,
    stationary_points,
)
from symrep.validation import check_parameters

__all__ = ["SolverError", "SolveResult", "solve", "solve_arrays", "newton", "evaluate",
           "PHASES", "RESULT_FIELDS"]

#: Phase names; the phase code of an array result indexes this tuple.
PHASES = ("regularized", "overfitting", "learning")

#: Numeric fields of a solution (order parameters, observables, free energy).
RESULT_FIELDS = ("m", "d", "Q", "E", "R", "D", "chihat_Q", "chihat_R", "chihat_E",
                 "eg", "rate", "distortion", "kl_posterior", "rate_train",
                 "distortion_train", "kl_posterior_train", "free_energy")

# Free unknowns and the equations that determine them, per branch (indices into
# UNKNOWN_NAMES): on the collapsed branch the order parameters are zero and the
# precision matrix is fixed by the Q, R, E equations; on the overfitting branch m = d = 0.
_NEWTON_BLOCKS = {
    0: ((0, 1, 2), (5, 6, 7)),
    1: ((0, 1, 2, 5, 6, 7), (0, 1, 2, 5, 6, 7)),
    2: (tuple(range(8)), tuple(range(8))),
}


@dataclass(frozen=True)
class SolveResult(Extras):
    """The RS prediction at one parameter point (see ``docs/model.md`` for conventions).

    Attributes
    ----------
    alpha, beta, lam, rho, eta : float
        The parameters.
    m, d, Q, E, R, D : float
        Order parameters at the training optimum (sign fixed by m >= 0).
    chihat_Q, chihat_R, chihat_E : float
        Entries of the inverse susceptibility matrix (finite also where a susceptibility
        diverges, e.g. chi_E without weight decay for alpha <= 1).
    eg, rate, distortion, kl_posterior : float
        Signal recovery error, rate, distortion and KL(q(z|x) || p_W(z|x)) under the data
        distribution.
    rate_train, distortion_train, kl_posterior_train : float
        The same on the training set.
    free_energy : float
        RS free energy: min L/N minus sum_mu ||x^mu||^2/(2N).
    phase : str
        "learning" (m != 0), "overfitting" (m = 0, Q != 0) or "regularized" (Q = 0).
    converged : bool
        The returned point satisfies the saddle-point equations (always True: otherwise
        :class:`SolverError` is raised).
    residual : float
        Largest saddle-point residual, relative to the scale of the equations.
    branches : dict
        Lowest free energy of each branch family that exists ("collapsed",
        "overfitting", "learning").
    extras : dict
        Order parameters of the model that the linear VAE lacks (``sigma2`` of the
        learned-variance model), also read as attributes (``r.sigma2``); empty for the
        linear VAE.
    model : str
        The model's name (:data:`symrep.models.MODELS`), ``"linear-vae"`` by default.
    """

    alpha: float
    beta: float
    lam: float
    rho: float
    eta: float
    m: float
    d: float
    Q: float
    E: float
    R: float
    D: float
    chihat_Q: float
    chihat_R: float
    chihat_E: float
    eg: float
    rate: float
    distortion: float
    kl_posterior: float
    rate_train: float
    distortion_train: float
    kl_posterior_train: float
    free_energy: float
    phase: str
    converged: bool
    residual: float
    branches: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)
    model: str = DEFAULT_MODEL_NAME

    def as_dict(self):
        """Plain dict of all attributes (JSON-friendly).

        Returns
        -------
        dict
            Every field by name, the extras as entries of their own (``"sigma2"``)
            in place of ``"extras"``.
        """
        out = asdict(self)
        out.update(out.pop("extras"))
        return out


def _scale(z, alpha, beta, lam, rho, eta):
    """Typical magnitude of the terms of the saddle-point equations at unknowns z."""
    size = 1.0 + np.max(np.abs(z), axis=0)
    return size * (1.0 + alpha + lam + 1.0 / beta) * (1.0 + rho + eta)


def _residuals(gen, z, params):
    res = stacked(gen.residual, *z, *params)
    return np.max(np.abs(res), axis=0)


def newton(z0, params, branch, *, max_iter=20, rtol=RESIDUAL_TOLERANCE):
    """Newton iteration on the saddle-point equations with the generated Jacobian.

    Parameters
    ----------
    z0 : array (8, ...)
        Initial unknowns (Q, R, E, m, d, chihat_Q, chihat_R, chihat_E).
    params : sequence of 5 arrays
        alpha, beta, lam, rho, eta, broadcastable to ``z0[0]``.
    branch : int or array of int
        0 collapsed, 1 overfitting, 2 learning: which unknowns are free (the others
        stay at their branch values, zero).
    max_iter : int
        Iteration limit.

    Returns
    -------
    z : array (8, ...)
    residual : array (...)
        Largest residual relative to the scale of the terms of the equations.
    """
    gen = generated("compiled")
    z = np.array(z0, dtype=float)
    shape = z.shape[1:]
    params = [np.broadcast_to(np.asarray(p, dtype=float), shape) for p in params]
    branch = np.broadcast_to(np.asarray(branch), shape)
    with np.errstate(all="ignore"):
        res = _residuals(gen, z, params) / _scale(z, *params)
        for _ in range(max_iter):
            todo = res > rtol
            if not todo.any():
                break
            out = stacked(gen.residual_jacobian, *z, *params)
            F, J = out[:8], out[8:].reshape((8, 8, *shape))
            improved = False
            for code, (rows, cols) in _NEWTON_BLOCKS.items():
                sel = todo & (branch == code)
                if not sel.any():
                    continue
                Fs = np.moveaxis(F[list(rows)][:, sel], 0, -1)  # (k, n)
                Js = np.moveaxis(J[np.ix_(rows, cols)][:, :, sel], -1, 0)  # (k, n, n)
                # least squares: the Jacobian is singular where a branch meets the
                # edge of the noise bulk (a square-root branch point)
                step = np.stack([_least_squares(a, b) for a, b in zip(Js, Fs, strict=True)])
                trial = z.copy()
                for j, c in enumerate(cols):
                    trial[c][sel] = z[c][sel] - step[:, j]
                new_res = _residuals(gen, trial, params) / _scale(trial, *params)
                better = sel & np.isfinite(new_res) & (new_res < res)
                z[:, better] = trial[:, better]
                res = np.where(better, new_res, res)
                improved |= bool(better.any())
            if not improved:
                break
    return z, res


def _least_squares(a, b):
    """Least-squares solution of a x = b, or NaN where it cannot be computed.

    Non-finite entries (an overflowed candidate) are not handed to LAPACK, which would
    print a warning on stderr and may fail to converge.
    """
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return np.full(a.shape[1], np.nan)
    try:
        return np.linalg.lstsq(a, b, rcond=None)[0]
    except np.linalg.LinAlgError:
        return np.full(a.shape[1], np.nan)


def evaluate(z, params):
    """Order parameters, observables, free energy and phase code at given unknowns.

    Parameters
    ----------
    z : array (8, ...)
        Unknowns (Q, R, E, m, d, chihat_Q, chihat_R, chihat_E).
    params : sequence of 5 arrays
        alpha, beta, lam, rho, eta.

    Returns
    -------
    dict
        Arrays for every name in :data:`RESULT_FIELDS` and ``phase``.
    """
    gen = generated("compiled")
    with np.errstate(all="ignore"):
        obs = stacked(gen.observables, *z, *params)
        # in extended precision: its terms grow with alpha and cancel, and in float64
        # the collapsed branch's f = 0 comes out visibly nonzero at large alpha
        # (docs/benchmarks.md, "Solver constants")
        f = stacked(gen.free_energy, *np.asarray(z, np.longdouble),
                    *(np.asarray(p, np.longdouble) for p in params))[0].astype(float)
    out = {name: np.asarray(z[k]) for k, name in enumerate(UNKNOWN_NAMES)}
    out["D"] = params[1] / (params[1] + out["Q"])
    out.update({name: obs[k] for k, name in enumerate(OBSERVABLE_NAMES)
                if name != "training_objective"})
    out["free_energy"] = np.array(f)
    out["phase"] = np.where(out["m"] > 0, 2, np.where(out["Q"] > 0, 1, 0))
    return out


def solve_arrays(alpha, beta, lam, rho=1.0, eta=1.0, *, errors="raise", continuation=True,
                 model=None):
    """Vectorised solver: the optimum at every point of broadcast parameter arrays.

    Parameters
    ----------
    alpha, beta, lam, rho, eta : array_like
        Parameters, broadcast against each other.
    errors : {"raise", "mask"}
        What to do where no branch satisfies the equations: raise :class:`SolverError`
        (default), or return ``converged = False`` there, with every numeric field set
        to NaN, for the caller to handle.
    continuation : bool
        Carry the stationary states along runs of close consecutive points (curves, rows
        of a grid) from anchors of the full search (default), or run the full search at
        every point (points whose order is no curve, as the midpoints of a bisection,
        which cross and recross a phase boundary from one point to the next).
    model : optional
        A model of :mod:`symrep.models` with one unit and one feature; default the
        linear VAE. The theory model is solved at the model's mapped point
        (:mod:`symrep.solvers.model_map`).

    Returns
    -------
    dict
        Arrays for every name in :data:`RESULT_FIELDS`, ``phase`` (int codes into
        :data:`PHASES`), ``converged``, ``residual``, and ``branch_free_energy``
        (array (3, ...) with +inf for absent branches); with a model, also its extras
        (``sigma2``), and the free energies scaled to the model's.

    Raises
    ------
    ValueError
        If a parameter is out of range, the arrays do not broadcast, or ``model`` has
        more than one unit or feature.
    SolverError
        With ``errors="raise"``, where no branch satisfies the equations.
    """
    if errors not in ("raise", "mask"):
        raise ValueError(f"errors = {errors!r} is invalid: must be 'raise' or 'mask'")
    if model is not None:
        return _model_arrays(model, alpha, beta, lam, rho, eta, errors=errors,
                             continuation=continuation)
    p = check_parameters(allow_array=True, alpha=alpha, beta=beta, lam=lam, rho=rho, eta=eta)
    try:
        params = np.broadcast_arrays(*(np.asarray(p[k], dtype=float) for k in
                                       ("alpha", "beta", "lam", "rho", "eta")))
    except ValueError:
        shapes = {k: np.shape(v) for k, v in p.items()}
        raise ValueError(f"the parameter arrays cannot be broadcast together: shapes "
                         f"{shapes}") from None
    out_shape = params[0].shape
    params = [q.ravel() for q in params]  # solve on a flat batch, reshape at the end
    n = params[0].shape[0]
    points = (stationary_points_along(*params) if continuation
              else stationary_points(*params))
    # next to a continuous transition (the spectral one, a collapse) a state's f is
    # within rounding of that of the state it leaves: ordered by their gap
    order_transition_pairs(points, params)
    f = np.stack([pt["free_energy"] for pt in points])  # (state, n), +inf where absent
    best = np.argmin(f, axis=0)
    converged = np.isfinite(f[best, np.arange(n)])
    z_best = np.stack([pt["z"] for pt in points])[best, :, np.arange(n)].T
    code = np.array([pt["family"] for pt in points])[best]
    res = np.stack([pt["residual"] for pt in points])[best, np.arange(n)]
    z_best = np.where(converged, z_best, 0.0)  # evaluated, then masked or reported below
    if converged.any():
        idx = np.nonzero(converged)[0]
        sub = [q[idx] for q in params]
        sub[2] = effective_weight_decay(sub[0], sub[1], sub[2], sub[4])
        step = np.stack([pt["step"] for pt in points])[best, np.arange(n)]
        z_best[:, idx] = finish(z_best[:, idx], sub, code[idx], step[idx])
    with np.errstate(all="ignore"):
        out = evaluate(z_best, params)
    out["phase"] = code
    # a solution whose observables overflow is not a solution: never return NaN or inf
    converged &= np.all([np.isfinite(out[name]) for name in RESULT_FIELDS], axis=0)
    families = np.array([pt["family"] for pt in points])
    branch_f = np.stack([np.min(np.where((families == b)[:, None], f, np.inf), axis=0)
                         for b in range(3)])
    if not converged.all() and errors == "raise":
        i = int(np.nonzero(~converged)[0][0])
        names = ("alpha", "beta", "lam", "rho", "eta")
        point = {k: float(v[i]) for k, v in zip(names, params, strict=True)}
        diag = {
            "parameters": point,
            "candidates": [
                {"branch": BRANCHES[pt["family"]], "found": bool(np.isfinite(pt["z"][0, i])),
                 "admissible": bool(pt["ok"][i]), "residual": float(pt["residual"][i]),
                 "free_energy": float(pt["free_energy"][i])}
                for pt in points if np.isfinite(pt["z"][0, i])
            ],
            "tolerance": RESIDUAL_TOLERANCE,
        }
        raise SolverError(
            f"no stationary branch satisfies the saddle-point equations at {point} "
            f"({len(diag['candidates'])} candidate(s) found, none admissible at "
            f"tolerance {RESIDUAL_TOLERANCE:g})", diag)
    out["converged"] = converged
    out["residual"] = np.where(converged, res, np.inf)
    out["branch_free_energy"] = branch_f
    if errors == "mask":
        for name in RESULT_FIELDS:
            out[name] = np.where(converged, out[name], np.nan)
    return {k: np.asarray(v).reshape((3, *out_shape) if k == "branch_free_energy"
                                     else out_shape)
            for k, v in out.items()}


def _model_arrays(model, alpha, beta, lam, rho, eta, *, errors, continuation):
    """:func:`solve_arrays` of a model: its theory model at the mapped points."""
    check_model(model, M=1, Mstar=1, rho=rho, reserved=RESULT_FIELDS)
    p = check_parameters(allow_array=True, alpha=alpha, beta=beta, lam=lam, rho=rho, eta=eta)
    theory, q, scale, extras = theory_point(model, p)
    out = solve_arrays(q["alpha"], q["beta"], q["lam"], q["rho"], q["eta"], errors=errors,
                       continuation=continuation)
    shape = out["free_energy"].shape
    scale = np.broadcast_to(np.asarray(scale, dtype=float), shape)
    out["free_energy"] = out["free_energy"] * scale
    out["branch_free_energy"] = out["branch_free_energy"] * scale
    out.update(model_observables(model, out, p))
    out.update(as_extras(extras, shape))
    return out


def solve(alpha, beta, lam, rho=1.0, eta=1.0, *, M=None, model=None):
    """RS prediction for the linear beta-VAE at one parameter point.

    Parameters
    ----------
    alpha : float
        Sample complexity P/N (> 0).
    beta : float
        Weight of the KL term (> 0).
    lam : float
        Weight decay (>= 0).
    rho : float or sequence of float, default 1.0
        Signal strength; a sequence gives the strengths rho_1..rho_M* of M* features.
    eta : float, default 1.0
        Noise strength (> 0).
    M : int, optional
        Number of latent units (1 to 9); default 1, or the model's.
    model : optional
        A model of :mod:`symrep.models` (``LearnedVarianceVAE(M, Mstar)``, ...); default
        the linear VAE of M units and len(rho) features. Its theory model is solved at
        ``model.theory_parameters``; the result has the parameters as given, the free
        energies multiplied by ``model.objective_scale``, the model's extras
        (``r.sigma2``) and its name (``r.model``).

    Returns
    -------
    SolveResult or MatrixSolveResult
        A :class:`SolveResult` for one unit and a scalar ``rho``; otherwise a
        :class:`symrep.solvers.latent_units.MatrixSolveResult` with the matrix order
        parameters and a phase per unit (see :func:`symrep.solvers.latent_units.solve_units`).

    Raises
    ------
    ValueError
        If a parameter is out of range, or ``M`` or the number of strengths in ``rho``
        disagrees with the model's.
    SolverError
        If no stationary branch satisfies the saddle-point equations.

    Examples
    --------
    >>> import symrep
    >>> r = symrep.solve(alpha=2.0, beta=0.5, lam=1.0)
    >>> r.phase
    'learning'
    >>> r = symrep.solve(alpha=4, beta=0.5, lam=1, rho=(2, 0.7), eta=1, M=2)
    >>> r.phases
    ('learning feature 1', 'learning feature 2')
    """
    if model is not None and hasattr(model, "theory_solver"):  # it brings its own solver
        check_model(model, M=M)
        return model.theory_solver().solve(alpha, beta, lam, rho, eta)
    if model is not None:
        return _solve_model(model, alpha, beta, lam, rho, eta, M=M)
    if M is None:
        M = 1
    one_unit = isinstance(M, int) and not isinstance(M, bool) and M == 1
    if not one_unit or np.ndim(rho) != 0:  # several units or features
        from symrep.solvers.latent_units import solve_units

        return solve_units(alpha, beta, lam, rho, eta, M=M)
    p = check_parameters(alpha=alpha, beta=beta, lam=lam, rho=rho, eta=eta)
    names = ("alpha", "beta", "lam", "rho", "eta")
    out = {k: v[()] if isinstance(v, np.ndarray) and k != "branch_free_energy" else v
           for k, v in solve_arrays(**p).items()}
    fields = {name: float(out[name]) for name in RESULT_FIELDS}
    branches = {
        BRANCHES[b]: float(out["branch_free_energy"][b])
        for b in range(3) if math.isfinite(out["branch_free_energy"][b])
    }
    return SolveResult(**{n: p[n] for n in names}, **fields, phase=PHASES[int(out["phase"])],
                       converged=bool(out["converged"]), residual=float(out["residual"]),
                       branches=branches)


def _solve_model(model, alpha, beta, lam, rho, eta, *, M):
    """:func:`solve` of a model: its theory model at the mapped point, mapped back."""
    import dataclasses

    from symrep.solvers.latent_units import _check_strengths

    Mstar = len(_check_strengths(rho, allow_array=False))
    check_model(model, M=M, Mstar=Mstar, rho=rho, reserved=RESULT_FIELDS)
    if model.M != 1 or np.ndim(rho) != 0:
        from symrep.solvers.latent_units import solve_units

        return solve_units(alpha, beta, lam, rho, eta, M=M, model=model)
    p = check_parameters(alpha=alpha, beta=beta, lam=lam, rho=rho, eta=eta)
    theory, q, scale, extras = theory_point(model, p)
    r = solve(q["alpha"], q["beta"], q["lam"], q["rho"], q["eta"], M=theory.M)
    scale = float(scale)
    own = model_observables(model, {n: getattr(r, n) for n in RESULT_FIELDS}, p)
    return dataclasses.replace(
        r, **{k: p[k] for k in ("alpha", "beta", "lam", "rho", "eta")}, **own,
        free_energy=r.free_energy * scale,
        branches={k: v * scale for k, v in r.branches.items()},
        extras=as_extras(extras, None), model=model.name)
