"""The covariance spectrum of a data set with its fitted Marchenko-Pastur bulk and spikes.

:func:`plot_spectrum` draws a :class:`symrep.realdata.spectrum.Spectrum`: the histogram of
the nonzero eigenvalues, the MP density of the fitted noise strength eta over it, the
upper MP edge, and one line per detected spike with its signal strength rho. Real data
have spikes far above the bulk; ``xscale="log"`` keeps both in view (the bins are then
spaced evenly in log x, and the histogram and the density are still per unit x).
Save the figure with :meth:`symrep.figures.core.FigureResult.save` or through
:func:`symrep.io.atomic_path`, so that an interrupted write leaves no truncated file.
"""

from __future__ import annotations

import numpy as np

from symrep.figures.core import OKABE_ITO

__all__ = ["plot_spectrum"]

#: Scales of the eigenvalue axis.
XSCALES = ("linear", "log")


def plot_spectrum(spectrum, ax=None, *, bins=60, title=None, xscale="linear"):
    """Histogram of the covariance eigenvalues with the fitted MP density and the spikes.

    Parameters
    ----------
    spectrum : symrep.realdata.spectrum.Spectrum
        From :func:`symrep.realdata.spectrum.estimate_spectrum`.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new figure).
    bins : int, default 60
        Number of histogram bins.
    title : str, optional
        Axes title (default: the method, N, P and eta).
    xscale : {"linear", "log"}, default "linear"
        Scale of the eigenvalue axis; on "log" the histogram and the MP law are densities
        per unit of log(eigenvalue).

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    The histogram shows the nonzero eigenvalues (for P < N the covariance has N - P + 1
    zeros, which the MP law puts in an atom at 0) with unit area; the MP density is
    scaled by the fraction of them that are not spikes, so the two are comparable.
    """
    import matplotlib.pyplot as plt

    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins = {bins!r} is invalid: must be an integer >= 1")
    if xscale not in XSCALES:
        raise ValueError(f"xscale = {xscale!r} is invalid: choose from {', '.join(XSCALES)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4.8, 3.4), layout="constrained")
    values = np.asarray(spectrum.eigenvalues, dtype=np.float64)
    # eigenvalues at rounding level are the zeros of a rank-deficient covariance
    nonzero = values[values > values[0] * 1e-12]
    low, high = float(nonzero.min()), float(nonzero.max())
    if xscale == "log":
        edges = np.geomspace(low, high * 1.05, bins + 1)
    else:
        edges = np.linspace(0.0, high * 1.05, bins + 1)
    if xscale == "log":
        # density per unit of log(eigenvalue): on a logarithmic axis a density per unit
        # of the eigenvalue itself would be dominated by the smallest ones
        counts, _ = np.histogram(nonzero, bins=edges)
        ax.stairs(counts / (nonzero.size * np.diff(np.log(edges))), edges, fill=True,
                  color="0.75", label=f"eigenvalues ({nonzero.size} nonzero)")
    else:
        ax.hist(nonzero, bins=edges, density=True, color="0.75", edgecolor="0.55", lw=0.4,
                label=f"eigenvalues ({nonzero.size} nonzero)")

    grid = (np.geomspace(max(low, edges[0]), edges[-1], 800) if xscale == "log"
            else np.linspace(edges[0], edges[-1], 800))
    bulk_share = max(nonzero.size - spectrum.n_spikes, 0) / nonzero.size
    mp = bulk_share * spectrum.mp_density(grid) * (grid if xscale == "log" else 1.0)
    ax.plot(grid, mp, color=OKABE_ITO["blue"], lw=1.6,
            label=f"MP fit, $\\eta$ = {spectrum.eta:.3g}")
    ax.axvline(spectrum.edge, color=OKABE_ITO["blue"], ls="--", lw=1.0, label="MP edge")
    for i, (lam, rho) in enumerate(zip(spectrum.outliers, spectrum.rho, strict=True)):
        ax.axvline(lam, color=OKABE_ITO["vermillion"], lw=1.0,
                   label=(f"spikes ({spectrum.n_spikes}), $\\rho_1$ = {rho:.3g}"
                          if i == 0 else None))
    ax.set_xscale(xscale)
    ax.set_xlabel("eigenvalue of the sample covariance")
    ax.set_ylabel("density per unit of log(eigenvalue)" if xscale == "log" else "density")
    if title is None:
        title = (f"{spectrum.method}: N = {spectrum.n_features}, P = {spectrum.n_samples}, "
                 f"$\\gamma$ = {spectrum.gamma:.3g}")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    return ax
