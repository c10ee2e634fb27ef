"""Training many VAEs at once: one run per (beta, seed), all in one batched model.

Runs are ordered beta-major: run ``r = i * len(seeds) + j`` has ``betas[i]`` and
``seeds[j]``. A run's seed fixes its initialisation (:func:`symrep.realdata.vae.make_vae`),
its mini-batch order (a reshuffle every epoch) and its reparameterisation noise, each from
its own random stream; runs that share a seed therefore see the same mini-batches and the
same noise, and any run trains exactly as it would alone.
"""

from __future__ import annotations

import logging
import math
import numbers
from dataclasses import dataclass

import numpy as np
import torch

from symrep.progress import progress_bar
from symrep.realdata.vae import KINDS, BatchedVAE, make_vae
from symrep.simulate.device import resolve_device
from symrep.validation import check_finite_float, check_positive_int, check_seed

__all__ = ["TrainingResult", "train_vaes", "check_samples", "check_image_shape"]

logger = logging.getLogger("symrep.realdata")

# Offsets that make a run's shuffling and noise streams independent of its initialisation.
_SHUFFLE_STREAM, _NOISE_STREAM = 1, 2


@dataclass
class TrainingResult:
    """Trained runs of :func:`train_vaes`.

    Attributes
    ----------
    model : BatchedVAE
        The R trained models (on the training device).
    betas : ndarray (R,)
        KL weight of each run.
    seeds : ndarray (R,)
        Seed of each run.
    loss : ndarray (epochs, R)
        Training loss of each run and epoch: the mean over the epoch's samples of the
        per-sample loss, as the mini-batches saw it during the epoch.
    kind : str
    image_shape : tuple of int
        (C, H, W) or (N,).
    """

    model: BatchedVAE
    betas: np.ndarray
    seeds: np.ndarray
    loss: np.ndarray
    kind: str
    image_shape: tuple

    @property
    def n_runs(self):
        """Number of runs R."""
        return len(self.betas)

    @property
    def device(self):
        """Device of the model."""
        return next(self.model.parameters()).device


def check_samples(X, name="X", n_inputs=None):
    """Validate samples: a finite 2-d array (P, N), returned as a float32 tensor (CPU).

    Parameters
    ----------
    X : array_like or Tensor (P, N)
        The samples, one per row.
    name : str, optional
        The parameter name used in error messages (default ``"X"``).
    n_inputs : int, optional
        The number of columns X must have (a model's inputs); None: any.

    Returns
    -------
    Tensor (P, N), float32, on the CPU

    Raises
    ------
    ValueError
        If X is not a non-empty 2-d array of finite numbers with the required columns.
    """
    try:
        if isinstance(X, torch.Tensor):
            X = X.detach().to("cpu", torch.float32)
        else:
            X = torch.as_tensor(np.asarray(X, dtype=np.float32))
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"{name} is invalid: {name} must be a 2-d array of finite real "
                         "numbers (samples x inputs)") from None
    if X.dim() != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"{name} is invalid: {name} must be a non-empty 2-d array "
                         f"(samples x inputs), got shape {tuple(X.shape)}")
    if not torch.isfinite(X).all():
        raise ValueError(f"{name} is invalid: {name} must contain finite numbers only")
    if n_inputs is not None and X.shape[1] != n_inputs:
        raise ValueError(f"{name} is invalid: {name} must have {n_inputs} columns (the "
                         f"model's inputs), got {X.shape[1]}")
    return X


def check_image_shape(image_shape, N, kind="mlp"):
    """Validate an image shape (C, H, W) against N inputs; None means (N,) (not for conv).

    Parameters
    ----------
    image_shape : tuple of int or None
        (C, H, W) or (N,).
    N : int
        Number of inputs of the model.
    kind : {"mlp", "conv", "linear"}, optional
        The VAE's kind (default "mlp"); "conv" needs (C, H, W).

    Returns
    -------
    tuple of int
        The validated shape.

    Raises
    ------
    ValueError
        If the shape is not of positive integers with product N, or None for "conv".
    """
    if image_shape is None:
        if kind == "conv":
            raise ValueError("image_shape = None is invalid: the conv VAE needs the image "
                             "shape (C, H, W)")
        return (N,)
    message = (f"image_shape = {image_shape!r} is invalid: image_shape must be (C, H, W) "
               f"(or (N,)) of positive integers with product N = {N}")
    try:
        shape = tuple(check_positive_int("image_shape", s) for s in image_shape)
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if len(shape) not in (1, 3) or math.prod(shape) != N:
        raise ValueError(message)
    return shape


def _check_betas(betas):
    if isinstance(betas, numbers.Real):
        betas = [betas]
    try:
        betas = [check_finite_float("betas", b, low=0.0) for b in betas]
    except TypeError:
        raise ValueError(f"betas = {betas!r} is invalid: betas must be a sequence of finite "
                         "numbers in (0, inf)") from None
    except ValueError as err:
        raise ValueError(f"betas = {betas!r} is invalid: every beta must be a finite number "
                         "in (0, inf)") from err
    if not betas:
        raise ValueError("betas = [] is invalid: betas needs at least one value in (0, inf)")
    return betas


def _check_seeds(seeds):
    if isinstance(seeds, numbers.Integral):
        seeds = [seeds]
    try:
        seeds = [check_seed(s, "seeds") for s in seeds]
    except TypeError:
        raise ValueError(f"seeds = {seeds!r} is invalid: seeds must be a sequence of integers "
                         "in [0, 2**63 - 1]") from None
    if not seeds or None in seeds:
        raise ValueError(f"seeds = {seeds!r} is invalid: seeds must be a non-empty sequence "
                         "of integers in [0, 2**63 - 1]")
    return seeds


def _stream_seed(seed, stream):
    return int(np.random.SeedSequence([seed, stream]).generate_state(1, np.uint64)[0] >> 1)


def _progress_bar(total, enabled):
    return progress_bar(total, "train VAEs", enabled, unit="epoch")


def train_vaes(X, betas, *, kind="mlp", image_shape=None, seeds=(0,), epochs=50,
               batch_size=128, lr=1e-3, weight_decay=0.0, latent=None, device=None,
               progress=False):
    """Train one VAE per (beta, seed) with Adam, all runs in one batched model.

    Parameters
    ----------
    X : Tensor or array_like (P, N)
        Training samples (flattened images), finite.
    betas : float or sequence of float
        KL weights, each in (0, inf).
    kind : {"mlp", "conv", "linear"}, default "mlp"
        Model (:func:`symrep.realdata.vae.make_vae`); "linear" uses the exact expectation
        over q.
    image_shape : tuple of int, optional
        (C, H, W) with C H W = N; required for "conv".
    seeds : int or sequence of int, default (0,)
        Seeds in [0, 2**63 - 1]; each fixes a run's initialisation, mini-batch order and
        noise.
    epochs : int, default 50
        Passes over the data (>= 1).
    batch_size : int, default 128
        Mini-batch size (>= 1; the last mini-batch of an epoch may be smaller).
    lr : float, default 1e-3
        Adam learning rate, in (0, inf).
    weight_decay : float, default 0
        Adam's (L2) weight decay, in [0, inf).
    latent : int, optional
        Latent dimension (default: the kind's, see ``make_vae``).
    device : str or torch.device, optional
        Default: CUDA when available, else CPU.
    progress : bool, default False
        Show a tqdm progress bar over the epochs; None: when stderr is a terminal and
        logging is not quiet (:func:`symrep.progress.progress_enabled`).

    Returns
    -------
    TrainingResult
        Runs ordered beta-major (run ``i * len(seeds) + j`` has ``betas[i]``, ``seeds[j]``).
    """
    if kind not in KINDS:
        raise ValueError(f"kind = {kind!r} is invalid: kind must be one of {', '.join(KINDS)}")
    X = check_samples(X)
    P, N = X.shape
    shape = check_image_shape(image_shape, N, kind)
    betas = _check_betas(betas)
    seeds = _check_seeds(seeds)
    epochs = check_positive_int("epochs", epochs)
    batch_size = check_positive_int("batch_size", batch_size)
    lr = check_finite_float("lr", lr, low=0.0)
    weight_decay = check_finite_float("weight_decay", weight_decay, low=0.0, closed=True)
    device = resolve_device(device)

    run_betas = np.repeat(np.asarray(betas, dtype=np.float64), len(seeds))
    run_seeds = np.tile(np.asarray(seeds, dtype=np.int64), len(betas))
    R = len(run_betas)
    model = make_vae(kind, shape, R, latent=latent, seed=[int(s) for s in run_seeds])
    model = model.to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    X = X.to(device)
    beta_t = torch.as_tensor(run_betas, dtype=torch.float32, device=device)

    unique = sorted(set(seeds))
    slot = torch.as_tensor([unique.index(s) for s in run_seeds], device=device)
    shufflers = [np.random.default_rng(_stream_seed(s, _SHUFFLE_STREAM)) for s in unique]
    noise_gens = [torch.Generator(device=device).manual_seed(_stream_seed(s, _NOISE_STREAM))
                  for s in unique]
    sampled = not getattr(model, "exact", False)
    history = np.empty((epochs, R))
    logger.info("training %d %s VAEs (%d betas x %d seeds) on P = %d, N = %d, %d epochs, "
                "device %s", R, kind, len(betas), len(seeds), P, N, epochs, device)
    bar = _progress_bar(epochs, progress)
    try:
        for epoch in range(epochs):
            orders = torch.as_tensor(np.stack([rng.permutation(P) for rng in shufflers]),
                                     device=device)  # (seeds, P)
            total = torch.zeros(R, device=device)
            for start in range(0, P, batch_size):
                idx = orders[:, start:start + batch_size]
                B = idx.shape[1]
                xb = X[idx[0]] if len(unique) == 1 else X[idx[slot]]  # (B, N) or (R, B, N)
                noise = None
                if sampled:
                    noise = torch.stack([torch.randn(B, model.latent, generator=g,
                                                     device=device) for g in noise_gens])
                    noise = noise[slot]
                loss = model.loss(xb, beta_t, noise)
                optimiser.zero_grad(set_to_none=True)
                loss.sum().backward()
                optimiser.step()
                total += loss.detach() * B
            history[epoch] = (total / P).cpu().numpy()
            logger.debug("epoch %d/%d: mean training loss %.6g", epoch + 1, epochs,
                         history[epoch].mean())
            if bar is not None:
                bar.update()
                bar.set_postfix(loss=f"{history[epoch].mean():.4g}")
    finally:
        if bar is not None:
            bar.close()
    logger.info("trained %d VAEs: final training loss %.6g to %.6g", R,
                history[-1].min(), history[-1].max())
    return TrainingResult(model=model, betas=run_betas, seeds=run_seeds, loss=history,
                          kind=kind, image_shape=shape)
