"""The theory's predictions for a data set (symrep.realdata.theory) and the measured
collapse threshold (symrep.realdata.experiment.collapse_beta)."""

from types import SimpleNamespace

import numpy as np
import pytest

from symrep.asymptotics.stability import mode_thresholds
from symrep.realdata import theory
from symrep.realdata.experiment import best_grid_beta, collapse_beta

SPECTRUM = SimpleNamespace(eta=0.5, rho=(3.0, 1.2, 0.9))


def test_collapse_threshold_equals_the_stability_analysis():
    # the generic solver's last unit to collapse against the symbolic stability
    # threshold of the collapsed state (an independent derivation)
    got = theory.collapse_threshold(SPECTRUM, [4.0], lam=0.2, M=2)
    want = mode_thresholds(4.0, 0.2, SPECTRUM.rho[:2], SPECTRUM.eta, M=2)[0]
    assert got[0] == pytest.approx(want, rel=1e-9)


def test_best_beta_tends_to_eta_as_one_over_alpha():
    best = theory.best_beta(SPECTRUM, [1e3, 1e4], M=1)
    dev = np.abs(best / SPECTRUM.eta - 1)
    assert dev[1] < 1e-3
    assert 5 < dev[0] / dev[1] < 20  # the correction is O(1/alpha)


def test_limits_and_strengths():
    assert theory.collapse_threshold_limit(SPECTRUM) == pytest.approx(3.5)
    assert theory.best_beta_limit(SPECTRUM) == 0.5
    assert theory.theory_strengths(SPECTRUM, 2) == (3.0, 1.2)
    with pytest.raises(ValueError, match="no spike"):
        theory.theory_strengths(SimpleNamespace(eta=1.0, rho=()), 2)


def test_collapse_beta_interpolates_in_log_log():
    betas = np.geomspace(1e-2, 1e2, 9)
    # a rate that falls as beta^-4 beyond beta = 1: below 1% of r0 at beta = 10^(1/2)
    rate = np.where(betas <= 1, 2.0, 2.0 * betas ** -4.0)
    assert collapse_beta(betas, rate) == pytest.approx(10 ** 0.5, rel=1e-12)
    # exact zeros beyond the threshold: linear interpolation of the rate
    rate = np.where(betas < 5, 1.0, 0.0)
    assert betas[5] < collapse_beta(betas, rate) <= betas[6]
    assert collapse_beta(betas, np.ones(9)) is None
    assert best_grid_beta(betas, [3, 2, 1, np.nan, 2, 3, 4, 5, 6]) == betas[2]
