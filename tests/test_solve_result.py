"""One result type and one solver path for any number of units.

``symrep.solve`` answers every request with a :class:`SolveResult` from the units'
solver; the one-unit request in the paper's notation (rho a number) reads the 1 x 1
matrices as numbers. These tests hold the two notations to the same numbers, bit for
bit, and the M = 2 solver to the one-unit answers next to the BBP transition, where a
free-energy comparison across the runs of the search used to pick the wrong state.
"""

from __future__ import annotations

import numpy as np
import pytest

import symrep
from symrep.solvers.latent_units import MatrixSolveResult, solve_units, solve_units_arrays
from symrep.solvers.result import MATRIX_FIELDS, SCALAR_FIELDS, SolveResult
from symrep.solvers.saddle_point import solve_arrays

POINTS = [(2.0, 0.5, 1.0, 1.0, 1.0), (0.7, 0.3, 0.0, 1.5, 0.8), (5.0, 3.0, 0.2, 0.4, 1.2),
          (1.3, 0.05, 0.0, 2.0, 1.0)]

# the keys of the one-unit table, in the order the CLI prints them (docs/cli.md)
PAPER_KEYS = ["alpha", "beta", "lam", "rho", "eta", "m", "d", "Q", "E", "R", "D",
              "chihat_Q", "chihat_R", "chihat_E", "eg", "rate", "distortion",
              "kl_posterior", "rate_train", "distortion_train", "kl_posterior_train",
              "free_energy", "phase", "converged", "residual", "branches", "model"]


def test_one_class_for_every_size():
    assert MatrixSolveResult is SolveResult
    one = symrep.solve(2.0, 0.5, 1.0)
    two = symrep.solve(4.0, 0.5, 1.0, rho=(2.0, 0.7), M=2)
    assert type(one) is SolveResult and type(two) is SolveResult
    assert (one.M, one.Mstar, two.M, two.Mstar) == (1, 1, 2, 2)


@pytest.mark.parametrize("point", POINTS)
def test_paper_notation_is_the_one_by_one_matrices(point):
    alpha, beta, lam, rho, eta = point
    scalar = symrep.solve(alpha, beta, lam, rho, eta)
    matrix = solve_units(alpha, beta, lam, (rho,), eta, M=1)
    for name in MATRIX_FIELDS:
        assert isinstance(getattr(scalar, name), float)
        want = matrix.matrix(name)
        assert want.shape == ((1,) if name == "D" else (1, 1))
        assert scalar.matrix(name).tolist() == want.tolist()  # the same bits
    for name in SCALAR_FIELDS:
        assert getattr(scalar, name) == getattr(matrix, name)
    paper = {"learning feature 1": "learning", "overfitting": "overfitting",
             "collapsed": "regularized"}[matrix.phases[0]]
    assert scalar.phase == paper and scalar.phases == matrix.phases
    assert scalar.branches and not matrix.branches
    # the branches' free energies are the search's, before the answer is finished
    assert min(scalar.branches.values()) == pytest.approx(scalar.free_energy, rel=1e-12)
    assert list(scalar.as_dict()) == PAPER_KEYS
    keys = list(matrix.as_dict())
    assert keys[:7] == ["alpha", "beta", "lam", "rho", "eta", "M", "Mstar"]
    assert "phases" in keys and "unit_free_energy" in keys and "branches" not in keys


def test_arrays_are_the_view_of_the_units_solver():
    rng = np.random.default_rng(3)
    p = dict(alpha=rng.uniform(0.2, 6, 60), beta=rng.uniform(0.05, 3, 60),
             lam=np.where(rng.random(60) < 0.3, 0.0, rng.uniform(0, 2, 60)),
             rho=rng.uniform(0.2, 3, 60), eta=rng.uniform(0.3, 2, 60))
    view = solve_arrays(**p, continuation=False)
    units = solve_units_arrays(p["alpha"], p["beta"], p["lam"], (p["rho"],), p["eta"], M=1,
                               continuation=False)
    for name in MATRIX_FIELDS:
        assert np.array_equal(view[name], units[name].reshape(60))
    for name in (*SCALAR_FIELDS, "converged", "residual", "branch_free_energy"):
        assert np.array_equal(view[name], units[name])
    assert np.array_equal(view["phase"], np.minimum(units["unit_state"][:, 0], 2))


@pytest.mark.parametrize("beta", [0.3, 1.0])
@pytest.mark.parametrize("eps", [1e-3, 1e-7, 1e-9, 1e-11, -1e-7, -1e-9, -1e-11])
def test_two_units_next_to_bbp_agree_with_one(beta, eps):
    """Feature 2 at (1 + eps) times its BBP strength sqrt(eta^2/alpha): the unit on it is
    the one-unit answer at that strength (its phase, its share of the free energy),
    beside a unit that learns the strong feature 1."""
    alpha, eta = 2.0, 1.0
    rho2 = eta / np.sqrt(alpha) * (1 + eps)
    weak = symrep.solve(alpha, beta, 0.0, rho2, eta)
    strong = symrep.solve(alpha, beta, 0.0, 3.0, eta)
    both = symrep.solve(alpha, beta, 0.0, (3.0, rho2), eta, M=2)
    second = {"learning": "learning feature 2", "overfitting": "overfitting",
              "regularized": "collapsed"}[weak.phase]
    assert both.phases == ("learning feature 1", second)
    assert both.free_energy == pytest.approx(strong.free_energy + weak.free_energy,
                                             rel=1e-13, abs=1e-15)
    assert both.m[1, 1] == pytest.approx(weak.m, rel=1e-9, abs=1e-15)
