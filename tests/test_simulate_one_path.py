"""One result type and one code path for any number of latent units.

A model with one unit and one feature is the 1 x 1 case of the matrix code: the same
numbers, shown as floats by :class:`SimulationResult`. The references here are the
one-unit formulas typed out (docs/model.md), not the code under test.
"""

import math

import numpy as np
import pytest
import torch

from symrep.simulate import (
    MatrixSimulationResult,
    SimulationResult,
    exact_minimum,
    sample_scm,
    train,
)
from symrep.simulate.exact import minimum_on_spectrum, spectrum, top_eigenpair
from symrep.simulate.model import (
    gradient_from_products,
    gradient_from_unit_products,
    objective_from_products,
    objective_from_unit_products,
)
from symrep.simulate.observables import (
    SCALAR_FIELDS,
    observables_from_unit_weights,
    observables_from_weights,
)

#: The keys of ``as_dict()`` of a one-unit result, in order (the CLI's JSON).
ONE_UNIT_KEYS = [*SCALAR_FIELDS, "params", "method", "converged", "n_iter", "grad_norm"]


def _one_unit_formulas(r, rho, eta):
    """eg, rate, distortion and kl_posterior of one unit from its order parameters,
    typed from docs/model.md (population moments of u = x.W/sqrt(N), v = x.W~/sqrt(N))."""
    u2 = rho * r.m**2 + eta * r.Q
    uv = rho * r.m * r.d + eta * r.R
    v2 = rho * r.d**2 + eta * r.E
    a = 1 + r.Q
    return dict(
        eg=rho - 2 * math.sqrt(rho) * abs(r.m) + r.Q,
        rate=(r.D + v2 - 1 - math.log(r.D)) / 2,
        distortion=(rho + eta - 2 * uv + r.Q * (v2 + r.D)) / 2,
        kl_posterior=(a * r.D + a * (v2 - 2 * uv / a + u2 / a**2) - 1 - math.log(a)
                      - math.log(r.D)) / 2,
    )


@pytest.mark.parametrize("beta, lam", [(0.5, 0.3), (2.0, 0.0), (6.0, 1.0)])
def test_one_unit_is_the_1x1_view_of_the_matrix_path(beta, lam):
    rho, eta = 1.7, 0.6
    X, W0 = sample_scm(150, 60, rho, eta, seed=3)
    r = exact_minimum(X, W0, beta, lam, rho=rho, eta=eta)
    assert type(r) is SimulationResult and MatrixSimulationResult is SimulationResult
    assert all(isinstance(getattr(r, k), float) for k in SCALAR_FIELDS)
    assert r.W.shape == (60,) and r.W_enc.shape == (60,)
    assert list(r.as_dict()) == ONE_UNIT_KEYS
    assert r.params == dict(alpha=2.5, beta=beta, lam=lam, rho=rho, eta=eta, N=60, P=150)
    # the matrix path on 1 x 1 matrices, asked directly: the same numbers to the bit
    view = observables_from_unit_weights(
        X, W0, r.W[:, None], r.W_enc[None, :], np.array([r.D]), beta=beta, lam=lam,
        rho=[rho], eta=eta, method="exact", converged=True, n_iter=0,
        grad_norm=r.grad_norm)
    assert view.as_dict(weights=True) == r.as_dict(weights=True)
    scalar = observables_from_weights(X, W0, r.W, r.W_enc, r.D, beta=beta, lam=lam,
                                      rho=rho, eta=eta, method="exact",
                                      grad_norm=r.grad_norm)
    assert scalar.as_dict() == r.as_dict()
    # the result as 1 x 1 matrices holds the same numbers
    units = r.as_units()
    assert isinstance(units, SimulationResult) and units.unit_matrices
    for k in ("m", "d", "Q", "E", "R"):
        assert getattr(units, k).shape == (1, 1) and getattr(units, k)[0, 0] == getattr(r, k)
    assert units.D.shape == (1,) and units.D[0] == r.D and units.W.shape == (60, 1)
    assert units.W_enc.shape == (1, 60) and np.array_equal(units.W[:, 0], r.W)
    assert units.params["rho"] == (rho,) and (units.M, units.Mstar) == (1, 1)
    assert units.phases == r.phases and len(r.phases) == 1
    assert units.as_units() is units
    # independent reference: the one-unit formulas from the order parameters
    for name, want in _one_unit_formulas(r, rho, eta).items():
        assert math.isclose(getattr(r, name), want, rel_tol=1e-12, abs_tol=1e-14), name


def test_first_unit_of_several_is_the_one_unit_optimum():
    """The optimum decouples over eigenvectors (exact.py): unit 1 of M = 3 has the
    norm, overlaps and variance of the M = 1 optimum on the same data."""
    rho, eta = 2.0, 1.0
    X, W0 = sample_scm(200, 80, rho, eta, seed=5)
    one = exact_minimum(X, W0, 0.8, 0.2, rho=rho, eta=eta)
    three = exact_minimum(X, W0, 0.8, 0.2, rho=rho, eta=eta, M=3)
    assert three.m.shape == (3, 1) and isinstance(one.m, float)
    for k in ("m", "d", "Q", "E", "R"):
        assert math.isclose(getattr(three, k)[0, 0], getattr(one, k), rel_tol=1e-9), k
    assert math.isclose(three.D[0], one.D, rel_tol=1e-12)
    # one eigenpair: the spectrum of M = 1 is the top eigenpair of S
    s, V = spectrum(X, 1)
    s1, e1 = top_eigenpair(X)
    assert s.shape == (1,) and s[0] == s1 and np.array_equal(V[:, 0], e1)
    again = minimum_on_spectrum(X, W0, 0.8, 0.2, rho, eta, (s, V))
    assert again.as_dict() == one.as_dict()


def _typed_one_unit_objective(theta, cw, ce, P, beta, lam):
    """(L - sum||x||^2/2) / N of one unit, typed out: the formula of docs/model.md."""
    N = cw.shape[-1]
    w, e, log_d = theta[:, :N], theta[:, N : 2 * N], theta[:, 2 * N]
    D = log_d.exp()
    Q = (w * w).sum(1) / N
    ece = (e * ce).sum(1)
    L = (-(e * cw).sum(1) + 0.5 * Q * ece + 0.5 * P * Q * D
         + 0.5 * beta * (P * (D - 1.0 - log_d) + ece)
         + 0.5 * lam * ((w * w).sum(1) + (e * e).sum(1)))
    return L / N


def _typed_one_unit_gradient(theta, cw, ce, P, beta, lam):
    N = cw.shape[-1]
    w, e, D = theta[:, :N], theta[:, N : 2 * N], theta[:, 2 * N].exp()
    Q = (w * w).sum(1, keepdim=True) / N
    ece = (e * ce).sum(1, keepdim=True)
    P, beta, lam = (v.reshape(-1, 1) for v in (P, beta, lam))
    g_w = -ce + ((ece + P * D[:, None]) / N + lam) * w
    g_e = -cw + (Q + beta) * ce + lam * e
    g_d = 0.5 * P * (D[:, None] * (Q + beta) - beta)
    return torch.cat((g_w, g_e, g_d), dim=1) / N


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_trainer_objective_at_one_unit_is_the_one_unit_arithmetic(dtype):
    """The objective and gradient of M units at M = 1 do the one-unit arithmetic, so a
    model with one unit trains on the same numbers whatever M the code is written for."""
    g = torch.Generator().manual_seed(0)
    B, N, P = 4, 37, 23
    X = torch.randn(B, P, N, generator=g, dtype=torch.float64)
    C = (X.transpose(1, 2) @ X / N).to(dtype)
    theta = torch.randn(B, 2 * N + 1, generator=g, dtype=torch.float64).to(dtype)
    cw, ce = (C @ theta[:, :N, None])[..., 0], (C @ theta[:, N : 2 * N, None])[..., 0]
    Pb = torch.tensor([P, P - 3, P + 5, P], dtype=dtype)
    beta = torch.tensor([0.3, 1.0, 4.0, 2.0], dtype=dtype)
    lam = torch.tensor([0.0, 0.2, 2.0, 0.01], dtype=dtype)
    want_f = _typed_one_unit_objective(theta, cw, ce, Pb, beta, lam)
    want_g = _typed_one_unit_gradient(theta, cw, ce, Pb, beta, lam)
    for f in (objective_from_unit_products(theta, cw, ce, Pb, beta, lam, 1),
              objective_from_products(theta, cw, ce, Pb, beta, lam)):
        assert torch.equal(f, want_f)
    for grad in (gradient_from_unit_products(theta, cw, ce, Pb, beta, lam, 1),
                 gradient_from_products(theta, cw, ce, Pb, beta, lam)):
        assert torch.equal(grad, want_g)


def test_trained_one_unit_result_is_one_type_with_phases():
    X, W0 = sample_scm(80, 30, 1.5, 1.0, seed=2)
    r = train(X, W0, 0.5, 0.1, 1.5, 1.0, seed=0, device="cpu", progress=False)
    assert type(r) is SimulationResult and isinstance(r.m, float) and r.W.shape == (30,)
    assert r.converged and len(r.phases) == 1
    assert r.phases == r.as_units().phases
    two = train(X, W0, 0.5, 0.1, 1.5, 1.0, seed=0, device="cpu", progress=False, M=2)
    assert type(two) is SimulationResult and two.m.shape == (2, 1)
    assert "phases" in two.as_dict() and "phases" not in r.as_dict()
