"""Frechet distance between real and generated images (torchmetrics' FID).

The distance ``||m_r - m_g||^2 + tr(S_r + S_g - 2 (S_r S_g)^(1/2))`` between Gaussians
fitted to the features of real and generated images is computed by
``torchmetrics.image.fid.FrechetInceptionDistance`` with a feature network:

- Inception-v3 (2048 pool features), as in App. D of the paper, when ``torch_fidelity``
  is installed and its weights file is already in the torch hub cache (nothing is
  downloaded): grey images are replicated to RGB, pixels clipped to [0, 1] and images
  resized to 299 x 299;
- otherwise the small feature network of the data set (:mod:`symrep.realdata.features`):
  shipped for "digits" and "patches", cached after a first training for others.

Images enter as flattened rows (n, N) in pixel units (add back the mean of centred data).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from symrep.realdata.features import feature_network
from symrep.realdata.training import check_image_shape, check_samples

__all__ = ["frechet_distance", "frechet_distances", "inception_weights_path",
           "inception_available", "resolve_features", "INCEPTION_WEIGHTS"]

#: File name of torch-fidelity's Inception-v3 weights in the torch hub cache.
INCEPTION_WEIGHTS = "weights-inception-2015-12-05-6726825d.pth"

_FEATURE_CHOICES = ("auto", "inception", "network")


def inception_weights_path():
    """Where torch-fidelity keeps its Inception weights: the torch hub checkpoints folder.

    Returns
    -------
    Path
        The expected file of the Inception weights (it may not exist).
    """
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_WEIGHTS


def inception_available():
    """True when torch_fidelity is installed and the Inception weights are present locally.

    Returns
    -------
    bool
        Whether Inception features can be computed offline.
    """
    return (importlib.util.find_spec("torch_fidelity") is not None
            and inception_weights_path().is_file())


class _InceptionInput(nn.Module):
    """Inception-v3 pool features of flattened images in [0, 1] (grey -> RGB, 299 x 299)."""

    def __init__(self, image_shape):
        super().__init__()
        from torchmetrics.image.fid import NoTrainInceptionV3

        self.image_shape = image_shape
        self.num_features = 2048
        self.inception = NoTrainInceptionV3(
            name="inception-v3-compat", features_list=["2048"],
            feature_extractor_weights_path=str(inception_weights_path()))

    def forward(self, x):
        x = x.reshape(-1, *self.image_shape).clamp(0.0, 1.0)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        return self.inception((x * 255).round().to(torch.uint8)).double()


def resolve_features(features, dataset, image_shape):
    """The feature module for ``features``: "auto", "inception", "network" or a module.

    "auto" is Inception when :func:`inception_available`, else "network", the feature
    network of ``dataset`` (:func:`symrep.realdata.features.feature_network`). A module
    must have an int attribute ``num_features`` and map images (n, C, H, W) to features
    (n, num_features).

    Parameters
    ----------
    features : {"auto", "inception", "network"} or torch.nn.Module
        The feature extractor to use.
    dataset : str
        The data set, whose feature network "network" (and "auto" without Inception) loads.
    image_shape : tuple of int
        (C, H, W) of the images.

    Returns
    -------
    torch.nn.Module
        A module mapping images (n, C, H, W) to features (n, num_features).

    Raises
    ------
    ValueError
        If ``features`` is none of the choices, a module without ``num_features``, or
        "inception" where torch_fidelity or its weights are missing.
    """
    if isinstance(features, nn.Module):
        if not isinstance(getattr(features, "num_features", None), int):
            raise ValueError("features is invalid: a feature module needs an int attribute "
                             "num_features")
        return features
    if features not in _FEATURE_CHOICES:
        raise ValueError(f"features = {features!r} is invalid: features must be one of "
                         f"{', '.join(_FEATURE_CHOICES)} or a torch module")
    if features == "inception" or (features == "auto" and inception_available()):
        if not inception_available():
            raise ValueError("features = 'inception' is invalid here: torch_fidelity or "
                             f"the Inception weights ({inception_weights_path()}) are missing")
        return _InceptionInput(image_shape)
    return feature_network(dataset, image_shape=image_shape)


def _metric(module):
    from torchmetrics.image.fid import FrechetInceptionDistance

    return FrechetInceptionDistance(feature=module, reset_real_features=False)


def _images(X, name, image_shape, n_inputs):
    X = check_samples(X, name, n_inputs)
    if X.shape[0] < 2:
        raise ValueError(f"{name} is invalid: the Frechet distance needs at least 2 samples")
    return X.reshape(-1, *image_shape)


def _prepare(real, dataset, image_shape, features):
    N = real.shape[-1] if hasattr(real, "shape") and len(real.shape) == 2 else None
    if N is None:
        raise ValueError("real is invalid: real must be a 2-d array (samples x inputs)")
    shape = check_image_shape(image_shape, N)
    if len(shape) != 3:
        raise ValueError(f"image_shape = {image_shape!r} is invalid: expected (C, H, W)")
    module = resolve_features(features, dataset, shape)
    metric = _metric(module)
    metric.update(_images(real, "real", shape, N), real=True)
    return metric, shape, N


def _compute(metric):
    value = float(metric.compute())
    if not np.isfinite(value):
        raise FloatingPointError("the Frechet distance is not finite (degenerate features?)")
    # Round-off in the matrix square root can leave a tiny negative value for equal sets.
    return max(value, 0.0)


def frechet_distance(real, fake, *, dataset, image_shape, features="auto"):
    """Frechet distance between the features of real and generated images.

    Parameters
    ----------
    real, fake : Tensor or array_like (n, N)
        Flattened images in pixel units, at least 2 of each.
    dataset : str
        Data set whose feature network is used ("digits", "patches", or a name with a
        cached network, see :func:`symrep.realdata.features.feature_network`).
    image_shape : tuple of int
        (C, H, W), C H W = N.
    features : {"auto", "inception", "network"} or torch module, default "auto"
        See :func:`resolve_features`.

    Returns
    -------
    float
    """
    metric, shape, N = _prepare(real, dataset, image_shape, features)
    with torch.no_grad():
        metric.update(_images(fake, "fake", shape, N), real=False)
        return _compute(metric)


def frechet_distances(real, fakes, *, dataset, image_shape, features="auto"):
    """Frechet distance of each run's generated images to the same real images.

    The features and statistics of ``real`` are computed once.

    Parameters
    ----------
    real : Tensor or array_like (n, N)
    fakes : Tensor or array_like (R, n', N)
        Generated images of R runs (e.g. :func:`symrep.realdata.evaluation.generate`).
    dataset, image_shape, features :
        As in :func:`frechet_distance`.

    Returns
    -------
    ndarray (R,)
    """
    fakes = torch.as_tensor(fakes) if not isinstance(fakes, torch.Tensor) else fakes
    if fakes.dim() != 3:
        raise ValueError(f"fakes is invalid: fakes must be 3-d (runs x samples x inputs), "
                         f"got shape {tuple(fakes.shape)}")
    with torch.no_grad():
        metric, shape, N = _prepare(real, dataset, image_shape, features)
        out = np.empty(fakes.shape[0])
        for r in range(fakes.shape[0]):
            metric.reset()
            metric.update(_images(fakes[r], "fakes", shape, N), real=False)
            out[r] = _compute(metric)
    return out
