"""Real data against the theory: Frechet distance and rate against beta (Sec. 6.5).

One row per VAE kind. Left: the Frechet distance between held-out and generated
images, mean +- standard error over seeds, one colour per sample complexity alpha;
right: the rate (KL per held-out sample) with the theory's rate at the estimated
spiked-covariance parameters (dashed, same colour). Vertical lines mark the
predictions: the collapse threshold at each alpha (dashed, colour of alpha) and its
limit rho_1 + eta (black, dotted), the best beta at each alpha (colour, dash-dotted, on
the left) and its limit eta (grey, dash-dotted).
"""

from __future__ import annotations

import numpy as np

__all__ = ["fig_realdata", "LABELS"]

#: Colours of the sample complexities, in increasing alpha: the Okabe-Ito palette
#: (distinct hues of distinct lightness, readable with colour-vision deficiencies).
_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")

#: Panel titles of the VAE kinds.
LABELS = {"mlp": "MLP VAE", "linear": "linear VAE", "conv": "convolutional VAE"}


def _mean_se(rows, betas, name):
    mean, se = [], []
    for b in betas:
        v = np.array([r[name] for r in rows if r["beta"] == b], float)
        mean.append(v.mean())
        se.append(v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else 0.0)
    return np.array(mean), np.array(se)


def fig_realdata(result):
    """The figure of one experiment.

    Parameters
    ----------
    result : RealDataResult
        What :func:`symrep.realdata.experiment.run_experiment` returns.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    kinds = result.settings.kinds
    alphas = sorted({r["alpha"] for r in result.runs})
    colours = [_COLOURS[k % len(_COLOURS)] for k in range(len(alphas))]
    fig, axes = plt.subplots(len(kinds), 2, figsize=(10, 3.6 * len(kinds)), squeeze=False,
                             constrained_layout=True)
    spec = result.spectrum
    limit = float(spec.rho[0] + spec.eta)
    for row, kind in enumerate(kinds):
        ax_fd, ax_rate = axes[row]
        for colour, alpha in zip(colours, alphas, strict=True):
            rows = [r for r in result.runs if r["kind"] == kind and r["alpha"] == alpha]
            summary = next(s for s in result.summary
                           if s["kind"] == kind and s["alpha"] == alpha)
            label = f"alpha = {alpha:g} (P = {rows[0]['P']})"
            for ax, name in ((ax_fd, "frechet"), (ax_rate, "rate")):
                mean, se = _mean_se(rows, result.betas, name)
                ax.errorbar(result.betas, mean, yerr=se, color=colour, marker="o", ms=3,
                            lw=1, capsize=2, label=label)
                ax.axvline(summary["collapse_theory"], color=colour, ls="--", lw=0.9)
            ax_fd.axvline(summary["best_theory"], color=colour, ls="-.", lw=0.9)
            th = result.theory.sel(alpha=alpha)
            ax_rate.plot(np.asarray(th["beta"]), np.asarray(th["rate"]), color=colour,
                         ls="--", lw=1.2)
        for ax in (ax_fd, ax_rate):
            ax.axvline(limit, color="k", ls=":", lw=1.2,
                       label=f"collapse limit rho_1 + eta = {limit:.3g}")
            ax.axvline(float(spec.eta), color="0.5", ls="-.", lw=1.2,
                       label=f"best-beta limit eta = {float(spec.eta):.3g}")
            ax.set_xscale("log")
            ax.set_xlabel("beta")
        ax_rate.set_yscale("symlog", linthresh=1e-2)  # a collapsed run's rate is 0
        ax_rate.set_ylim(bottom=0)
        ax_fd.set_ylabel("Frechet distance (held out)")
        ax_rate.set_ylabel("rate: KL per sample (held out)")
        ax_fd.set_title(f"{result.dataset}: {LABELS.get(kind, kind)}")
        ax_rate.set_title("rate; dashed: RS theory at the estimated rho, eta")
        # the line styles of the per-alpha predictions, in grey (their colour is alpha's)
        grey = dict(color="0.35", lw=0.9)
        threshold = Line2D([], [], ls="--", label="collapse threshold at alpha", **grey)
        best = Line2D([], [], ls="-.", label="best beta at alpha", **grey)
        theory = Line2D([], [], ls="--", label="RS theory; vertical: collapse threshold",
                        **grey)
        for ax, extra in ((ax_fd, [threshold, best]), (ax_rate, [theory])):
            handles, _ = ax.get_legend_handles_labels()
            ax.legend(handles=handles + extra, fontsize=7)
    return fig
