"""symrep.realdata.spectrum: the noise and signal strengths of spiked-covariance data.

Ground truth: data drawn from the spiked covariance model with known (eta, rho)
(symrep.simulate.data.sample_scm), covariances built by hand with known eigenvalues, and
NumPy's eigh. Errors of the default (MP) estimator on these data, 5 data sets per row
(benchmarks/spectrum_estimators.py prints the full table, docs/realdata_spectrum.md):
N = 400, P = 1600, rho = (4, 2), eta in {0.5, 1, 2}: |eta error| <= 1.0 %,
|rho_1 error| <= 8.7 %; N = 2000, P = 1000 (gamma = 2), rho = (8, 5): |eta error| <= 0.6 %,
|rho_1 error| <= 3.0 %. The cumulative estimator on the first set underestimates eta by
48-49 % (cutoff 0.8), 58 % (0.9) and 64 % (0.95); at gamma = 2 by 73, 85 and 92 %.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from profiles import examples

from symrep.errors import SolverError
from symrep.realdata.spectrum import (
    Spectrum,
    bbp_outlier,
    bbp_strength,
    covariance_eigenvalues,
    cumulative_noise,
    estimate_spectrum,
    mp_density,
    mp_quantile,
)
from symrep.simulate.data import sample_scm

# (P, N, rho): gamma = 1/4 and gamma = 2, every rho well above eta sqrt(gamma) for eta <= 2
CASES = [(1600, 400, (4.0, 2.0)), (1000, 2000, (8.0, 5.0))]
SEEDS = (0, 1, 2)


@pytest.mark.parametrize("eta", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("P, N, rho", CASES)
def test_mp_estimator_recovers_eta_and_rho(P, N, rho, eta):
    for seed in SEEDS:
        X, _ = sample_scm(P, N, rho, eta, seed=seed)
        s = estimate_spectrum(X)
        assert abs(s.eta / eta - 1) < 0.05, (seed, s.eta)
        assert s.n_spikes >= 2, (seed, s.rho)
        assert abs(s.rho[0] / rho[0] - 1) < 0.15, (seed, s.rho)
        assert list(s.rho) == sorted(s.rho, reverse=True)
        assert s.method == "mp" and s.cutoff is None
        assert s.gamma == N / P and (s.n_samples, s.n_features) == (P, N)
        assert s.edge == pytest.approx(s.eta * (1 + math.sqrt(N / P)) ** 2, rel=1e-12)
        assert s.edge < s.threshold < s.outliers[-1]


def test_mp_estimator_on_pure_noise():
    # no spike in the population: eta to 1 %, and the 99 % Tracy-Widom margin lets at
    # most one false spike through in ten data sets
    rng = np.random.default_rng(7)
    false = 0
    for _ in range(10):
        X = 1.5 * rng.standard_normal((1200, 300)) + 3.0  # a mean, removed by the centring
        s = estimate_spectrum(X)
        assert s.eta == pytest.approx(2.25, rel=0.01)
        false += s.n_spikes
    assert false <= 1


def test_cumulative_underestimates_eta_in_high_dimension():
    X, _ = sample_scm(1600, 400, (4.0, 2.0), 1.0, seed=0)
    noise = cumulative_noise(X)
    assert list(noise) == [0.8, 0.9, 0.95]
    # the cut eats the top of the MP bulk: the bias is large and grows with the cutoff
    assert 0.4 < noise[0.8] < 0.6 and noise[0.95] < noise[0.9] < noise[0.8]
    assert estimate_spectrum(X, "cumulative", 0.9).eta == noise[0.9]


def _with_covariance(eigenvalues, P, seed=0):
    """X (P, N) whose centred sample covariance Xc^T Xc / P is exactly diag(eigenvalues)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((P, len(eigenvalues)))
    A -= A.mean(axis=0)  # columns orthogonal to the ones vector: X is already centred
    Q, _ = np.linalg.qr(A)
    return math.sqrt(P) * Q * np.sqrt(eigenvalues) + 5.0


def test_cumulative_definition_on_a_hand_made_spectrum():
    X = _with_covariance([5.0, 3.0, 1.0, 0.5, 0.5, 0.5], P=40)
    np.testing.assert_allclose(np.linalg.eigvalsh(np.cov(X.T, bias=True))[::-1],
                               [5, 3, 1, 0.5, 0.5, 0.5], atol=1e-12)
    # total 10.5: 5/10.5 = 0.48 < 0.7 <= 8/10.5 = 0.76, so k = 2 and eta = mean(1, .5, .5, .5)
    s = estimate_spectrum(X, "cumulative", 0.7)
    assert s.n_components == 2 and s.eta == pytest.approx(0.625, rel=1e-12)
    # gamma = 6/40: the edge is 0.625 (1 + sqrt(0.15))^2 = 1.2, both components exceed it,
    # and rho solves lambda = (eta + rho)(1 + gamma eta / rho)
    assert s.edge == pytest.approx(0.625 * (1 + math.sqrt(0.15)) ** 2)
    for lam, rho in zip((5.0, 3.0), s.rho, strict=True):
        assert (0.625 + rho) * (1 + 0.15 * 0.625 / rho) == pytest.approx(lam, rel=1e-12)
    # "reaches" the cutoff: 6 + 2 is exactly 0.8 of 10, so k = 2, eta = 1
    s = estimate_spectrum(_with_covariance([6.0, 2.0, 1.0, 1.0], P=30), "cumulative", 0.8)
    assert s.n_components == 2 and s.eta == pytest.approx(1.0, rel=1e-12)
    # with a cutoff of 0.95 the third component (2.0 > edge of eta = 0.25) is kept as a
    # spike; at 0.97 the fourth (0.25) is cut but lies below the edge: no rho for it
    X = _with_covariance([6.0, 2.0, 1.5, 0.25, 0.25], P=100)
    s = estimate_spectrum(X, "cumulative", 0.97)
    assert s.n_components == 4 and s.eta == pytest.approx(0.25)
    assert s.n_spikes == 3 and s.outliers == pytest.approx((6.0, 2.0, 1.5))


def test_cumulative_against_a_direct_computation():
    # independent: eigh of the covariance and the ratio loop written out here
    rng = np.random.default_rng(3)
    X = rng.standard_normal((60, 9)) * np.linspace(3, 0.5, 9)
    lam = np.linalg.eigh(np.cov(X, rowvar=False, bias=True))[0][::-1]
    for cutoff in (0.3, 0.5, 0.8, 0.9, 0.99):
        k = next(k for k in range(1, 10) if lam[:k].sum() / lam.sum() >= cutoff)
        assert estimate_spectrum(X, "cumulative", cutoff).eta == pytest.approx(
            lam[k:].mean(), rel=1e-10)
        assert cumulative_noise(X, [cutoff])[cutoff] == pytest.approx(lam[k:].mean(),
                                                                      rel=1e-10)


def _mp_quantile_by_duality(level, eta, gamma):
    """Quantile of the nonzero eigenvalues of a white sample covariance with gamma > 1.

    Independent of symrep.realdata.spectrum: for P < N the nonzero eigenvalues of
    Xc^T Xc / P are those of the P x P matrix Xc Xc^T / P = gamma (Xc Xc^T / N), whose
    law is the textbook MP law of ratio c = 1/gamma < 1 and scale eta (no atom), density
    sqrt((b - x)(x - a)) / (2 pi eta c x) on [a, b] = eta (1 -+ sqrt(c))^2. Its
    distribution function by quadrature with the algebraic weight (x - a)^(1/2) (scipy's
    QAWS rule, exact for the square-root edge), inverted by brentq.
    """
    from scipy import integrate, optimize

    c = 1 / gamma
    a, b = eta * (1 - math.sqrt(c)) ** 2, eta * (1 + math.sqrt(c)) ** 2

    def cdf(q):
        return integrate.quad(lambda x: math.sqrt(b - x) / (2 * math.pi * eta * c * x), a, q,
                              weight="alg", wvar=(0.5, 0.0), epsabs=1e-14, epsrel=1e-13)[0]

    return gamma * optimize.brentq(lambda q: cdf(q) - level, a, b, xtol=1e-15, rtol=1e-14)


def _with_nonzero_spectrum(eigenvalues, P, N, seed=0):
    """X (P, N), P <= N, whose centred sample covariance has exactly the P - 1 nonzero
    eigenvalues given (the rank of a centred covariance of P samples is P - 1)."""
    assert len(eigenvalues) == P - 1 <= N - 1
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((P, P - 1))
    A -= A.mean(axis=0)  # orthogonal to the ones vector: each column has mean zero
    U, _ = np.linalg.qr(A)
    V, _ = np.linalg.qr(rng.standard_normal((N, P - 1)))
    return math.sqrt(P) * (U * np.sqrt(eigenvalues)) @ V.T + 2.0


@pytest.mark.parametrize("spike", [None, 4.0])
def test_mp_fit_uses_the_p_minus_1_nonzero_eigenvalues(spike):
    """With P < N the MP fit takes the median over the P - 1 nonzero eigenvalues only.

    The data are built with a centred covariance whose nonzero spectrum is known: an odd
    number n of bulk eigenvalues at the quantiles (i - 1/2)/n of the nonzero MP law of
    scale eta = 0.7 and gamma = N/P (computed here by the duality with the P x P Gram
    matrix, :func:`_mp_quantile_by_duality`), so that their median sits exactly at the
    MP median, plus (``spike``) one outlier at the BBP position of rho = 4 eta, typed
    here, (eta + rho)(1 + gamma eta / rho). The fit must then give back eta, and rho by
    inverting that relation, to quadrature accuracy; counting the N - P + 1 zero
    eigenvalues (or one of them) in the bulk moves the median by half a rank, several
    percent at these sizes.
    """
    eta, N = 0.7, 90
    P = 40 if spike is None else 41  # n = 39 bulk eigenvalues either way
    gamma = N / P
    n = P - 1 if spike is None else P - 2
    bulk = [eta * _mp_quantile_by_duality((i - 0.5) / n, 1.0, gamma) for i in range(1, n + 1)]
    assert np.median(bulk) == pytest.approx(eta * _mp_quantile_by_duality(0.5, 1.0, gamma),
                                            rel=1e-12)
    nonzero = list(bulk)
    if spike is not None:
        rho = spike * eta
        nonzero.append((eta + rho) * (1 + gamma * eta / rho))
    X = _with_nonzero_spectrum(np.array(nonzero), P, N)
    assert np.linalg.matrix_rank(np.cov(X, rowvar=False, bias=True), tol=1e-9) == P - 1
    s = estimate_spectrum(X)
    assert s.eta == pytest.approx(eta, rel=1e-9)
    if spike is None:
        assert s.n_spikes == 0
    else:
        assert s.n_spikes == 1 and s.rho[0] == pytest.approx(spike * eta, rel=1e-9)


def test_eigenvalues_match_numpy_for_both_shapes():
    rng = np.random.default_rng(4)
    for P, N in ((50, 20), (20, 50)):
        X = rng.standard_normal((P, N))
        expect = np.sort(np.linalg.eigvalsh(np.cov(X, rowvar=False, bias=True)))[::-1]
        values = covariance_eigenvalues(torch.tensor(X, dtype=torch.float64))
        np.testing.assert_allclose(values, np.clip(expect, 0, None), atol=1e-12)
        assert not values.flags.writeable


# --- the MP law and the BBP transition --------------------------------------------------

@pytest.mark.parametrize("gamma", [0.25, 1.0, 2.0])
def test_mp_law_against_white_noise(gamma):
    # independent: the nonzero eigenvalues of a large white sample covariance
    N = 600
    P = int(N / gamma)
    X = 1.3 * np.random.default_rng(5).standard_normal((P, N))
    values = covariance_eigenvalues(X)[:min(N, P - 1)]
    for level in (0.1, 0.5, 0.9):
        empirical = np.quantile(values, level)
        assert mp_quantile(level, 1.69, gamma) == pytest.approx(empirical, rel=0.02)
    # the density is normalised and its integral up to a quantile is the level
    from scipy import integrate

    a, b = 1.69 * (1 - math.sqrt(gamma)) ** 2, 1.69 * (1 + math.sqrt(gamma)) ** 2
    total = integrate.quad(lambda x: mp_density(x, 1.69, gamma), a, b, limit=200)[0]
    assert total == pytest.approx(1.0, abs=1e-6)
    q = mp_quantile(0.3, 1.69, gamma)
    assert integrate.quad(lambda x: mp_density(x, 1.69, gamma), a, q, limit=200)[0] == \
        pytest.approx(0.3, abs=1e-6)
    assert mp_density(b + 0.1, 1.69, gamma) == 0 and mp_density(-1.0, 1.69, gamma) == 0


@pytest.mark.fuzz
@settings(max_examples=examples(100))
@given(eta=st.floats(0.05, 20), gamma=st.floats(0.01, 10), factor=st.floats(1.05, 50))
def test_bbp_inverts(eta, gamma, factor):
    rho = factor * eta * math.sqrt(gamma)
    lam = bbp_outlier(rho, eta, gamma)
    assert lam > eta * (1 + math.sqrt(gamma)) ** 2
    assert bbp_strength(lam, eta, gamma) == pytest.approx(rho, rel=1e-9)


@pytest.mark.fuzz
@settings(max_examples=examples(50))
@given(eta=st.floats(0.05, 20), gamma=st.floats(0.01, 10), factor=st.floats(0.01, 1.0))
def test_below_the_threshold(eta, gamma, factor):
    edge = eta * (1 + math.sqrt(gamma)) ** 2
    assert bbp_outlier(factor * eta * math.sqrt(gamma), eta, gamma) == pytest.approx(edge)
    assert bbp_strength(edge * factor, eta, gamma) is None
    assert bbp_strength(edge, eta, gamma) is None


def test_bbp_against_the_top_eigenvalue():
    # independent: the largest eigenvalue of spiked data at N = 800, gamma = 1/2; its
    # fluctuation is below (eta + rho) sqrt(2 / P) per data set (Paul 2007)
    P, N, eta = 1600, 800, 1.0
    for rho in (2.0, 4.0):
        tops = [covariance_eigenvalues(sample_scm(P, N, rho, eta, seed=s)[0])[0]
                for s in range(3)]
        tolerance = 4 * (eta + rho) * math.sqrt(2 / P) / math.sqrt(3)
        assert np.mean(tops) == pytest.approx(bbp_outlier(rho, eta, 0.5), abs=tolerance)
        # the naive eta + rho is out of reach: the BBP shift gamma eta (1 + eta / rho)
        assert abs(np.mean(tops) - (eta + rho)) > tolerance
    # below the threshold (rho = 0.5 < sqrt(1/2)) the top eigenvalue sits at the edge
    top = covariance_eigenvalues(sample_scm(P, N, 0.5, eta, seed=0)[0])[0]
    assert top == pytest.approx((1 + math.sqrt(0.5)) ** 2, abs=0.1)


# --- validation and the result object -----------------------------------------------------

def test_validation():
    X = np.random.default_rng(0).standard_normal((20, 5))
    with pytest.raises(ValueError, match="method = 'pca' is invalid.*mp, cumulative"):
        estimate_spectrum(X, method="pca")
    for cutoff in (0, 1, 1.5, -0.1, "a", float("nan")):
        with pytest.raises(ValueError, match="cutoff"):
            estimate_spectrum(X, cutoff=cutoff)
    with pytest.raises(ValueError, match="cutoffs"):
        cumulative_noise(X, (0.5, 1.0))
    with pytest.raises(ValueError, match=r"X is invalid.*shape \(P, N\)"):
        estimate_spectrum(X[0])
    with pytest.raises(ValueError, match="at least 2 samples"):
        estimate_spectrum(X[:1])
    with pytest.raises(ValueError, match="at least 2 samples"):
        estimate_spectrum(X[:, :1])
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        estimate_spectrum(bad)
    with pytest.raises(ValueError, match="zero variance"):
        estimate_spectrum(np.ones((10, 4)))
    with pytest.raises(ValueError, match="rho"):
        bbp_outlier(-1.0, 1.0, 0.5)
    with pytest.raises(ValueError, match="gamma"):
        bbp_strength(3.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="lam"):
        bbp_strength(float("inf"), 1.0, 0.5)
    with pytest.raises(ValueError, match="level"):
        mp_quantile(1.0, 1.0, 0.5)


def test_solver_errors_instead_of_nonsense():
    # a smoothly decaying spectrum has no MP bulk
    X = np.random.default_rng(1).standard_normal((2000, 64)) * np.geomspace(1, 1e-3, 64)
    with pytest.raises(SolverError, match="no Marchenko-Pastur bulk") as info:
        estimate_spectrum(X)
    assert info.value.diagnostics["spikes"] > 32
    # data in a 2-dimensional subspace: no noise below a cutoff of 0.9999
    X = _with_covariance([3.0, 1.0, 0.0, 0.0], P=30)
    with pytest.raises(SolverError, match="no noise"):
        estimate_spectrum(X, "cumulative", 0.9999)


def test_spectrum_is_frozen_and_accepts_torch():
    X, _ = sample_scm(400, 100, 3.0, 1.0, seed=2)
    s = estimate_spectrum(torch.tensor(X, dtype=torch.float32))
    assert isinstance(s, Spectrum)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.eta = 1.0
    with pytest.raises(ValueError):
        s.eigenvalues[0] = 0.0
    assert s.eta == pytest.approx(estimate_spectrum(X).eta, rel=1e-5)
    assert s.mp_density(s.edge + 1) == 0 and s.mp_density(s.eta) > 0


def test_digits_cumulative_decreases_with_the_cutoff():
    from symrep.realdata.datasets import load

    noise = cumulative_noise(load("digits"))
    assert noise[0.8] > noise[0.9] > noise[0.95] > 0
