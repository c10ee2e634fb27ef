"""The real-data experiment (symrep.realdata.experiment) and ``symrep realdata``."""

import csv
import subprocess
import sys

import numpy as np
import pytest
import torch

from symrep.realdata import load
from symrep.realdata.experiment import (
    RUN_COLUMNS,
    SETTINGS,
    SUMMARY_COLUMNS,
    exact_linear_vaes,
    run_experiment,
    write_outputs,
)
from symrep.realdata.training import train_vaes


@pytest.fixture(scope="module")
def digits():
    X = load("digits")[:256]
    return X - X.mean(dim=0)


def test_exact_linear_vaes_is_the_minimum_adam_reaches(digits):
    # ground truth: Adam on the same objective, from random weights, ends at the same
    # value and never below the closed-form optimum
    betas = np.array([0.02, 0.3, 2.0])
    exact = exact_linear_vaes(digits, betas, latent=2)
    with torch.no_grad():
        at_exact = exact.model.loss(digits, torch.as_tensor(betas, dtype=torch.float32))
    np.testing.assert_allclose(at_exact.numpy(), exact.loss[0], rtol=1e-5)
    trained = train_vaes(digits, betas, kind="linear", latent=2, epochs=300, lr=1e-2,
                         batch_size=32)
    with torch.no_grad():
        at_adam = trained.model.loss(digits, torch.as_tensor(betas, dtype=torch.float32))
    assert np.all(at_adam.numpy() >= exact.loss[0] * (1 - 1e-5))
    np.testing.assert_allclose(at_adam.numpy(), exact.loss[0], rtol=2e-3)


def test_small_experiment_end_to_end(tmp_path):
    # one latent unit: the theory's thresholds are then one-unit solves (the M-unit path
    # is checked in test_realdata_theory)
    settings = SETTINGS["quick"].with_(alphas=(2.0, 1e4), n_betas=4, n_betas_near=0,
                                       steps=40, latent=1)
    result = run_experiment("digits", settings=settings, store=tmp_path / "batches.zarr")
    assert result.notes["grid"] == "2 of 2 batches computed, 0 found in the store (serial)"
    # one clock: the training ends within the whole run
    assert 0 < result.notes["training_seconds"] <= result.seconds
    # alpha = 10^4 needs more samples than digits has: dropped
    assert {r["alpha"] for r in result.runs} == {2.0}
    assert len(result.runs) == 2 * 4
    assert result.notes["mp"].startswith("no fit")  # digits have no Marchenko-Pastur bulk
    assert result.spectrum.method == "cumulative"
    for row in result.runs:
        assert all(np.isfinite(row[k]) for k in ("rate", "reconstruction", "frechet"))
    for row in result.summary:
        assert row["collapse_limit"] == pytest.approx(result.spectrum.rho[0]
                                                      + result.spectrum.eta)
        assert row["best_limit"] == result.spectrum.eta
        # the finite-alpha threshold lies above its limit (the BBP shift of the spike)
        assert row["collapse_theory"] > row["collapse_limit"]
        # a rate that falls continuously to zero crosses 1 % of its start before
        assert row["collapse_theory_rule"] < row["collapse_theory"]
    files = write_outputs(result, tmp_path)
    for path in files.values():
        assert path.stat().st_size > 0
    with open(files["runs"]) as fh:
        assert tuple(next(csv.reader(fh))) == RUN_COLUMNS
    with open(files["summary"]) as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == SUMMARY_COLUMNS and len(rows) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [p.name for p in files.values()] + ["batches.zarr"])


@pytest.mark.parametrize("args, message", [
    (["--dataset", "nope"], "dataset = 'nope' is invalid"),
    (["--kinds", "mlp,tree"], "kinds = 'mlp,tree' is invalid"),
    (["--seeds", "0"], "seeds"),
    (["--dataset", "mnist"], "root"),
    (["--scheduler", "nowhere"], "scheduler = 'nowhere' is invalid"),
])
def test_cli_bad_input_is_one_line_and_status_2(args, message, tmp_path, capsys):
    from symrep.cli import main

    assert main(["realdata", "--quick", "--out", str(tmp_path / "out"), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.slow
def test_cli_quick_digits_writes_figure_and_tables(tmp_path):
    command = [sys.executable, "-m", "symrep", "realdata", "--dataset", "digits", "--quick",
               "--out", str(tmp_path), "--store", str(tmp_path / "batches.zarr")]
    out = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    for name in ("realdata_digits.png", "realdata_digits.pdf", "realdata_digits.csv",
                 "realdata_digits_summary.csv", "realdata_digits_spectrum.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert "collapse" in out.stdout and "(4 of 4 batches computed, 0 found" in out.stdout
    table = (tmp_path / "realdata_digits.csv").read_bytes()
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "(0 of 4 batches computed, 4 found in the store (store))" in again.stdout
    assert (tmp_path / "realdata_digits.csv").read_bytes() == table


@pytest.mark.slow
def test_experiment_on_a_set_without_shipped_features(tmp_path, monkeypatch):
    # an MNIST-format set written here (digits scaled to 24 x 24 and padded to 28 x 28,
    # in the original IDX files): the Frechet distance needs a feature network trained on
    # the pool, which the experiment trains and caches
    import gzip
    import struct

    from sklearn.datasets import load_digits

    monkeypatch.setenv("SYMREP_CACHE_DIR", str(tmp_path / "cache"))
    digits = load_digits()
    images = np.pad(np.kron(digits.images, np.ones((3, 3))), ((0, 0), (2, 2), (2, 2)))
    images = np.round(images * 255 / 16).astype(np.uint8)
    labels = digits.target.astype(np.uint8)
    for stem, array in (("train-images-idx3-ubyte", images),
                        ("train-labels-idx1-ubyte", labels)):
        header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d)
                                                           for d in array.shape)
        with gzip.open(tmp_path / f"{stem}.gz", "wb") as fh:
            fh.write(header + array.tobytes())
    settings = SETTINGS["quick"].with_(alphas=(1.0,), n_betas=3, n_betas_near=0, steps=20,
                                       kinds=("linear",), latent=1)
    result = run_experiment("mnist", root=tmp_path, settings=settings)
    assert len(result.runs) == 3 and all(np.isfinite(r["frechet"]) for r in result.runs)
    assert list((tmp_path / "cache" / "features").iterdir())  # the network was cached
