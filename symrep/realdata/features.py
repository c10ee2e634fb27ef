"""Feature networks for the Frechet distance of small images.

The Frechet Inception Distance of the paper needs Inception-v3 weights, which are not
always at hand (and say little about 8 x 8 images). symrep therefore trains and ships a
small classifier per data set; its penultimate layer is the feature vector:

    x (flattened, standardised) -> Linear(N, hidden) - ReLU - Linear(hidden, 64) - ReLU
      = features -> Linear(64, n_classes) (the training head)

Shipped weights (``symrep/realdata/weights``): "digits" (scikit-learn's 8 x 8 digits,
classifying the digit) and "patches" (8 x 8 grayscale patches of scikit-learn's two
sample photographs; no labels, so the task is self-supervised: predicting which of the
two photographs and which of its four quadrants a patch was cut from, 8 classes; the
rotation task, 0/90/180/270 degrees, reached only 29% on held-out patches against 25% by
chance, as most patches look alike in every orientation). Regenerate them with
``python -m symrep.realdata.features --dataset digits`` (or ``patches``): training is
seeded, so the weights are reproducible up to floating-point summation order.

For other data sets, :func:`feature_network` trains a network on first use (with labels
when given, else on the rotation task) and caches its state_dict under
``cache_dir() / "features"``.
"""

from __future__ import annotations

import argparse
import io
import logging
import math
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from symrep.io import read_checksummed, write_checksummed
from symrep.validation import check_finite_float, check_positive_int, check_seed

__all__ = ["FeatureNetwork", "SHIPPED", "N_FEATURES", "train_feature_network",
           "feature_network", "load_feature_network", "shipped_weights_path"]

logger = logging.getLogger("symrep.realdata")

#: Data sets whose feature networks ship with symrep, and their image shapes.
SHIPPED = {"digits": (1, 8, 8), "patches": (1, 8, 8)}

#: Size of the feature vector.
N_FEATURES = 64

_WEIGHTS = Path(__file__).parent / "weights"


class FeatureNetwork(nn.Module):
    """Small MLP classifier whose penultimate layer gives the image features.

    Parameters
    ----------
    image_shape : tuple of int
        (C, H, W) of the images.
    n_classes : int
        Classes of the training task.
    hidden : int, default 128
    n_features : int, default 64

    Attributes
    ----------
    num_features : int
        Feature size (read by ``torchmetrics``' ``FrechetInceptionDistance``).
    heldout_accuracy : float
        Accuracy of the training task on held-out data (NaN before training).
    """

    def __init__(self, image_shape, n_classes, *, hidden=128, n_features=N_FEATURES):
        super().__init__()
        N = math.prod(image_shape)
        self.num_features = check_positive_int("n_features", n_features)
        self.body = nn.Sequential(nn.Linear(N, check_positive_int("hidden", hidden)), nn.ReLU(),
                                  nn.Linear(hidden, n_features), nn.ReLU())
        self.head = nn.Linear(n_features, check_positive_int("n_classes", n_classes))
        self.register_buffer("image_shape_", torch.tensor(tuple(image_shape)))
        self.register_buffer("pixel_mean", torch.zeros(N))
        self.register_buffer("pixel_scale", torch.ones(()))
        self.register_buffer("accuracy_", torch.tensor(float("nan")))

    @property
    def image_shape(self):
        """(C, H, W) of the inputs."""
        return tuple(int(s) for s in self.image_shape_)

    @property
    def heldout_accuracy(self):
        """Classification accuracy on the held-out images, measured when the network was trained."""
        return float(self.accuracy_)

    def features(self, x):
        """Feature vectors (n, num_features), float32, of images (n, C, H, W) or (n, N).

        Parameters
        ----------
        x : Tensor (n, C, H, W) or (n, N)
            Images, or their flattened pixels.

        Returns
        -------
        Tensor (n, num_features)
            The feature vectors.
        """
        x = x.reshape(x.shape[0], -1).to(self.pixel_mean.dtype)
        return self.body((x - self.pixel_mean) / self.pixel_scale)

    def logits(self, x):
        """Class scores of the training task, (n, n_classes).

        Parameters
        ----------
        x : Tensor (n, C, H, W) or (n, N)
            Images, or their flattened pixels.

        Returns
        -------
        Tensor (n, n_classes)
            The class scores.
        """
        return self.head(self.features(x))

    def forward(self, x):
        """Features in float64 (the Frechet distance is computed in that precision).

        Parameters
        ----------
        x : Tensor (n, C, H, W) or (n, N)
            Images, or their flattened pixels.

        Returns
        -------
        Tensor (n, num_features), float64
            The feature vectors.
        """
        return self.features(x).double()

    @classmethod
    def from_state_dict(cls, state):
        """Rebuild a network from its state_dict (the sizes are read off the weights).

        Parameters
        ----------
        state : dict
            A state_dict of a :class:`FeatureNetwork` (with its ``image_shape_`` buffer).

        Returns
        -------
        FeatureNetwork
            The network, in evaluation mode.

        Raises
        ------
        ValueError
            If the image shape and the input size of the weights disagree.
        """
        hidden, N = state["body.0.weight"].shape
        net = cls(tuple(int(s) for s in state["image_shape_"]), state["head.weight"].shape[0],
                  hidden=hidden, n_features=state["body.2.weight"].shape[0])
        if math.prod(net.image_shape) != N:
            raise ValueError("state is invalid: image shape and input size disagree")
        net.load_state_dict(state)
        return net.eval()


def _rotations(images):
    """All four rotations of square images (n, C, H, H): images (4n, ...) and labels k."""
    rotated = torch.cat([torch.rot90(images, k, dims=(-2, -1)) for k in range(4)])
    labels = torch.arange(4).repeat_interleave(images.shape[0])
    return rotated, labels


def train_feature_network(name, X, labels, image_shape, *, hidden=128,
                          n_features=N_FEATURES, epochs=60, batch_size=128, lr=1e-3,
                          test_fraction=0.2, seed=0):
    """Train a feature network on images X, with labels or on the rotation task.

    Parameters
    ----------
    name : str
        Data set name (for the log).
    X : Tensor or array_like (P, N)
        Images, flattened, pixels in [0, 1].
    labels : array_like of int (P,), optional
        Class of each image; None trains the self-supervised task of predicting the
        rotation (0, 90, 180, 270 degrees) of each image (H = W needed).
    image_shape : tuple of int
        (C, H, W), C H W = N.
    hidden, n_features : int
        Widths of the two hidden layers.
    epochs, batch_size : int
        Adam epochs and mini-batch size (>= 1).
    lr : float
        Adam learning rate (> 0).
    test_fraction : float, default 0.2
        Share of the images (a seeded random split) held out for the accuracy, in (0, 1).
    seed : int, default 0
        Seed of the split, the initialisation and the mini-batch order.

    Returns
    -------
    FeatureNetwork
        In eval mode, with ``heldout_accuracy`` set.
    """
    from symrep.realdata.training import check_image_shape, check_samples

    X = check_samples(X)
    shape = check_image_shape(image_shape, X.shape[1])
    if len(shape) != 3:
        raise ValueError(f"image_shape = {image_shape!r} is invalid: expected (C, H, W)")
    epochs = check_positive_int("epochs", epochs)
    batch_size = check_positive_int("batch_size", batch_size)
    lr = check_finite_float("lr", lr, low=0.0)
    test_fraction = check_finite_float("test_fraction", test_fraction, low=0.0, high=1.0)
    seed = check_seed(seed)
    images = X.reshape(-1, *shape)
    P = images.shape[0]
    split = np.random.default_rng(seed).permutation(P)
    n_test = max(1, int(round(test_fraction * P)))
    if n_test >= P:
        raise ValueError(f"test_fraction = {test_fraction} is invalid: no training images "
                         f"left of P = {P}")
    test, train = torch.as_tensor(split[:n_test]), torch.as_tensor(split[n_test:])
    if labels is None:
        if shape[1] != shape[2]:
            raise ValueError(f"image_shape = {image_shape!r} is invalid: the rotation task "
                             "(labels = None) needs square images")
        x_train, y_train = _rotations(images[train])
        x_test, y_test = _rotations(images[test])
        n_classes = 4
    else:
        y = np.asarray(labels)
        if y.shape != (P,) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
            raise ValueError("labels is invalid: labels must be P non-negative integers")
        y = torch.as_tensor(y, dtype=torch.long)
        x_train, y_train, x_test, y_test = images[train], y[train], images[test], y[test]
        n_classes = int(y.max()) + 1
    x_train, x_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)

    torch_gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # nn.Linear initialises from the global generator
        net = FeatureNetwork(shape, n_classes, hidden=hidden, n_features=n_features)
    net.pixel_mean.copy_(x_train.mean(0))
    net.pixel_scale.copy_((x_train - x_train.mean(0)).std().clamp_min(1e-6))
    optimiser = torch.optim.Adam(net.parameters(), lr=lr)
    net.train()
    for epoch in range(epochs):
        order = torch.randperm(len(x_train), generator=torch_gen)
        total = 0.0
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            loss = F.cross_entropy(net.logits(x_train[idx]), y_train[idx])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(idx)
        logger.debug("feature network %s, epoch %d: loss %.4g", name, epoch + 1,
                     total / len(order))
    net.eval()
    with torch.no_grad():
        accuracy = (net.logits(x_test).argmax(1) == y_test).double().mean()
    net.accuracy_.copy_(accuracy)
    logger.info("feature network %s: held-out accuracy %.4f (%d test samples)", name,
                float(accuracy), len(y_test))
    return net


def shipped_weights_path(name):
    """Path of the shipped weights of data set ``name`` (one of :data:`SHIPPED`).

    Parameters
    ----------
    name : str
        The data set.

    Returns
    -------
    Path
        The weights file inside the package.

    Raises
    ------
    ValueError
        If no network is shipped for ``name``.
    """
    if name not in SHIPPED:
        raise ValueError(f"name = {name!r} is invalid: shipped feature networks are "
                         f"{', '.join(SHIPPED)}")
    return _WEIGHTS / f"{name}.pt"


def load_feature_network(path):
    """Load a feature network from a state_dict file written by ``torch.save``.

    Parameters
    ----------
    path : str or Path
        The file (loaded on the CPU, weights only).

    Returns
    -------
    FeatureNetwork
        The network, in evaluation mode.
    """
    return FeatureNetwork.from_state_dict(torch.load(path, map_location="cpu",
                                                     weights_only=True))


def _cache_path(name, image_shape):
    from symrep.numeric.codegen import cache_dir

    return cache_dir() / "features" / f"{name}-{'x'.join(map(str, image_shape))}.pt"


def _check_name(name):
    if not isinstance(name, str) or not name or not name.replace("-", "").replace(
            "_", "").isalnum():
        raise ValueError(f"name = {name!r} is invalid: name must be a data set name of "
                         "letters, digits, '-' and '_'")
    return name


def feature_network(name, X=None, labels=None, image_shape=None):
    """The feature network of data set ``name``: shipped, cached, or trained now.

    Parameters
    ----------
    name : str
        "digits" and "patches" load the shipped weights (X, labels are ignored). Any
        other name loads the network cached for (name, image_shape), or trains one on X
        (with ``labels``, or on the rotation task without them) and caches it.
    X : Tensor or array_like (P, N), optional
        Training images, needed when nothing is cached.
    labels : array_like of int (P,), optional
    image_shape : tuple of int, optional
        (C, H, W); needed for data sets that do not ship.

    Returns
    -------
    FeatureNetwork
        In eval mode.
    """
    name = _check_name(name)
    if name in SHIPPED:
        net = load_feature_network(shipped_weights_path(name))
        if image_shape is not None and tuple(image_shape) != net.image_shape:
            raise ValueError(f"image_shape = {image_shape!r} is invalid: the {name} feature "
                             f"network takes images of shape {net.image_shape}")
        return net
    if image_shape is None:
        raise ValueError(f"image_shape = None is invalid: the {name} feature network needs "
                         "the image shape (C, H, W)")
    shape = tuple(check_positive_int("image_shape", s) for s in image_shape)
    path = _cache_path(name, shape)
    data = read_checksummed(path)
    if data is not None:
        try:
            return FeatureNetwork.from_state_dict(
                torch.load(io.BytesIO(data), map_location="cpu", weights_only=True))
        except (RuntimeError, KeyError, ValueError, EOFError):
            logger.warning("ignoring an unreadable cached feature network at %s", path)
    if X is None:
        raise ValueError(f"X = None is invalid: no feature network is cached for {name!r} "
                         f"with image shape {shape}; pass its training images X (and labels)")
    net = train_feature_network(name, X, labels, shape)
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_checksummed(path, buffer.getvalue())
    return net


def _digits():
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.data / 16.0, digits.target


def _patches(size=8):
    """Non-overlapping size x size grayscale patches of scikit-learn's sample photographs.

    Labels: which photograph (0, 1) and which quadrant of it (top-left, top-right,
    bottom-left, bottom-right) the patch comes from, ``4 photograph + quadrant``.
    """
    from sklearn.datasets import load_sample_images

    patches, labels = [], []
    for number, image in enumerate(load_sample_images().images):
        grey = image.astype(np.float64) @ np.array([0.299, 0.587, 0.114]) / 255.0
        rows, cols = (s // size for s in grey.shape)
        blocks = grey[:rows * size, :cols * size].reshape(rows, size, cols, size)
        patches.append(blocks.swapaxes(1, 2).reshape(-1, size * size))
        quadrant = (np.arange(rows)[:, None] * 2 // rows) * 2 + np.arange(cols) * 2 // cols
        labels.append(4 * number + quadrant.ravel())
    return np.concatenate(patches), np.concatenate(labels)


def _regenerate(name, out=None):
    """Train the shipped network of ``name`` and write its state_dict (atomically)."""
    from symrep.io import atomic_path

    X, labels = {"digits": _digits, "patches": _patches}[name]()
    net = train_feature_network(name, torch.as_tensor(X, dtype=torch.float32), labels,
                                SHIPPED[name])
    path = Path(out) if out is not None else shipped_weights_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(net.state_dict(), tmp)
    return net, path


def main(argv=None):
    """``python -m symrep.realdata.features --dataset digits``: regenerate shipped weights.

    Parameters
    ----------
    argv : list of str, optional
        The command-line arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 on success, 2 for bad input, 1 for a failed file operation, 130
        on Ctrl-C.
    """
    parser = argparse.ArgumentParser(prog="python -m symrep.realdata.features",
                                     description="Train a shipped feature network and "
                                     "write its weights.")
    parser.add_argument("--dataset", required=True, choices=sorted(SHIPPED))
    parser.add_argument("--out", default=None, help="output file (default: the shipped "
                        "weights in symrep/realdata/weights)")
    args = parser.parse_args(argv)
    try:
        net, path = _regenerate(args.dataset, args.out)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2 if isinstance(err, ValueError) else 1
    print(f"{args.dataset}: held-out accuracy {net.heldout_accuracy:.4f}, "
          f"{path.stat().st_size} bytes in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
