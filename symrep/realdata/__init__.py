"""Real data: does the linear theory predict what VAEs do on images? (Sec. 6.5)

The pipeline, one module per step:

- :mod:`~symrep.realdata.datasets`: images as (P, N) float tensors in [0, 1] (digits and
  natural-image patches ship with scikit-learn; MNIST, Fashion-MNIST and CIFAR-10 are
  read from their original files);
- :mod:`~symrep.realdata.spectrum`: the spiked-covariance parameters (eta, rho) from
  the sample covariance (Marchenko-Pastur fit, or the paper's cumulative-variance cut);
- :mod:`~symrep.realdata.vae`, :mod:`~symrep.realdata.training`,
  :mod:`~symrep.realdata.evaluation`: MLP, convolutional and linear VAEs, many runs
  trained at once, held-out rate and reconstruction;
- :mod:`~symrep.realdata.features`, :mod:`~symrep.realdata.frechet`: the Frechet
  distance of generated images (a shipped feature network, or Inception where its
  weights are present);
- :mod:`~symrep.realdata.theory`: the theory's predictions at the estimated parameters;
- :mod:`~symrep.realdata.experiment`: the experiment of ``symrep realdata``, its
  batches of VAEs run as a grid (:mod:`~symrep.realdata.grid`: resumable from a Zarr
  store, on Dask).

``load`` and ``estimate_spectrum`` are imported on first use (torch and scikit-learn
load only when needed).
"""

from symrep._lazy import lazy_getattr

__all__ = ["load", "image_shape", "estimate_spectrum", "cumulative_noise",
           "run_experiment", "DATASETS"]

_LAZY = {
    "load": "symrep.realdata.datasets",
    "image_shape": "symrep.realdata.datasets",
    "DATASETS": "symrep.realdata.datasets",
    "estimate_spectrum": "symrep.realdata.spectrum",
    "cumulative_noise": "symrep.realdata.spectrum",
    "run_experiment": "symrep.realdata.experiment",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())
