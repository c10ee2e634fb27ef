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
# # Appendix E.1: the VAE without weight decay ($\lambda = 0$)
#
# **The paper's claims (App. E.1).** Without weight decay the learning curves are
# qualitatively as with it: a peak at $\alpha = 1$, and for large $\beta$ the decoder norm
# $Q$ decreases with $\alpha$ until the posterior collapses. The collapse threshold
# $\beta = \rho + \eta$ as $\alpha \to \infty$ (Claim 6.1) holds for $\lambda = 0$ as well.
# The RD curve again approaches the Gaussian-source curve as $\alpha$ grows, and small
# distortion needs a large data set.
#
# Left: signal recovery error against $\alpha$; middle: the decoder norm $Q$ at the same
# points; right: RD curves traced by $\beta$ at several $\alpha$ and the
# $\alpha \to \infty$ limit from `symrep.asymptotics.rd_curve_limit`. Lines: RS theory;
# points: exact finite-$N$ optimum (circles) and L-BFGS-trained models (squares), mean
# $\pm$ standard error over seeds. `SYMREP_QUICK=1` (default) runs the quick size,
# `SYMREP_QUICK=0` the full one.

# %%
# %matplotlib inline
from symrep.figures import make_figure, size_from_env

size = size_from_env()
print(size)

# %%
# the figure is shown below the cell (inline backend)
result = make_figure("figE1_no_weight_decay", size, progress=False)

# %% [markdown]
# **What the figure shows.** Left: nothing but the rate term bounds the decoder, so in
# the overfitting phase ($\alpha < 1$) the error is large and grows steeply as $\alpha$
# decreases; the cusp at $\alpha = 1$ remains. For $\beta = 3 > \rho + \eta$ the error
# dips below $\rho$ in a window around $\alpha \approx 1.5$ and then returns to the
# plateau. Middle: $Q$ of the $\beta = 3$ curve drops to zero (collapse) near
# $\alpha = 2$ and stays there, while it stays positive for $\beta < 2$. Right: the
# finite-$\alpha$ RD curves approach the limit from above; at $\alpha = 1$ the curve
# (overfitting branch) even extends beyond the distortion of the collapsed model.
#
# At $\lambda = 0$ and $\alpha < 1$ the encoder weights along the null space of the data
# are not fixed by the objective, so the rate of a trained model there depends on its
# initialisation (the signal recovery error and $Q$ do not); the simulated RD points are
# therefore at $\alpha > 1$ only.

# %%
cols = ["panel", "method", "alpha", "beta", "eg_theory", "eg_mean", "eg_sem", "Q_theory",
        "Q_mean", "rate_theory", "rate_mean", "distortion_theory", "distortion_mean"]
[{k: r[k] for k in cols} for r in result.points]
