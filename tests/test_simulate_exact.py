"""exact_minimum is the global minimum: stationary, below every trained or perturbed model."""

import math

import numpy as np
import pytest
import torch
from closed_forms import gaussian_kl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from profiles import examples
from scipy.optimize import minimize_scalar

from symrep.simulate import exact_minimum, sample_scm, train, vae_objective
from symrep.simulate.exact import optimal_norm, reduced_objective, top_eigenpair


def full_loss_per_n(X, W, We, D, beta, lam):
    X = torch.as_tensor(X)
    N = X.shape[1]
    W = torch.as_tensor(W).reshape(N, 1)
    We = torch.as_tensor(We).reshape(1, N)
    D = torch.as_tensor([float(D)], dtype=torch.float64)
    return float(vae_objective(X, W, We, D, beta, lam)) / N


instances = st.fixed_dictionaries(
    {
        "N": st.integers(8, 40),
        "alpha": st.floats(0.2, 4.0),
        "beta": st.floats(0.05, 4.0),
        "lam": st.one_of(st.just(0.0), st.floats(0.01, 3.0)),
        "rho": st.floats(0.2, 4.0),
        "eta": st.floats(0.2, 2.0),
        "seed": st.integers(0, 10_000),
    }
)


@pytest.mark.fuzz
@settings(max_examples=examples(25), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(instances)
def test_exact_is_stationary_and_below_trained_and_perturbed(inst):
    """exact_minimum is the global minimum of the objective on the data set it is given.

    Domain: any data set (N from 8 to 40, every phase). Independent sources: the objective
    is evaluated by the torch model, its gradient norm checked, and the value compared with
    trained models from three initialisations and with random perturbations of the
    optimum of three sizes.
    """
    N = inst["N"]
    P = max(1, round(inst["alpha"] * N))
    X, W0 = sample_scm(P, N, inst["rho"], inst["eta"], seed=inst["seed"])
    beta, lam = inst["beta"], inst["lam"]
    ex = exact_minimum(X, W0, beta, lam, inst["rho"], inst["eta"])
    scale = 1.0 + abs(ex.free_energy)
    # the loss attribute is the full objective per N, evaluated independently
    assert math.isclose(ex.loss, full_loss_per_n(X, ex.W, ex.W_enc, ex.D, beta, lam),
                        rel_tol=1e-10)
    assert ex.grad_norm < 1e-8 * scale
    # several trained models from different initialisations never go lower
    trained = train([X] * 3, W0, beta, lam, inst["rho"], inst["eta"], seed=inst["seed"],
                    device="cpu", progress=False)
    for tr in trained:
        assert tr.loss >= ex.loss - 1e-10 * abs(ex.loss)
    # random perturbations of the optimum, of several sizes, never go lower
    rng = np.random.default_rng(inst["seed"])
    for size in (1e-4, 1e-2, 1.0):
        W = ex.W + size * rng.standard_normal(N)
        We = ex.W_enc + size * rng.standard_normal(N)
        D = ex.D * math.exp(size * rng.standard_normal())
        assert full_loss_per_n(X, W, We, D, beta, lam) >= ex.loss - 1e-12 * abs(ex.loss)


#: (alpha, beta, lam): one point per phase, no weight decay, and two more.
TRAINER_POINTS = [
    (3.0, 0.5, 0.7),   # learning
    (0.5, 0.5, 0.2),   # overfitting (below the spectral transition)
    (2.0, 3.0, 1.0),   # regularized: collapsed
    (2.0, 0.3, 0.0),   # no weight decay
    (0.4, 1.0, 1.0),
    (5.2, 1.0, 1.0),
]


@pytest.mark.parametrize("N", [100, 300])
def test_trainer_reaches_exact_eg(N):
    """L-BFGS reaches the exact optimum at every point (one batch: each run keeps its own
    optimiser state and stopping rule, see test_simulate_train)."""
    data = [sample_scm(round(alpha * N), N, 1.0, 1.0, seed=N)[0] for alpha, _, _ in TRAINER_POINTS]
    W0 = np.ones((N, 1))
    betas = [beta for _, beta, _ in TRAINER_POINTS]
    lams = [lam for _, _, lam in TRAINER_POINTS]
    trained = train(data, W0, betas, lams, seed=1, device="cpu", progress=False)
    for X, beta, lam, tr, point in zip(data, betas, lams, trained, TRAINER_POINTS, strict=True):
        ex = exact_minimum(X, W0, beta, lam)
        assert tr.converged, point
        assert abs(tr.eg - ex.eg) < 1e-3, point
        assert tr.free_energy >= ex.free_energy - 1e-12, point
        assert tr.free_energy - ex.free_energy < 1e-9, point


def test_collapsed_phase_is_exactly_zero():
    X, W0 = sample_scm(400, 200, 1.0, 1.0, seed=0)
    ex = exact_minimum(X, W0, beta=5.0, lam=1.0)
    assert ex.Q == 0 and ex.m == 0 and ex.D == 1 and ex.rate == 0
    assert math.isclose(ex.distortion, 1.0)  # (rho + eta) / 2
    assert math.isclose(ex.eg, 1.0)


@pytest.mark.fuzz
@given(
    alpha=st.floats(0.05, 20), s=st.floats(0.1, 30), beta=st.floats(0.01, 10),
    lam=st.one_of(st.just(0.0), st.floats(1e-3, 10)),
)
@settings(max_examples=examples(200), deadline=None)
def test_optimal_norm_beats_a_dense_grid(alpha, s, beta, lam):
    """The root-based minimiser of the reduced objective beats a dense grid.

    Domain: every (alpha, s, beta, lam) of the box; the grid covers [0, 3 (s + 1)]
    linearly and [1e-8, 1e3] geometrically (the minimiser lies below s).
    """
    Q = optimal_norm(alpha, s, beta, lam)
    grid = np.concatenate([np.linspace(0, 3 * (s + 1), 4001), np.geomspace(1e-8, 1e3, 2000)])
    f_grid = reduced_objective(grid, alpha, s, beta, lam).min()
    f_opt = float(reduced_objective(Q, alpha, s, beta, lam))
    assert Q >= 0
    assert f_opt <= f_grid + 1e-12 * (1 + abs(f_grid))


def test_top_eigenpair_lanczos_matches_dense(monkeypatch):
    """Above _DENSE_MAX_N the top eigenpair comes from Lanczos: the threshold is lowered so
    that a small problem takes that path."""
    import symrep.simulate.exact as exact

    monkeypatch.setattr(exact, "_DENSE_MAX_N", 100)
    X, _ = sample_scm(600, 300, 1.0, 1.0, seed=5)
    s, e = top_eigenpair(X)  # N > _DENSE_MAX_N: Lanczos on X
    S = X.T @ X / X.shape[0]
    w, v = np.linalg.eigh(S)
    assert math.isclose(s, w[-1], rel_tol=1e-11)
    assert abs(abs(e @ v[:, -1]) - 1) < 1e-9


def test_reported_quantities_against_their_definitions():
    """Every quantity exact_minimum and train report, from its definition on their weights.

    Independent of ``observables_from_weights``: overlaps and eg = |sqrt(rho) W0 - W|^2/N
    from the weight vectors; the training-set rate and posterior mismatch as averages of
    per-sample Gaussian KL divergences (tests/closed_forms.py); the loss and the free
    energy from the torch objective (minus the data norm); the training distortion as the
    torch objective minus beta times the rate and the weight decay, per sample, with the
    data-norm part replaced by its expectation rho + eta (symrep's convention, which
    makes the trade-off distortion_train + beta rate_train the objective up to a
    constant); and D as the minimiser of the torch objective over D at the returned
    weights (scipy). The population observables are checked by Monte Carlo below.
    """
    N, P, beta, lam, rho, eta = 60, 150, 0.6, 0.3, 1.5, 0.7
    X, W0 = sample_scm(P, N, rho, eta, seed=2)
    ex = exact_minimum(X, W0, beta, lam, rho=rho, eta=eta)
    tr = train(X, W0, beta, lam, rho, eta, seed=0, device="cpu", progress=False)
    w0 = W0[:, 0]
    for res in (ex, tr):
        W, We, D = res.W, res.W_enc, res.D
        loss = full_loss_per_n(X, W, We, D, beta, lam)
        u, v = X @ W / math.sqrt(N), X @ We / math.sqrt(N)
        Q = W @ W / N
        rate_train = np.mean([gaussian_kl(vk, D, 0.0, 1.0) for vk in v])
        want = dict(
            m=W @ w0 / N, d=We @ w0 / N, Q=Q, E=We @ We / N, R=W @ We / N,
            eg=np.sum((math.sqrt(rho) * w0 - W) ** 2) / N, loss=loss,
            free_energy=loss - np.sum(X**2) / (2 * N), rate_train=rate_train,
            kl_posterior_train=np.mean([gaussian_kl(vk, D, uk / (1 + Q), 1 / (1 + Q))
                                        for uk, vk in zip(u, v, strict=True)]),
            distortion_train=((loss * N - beta * P * rate_train - lam / 2 * (W @ W + We @ We))
                              / P - np.sum(X**2) / (2 * P) + (rho + eta) / 2),
        )
        for name, value in want.items():
            assert getattr(res, name) == pytest.approx(value, rel=1e-9, abs=1e-12), \
                (res.method, name)
        best = minimize_scalar(lambda t, W=W, We=We: full_loss_per_n(X, W, We, math.exp(t),
                                                                     beta, lam),
                               bounds=(-20, 2), method="bounded", options={"xatol": 1e-10})
        assert D == pytest.approx(math.exp(best.x), rel=1e-6), res.method


def test_population_observables_match_monte_carlo():
    """The closed-form data-distribution averages against fresh samples."""
    N = 60
    X, W0 = sample_scm(150, N, 1.5, 0.7, seed=2)
    ex = exact_minimum(X, W0, 0.6, 0.3, rho=1.5, eta=0.7)
    fresh, _ = sample_scm(400_000, N, 1.5, 0.7, seed=99)
    u = fresh @ ex.W / math.sqrt(N)
    v = fresh @ ex.W_enc / math.sqrt(N)
    D, Q = ex.D, ex.Q
    rate = np.mean(0.5 * (D + v**2 - 1 - math.log(D)))
    recon = 0.5 * (np.sum(fresh**2, 1) - 2 * u * v + Q * (v**2 + D)) - (N - 1) * 0.7 / 2
    a = 1 + Q
    kl = np.mean(0.5 * (a * D + a * (v - u / a) ** 2 - 1 - math.log(a * D)))
    assert abs(rate - ex.rate) < 5e-3 * (1 + ex.rate)
    assert abs(recon.mean() - ex.distortion) < 3 * recon.std() / math.sqrt(len(recon))
    assert abs(kl - ex.kl_posterior) < 5e-3 * (1 + ex.kl_posterior)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(beta=0.0, lam=1.0), "beta"),
        (dict(beta=1.0, lam=-1.0), "lam"),
        (dict(beta=1.0, lam=1.0, rho=float("inf")), "rho"),
        (dict(beta=1.0, lam=1.0, eta=-1.0), "eta"),
    ],
)
def test_exact_and_train_reject_bad_parameters(kwargs, name):
    X, W0 = sample_scm(20, 10, 1.0, 1.0, seed=0)
    with pytest.raises(ValueError, match=name):
        exact_minimum(X, W0, **kwargs)
    with pytest.raises(ValueError, match=name):
        train(X, W0, **kwargs, device="cpu")


def test_train_rejects_bad_options():
    X, W0 = sample_scm(20, 10, 1.0, 1.0, seed=0)
    with pytest.raises(ValueError, match="method"):
        train(X, W0, 1.0, 1.0, method="sgd")
    with pytest.raises(ValueError, match="share N"):
        train([X, X[:, :5]], W0, 1.0, 1.0)
    with pytest.raises(ValueError, match="beta"):
        train([X, X], W0, [1.0, 2.0, 3.0], 1.0)
