"""Gradient training of the linear VAE, many runs in one tensor program.

Runs (data sets, seeds, alphas, betas, ...) share one batch: the objective is written
through the data moments C = X^T X / N (see :func:`~symrep.simulate.model.gram_objective`),
so that runs with different numbers of samples P train side by side. Each run has its
own optimiser state, step sizes and stopping rule; a finished run is frozen while the
others go on.

Two optimisers:

- ``"adam"``: full-batch Adam on the summed objective L, what practitioners do;
- ``"lbfgs"``: limited-memory BFGS with a backtracking (Armijo) line search, per run;
  it converges to the gradient tolerance in a few hundred iterations where Adam needs
  tens of thousands of epochs.

Every number of latent units M runs the same code
(:func:`~symrep.simulate.model.objective_from_unit_products` and its gradient); one unit
is its case M = 1.

The stopping rule is on the gradient, ||grad L|| / sqrt(N) < gtol (an O(1)-normalised
quantity), or on the lack of progress of the objective over a window of iterations
(relative decrease at most ``ftol`` over ``window`` iterations: the stall rule).
A run that stops for neither reason before ``max_iter`` is reported with
``converged=False``. ``gtol=0`` turns the gradient rule off and, unless ``ftol`` is given,
the stall rule too: Adam then runs exactly ``max_iter`` epochs, a fixed training budget
as in practice.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import torch

from symrep.errors import SolverError
from symrep.progress import progress_bar
from symrep.resources import check_resources, training_estimate
from symrep.simulate.data import check_data, check_features, check_strengths
from symrep.simulate.device import resolve_device
from symrep.simulate.model import gradient_from_unit_products, objective_from_unit_products
from symrep.simulate.observables import SCALAR_FIELDS, observables_from_unit_weights
from symrep.validation import (
    check_finite_float,
    check_parameter,
    check_positive_int,
    check_seed,
)

__all__ = ["train", "METHODS"]

logger = logging.getLogger(__name__)

METHODS = ("lbfgs", "adam")

_DEFAULTS = {
    "lbfgs": dict(gtol=1e-8, max_iter=20_000, window=50, ftol=1e-15),
    "adam": dict(gtol=1e-6, max_iter=200_000, window=2_000, ftol=1e-9),
}


class _Problem:
    """Batched objective F_b = (L_b - sum_mu ||x^mu||^2 / 2) / N of models with M units.

    theta_b = (W, W~, log D) of run b, flattened (see
    :func:`~symrep.simulate.model.unpack_units`): shape (B, 2NM + M). The objective
    touches the data only through the products C W and C W~^T (C = X^T X / N), so value
    and gradient cost one batched product with C, the only O(N^2) work per iteration;
    along a line theta + t d the products are linear in t, so a line search costs no
    further pass over C. The products are (B, N, M) matrices, handed to the optimisers
    flattened to (B, NM) so that they combine along lines as vectors.
    """

    def __init__(self, C, P, beta, lam, M):
        self.C, self.P, self.beta, self.lam, self.M = C, P, beta, lam, M
        self.N = C.shape[-1]

    def products(self, theta):
        """(C W, C W~^T) of every run, from one batched matrix product."""
        B, N, M = theta.shape[0], self.N, self.M
        nm = N * M
        W = theta[:, :nm].reshape(B, N, M)
        E_t = theta[:, nm : 2 * nm].reshape(B, M, N).transpose(1, 2)
        both = self.C @ torch.cat((W, E_t), dim=2)  # (B, N, 2M): one pass over C
        return both[..., :M].reshape(B, nm), both[..., M:].reshape(B, nm)

    def value(self, theta, cw, ce):
        return objective_from_unit_products(theta, cw, ce, self.P, self.beta, self.lam, self.M)

    def grad(self, theta, cw, ce):
        return gradient_from_unit_products(theta, cw, ce, self.P, self.beta, self.lam, self.M)

    def grad_norm(self, g):
        """||grad L|| / sqrt(N) from the gradient of F = L / N."""
        return g.norm(dim=1) * math.sqrt(self.N)


def _progress(total, enabled, desc):
    return progress_bar(total, desc, enabled, unit="it")


def _stalled(history, window, ftol):
    """Per-run: no relative progress of more than ftol over the last `window` iterations.

    ``ftol = 0`` turns the rule off (never stalled).
    """
    if ftol == 0 or len(history) <= window:
        return torch.zeros_like(history[-1], dtype=torch.bool)
    old, new = history[-window - 1], history[-1]
    return (old - new) <= ftol * torch.clamp(new.abs(), min=1.0)


def _run_lbfgs(prob, theta, *, gtol, max_iter, window, ftol, memory=10, progress=None):
    B, n = theta.shape
    dev, dt = theta.device, theta.dtype
    S = torch.zeros(B, memory, n, device=dev, dtype=dt)
    Y = torch.zeros(B, memory, n, device=dev, dtype=dt)
    rho = torch.zeros(B, memory, device=dev, dtype=dt)  # 1 / (s.y); 0 marks an empty slot
    cw, ce = prob.products(theta)
    f, g = prob.value(theta, cw, ce), prob.grad(theta, cw, ce)
    active = torch.ones(B, dtype=torch.bool, device=dev)
    converged = torch.zeros(B, dtype=torch.bool, device=dev)
    n_iter = torch.zeros(B, dtype=torch.long, device=dev)
    history = [f.clone()]
    bar = _progress(max_iter, progress, "lbfgs")
    for it in range(max_iter):
        done = prob.grad_norm(g) < gtol
        if it > 0:
            done |= _stalled(history, window, ftol)
        converged |= done & active
        active &= ~done
        if bar is not None:
            bar.update()
            bar.set_postfix(running=int(active.sum()))
        if not active.any():
            break
        # two-loop recursion over the stored pairs, newest first
        order = [(it - 1 - j) % memory for j in range(memory)]
        q = g.clone()
        a = torch.zeros(B, memory, device=dev, dtype=dt)
        for j in order:
            a[:, j] = rho[:, j] * (S[:, j] * q).sum(1)
            q -= a[:, j, None] * Y[:, j]
        newest = order[0]
        sy = (S[:, newest] * Y[:, newest]).sum(1)
        yy = (Y[:, newest] * Y[:, newest]).sum(1)
        gamma = torch.where(rho[:, newest] > 0, sy / yy.clamp_min(1e-300),
                            1.0 / g.norm(dim=1).clamp_min(1.0))
        r = gamma[:, None] * q
        for j in reversed(order):
            b = rho[:, j] * (Y[:, j] * r).sum(1)
            r += (a[:, j] - b)[:, None] * S[:, j]
        d = -r
        slope = (g * d).sum(1)
        restart = ~(slope < 0)  # not a descent direction: steepest descent, fresh memory
        if restart.any():
            d[restart] = -g[restart]
            slope = (g * d).sum(1)
            rho[restart] = 0.0
        # A predicted decrease below the rounding of f cannot be resolved by any step:
        # the run is as converged as the arithmetic allows.
        floor = -slope <= 4 * torch.finfo(dt).eps * f.abs().clamp_min(1.0)
        converged |= floor & active
        active &= ~floor
        # backtracking (Armijo) line search per run; C d once, then every trial is O(N)
        cdw, cde = prob.products(d)
        t = torch.ones(B, device=dev, dtype=dt)
        accepted = ~active
        t_ok = torch.zeros(B, device=dev, dtype=dt)
        f_new = f.clone()
        for _ in range(40):
            trial = theta + t[:, None] * d
            f_trial = prob.value(trial, cw + t[:, None] * cdw, ce + t[:, None] * cde)
            ok = (f_trial <= f + 1e-4 * t * slope) & torch.isfinite(f_trial) & ~accepted
            t_ok = torch.where(ok, t, t_ok)
            f_new = torch.where(ok, f_trial, f_new)
            accepted |= ok
            if accepted.all():
                break
            t = torch.where(accepted, t, 0.5 * t)
        # a run with no decrease along a descent direction sits at the rounding floor
        stuck = ~accepted
        converged |= stuck & active & (prob.grad_norm(g) < 1e3 * gtol)
        active &= ~stuck
        step = t_ok[:, None] * d
        theta_new = theta + step
        cw_new, ce_new = cw + t_ok[:, None] * cdw, ce + t_ok[:, None] * cde
        g_new = prob.grad(theta_new, cw_new, ce_new)
        y = g_new - g
        sy = (step * y).sum(1)
        slot = it % memory
        good = active & (sy > 1e-12 * step.norm(dim=1) * y.norm(dim=1))
        S[:, slot] = torch.where(good[:, None], step, S[:, slot])
        Y[:, slot] = torch.where(good[:, None], y, Y[:, slot])
        rho[:, slot] = torch.where(good, 1.0 / sy.clamp_min(1e-300), torch.zeros_like(sy))
        keep = active[:, None]
        theta = torch.where(keep, theta_new, theta)
        cw, ce = torch.where(keep, cw_new, cw), torch.where(keep, ce_new, ce)
        f = torch.where(active, f_new, f)
        g = torch.where(keep, g_new, g)
        n_iter += active.long()
        history.append(f.clone())
        if len(history) > window + 1:
            history.pop(0)
        if it % 200 == 199:
            # products updated along lines accumulate rounding: refresh them now and then
            cw, ce = prob.products(theta)
            g = prob.grad(theta, cw, ce)
    if bar is not None:
        bar.close()
    cw, ce = prob.products(theta)
    return theta, converged, n_iter, prob.grad_norm(prob.grad(theta, cw, ce))


def _run_adam(prob, theta, *, gtol, max_iter, window, ftol, lr=1e-3, betas=(0.9, 0.999),
              eps=1e-8, progress=None):
    B = theta.shape[0]
    dev = theta.device
    m1 = torch.zeros_like(theta)
    m2 = torch.zeros_like(theta)
    active = torch.ones(B, dtype=torch.bool, device=dev)
    converged = torch.zeros(B, dtype=torch.bool, device=dev)
    n_iter = torch.zeros(B, dtype=torch.long, device=dev)
    best = torch.full((B,), math.inf, dtype=theta.dtype, device=dev)
    history = []
    bar = _progress(max_iter, progress, "adam")
    b1, b2 = betas
    for it in range(1, max_iter + 1):
        cw, ce = prob.products(theta)
        f, g = prob.value(theta, cw, ce), prob.grad(theta, cw, ce)
        best = torch.minimum(best, f)
        history.append(best.clone())
        if len(history) > window + 1:
            history.pop(0)
        done = prob.grad_norm(g) < gtol
        if it > window:
            done |= _stalled(history, window, ftol)
        converged |= done & active
        active &= ~done
        if bar is not None and it % 100 == 0:
            bar.update(100)
            bar.set_postfix(running=int(active.sum()))
        if not active.any():
            break
        grad_l = g * prob.N  # Adam on the summed objective L, as in practice
        m1 = b1 * m1 + (1 - b1) * grad_l
        m2 = b2 * m2 + (1 - b2) * grad_l * grad_l
        step = lr * (m1 / (1 - b1**it)) / ((m2 / (1 - b2**it)).sqrt() + eps)
        theta = torch.where(active[:, None], theta - step, theta)
        n_iter += active.long()
    if bar is not None:
        bar.close()
    cw, ce = prob.products(theta)
    return theta, converged, n_iter, prob.grad_norm(prob.grad(theta, cw, ce))


def _per_run(name, value, B):
    """Broadcast a scalar or a length-B sequence of a model parameter to a list."""
    arr = np.atleast_1d(check_parameter(name, value, allow_array=True))
    if arr.ndim != 1 or arr.size not in (1, B):
        raise ValueError(f"{name} must be a scalar or have one value per run ({B})")
    return np.broadcast_to(arr, (B,)).astype(float)


def _strengths_per_run(rho, B, n_features):
    """rho as a (B, M*) array: a scalar, (M*,) for every run, (B,) for M* = 1, or (B, M*)."""
    arr = np.asarray(rho) if not np.ndim(rho) == 0 else None
    if arr is None:
        return np.full((B, n_features), check_strengths(rho))
    if arr.ndim == 2:
        if arr.shape != (B, n_features):
            raise ValueError(f"rho is invalid: a 2-d rho must have shape (runs, M*) = "
                             f"({B}, {n_features}), got {arr.shape}")
        return np.stack([check_strengths(row, n_features) for row in arr])
    if n_features > 1:
        return np.broadcast_to(check_strengths(rho, n_features), (B, n_features)).copy()
    return _per_run("rho", rho, B)[:, None]


def _moments(x, N, *, dtype, device):
    """C = X^T X / N of one data set, in ``dtype`` on ``device``.

    The data travel to the device in their own precision and are cast there, once: on a
    GPU the cast then runs on the device instead of on one host core (at N = 4000 and 65
    data sets that was most of the set-up), and on the CPU the result is the same
    rounding as casting first.
    """
    x = torch.as_tensor(x).to(device=device).to(dtype=dtype)
    return x.T @ x / N


def train(X, W0, beta, lam, rho=1.0, eta=1.0, seed=None, device=None, method="lbfgs", *,
          M=1, gtol=None, max_iter=None, ftol=None, window=None, lr=1e-3, init_scale=1.0,
          dtype=torch.float64, progress=None, force=False, init_rows=None):
    """Train the linear VAE (M latent units) by gradient descent until convergence.

    Parameters
    ----------
    X : array_like (P, N), or a sequence of them, or (B, P, N)
        Training data. A sequence trains one model per data set, all in one batch;
        the data sets must share N but may differ in P.
    W0 : array_like (N,) or (N, M*)
        The features, for the overlaps.
    beta, lam, eta : float or sequence of float
        Model parameters, one value for all runs or one per run.
    rho : float, sequence of float or array (runs, M*)
        Feature strengths: a scalar (every feature, every run); for M* > 1 a sequence
        rho_1..rho_M* (every run) or a (runs, M*) array; for M* = 1 one value per run
        is also accepted.
    seed : int, optional
        Seed of the random initialisation, W and W~ i.i.d. N(0, init_scale^2), D = 1.
        None draws a fresh seed for this call's own generator (the global torch random
        state is left alone).
    device : str or torch.device, optional
        Default: CUDA when available, else CPU.
    method : {"lbfgs", "adam"}
        "lbfgs" (default) converges fast; "adam" is plain full-batch Adam with
        learning rate ``lr``.
    gtol : float, optional
        Stop a run when ||grad L|| / sqrt(N) < gtol (>= 0). Default 1e-8 (lbfgs), 1e-6
        (adam). 0 turns the gradient rule off and, unless ``ftol`` is given, the stall
        rule too: with "adam" every run then trains exactly ``max_iter`` epochs ("lbfgs"
        still stops a run whose line search can make no progress).
    max_iter : int, optional
        Iteration (epoch) limit. Default 20,000 (lbfgs), 200,000 (adam).
    ftol : float, optional
        Stall rule: stop a run whose objective decreased by at most ftol (relative, in
        [0, inf)) over the last ``window`` iterations; 0 turns the rule off. Default
        1e-15 (lbfgs), 1e-9 (adam); 0 when ``gtol`` is 0.
    window : int, optional
        Iterations of the stall rule (>= 1). Default 50 (lbfgs), 2,000 (adam).
    M : int, default 1
        Number of latent units (keyword only).
    lr : float
        Adam learning rate (> 0).
    init_scale : float
        Standard deviation of the initial weights (> 0).
    init_rows : tuple (start, total), optional
        Draw the initialisation of a batch of ``total`` runs from ``seed`` and give these
        B runs its rows ``start, ..., start + B - 1`` (default ``(0, B)``): a run trained
        alone starts where it would start as run ``start`` of the whole batch.
    dtype : torch.dtype
        torch.float64 (default) or torch.float32.
    progress : bool, optional
        Show a progress bar (default: when stderr is a terminal).
    force : bool
        Train even if the estimated memory or time exceeds what is at hand (see
        :mod:`symrep.resources`).

    Returns
    -------
    SimulationResult, or a list of them
        One :class:`~symrep.simulate.observables.SimulationResult` per data set (a list
        when X is a sequence or 3-d; units in canonical order and sign; order parameters
        as numbers for M = M* = 1). ``converged`` is False for a run that reached
        ``max_iter``.

    Raises
    ------
    ValueError
        For invalid data (no rows, NaN, mismatched N), parameters or options.
    symrep.errors.SolverError
        If a run diverged (its weights or observables are not finite): no NaN is ever
        returned.
    """
    if method not in METHODS:
        raise ValueError(f"method = {method!r} is invalid: must be one of {', '.join(METHODS)}")
    M = check_positive_int("M", M)
    seed = check_seed(seed)
    lr = check_finite_float("lr", lr)
    init_scale = check_finite_float("init_scale", init_scale)
    if dtype not in (torch.float64, torch.float32):
        raise ValueError(f"dtype = {dtype!r} is invalid: must be torch.float64 or "
                         "torch.float32")
    single = not isinstance(X, (list, tuple)) and np.ndim(X) == 2
    if not single and not isinstance(X, (list, tuple)) and np.ndim(X) != 3:
        raise ValueError(f"X is invalid: expected an array (P, N), (B, P, N) or a sequence "
                         f"of (P, N) arrays, got {np.ndim(X)} dimension(s)")
    datasets = [X] if single else list(X)
    if not datasets:
        raise ValueError("X is invalid: the sequence of data sets is empty")
    datasets = [
        check_data(x.detach().to("cpu", torch.float64).numpy() if torch.is_tensor(x) else x,
                   "X" if single else f"X[{b}]")
        for b, x in enumerate(datasets)
    ]
    N = datasets[0].shape[1]
    if any(x.shape[1] != N for x in datasets):
        raise ValueError("X is invalid: all data sets of one batch must share N")
    B = len(datasets)
    W0 = check_features(W0.cpu().numpy() if torch.is_tensor(W0) else W0, N)
    betas, lams = _per_run("beta", beta, B), _per_run("lam", lam, B)
    n_features = W0.shape[1]
    rhos, etas = _strengths_per_run(rho, B, n_features), _per_run("eta", eta, B)
    opts = dict(_DEFAULTS[method])
    if gtol is not None:
        opts["gtol"] = check_finite_float("gtol", gtol, closed=True)
        if opts["gtol"] == 0:  # a fixed budget of iterations: no stopping rule by default
            opts["ftol"] = 0.0
    if ftol is not None:
        opts["ftol"] = check_finite_float("ftol", ftol, closed=True)
    if window is not None:
        opts["window"] = check_positive_int("window", window)
    if max_iter is not None:
        opts["max_iter"] = check_positive_int("max_iter", max_iter)
    check_resources(training_estimate(B * M, N, sum(x.shape[0] for x in datasets), method,
                                      opts["max_iter"]), force=force)
    device = resolve_device(device)

    kw = dict(dtype=dtype, device=device)
    C = torch.stack([_moments(x, N, **kw) for x in datasets])
    P = torch.tensor([x.shape[0] for x in datasets], **kw)
    prob_args = (C, P, torch.tensor(betas, **kw), torch.tensor(lams, **kw))
    prob = _Problem(*prob_args, M)
    gen = torch.Generator(device=device)
    if seed is None:  # a fresh seed for this generator only: the global RNG is untouched
        gen.seed()
    else:
        gen.manual_seed(seed)
    start_row, total = (0, B) if init_rows is None else _check_init_rows(init_rows, B)
    draw = torch.randn(total, 2 * N * M, generator=gen, **kw)[start_row : start_row + B]
    theta = torch.cat([init_scale * draw, torch.zeros(B, M, **kw)], dim=1)
    logger.debug("%s: %d run(s), N = %d, M = %d on %s; gtol = %g, ftol = %g, window = %d, "
                 "max_iter = %d", method, B, N, M, device, opts["gtol"], opts["ftol"],
                 opts["window"], opts["max_iter"])
    start = time.perf_counter()
    if method == "lbfgs":
        theta, conv, n_iter, gnorm = _run_lbfgs(prob, theta, progress=progress, **opts)
    else:
        theta, conv, n_iter, gnorm = _run_adam(prob, theta, lr=lr, progress=progress, **opts)
    logger.debug("%s: %d of %d run(s) converged, %d to %d iterations, %.6f s", method,
                 int(conv.sum()), B, int(n_iter.min()), int(n_iter.max()),
                 time.perf_counter() - start)

    theta = theta.detach().cpu().to(torch.float64).numpy()
    nm = N * M
    results = []
    for b, x in enumerate(datasets):
        result = None
        if np.all(np.isfinite(theta[b])) and np.all(np.abs(theta[b]) < 1e150):
            # D from log D, which the trainer optimises: D may underflow to 0 where
            # log D is still an ordinary number, and the observables use log D
            log_d = theta[b, 2 * nm :]
            with np.errstate(over="ignore", under="ignore"):
                D = np.exp(log_d)
            if np.all(np.isfinite(D)):
                info = dict(beta=betas[b], lam=lams[b], eta=etas[b], method=method,
                            converged=bool(conv[b]), n_iter=int(n_iter[b]),
                            grad_norm=float(gnorm[b]))
                with np.errstate(over="ignore", invalid="ignore"):  # reported below
                    result = observables_from_unit_weights(
                        x, W0, theta[b, :nm].reshape(N, M),
                        theta[b, nm : 2 * nm].reshape(M, N), D, log_D=log_d,
                        rho=rhos[b], **info)
        if result is None or not _all_finite(result):
            raise SolverError(
                f"training diverged for data set {b} (beta = {betas[b]:g}, lam = {lams[b]:g}, "
                f"{method}, after {int(n_iter[b])} iterations): the weights or the "
                "observables are not finite; try a smaller lr or init_scale",
                {"run": b, "method": method, "n_iter": int(n_iter[b]),
                 "parameters": dict(beta=float(betas[b]), lam=float(lams[b]),
                                    rho=rhos[b].tolist(), eta=float(etas[b]))})
        results.append(result)
    return results[0] if single else results


def _check_init_rows(init_rows, B):
    try:
        start, total = (int(v) for v in init_rows)
    except (TypeError, ValueError):
        raise ValueError(f"init_rows = {init_rows!r} is invalid: expected (start, total) "
                         "with 0 <= start and start + runs <= total") from None
    if start < 0 or start + B > total:
        raise ValueError(f"init_rows = {init_rows!r} is invalid: expected (start, total) "
                         f"with 0 <= start and start + {B} runs <= total")
    return start, total


def _all_finite(result):
    return all(np.all(np.isfinite(getattr(result, k))) for k in SCALAR_FIELDS)
