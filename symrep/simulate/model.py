"""The linear VAE as a torch module and its training objective.

Shapes follow the model conventions: decoder W (N, M), encoder W~ (M, N), encoder variances
D (M,). Every function accepts extra leading batch dimensions (independent runs), so that
many runs train in one tensor program.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

__all__ = [
    "LinearVAE",
    "vae_objective",
    "gram_objective",
    "data_moments",
    "objective_from_products",
    "gradient_from_products",
    "objective_from_unit_products",
    "gradient_from_unit_products",
    "unpack_units",
    "gradient_norm",
]


def vae_objective(X, W, W_enc, D, beta, lam):
    """Training objective of the linear VAE, summed over the samples.

    ``L = sum_mu [E_q ||x - W z/sqrt(N)||^2 / 2 + beta KL(q(z|x) || p(z))]
    + lam/2 (||W||^2 + ||W~||^2)`` with the Gaussian expectation and KL in closed form.

    Parameters
    ----------
    X : Tensor (..., P, N)
        Samples, one per row.
    W : Tensor (..., N, M)
        Decoder weights.
    W_enc : Tensor (..., M, N)
        Encoder weights W~ (the encoder mean is W~ x / sqrt(N)).
    D : Tensor (..., M)
        Encoder variances (positive).
    beta, lam : float or Tensor (...)
        KL weight and weight decay.

    Returns
    -------
    Tensor (...)
        The objective L of each run.
    """
    N = X.shape[-1]
    M = W.shape[-1]
    sqrt_n = math.sqrt(N)
    mu = X @ W_enc.transpose(-1, -2) / sqrt_n  # (..., P, M) encoder means
    gram = W.transpose(-1, -2) @ W / N  # (..., M, M) = W^T W / N
    x_dec = mu @ W.transpose(-1, -2) / sqrt_n  # (..., P, N) decoded means
    trace_qd = (torch.diagonal(gram, dim1=-2, dim2=-1) * D).sum(-1, keepdim=True)  # (..., 1)
    recon = ((X * X).sum(-1) - 2.0 * (X * x_dec).sum(-1) + ((mu @ gram) * mu).sum(-1)
             + trace_qd) / 2.0  # (..., P)
    log_det_d = torch.log(D).sum(-1, keepdim=True)
    kl = (D.sum(-1, keepdim=True) + (mu * mu).sum(-1) - M - log_det_d) / 2.0  # (..., P)
    beta = torch.as_tensor(beta, dtype=X.dtype, device=X.device)
    lam = torch.as_tensor(lam, dtype=X.dtype, device=X.device)
    reg = lam / 2.0 * ((W * W).sum((-1, -2)) + (W_enc * W_enc).sum((-1, -2)))
    return recon.sum(-1) + beta * kl.sum(-1) + reg


def data_moments(X):
    """Sufficient statistics of the data for the objective.

    Returns ``(C, P, x2)`` with C = X^T X / N (..., N, N), P the number of samples and
    x2 = sum_mu ||x^mu||^2 (...): the objective depends on the data only through them.

    Parameters
    ----------
    X : Tensor (..., P, N)
        The data, one sample per row (leading dimensions are batches of data sets).

    Returns
    -------
    C : Tensor (..., N, N)
        X^T X / N.
    P : int
        Number of samples.
    x2 : Tensor (...)
        sum_mu ||x^mu||^2.
    """
    N = X.shape[-1]
    return X.transpose(-1, -2) @ X / N, X.shape[-2], (X * X).sum((-1, -2))


def gram_objective(C, P, x2, W, W_enc, D, beta, lam):
    """The objective of :func:`vae_objective` written through the data moments.

    Equal to ``vae_objective(X, ...)`` with ``(C, P, x2) = data_moments(X)``, but costs
    O(N^2 M) instead of O(P N M) per evaluation and lets runs with different numbers of
    samples P share one batch (P may be a tensor of shape (...)).

    Parameters
    ----------
    C : Tensor (..., N, N)
        X^T X / N.
    P : int or Tensor (...)
        Number of samples of each data set.
    x2 : Tensor (...)
        sum_mu ||x^mu||^2.
    W : Tensor (..., N, M)
        Decoder weights.
    W_enc : Tensor (..., M, N)
        Encoder weights W~.
    D : Tensor (..., M)
        Encoder variances.
    beta : float or Tensor
        Weight of the KL term.
    lam : float or Tensor
        Weight decay on encoder and decoder.

    Returns
    -------
    Tensor (...)
        The objective L of each model.
    """
    N = C.shape[-1]
    M = W.shape[-1]
    P = torch.as_tensor(P, dtype=C.dtype, device=C.device)
    beta = torch.as_tensor(beta, dtype=C.dtype, device=C.device)
    lam = torch.as_tensor(lam, dtype=C.dtype, device=C.device)
    gram = W.transpose(-1, -2) @ W / N  # (..., M, M)
    enc_c = W_enc @ C  # (..., M, N): W~ C
    mu2 = enc_c @ W_enc.transpose(-1, -2)  # (..., M, M): sum_mu mu mu^T
    cross = (enc_c * W.transpose(-1, -2)).sum((-1, -2))  # tr(W~ C W) = sum_mu x.W mu/sqrt N
    quad = (gram * mu2).sum((-1, -2))  # sum_mu mu^T (W^T W/N) mu
    trace_qd = (torch.diagonal(gram, dim1=-2, dim2=-1) * D).sum(-1)
    recon = x2 / 2.0 - cross + quad / 2.0 + P * trace_qd / 2.0
    trace_mu2 = torch.diagonal(mu2, dim1=-2, dim2=-1).sum(-1)
    kl = (P * (D.sum(-1) - M - torch.log(D).sum(-1)) + trace_mu2) / 2.0
    reg = lam / 2.0 * ((W * W).sum((-1, -2)) + (W_enc * W_enc).sum((-1, -2)))
    return recon + beta * kl + reg


class LinearVAE(nn.Module):
    """Linear VAE: encoder N(W~ x/sqrt(N), D), decoder N(W z/sqrt(N), I), prior N(0, I).

    Parameters
    ----------
    N : int
        Input dimension.
    M : int, default 1
        Latent dimension.
    batch : tuple of int, default ()
        Leading batch shape: independent models trained side by side.
    init_scale : float, default 1.0
        Weights start i.i.d. N(0, init_scale^2) (the usual practice); D starts at 1.
    generator, dtype, device :
        Passed to the random initialisation.

    Attributes
    ----------
    W : Parameter (*batch, N, M)
        Decoder weights.
    W_enc : Parameter (*batch, M, N)
        Encoder weights W~.
    log_D : Parameter (*batch, M)
        Log encoder variances; D = exp(log_D) stays positive during training.
    """

    def __init__(self, N, M=1, *, batch=(), init_scale=1.0, generator=None,
                 dtype=torch.float64, device=None):
        super().__init__()
        batch = tuple(batch)
        kw = dict(generator=generator, dtype=dtype, device=device)
        self.W = nn.Parameter(init_scale * torch.randn(*batch, N, M, **kw))
        self.W_enc = nn.Parameter(init_scale * torch.randn(*batch, M, N, **kw))
        self.log_D = nn.Parameter(torch.zeros(*batch, M, dtype=dtype, device=device))

    @property
    def D(self):
        """Encoder variances."""
        return self.log_D.exp()

    def forward(self, X):
        """Encoder mean W~ x / sqrt(N) of each sample, shape (..., P, M).

        Parameters
        ----------
        X : Tensor (..., P, N)
            The samples, one per row.

        Returns
        -------
        Tensor (..., P, M)
            The encoder means.
        """
        return X @ self.W_enc.transpose(-1, -2) / math.sqrt(X.shape[-1])

    def objective(self, X, beta, lam):
        """The training objective (:func:`vae_objective`) on the samples X.

        Parameters
        ----------
        X : Tensor (..., P, N)
            The samples, one per row.
        beta : float or Tensor
            Weight of the KL term.
        lam : float or Tensor
            Weight decay on encoder and decoder.

        Returns
        -------
        Tensor (...)
            The objective L of each model of the batch.
        """
        return vae_objective(X, self.W, self.W_enc, self.D, beta, lam)


def objective_from_products(theta, cw, ce, P, beta, lam):
    """(L - sum_mu ||x^mu||^2 / 2) / N of one-latent models from two data products.

    The M = 1 case of :func:`objective_from_unit_products` (the same layout of theta).

    Parameters
    ----------
    theta : Tensor (B, 2N + 1)
        Each row (W, W~, log D).
    cw, ce : Tensor (B, N)
        C W and C W~ with C = X^T X / N: the objective touches the data only through
        them, which is what makes :func:`symrep.simulate.train` cheap per iteration.
    P, beta, lam : Tensor (B,) or float
        Numbers of samples and model parameters of each run.

    Returns
    -------
    Tensor (B,)
        The objective of each run, per N, without the data's constant term.
    """
    return objective_from_unit_products(theta, cw, ce, P, beta, lam, 1)


def gradient_from_products(theta, cw, ce, P, beta, lam):
    """Gradient of :func:`objective_from_products` with respect to theta, shape (B, 2N+1).

    The M = 1 case of :func:`gradient_from_unit_products`.

    Parameters
    ----------
    theta : Tensor (B, 2N + 1)
        Each row (W, W~, log D).
    cw, ce : Tensor (B, N)
        C W and C W~ with C = X^T X / N.
    P, beta, lam : Tensor (B,) or float
        Numbers of samples and model parameters of each run.

    Returns
    -------
    Tensor (B, 2N + 1)
        The gradient, per N, in the layout of theta.
    """
    return gradient_from_unit_products(theta, cw, ce, P, beta, lam, 1)


def unpack_units(theta, N, M):
    """Views (W (B, N, M), W~ (B, M, N), log D (B, M)) of flat parameters (B, 2NM + M).

    The layout: W row-major, then W~ row-major, then log D. For M = 1 it is the layout
    (W, W~, log D) of :func:`objective_from_products`.

    Parameters
    ----------
    theta : Tensor (B, 2NM + M)
        The flat parameters of B models.
    N : int
        Data dimension.
    M : int
        Number of latent units.

    Returns
    -------
    W : Tensor (B, N, M)
    W_enc : Tensor (B, M, N)
    log_D : Tensor (B, M)
        Views of theta (no copy).
    """
    B = theta.shape[0]
    nm = N * M
    return (theta[:, :nm].reshape(B, N, M), theta[:, nm : 2 * nm].reshape(B, M, N),
            theta[:, 2 * nm :])


def _column_products(A, B):
    """sum_n A[b, n, i] B[b, n, j], shape (B, M, M'), for matrices of few columns.

    Summed elementwise products rather than a batched matrix product: for one column
    each, the arithmetic of ``(a * b).sum(1)``, so that a model with one unit trains on
    the same numbers to the last bit whatever M the code is written for. The work is
    O(N M M') per call, small beside the products with C.
    """
    return (A[:, :, :, None] * B[:, :, None, :]).sum(1)


def objective_from_unit_products(theta, cw, ce, P, beta, lam, M):
    """(L - sum_mu ||x^mu||^2 / 2) / N of models with M latent units, from data products.

    With C = X^T X / N, Q = W^T W / N and K = W~ C W~^T (= sum_mu mu mu^T), the objective
    is ``L - sum||x||^2/2 = -tr(W~ C W) + tr(Q K)/2 + P sum_i Q_ii D_i / 2
    + beta (P (tr D - M - sum_i log D_i) + tr K) / 2 + lam (||W||^2 + ||W~||^2) / 2``.

    Parameters
    ----------
    theta : Tensor (B, 2NM + M)
        Each row (W, W~, log D), see :func:`unpack_units`.
    cw, ce : Tensor (B, N M)
        C W and C W~^T (N x M each), flattened row-major.
    P, beta, lam : Tensor (B,) or float
        Numbers of samples and model parameters of each run.
    M : int
        Number of latent units.

    Returns
    -------
    Tensor (B,)
        The objective of each run, per N, without the data's constant term.
    """
    B, N = theta.shape[0], cw.shape[-1] // M
    W, E, log_d = unpack_units(theta, N, M)
    CW, CE = cw.reshape(B, N, M), ce.reshape(B, N, M)
    Et = E.transpose(1, 2)
    D = log_d.exp()
    Q = _column_products(W, W) / N
    K = _column_products(Et, CE)  # (B, M, M): W~ C W~^T
    cross = (Et * CW).sum((1, 2))  # tr(W~ C W)
    q_diag = torch.diagonal(Q, dim1=1, dim2=2)
    trace_k = torch.diagonal(K, dim1=1, dim2=2).sum(1)
    half_p = 0.5 * torch.as_tensor(P, dtype=theta.dtype, device=theta.device).reshape(-1, 1)
    L = (-cross + 0.5 * (Q * K).sum((1, 2)) + (half_p * q_diag * D).sum(1)
         + 0.5 * beta * (P * (D - 1.0 - log_d).sum(1) + trace_k)
         + 0.5 * lam * ((W * W).sum((1, 2)) + (E * E).sum((1, 2))))
    return L / N


def gradient_from_unit_products(theta, cw, ce, P, beta, lam, M):
    """Gradient of :func:`objective_from_unit_products` with respect to theta.

    ``dL/dW = -C W~^T + W ((K + P D) / N + lam I)``,
    ``dL/dW~ = -(C W)^T + (Q + beta) W~ C + lam W~`` and
    ``dL/dlog D_i = P (D_i (Q_ii + beta) - beta) / 2``, all divided by N; shape
    (B, 2NM + M).

    Parameters
    ----------
    theta : Tensor (B, 2NM + M)
        Each row (W, W~, log D), see :func:`unpack_units`.
    cw, ce : Tensor (B, N M)
        C W and C W~^T (N x M each), flattened row-major.
    P, beta, lam : Tensor (B,) or float
        Numbers of samples and model parameters of each run.
    M : int
        Number of latent units.

    Returns
    -------
    Tensor (B, 2NM + M)
        The gradient, per N, in the layout of theta.
    """
    B, N = theta.shape[0], cw.shape[-1] // M
    W, E, log_d = unpack_units(theta, N, M)
    CW, CE = cw.reshape(B, N, M), ce.reshape(B, N, M)
    D = log_d.exp()
    P, beta, lam = (torch.as_tensor(v, dtype=theta.dtype, device=theta.device).reshape(-1, 1)
                    for v in (P, beta, lam))
    Q = _column_products(W, W) / N
    K = _column_products(E.transpose(1, 2), CE)
    eye = torch.eye(M, dtype=theta.dtype, device=theta.device)
    # the M x M factors first, then one product with W (one multiplication per entry
    # for M = 1)
    g_w = -CE + W @ ((K + P[:, :, None] * torch.diag_embed(D)) / N + lam[:, :, None] * eye)
    g_e = (-CW.transpose(1, 2) + (Q + beta[:, :, None] * eye) @ CE.transpose(1, 2)
           + lam[:, :, None] * E)
    g_d = 0.5 * P * (D * (torch.diagonal(Q, dim1=1, dim2=2) + beta) - beta)
    return torch.cat((g_w.reshape(B, -1), g_e.reshape(B, -1), g_d), dim=1) / N


def gradient_norm(X, W, W_enc, D, beta, lam):
    """||grad L|| / sqrt(N) at the numpy weights of one model.

    The gradient is taken with respect to (W, W~, log D), the variables the trainers
    use; dividing by sqrt(N) makes the value O(1) away from a stationary point. W has
    shape (N,) or (N, M), W_enc (N,) or (M, N) and D is a number or has shape (M,).

    Parameters
    ----------
    X : array_like (P, N)
        The data.
    W : ndarray (N,) or (N, M)
        Decoder weights.
    W_enc : ndarray (N,) or (M, N)
        Encoder weights W~.
    D : float or ndarray (M,)
        Encoder variances.
    beta : float
        Weight of the KL term.
    lam : float
        Weight decay.

    Returns
    -------
    float
        ||grad L|| / sqrt(N).
    """
    X = torch.as_tensor(X, dtype=torch.float64)
    N = X.shape[-1]
    M = np.size(D)
    theta = torch.cat([torch.as_tensor(np.ravel(W), dtype=torch.float64),
                       torch.as_tensor(np.ravel(W_enc), dtype=torch.float64),
                       torch.log(torch.as_tensor(np.ravel(D), dtype=torch.float64))])[None]
    # the products from views of theta: where a vector sits in memory can change the
    # rounding of a BLAS product, and these are the views the one-unit code used
    W, W_enc, _ = unpack_units(theta, N, M)
    cw = (X.T @ (X @ W[0]) / N).reshape(1, -1)
    ce = (X.T @ (X @ W_enc[0].T) / N).reshape(1, -1)
    g = gradient_from_unit_products(theta, cw, ce, X.shape[0], beta, lam, M)
    return float(g.norm() * math.sqrt(N))
