"""The collapse threshold located on the generated RS equations, and its exact
derivatives, against the random-matrix closed form typed here.

Independent reference: per eigen-mode of the sample covariance the collapsed point
loses stability at beta_c = alpha s/(lam + alpha) - lam/(alpha s), with s the top sample
eigenvalue, which in the high-dimensional limit is the spike's
s = (rho + eta)(1 + eta/(alpha rho)) above the spectral transition alpha rho^2 > eta^2
(Baik-Ben Arous-Peche). The closed form and its derivatives (SymPy on this formula) share
no code with symrep's solver. Domain: above the spectral transition, where the
transition is continuous ((alpha s)^2 > 2 lam (lam + alpha)^2/(2 lam + alpha)) and
beta_c > 0, except lam = 0 with alpha <= 1 (a flat encoder direction makes the condition
vanish identically: refused with a SolverError).
"""

import numpy as np
import pytest
import sympy as sp

from symrep.errors import SolverError
from symrep.solvers.collapse_threshold import collapse_threshold, collapse_threshold_arrays

a, l, r, e = sp.symbols("alpha lam rho eta", positive=True)
_s = (r + e) * (1 + e / (a * r))
BETA_C = a * _s / (l + a) - l / (a * _s)
_closed = sp.lambdify((a, l, r, e), BETA_C, "numpy")
_grad = {name: sp.lambdify((a, l, r, e), sp.diff(BETA_C, x), "numpy")
         for name, x in (("alpha", a), ("lam", l), ("rho", r), ("eta", e))}


def cases(n, seed):
    rng = np.random.default_rng(seed)

    def log_uniform(lo, hi, size):
        return np.exp(rng.uniform(np.log(lo), np.log(hi), size))

    alpha = log_uniform(0.05, 100, 4 * n)
    lam = np.where(rng.random(4 * n) < 0.1, 0.0, log_uniform(1e-3, 10, 4 * n))
    rho, eta = log_uniform(0.1, 10, 4 * n), log_uniform(0.1, 10, 4 * n)
    s = (rho + eta) * (1 + eta / (alpha * rho))
    keep = ((alpha * rho**2 > 1.05 * eta**2) & ((lam > 0) | (alpha > 1))
            & ((alpha * s) ** 2 > 1.05 * 2 * lam * (lam + alpha) ** 2 / (2 * lam + alpha))
            & (_closed(alpha, lam, rho, eta) > 1e-3 * (rho + eta)))
    idx = np.flatnonzero(keep)[:n]
    assert idx.size == n
    return alpha[idx], lam[idx], rho[idx], eta[idx]


def test_threshold_and_derivatives_equal_the_closed_form_at_200_cases():
    alpha, lam, rho, eta = cases(200, seed=3)
    out = collapse_threshold_arrays(alpha, lam, rho, eta)
    assert out["found"].all()
    want = _closed(alpha, lam, rho, eta)
    np.testing.assert_allclose(out["beta_c"], want, rtol=1e-10, atol=0)
    for name, grad in _grad.items():
        want = grad(alpha, lam, rho, eta)
        err = np.abs(out[f"d_{name}"] - want)
        bad = err > 1e-10 * np.abs(want) + 1e-12
        assert not bad.any(), (name, np.flatnonzero(bad), err[bad], want[bad])
    assert np.all(out["slope"] > 0)


def test_threshold_tends_to_rho_plus_eta_with_unit_slopes():
    t = collapse_threshold(alpha=1e7, lam=0.5, rho=2.0, eta=0.7)
    assert t.beta_c == pytest.approx(2.7, rel=1e-6)
    assert t.derivatives["rho"] == pytest.approx(1.0, abs=1e-6)
    assert t.derivatives["eta"] == pytest.approx(1.0, abs=1e-6)
    assert abs(t.derivatives["alpha"]) < 1e-12


def test_no_threshold_below_the_spectral_transition():
    with pytest.raises(SolverError, match="spectral transition"):
        collapse_threshold(alpha=0.5, lam=1.0, rho=1.0, eta=1.0)


def test_no_condition_without_weight_decay_below_alpha_one():
    with pytest.raises(SolverError, match="null space"):
        collapse_threshold(alpha=0.5, lam=0.0, rho=8.0, eta=0.1)
    out = collapse_threshold_arrays([0.5, 3.0], 0.0, 8.0, 0.1)
    assert out["found"].tolist() == [False, True]
    assert np.isnan(out["beta_c"][0])
    assert out["beta_c"][1] == pytest.approx(float(_closed(3.0, 0.0, 8.0, 0.1)), rel=1e-10)
