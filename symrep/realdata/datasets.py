"""Image data sets as data matrices (P, N) with pixel values in [0, 1].

===================  =========================  ==========  ===================================
name                 source                     N           samples
===================  =========================  ==========  ===================================
``digits``           scikit-learn (offline)     64          1797 handwritten digits, 8 x 8
``patches``          scikit-learn's two         p^2 (3p^2)  non-overlapping p x p patches of
                     sample photographs                     the photographs (offline)
``mnist``            IDX files under ``root``   784         60000 train, 10000 test
``fashion-mnist``    IDX files under ``root``   784         60000 train, 10000 test
``cifar10``          python batches under       3072        50000 train, 10000 test
                     ``root``
===================  =========================  ==========  ===================================

Every sample is one row, flattened channel first (C, H, W), scaled to [0, 1] and *not*
centred: the spiked covariance model (docs/model.md) has zero mean, so the estimators of
:mod:`symrep.realdata.spectrum` and the experiments subtract the column means themselves;
the loader keeps the raw scale so that images can be shown and compared as they are.

The files of MNIST, Fashion-MNIST and CIFAR-10 are read in their original formats (IDX and
pickled python batches) by the small readers of this module, without torchvision (which
pins its own torch). Nothing is downloaded.
"""

from __future__ import annotations

import gzip
import pickle
from functools import lru_cache
from pathlib import Path

import numpy as np

from symrep.validation import check_seed

__all__ = ["DATASETS", "SPLITS", "load", "image_shape", "read_idx"]

#: The names :func:`load` accepts (case-insensitive).
DATASETS = ("digits", "patches", "mnist", "fashion-mnist", "cifar10")
#: The splits of the data sets that have them.
SPLITS = ("train", "test")

# ITU-R BT.601 luma weights (R, G, B): the grayscale of JPEG and of PIL's "L" mode
_LUMA = np.array([0.299, 0.587, 0.114])

# IDX type codes -> big-endian numpy dtypes (the IDX format stores every number big-endian)
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

# file stems of the IDX sets, per split: (images, labels)
_IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
              "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
# folder of each IDX set in the torchvision layout: root/<folder>/raw/<file>
_TORCHVISION_FOLDER = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}

_CIFAR_FOLDER = "cifar-10-batches-py"
_CIFAR_FILES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)),
                "test": ("test_batch",)}

# (C, H, W) of one sample of the sets with a fixed shape
_FIXED_SHAPES = {"digits": (1, 8, 8), "mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28),
                 "cifar10": (3, 32, 32)}


def _check_name(name) -> str:
    key = str(name).strip().lower() if isinstance(name, str) else None
    if key not in DATASETS:
        raise ValueError(f"name = {name!r} is invalid: choose from {', '.join(DATASETS)}")
    return key


def _check_split(split) -> str:
    if split not in SPLITS:
        raise ValueError(f"split = {split!r} is invalid: choose from {', '.join(SPLITS)}")
    return split


def _check_count(name, value, *, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or value < 1:
        raise ValueError(f"{name} = {value!r} is invalid: must be an integer >= 1")
    return int(value)


def image_shape(name, *, patch_size=8, grayscale=True):
    """The shape (C, H, W) of one sample of a data set.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS` (case-insensitive).
    patch_size : int, default 8
        Side of the patches (``"patches"`` only).
    grayscale : bool, default True
        One channel instead of three (``"patches"`` only).

    Returns
    -------
    tuple of int
        (C, H, W); a flattened sample has N = C * H * W entries.
    """
    key = _check_name(name)
    if key == "patches":
        p = _check_count("patch_size", patch_size)
        return (1 if grayscale else 3, p, p)
    return _FIXED_SHAPES[key]


def load(name, root=None, *, split="train", patch_size=8, n_patches=None, seed=0,
         grayscale=True, return_labels=False):
    """Load a data set as a float32 matrix (P, N), one flattened image per row.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS` (case-insensitive).
    root : path, optional
        Folder of the files of ``"mnist"``, ``"fashion-mnist"`` and ``"cifar10"``
        (required for them; ignored by ``"digits"`` and ``"patches"``, which ship with
        scikit-learn). MNIST-like sets: the IDX files ``train-images-idx3-ubyte``,
        ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
        ``t10k-labels-idx1-ubyte`` (or the same names with ``.gz``), either in ``root``
        itself or in ``root/MNIST/raw`` / ``root/FashionMNIST/raw`` (torchvision's layout).
        CIFAR-10: ``root`` is the folder ``cifar-10-batches-py`` or its parent.
    split : {"train", "test"}, default "train"
        Which part of the data set. ``"digits"`` and ``"patches"`` have no split and
        return all their samples for either value.
    patch_size : int, default 8
        ``"patches"``: side p of the square patches (N = p^2, or 3 p^2 in colour).
    n_patches : int, optional
        ``"patches"``: keep the first ``n_patches`` after shuffling (default: all).
    seed : int, default 0
        ``"patches"``: seed of the shuffle (``numpy.random.default_rng``).
    grayscale : bool, default True
        ``"patches"``: convert to gray with the ITU-R 601 luma weights; with False keep
        the three colour channels. CIFAR-10 is always in colour, the others gray.
    return_labels : bool, default False
        Also return the labels: the class of each image (digits, MNIST, Fashion-MNIST,
        CIFAR-10) or, for ``"patches"``, the index of the photograph the patch was cut
        from (0 ``china.jpg``, 1 ``flower.jpg``).

    Returns
    -------
    X : torch.Tensor of shape (P, N), float32
        Pixel values in [0, 1], flattened channel first (C, H, W), not centred.
    labels : torch.Tensor of shape (P,), int64
        Only with ``return_labels=True``.

    Raises
    ------
    ValueError
        An unknown name or split, a bad patch size or count, or no ``root`` for a set
        that is read from files.
    FileNotFoundError
        A file of the set is missing; the message names the files and the folders
        searched.
    """
    key = _check_name(name)
    split = _check_split(split)
    if key == "digits":
        images, labels = _digits()
    elif key == "patches":
        images, labels = _patches(_check_count("patch_size", patch_size),
                                  _check_count("n_patches", n_patches, allow_none=True),
                                  check_seed(seed), bool(grayscale))
    else:
        if root is None:
            raise ValueError(f"root is required for {key!r}: the folder of its files "
                             "(nothing is downloaded)")
        if key == "cifar10":
            images, labels = _cifar10(Path(root), split)
        else:
            images, labels = _idx_set(key, Path(root), split)
    import torch  # here, not above: the shapes and names of this module need no torch

    X = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    if return_labels:
        return X, torch.from_numpy(np.asarray(labels, dtype=np.int64))
    return X


# --- the offline sets -------------------------------------------------------------------

def _digits():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    # the pixels are counts of set bits in 4 x 4 blocks of a 32 x 32 bitmap: 0..16
    return bunch.data / 16.0, bunch.target


@lru_cache(maxsize=1)
def _photographs():
    # decoding the two JPEGs takes most of a second: keep them for the next call
    from sklearn.datasets import load_sample_images

    images = tuple(np.asarray(img) for img in load_sample_images().images)
    for img in images:
        img.setflags(write=False)
    return images


def _patches(patch_size, n_patches, seed, grayscale):
    photos = _photographs()
    smallest = min(min(img.shape[:2]) for img in photos)
    if patch_size > smallest:
        raise ValueError(f"patch_size = {patch_size} is invalid: must be between 1 and "
                         f"{smallest} (the smaller side of the photographs)")
    rows, labels = [], []
    for index, img in enumerate(photos):
        img = img.astype(np.float64)
        if grayscale:
            img = (img @ _LUMA)[..., None]
        h, w, c = img.shape
        nh, nw = h // patch_size, w // patch_size
        # (nh, p, nw, p, c) -> (nh, nw, c, p, p): one channel-first patch per (i, j)
        blocks = img[:nh * patch_size, :nw * patch_size].reshape(
            nh, patch_size, nw, patch_size, c).transpose(0, 2, 4, 1, 3)
        rows.append(blocks.reshape(nh * nw, c * patch_size * patch_size))
        labels.append(np.full(nh * nw, index))
    X, y = np.concatenate(rows) / 255.0, np.concatenate(labels)
    if n_patches is not None and n_patches > len(X):
        raise ValueError(f"n_patches = {n_patches} is invalid: at most {len(X)} patches of "
                         f"size {patch_size} exist")
    order = np.random.default_rng(seed).permutation(len(X))[:n_patches]
    return X[order], y[order]


# --- MNIST and Fashion-MNIST: IDX files --------------------------------------------------

def read_idx(path) -> np.ndarray:
    """Read an IDX file (the format of MNIST and Fashion-MNIST), gzipped or not.

    The format: two zero bytes, a type code (0x08 unsigned byte, 0x09 signed byte,
    0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions, each
    dimension as a big-endian uint32, then the values, big-endian, in C order.

    Parameters
    ----------
    path : path
        The file; a name ending in ``.gz`` is decompressed.

    Returns
    -------
    ndarray
        The array in its stored shape, in native byte order.

    Raises
    ------
    ValueError
        If the file is not IDX or its size does not match its header.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        data = fh.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise ValueError(f"{path} is not an IDX file: bad magic number {data[:4].hex()}")
    dtype, ndim = np.dtype(_IDX_TYPES[data[2]]), data[3]
    header = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(data[4:header], dtype=">u4"))
    expected = header + dtype.itemsize * int(np.prod(shape, dtype=np.int64))
    if len(data) != expected:
        raise ValueError(f"{path} is not a valid IDX file: {len(data)} bytes, the header "
                         f"{shape} of {dtype} asks for {expected}")
    values = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="))


def _find(folders, stems):
    """The first folder holding every file (raw or .gz) of ``stems``, with their paths."""
    for folder in folders:
        paths = []
        for stem in stems:
            found = [folder / name for name in (stem, stem + ".gz") if (folder / name).is_file()]
            if not found:
                break
            paths.append(found[0])
        else:
            return paths
    searched = ", ".join(str(f) for f in folders)
    raise FileNotFoundError(f"files {', '.join(stems)} (or the same with .gz) not found; "
                            f"searched {searched}")


def _idx_set(key, root, split):
    folders = [root, root / _TORCHVISION_FOLDER[key] / "raw"]
    image_path, label_path = _find(folders, _IDX_FILES[split])
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"{image_path} and {label_path} do not match: images of shape "
                         f"{images.shape}, labels of shape {labels.shape}")
    return images.reshape(len(images), -1) / 255.0, labels


# --- CIFAR-10: pickled python batches ---------------------------------------------------

def _cifar10(root, split):
    stems = _CIFAR_FILES[split]
    folders = [root / _CIFAR_FOLDER, root] if root.name != _CIFAR_FOLDER else [root]
    for folder in folders:
        if all((folder / s).is_file() for s in stems):
            break
    else:
        raise FileNotFoundError(f"CIFAR-10 files {', '.join(stems)} not found; searched "
                                f"{', '.join(str(f) for f in folders)}")
    images, labels = [], []
    for stem in stems:
        with open(folder / stem, "rb") as fh:
            # the batches are pickled by Python 2: bytes keys, latin-1 for the str values
            batch = pickle.load(fh, encoding="bytes")
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3072:
            raise ValueError(f"{folder / stem} is not a CIFAR-10 batch: data of shape "
                             f"{data.shape}, expected (n, 3072)")
        images.append(data)
        labels.append(np.asarray(batch[b"labels"], dtype=np.int64))
    # each row is already channel first: 1024 red, 1024 green, 1024 blue values
    return np.concatenate(images) / 255.0, np.concatenate(labels)
