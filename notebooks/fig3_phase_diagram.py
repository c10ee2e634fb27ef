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
# # Phase diagram in $(\alpha, \beta)$
#
# **The paper's claim (Sec. 6.2).** Three phases of the trained model:
#
# - **learning** (green, $m \neq 0$): the VAE recovers the signal and avoids posterior
#   collapse;
# - **overfitting** (red, $m = 0$, $Q \neq 0$): rate and ridge regularisation are weak and
#   the decoder fits the background noise;
# - **regularized** (orange, $m = 0$, $Q = 0$): the regularisation removes all freedom,
#   posterior collapse.
#
# The boundaries of the learning phase are exactly where the signal recovery error starts
# to decrease in Figure 2. As $\beta$ grows the learning phase needs more data, and for
# $\beta > \rho + \eta$ it is never reached (the inevitable posterior collapse).
#
# Colours of the plane: RS theory (`symrep.phase_diagram`). Markers: the phase measured at
# finite $N$ for the exact optimum (large circles) and L-BFGS-trained models (small
# squares), by majority over seeds: collapsed if $Q \le 10^{-6}$, learning if
# $|m|/\sqrt{Q} > 0.25$, overfitting otherwise. `SYMREP_QUICK=1` (default) runs the quick
# size, `SYMREP_QUICK=0` the full one.

# %%
# %matplotlib inline
from symrep.figures import make_figure, size_from_env

size = size_from_env()
print(size)

# %%
# the figure is shown below the cell (inline backend)
result = make_figure("fig3_phase_diagram", size, progress=False)

# %% [markdown]
# **What the figure shows** ($\lambda = 1$, $\rho = \eta = 1$). The overfitting phase is
# the region $\alpha < 1$ below the collapse line; the learning phase starts at
# $\alpha = 1$ and its upper edge rises towards the dashed line $\beta = \rho + \eta = 2$
# without reaching it, so that for $\beta \ge 2$ no amount of data leads to learning. The
# fraction of simulated points whose measured phase matches the theory is printed below
# for each method.

# %%
print("agreement with the RS phase:", result.notes["agreement"])
cols = ["method", "alpha", "beta", "phase_theory", "n_learning", "n_overfitting",
        "n_regularized", "m_mean", "Q_mean"]
[{k: r[k] for k in cols} for r in result.points]
