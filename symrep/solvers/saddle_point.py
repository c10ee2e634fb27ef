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

import dataclasses
import math

import numpy as np

from symrep.errors import SolverError
from symrep.numeric.compiled import stacked
from symrep.numeric.system import OBSERVABLE_NAMES, UNKNOWN_NAMES, generated
from symrep.solvers.latent_units import _check_strengths, _check_units, solve_units_arrays
from symrep.solvers.model_map import (
    as_extras,
    check_model,
    model_observables,
    theory_point,
)
from symrep.solvers.result import MATRIX_FIELDS, SolveResult, one_by_one, result_from_arrays
from symrep.solvers.units import FAMILIES as BRANCHES
from symrep.solvers.units import NEWTON_BLOCKS, RESIDUAL_TOLERANCE, residual_norm
from symrep.validation import check_parameters

__all__ = ["SolverError", "SolveResult", "solve", "solve_arrays", "newton", "evaluate",
           "PHASES", "RESULT_FIELDS"]

#: Phase names; the phase code of an array result indexes this tuple.
PHASES = ("regularized", "overfitting", "learning")

#: Numeric fields of a solution (order parameters, observables, free energy).
RESULT_FIELDS = ("m", "d", "Q", "E", "R", "D", "chihat_Q", "chihat_R", "chihat_E",
                 "eg", "rate", "distortion", "kl_posterior", "rate_train",
                 "distortion_train", "kl_posterior_train", "free_energy")


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
        res = residual_norm(z, params)
        for _ in range(max_iter):
            todo = res > rtol
            if not todo.any():
                break
            out = stacked(gen.residual_jacobian, *z, *params)
            F, J = out[:8], out[8:].reshape((8, 8, *shape))
            improved = False
            # the free unknowns of each branch family (units.NEWTON_BLOCKS)
            for code, (rows, cols) in NEWTON_BLOCKS.items():
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
                new_res = residual_norm(trial, params)
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
                 model=None, neighbours=False):
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
    neighbours : bool
        Retry points without a solution from the solved point before each, as the
        sweeps do (see :func:`symrep.solvers.latent_units.solve_units_arrays`).

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
    p = check_parameters(allow_array=True, alpha=alpha, beta=beta, lam=lam, rho=rho, eta=eta)
    # the 1 x 1 case of the units' solver, read in the paper's scalar notation
    out = solve_units_arrays(p["alpha"], p["beta"], p["lam"], (p["rho"],), p["eta"], M=1,
                             errors=errors, continuation=continuation, model=model,
                             neighbours=neighbours)
    view = {name: out.pop(name)[..., 0] if name == "D" else
            (out.pop(name)[..., 0, 0] if name in MATRIX_FIELDS else out.pop(name))
            for name in RESULT_FIELDS}
    view["phase"] = np.minimum(out.pop("unit_state")[..., 0], 2)
    del out["unit_free_energy"]
    for name in ("converged", "residual", "branch_free_energy"):
        view[name] = out.pop(name)
    view.update(out)  # the model's extras
    return view


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
    return solve_point(alpha, beta, lam, rho, eta, M=M, model=model,
                       scalar_notation=np.ndim(rho) == 0)


def solve_point(alpha, beta, lam, rho, eta, *, M=None, model=None, scalar_notation):
    """:func:`solve` of the generated theory, in the notation asked for.

    Parameters
    ----------
    alpha, beta, lam, rho, eta, M, model
        As for :func:`solve` (``model`` without a solver of its own).
    scalar_notation : bool
        Give the 1 x 1 case in the paper's scalar notation (``rho`` a number); a model
        with several units or features is given in the matrix notation regardless.

    Returns
    -------
    SolveResult

    Raises
    ------
    ValueError
        If a parameter is out of range, or ``M`` or the number of strengths disagrees
        with the model's.
    SolverError
        If no admissible state exists.
    """
    rhos = _check_strengths(rho, allow_array=False)
    if model is not None:
        reserved = [f.name for f in dataclasses.fields(SolveResult)]
        M = check_model(model, M=M, Mstar=len(rhos), rho=rho, reserved=reserved)
        p = check_parameters(alpha=alpha, beta=beta, lam=lam, eta=eta)
        theory, q, scale, extras = theory_point(model, {**p, "rho": rhos})
        r = solve_point(q["alpha"], q["beta"], q["lam"], q["rho"], q["eta"], M=theory.M,
                        scalar_notation=scalar_notation)
        scale = float(scale)
        own = model_observables(model, {n: getattr(r, n) for n in RESULT_FIELDS},
                                {**p, "rho": rhos})
        return dataclasses.replace(
            r, **p, rho=rhos[0] if r.scalar_notation else tuple(rhos), **own,
            free_energy=r.free_energy * scale, unit_free_energy=r.unit_free_energy * scale,
            branches={k: v * scale for k, v in r.branches.items()},
            extras=as_extras(extras, None), model=model.name)
    M = _check_units(1 if M is None else M)
    p = check_parameters(alpha=alpha, beta=beta, lam=lam, eta=eta)
    out = solve_units_arrays(p["alpha"], p["beta"], p["lam"], rhos, p["eta"], M=M)
    out = {k: v[()] if isinstance(v, np.ndarray) and v.ndim == 0 else v
           for k, v in out.items()}
    scalar = scalar_notation and one_by_one(out)
    branches = {BRANCHES[b]: float(out["branch_free_energy"][b])
                for b in range(3) if math.isfinite(out["branch_free_energy"][b])}
    return result_from_arrays(out, {**p, "rho": rhos[0] if scalar else tuple(rhos)},
                              scalar_notation=scalar, branches=branches if scalar else None)
