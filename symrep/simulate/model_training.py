"""Training of any model from its SymPy objective: torch L-BFGS, gradient by autograd.

:func:`train_model` trains one model on one data set with full-batch
:class:`torch.optim.LBFGS` (strong-Wolfe line search) in float64. The objective is the
model's own definition printed to torch (:mod:`symrep.simulate.sympy_objective`); the
variables are W, W~, log D and the logs of the model's ``trainable_scalars()``. It is
the generic ground truth for a model without an exact optimum, and a check of one with
(:func:`symrep.simulate.exact_minimum`); the batched trainer :func:`symrep.simulate.train`
is the fast one for the linear VAE, with its gradient written out.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time

import numpy as np
import torch

from symrep.errors import SolverError
from symrep.simulate.data import check_data, check_features, check_strengths
from symrep.simulate.device import resolve_device
from symrep.simulate.model_observables import model_observables_of_result
from symrep.simulate.observables import SCALAR_FIELDS, observables_from_unit_weights
from symrep.simulate.sympy_objective import printed_objective
from symrep.validation import (
    check_finite_float,
    check_parameters,
    check_positive_int,
    check_seed,
)

__all__ = ["train_model"]

logger = logging.getLogger(__name__)


def train_model(X, W0, beta=1.0, lam=0.0, rho=1.0, eta=1.0, *, model, seed=None,
                device="cpu", gtol=1e-8, max_iter=20_000, init_scale=1.0, history_size=50):
    """Train ``model`` on X with L-BFGS on its SymPy objective, to convergence.

    Parameters
    ----------
    X : array_like (P, N)
        Training samples.
    W0 : array_like (N,) or (N, M*)
        The features (for the overlaps), with the model's M* columns.
    beta : float
        KL weight (> 0).
    lam : float
        Weight decay (>= 0).
    rho : float or sequence of float
        Feature strengths (for the observables averaged over the data).
    eta : float
        Noise strength (idem).
    model : a model of :mod:`symrep.models`
        Keyword only, e.g. ``LinearVAE(1, 1)`` or ``LearnedVarianceVAE(2, 2)``.
    seed : int, optional
        Seed of the initialisation: W and W~ i.i.d. N(0, init_scale^2), log D = 0, the
        logs of the trainable scalars 0. None: a fresh seed.
    device : str or torch.device, default "cpu"
        As for :func:`symrep.simulate.train` (None: CUDA when available).
    gtol : float, default 1e-8
        Stop when ||grad L|| / sqrt(N) < gtol (> 0), the trainers' O(1)-normalised
        gradient (the rounding of the objective limits it to about 1e-7 at P ~ 100: a
        run that stalls there counts as converged, as in :func:`symrep.simulate.train`).
    max_iter : int, default 20000
        Limit of L-BFGS iterations, all steps together.
    init_scale : float, default 1.0
        Standard deviation of the initial weights (> 0).
    history_size : int, default 50
        L-BFGS memory.

    Returns
    -------
    SimulationResult
        The observables of the trained weights (as :func:`symrep.simulate.train`
        gives them, with those the model measures itself replaced:
        ``model.theory_observables``), ``method="lbfgs"``, the model's trainable
        scalars in ``extras`` (``result.sigma2``), ``loss`` = L / N of the model's objective and
        ``free_energy`` = (L - the data part of the objective) / N (the part of the
        per-sample objective with ||x||^2 or N: ``||x||^2 / 2`` for the linear VAE).
        ``converged`` is False when ``max_iter`` was reached first.

    Raises
    ------
    ValueError
        Naming the parameter: out of range, malformed data, W0 without the model's
        M* columns, or an objective the trainer cannot evaluate.
    symrep.errors.SolverError
        If training diverged (weights or objective not finite).
    """
    p = check_parameters(beta=beta, lam=lam, eta=eta)
    X = check_data(X)
    P, N = X.shape
    W0 = check_features(W0, N)
    if W0.shape[1] != model.Mstar:
        raise ValueError(f"W0 is invalid: the model has M* = {model.Mstar} feature(s), W0 "
                         f"has {W0.shape[1]} column(s)")
    rho = check_strengths(rho, W0.shape[1] if np.ndim(rho) else None)
    seed = check_seed(seed)
    gtol = check_finite_float("gtol", gtol)
    max_iter = check_positive_int("max_iter", max_iter)
    history_size = check_positive_int("history_size", history_size)
    init_scale = check_finite_float("init_scale", init_scale)
    device = resolve_device(device)
    beta, lam = p["beta"], p["lam"]
    objective = printed_objective(model)
    M, k = model.M, len(objective.scalar_names)
    kw = dict(dtype=torch.float64, device=device)
    Xt = torch.as_tensor(X, **kw)
    gen = torch.Generator(device=device)
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(seed)
    nm = N * M
    theta = torch.cat([init_scale * torch.randn(2 * nm, generator=gen, **kw),
                       torch.zeros(M + k, **kw)]).requires_grad_(True)

    def unpack(t):
        return (t[:nm].reshape(N, M), t[nm : 2 * nm].reshape(M, N),
                t[2 * nm : 2 * nm + M], t[2 * nm + M :])

    def value(t):
        total, _ = objective.evaluate(Xt, *unpack(t), beta, lam)
        return total / N  # O(P) numbers: the L-BFGS tolerances see per-N values

    with torch.no_grad():
        scale = abs(float(value(theta)))
    # changes of the objective below its rounding are no progress
    optimizer = torch.optim.LBFGS([theta], lr=1.0, max_iter=max_iter, max_eval=2 * max_iter,
                                  tolerance_grad=gtol / (10 * math.sqrt(N)),
                                  tolerance_change=4 * np.finfo(np.float64).eps * max(scale, 1.0),
                                  history_size=history_size, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        f = value(theta)
        f.backward()
        return f

    start = time.perf_counter()
    n_iter, grad_norm, previous = 0, math.inf, math.inf
    # one optimizer.step runs up to max_iter iterations and stops on its own tolerances
    # or when the line search makes no progress; the loop restarts it (fresh memory)
    # until the gradient rule holds, the objective stalls or the budget is spent
    while n_iter < max_iter:
        optimizer.param_groups[0]["max_iter"] = max_iter - n_iter
        f = float(optimizer.step(closure).detach())
        state = optimizer.state[theta]
        n_iter += int(state.get("n_iter", 0))
        grad = torch.autograd.grad(value(theta), theta)[0]
        grad_norm = float(grad.norm()) * math.sqrt(N)
        if not math.isfinite(grad_norm) or grad_norm < gtol or not f < previous:
            break
        previous = f
        optimizer.state.clear()
    elapsed = time.perf_counter() - start
    converged = grad_norm < gtol or (math.isfinite(grad_norm) and n_iter < max_iter)
    with torch.no_grad():
        total, data = objective.evaluate(Xt, *unpack(theta), beta, lam)
    W, W_enc, log_d, log_s = (a.detach().cpu().numpy() for a in unpack(theta))
    logger.debug("train_model %s: N = %d, P = %d, %d iterations, %.3f s, |grad| = %.3g",
                 model.key, N, P, n_iter, elapsed, grad_norm)
    info = dict(beta=beta, lam=lam, eta=p["eta"], method="lbfgs", converged=bool(converged),
                n_iter=n_iter, grad_norm=grad_norm)
    failure = None
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        D = np.exp(log_d)
        finite = all(np.all(np.isfinite(a)) for a in (W, W_enc, log_d, log_s, D))
        if finite and D.min() > 0 and math.isfinite(float(total)):
            try:
                result = observables_from_unit_weights(
                    X, W0, W, W_enc, D, log_D=log_d, rho=rho, **info)
            except ValueError as exc:
                failure = str(exc)
        else:
            failure = "the weights or the objective are not finite"
    if failure is None and not all(np.all(np.isfinite(getattr(result, name)))
                                   for name in SCALAR_FIELDS):
        failure = "the observables are not finite"
    if failure is not None:
        raise SolverError(f"training of {model.key} diverged after {n_iter} iterations: "
                          f"{failure}; try a smaller init_scale",
                          {"model": model.key, "n_iter": n_iter, "grad_norm": grad_norm,
                           "parameters": dict(beta=beta, lam=lam, eta=p["eta"])})
    extras = {name: float(math.exp(v)) for name, v in
              zip(objective.scalar_names, log_s, strict=True)}
    result = dataclasses.replace(result, loss=float(total) / N,
                                 free_energy=float(total - data) / N, extras=extras)
    # the observables the model measures itself (the KL to its own decoder's posterior)
    own = model_observables_of_result(model, X, result, rho, p["eta"])
    return dataclasses.replace(result, **own)
