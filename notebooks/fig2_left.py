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
# # Figure 2 (left): weight decay, the peak and the plateau
#
# **The paper's claim (Sec. 6.1).** The peak of the signal recovery error at
# $\alpha = 1$ is largest for small regularisation and disappears smoothly as the ridge
# parameter $\lambda$ grows. A strong regularisation holds the model in the collapsed
# state, with $\epsilon_g = \rho$, over a long plateau in $\alpha$ before the error starts
# to decrease: the plateau ends where the regularized phase meets the learning phase.
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
result = make_figure("fig2_left", size, progress=False)

# %% [markdown]
# **What the figure shows** ($\beta = 0.5$, logarithmic vertical axis). How the
# error depends on $\alpha$ below $\alpha = 1$ changes with $\lambda$: with
# $\lambda = 0.01$ it is largest at small $\alpha$ (the decoder overfits the noise) and
# decreases, with a kink at $\alpha = 1$; with $\lambda = 0.1$ it is nearly flat up to
# $\alpha = 1$; with $\lambda = 1$ it rises from the plateau value to a peak at
# $\alpha = 1$. So in this model the error is a local maximum at $\alpha = 1$ for an
# intermediate weight decay, not for the smallest one: as $\lambda \to 0$ the error at
# small $\alpha$ keeps growing (at $\lambda = 0$ it diverges like $1/\alpha$ as
# $\alpha \to 0$, see the Appendix E.1 notebook). With $\lambda = 10$ the model is collapsed
# ($\epsilon_g = \rho = 1$) up to the end of the plateau printed below, and only then
# starts learning. At large $\alpha$ a moderate $\lambda$ (here $\lambda = 1$) gives the
# smallest error; too much weight decay also shrinks the learned decoder. The simulation
# points follow the lines for $\alpha > 1$; in the overfitting phase ($\alpha \le 1$)
# they lie below them, because at finite $N$ the decoder keeps an overlap
# $|m| \sim N^{-1/2}$ with the signal, which the theory ($m = 0$) does not have.

# %%
print("plateau of lam = 10 ends at alpha =", result.notes["plateau_end_alpha"])
cols = ["method", "lam", "alpha", "phase_theory", "eg_theory", "eg_mean", "eg_sem"]
[{k: r[k] for k in cols} for r in result.points]
