"""The torch objective: its three implementations agree and gradients match finite differences."""

import math

import numpy as np
import pytest
import torch

from symrep.simulate import LinearVAE, gram_objective, sample_scm, sample_scm_torch, vae_objective
from symrep.simulate.model import (
    data_moments,
    gradient_from_products,
    objective_from_products,
)


def random_problem(N=7, P=11, M=1, batch=(), seed=0):
    g = torch.Generator().manual_seed(seed)
    kw = dict(generator=g, dtype=torch.float64)
    X = torch.randn(*batch, P, N, **kw)
    W = torch.randn(*batch, N, M, **kw)
    We = torch.randn(*batch, M, N, **kw)
    D = torch.rand(*batch, M, **kw) + 0.1
    return X, W, We, D


def loss_by_sampling(X, W, We, D, beta, lam):
    """The objective written term by term from its definition, one sample at a time."""
    N, M = W.shape
    total = 0.0
    for x in X:
        mu = We @ x / math.sqrt(N)
        gram = W.T @ W / N
        recon = x @ x - 2 * x @ (W @ mu) / math.sqrt(N) + mu @ gram @ mu + torch.trace(gram * D)
        kl = D.sum() + mu @ mu - M - torch.log(D).sum()
        total = total + recon / 2 + beta * kl / 2
    return total + lam / 2 * ((W**2).sum() + (We**2).sum())


@pytest.mark.parametrize("M", [1, 3])
def test_vae_objective_matches_its_definition(M):
    X, W, We, D = random_problem(M=M)
    got = vae_objective(X, W, We, D, 0.7, 0.3)
    want = loss_by_sampling(X, W, We, D, 0.7, 0.3)
    assert torch.allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("M", [1, 2])
def test_gram_objective_equals_sample_sum_with_batches(M):
    X, W, We, D = random_problem(M=M, batch=(4,))
    C, P, x2 = data_moments(X)
    beta = torch.tensor([0.1, 1.0, 2.0, 5.0], dtype=torch.float64)
    lam = torch.tensor([0.0, 0.5, 1.0, 3.0], dtype=torch.float64)
    a = vae_objective(X, W, We, D, beta, lam)
    b = gram_objective(C, P, x2, W, We, D, beta, lam)
    assert a.shape == (4,)
    assert torch.allclose(a, b, rtol=1e-12)


def test_product_form_and_its_analytic_gradient_match_autograd():
    X, W, We, D = random_problem(N=9, P=5, batch=(3,))
    N, P = 9, 5
    beta = torch.tensor([0.3, 1.0, 4.0], dtype=torch.float64)
    lam = torch.tensor([0.0, 0.2, 2.0], dtype=torch.float64)
    theta = torch.cat([W[..., 0], We[:, 0, :], torch.log(D)], dim=1).requires_grad_(True)
    C = X.transpose(1, 2) @ X / N
    cw = (C @ theta[:, :N, None])[..., 0]
    ce = (C @ theta[:, N : 2 * N, None])[..., 0]
    f = objective_from_products(theta, cw, ce, P, beta, lam)
    full = vae_objective(X, theta[:, :N, None], theta[:, None, N : 2 * N],
                         theta[:, 2 * N :].exp(), beta, lam)
    x2 = (X * X).sum((1, 2))
    assert torch.allclose(f, (full - x2 / 2) / N, rtol=1e-12)
    (g_auto,) = torch.autograd.grad(full.sum() / N, theta)
    g = gradient_from_products(theta.detach(), cw.detach(), ce.detach(), P, beta, lam)
    assert torch.allclose(g, g_auto, rtol=1e-10, atol=1e-13)


def test_gradients_match_finite_differences():
    X, W, We, D = random_problem(N=5, P=6, M=2)
    inputs = tuple(t.clone().requires_grad_(True) for t in (W, We, D))
    assert torch.autograd.gradcheck(
        lambda w, we, d: vae_objective(X, w, we, d, 0.8, 0.4), inputs, eps=1e-6, atol=1e-7
    )
    C, P, x2 = data_moments(X)
    assert torch.autograd.gradcheck(
        lambda w, we, d: gram_objective(C, P, x2, w, we, d, 0.8, 0.4), inputs, eps=1e-6,
        atol=1e-7,
    )


def test_linear_vae_module():
    torch.manual_seed(0)
    model = LinearVAE(6, 2, batch=(3,))
    assert model.W.shape == (3, 6, 2) and model.W_enc.shape == (3, 2, 6)
    assert torch.all(model.D == 1)
    X = torch.randn(3, 10, 6, dtype=torch.float64)
    assert model(X).shape == (3, 10, 2)
    loss = model.objective(X, 1.0, 0.5)
    assert loss.shape == (3,)
    loss.sum().backward()
    assert model.log_D.grad is not None


def _directional_variances(X, W0, seed=0):
    """Mean and variance of the data along the feature and along a direction orthogonal to
    it, and their covariance (the population values: 0, rho + eta, 0, eta, 0)."""
    N = X.shape[1]
    e = W0[:, 0] / math.sqrt(N)
    f = np.random.default_rng(seed).standard_normal(N)
    f -= (f @ e) * e
    f /= np.linalg.norm(f)
    a, b = X @ e, X @ f
    return a.mean(), a @ a / len(a), b.mean(), b @ b / len(b), a @ b / len(a)


def _check_spiked_covariance(X, W0, rho, eta):
    """Five standard errors for each statistic: the spike adds rho to the variance along
    the feature, while the entries of the population covariance it adds are rho/N only."""
    P = X.shape[0]
    mean_a, var_a, mean_b, var_b, cross = _directional_variances(X, W0)
    assert abs(mean_a) < 5 * math.sqrt((rho + eta) / P)
    assert abs(mean_b) < 5 * math.sqrt(eta / P)
    assert abs(var_a - (rho + eta)) < 5 * (rho + eta) * math.sqrt(2 / P)
    assert abs(var_b - eta) < 5 * eta * math.sqrt(2 / P)
    assert abs(cross) < 5 * math.sqrt((rho + eta) * eta / P)


def test_sample_scm_statistics():
    """The samples have the population covariance (rho/N) W0 W0^T + eta I.

    Independent of the sampler: the variance along the feature W0/sqrt(N) must be
    rho + eta and along an orthogonal direction eta (five standard errors, 0.09 and 0.02
    here, against a spike of size rho = 2; the entry-wise check below cannot see the
    spike, whose entries rho/N = 0.05 are smaller than its tolerance 0.15), with zero means
    and no covariance between the two directions.
    """
    N, P, rho, eta = 40, 20000, 2.0, 0.5
    X, W0 = sample_scm(P, N, rho=rho, eta=eta, seed=3)
    assert X.shape == (P, N) and W0.shape == (N, 1)
    assert np.allclose(W0.T @ W0 / N, 1.0)
    cov = X.T @ X / P
    want = 2.0 / N * W0 @ W0.T + 0.5 * np.eye(N)
    assert np.abs(cov - want).max() < 6 * math.sqrt(2 * 2.5**2 / P)
    X2, _ = sample_scm(P, N, rho=2.0, eta=0.5, seed=3)
    assert np.array_equal(X, X2)
    _check_spiked_covariance(X, W0, rho, eta)


def test_sample_scm_torch_statistics():
    """The torch sampler draws the same model (the checks of the numpy sampler)."""
    X, W0 = sample_scm_torch(20000, 40, 2.0, 0.5, seed=5, batch=2, device="cpu")
    for k in range(2):
        _check_spiked_covariance(X[k].numpy(), W0.numpy(), 2.0, 0.5)


def test_sample_scm_torch_batch_and_features():
    X, W0 = sample_scm_torch(50, 8, 1.0, 1.0, seed=1, batch=3, device="cpu")
    assert X.shape == (3, 50, 8) and X.dtype == torch.float64 and W0.shape == (8, 1)
    from symrep.simulate import default_features

    W0 = default_features(30, 3)
    assert np.allclose(W0.T @ W0 / 30, np.eye(3))
    X, _ = sample_scm(10, 30, 1.0, 1.0, W0=W0, seed=0)
    assert X.shape == (10, 30)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(P=0, N=3, rho=1, eta=1), "P"),
        (dict(P=3, N=-1, rho=1, eta=1), "N"),
        (dict(P=3, N=3, rho=0, eta=1), "rho"),
        (dict(P=3, N=3, rho=1, eta=float("nan")), "eta"),
        (dict(P=3, N=3, rho=1, eta=1, seed=-2), "seed"),
        (dict(P=3, N=3, rho=1, eta=1, W0=np.ones((3, 1)) * 2), "W0"),
    ],
)
def test_sample_scm_rejects_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        sample_scm(**kwargs)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_objective_cpu_cuda_parity():
    X, W, We, D = random_problem(N=64, P=100, batch=(5,))
    cpu = vae_objective(X, W, We, D, 0.5, 0.2)
    gpu = vae_objective(*(t.cuda() for t in (X, W, We, D)), 0.5, 0.2).cpu()
    assert torch.allclose(cpu, gpu, rtol=1e-10)
