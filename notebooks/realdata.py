# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Real images: does the linear theory predict when a VAE collapses? (Sec. 6.5)
#
# **The paper's claim (Sec. 6.5, Figs. 5 and 7).** Fit the spiked-covariance model to a
# real data set (noise strength $\eta$, feature strengths $\rho_k$ from the spectrum of
# its sample covariance). Then nonlinear VAEs trained on the images behave as the linear
# theory says: the posterior collapses for $\beta$ above a threshold that tends to
# $\rho_1 + \eta$ and moves up with the sample complexity $\alpha = P/N$, and the best
# $\beta$ (lowest Fréchet distance of generated images) lies near $\eta$.
#
# Here: the 8x8 digits that ship with scikit-learn (`symrep.realdata.load("digits")`),
# the MLP VAE of App. D (2 latent units) and the linear VAE of docs/model.md, trained on
# subsets of $P = \alpha N$ images over a grid of $\beta$; rate (KL per held-out sample)
# and Fréchet distance (features of a small classifier that symrep ships, since the
# Inception weights are not available offline) against the theory at the estimated
# parameters, solved by `symrep.sweep` with $M = 2$ units and the two strongest spikes.
# `SYMREP_QUICK=1` (default) runs a small grid (one alpha, five betas, one seed);
# `SYMREP_QUICK=0` runs what `symrep realdata --dataset digits` runs (about 6 minutes on
# two cores, its batches of VAEs on a local Dask cluster).

# %%
# %matplotlib inline
import os

from symrep.realdata.experiment import SETTINGS, run_experiment, summary_lines

quick = os.environ.get("SYMREP_QUICK", "1") != "0"
settings = (SETTINGS["quick"].with_(alphas=(4.0,), n_betas=5, n_betas_near=2, steps=200)
            if quick
            else SETTINGS["full"])
print(settings)

# %%
result = run_experiment("digits", settings=settings)
print("\n".join(summary_lines(result)))

# %%
from symrep.figures.spectrum import plot_spectrum  # noqa: E402

ax = plot_spectrum(result.spectrum, title="digits: sample covariance of the training pool",
                   xscale="log")

# %%
from symrep.figures.realdata import fig_realdata  # noqa: E402

fig_realdata(result)

# %% [markdown]
# **How to read it.** Left: Fréchet distance against $\beta$, one colour per $\alpha$;
# the dash-dotted lines are the theory's best $\beta$ at that $\alpha$ (coloured) and its
# limit $\eta$ (grey). Right: the rate, with the theory's rate at the estimated
# parameters (dashed) and the collapse thresholds (coloured dashed lines: finite
# $\alpha$; black dotted: the limit $\rho_1 + \eta$). The numbers of the full run, for
# digits and for natural-image patches, and where the theory does and does not predict
# the real behaviour: docs/realdata.md.
