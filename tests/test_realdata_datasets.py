"""symrep.realdata.datasets: the offline sets, and the readers of the original file formats
checked on small files written here byte by byte (IDX, CIFAR-10 python batches)."""

from __future__ import annotations

import gzip
import pickle
import struct

import numpy as np
import pytest
import torch

from symrep.realdata import datasets
from symrep.realdata.datasets import DATASETS, image_shape, load, read_idx


def _idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of a uint8 array, from the format's definition (LeCun's page)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d)
                                                       for d in array.shape)
    return header + array.astype(np.uint8).tobytes(order="C")


def _write_idx(folder, stem, array, gz):
    folder.mkdir(parents=True, exist_ok=True)
    data = _idx_bytes(array)
    if gz:
        with gzip.open(folder / (stem + ".gz"), "wb") as fh:
            fh.write(data)
    else:
        (folder / stem).write_bytes(data)


def _mnist_like(n, seed):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[0, 27, 27] = 255, 0  # the extremes map to 1 and 0
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    return images, labels


# --- digits and patches -----------------------------------------------------------------

def test_digits_shape_range_and_labels():
    X, y = load("digits", return_labels=True)
    assert X.shape == (1797, 64) and X.dtype == torch.float32
    assert float(X.min()) == 0.0 and float(X.max()) == 1.0
    assert y.dtype == torch.int64 and y.shape == (1797,)
    assert set(y.tolist()) == set(range(10))
    # the split is ignored: digits has none
    assert torch.equal(load("DIGITS", split="test"), X)


def test_patches_shape_range_and_seed():
    X, y = load("patches", return_labels=True)
    # two 427 x 640 photographs: 53 x 80 patches of 8 x 8 each
    assert X.shape == (2 * 53 * 80, 64) and X.dtype == torch.float32
    assert 0.0 <= float(X.min()) and float(X.max()) <= 1.0
    assert sorted(set(y.tolist())) == [0, 1] and int((y == 0).sum()) == 53 * 80
    again = load("patches", seed=0, n_patches=100)
    assert torch.equal(again, X[:100])
    other = load("patches", seed=1, n_patches=100)
    assert not torch.equal(other, again)
    assert image_shape("patches") == (1, 8, 8)


def test_patch_pixels_are_the_photograph_luma():
    # independent: cut the first patch by hand from the photograph and apply the luma
    # weights of ITU-R 601 written here
    from sklearn.datasets import load_sample_images

    photo = load_sample_images().images[0].astype(np.float64)
    X, y = load("patches", patch_size=5, return_labels=True)
    gray = (0.299 * photo[..., 0] + 0.587 * photo[..., 1] + 0.114 * photo[..., 2]) / 255
    nw = photo.shape[1] // 5
    order = np.random.default_rng(0).permutation(len(X))
    row = int(np.flatnonzero(order == nw + 2)[0])  # patch (1, 2) of photograph 0
    assert int(y[row]) == 0
    np.testing.assert_allclose(X[row].numpy(), gray[5:10, 10:15].ravel(), rtol=1e-6)
    colour = load("patches", patch_size=5, grayscale=False)
    assert colour.shape == (len(X), 75) and image_shape("patches", patch_size=5,
                                                        grayscale=False) == (3, 5, 5)
    # channel first: the red plane, then green, then blue
    expect = (photo[5:10, 10:15].transpose(2, 0, 1) / 255).ravel()
    np.testing.assert_allclose(colour[row].numpy(), expect, rtol=1e-6)


# --- MNIST and Fashion-MNIST from IDX files ---------------------------------------------

@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("name, folder", [("mnist", None), ("mnist", "MNIST"),
                                          ("fashion-mnist", None),
                                          ("fashion-mnist", "FashionMNIST")])
def test_idx_sets_round_trip(tmp_path, name, folder, gz):
    where = tmp_path if folder is None else tmp_path / folder / "raw"
    train, train_labels = _mnist_like(4, seed=1)
    test, test_labels = _mnist_like(3, seed=2)
    _write_idx(where, "train-images-idx3-ubyte", train, gz)
    _write_idx(where, "train-labels-idx1-ubyte", train_labels, gz)
    _write_idx(where, "t10k-images-idx3-ubyte", test, gz)
    _write_idx(where, "t10k-labels-idx1-ubyte", test_labels, gz)
    X, y = load(name, tmp_path, return_labels=True)
    assert X.shape == (4, 784) and X.dtype == torch.float32
    np.testing.assert_array_equal(X.numpy(), (train.reshape(4, -1) / 255).astype(np.float32))
    assert X[0, 0] == 1.0 and X[0, 783] == 0.0
    np.testing.assert_array_equal(y.numpy(), train_labels)
    Xt, yt = load(name, str(tmp_path), split="test", return_labels=True)
    np.testing.assert_array_equal(Xt.numpy(), (test.reshape(3, -1) / 255).astype(np.float32))
    np.testing.assert_array_equal(yt.numpy(), test_labels)
    assert image_shape(name) == (1, 28, 28)


def test_read_idx_other_types_and_bad_files(tmp_path):
    values = np.arange(-6, 6, dtype=">i2").reshape(3, 4)
    path = tmp_path / "shorts"
    path.write_bytes(bytes([0, 0, 0x0B, 2]) + struct.pack(">II", 3, 4) + values.tobytes())
    np.testing.assert_array_equal(read_idx(path), values.astype(np.int16))
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(_idx_bytes(np.zeros((2, 3), np.uint8))[:-1])
    with pytest.raises(ValueError, match="not a valid IDX file"):
        read_idx(tmp_path / "short")


# --- CIFAR-10 from python batches -------------------------------------------------------

def _write_cifar(folder, seed):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    batches = {}
    for stem in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"batch_label": b"x", b"data": rng.integers(0, 256, (2, 3072), np.uint8),
                 b"labels": [int(v) for v in rng.integers(0, 10, 2)]}
        with open(folder / stem, "wb") as fh:
            pickle.dump(batch, fh, protocol=2)
        batches[stem] = batch
    return batches


@pytest.mark.parametrize("parent", [True, False])
def test_cifar10_round_trip(tmp_path, parent):
    batches = _write_cifar(tmp_path / "cifar-10-batches-py", seed=3)
    root = tmp_path if parent else tmp_path / "cifar-10-batches-py"
    X, y = load("cifar10", root, return_labels=True)
    data = np.concatenate([batches[f"data_batch_{i}"][b"data"] for i in range(1, 6)])
    labels = sum((batches[f"data_batch_{i}"][b"labels"] for i in range(1, 6)), [])
    assert X.shape == (10, 3072)
    np.testing.assert_array_equal(X.numpy(), (data / 255).astype(np.float32))
    assert y.tolist() == labels
    Xt, yt = load("cifar10", root, split="test", return_labels=True)
    np.testing.assert_array_equal(Xt.numpy(),
                                  (batches["test_batch"][b"data"] / 255).astype(np.float32))
    assert yt.tolist() == batches["test_batch"][b"labels"]
    assert image_shape("cifar10") == (3, 32, 32)


# --- errors -------------------------------------------------------------------------------

def test_unknown_name_lists_the_sets():
    with pytest.raises(ValueError, match="name = 'svhn' is invalid") as info:
        load("svhn")
    for name in DATASETS:
        assert name in str(info.value)
    with pytest.raises(ValueError, match="name"):
        image_shape(3)


def test_bad_split_and_counts():
    with pytest.raises(ValueError, match="split = 'valid' is invalid.*train, test"):
        load("digits", split="valid")
    with pytest.raises(ValueError, match="n_patches = 0 is invalid"):
        load("patches", n_patches=0)
    with pytest.raises(ValueError, match="n_patches = 9000 is invalid: at most 8480"):
        load("patches", n_patches=9000)
    with pytest.raises(ValueError, match="patch_size = 500 is invalid"):
        load("patches", patch_size=500)
    with pytest.raises(ValueError, match="patch_size"):
        load("patches", patch_size=2.5)
    with pytest.raises(ValueError, match="seed"):
        load("patches", seed=-1)


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "cifar10"])
def test_root_required(name):
    with pytest.raises(ValueError, match=f"root is required for '{name}'"):
        load(name)


def test_missing_files_name_files_and_folders(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load("fashion-mnist", tmp_path, split="test")
    message = str(info.value)
    assert "t10k-images-idx3-ubyte" in message and "t10k-labels-idx1-ubyte" in message
    assert str(tmp_path) in message and str(tmp_path / "FashionMNIST" / "raw") in message
    # the images alone are not enough
    _write_idx(tmp_path, "train-images-idx3-ubyte", _mnist_like(2, 0)[0], gz=False)
    with pytest.raises(FileNotFoundError, match="train-labels-idx1-ubyte"):
        load("mnist", tmp_path)
    with pytest.raises(FileNotFoundError, match="data_batch_1.*cifar-10-batches-py"):
        load("cifar10", tmp_path)


def test_photographs_are_decoded_once():
    datasets._photographs()
    assert datasets._photographs.cache_info().currsize == 1
