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
# # Figure 2 (right): posterior mismatch against $\beta$
#
# **The paper's claim (Sec. 6.1).** The optimal $\beta$ for the signal recovery error
# depends on the sample complexity, and minimising the error does not bring the
# variational posterior $q(z|x)$ closest to the true posterior of the decoder
# $p_W(z|x)$: the KL divergence between them, averaged over the data, is not smallest at
# the $\beta$ that minimises $\epsilon_g$. Choosing $\beta$ badly for a given $\alpha$
# changes the results a lot, unlike the ridge parameter.
#
# Lines: RS theory; points: exact finite-$N$ optimum (circles) and L-BFGS-trained models
# (squares), mean $\pm$ standard error over seeds. `SYMREP_QUICK=1` (default) runs the
# quick size, `SYMREP_QUICK=0` the full one.

# %%
# %matplotlib inline
from symrep.figures import make_figure, size_from_env

size = size_from_env()
print(size)

# %%
# the figure is shown below the cell (inline backend)
result = make_figure("fig2_right", size, progress=False)

# %% [markdown]
# **What the figure shows** (logarithmic axes; the vertical axis is linear below
# $10^{-3}$ so that zero is visible). The KL divergence falls from order one at small
# $\beta$, where the encoder variance is far from the posterior's, to a sharp minimum
# near $\beta = \eta = 1$ in the learning phase (printed below for each $\alpha$), then
# rises again to a second maximum before dropping to exactly zero at the collapse, where
# $q(z|x) = p_W(z|x) = p(z)$ trivially. The minimum of the KL is close to the
# $\alpha \to \infty$ optimum of $\epsilon_g$ ($\beta = \eta$), but at finite $\alpha$ the
# $\beta$ minimising $\epsilon_g$ differs, so the two criteria disagree. The finite-$N$
# points agree with the lines.

# %%
print("beta of the KL minimum in the learning phase:", result.notes["argmin_beta_learning"])
cols = ["method", "alpha", "beta", "phase_theory", "kl_posterior_theory",
        "kl_posterior_mean", "kl_posterior_sem"]
[{k: r[k] for k in cols} for r in result.points]
