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
# # Figure 2 (middle): the interpolation peak of the signal recovery error
#
# **The paper's claim (Sec. 6.1).** The signal recovery error
# $\epsilon_g = \rho - 2\sqrt{\rho}\,|m| + Q$ of the trained linear VAE has a peak at
# $\alpha = 1$ for small $\beta$ and $\lambda$, as the interpolation peak of supervised
# ridge regression; the peak shrinks smoothly as $\beta$ (or $\lambda$) grows. For large
# $\beta$ the error stays on the plateau $\epsilon_g = \rho$ of the collapsed model
# ($W = 0$) up to some $\alpha$, and beyond $\beta = \rho + \eta$ it never leaves it.
#
# Lines: the replica-symmetric (RS) prediction from `symrep.sweep`. Points: mean and
# standard error over independent data sets of the exact global optimum at finite $N$
# (circles) and of models trained with L-BFGS from a random initialisation (squares).
#
# The size is chosen by the environment variable `SYMREP_QUICK`: `1` (the default) for
# the quick size ($N = 300$, 2 seeds, a few points), `0` for the full one
# ($N = 1000$, 5 seeds).

# %%
# %matplotlib inline
from symrep.figures import make_figure, size_from_env

size = size_from_env()
print(size)

# %%
# the figure is shown below the cell (inline backend)
result = make_figure("fig2_middle", size, progress=False)

# %% [markdown]
# **What the figure shows.** Every curve with $\beta < \rho + \eta = 2$ has a cusp at
# $\alpha = 1$ (the position of the maximum along the grid is printed below). For
# $\beta = 0.1$ and $0.5$ the error first rises above the plateau (overfitting of the
# noise) and peaks at $\alpha = 1$; at $\beta = 1.5$ it stays at $\epsilon_g = \rho$ for
# small $\alpha$, then rises, peaks and decreases; $\beta = 3$ sits on the plateau for
# every $\alpha$ (posterior collapse). Both kinds of points agree with each other (the
# trained models reach the global optimum) and follow the theory for $\alpha > 1$. For
# $\alpha \le 1$ the finite-$N$ points lie below the lines: in the overfitting phase the
# theory has $m = 0$, while at finite $N$ the decoder keeps an overlap $|m|$ of order
# $N^{-1/2}$ with the signal, which lowers $\epsilon_g$ by $2|m|$; the gap closes slowly
# as $N$ grows. Near $\alpha = 1$ the seed-to-seed fluctuations are largest.

# %%
print("alpha of the maximum of each curve:", result.notes["argmax_alpha"])
cols = ["method", "beta", "alpha", "phase_theory", "eg_theory", "eg_mean", "eg_sem",
        "converged"]
[{k: r[k] for k in cols} for r in result.points]
