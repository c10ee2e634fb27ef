"""Does the theory predict collapse on real images? (Sec. 6.5 of the paper.)

For a data set the experiment

1. loads it (:func:`symrep.realdata.datasets.load`), keeps a held-out set and centres
   everything with the mean of the training pool (the linear VAE has no biases);
2. estimates the spiked-covariance parameters (eta, rho_1, rho_2, ...) from the whole
   training pool (:func:`symrep.realdata.spectrum.estimate_spectrum`, by default the
   paper's cumulative-variance cut at 90 %; its values at 80 and 95 % are recorded,
   and whether a Marchenko-Pastur fit exists at all);
3. for each sample complexity alpha = P/N trains VAEs of each kind (the MLP VAE of
   App. D and the linear VAE of docs/model.md, all runs of one alpha batched) on a
   random subset of P samples over a grid of beta and several seeds;
4. measures on the held-out set the rate (KL per sample), the reconstruction error and
   the Frechet distance between real and generated images;
5. sets the measurements beside the theory at the estimated parameters: the collapse
   threshold (rho_1 + eta for alpha -> infinity, and its finite-alpha value from the
   generic solver), the best beta (eta, and the finite-alpha minimiser of the signal
   recovery error), and the theory's rate along the beta grid.

The measured collapse threshold is the beta at which the seed-averaged rate first falls
below 1 % of its value at the smallest beta (interpolated in log beta between grid
points); the same rule applied to the theory's rate is reported beside the theory's
threshold itself (where its rate reaches zero), since a rate that falls continuously to
zero crosses 1 % below the threshold. The measured best beta is the grid point of
lowest seed-averaged Frechet distance.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field, replace

import numpy as np

__all__ = ["ExperimentSettings", "SETTINGS", "RealDataResult", "run_experiment",
           "collapse_beta", "best_grid_beta", "RATE_FRACTION", "output_files",
           "write_outputs", "summary_lines", "RUN_COLUMNS", "SUMMARY_COLUMNS",
           "exact_linear_vaes", "beta_grid", "split_data", "experiment_estimate"]

log = logging.getLogger("symrep.realdata")

#: The rate has collapsed where it is below this fraction of its value at small beta.
RATE_FRACTION = 0.01


@dataclass(frozen=True)
class ExperimentSettings:
    """Grid and training settings of one experiment.

    Attributes
    ----------
    alphas : tuple of float
        Sample complexities P/N (P samples drawn from the training pool).
    n_betas : int
        Points of the logarithmic beta grid, from ``beta_range[0] * eta`` to
        ``beta_range[1] * (rho_1 + eta)`` at the estimated parameters.
    beta_range : (float, float)
    n_betas_near : int
        Extra points, logarithmic over ``near_range`` times rho_1 + eta, where the
        rate falls to zero (they resolve the measured collapse threshold).
    near_range : (float, float)
    seeds : tuple of int
        Seeds (subset drawn, initialisation, mini-batch order).
    steps : int
        Adam steps per run (epochs are set so that every alpha gets about this many).
    min_epochs : int
    batch_size : int
    lr : float
    kinds : tuple of str
        VAE kinds ("mlp", "linear", "conv").
    latent : int
        Latent units of every VAE (the paper's MLP: 2); the theory uses M = latent.
    n_test : int
        Held-out samples (metrics, Frechet distance).
    spectrum_method : str
        Estimator of eta and rho (:func:`symrep.realdata.spectrum.estimate_spectrum`):
        "cumulative" (the paper's, default) or "mp". Real image spectra decay smoothly
        and have no Marchenko-Pastur bulk: the "mp" fit raises there (the experiment
        records its message in ``notes``).
    cutoff : float
        Cumulative explained-variance cut of the "cumulative" estimator.
    threads : int
        Torch threads while training on the CPU. The runs are small and batched: one
        thread is as fast, and on a shared machine extra threads that wait for each
        other cost several times (``docs/benchmarks.md``, "Real-data training").
    linear_exact : bool
        The linear VAE at its exact global minimum on the training subset
        (:func:`exact_linear_vaes`, default) instead of trained by Adam, which reaches
        it only slowly (the objective is flat along the encoder variance near collapse).
    """

    alphas: tuple = (1.0, 4.0, 16.0, 64.0)
    n_betas: int = 20
    beta_range: tuple = (0.03, 8.0)
    n_betas_near: int = 8
    near_range: tuple = (0.4, 1.2)
    seeds: tuple = (0, 1, 2, 3, 4)
    steps: int = 4000
    min_epochs: int = 20
    batch_size: int = 128
    lr: float = 1e-3
    kinds: tuple = ("mlp", "linear")
    latent: int = 2
    n_test: int = 297
    spectrum_method: str = "cumulative"
    cutoff: float = 0.9
    linear_exact: bool = True
    threads: int = 1

    def with_(self, **changes):
        """A copy of the settings with some fields changed.

        Parameters
        ----------
        **changes
            New values of fields, by name (as for :func:`dataclasses.replace`).

        Returns
        -------
        ExperimentSettings
            The new settings; this one is unchanged.
        """
        return replace(self, **changes)


#: The settings of ``symrep realdata`` (``--quick`` and the full run).
SETTINGS = {
    "quick": ExperimentSettings(alphas=(2.0, 16.0), n_betas=10, seeds=(0,), steps=800),
    "full": ExperimentSettings(),
}


@dataclass
class RealDataResult:
    """Everything one experiment measured and predicted.

    Attributes
    ----------
    dataset : str
    settings : ExperimentSettings
    spectrum : Spectrum
        The estimate (``settings.spectrum_method``) from the training pool.
    cumulative_eta : dict
        The paper's estimates of eta, cutoff -> eta.
    betas : ndarray
        The beta grid.
    runs : list of dict
        One row per trained VAE: kind, alpha, P, beta, seed, rate, reconstruction,
        frechet, final_loss.
    summary : list of dict
        One row per (kind, alpha): measured and predicted collapse threshold and best
        beta.
    theory : xarray.Dataset
        The theory on the (alpha, beta) grid.
    seconds : float
        Wall time of the whole experiment (data, spectrum, training, theory).
    notes : dict
        ``"grid"``: the batches computed and found in the store, and where they ran;
        ``"training_seconds"``: the wall time from the start to the last VAE trained
        (the same clock as ``seconds``); ``"mp"``: the Marchenko-Pastur fit.
    """

    dataset: str
    settings: ExperimentSettings
    spectrum: object
    cumulative_eta: dict
    betas: np.ndarray
    runs: list
    summary: list
    theory: object
    seconds: float = 0.0
    notes: dict = field(default_factory=dict)


def collapse_beta(betas, rate, fraction=RATE_FRACTION):
    """Where the rate first falls below ``fraction`` of its value at the smallest beta.

    Parameters
    ----------
    betas : 1-d array, increasing
    rate : 1-d array (same length)

    Returns
    -------
    float or None
        Interpolated linearly in (log beta, log rate) between the last grid point above
        the level and the first one below it; None where the rate never falls below it.
    """
    betas = np.asarray(betas, float)
    rate = np.asarray(rate, float)
    level = fraction * rate[0]
    below = np.nonzero(rate < level)[0]
    if not len(below) or below[0] == 0:
        return None
    k = int(below[0])
    b0, b1 = np.log(betas[k - 1]), np.log(betas[k])
    r0, r1 = rate[k - 1], rate[k]
    if r1 <= 0:  # an exactly collapsed run: interpolate the rate itself
        t = (r0 - level) / (r0 - r1)
    else:
        t = (np.log(r0) - np.log(level)) / (np.log(r0) - np.log(r1))
    return float(np.exp(b0 + t * (b1 - b0)))


def best_grid_beta(betas, values):
    """The grid beta of the smallest finite value.

    Parameters
    ----------
    betas : array_like (n,)
        The beta grid.
    values : array_like (n,)
        A value per beta (NaN ignored).

    Returns
    -------
    float
        The beta of the smallest value.
    """
    values = np.asarray(values, float)
    return float(np.asarray(betas, float)[int(np.nanargmin(values))])


def exact_linear_vaes(X, betas, *, latent, seed=0, lam=0.0):
    """Linear VAEs at the exact global minimum of their objective, one per beta.

    The minimum of the linear-VAE objective of docs/model.md on the samples X is known
    in closed form from the top eigenpairs of their covariance
    (:func:`symrep.simulate.exact.exact_minimum`); its weights are loaded into a batched
    :class:`~symrep.realdata.vae.LinearRealVAE` so that the held-out metrics and the
    generated images are computed as for the trained kinds.

    Parameters
    ----------
    X : tensor (P, N)
        Centred training samples.
    betas : 1-d array_like
    latent : int
        Latent units M.
    seed : int
        Recorded as the runs' seed (the optimum itself does not depend on it).
    lam : float
        Weight decay (the objective's, docs/model.md).

    Returns
    -------
    TrainingResult
        ``loss`` (1, R): the objective per sample at the optimum.
    """
    import torch

    from symrep.realdata.training import TrainingResult
    from symrep.realdata.vae import LinearRealVAE
    from symrep.simulate.data import default_features
    from symrep.simulate.exact import exact_minimum

    Xn = np.asarray(X, dtype=float)
    P, N = Xn.shape
    betas = np.asarray(betas, float)
    W0 = default_features(N, 1)  # enters only the overlaps with a feature, unused here
    model = LinearRealVAE(N, len(betas), latent=latent, seed=seed)
    W, W_enc, log_D, loss = [], [], [], []
    for beta in betas:
        # M = 2 (not the one-unit path) so that the weights come as (N, M) matrices
        opt = exact_minimum(Xn, W0, float(beta), lam, 1.0, 1.0, M=max(latent, 2))
        W.append(np.asarray(opt.W).reshape(N, -1)[:, :latent])
        W_enc.append(np.asarray(opt.W_enc).reshape(-1, N)[:latent])
        log_D.append(np.log(np.asarray(opt.D, float).ravel()[:latent]))
        loss.append(float(opt.loss) * N / P)
    with torch.no_grad():
        for name, value in (("W", W), ("W_enc", W_enc), ("log_D", log_D)):
            getattr(model, name).copy_(torch.as_tensor(np.stack(value), dtype=torch.float32))
    return TrainingResult(model=model, betas=betas, seeds=np.full(len(betas), seed),
                          loss=np.array([loss]), kind="linear", image_shape=(N,))


def split_data(X, n_test, seed=12345):
    """(held-out set, training pool): a fixed random permutation of the rows of X.

    Parameters
    ----------
    X : Tensor (P, N)
        The samples, one per row.
    n_test : int
        Number of held-out samples.
    seed : int, optional
        Seed of the permutation (default 12345), the same for every experiment.

    Returns
    -------
    heldout : Tensor (n_test, N)
    pool : Tensor (P - n_test, N)
    """
    import torch

    order = torch.as_tensor(np.random.default_rng(seed).permutation(X.shape[0]))
    return X[order[:n_test]], X[order[n_test:]]


def beta_grid(settings, eta, upper):
    """The beta grid of an experiment: logarithmic from ``beta_range[0] * eta`` to
    ``beta_range[1] * upper`` plus ``n_betas_near`` points over ``near_range * upper``
    (``upper`` = rho_1 + eta, the predicted collapse threshold).

    Parameters
    ----------
    settings : ExperimentSettings
        ``beta_range``, ``n_betas``, ``near_range`` and ``n_betas_near`` of the grid.
    eta : float
        The estimated noise strength.
    upper : float
        rho_1 + eta.

    Returns
    -------
    ndarray
        The sorted, distinct betas.
    """
    wide = np.geomspace(settings.beta_range[0] * eta, settings.beta_range[1] * upper,
                        settings.n_betas)
    near = (np.geomspace(settings.near_range[0] * upper, settings.near_range[1] * upper,
                         settings.n_betas_near) if settings.n_betas_near else [])
    return np.unique(np.concatenate([wide, near]))


def _subset(pool_size, P, seed):
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(pool_size, size=P, replace=False))


def experiment_estimate(dataset="digits", settings=None, *, quick=False, seeds=None):
    """Memory and time of :func:`run_experiment` from its grid alone (nothing loaded).

    Every batch of VAEs (one per kind, alpha and seed) costs its training, the measured
    time per sample and epoch of :meth:`~symrep.realdata.grid.RealDataTask.seconds`
    (every alpha of the settings counted, also one the data set turns out too small
    for), plus the fixed cost of a grid task; the process imports torch once and holds
    the data set and every batch's record.

    ``seeds``, a number of seeds, replaces those of the settings (the command line
    checks ``--seeds`` before it makes them).

    Parameters
    ----------
    dataset : str, optional
        The data set (default ``"digits"``).
    settings : ExperimentSettings, optional
        The grid (default: the quick or full settings of :data:`SETTINGS`).
    quick : bool, optional
        Without ``settings``, take the quick ones (default False).
    seeds : int, optional
        Number of seeds (default: those of the settings).

    Returns
    -------
    symrep.resources.Estimate

    Raises
    ------
    ValueError
        If ``dataset`` is not a name of :data:`symrep.realdata.datasets.DATASETS`.
    """
    from symrep.realdata.datasets import image_shape
    from symrep.realdata.grid import _SECONDS_PER_SAMPLE_EPOCH
    from symrep.resources import _TASK_BYTES, _TASK_SECONDS, _TORCH_SECONDS, Estimate

    settings = settings or SETTINGS["quick" if quick else "full"]
    N = math.prod(image_shape(dataset))
    betas = settings.n_betas + settings.n_betas_near
    seeds = len(settings.seeds) if seeds is None else seeds
    per_seed = 0.0
    for kind in settings.kinds:
        for alpha in settings.alphas:
            P = int(round(alpha * N))
            if kind == "linear" and settings.linear_exact:
                per_seed += 0.05 * betas
            else:
                per_seed += (_SECONDS_PER_SAMPLE_EPOCH * _epochs(settings, P) * betas * P
                             * (4 if kind == "conv" else 1))
    tasks = seeds * len(settings.kinds) * len(settings.alphas)
    # the pool as float32 and float64, centred; a record of a few values per beta
    memory = 16.0 * 70_000 * N + tasks * (_TASK_BYTES + 200.0 * betas)
    return Estimate(f"{tasks:,} batches of VAEs on {dataset} ({len(settings.kinds)} "
                    f"kind(s), {len(settings.alphas)} alpha(s), {seeds:,} seed(s))",
                    memory, _TORCH_SECONDS + seeds * per_seed + tasks * _TASK_SECONDS)


def _epochs(settings, P):
    per_epoch = max(1, math.ceil(P / settings.batch_size))
    return max(settings.min_epochs, math.ceil(settings.steps / per_epoch))


def run_experiment(dataset="digits", *, root=None, quick=False, settings=None,
                   device=None, progress=False, features="auto", theory_lam=0.0,
                   store=None, client=None, scheduler=None):
    """Train VAEs on a real data set over (alpha, beta) and compare with the theory.

    The batches of VAEs (one per kind, alpha and seed: :class:`~symrep.realdata.grid.
    RealDataTask`) run as a grid (:func:`symrep.grid.run_tasks`): in this process, on a
    local Dask cluster or on a user's one, and with a ``store`` every finished batch is
    kept there and a rerun computes only what is missing.

    Parameters
    ----------
    dataset : str
        A name of :data:`symrep.realdata.datasets.DATASETS`.
    root : path, optional
        Folder with the files of data sets that do not ship with scikit-learn.
    quick : bool
        The small grid of :data:`SETTINGS` (a few minutes on two cores).
    settings : ExperimentSettings, optional
        Overrides the grid of ``quick``.
    device : str or torch.device, optional
        Where the VAEs train (default CUDA when available).
    progress : bool
        A progress bar over the batches.
    features : str
        Feature network of the Frechet distance (see
        :func:`symrep.realdata.frechet.frechet_distances`).
    theory_lam : float
        Weight decay of the theory; the VAEs train without weight decay, so 0.
    store : path, optional
        Zarr store of the batches (:class:`~symrep.realdata.grid.RealDataStore`); one
        written for another data set or spectrum estimate is refused.
    client : distributed.Client, optional
    scheduler : str, optional
        Where the batches run, as for :func:`symrep.grid.run_tasks` (default: this
        process for a small grid or a CUDA device, else a LocalCluster).

    Returns
    -------
    RealDataResult
    """
    start = time.perf_counter()
    settings = settings or SETTINGS["quick" if quick else "full"]
    return _run(dataset, root, settings, device, progress, features, theory_lam, start,
                dict(store=store, client=client, scheduler=scheduler))


def _run(dataset, root, settings, device, progress, features, theory_lam, start, where):
    from symrep.errors import SolverError
    from symrep.grid import run_tasks
    from symrep.progress import progress_bar
    from symrep.realdata import spectrum, theory
    from symrep.realdata.features import SHIPPED, feature_network
    from symrep.realdata.grid import RECORD_FIELDS, RealDataTask, prepared_data
    from symrep.simulate.device import resolve_device

    dataset = str(dataset).lower()
    root = None if root is None else str(root)
    data = prepared_data(dataset, root, settings.n_test)
    pool, pool_c = data["pool"], data["pool_c"]
    P_max, N = pool.shape
    if P_max < N:
        raise ValueError(f"dataset {dataset!r} has {P_max + settings.n_test} samples: too "
                         f"few for a held-out set of {settings.n_test} and alpha >= 1 "
                         f"(N = {N})")
    if features in ("auto", "network") and dataset not in SHIPPED:
        # the Frechet distance of a set without shipped features needs a network trained
        # on its images and labels: trained on the training pool now, and cached
        feature_network(dataset, X=pool, labels=data["labels"], image_shape=data["shape"])
    alphas = tuple(a for a in settings.alphas if round(a * N) <= P_max)
    if not alphas:
        raise ValueError(f"every alpha of {settings.alphas} needs more than the {P_max} "
                         f"samples of the training pool (N = {N})")
    notes = {}
    try:
        mp = spectrum.estimate_spectrum(pool_c, method="mp")
        notes["mp"] = f"eta = {mp.eta:.4g}, {len(mp.rho)} spikes"
    except SolverError as exc:  # no Marchenko-Pastur bulk: expected on real images
        notes["mp"] = f"no fit: {exc}"
    spec = spectrum.estimate_spectrum(pool_c, method=settings.spectrum_method,
                                      cutoff=settings.cutoff)
    cumulative = spectrum.cumulative_noise(pool_c)
    log.info("%s: P = %d (pool), N = %d; eta = %.4g, rho = %s (%s estimate); "
             "cumulative eta %s", dataset, P_max, N, spec.eta,
             ", ".join(f"{r:.4g}" for r in spec.rho[:5]), settings.spectrum_method,
             ", ".join(f"{c:g}: {e:.4g}" for c, e in cumulative.items()))
    M = settings.latent
    upper = theory.collapse_threshold_limit(spec)
    betas = beta_grid(settings, spec.eta, upper)
    device = resolve_device(device)
    tasks = [RealDataTask(dataset, kind, alpha, seed, tuple(betas), latent=M,
                          epochs=_epochs(settings, int(round(alpha * N))),
                          batch_size=settings.batch_size, lr=settings.lr,
                          n_test=settings.n_test, linear_exact=settings.linear_exact,
                          features=features, device=str(device), threads=settings.threads,
                          root=root)
             for kind in settings.kinds for alpha in alphas for seed in settings.seeds]
    if device.type == "cuda" and where["client"] is None and where["scheduler"] is None:
        where = dict(where, scheduler="serial")  # one device: the batches one by one

    bar = progress_bar(len(tasks), "batches of VAEs", progress=bool(progress), unit="batch")

    # one clock for every duration of the run: the seconds since run_experiment started
    def finished(task, record):
        log.info("%s VAE, alpha = %g (P = %d), seed %d: %d runs, %d epochs (done at %.0f s)",
                 task.kind, task.alpha, record["P"], task.seed, len(task.betas),
                 task.epochs, time.perf_counter() - start)
        if bar is not None:
            bar.update()

    try:
        records = run_tasks(tasks, progress=finished, log=log.debug,  # its own clock
                            settings=dict(command="realdata", dataset=dataset,
                                          n_test=settings.n_test,
                                          spectrum=settings.spectrum_method,
                                          cutoff=settings.cutoff, eta=float(spec.eta),
                                          rho=[float(r) for r in spec.rho]),
                            **where)
    finally:
        if bar is not None:
            bar.close()
    runs = []
    for task, record in zip(tasks, records, strict=True):
        for r, beta in enumerate(task.betas):
            runs.append(dict(kind=task.kind, alpha=float(task.alpha), P=int(record["P"]),
                             beta=float(beta), seed=int(task.seed),
                             **{name: float(record[name][r]) for name in RECORD_FIELDS}))
    notes["grid"] = (f"{records.computed} of {records.total} batches computed, "
                     f"{records.found} found in the store ({records.where})")
    notes["training_seconds"] = time.perf_counter() - start
    log.info("%s (done at %.0f s); now the theory's curves and thresholds",
             notes["grid"], notes["training_seconds"])
    curves = theory.theory_curves(spec, alphas, betas, lam=theory_lam, M=M)
    thresholds = theory.collapse_threshold(spec, alphas, lam=theory_lam, M=M)
    # the rule that defines the measured threshold, applied to the theory's rate on a
    # fine grid from the same smallest beta: the rate falls to zero continuously, so
    # the 1 % point lies below the threshold itself
    fine = np.geomspace(betas[0], betas[-1], 400)
    fine_rate = np.asarray(theory.theory_curves(spec, alphas, fine, lam=theory_lam,
                                                M=M)["rate"]).reshape(len(alphas), -1)
    rule = [collapse_beta(fine, r) for r in fine_rate]
    best = theory.best_beta(spec, alphas, lam=theory_lam, M=M)
    summary = []
    for kind in settings.kinds:
        for i, alpha in enumerate(alphas):
            rows = [r for r in runs if r["kind"] == kind and r["alpha"] == alpha]
            rate = [np.mean([r["rate"] for r in rows if r["beta"] == b]) for b in betas]
            fd = [np.mean([r["frechet"] for r in rows if r["beta"] == b]) for b in betas]
            measured = collapse_beta(betas, rate)
            summary.append(dict(
                kind=kind, alpha=float(alpha), P=rows[0]["P"],
                collapse_measured=measured,
                collapse_theory=float(thresholds[i]),
                collapse_theory_rule=rule[i],
                collapse_limit=upper,
                best_measured=best_grid_beta(betas, fd),
                best_theory=float(best[i]),
                best_limit=theory.best_beta_limit(spec)))
    return RealDataResult(dataset=dataset, settings=settings, spectrum=spec,
                          cumulative_eta=cumulative, betas=betas, runs=runs,
                          summary=summary, theory=curves,
                          seconds=time.perf_counter() - start, notes=notes)


#: Columns of the CSV files written by :func:`write_outputs`.
RUN_COLUMNS = ("kind", "alpha", "P", "beta", "seed", "rate", "reconstruction", "frechet",
               "final_loss")
SUMMARY_COLUMNS = ("kind", "alpha", "P", "collapse_measured", "collapse_theory_rule",
                   "collapse_theory", "collapse_limit", "best_measured", "best_theory",
                   "best_limit")


def output_files(out, dataset):
    """The files an experiment writes into the folder ``out``, by role.

    Parameters
    ----------
    out : str or Path
        The output folder.
    dataset : str
        The dataset's name (part of every file name).

    Returns
    -------
    dict of str to Path
        ``figure``, ``figure_pdf``, ``spectrum``, ``runs`` and ``summary``.
    """
    from pathlib import Path

    out = Path(out)
    stem = f"realdata_{dataset}"
    return {"figure": out / f"{stem}.png", "figure_pdf": out / f"{stem}.pdf",
            "spectrum": out / f"{stem}_spectrum.png", "runs": out / f"{stem}.csv",
            "summary": out / f"{stem}_summary.csv"}


def write_outputs(result, out):
    """Write the figures and the CSV files of ``result`` into the folder ``out``.

    Every file is written to a temporary name and renamed into place. Returns the
    paths (see :func:`output_files`).

    Parameters
    ----------
    result : RealDataResult
        The experiment's result.
    out : str or Path
        The output folder (it must exist).

    Returns
    -------
    dict of str to Path
        The files written, by role (see :func:`output_files`).
    """
    import matplotlib.pyplot as plt

    from symrep.figures.realdata import fig_realdata
    from symrep.figures.spectrum import plot_spectrum
    from symrep.io import atomic_path, atomic_write_csv

    files = output_files(out, result.dataset)
    # a collapse never seen on the grid is an empty cell, not NaN
    atomic_write_csv(files["runs"], result.runs, RUN_COLUMNS)
    atomic_write_csv(files["summary"], result.summary, SUMMARY_COLUMNS)
    fig = fig_realdata(result)
    for key, fmt in (("figure", "png"), ("figure_pdf", "pdf")):
        with atomic_path(files[key]) as tmp:
            fig.savefig(tmp, dpi=150, format=fmt)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    # image spectra decay over decades: on a linear axis the bulk is one bin
    plot_spectrum(result.spectrum, ax=ax, title=f"{result.dataset}: sample covariance of "
                  f"the training pool", xscale="log")
    with atomic_path(files["spectrum"]) as tmp:
        fig.savefig(tmp, dpi=150, format="png")
    plt.close(fig)
    return files


def summary_lines(result):
    """The summary as aligned text lines (what ``symrep realdata`` prints).

    Parameters
    ----------
    result : RealDataResult
        The experiment's result.

    Returns
    -------
    list of str
        A header of comment lines, then one line per (kind, alpha).
    """
    spec = result.spectrum
    lines = [f"# {result.dataset}: eta = {spec.eta:.4g} ({result.settings.spectrum_method} "
             f"estimate), rho = "
             + ", ".join(f"{r:.4g}" for r in spec.rho[:4])
             + ("..." if len(spec.rho) > 4 else "")
             + "; paper's eta at " + ", ".join(f"{c:.0%}: {e:.4g}"
                                              for c, e in result.cumulative_eta.items()),
             "# collapse: measured (rate < 1% of its small-beta value), the same rule on the "
             "theory's rate, the theory's threshold (rate = 0), its limit rho_1 + eta; "
             "best: lowest Frechet distance, the theory's lowest eg, its limit eta",
             f"{'kind':>6} {'alpha':>6} {'P':>6} | {'collapse':>9} {'1% rule':>9} "
             f"{'theory':>9} {'limit':>9} | {'best':>9} {'theory':>9} {'limit':>9}"]
    for s in result.summary:
        measured, rule = ("none" if s[k] is None else f"{s[k]:.4g}"
                          for k in ("collapse_measured", "collapse_theory_rule"))
        lines.append(f"{s['kind']:>6} {s['alpha']:>6g} {s['P']:>6d} | {measured:>9} "
                     f"{rule:>9} {s['collapse_theory']:>9.4g} {s['collapse_limit']:>9.4g} | "
                     f"{s['best_measured']:>9.4g} {s['best_theory']:>9.4g} "
                     f"{s['best_limit']:>9.4g}")
    return lines
