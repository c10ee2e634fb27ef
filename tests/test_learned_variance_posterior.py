"""KL(q(z|x) || p(z|x)) of the learned-decoder-variance model, theory and finite N.

The learned model's decoder N(W z/sqrt(N), sigma^2 I) has the posterior
N(Lambda^{-1} u/sigma^2, Lambda^{-1}), Lambda = I + Q/sigma^2. Ground truth here:

- at beta = 1, lam = 0 the model is probabilistic PCA, whose optimum makes the ELBO
  tight: both KLs vanish (theory: learning and overfitting phases, one and two units);
- at other beta: the exact finite-N optimum at N = 1000, its KL computed in the test
  from the weights with NumPy (posterior mean by a matrix inverse, averaged over the
  samples), against the theory;
- the SymPy expression of the KL against the per-sample objective at beta = 1 (minus
  the ELBO): their difference depends on neither v nor D;
- the linear VAE's KL, unchanged, against the unit-variance formula typed here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

import symrep
from symrep.models import LearnedVarianceVAE, LinearVAE
from symrep.simulate import exact_minimum, sample_scm, train_model
from symrep.solvers import solve_arrays
from symrep.solvers.latent_units import solve_units_arrays

KLS = ("kl_posterior", "kl_posterior_train")


def direct_kl(X, result, sigma2):
    """Training-set KL to the decoder's posterior, from the weights (NumPy only)."""
    P, N = X.shape
    W = np.reshape(result.W, (N, -1))
    M = W.shape[1]
    Wt = np.reshape(result.W_enc, (M, N))
    D = np.diag(np.atleast_1d(result.D))
    Lam = np.eye(M) + W.T @ W / N / sigma2
    U, V = X @ W / math.sqrt(N), X @ Wt.T / math.sqrt(N)
    gap = V - U @ np.linalg.inv(Lam).T / sigma2
    quad = np.mean(np.einsum("pi,ij,pj->p", gap, Lam, gap))
    return 0.5 * (np.trace(Lam @ D) - M - np.linalg.slogdet(Lam @ D)[1] + quad)


@pytest.mark.parametrize("alpha, rho, eta, phase", [
    (4.0, 2.0, 0.5, "learning"), (0.5, 2.0, 0.5, "learning"),
    (0.5, 0.3, 1.0, "overfitting"), (2.0, 0.3, 1.0, "overfitting")])
def test_ppca_is_tight_one_unit(alpha, rho, eta, phase):
    r = symrep.solve(alpha, 1.0, 0.0, rho, eta, model=LearnedVarianceVAE())
    assert r.phase == phase
    for name in KLS:
        assert abs(getattr(r, name)) < 1e-12, name
    # the defect this guards against: the unit-variance KL of the mapped point
    linear = symrep.solve(alpha, eta, 0.0, rho, eta)
    if eta != 1.0:
        assert linear.kl_posterior > 1e-3


@pytest.mark.parametrize("alpha, rho, phases", [
    (4.0, (2.0, 0.7), ("learning feature 1", "learning feature 2")),
    (2.0, (2.0, 0.3), ("learning feature 1", "overfitting"))])
def test_ppca_is_tight_two_units(alpha, rho, phases):
    r = symrep.solve(alpha, 1.0, 0.0, rho, 0.5, model=LearnedVarianceVAE(2, 2))
    assert r.phases == phases
    for name in KLS:
        assert abs(getattr(r, name)) < 1e-12, name


def test_ppca_is_tight_in_arrays():
    out = solve_arrays(np.array([0.5, 2.0, 6.0]), 1.0, 0.0, np.array([0.3, 2.0, 1.0]),
                       0.7, model=LearnedVarianceVAE())
    units = solve_units_arrays(np.array([0.6, 4.0]), 1.0, 0.0, (2.0, 0.3), 0.5, M=2,
                               model=LearnedVarianceVAE(2, 2))
    for res in (out, units):
        for name in KLS:
            assert np.all(np.abs(res[name]) < 1e-12), name


def test_arrays_agree_with_points():
    alpha, beta = np.array([0.5, 3.0]), np.array([0.4, 2.0])
    out = solve_arrays(alpha, beta, 0.2, 1.5, 0.6, model=LearnedVarianceVAE())
    units = solve_units_arrays(alpha, beta, 0.2, (1.5, 0.5), 0.6, M=2,
                               model=LearnedVarianceVAE(2, 2))
    for i in range(2):
        one = symrep.solve(alpha[i], beta[i], 0.2, 1.5, 0.6, model=LearnedVarianceVAE())
        two = symrep.solve(alpha[i], beta[i], 0.2, (1.5, 0.5), 0.6,
                           model=LearnedVarianceVAE(2, 2))
        for name in KLS:
            assert out[name][i] == pytest.approx(getattr(one, name), rel=1e-12, abs=1e-14)
            assert units[name][i] == pytest.approx(getattr(two, name), rel=1e-12,
                                                   abs=1e-14)


@pytest.mark.parametrize("M, rho, beta, lam, alpha", [
    (1, 2.0, 0.5, 0.1, 4.0), (1, 2.0, 0.5, 0.0, 0.5), (2, (2.0, 0.7), 0.6, 0.0, 3.0)])
def test_exact_optimum_against_theory(M, rho, beta, lam, alpha):
    N, eta = 1000, 0.5
    model = LearnedVarianceVAE(M, M)
    X, W0 = sample_scm(int(alpha * N), N, rho, eta, seed=1)
    ex = exact_minimum(X, W0, beta, lam, rho, eta, model=model)
    assert ex.kl_posterior_train == pytest.approx(direct_kl(X, ex, ex.sigma2), rel=1e-10,
                                                  abs=1e-14)
    th = symrep.solve(alpha, beta, lam, rho, eta, model=model)
    for name in KLS:
        assert getattr(ex, name) == pytest.approx(getattr(th, name), abs=1e-2), name
    # the theory's KL is not the linear VAE's at the mapped point (eta != 1)
    linear = symrep.solve(alpha, eta * beta, eta * lam, rho, eta, M=M)
    assert abs(linear.kl_posterior - th.kl_posterior) > 2e-2


def test_exact_ppca_optimum_is_tight():
    X, W0 = sample_scm(400, 200, (2.0, 0.6), 0.5, seed=3)
    ex = exact_minimum(X, W0, 1.0, 0.0, (2.0, 0.6), 0.5, model=LearnedVarianceVAE(2, 2))
    assert abs(ex.kl_posterior_train) < 1e-10
    assert abs(direct_kl(X, ex, ex.sigma2)) < 1e-10


def test_trained_model_measures_its_own_kl():
    X, W0 = sample_scm(80, 30, 2.0, 0.8, seed=4)
    tr = train_model(X, W0, 0.7, 0.1, 2.0, 0.8, model=LearnedVarianceVAE(), seed=0)
    assert tr.kl_posterior_train == pytest.approx(direct_kl(X, tr, tr.sigma2), rel=1e-10,
                                                  abs=1e-14)
    ex = exact_minimum(X, W0, 0.7, 0.1, 2.0, 0.8, model=LearnedVarianceVAE())
    for name in KLS:
        assert getattr(tr, name) == pytest.approx(getattr(ex, name), rel=1e-4, abs=1e-8)


@pytest.mark.parametrize("M", [1, 2])
def test_symbolic_kl_is_the_elbo_gap(M):
    """At beta = 1 the objective (minus the ELBO) minus the KL is free of v and D."""
    model = LearnedVarianceVAE(M, M)
    s = model.symbols()
    gap = model.per_sample_objective().subs(s.beta, 1) - model.posterior_kl_expression()
    for x in (*s.v, *s.D_entries):
        assert sp.simplify(sp.diff(gap, x)) == 0, x


def test_numeric_kl_is_the_averaged_expression():
    from symrep.models.posterior_kl import posterior_kl

    model = LearnedVarianceVAE(2, 2)
    s = model.symbols()
    h = list(s.h)
    A = sp.Matrix(4, 4, lambda i, j: sp.Symbol(f"S{min(i, j)}{max(i, j)}"))
    averaged = model.base().average(model.posterior_kl_expression(), A)
    rng = np.random.default_rng(0)
    B = rng.normal(size=(4, 4))
    S = B @ B.T
    Qn = S[:2, :2] * 0.3 + np.eye(2)
    D = np.array([0.4, 0.7])
    subs = {sp.Symbol(f"S{i}{j}"): S[i, j] for i in range(4) for j in range(i, 4)}
    subs.update({model.sigma2_symbol(): 0.6})
    Qs = sp.Matrix(s.Q)
    subs.update({Qs[i, j]: Qn[i, j] for i in range(2) for j in range(2)})
    subs.update(dict(zip(s.D_entries, D, strict=True)))
    assert not any(averaged.has(x) for x in h)
    want = float(averaged.subs(subs))
    assert float(posterior_kl(S, Qn, D, 0.6)) == pytest.approx(want, rel=1e-12)


def test_linear_vae_unchanged():
    assert LinearVAE().theory_observables({}, {}) == {}
    r = symrep.solve(4.0, 0.5, 0.0, 2.0, 0.5)
    a = 1 + r.Q
    uu = 2.0 * r.m**2 + 0.5 * r.Q
    uv = 2.0 * r.m * r.d + 0.5 * r.R
    vv = 2.0 * r.d**2 + 0.5 * r.E
    want = 0.5 * (a * r.D + a * (vv - 2 * uv / a + uu / a**2) - 1 - math.log(a * r.D))
    assert r.kl_posterior == pytest.approx(want, rel=1e-12)
    assert r.kl_posterior == pytest.approx(0.0859, abs=1e-4)


def test_units_sweep_is_tight_at_ppca():
    res = symrep.sweep(np.array([2.0, 4.0]), 1.0, 0.0, rho=(2.0, 0.7), eta=0.5,
                       model=LearnedVarianceVAE(2, 2))
    for name in KLS:
        assert np.all(np.abs(res[name].values) < 1e-12), name


def test_one_unit_sweep_is_tight_at_ppca():
    res = symrep.sweep(np.array([2.0, 4.0]), 1.0, 0.0, rho=2.0, eta=0.5,
                       model=LearnedVarianceVAE())
    for name in KLS:
        assert np.all(np.abs(res[name].values) < 1e-12), name
