"""Points next to the spectral transition (BBP) and the collapse threshold.

Above alpha = eta^2/rho^2 the learning state leaves the overfitting one with
m ~ sqrt(distance), and below the collapse threshold beta_c a unit's norm goes to zero
linearly: the states are within rounding of each other in the float64 unknowns and in
the free energy. Every answer here is checked against the closed forms at 50 digits
(:func:`symrep.crosscheck.closed_form_mp`): to 1e-10 relative to 1 + |value|, the same
phase, or :class:`SolverError`, never a wrong converged answer.
"""

import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from profiles import examples

import symrep
from symrep.crosscheck import closed_form_mp
from symrep.solvers import SolverError

CHECKED = ("Q", "R", "E", "m", "d", "eg", "rate", "distortion", "free_energy")


def _phase(ref):
    if ref["m"] > 0:
        return "learning"
    return "overfitting" if ref["Q"] > 0 else "regularized"


def _check(alpha, beta, lam, rho, eta, *, allow_error=False):
    ref = closed_form_mp(alpha, beta, lam, rho, eta)
    try:
        r = symrep.solve(alpha, beta, lam, rho, eta)
    except SolverError:
        if allow_error:
            return
        raise
    for name in CHECKED:
        want = float(ref[name])
        got = getattr(r, name)
        assert abs(got - want) <= 1e-10 * (1 + abs(want)), (name, got, want)
    assert r.phase == _phase(ref)


@pytest.mark.parametrize("params", [
    # rho/eta 1.4e-7 above 1/sqrt(alpha): was overfitting with m = 0 (truth m = 0.00219)
    (13.979201084707114, 0.5698596990506427, 1.0205028968333973, 1.8629453094692077,
     6.965319607436665),
    # alpha = 1 + h at rho = eta = 1: m was 0.00076 (truth 0.000594), then overfitting
    (1.000001, 0.5, 1.0, 1.0, 1.0),
    (1.0000001, 0.5, 1.0, 1.0, 1.0),
    (1.00000001, 0.5, 1.0, 1.0, 1.0),
    (1.0 + 1e-9, 0.5, 0.0, 1.0, 1.0),
    # beta 1e-8 below beta_c = 11/6: was collapsed (truth Q = 1.44e-8)
    (2.0, 1.833333315, 1.0, 1.0, 1.0),
    # no weight decay, alpha near 1, large eta: raised SolverError (truth Q = 157.16)
    (1.03, 0.5, 0.0, 1.0, 40.0),
    (1.01, 0.5, 0.0, 1.0, 20.0),
])
def test_points_next_to_the_transitions(params):
    _check(*params)


def test_two_units_without_weight_decay_next_to_alpha_1():
    r = symrep.solve(1.03, 0.5, 0.0, (1.0, 0.5), 40.0, M=2)
    ref = closed_form_mp(1.03, 0.5, 0.0, 1.0, 40.0)
    assert r.phases == ("overfitting", "overfitting")
    assert math.isclose(r.Q[0, 0], float(ref["Q"]), rel_tol=1e-10)


def test_cusp_quotients_at_alpha_1():
    """The one-sided difference quotients of eg from the right of alpha = 1 (lam = 1,
    beta = 0.5) grow like h^(-1/2), as the 50-digit values do."""
    e1 = symrep.solve(1.0, 0.5, 1.0).eg
    for h in (1e-6, 1e-8):
        got = (symrep.solve(1.0 + h, 0.5, 1.0).eg - e1) / h
        want = (float(closed_form_mp(1.0 + h, 0.5, 1.0)["eg"])
                - float(closed_form_mp(1.0, 0.5, 1.0)["eg"])) / h
        assert math.isclose(got, want, rel_tol=1e-3), (h, got, want)


_strength = st.floats(0.1, 10.0)
_decay = st.one_of(st.just(0.0), st.floats(1e-3, 5.0))


@pytest.mark.fuzz
@settings(max_examples=examples(12), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.floats(-9, -5), st.floats(0.02, 5.0), _decay, _strength, _strength)
# lam = 0, m = 3.4e-5: Newton's iterate in (m^2, d/m) stalled at rounding with steps of
# m of 1.1e-13, above the convergence bound, and the learning state was dropped
@example(log_h=-9.0, beta=0.125, lam=0.0, rho=0.25, eta=1.0)
# lam = 0 next to alpha = 1 (the transition at alpha = 1 itself): the overfitting unit's
# whole (m, d) block is ~1e-8 while its relative determinant is 0.3, and no learning
# state was sought from it
@example(log_h=-8.0, beta=0.25, lam=0.0, rho=0.125, eta=0.125)
# lam = 0, eta/rho = 6.7: the stall's steps of m are 1.9e-12
@example(log_h=-9.0, beta=0.5, lam=0.0, rho=1.5, eta=10.0)
def test_random_points_just_above_the_spectral_transition(log_h, beta, lam, rho, eta):
    alpha = eta**2 / rho**2 * (1 + 10.0**log_h)
    if not 0.01 <= alpha <= 100:
        return
    _check(alpha, beta, lam, rho, eta, allow_error=True)


@pytest.mark.fuzz
@settings(max_examples=examples(12), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.floats(-9, -6), st.floats(0.1, 50.0), _decay, _strength, _strength)
def test_random_points_just_below_the_collapse_threshold(log_h, alpha, lam, rho, eta):
    if alpha * rho**2 <= 1.01 * eta**2:
        return  # no outlier: the learning unit's threshold needs one
    s = (rho + eta) * (1 + eta / (alpha * rho))  # the outlier (closed form, for the test)
    beta_c = s / (1 + lam / alpha) - lam / (alpha * s)
    beta = beta_c * (1 - 10.0**log_h)
    if not 1e-3 <= beta <= 100:
        return
    _check(alpha, beta, lam, rho, eta, allow_error=True)
