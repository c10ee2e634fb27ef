"""symrep.figures.spectrum: the spectrum plot draws on synthetic and real data."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from symrep.figures.core import SIZES, FigureResult
from symrep.figures.spectrum import plot_spectrum
from symrep.realdata.spectrum import estimate_spectrum
from symrep.simulate.data import sample_scm


def test_plot_spectrum_on_synthetic_data(tmp_path):
    X, _ = sample_scm(800, 200, (4.0, 2.0), 1.0, seed=0)
    spectrum = estimate_spectrum(X)
    ax = plot_spectrum(spectrum, bins=30, title="synthetic")
    assert ax.get_title() == "synthetic"
    labels = ax.get_legend_handles_labels()[1]
    assert any("MP fit" in label for label in labels) and "MP edge" in labels
    assert any(f"spikes ({spectrum.n_spikes})" in label for label in labels)
    # the edge and one line per spike, at their eigenvalues
    xs = sorted(line.get_xdata()[0] for line in ax.lines if line.get_linestyle() in ("-", "--")
                and len(line.get_xdata()) == 2)
    np.testing.assert_allclose(xs, sorted([spectrum.edge, *spectrum.outliers]))
    # the drawn density is the fitted MP density, scaled by the share of bulk eigenvalues
    curve = max(ax.lines, key=lambda line: len(line.get_xdata()))
    x, y = curve.get_xdata(), curve.get_ydata()
    share = (200 - spectrum.n_spikes) / 200
    np.testing.assert_allclose(y, share * spectrum.mp_density(x))
    assert len(ax.patches) == 30
    paths = FigureResult("spectrum", ax.figure, [], SIZES["quick"]).save(tmp_path,
                                                                        formats=("png",))
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plt.close(ax.figure)


def test_plot_spectrum_on_digits_log_scale():
    from symrep.realdata.datasets import load

    fig, ax = plt.subplots()
    spectrum = estimate_spectrum(load("digits"), method="cumulative", cutoff=0.9)
    assert plot_spectrum(spectrum, ax, xscale="log") is ax
    assert ax.get_xscale() == "log" and "cumulative" in ax.get_title()
    plt.close(fig)


def test_plot_spectrum_rejects_bad_options():
    spectrum = estimate_spectrum(np.random.default_rng(0).standard_normal((100, 10)))
    with pytest.raises(ValueError, match="bins = 0 is invalid"):
        plot_spectrum(spectrum, bins=0)
    with pytest.raises(ValueError, match="xscale = 'symlog' is invalid"):
        plot_spectrum(spectrum, xscale="symlog")
