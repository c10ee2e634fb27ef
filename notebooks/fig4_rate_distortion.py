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
# # Rate-distortion curves at finite and infinite $\alpha$
#
# **The paper's claims (Sec. 6.4).** As $\alpha \to \infty$ the rate-distortion (RD)
# curve of the linear VAE, traced by $\beta$, is that of a Gaussian source of variance
# $\rho + \eta$ (Claim 6.2):
# $\mathcal{R}(\mathcal{D}) = \tfrac12 \log\frac{\rho+\eta}{2\mathcal{D}}$ for
# $0 < \mathcal{D} \le (\rho+\eta)/2$ (distortion measured as half the squared error,
# see `docs/model.md`), so the VAE compresses optimally in that limit. At finite
# $\alpha$ the curve lies above it, and the high-rate, low-distortion end needs a
# relatively large data set.
#
# Lines: RS theory at $\alpha = 1, 5, 20, 100$ (`symrep.sweep` along $\beta$) and the
# $\alpha \to \infty$ limit, evaluated from the SymPy expression of
# `symrep.asymptotics.rd_curve_limit`. Points: rate and distortion of the exact
# finite-$N$ optimum (circles) and of L-BFGS-trained models (squares) at a few $\beta$,
# mean $\pm$ standard error in both directions. `SYMREP_QUICK=1` (default) runs the
# quick size, `SYMREP_QUICK=0` the full one.

# %%
# %matplotlib inline
from symrep.figures import make_figure, size_from_env

size = size_from_env()
print(size)

# %%
# the figure is shown below the cell (inline backend)
result = make_figure("fig4_rate_distortion", size, progress=False)

# %% [markdown]
# **What the figure shows** ($\lambda = 1$). Every finite-$\alpha$ curve ends at the
# collapsed point (rate 0, distortion $(\rho+\eta)/2$) and bends up to a vertical
# asymptote as $\beta \to 0$: the smallest distortion reachable at finite $\alpha$ is
# bounded away from zero, and the bound moves to zero as $\alpha$ grows. At
# $\alpha = 100$ the curve is already close to the Gaussian-source limit except at high
# rate. Below, the excess rate over the limit at distortion $0.3$, per $\alpha$.

# %%
print("rate minus the alpha -> infinity limit at distortion 0.3:", result.notes["rate_gap_at"])
cols = ["method", "alpha", "beta", "rate_theory", "rate_mean", "rate_sem",
        "distortion_theory", "distortion_mean", "distortion_sem"]
[{k: r[k] for k in cols} for r in result.points]
