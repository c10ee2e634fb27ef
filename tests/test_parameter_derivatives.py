"""Exact parameter derivatives (implicit-function theorem on the generated system) against
finite differences of the solver, Hellmann-Feynman identities, and their failures at
branch points.

Independent checks: central finite differences of ``solve_arrays`` (a fourth-order
stencil, step 1e-3 relative, whose truncation error is ~1e-13 and whose rounding error
is the solver's 1e-12 over the step); the envelope theorem, which says that at the
optimum d f/d beta = alpha rate_train and d f/d lam = (Q + E)/2 (the derivative of min L/N
is the derivative of the objective at fixed weights); and, where no central stencil fits
(lam = 0), one-sided quotients with shrinking steps.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symrep.errors import SolverError
from symrep.solvers.derivatives import (
    PARAMETERS,
    QUANTITIES,
    parameter_derivatives,
    parameter_derivatives_arrays,
)
from symrep.solvers.saddle_point import solve_arrays
from tests.profiles import examples

STEP = 1e-3


def random_box(n, seed):
    """The moderate box of the solver's tests: alpha 0.05-50, beta 0.02-10, lam 0 (a
    fifth) or 1e-3-10, rho, eta 0.1-10, log-uniform."""
    rng = np.random.default_rng(seed)

    def log_uniform(lo, hi):
        return np.exp(rng.uniform(np.log(lo), np.log(hi), n))

    return {"alpha": log_uniform(0.05, 50), "beta": log_uniform(0.02, 10),
            "lam": np.where(rng.random(n) < 0.2, 0.0, log_uniform(1e-3, 10)),
            "rho": log_uniform(0.1, 10), "eta": log_uniform(0.1, 10)}


def central_differences(P, name, d):
    """Fourth-order central differences of every quantity by ``name``; with the points
    where the stencil fits in the domain, stays on the branch and is smooth (the second-
    and fourth-order quotients agree to their truncation error: no kink inside)."""
    x = P[name]
    h = STEP * np.abs(x)
    fits = x > 2.5 * h if name == "lam" else np.ones(x.shape, bool)
    h = np.where(fits, h, 1.0)
    vals = {}
    for k in (-2, -1, 1, 2):
        Q = dict(P)
        Q[name] = np.where(fits, x + k * h, x)
        vals[k] = solve_arrays(**Q, errors="mask")
    same = fits & d["ok"]
    for k in vals:
        same &= (vals[k]["phase"] == d["phase"]) & vals[k]["converged"]
    out = {}
    for q in QUANTITIES:
        if q not in vals[1]:
            continue
        two = (vals[1][q] - vals[-1][q]) / (2 * h)
        four = (-vals[2][q] + 8 * vals[1][q] - 8 * vals[-1][q] + vals[-2][q]) / (12 * h)
        # the two quotients differ by about h^2 q'''/6 (below 1e-5 relative at this
        # step) where q is smooth, and by O(1) where the derivative jumps inside
        smooth = same & (np.abs(four - two) <= 1e-4 * (np.abs(four) + 1))
        out[q] = (four, smooth, same)
    return out


def check_against_differences(n, seed):
    P = random_box(n, seed)
    d = parameter_derivatives_arrays(**P, errors="mask")
    # the only points without derivatives: lam = 0, alpha < 1 on the learning branch
    # (the encoder's null space: a flat direction, singular Jacobian)
    singular = ~d["ok"]
    assert np.all((P["lam"][singular] == 0) & (P["alpha"][singular] < 1)
                  & (d["phase"][singular] == 2))
    compared = excluded = 0
    worst = 0.0
    for j, name in enumerate(PARAMETERS):
        for q, (fd, smooth, fits) in central_differences(P, name, d).items():
            analytic = d[q][j]
            err = np.abs(analytic - fd) / (np.abs(analytic) + 1)
            assert np.all(err[smooth] <= 1e-6), (q, name, np.max(err[smooth]))
            worst = max(worst, float(np.max(err[smooth], initial=0)))
            compared += int(smooth.sum())
            excluded += int((fits & ~smooth).sum())
    # kinks inside a stencil (a transition within 2 steps) are rare
    assert excluded <= 0.01 * compared, (excluded, compared)
    return compared, excluded, worst


def test_derivatives_equal_central_differences():
    compared, excluded, worst = check_against_differences(250, seed=1)
    assert compared > 0.9 * 250 * 5 * 17


@pytest.mark.slow
def test_derivatives_equal_central_differences_at_1000_points():
    compared, excluded, worst = check_against_differences(1000, seed=2)
    assert compared > 0.9 * 1000 * 5 * 17


@pytest.mark.fuzz
@settings(max_examples=examples(25), deadline=None)
@given(alpha=st.floats(0.05, 50), beta=st.floats(0.02, 10), lam=st.floats(1e-3, 10),
       rho=st.floats(0.1, 10), eta=st.floats(0.1, 10))
def test_envelope_theorem(alpha, beta, lam, rho, eta):
    """d f/d beta = alpha rate_train and d f/d lam = (Q + E)/2 at the optimum."""
    d = parameter_derivatives_arrays(alpha, beta, lam, rho, eta, errors="mask")
    if not d["ok"]:
        return
    v = d["value"]
    df = d["free_energy"]
    assert df[1] == pytest.approx(alpha * v["rate_train"], rel=1e-9, abs=1e-12)
    assert df[2] == pytest.approx((v["Q"] + v["E"]) / 2, rel=1e-9, abs=1e-12)


def test_lam_derivative_at_zero_weight_decay_is_the_one_sided_limit():
    """At lam = 0 (alpha < 1, overfitting: the encoder's susceptibility diverges there, so
    the curvature in lam is large) one-sided quotients with shrinking steps converge to
    the analytic derivative, their extrapolation agrees with it."""
    pt = dict(alpha=0.0766497619581216, beta=0.367431100084443, rho=9.80968246068516,
              eta=6.61480383046538)
    d = parameter_derivatives(lam=0.0, **pt)
    steps = np.array([1e-6, 1e-7, 1e-8])
    r = solve_arrays(lam=np.concatenate([[0.0], steps]), **pt)
    for q in ("Q", "E", "chihat_Q", "eg", "free_energy"):
        quotient = (r[q][1:] - r[q][0]) / steps
        errors = np.abs(quotient - d[q]["lam"])
        assert errors[-1] < errors[1] < errors[0]
        # first-order quotients (error c h): Richardson's extrapolation of the last two
        limit = (10 * quotient[-1] - quotient[-2]) / 9
        assert abs(limit - d[q]["lam"]) <= 1e-5 * (abs(d[q]["lam"]) + 1), (q, quotient,
                                                                            d[q]["lam"])


def test_learning_at_lam_zero_below_alpha_one_is_a_branch_point():
    with pytest.raises(SolverError, match="singular"):
        parameter_derivatives(alpha=0.5, beta=0.2, lam=0.0, rho=3.0, eta=0.5)


def test_the_collapsed_branch_moves_only_its_precision_matrix():
    d = parameter_derivatives(alpha=2.0, beta=5.0, lam=1.0)
    for q in ("Q", "R", "E", "m", "d", "eg"):
        assert all(v == 0 for v in d[q].values()) or q == "eg"
    # eg = rho on the collapsed branch: d eg / d rho = 1, nothing else
    assert d["eg"]["rho"] == 1.0 and d["eg"]["alpha"] == 0.0


def test_bad_errors_argument():
    with pytest.raises(ValueError, match="errors"):
        parameter_derivatives_arrays(2.0, 0.5, 1.0, errors="ignore")
