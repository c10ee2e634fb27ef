"""Finite-N ground truth of a model: exact optimum and training from the SymPy objective.

Independent checks: probabilistic PCA's closed form (Tipping & Bishop 1999; eigenvalues
by numpy.linalg.eigvalsh here), the hand-written torch objective ``vae_objective``,
the reconstruction error typed out below, and torch L-BFGS on the printed objective
against the exact optimum.
"""

import dataclasses
import math

import numpy as np
import pytest
import torch

from symrep.model import LinearVAE
from symrep.models import LearnedVarianceVAE
from symrep.simulate import exact_minimum, sample_scm, train_model, vae_objective
from symrep.simulate.data import default_features
from symrep.simulate.sympy_objective import printed_objective


def data(P, N, rho, eta, seed):
    n_features = 1 if np.ndim(rho) == 0 else len(rho)
    W0 = default_features(N, n_features)
    X, _ = sample_scm(P, N, rho, eta, W0=W0, seed=seed)
    return X, W0


def reconstruction(X, W, W_enc, D):
    """sum_mu E_q ||x - W z/sqrt(N)||^2 for z ~ N(W~ x/sqrt(N), diag D), sample by sample."""
    P, N = X.shape
    W, W_enc = np.reshape(W, (N, -1)), np.reshape(W_enc, (-1, N))
    total = 0.0
    for x in X:
        mean = W_enc @ x / math.sqrt(N)
        residual = x - W @ mean / math.sqrt(N)
        total += residual @ residual + np.sum((W * W).sum(0) / N * np.ravel(D))
    return total


def learned_objective(X, W, W_enc, D, sigma2, beta, lam):
    """L of the learned-variance model, from the linear one (torch) and the definition."""
    P, N = X.shape
    W = torch.as_tensor(np.reshape(W, (N, -1)))
    W_enc = torch.as_tensor(np.reshape(W_enc, (-1, N)))
    D = torch.as_tensor(np.ravel(D))
    X = torch.as_tensor(X)
    recon = float(vae_objective(X, W, W_enc, D, 0.0, 0.0))  # sum_mu recon_mu (beta = 0)
    kl_and_decay = float(vae_objective(X, W, W_enc, D, beta, lam)) - recon
    return recon / sigma2 + P * N * math.log(sigma2) / 2 + kl_and_decay


@pytest.mark.parametrize("M,Mstar,rho", [(1, 1, 1.5), (2, 2, (2.0, 0.4)), (3, 1, 0.8)])
def test_linear_model_gives_the_numbers_of_no_model(M, Mstar, rho):
    X, W0 = data(60, 30, rho, 0.8, seed=3)
    plain = exact_minimum(X, W0, 0.6, 0.2, rho, 0.8, M=M)
    via_model = exact_minimum(X, W0, 0.6, 0.2, rho, 0.8, model=LinearVAE(M, Mstar))
    assert via_model.as_dict(weights=True) == plain.as_dict(weights=True)
    assert via_model.extras == {}


def test_sigma2_spelled_as_documented():
    X, W0 = data(80, 40, (2.0, 0.5), 1.0, seed=1)
    r = exact_minimum(X, W0, beta=1.0, lam=0.0, model=LearnedVarianceVAE(M=2, Mstar=2))
    assert isinstance(r.sigma2, float) and r.sigma2 > 0
    assert r.as_dict()["sigma2"] == r.sigma2 and "extras" not in r.as_dict()
    assert r.params["beta"] == 1.0 and r.params["lam"] == 0.0


@pytest.mark.parametrize("M,Mstar,rho,P,N,eta", [
    (1, 1, 2.0, 120, 40, 1.0),
    (2, 2, (3.0, 0.3), 150, 50, 0.6),
    (3, 1, 1.0, 40, 60, 1.3),   # P < N: N - P zero eigenvalues among those not kept
])
def test_probabilistic_pca_at_beta_one(M, Mstar, rho, P, N, eta):
    """beta = 1, lam = 0: sigma^2 = mean of the eigenvalues not kept, kept iff > sigma^2."""
    X, W0 = data(P, N, rho, eta, seed=M)
    r = exact_minimum(X, W0, 1.0, 0.0, rho, eta, model=LearnedVarianceVAE(M, Mstar))
    ev = np.sort(np.linalg.eigvalsh(X.T @ X / P))[::-1]
    Q = np.atleast_1d(np.diagonal(np.atleast_2d(r.Q)))
    kept = Q > 1e-12
    q = int(kept.sum())
    assert np.all(kept[:q]) and not np.any(kept[q:])
    assert r.sigma2 == pytest.approx(ev[q:].mean(), rel=1e-10)
    for i in range(M):
        assert kept[i] == (ev[i] > r.sigma2)
    # PPCA's decoder: W/sqrt(N) = U (Lambda - sigma^2)^(1/2), so Q_i = lambda_i - sigma^2
    np.testing.assert_allclose(Q[:q], ev[:q] - r.sigma2, rtol=1e-9)


def test_stationarity_and_global_optimum_in_sigma2():
    """sigma^2 = mean reconstruction error, and no perturbation of the optimum goes lower."""
    X, W0 = data(90, 45, (2.5, 0.6), 0.7, seed=11)
    beta, lam = 0.8, 0.3
    r = exact_minimum(X, W0, beta, lam, (2.5, 0.6), 0.7, model=LearnedVarianceVAE(2, 2))
    P, N = X.shape
    assert r.sigma2 == pytest.approx(reconstruction(X, r.W, r.W_enc, r.D) / (P * N),
                                     rel=1e-9)
    best = learned_objective(X, r.W, r.W_enc, r.D, r.sigma2, beta, lam)
    assert r.loss == pytest.approx(best / N, rel=1e-12)
    rng = np.random.default_rng(0)
    for size in (1e-4, 1e-2, 0.3):
        for _ in range(5):
            W = r.W + size * rng.standard_normal(r.W.shape)
            W_enc = r.W_enc + size * rng.standard_normal(r.W_enc.shape)
            D = r.D * np.exp(size * rng.standard_normal(r.D.shape))
            s2 = r.sigma2 * math.exp(size * rng.standard_normal())
            assert learned_objective(X, W, W_enc, D, s2, beta, lam) >= best - 1e-9 * abs(best)
    for factor in (0.9, 0.99, 1.01, 1.1):
        assert learned_objective(X, r.W, r.W_enc, r.D, factor * r.sigma2, beta, lam) > best


@pytest.mark.parametrize("M", [1, 2])
def test_printed_objective_is_vae_objective(M):
    X, _ = data(70, 35, 1.0 if M == 1 else (1.0, 2.0), 1.0, seed=5)
    printed = printed_objective(LinearVAE(M, M))
    g = torch.Generator().manual_seed(M)
    W = torch.randn(35, M, generator=g, dtype=torch.float64)
    W_enc = torch.randn(M, 35, generator=g, dtype=torch.float64)
    log_d = torch.randn(M, generator=g, dtype=torch.float64)
    Xt = torch.as_tensor(X)
    total, data_part = printed.evaluate(Xt, W, W_enc, log_d, torch.zeros(0, dtype=torch.float64),
                                        0.7, 0.4)
    want = vae_objective(Xt, W, W_enc, log_d.exp(), 0.7, 0.4)
    assert float(total) == pytest.approx(float(want), rel=1e-12)
    assert float(data_part) == pytest.approx(float((Xt * Xt).sum()) / 2, rel=1e-12)


def test_printed_learned_objective_is_its_definition():
    X, _ = data(50, 25, (1.0, 2.0), 0.5, seed=2)
    printed = printed_objective(LearnedVarianceVAE(2, 2))
    assert printed.scalar_names == ("sigma2",)
    g = torch.Generator().manual_seed(7)
    W = torch.randn(25, 2, generator=g, dtype=torch.float64)
    W_enc = torch.randn(2, 25, generator=g, dtype=torch.float64)
    log_d = torch.randn(2, generator=g, dtype=torch.float64)
    log_s = torch.tensor([-0.3], dtype=torch.float64)
    total, _ = printed.evaluate(torch.as_tensor(X), W, W_enc, log_d, log_s, 1.3, 0.2)
    want = learned_objective(X, W.numpy(), W_enc.numpy(), log_d.exp().numpy(),
                             math.exp(-0.3), 1.3, 0.2)
    assert float(total) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("model,rho,beta,lam", [
    (LinearVAE(1, 1), 2.0, 0.5, 0.1),
    (LinearVAE(2, 2), (2.5, 1.0), 0.7, 0.0),
    (LearnedVarianceVAE(1, 1), 2.0, 0.9, 0.2),
    (LearnedVarianceVAE(2, 2), (2.5, 0.5), 1.0, 0.0),
])
def test_training_reaches_the_exact_optimum(model, rho, beta, lam):
    X, W0 = data(80, 30, rho, 0.8, seed=4)
    ex = exact_minimum(X, W0, beta, lam, rho, 0.8, model=model)
    tr = train_model(X, W0, beta, lam, rho, 0.8, model=model, seed=0)
    assert tr.converged
    assert tr.loss == pytest.approx(ex.loss, rel=1e-3)
    assert tr.free_energy == pytest.approx(ex.free_energy, rel=1e-3, abs=1e-6)
    # much closer in practice: the printed objective is the exact optimum's to rounding
    assert abs(tr.loss - ex.loss) <= 1e-9 * abs(ex.loss)
    assert tr.extras.keys() == ex.extras.keys()
    for name in ex.extras:
        assert tr.extras[name] == pytest.approx(ex.extras[name], rel=1e-6)
    np.testing.assert_allclose(np.diagonal(np.atleast_2d(tr.Q)),
                               np.diagonal(np.atleast_2d(ex.Q)), rtol=1e-4, atol=1e-7)


def test_trained_ppca_reaches_the_closed_form():
    X, W0 = data(100, 30, 2.0, 1.0, seed=8)
    tr = train_model(X, W0, 1.0, 0.0, 2.0, 1.0, model=LearnedVarianceVAE(2, 1), seed=1)
    ev = np.sort(np.linalg.eigvalsh(X.T @ X / 100))[::-1]
    assert tr.sigma2 == pytest.approx(ev[2:].mean(), rel=1e-6)
    np.testing.assert_allclose(np.diagonal(tr.Q), ev[:2] - tr.sigma2, rtol=1e-5)


def test_bad_input_names_the_parameter():
    X, W0 = data(40, 20, (1.0, 2.0), 1.0, seed=0)
    with pytest.raises(ValueError, match="M = 1 is invalid"):
        exact_minimum(X, W0, 1.0, 0.0, M=1, model=LearnedVarianceVAE(2, 2))
    with pytest.raises(ValueError, match="W0 is invalid"):
        exact_minimum(X, W0[:, :1], 1.0, 0.0, model=LearnedVarianceVAE(2, 2))
    with pytest.raises(ValueError, match="W0 is invalid"):
        train_model(X, W0[:, :1], model=LearnedVarianceVAE(2, 2))
    with pytest.raises(ValueError, match="beta"):
        exact_minimum(X, W0, -1.0, 0.0, model=LearnedVarianceVAE(2, 2))
    with pytest.raises(ValueError, match="model"):
        exact_minimum(X, W0, 1.0, 0.0, model="learned-variance")
    # data of rank <= M: sigma^2 -> 0 lowers the objective without bound
    low_rank = np.outer(np.arange(1.0, 41.0), np.ones(20))
    with pytest.raises(ValueError, match="X is invalid"):
        exact_minimum(low_rank, W0, 1.0, 0.0, model=LearnedVarianceVAE(2, 2))


@dataclasses.dataclass(frozen=True)
class _DecoderDecay(LinearVAE):
    """The linear VAE with weight decay on the decoder only: no exact optimum known."""

    def regularizer(self):
        s = self.symbols()
        return s.lam * s.Q.trace() / 2


def test_changed_objective_refuses_the_linear_algebra_but_trains():
    X, W0 = data(60, 20, 2.0, 1.0, seed=2)
    model = _DecoderDecay(1, 1)
    with pytest.raises(NotImplementedError, match="train_model"):
        exact_minimum(X, W0, 0.5, 0.5, model=model)
    tr = train_model(X, W0, 0.5, 0.5, model=model, seed=0)
    # the encoder has no weight decay: it is the linear VAE's with E's decay removed
    full = exact_minimum(X, W0, 0.5, 0.5)
    assert tr.converged and tr.loss < full.loss
    assert tr.grad_norm < 1e-5


def test_learned_result_is_finite_and_certified():
    X, W0 = data(200, 100, 1.0, 1.0, seed=9)
    for beta, lam in ((1.0, 0.0), (4.0, 0.0), (0.3, 1.0)):
        r = exact_minimum(X, W0, beta, lam, model=LearnedVarianceVAE())
        assert all(math.isfinite(v) for k, v in r.as_dict().items()
                   if isinstance(v, float)), r
        assert r.grad_norm < 1e-6


# --------------------------------------------------------------------------------------
# finite N against the theory (the points of benchmarks/finite_size_learned_variance.py)
# --------------------------------------------------------------------------------------

def _script():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "finite_size_learned_variance.py"
    spec = importlib.util.spec_from_file_location("finite_size_learned_variance", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPT = _script()
LEARNING, OVERFITTING, COLLAPSED, TWO_UNITS = SCRIPT.POINTS


def _within(row, quantities, z=4.0):
    for name in quantities:
        mean, sem, theory, diff, _ = row["table"][name]
        assert abs(diff) <= z * sem + 1e-12 * max(1.0, abs(theory)), (row["point"], row["N"],
                                                                    name, mean, sem, theory)


def test_small_n_against_the_theory():
    """N = 400, 6 data sets: every quantity within 4 SE of the theory at the learned
    model's mapped point (learning, collapsed, two units); a collapsed model's sigma^2
    is the data's variance per dimension exactly."""
    points = {k: SCRIPT.POINTS[k] for k in (LEARNING, COLLAPSED, TWO_UNITS)}
    rows = SCRIPT.run(Ns=(400,), seeds=6, points=points)
    for row in rows:
        assert row["phases"] == {tuple(
            "collapsed" if p == "regularized" else "learning feature 1" if p == "learning"
            else p for p in row["theory_phases"]): 6}, row
        _within(row, row["table"])
    collapsed = next(r for r in rows if r["point"] == COLLAPSED)
    assert collapsed["table"]["sigma2_gap"][0] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.slow
def test_n2000_against_the_theory_and_shrinking_gaps():
    """N = 2000 (reduced: 4 data sets; 8 for the overfitting point, also at N = 500):
    within 4 SE of the theory, or, where the finite-N bias is larger (the overfitting
    phase's m, eg, distortion below the BBP point), a difference that shrinks with N."""
    points = {k: SCRIPT.POINTS[k] for k in (LEARNING, COLLAPSED, TWO_UNITS)}
    for row in SCRIPT.run(Ns=(2000,), seeds=4, points=points):
        _within(row, row["table"])
    small, large = SCRIPT.run(Ns=(500, 2000), seeds=8,
                              points={OVERFITTING: SCRIPT.POINTS[OVERFITTING]})
    assert large["phases"] == {("overfitting",): 8}
    for name, row in large["table"].items():
        diff, z = row[3], row[4]
        if abs(z) > 3:
            assert abs(diff) < 0.75 * abs(small["table"][name][3]), (name, diff, small)
    _within(large, ("Q_11", "rate", "sigma2", "sigma2_gap"))
