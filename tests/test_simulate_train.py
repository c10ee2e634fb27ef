"""Batched training: runs are independent, Adam converges too, the CLI reports them."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from symrep.simulate import exact_minimum, sample_scm, train
from symrep.simulate.experiment import simulate, summarize


def test_batched_runs_equal_separate_runs_with_mixed_sizes_and_parameters():
    N = 40
    data = [sample_scm(P, N, 1.0, 1.0, seed=P)[0] for P in (20, 60, 120)]
    W0 = np.ones((N, 1))
    betas, lams = [0.5, 1.0, 2.0], [0.1, 1.0, 0.0]
    batch = train(data, W0, betas, lams, seed=3, device="cpu", progress=False)
    for X, b, lam, tr in zip(data, betas, lams, batch, strict=True):
        ex = exact_minimum(X, W0, b, lam)
        assert tr.params["P"] == X.shape[0] and tr.params["beta"] == b
        assert tr.converged and abs(tr.eg - ex.eg) < 1e-6


def test_single_dataset_returns_one_result_and_3d_array_returns_list():
    X, W0 = sample_scm(50, 25, 1.0, 1.0, seed=0)
    r = train(X, W0, 1.0, 1.0, device="cpu", progress=False, seed=0)
    assert not isinstance(r, list)
    rs = train(np.stack([X, X]), W0, 1.0, 1.0, device="cpu", progress=False, seed=0)
    assert isinstance(rs, list) and len(rs) == 2


def test_max_iter_reports_not_converged():
    X, W0 = sample_scm(100, 50, 1.0, 1.0, seed=0)
    r = train(X, W0, 0.5, 0.5, device="cpu", max_iter=3, progress=False, seed=0)
    assert not r.converged and r.n_iter == 3


@pytest.mark.slow
def _benchmark_like_runs(N=50):
    """The 65 data sets of the trainer benchmark (13 alphas x 5 seeds), at small N."""
    alphas = np.repeat(np.arange(1, 14) * 0.4, 5)
    return [sample_scm(max(1, round(a * N)), N, 1.0, 1.0, seed=k)[0]
            for k, a in enumerate(alphas)], np.ones((N, 1))


def test_batched_adam_with_gtol_zero_runs_exactly_max_iter_epochs():
    data, W0 = _benchmark_like_runs()
    runs = train(data, W0, 1.0, 1.0, method="adam", gtol=0, max_iter=200, seed=0,
                 device="cpu", progress=False)
    assert len(runs) == 65
    assert [r.n_iter for r in runs] == [200] * 65
    assert not any(r.converged for r in runs)  # no rule met: a fixed budget
    # a large step size reaches the minimum within 200 epochs, where a stall rule over a
    # short window ends runs early: only when it is asked for
    fast = dict(method="adam", gtol=0, max_iter=200, lr=0.05, window=20, seed=0,
                device="cpu", progress=False)
    assert [r.n_iter for r in train(data, W0, 1.0, 1.0, **fast)] == [200] * 65
    stalled = train(data, W0, 1.0, 1.0, ftol=1e-3, **fast)
    assert any(r.n_iter < 200 and r.converged for r in stalled)


@pytest.mark.parametrize("option, value", [("gtol", -1.0), ("ftol", -1e-9),
                                           ("ftol", float("nan")), ("window", 0)])
def test_stopping_options_are_checked(option, value):
    X, W0 = sample_scm(20, 10, 1.0, 1.0, seed=0)
    with pytest.raises(ValueError, match=option):
        train(X, W0, 1.0, 1.0, method="adam", max_iter=5, progress=False,
              **{option: value})


def test_adam_converges_to_the_exact_minimum():
    N = 100
    X, W0 = sample_scm(300, N, 1.0, 1.0, seed=4)
    ex = exact_minimum(X, W0, 0.5, 0.5)
    r = train(X, W0, 0.5, 0.5, method="adam", lr=1e-2, device="cpu", seed=0, progress=False)
    assert r.converged
    assert abs(r.eg - ex.eg) < 1e-3


def test_simulate_and_summarize():
    res = simulate(60, 2.0, 0.5, 0.5, seeds=3, method="lbfgs", progress=False, device="cpu")
    ex = simulate(60, 2.0, 0.5, 0.5, seeds=3, method="exact")
    for a, b in zip(res, ex, strict=True):
        assert abs(a.eg - b.eg) < 1e-6
    s = summarize(ex, ["eg", "Q"])
    vals = [r.eg for r in ex]
    assert np.isclose(s["eg"][0], np.mean(vals))
    assert np.isclose(s["eg"][1], np.std(vals, ddof=1) / np.sqrt(3))


def test_cli_simulate_json():
    out = subprocess.run(
        [sys.executable, "-m", "symrep", "simulate", "--N", "50", "--alpha", "2", "--beta", "1",
         "--lam", "1", "--seeds", "2", "--method", "exact", "--json"],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["params"]["P"] == 100 and len(data["runs"]) == 2
    assert set(data["summary"]["eg"]) == {"mean", "sem"}


def test_cli_simulate_rejects_unknown_method():
    out = subprocess.run(
        [sys.executable, "-m", "symrep", "simulate", "--N", "50", "--alpha", "2", "--beta", "1",
         "--lam", "1", "--method", "sgd"],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_training_cpu_cuda_parity():
    X, W0 = sample_scm(200, 100, 1.0, 1.0, seed=0)
    cpu = train(X, W0, 0.5, 0.5, device="cpu", seed=0, progress=False)
    gpu = train(X, W0, 0.5, 0.5, device="cuda", seed=0, progress=False)
    assert gpu.converged and abs(cpu.eg - gpu.eg) < 1e-6
    assert abs(cpu.free_energy - gpu.free_energy) < 1e-10
