"""VAEs batched over independent runs: R models share every forward pass.

Each layer holds the weights of all runs with a leading run dimension and applies them
with one batched matrix product (``torch.baddbmm``) or one grouped convolution, so that
R small models train as one tensor program. On CPU this is faster than training the
runs one after another and than ``torch.func.vmap`` over stacked modules, and its time
stays steady where vmap's varies widely with threads on a shared machine (figures in
``docs/benchmarks.md``, "Real-data training"; ``benchmarks/realdata_training.py``).

Every model has a Gaussian decoder of unit variance and the standard normal prior. The
loss of one sample is ``||x - decoder_mean(z)||^2 / 2 + beta KL(q(z|x) || N(0, I))``
with one reparameterised sample z ~ q(z|x) (the linear model also has the exact
expectation over q, see ``docs/model.md``); the objective of a run is its mean over the
mini-batch.

Run r is initialised from its own seed with its own generator, so that it starts (and,
given the same mini-batches and noise, trains) exactly as the same model alone.

Shapes: inputs X are (B, N), shared by every run, or (R, B, N), one mini-batch per run;
latents are (R, B, L); decoder means (R, B, N).
"""

from __future__ import annotations

import abc
import math
import numbers

import torch
from torch import nn
from torch.nn import functional as F

from symrep.validation import check_positive_int, check_seed

__all__ = ["KINDS", "BatchedVAE", "MLPVAE", "ConvVAE", "LinearRealVAE", "make_vae",
           "run_seeds"]

#: The model kinds :func:`make_vae` builds.
KINDS = ("mlp", "conv", "linear")


def run_seeds(seed, n_runs):
    """Seeds of the runs: ``seed, seed + 1, ...`` for an int, or one per run.

    Parameters
    ----------
    seed : int or sequence of int
        The first seed, or one seed per run.
    n_runs : int
        Number of runs.

    Returns
    -------
    list of int
        One seed per run.

    Raises
    ------
    ValueError
        If a seed is not an integer in [0, 2**63 - 1], or a sequence has the wrong length.
    """
    n_runs = check_positive_int("n_runs", n_runs)
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        seeds = [check_seed(seed + r, "seed") for r in range(n_runs)]
        return seeds
    try:
        seeds = [check_seed(s, "seed") for s in seed]
    except TypeError:
        raise ValueError(f"seed = {seed!r} is invalid: seed must be an integer in "
                         "[0, 2**63 - 1] or a sequence of them, one per run") from None
    if len(seeds) != n_runs or None in seeds:
        raise ValueError(f"seed is invalid: a sequence of seeds needs one integer per run "
                         f"(n_runs = {n_runs}), got {len(seeds)}")
    return seeds


def _uniform(shape, bound, generators):
    """Per-run U(-bound, bound) draws: run r from ``generators[r]`` (shape excludes R)."""
    return torch.stack([torch.empty(shape).uniform_(-bound, bound, generator=g)
                        for g in generators])


def _normal(shape, generators):
    return torch.stack([torch.randn(shape, generator=g) for g in generators])


class _Linear(nn.Module):
    """R independent ``nn.Linear(n_in, n_out)`` layers with PyTorch's default init."""

    def __init__(self, n_in, n_out, generators):
        super().__init__()
        bound = 1.0 / math.sqrt(n_in)
        self.weight = nn.Parameter(_uniform((n_in, n_out), bound, generators))  # (R, in, out)
        self.bias = nn.Parameter(_uniform((1, n_out), bound, generators))  # (R, 1, out)

    def forward(self, x):
        if x.dim() == 2:  # one mini-batch shared by every run
            x = x.expand(self.weight.shape[0], -1, -1)
        return torch.baddbmm(self.bias, x, self.weight)


class _Conv(nn.Module):
    """R independent ``Conv2d`` (or ``ConvTranspose2d``) layers as one grouped convolution.

    Activations are laid out (B, R * channels, h, w): run r owns channel block r.
    """

    def __init__(self, c_in, c_out, generators, *, transpose=False, kernel=4, stride=2,
                 padding=1):
        super().__init__()
        self.transpose, self.stride, self.padding = transpose, stride, padding
        # PyTorch's default init takes fan_in from weight.shape[1] * k * k: c_in for
        # Conv2d (weight (out, in, k, k)), c_out for ConvTranspose2d (weight (in, out, k, k)).
        shape = (c_in, c_out, kernel, kernel) if transpose else (c_out, c_in, kernel, kernel)
        bound = 1.0 / math.sqrt(shape[1] * kernel * kernel)
        self.weight = nn.Parameter(_uniform(shape, bound, generators))  # (R, *shape)
        self.bias = nn.Parameter(_uniform((c_out,), bound, generators))  # (R, out)

    def forward(self, x):
        R = self.weight.shape[0]
        w = self.weight.reshape(-1, *self.weight.shape[2:])
        b = self.bias.reshape(-1)
        if self.transpose:
            return F.conv_transpose2d(x, w, b, stride=self.stride, padding=self.padding,
                                      groups=R)
        return F.conv2d(x, w, b, stride=self.stride, padding=self.padding, groups=R)


def _check_input_shape(input_shape):
    message = (f"input_shape = {input_shape!r} is invalid: input_shape must be N or an "
               "image shape (C, H, W) of positive integers")
    if isinstance(input_shape, numbers.Integral):
        input_shape = (input_shape,)
    try:
        shape = tuple(check_positive_int("input_shape", s) for s in input_shape)
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if len(shape) not in (1, 3):
        raise ValueError(message)
    return shape


class BatchedVAE(nn.Module, metaclass=abc.ABCMeta):
    """Base class: R independent VAEs with a Gaussian encoder, unit-variance decoder.

    Subclasses define :meth:`encode` and :meth:`decode`.

    Attributes
    ----------
    kind : str
    n_runs : int
        Number of runs R.
    input_shape : tuple of int
        (N,) or (C, H, W).
    n_inputs : int
        N, the flattened input size.
    latent : int
        Latent dimension L.
    seeds : list of int
        Initialisation seed of each run.
    """

    kind = ""

    def __init__(self, input_shape, n_runs, latent, seed):
        super().__init__()
        self.input_shape = _check_input_shape(input_shape)
        self.n_inputs = math.prod(self.input_shape)
        self.n_runs = check_positive_int("n_runs", n_runs)
        self.latent = check_positive_int("latent", latent)
        self.seeds = run_seeds(seed, self.n_runs)

    def _generators(self):
        return [torch.Generator().manual_seed(s) for s in self.seeds]

    @abc.abstractmethod
    def encode(self, X):
        """Encoder mean and log-variance of q(z|x), each (R, B, L).

        Parameters
        ----------
        X : Tensor (B, N) or (R, B, N)
            A mini-batch shared by every run, or one per run.

        Returns
        -------
        mean, logvar : Tensor (R, B, L)
            Mean and log-variance of the Gaussian posterior of each sample in each run.
        """

    @abc.abstractmethod
    def decode(self, Z):
        """Decoder mean of p(x|z), (R, B, N), for latents Z (R, B, L).

        Parameters
        ----------
        Z : Tensor (R, B, L)
            Latents of each run.

        Returns
        -------
        Tensor (R, B, N)
            The decoder means.
        """

    @staticmethod
    def kl(mean, logvar):
        """KL(q(z|x) || N(0, I)) of each sample, (R, B).

        Parameters
        ----------
        mean, logvar : Tensor (R, B, L)
            Mean and log-variance of q(z|x).

        Returns
        -------
        Tensor (R, B)
            The KL divergence of each sample.
        """
        return 0.5 * (logvar.exp() + mean * mean - 1.0 - logvar).sum(-1)

    def _targets(self, X):
        return X.expand(self.n_runs, -1, -1) if X.dim() == 2 else X

    def sample_losses(self, X, beta, noise=None):
        """Per-sample loss ``||x - decoder_mean(z)||^2 / 2 + beta KL``, (R, B).

        Parameters
        ----------
        X : Tensor (B, N) or (R, B, N)
        beta : float or Tensor (R,)
            KL weight of each run.
        noise : Tensor (R, B, L), optional
            Standard normal draws of the reparameterisation ``z = mean + exp(logvar/2)
            noise``; default: drawn from the global torch generator.

        Returns
        -------
        Tensor (R, B)
            The loss of each sample in each run.
        """
        mean, logvar = self.encode(X)
        if noise is None:
            noise = torch.randn_like(mean)
        z = mean + torch.exp(0.5 * logvar) * noise
        err = self._targets(X) - self.decode(z)
        beta = torch.as_tensor(beta, dtype=mean.dtype, device=mean.device)
        if beta.dim() == 1:
            beta = beta[:, None]
        return 0.5 * (err * err).sum(-1) + beta * self.kl(mean, logvar)

    def loss(self, X, beta, noise=None):
        """Objective of each run: the mean over the mini-batch of the per-sample loss, (R,).

        Parameters
        ----------
        X : Tensor (B, N) or (R, B, N)
            A mini-batch shared by every run, or one per run.
        beta : float or Tensor (R,)
            KL weight of each run.
        noise : Tensor (R, B, L), optional
            Standard normal draws of the reparameterisation; default: drawn from the global
            torch generator.

        Returns
        -------
        Tensor (R,)
            The mean loss of each run.
        """
        return self.sample_losses(X, beta, noise).mean(-1)

    def forward(self, X):
        """Reconstruction without sampling: ``decoder_mean(encoder_mean(x))``, (R, B, N).

        Parameters
        ----------
        X : Tensor (B, N) or (R, B, N)
            A mini-batch shared by every run, or one per run.

        Returns
        -------
        Tensor (R, B, N)
            The reconstructions.
        """
        return self.decode(self.encode(X)[0])


class MLPVAE(BatchedVAE):
    """MLP VAE (App. D of the paper), R runs.

    Encoder Linear(N, H)-ReLU and two heads Linear(H, L) (mean, log-variance); decoder
    Linear(L, H)-ReLU-Linear(H, N). The paper has N = 784, H = 128, L = 2.

    Parameters
    ----------
    input_shape : int or tuple of int
        N or (C, H, W) (flattened).
    n_runs : int
    latent : int, default 2
    hidden : int, default 128
    seed : int or sequence of int, default 0
        Initialisation seeds: run r uses ``seed + r``, or ``seed[r]`` for a sequence.
    """

    kind = "mlp"

    def __init__(self, input_shape, n_runs=1, *, latent=2, hidden=128, seed=0):
        super().__init__(input_shape, n_runs, latent, seed)
        self.hidden = check_positive_int("hidden", hidden)
        N, H, L = self.n_inputs, self.hidden, self.latent
        g = self._generators()
        self.enc = _Linear(N, H, g)
        self.enc_mean = _Linear(H, L, g)
        self.enc_logvar = _Linear(H, L, g)
        self.dec_hidden = _Linear(L, H, g)
        self.dec_out = _Linear(H, N, g)

    def encode(self, X):
        h = torch.relu(self.enc(X))
        return self.enc_mean(h), self.enc_logvar(h)

    def decode(self, Z):
        return self.dec_out(torch.relu(self.dec_hidden(Z)))


class ConvVAE(BatchedVAE):
    """Convolutional VAE for colour images (App. E.2 of the paper), R runs.

    Encoder Conv2d(C, c1, 4, 2, 1)-ReLU-Conv2d(c1, c2, 4, 2, 1)-ReLU-flatten and two heads
    Linear(c2 H/4 W/4, L); decoder Linear(L, c2 H/4 W/4)-reshape-ConvTranspose2d(c2, c1, 4,
    2, 1)-ReLU-ConvTranspose2d(c1, C, 4, 2, 1). The paper has (c1, c2) = (32, 64), L = 128
    on 3 x 32 x 32 CIFAR10 images.

    Parameters
    ----------
    input_shape : tuple of int
        (C, H, W), H and W divisible by 4.
    n_runs : int
    latent : int, default 128
    hidden : tuple of two int, default (32, 64)
        Channels (c1, c2) of the two convolutions.
    seed : int or sequence of int, default 0
    """

    kind = "conv"

    def __init__(self, input_shape, n_runs=1, *, latent=128, hidden=(32, 64), seed=0):
        super().__init__(input_shape, n_runs, latent, seed)
        if len(self.input_shape) != 3:
            raise ValueError(f"input_shape = {input_shape!r} is invalid: the conv VAE needs "
                             "an image shape (C, H, W)")
        C, H, W = self.input_shape
        if H % 4 or W % 4:
            raise ValueError(f"input_shape = {input_shape!r} is invalid: H and W must be "
                             "divisible by 4")
        try:
            c1, c2 = (check_positive_int("hidden", c) for c in hidden)
        except (TypeError, ValueError):
            raise ValueError(f"hidden = {hidden!r} is invalid: hidden must be two positive "
                             "channel counts (c1, c2)") from None
        self.hidden = (c1, c2)
        self._grid = (c2, H // 4, W // 4)
        flat = c2 * (H // 4) * (W // 4)
        g = self._generators()
        self.conv1 = _Conv(C, c1, g)
        self.conv2 = _Conv(c1, c2, g)
        self.enc_mean = _Linear(flat, self.latent, g)
        self.enc_logvar = _Linear(flat, self.latent, g)
        self.dec_in = _Linear(self.latent, flat, g)
        self.deconv1 = _Conv(c2, c1, g, transpose=True)
        self.deconv2 = _Conv(c1, C, g, transpose=True)

    def encode(self, X):
        R, (C, H, W) = self.n_runs, self.input_shape
        if X.dim() == 2:
            x = X.reshape(-1, C, H, W).repeat(1, R, 1, 1)  # (B, R C, H, W)
        else:
            x = X.reshape(R, -1, C, H, W).transpose(0, 1).reshape(-1, R * C, H, W)
        h = torch.relu(self.conv2(torch.relu(self.conv1(x))))  # (B, R c2, H/4, W/4)
        h = h.reshape(h.shape[0], R, -1).transpose(0, 1)  # (R, B, c2 H/4 W/4)
        return self.enc_mean(h), self.enc_logvar(h)

    def decode(self, Z):
        R = self.n_runs
        c2, h, w = self._grid
        x = self.dec_in(Z).transpose(0, 1).reshape(-1, R * c2, h, w)
        x = self.deconv2(torch.relu(self.deconv1(x)))  # (B, R C, H, W)
        return x.reshape(x.shape[0], R, -1).transpose(0, 1)


class LinearRealVAE(BatchedVAE):
    """The linear VAE of ``docs/model.md``, R runs, on real data.

    Encoder q(z|x) = N(W~ x / sqrt(N), D) with a learned diagonal D independent of x;
    decoder mean W z / sqrt(N); no biases. W and W~ start i.i.d. N(0, 1), D = 1 (as in
    :class:`symrep.simulate.model.LinearVAE`).

    Parameters
    ----------
    input_shape : int or tuple of int
    n_runs : int
    latent : int, default 1
        M, the number of latent units.
    seed : int or sequence of int, default 0
    exact : bool, default True
        :meth:`sample_losses` uses the exact expectation over q (closed form, no sampling
        noise); False draws one reparameterised sample as the nonlinear models do.

    Attributes
    ----------
    W : Parameter (R, N, M)
    W_enc : Parameter (R, M, N)
    log_D : Parameter (R, M)
    """

    kind = "linear"

    def __init__(self, input_shape, n_runs=1, *, latent=1, seed=0, exact=True):
        super().__init__(input_shape, n_runs, latent, seed)
        self.exact = bool(exact)
        N, M = self.n_inputs, self.latent
        g = self._generators()
        self.W = nn.Parameter(_normal((N, M), g))
        self.W_enc = nn.Parameter(_normal((M, N), g))
        self.log_D = nn.Parameter(torch.zeros(self.n_runs, M))

    def encode(self, X):
        mean = X @ self.W_enc.transpose(-1, -2) / math.sqrt(self.n_inputs)
        return mean, self.log_D[:, None, :].expand_as(mean)

    def decode(self, Z):
        return Z @ self.W.transpose(-1, -2) / math.sqrt(self.n_inputs)

    def sample_losses(self, X, beta, noise=None):
        """Per-sample loss, (R, B): exact expectation over q unless ``exact=False``.

        With ``mu = W~ x / sqrt(N)`` and ``Q = W^T W / N``, the exact loss is
        ``(||x||^2 - 2 x.W mu / sqrt(N) + mu^T Q mu + tr(Q D)) / 2 + beta KL``.

        Parameters
        ----------
        X : Tensor (B, N) or (R, B, N)
            A mini-batch shared by every run, or one per run.
        beta : float or Tensor (R,)
            KL weight of each run.
        noise : Tensor (R, B, L), optional
            Standard normal draws of the reparameterisation; default: drawn from the global
            torch generator.
            Not used by the exact loss.

        Returns
        -------
        Tensor (R, B)
            The loss of each sample in each run.
        """
        if not self.exact:
            return super().sample_losses(X, beta, noise)
        N = self.n_inputs
        mean, logvar = self.encode(X)
        gram = self.W.transpose(-1, -2) @ self.W / N  # (R, M, M)
        x = self._targets(X)
        decoded = self.decode(mean)
        trace_qd = (torch.diagonal(gram, dim1=-2, dim2=-1) * self.log_D.exp()).sum(-1)
        recon = ((x * x).sum(-1) - 2.0 * (x * decoded).sum(-1)
                 + ((mean @ gram) * mean).sum(-1) + trace_qd[:, None]) / 2.0
        beta = torch.as_tensor(beta, dtype=mean.dtype, device=mean.device)
        if beta.dim() == 1:
            beta = beta[:, None]
        return recon + beta * self.kl(mean, logvar)


def make_vae(kind, input_shape, n_runs, *, latent=None, hidden=None, seed=0):
    """Build R independent VAEs of one kind.

    Parameters
    ----------
    kind : {"mlp", "conv", "linear"}
        :class:`MLPVAE`, :class:`ConvVAE` or :class:`LinearRealVAE`.
    input_shape : int or tuple of int
        N or (C, H, W); the conv VAE needs (C, H, W) with H, W divisible by 4.
    n_runs : int
        Number of runs R.
    latent : int, optional
        Latent dimension; default 2 (mlp), 128 (conv), 1 (linear).
    hidden : int or tuple of int, optional
        Hidden width H of the MLP (default 128) or channels (c1, c2) of the conv VAE
        (default (32, 64)); the linear VAE has none (must be None).
    seed : int or sequence of int, default 0
        Run r is initialised from ``seed + r`` (or ``seed[r]``), exactly as a single-run
        model built with that seed.

    Returns
    -------
    BatchedVAE
    """
    if kind not in KINDS:
        raise ValueError(f"kind = {kind!r} is invalid: kind must be one of {', '.join(KINDS)}")
    kw = {"seed": seed}
    if latent is not None:
        kw["latent"] = latent
    if kind == "linear":
        if hidden is not None:
            raise ValueError(f"hidden = {hidden!r} is invalid: the linear VAE has no hidden "
                             "layer (hidden must be None)")
        return LinearRealVAE(input_shape, n_runs, **kw)
    if hidden is not None:
        kw["hidden"] = hidden
    cls = MLPVAE if kind == "mlp" else ConvVAE
    return cls(input_shape, n_runs, **kw)
