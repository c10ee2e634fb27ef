"""M latent units and M* features: data, the exact optimum, training and the observables.

Independent sources: the data statistics are measured on samples; the exact optimum is
checked against the torch objective (value and stationarity) and against multi-start
L-BFGS training, which must never find a lower objective; the observables are computed
here from their definitions (per-sample Gaussian KL divergences, the torch objective,
Monte Carlo over fresh samples, a brute-force search over unit permutations and signs),
sharing no code with ``symrep.simulate.observables``.
"""

import itertools
import math
from types import SimpleNamespace

import closed_forms
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from profiles import examples
from scipy.optimize import minimize_scalar

from symrep.simulate import (
    MatrixSimulationResult,
    SimulationResult,
    count_phases,
    default_features,
    exact_minimum,
    sample_scm,
    sample_scm_torch,
    simulate,
    summarize,
    train,
    unit_phases,
    vae_objective,
)
from symrep.simulate.exact import top_eigenpairs
from symrep.simulate.model import (
    gradient_from_unit_products,
    objective_from_unit_products,
    unpack_units,
)
from symrep.simulate.observables import observables_from_unit_weights

RHO2 = (2.0, 0.7)


# --------------------------------------------------------------------------------------
# independent ground truth
# --------------------------------------------------------------------------------------

def loss_per_n(X, W, We, D, beta, lam):
    """The objective L / N from the torch model (vae_objective), for numpy weights."""
    X = torch.as_tensor(X)
    N = X.shape[1]
    W = torch.as_tensor(np.reshape(W, (N, -1)))
    We = torch.as_tensor(np.reshape(We, (W.shape[1], N)))
    D = torch.as_tensor(np.ravel(D), dtype=torch.float64)
    return float(vae_objective(X, W, We, D, beta, lam)) / N


def gaussian_kl(mu0, cov0, mu1, cov1):
    """KL(N(mu0, cov0) || N(mu1, cov1)) of k-dimensional Gaussians, from its definition."""
    k = len(mu0)
    inv1 = np.linalg.inv(cov1)
    diff = mu1 - mu0
    return 0.5 * (np.trace(inv1 @ cov0) + diff @ inv1 @ diff - k
                  + np.log(np.linalg.det(cov1) / np.linalg.det(cov0)))


def eg_brute_force(W, W0, rho):
    """min over permutations and signs of the units of ||W0 diag(sqrt rho) - W||^2 / N,
    the matrix with fewer columns padded with zero columns."""
    N = W.shape[0]
    target = W0 * np.sqrt(np.asarray(rho, float))[None, :]
    width = max(W.shape[1], target.shape[1])
    target = np.pad(target, ((0, 0), (0, width - target.shape[1])))
    Wp = np.pad(W, ((0, 0), (0, width - W.shape[1])))
    best = math.inf
    for perm in itertools.permutations(range(width)):
        for signs in itertools.product((1.0, -1.0), repeat=width):
            best = min(best, np.sum((target - Wp[:, perm] * np.array(signs)) ** 2) / N)
    return best


def data_with_spectrum(P, N, spectrum, seed):
    """A data matrix (P >= N) whose sample covariance X^T X / P has the given eigenvalues."""
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((P, N)))
    V, _ = np.linalg.qr(rng.standard_normal((N, N)))
    return math.sqrt(P) * U * np.sqrt(np.asarray(spectrum, float))[None, :] @ V.T


# --------------------------------------------------------------------------------------
# data with several features
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_sampler_variance_along_each_feature(backend):
    """Var(x.W0_k / sqrt N) = rho_k + eta, the features uncorrelated, and variance eta in
    every direction orthogonal to them; each within 4 standard errors."""
    N, P, rho, eta = 12, 40_000, (2.0, 0.7, 0.3), 0.5
    if backend == "numpy":
        X, W0 = sample_scm(P, N, rho, eta, seed=11)
    else:
        Xt, W0t = sample_scm_torch(P, N, rho, eta, seed=11, device="cpu")
        X, W0 = Xt.numpy(), W0t.numpy()
    assert W0.shape == (N, 3)
    assert np.allclose(W0.T @ W0 / N, np.eye(3), atol=1e-12)
    # an orthonormal basis of the feature directions and of their complement
    basis, _ = np.linalg.qr(np.concatenate([W0, np.eye(N)], axis=1))
    Y = X @ basis[:, :N]
    cov = Y.T @ Y / P
    want = np.diag(np.concatenate([np.array(rho) + eta, np.full(N - 3, eta)]))
    var = np.diag(want)
    se = np.sqrt(np.outer(var, var) / P) * (1 + np.eye(N) * (math.sqrt(2) - 1))
    assert np.all(np.abs(cov - want) < 4 * se), np.max(np.abs(cov - want) / se)
    # the projections onto the features themselves (W0_k / sqrt N is a unit vector)
    proj = X @ W0 / math.sqrt(N)
    assert np.all(np.abs(proj.var(0) - (np.array(rho) + eta))
                  < 4 * (np.array(rho) + eta) * math.sqrt(2 / P))


def test_default_features_are_deterministic_and_orthonormal():
    a = default_features(50, 3)
    b = default_features(50, 3)
    assert np.array_equal(a, b)
    assert np.allclose(a.T @ a / 50, np.eye(3), atol=1e-12)
    assert np.max(np.abs(a)) < 5  # entries of order one
    assert np.array_equal(default_features(50, 1), np.ones((50, 1)))
    # a sequence rho without W0 draws with default_features(N, len(rho))
    _, W0 = sample_scm(4, 50, (1.0, 2.0, 3.0), 1.0, seed=0)
    assert np.array_equal(W0, a)


def test_equal_strengths_draw_the_scalar_data_to_the_bit():
    W0 = default_features(30, 2)
    a, _ = sample_scm(20, 30, 1.7, 0.5, W0=W0, seed=4)
    b, _ = sample_scm(20, 30, (1.7, 1.7), 0.5, W0=W0, seed=4)
    assert np.array_equal(a, b)
    c, _ = sample_scm(20, 30, (1.7, 0.9), 0.5, W0=W0, seed=4)
    assert not np.array_equal(a, c)


# --------------------------------------------------------------------------------------
# M = 1 against its closed form
# --------------------------------------------------------------------------------------

def one_unit_reference(X, w0, beta, lam, rho, eta):
    """Every quantity of the M = 1 optimum on the data set X, from tests/closed_forms.py.

    Independent of symrep.simulate: the top eigenpair (s, e) of S = X^T X / P by
    numpy.linalg.eigh; Q the global minimiser of the reduced objective f(Q), exact at
    finite N (closed_forms.optimum: roots of f' typed by hand, and the endpoint Q = 0),
    f(Q) the free energy; W along e with |W|^2 = N Q and W~ = kappa W,
    kappa = alpha s / ((Q + beta) alpha s + lam), D = beta / (beta + Q); the overlaps
    with the feature w0 (|w0|^2 = N), eg from its definition, and the rate, distortion and
    posterior mismatch from the moments of (u, v) (closed_forms.observables): under the
    data distribution E[u^2] = rho m^2 + eta Q, E[uv] = rho m d + eta R,
    E[v^2] = rho d^2 + eta E; on the training set Q s, kappa Q s, kappa^2 Q s.
    """
    P, N = X.shape
    alpha = P / N
    values, vectors = np.linalg.eigh(X.T @ X / P)
    s, e = values[-1], vectors[:, -1]
    Q, f, _ = closed_forms.optimum(alpha, beta, lam, s)
    kappa = alpha * s / ((Q + beta) * alpha * s + lam)
    m = math.sqrt(Q) * abs(e @ w0) / math.sqrt(N)
    d, R, E, D = kappa * m, kappa * Q, kappa**2 * Q, beta / (beta + Q)
    out = dict(m=m, d=d, Q=Q, R=R, E=E, D=D, eg=rho - 2 * math.sqrt(rho) * m + Q,
               free_energy=f)
    for suffix, moments in (("", (rho * m * m + eta * Q, rho * m * d + eta * R,
                                  rho * d * d + eta * E)),
                            ("_train", (Q * s, kappa * Q * s, kappa**2 * Q * s))):
        out.update(zip((f"rate{suffix}", f"distortion{suffix}", f"kl_posterior{suffix}"),
                       closed_forms.observables(rho, eta, Q, D, *moments), strict=True))
    return out


def _close(value, want, rel):
    return value == pytest.approx(want, rel=rel, abs=1e-14 if want == 0 else 0)


def test_one_unit_results_against_the_closed_forms():
    """M = 1 through the M-unit code paths: exact_minimum, train and simulate against the
    finite-N closed form of the optimum (:func:`one_unit_reference`).

    Three phases on one data set (N = 30, P = 90): learning (beta = 0.5, lam = 0.7),
    collapsed (beta = 3, lam = 1; Q = 0 exactly, so eg = rho, distortion = (rho + eta)/2)
    and without weight decay (beta = 0.3). The reference's roots are brentq's to a few ulp:
    exact_minimum agrees to 3e-15 (asserted: 1e-12). L-BFGS stops at a small gradient,
    which leaves m, Q, eg up to 1.5e-8 off and the objective, quadratic at its minimum,
    3e-15 off (asserted: 1e-7 and 1e-12). simulate with 3 seeds: mean and standard error over
    the seeds of the reference on the same data sets (data set k from seed k, P =
    round(alpha N), the all-ones feature).
    """
    rho, eta = 1.3, 0.8
    X, W0 = sample_scm(90, 30, rho, eta, seed=7)
    for beta, lam in ((0.5, 0.7), (3.0, 1.0), (0.3, 0.0)):
        want = one_unit_reference(X, W0[:, 0], beta, lam, rho, eta)
        ex = exact_minimum(X, W0, beta, lam, rho=rho, eta=eta)
        assert type(ex) is SimulationResult
        for name, value in want.items():
            assert _close(getattr(ex, name), value, 1e-12), (beta, lam, name)
        if beta == 3.0:
            assert ex.Q == 0 and ex.eg == rho and ex.rate == 0
        # M = 1 given explicitly, or one strength as a sequence, is the same computation
        for same in (exact_minimum(X, W0, beta, lam, rho=rho, eta=eta, M=1),
                     exact_minimum(X, W0, beta, lam, rho=[rho], eta=eta, M=1)):
            assert type(same) is SimulationResult
            assert same.as_dict() == ex.as_dict()
    want = one_unit_reference(X, W0[:, 0], 0.5, 0.7, rho, eta)
    tr = train(X, W0, 0.5, 0.7, rho, eta, seed=1, device="cpu", progress=False)
    for name in ("m", "Q", "eg"):
        assert _close(getattr(tr, name), want[name], 1e-7), name
    assert _close(tr.free_energy, want["free_energy"], 1e-12)
    tr1 = train(X, W0, 0.5, 0.7, rho, eta, seed=1, device="cpu", progress=False, M=1)
    assert tr1.as_dict() == tr.as_dict()
    N, alpha, beta, lam, rho = 40, 2.0, 0.5, 0.5, 1.5
    summary = summarize(simulate(N, alpha, beta, lam, rho=rho, seeds=3, method="exact"),
                        ["eg", "free_energy"])
    refs = [one_unit_reference(sample_scm(80, N, rho, 1.0, seed=k)[0], np.ones(N),
                               beta, lam, rho, 1.0) for k in range(3)]
    for name in ("eg", "free_energy"):
        values = np.array([r[name] for r in refs])
        assert _close(summary[name][0], values.mean(), 1e-10), name
        assert _close(summary[name][1], values.std(ddof=1) / math.sqrt(3), 1e-8), name


# --------------------------------------------------------------------------------------
# the exact optimum against multi-start training
# --------------------------------------------------------------------------------------

#: (M, rho, N, alpha, beta, lam, data seed, phases of the exact optimum). The phases say
#: which regime the point exercises (at N = 16 they fluctuate from seed to seed).
MULTI_START = {
    "M2-both-learn": (2, RHO2, 16, 6.0, 0.5, 0.5, 0,
                        ("learning feature 1", "learning feature 2")),
    "M2-staged-collapse": (2, RHO2, 16, 4.0, 2.2, 1.0, 1,
                             ("learning feature 1", "collapsed")),
    "M2-all-collapsed": (2, RHO2, 16, 4.0, 4.0, 1.0, 0, ("collapsed", "collapsed")),
    "M3-learner-two-overfitting": (3, 1.0, 16, 4.0, 0.5, 0.5, 0,
                                          ("learning feature 1", "learning feature 1",
                                           "overfitting")),
    "M3-learner-two-collapsed": (3, 1.0, 16, 8.0, 1.9, 0.5, 0,
                                        ("learning feature 1", "collapsed", "collapsed")),
    "M3-lam0-P<N": (3, RHO2, 16, 0.5, 0.3, 0.0, 0,
                        ("learning feature 1", "overfitting", "learning feature 2")),
}


def _check_against_training(X, W0, beta, lam, rho, M, starts=6, seed=0):
    """exact_minimum is stationary, equals the torch objective, and no start goes lower;
    returns (exact, trained, gaps)."""
    ex = exact_minimum(X, W0, beta, lam, rho=rho, M=M)
    scale = 1.0 + abs(ex.free_energy)
    assert ex.loss == pytest.approx(loss_per_n(X, ex.W, ex.W_enc, ex.D, beta, lam),
                                    rel=1e-10)
    assert ex.grad_norm < 1e-8 * scale
    trained = train([X] * starts, W0, beta, lam, rho, seed=seed, device="cpu",
                    progress=False, M=M)
    gaps = np.array([tr.free_energy - ex.free_energy for tr in trained])
    assert all(tr.converged for tr in trained)
    assert gaps.min() >= -1e-12 * scale, gaps  # training never goes lower
    return ex, trained, gaps


@pytest.mark.parametrize("case", list(MULTI_START))
def test_exact_minimum_beats_multistart_training(case):
    M, rho, N, alpha, beta, lam, seed, phases = MULTI_START[case]
    X, W0 = sample_scm(round(alpha * N), N, rho, 1.0, seed=seed)
    ex, trained, gaps = _check_against_training(X, W0, beta, lam, rho, M)
    assert ex.phases == phases
    assert type(ex) is MatrixSimulationResult and ex.Q.shape == (M, M)
    assert gaps.max() < 1e-9 * (1 + abs(ex.free_energy))  # and every start reaches it
    for tr in trained:
        assert tr.phases == ex.phases
        assert tr.eg == pytest.approx(ex.eg, abs=1e-4)
    for i, phase in enumerate(ex.phases):
        if phase == "collapsed":  # a collapsed unit is exactly zero
            assert ex.Q[i, i] == 0 and ex.D[i] == 1 and not np.any(ex.W[:, i])
            assert not np.any(ex.W_enc[i])


@pytest.mark.parametrize("gap, beta", [(0.0, 0.5), (1e-7, 0.5), (1e-3, 0.5), (1e-7, 2.6)])
def test_close_eigenvalues(gap, beta):
    """Top eigenvalues of S equal or nearly so (a spectrum set by construction): the
    decoders may turn (almost) freely in that eigenspace; the objective must never be
    beaten. beta = 2.6 puts the near-degenerate units just below their collapse
    threshold and the third unit beyond it. Training reaches the optimum to 1e-7 only:
    along the rotation within the eigenspace the curvature is of the order of the
    eigenvalue gap, and the trainer's stopping rule (no resolvable decrease) ends there
    (measured: 1e-8 at gap 1e-3, 1e-13 at gaps 1e-7 and 0)."""
    N, P = 12, 48
    spectrum = np.concatenate([[3.0, 3.0 - gap, 2.2], np.linspace(1.5, 0.2, N - 3)])
    X = data_with_spectrum(P, N, spectrum, seed=3)
    W0 = default_features(N, 2)
    s, _ = top_eigenpairs(X, 3)
    assert np.allclose(s, spectrum[:3], rtol=1e-12)
    ex, _, gaps = _check_against_training(X, W0, beta, 0.3, RHO2, M=3)
    assert gaps.max() < 1e-7 * (1 + abs(ex.free_energy))
    if beta > 2:
        assert ex.phases[2] == "collapsed" and ex.Q[1, 1] > 0


unit_instances = st.fixed_dictionaries(
    {
        "M": st.integers(2, 3),
        "Mstar": st.integers(1, 3),
        "N": st.integers(6, 20),
        "alpha": st.floats(0.3, 6.0),
        "beta": st.floats(0.05, 4.0),
        "lam": st.one_of(st.just(0.0), st.floats(0.01, 3.0)),
        "rho": st.lists(st.floats(0.2, 4.0), min_size=3, max_size=3),
        "eta": st.floats(0.3, 2.0),
        "seed": st.integers(0, 10_000),
    }
)


@pytest.mark.fuzz
@settings(max_examples=examples(6), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(unit_instances)
def test_exact_minimum_is_never_beaten(inst):
    """Domain: M = 2, 3; M* = 1..3; N = 6..20, every phase structure, lam = 0 included.
    Four L-BFGS starts never find a lower objective than exact_minimum."""
    N, M = inst["N"], inst["M"]
    rho = tuple(inst["rho"][: inst["Mstar"]])
    X, W0 = sample_scm(max(1, round(inst["alpha"] * N)), N, rho, inst["eta"],
                       seed=inst["seed"])
    _check_against_training(X, W0, inst["beta"], inst["lam"], rho, M, starts=4,
                            seed=inst["seed"])


# --------------------------------------------------------------------------------------
# observables against their definitions
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("M, rho", [(3, RHO2), (2, (2.0, 0.7, 1.2))])
def test_reported_quantities_against_their_definitions(M, rho):
    """Every quantity of exact_minimum and train from its definition on their weights:
    the overlaps from the weight matrices, eg by brute force over unit permutations and
    signs, the loss from the torch objective, the training rate and posterior mismatch
    as averages of per-sample Gaussian KL divergences (full covariance matrices), the
    training distortion as the objective minus beta times the rate and the weight decay
    (data-norm part replaced by its expectation sum rho + M* eta), and each D_i as the
    minimiser of the torch objective over D_i."""
    N, P, beta, lam, eta = 20, 60, 0.4, 0.3, 0.8
    X, W0 = sample_scm(P, N, rho, eta, seed=5)
    ex = exact_minimum(X, W0, beta, lam, rho=rho, eta=eta, M=M)
    tr = train(X, W0, beta, lam, rho, eta, seed=0, device="cpu", progress=False, M=M)
    Mstar = len(rho)
    for res in (ex, tr):
        W, We, D = res.W, res.W_enc, res.D
        assert W.shape == (N, M) and We.shape == (M, N) and D.shape == (M,)
        loss = loss_per_n(X, W, We, D, beta, lam)
        U, V = X @ W / math.sqrt(N), X @ We.T / math.sqrt(N)
        A = np.eye(M) + W.T @ W / N
        rate_train = np.mean([gaussian_kl(v, np.diag(D), np.zeros(M), np.eye(M)) for v in V])
        kl_train = np.mean([gaussian_kl(v, np.diag(D), np.linalg.solve(A, u),
                                        np.linalg.inv(A)) for u, v in zip(U, V, strict=True)])
        reg = lam / 2 * (np.sum(W**2) + np.sum(We**2))
        want = dict(
            m=W.T @ W0 / N, d=We @ W0 / N, Q=W.T @ W / N, E=We @ We.T / N, R=W.T @ We.T / N,
            eg=eg_brute_force(W, W0, rho), loss=loss,
            free_energy=loss - np.sum(X**2) / (2 * N), rate_train=rate_train,
            kl_posterior_train=kl_train,
            distortion_train=((loss * N - beta * P * rate_train - reg) / P
                              - np.sum(X**2) / (2 * P) + (sum(rho) + Mstar * eta) / 2),
        )
        for name, value in want.items():
            assert np.allclose(getattr(res, name), value, rtol=1e-9, atol=1e-12), \
                (res.method, name)
        assert res.params["M"] == M and res.params["Mstar"] == Mstar
        assert res.params["rho"] == tuple(rho)
        for i in range(M):
            def at(t, i=i, W=W, We=We, D=D):
                Di = D.copy()
                Di[i] = math.exp(t)
                return loss_per_n(X, W, We, Di, beta, lam)
            best = minimize_scalar(at, bounds=(-25, 3), method="bounded",
                                   options={"xatol": 1e-10})
            assert D[i] == pytest.approx(math.exp(best.x), rel=1e-5, abs=1e-9), \
                (res.method, i)


@pytest.mark.parametrize("weights", ["exact", "random"])
def test_population_observables_match_monte_carlo(weights):
    """rate, distortion and kl_posterior against their averages over fresh samples,
    within 4 standard errors of the Monte Carlo mean; at the exact optimum (M = 3,
    M* = 2) and at random weights, where no structure of the optimum helps."""
    N, rho, eta, beta, lam = 16, RHO2, 0.6, 0.5, 0.2
    X, W0 = sample_scm(48, N, rho, eta, seed=8)
    if weights == "exact":
        res = exact_minimum(X, W0, beta, lam, rho=rho, eta=eta, M=3)
    else:
        rng = np.random.default_rng(1)
        res = observables_from_unit_weights(
            X, W0, rng.standard_normal((N, 3)), 0.5 * rng.standard_normal((3, N)),
            rng.uniform(0.2, 1.5, 3), beta=beta, lam=lam, rho=rho, eta=eta)
    W, We, D = res.W, res.W_enc, res.D
    M = W.shape[1]
    fresh, _ = sample_scm(200_000, N, rho, eta, W0=W0, seed=99)
    U, V = fresh @ W / math.sqrt(N), fresh @ We.T / math.sqrt(N)
    Q = W.T @ W / N
    A = np.eye(M) + Q
    A_inv = np.linalg.inv(A)
    log_det = np.log(D).sum()
    # per-sample KL divergences (closed form of the Gaussian KL, vectorised over samples)
    rate = 0.5 * (D.sum() + np.sum(V**2, 1) - M - log_det)
    gap = V - U @ A_inv
    kl = 0.5 * (np.diag(A) @ D + np.einsum("pi,ij,pj->p", gap, A, gap) - M
                - np.log(np.linalg.det(A)) - log_det)
    # E_q ||x - W z / sqrt N||^2 / 2 per sample, minus (N - M*) eta / 2
    decoded = V @ W.T / math.sqrt(N)
    recon = 0.5 * (np.sum((fresh - decoded) ** 2, 1) + np.diag(Q) @ D) - (N - 2) * eta / 2
    for name, samples in (("rate", rate), ("kl_posterior", kl), ("distortion", recon)):
        se = samples.std() / math.sqrt(len(samples))
        assert abs(samples.mean() - getattr(res, name)) < 4 * se, (name, samples.mean(),
                                                                    getattr(res, name), se)


def test_unit_phases_rule():
    m = np.array([[0.9, 0.1], [0.05, -0.6], [0.01, 0.02], [0.0, 0.0]])
    Q = np.diag([1.0, 1.0, 0.5, 1e-9])
    assert unit_phases(m, Q) == ("learning feature 1", "learning feature 2", "overfitting",
                                 "collapsed")
    # the floors are parameters: a looser cosine floor makes unit 3 a learner
    assert unit_phases(m, Q, cos_floor=0.01)[2] == "learning feature 2"
    assert unit_phases(m, Q, q_floor=2.0) == ("collapsed",) * 4


def test_units_are_ordered_by_norm_with_fixed_signs():
    """Permuting and flipping the units of a model changes nothing in the result."""
    N = 15
    X, W0 = sample_scm(40, N, RHO2, 1.0, seed=2)
    ex = exact_minimum(X, W0, 0.5, 0.5, rho=RHO2, M=3)
    perm, signs = [2, 0, 1], np.array([-1.0, 1.0, -1.0])
    shuffled = observables_from_unit_weights(
        X, W0, ex.W[:, perm] * signs, ex.W_enc[perm] * signs[:, None], ex.D[perm],
        beta=0.5, lam=0.5, rho=RHO2, eta=1.0)
    for name in ("m", "d", "Q", "E", "R", "D", "W", "W_enc"):
        assert np.allclose(getattr(shuffled, name), getattr(ex, name), rtol=0, atol=1e-14)
    assert shuffled.phases == ex.phases
    assert np.all(np.diff(np.diag(ex.Q)) <= 0)
    assert np.all(ex.m[np.arange(3), np.argmax(np.abs(ex.m), 1)] >= 0)


def test_one_unit_result_as_units():
    X, W0 = sample_scm(60, 20, 1.5, 1.0, seed=0)
    ex = exact_minimum(X, W0, 0.5, 0.5, rho=1.5)
    units = ex.as_units()
    assert isinstance(units, MatrixSimulationResult)
    assert units.m.shape == (1, 1) and units.m[0, 0] == ex.m and units.eg == ex.eg
    assert units.phases == ("learning feature 1",)
    assert units.params["rho"] == (1.5,)


# --------------------------------------------------------------------------------------
# the trainer's objective, eigenpairs, simulate and summarize
# --------------------------------------------------------------------------------------

def test_unit_products_objective_and_gradient_match_autograd():
    B, N, P, M = 3, 7, 5, 3
    g = torch.Generator().manual_seed(0)
    X = torch.randn(B, P, N, generator=g, dtype=torch.float64)
    theta = torch.randn(B, 2 * N * M + M, generator=g, dtype=torch.float64,
                        requires_grad=True)
    beta = torch.tensor([0.3, 1.0, 4.0], dtype=torch.float64)
    lam = torch.tensor([0.0, 0.2, 2.0], dtype=torch.float64)
    W, We, log_d = unpack_units(theta, N, M)
    C = X.transpose(1, 2) @ X / N
    cw, ce = (C @ W).reshape(B, -1), (C @ We.transpose(1, 2)).reshape(B, -1)
    f = objective_from_unit_products(theta, cw, ce, P, beta, lam, M)
    full = vae_objective(X, W, We, log_d.exp(), beta, lam)
    assert torch.allclose(f, (full - (X * X).sum((1, 2)) / 2) / N, rtol=1e-12)
    (g_auto,) = torch.autograd.grad(full.sum() / N, theta)
    grad = gradient_from_unit_products(theta.detach(), cw.detach(), ce.detach(), P, beta,
                                       lam, M)
    assert torch.allclose(grad, g_auto, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("P", [400, 100])
def test_top_eigenpairs_lanczos_matches_dense(monkeypatch, P):
    """Above _DENSE_MAX_N: Lanczos on the covariance (P >= N) or on X (P < N)."""
    import symrep.simulate.exact as exact

    monkeypatch.setattr(exact, "_DENSE_MAX_N", 50)
    X, _ = sample_scm(P, 200, RHO2, 1.0, seed=5)
    s, V = top_eigenpairs(X, 3)
    w, v = np.linalg.eigh(X.T @ X / P)
    assert np.allclose(s, w[::-1][:3], rtol=1e-11)
    assert np.allclose(np.abs(np.sum(V * v[:, ::-1][:, :3], 0)), 1, atol=1e-9)


def test_simulate_and_summarize_matrix_fields():
    kw = dict(rho=RHO2, seeds=3, M=2)
    ex = simulate(30, 4.0, 0.5, 1.0, **kw)
    tr = simulate(30, 4.0, 0.5, 1.0, **kw, method="lbfgs", device="cpu", progress=False)
    for a, b in zip(ex, tr, strict=True):
        # L-BFGS cannot go below the exact minimum, but the two objective values are
        # float64 sums over the P samples of terms of the size of the data energy
        # (|loss| ~ P (rho + eta) / 2 here, |free_energy| is what is left after they
        # cancel): each is computed to within P u (|loss| + |free_energy|) (worst-case
        # rounding of a sum of P terms, u the unit roundoff), so a trained value may
        # read that much below the exact one.
        rounding = a.params["P"] * np.finfo(float).eps / 2 * (abs(a.loss) + abs(a.free_energy))
        assert -rounding <= b.free_energy - a.free_energy < 1e-9 and a.phases == b.phases
    summary = summarize(ex)
    Q = np.array([r.Q for r in ex])
    assert summary["Q"][0].shape == (2, 2)
    assert np.allclose(summary["Q"][0], Q.mean(0))
    assert np.allclose(summary["Q"][1], Q.std(0, ddof=1) / math.sqrt(3))
    assert isinstance(summary["eg"][0], float)
    assert sum(count_phases(ex).values()) == 3
    with pytest.raises(ValueError, match="W"):  # the weights are not an observable
        summarize(ex, ["W"])
    assert ex[0].params["P"] == 120 and ex[0].params["rho"] == RHO2
    # one unit: the phase of each result as the rule gives it from its own m and Q
    one = simulate(30, 4.0, 0.5, 1.0, seeds=2)
    want = {}
    for r in one:
        key = unit_phases([[r.m]], [[r.Q]])
        want[key] = want.get(key, 0) + 1
    assert count_phases(one) == want and all(len(k) == 1 for k in want)
    with pytest.raises(ValueError, match="phases"):
        count_phases([SimpleNamespace(m=1.0, Q=1.0)])


# --------------------------------------------------------------------------------------
# input validation
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("M", [0, -1, 1.5, True, "2", None])
def test_M_must_be_a_positive_integer(M):
    X, W0 = sample_scm(20, 10, RHO2, 1.0, seed=0)
    with pytest.raises(ValueError, match="M = .* positive integer"):
        exact_minimum(X, W0, 1.0, 1.0, rho=RHO2, M=M)
    with pytest.raises(ValueError, match="M = .* positive integer"):
        train(X, W0, 1.0, 1.0, RHO2, M=M, device="cpu")
    with pytest.raises(ValueError, match="M = .* positive integer"):
        simulate(10, 2.0, 1.0, 1.0, rho=RHO2, M=M)


def test_rho_must_match_the_features():
    W0 = default_features(10, 2)
    X, _ = sample_scm(20, 10, RHO2, 1.0, W0=W0, seed=0)
    for rho in ((1.0, 2.0, 3.0), (1.0,), [[1.0, 2.0]], (1.0, -2.0), (1.0, float("nan")), ()):
        with pytest.raises(ValueError, match="rho"):
            sample_scm(20, 10, rho, 1.0, W0=W0)
        with pytest.raises(ValueError, match="rho"):
            sample_scm_torch(20, 10, rho, 1.0, W0=W0, device="cpu")
        with pytest.raises(ValueError, match="rho"):
            exact_minimum(X, W0, 1.0, 1.0, rho=rho, M=2)
        if np.ndim(rho) == 2:  # train takes one row of strengths per run
            continue
        with pytest.raises(ValueError, match="rho"):
            train(X, W0, 1.0, 1.0, rho, M=2, device="cpu")
    for rho in ([[1.0, 2.0], [1.0, 2.0]], [[1.0, 2.0, 3.0]], [[1.0, -2.0]]):
        with pytest.raises(ValueError, match="rho"):
            train(X, W0, 1.0, 1.0, rho, M=2, device="cpu")
    with pytest.raises(ValueError, match="rho"):
        simulate(10, 2.0, 1.0, 1.0, rho=(1.0, 0.0), M=2)
    with pytest.raises(ValueError, match="rho"):
        simulate(2, 2.0, 1.0, 1.0, rho=(1.0, 1.0, 1.0))  # more features than dimensions


def test_W0_must_have_shape_N_by_Mstar_and_be_orthonormal():
    X, _ = sample_scm(20, 10, RHO2, 1.0, seed=0)
    for W0 in (np.ones((11, 2)), np.ones((10, 2)), np.ones((10, 2, 1)), np.zeros((10, 0))):
        with pytest.raises(ValueError, match="W0"):
            sample_scm(20, 10, RHO2, 1.0, W0=W0)
        with pytest.raises(ValueError, match="W0"):
            exact_minimum(X, W0, 1.0, 1.0, rho=RHO2, M=2)
        with pytest.raises(ValueError, match="W0"):
            train(X, W0, 1.0, 1.0, RHO2, M=2, device="cpu")


def test_observables_reject_mismatched_weights():
    X, W0 = sample_scm(20, 10, RHO2, 1.0, seed=0)
    good = dict(W=np.ones((10, 2)), W_enc=np.ones((2, 10)), D=np.ones(2))
    for name, bad in (("W_enc", np.ones((3, 10))), ("D", np.ones(3)), ("D", [1.0, 0.0]),
                      ("W", np.ones((9, 2)))):
        kw = dict(good, **{name: bad})
        with pytest.raises(ValueError, match=name):
            observables_from_unit_weights(X, W0, kw["W"], kw["W_enc"], kw["D"], beta=1.0,
                                          lam=1.0, rho=RHO2, eta=1.0)


# --------------------------------------------------------------------------------------
# slow: Adam, and many random instances against multi-start training
# --------------------------------------------------------------------------------------

@pytest.mark.slow
def test_adam_reaches_the_exact_minimum_with_two_units():
    N = 40
    X, W0 = sample_scm(160, N, RHO2, 1.0, seed=4)
    ex = exact_minimum(X, W0, 0.5, 0.5, rho=RHO2, M=2)
    tr = train(X, W0, 0.5, 0.5, RHO2, method="adam", lr=1e-2, device="cpu", seed=0,
               progress=False, M=2)
    assert tr.converged and tr.phases == ex.phases
    assert abs(tr.eg - ex.eg) < 1e-3
    assert 0 <= tr.free_energy - ex.free_energy < 1e-6


