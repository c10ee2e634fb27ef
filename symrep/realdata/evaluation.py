"""Held-out metrics and samples of trained VAE runs (see :mod:`symrep.realdata.training`)."""

from __future__ import annotations

import torch

from symrep.realdata.training import TrainingResult, check_samples
from symrep.validation import check_positive_int, check_seed

__all__ = ["heldout_metrics", "generate"]


def _check_result(result):
    if not isinstance(result, TrainingResult):
        raise ValueError(f"result = {type(result).__name__} is invalid: result must be the "
                         "TrainingResult of train_vaes")
    return result


def heldout_metrics(result, X_test, *, batch_size=1024, seed=0):
    """Per-run metrics on held-out samples, each averaged over the samples.

    Parameters
    ----------
    result : TrainingResult
    X_test : Tensor or array_like (P', N)
    batch_size : int, default 1024
        Samples per evaluation chunk (memory only).
    seed : int, default 0
        Seed of the reparameterisation noise of ``elbo_loss`` (nonlinear kinds).

    Returns
    -------
    dict of ndarray (R,)
        ``reconstruction``: ``||x - decoder_mean(encoder_mean(x))||^2 / 2``, no sampling;
        ``rate``: ``KL(q(z|x) || p(z))``; ``elbo_loss``: the training objective per
        sample at the run's beta, ``||x - decoder_mean(z)||^2 / 2 + beta KL`` with one
        z ~ q(z|x) per sample (exact expectation over q for the linear kind).
    """
    result = _check_result(result)
    model = result.model
    X_test = check_samples(X_test, "X_test", model.n_inputs)
    batch_size = check_positive_int("batch_size", batch_size)
    seed = check_seed(seed)
    device = result.device
    betas = torch.as_tensor(result.betas, dtype=torch.float32, device=device)
    gen = torch.Generator(device=device).manual_seed(seed)
    sums = {k: torch.zeros(result.n_runs, dtype=torch.float64, device=device)
            for k in ("reconstruction", "rate", "elbo_loss")}
    with torch.no_grad():
        for start in range(0, X_test.shape[0], batch_size):
            x = X_test[start:start + batch_size].to(device)
            mean, logvar = model.encode(x)
            err = x - model.decode(mean)
            sums["reconstruction"] += 0.5 * (err * err).sum(-1).sum(-1)
            sums["rate"] += model.kl(mean, logvar).sum(-1)
            noise = torch.randn(mean.shape, generator=gen, device=device)
            sums["elbo_loss"] += model.sample_losses(x, betas, noise).sum(-1)
    return {k: (v / X_test.shape[0]).cpu().numpy() for k, v in sums.items()}


def generate(result, n, seed=0):
    """Decoder means at n latents z ~ N(0, I), the same latents for every run.

    Parameters
    ----------
    result : TrainingResult
        The trained VAEs (:func:`symrep.realdata.training.train_vaes`).
    n : int
        Number of latents (>= 1).
    seed : int, optional
        Seed of the latents (default 0).

    Returns
    -------
    Tensor (R, n, N), float32, on the CPU

    Raises
    ------
    ValueError
        If ``result`` is not a TrainingResult, or n or seed is invalid.
    """
    result = _check_result(result)
    n = check_positive_int("n", n)
    seed = check_seed(seed)
    model = result.model
    z = torch.randn(n, model.latent, generator=torch.Generator().manual_seed(seed))
    z = z.to(result.device).expand(model.n_runs, -1, -1)
    with torch.no_grad():
        return model.decode(z).cpu()


