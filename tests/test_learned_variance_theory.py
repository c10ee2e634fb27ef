"""The RS theory of the learned-decoder-variance model through the solver layers.

The learned model at (alpha, beta, lam, rho, eta) is solved as the linear VAE at
(alpha, eta beta, eta lam, rho, eta) with sigma^2 = eta and its free energy divided by eta.
Besides that reduction, the tests check what does not come from it: the collapse
threshold 1 + rho/eta at large alpha (a closed form typed here, against the solver at
alpha = 1e6), and the derivatives of the free energy in beta and lam against the rate and
the weight norms that the model's own objective gives (envelope theorem), which fix the
scale 1/eta independently of the model's code.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import symrep
from symrep import symbols as S
from symrep.asymptotics import collapse_threshold, optimal_beta, rd_limit_difference
from symrep.models import LearnedVarianceVAE, LinearVAE
from symrep.solvers import SolverError, solve_arrays
from symrep.solvers.latent_units import MATRIX_FIELDS, SCALAR_FIELDS, solve_units_arrays
from symrep.solvers.saddle_point import RESULT_FIELDS
from tests.profiles import examples

LV = LearnedVarianceVAE()

# (alpha, beta, lam, rho, eta): learning, overfitting and collapsed optima, eta != 1
POINTS = [
    (3.0, 0.6, 0.4, 1.3, 0.7),
    (0.5, 0.3, 0.05, 1.0, 1.6),
    (2.0, 4.0, 1.0, 1.0, 0.5),
    (8.0, 1.0, 0.0, 0.8, 2.5),
]


def _kl_sigma2(r, s2):
    """Population KL(N(v, D) || N(u/(s2 + Q), s2/(s2 + Q))), typed here (one unit)."""
    uu, uv = r.rho * r.m**2 + r.eta * r.Q, r.rho * r.m * r.d + r.eta * r.R
    vv = r.rho * r.d**2 + r.eta * r.E
    a = 1 + r.Q / s2
    gap2 = vv - 2 * uv / (s2 * a) + uu / (s2 * a) ** 2
    return 0.5 * (a * r.D + a * gap2 - 1 - math.log(a * r.D))


def _same_but_scaled(got, want, eta):
    """Every field of the learned model's result as the linear VAE's at the mapped
    point, the free energies divided by eta."""
    for name in RESULT_FIELDS:
        if name == "free_energy":
            assert got.free_energy == pytest.approx(want.free_energy / eta, rel=1e-15,
                                                    abs=1e-300)
        elif name == "kl_posterior":  # to the posterior of the decoder of variance eta
            assert got.kl_posterior == pytest.approx(_kl_sigma2(got, eta), rel=1e-10,
                                                     abs=1e-14)
        elif name == "kl_posterior_train":  # tests/test_learned_variance_posterior.py
            continue
        else:
            assert getattr(got, name) == getattr(want, name), name
    assert got.phase == want.phase
    assert got.branches.keys() == want.branches.keys()
    for k, v in want.branches.items():
        assert got.branches[k] == pytest.approx(v / eta, rel=1e-15, abs=1e-300)


@pytest.mark.parametrize("point", POINTS)
def test_learned_model_is_the_linear_vae_at_the_mapped_point(point):
    alpha, beta, lam, rho, eta = point
    got = symrep.solve(alpha, beta, lam, rho, eta, model=LV)
    want = symrep.solve(alpha, eta * beta, eta * lam, rho, eta)
    _same_but_scaled(got, want, eta)
    assert (got.alpha, got.beta, got.lam, got.rho, got.eta) == point  # as given
    assert got.sigma2 == eta and got.extras == {"sigma2": eta}
    assert got.model == "learned-variance"
    d = got.as_dict()
    assert d["sigma2"] == eta and d["model"] == "learned-variance" and "extras" not in d


def test_phases_of_the_points():
    """The points above cover the three phases (so the comparison covers them too)."""
    phases = {symrep.solve(*p, model=LV).phase for p in POINTS}
    assert phases == {"learning", "overfitting", "regularized"}


def test_scale_from_the_envelope_theorem():
    """dF/dbeta = alpha rate_train and dF/dlam = (Q + E)/2 for the learned model's own
    objective recon/sigma^2 + beta KL + lam/2 tr(Q + E): the free energy is the linear
    VAE's divided by eta, not the linear VAE's."""
    alpha, beta, lam, rho, eta = 3.0, 0.6, 0.4, 1.3, 0.7
    r = symrep.solve(alpha, beta, lam, rho, eta, model=LV)
    h = 1e-6

    def f(b, lam_):
        return symrep.solve(alpha, b, lam_, rho, eta, model=LV).free_energy

    d_beta = (f(beta + h, lam) - f(beta - h, lam)) / (2 * h)
    d_lam = (f(beta, lam + h) - f(beta, lam - h)) / (2 * h)
    assert d_beta == pytest.approx(alpha * r.rate_train, rel=1e-7)
    assert d_lam == pytest.approx((r.Q + r.E) / 2, rel=1e-7)
    # with the linear VAE's free energy (scale 1) the lam derivative would be eta (Q+E)/2
    assert abs(d_lam - eta * (r.Q + r.E) / 2) > 0.1


def test_solve_arrays_with_the_model():
    alpha = np.array([0.5, 2.0, 8.0])
    got = solve_arrays(alpha, 0.8, 0.3, 1.2, 0.6, model=LV)
    want = solve_arrays(alpha, 0.6 * 0.8, 0.6 * 0.3, 1.2, 0.6)
    for name in (*RESULT_FIELDS, "phase", "converged", "residual"):
        if name not in ("free_energy", "kl_posterior", "kl_posterior_train"):
            np.testing.assert_array_equal(got[name], want[name], err_msg=name)
    np.testing.assert_allclose(got["free_energy"], want["free_energy"] / 0.6, rtol=1e-15)
    np.testing.assert_allclose(got["branch_free_energy"], want["branch_free_energy"] / 0.6,
                               rtol=1e-15)
    np.testing.assert_array_equal(got["sigma2"], np.full(3, 0.6))


# --- large alpha: the collapse threshold 1 + rho/eta ----------------------------------

@pytest.mark.parametrize("rho, eta, lam", [(1.0, 1.0, 0.0), (1.5, 0.5, 0.3),
                                           (0.7, 2.0, 1.0)])
def test_collapse_threshold_at_large_alpha(rho, eta, lam):
    """M = M* = 1: the learned model learns just below beta = 1 + rho/eta and collapses
    just above it (alpha = 1e6: the 1/alpha correction is below the margin 1e-3)."""
    beta_c = 1.0 + rho / eta  # typed closed form
    below = symrep.solve(1e6, beta_c * (1 - 1e-3), lam, rho, eta, model=LV)
    above = symrep.solve(1e6, beta_c * (1 + 1e-3), lam, rho, eta, model=LV)
    assert below.phase == "learning" and above.phase == "regularized"


def test_collapse_threshold_bisected_against_the_closed_form():
    from symrep.solvers.units_phase_plane import collapse_thresholds

    rho, eta = 1.5, 0.5
    got = collapse_thresholds(1e6, 0.2, rho, eta, model=LV, steps=40)
    assert got.shape == (1, 1)
    assert got[0, 0] == pytest.approx(1 + rho / eta, rel=1e-4)


def test_asymptotics_of_the_model():
    """SymPy: the linear results mapped by the model's reduction."""
    assert sp.simplify(collapse_threshold(model=LV) - (1 + S.rho / S.eta)) == 0
    assert optimal_beta(model=LV) == 1  # the ELBO's beta
    assert rd_limit_difference(model=LV) == 0
    # the linear results are untouched
    assert collapse_threshold() == S.rho + S.eta and optimal_beta() == S.eta
    # evaluated against the number the solver bisects
    value = float(collapse_threshold(model=LV).subs({S.rho: 1.5, S.eta: 0.5}))
    assert value == 4.0


def test_asymptotics_need_a_reduction():
    with pytest.raises(ValueError, match="must declare"):
        collapse_threshold(model=LinearVAE())


# --- sweeps and phase diagrams ----------------------------------------------------------

def test_sweep_with_the_model():
    alpha = np.linspace(0.5, 4.0, 5)
    eta = np.array([0.6, 1.3])
    res = symrep.sweep(alpha, 0.7, 0.5, rho=1.2, eta=eta, model=LV)
    assert res.attrs["model"] == "learned-variance"
    np.testing.assert_array_equal(res["sigma2"].values, np.broadcast_to(eta, (5, 2)))
    for i, a in enumerate(alpha):
        for j, e in enumerate(eta):
            want = symrep.solve(a, 0.7, 0.5, 1.2, e, model=LV)
            for name in ("m", "Q", "eg", "rate", "distortion", "free_energy"):
                assert float(res[name][i, j]) == pytest.approx(getattr(want, name),
                                                               rel=1e-9, abs=1e-12), name
            assert int(res["phase"][i, j]) == ("regularized", "overfitting",
                                               "learning").index(want.phase)
    table = symrep.solvers.sweep_table(res)
    assert "sigma2" in table and list(table["eta"].unique()) == list(eta)
    lazy = symrep.sweep(alpha, 0.7, 0.5, rho=1.2, eta=eta, model=LV, lazy=True,
                        chunk_size=4).compute()
    for name in ("free_energy", "sigma2", "phase"):
        np.testing.assert_array_equal(lazy[name].values, res[name].values)


def test_sweep_checkpoints_are_per_model(tmp_path):
    alpha = np.linspace(0.5, 2.0, 3)
    lin = symrep.sweep(alpha, 0.7, 0.5, eta=0.5, checkpoint=tmp_path)
    lv = symrep.sweep(alpha, 0.7, 0.5, eta=0.5, checkpoint=tmp_path, model=LV)
    assert not np.array_equal(lin["Q"].values, lv["Q"].values)
    assert len(list(tmp_path.iterdir())) == 2


def test_phase_diagram_with_the_model():
    """The learned model's phases on (alpha, beta) are the linear VAE's on
    (alpha, eta beta) at weight decay eta lam; so are its boundaries."""
    eta, lam = 0.5, 0.4
    alpha = np.linspace(0.3, 4.0, 7)
    beta = np.linspace(0.2, 8.0, 7)
    got = symrep.phase_diagram(alpha, beta, lam, 1.0, eta, model=LV, boundary_tol=1e-8)
    want = symrep.phase_diagram(alpha, eta * beta, eta * lam, 1.0, eta, boundary_tol=1e-8)
    assert got.model == "learned-variance" and got.data.attrs["model"] == got.model
    np.testing.assert_array_equal(got.phase, want.phase)
    assert len(set(got.phase.ravel())) >= 2
    assert got.boundaries.keys() == want.boundaries.keys()
    for key, pts in got.boundaries.items():
        scaled = pts * np.array([1.0, eta])
        np.testing.assert_allclose(scaled, want.boundaries[key], rtol=1e-7)


# --- M = 2 units, M* = 2 features ----------------------------------------------------

def test_two_units_two_features():
    model = LearnedVarianceVAE(2, 2)
    alpha, beta, lam, rho, eta = 4.0, 1.2, 0.5, (2.0, 0.7), 0.6
    got = symrep.solve(alpha, beta, lam, rho, eta, model=model)
    want = symrep.solve(alpha, eta * beta, eta * lam, rho, eta, M=2)
    for name in MATRIX_FIELDS:
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), name)
    for name in SCALAR_FIELDS:
        if name not in ("free_energy", "kl_posterior", "kl_posterior_train"):
            assert getattr(got, name) == getattr(want, name), name
    assert got.free_energy == pytest.approx(want.free_energy / eta, rel=1e-15)
    np.testing.assert_allclose(got.unit_free_energy, want.unit_free_energy / eta,
                               rtol=1e-15)
    assert got.phases == want.phases and len(got.phases) == 2
    assert (got.M, got.Mstar, got.beta, got.lam, got.sigma2) == (2, 2, beta, lam, eta)
    assert got.model == "learned-variance" and got.as_dict()["sigma2"] == eta
    # the weaker feature's unit collapses first: 1 + rho_2/eta ~ 2.17 at large alpha
    far = symrep.solve(1e6, 2.5, 0.0, rho, eta, model=model)
    assert far.phases == ("learning feature 1", "collapsed")


def test_two_units_sweep_and_phase_diagram():
    from symrep.solvers.units_phase_plane import units_phase_diagram

    model = LearnedVarianceVAE(2, 2)
    rho, eta = (2.0, 0.7), 0.6
    res = symrep.sweep(np.array([1.0, 4.0]), np.array([0.5, 3.0]), 0.5, rho=rho, eta=eta,
                       model=model)
    assert res.attrs["model"] == "learned-variance" and res.attrs["M"] == 2
    np.testing.assert_array_equal(res["sigma2"].values, np.full((2, 2), eta))
    want = solve_units_arrays(np.array([[1.0], [4.0]]), eta * np.array([[0.5, 3.0]]),
                              eta * 0.5, rho, eta, M=2)
    np.testing.assert_array_equal(res["unit_state"].values, want["unit_state"])
    np.testing.assert_allclose(res["free_energy"].values, want["free_energy"] / eta,
                               rtol=1e-15)
    diagram = units_phase_diagram(np.array([1.0, 4.0]), np.array([0.5, 3.0]), 0.5, rho,
                                  eta, model=model, thresholds=False)
    assert diagram.model == "learned-variance" and diagram.M == 2
    np.testing.assert_array_equal(diagram.unit_state,
                                  np.swapaxes(res["unit_state"].values, 0, 1))


def test_model_and_arguments_must_agree():
    with pytest.raises(ValueError, match=r"M = 1 is invalid"):
        symrep.solve(2.0, 0.5, 1.0, (1.0, 0.5), 1.0, M=1, model=LearnedVarianceVAE(2, 2))
    with pytest.raises(ValueError, match=r"rho = .* is invalid: 1 feature"):
        symrep.solve(2.0, 0.5, 1.0, 1.0, 1.0, model=LearnedVarianceVAE(2, 2))
    with pytest.raises(ValueError, match=r"rho = .* is invalid: 2 feature"):
        symrep.sweep(2.0, 0.5, 1.0, rho=(1.0, 0.5), M=1, model=LearnedVarianceVAE(1, 1))
    with pytest.raises(ValueError, match=r"beta = -1"):  # the user's value, unmapped
        symrep.solve(2.0, -1.0, 1.0, 1.0, 0.5, model=LV)


# --- the default path ------------------------------------------------------------------

@pytest.mark.parametrize("point", [(2.0, 0.5, 1.0, 1.0, 1.0), (0.5, 0.3, 0.05, 1.0, 1.6),
                                   (2.0, 4.0, 1.0, 1.0, 0.5)])
def test_default_model_unchanged(point):
    """model=None and model=LinearVAE() give the same result, bit for bit."""
    a = symrep.solve(*point)
    b = symrep.solve(*point, model=LinearVAE())
    assert a.as_dict() == b.as_dict()
    assert a.model == "linear-vae" and a.extras == {}
    with pytest.raises(AttributeError):
        _ = a.sigma2
    arrays = solve_arrays(np.array([point[0], 3.0]), *point[1:])
    arrays_b = solve_arrays(np.array([point[0], 3.0]), *point[1:], model=LinearVAE())
    assert arrays.keys() == arrays_b.keys()
    for k in arrays:
        np.testing.assert_array_equal(arrays[k], arrays_b[k])


def test_default_sweep_unchanged():
    alpha = np.linspace(0.3, 3.0, 6)
    a = symrep.sweep(alpha, [0.5, 2.5], 0.3)
    b = symrep.sweep(alpha, [0.5, 2.5], 0.3, model=LinearVAE())
    assert a.identical(b) and a.attrs["model"] == "linear-vae"
    u = symrep.solve(3.0, 0.5, 1.0, (2.0, 0.7), 1.0, M=2)
    v = symrep.solve(3.0, 0.5, 1.0, (2.0, 0.7), 1.0, model=LinearVAE(2, 2))
    assert u.as_dict() == v.as_dict() and u.model == "linear-vae"


# --- property: the reduction over a box --------------------------------------------------

@pytest.mark.fuzz
@settings(max_examples=examples(25), deadline=None)
@given(alpha=st.floats(0.2, 20.0), beta=st.floats(0.05, 5.0), lam=st.floats(0.0, 3.0),
       rho=st.floats(0.2, 5.0), eta=st.floats(0.2, 5.0))
def test_reduction_property(alpha, beta, lam, rho, eta):
    try:
        want = symrep.solve(alpha, eta * beta, eta * lam, rho, eta)
    except SolverError:
        with pytest.raises(SolverError):
            symrep.solve(alpha, beta, lam, rho, eta, model=LV)
        return
    got = symrep.solve(alpha, beta, lam, rho, eta, model=LV)
    _same_but_scaled(got, want, eta)
    assert got.sigma2 == eta
    assert math.isfinite(got.free_energy)
