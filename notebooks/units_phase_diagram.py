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
# # Claim 5.2 for M latent units and M* features: the staged collapse
#
# **The paper's claim (Claim 5.2).** With M latent units and M\* features of strengths
# $\rho_1 > \rho_2 > \dots$, each unit that learns a feature collapses on its own
# threshold in $\beta$: as $\beta$ grows the units collapse one after another, the unit of
# the weakest feature first, and as $\alpha \to \infty$ the unit of feature $k$ collapses at
# $\beta = \rho_k + \eta$.
#
# Colours of the plane: the phase structure of the units in the RS optimum of
# `symrep.solve(alpha, beta, lam, rho=(2, 0.7), eta=1, M=2)`, solved from the generated
# saddle-point equations (units in order of decreasing norm). Black lines: the beta at
# which each unit collapses (`symrep.solvers.units_phase_plane.collapse_thresholds`).
# Markers: the exact optimum at finite $N$ (`symrep.simulate.exact_minimum` with `M=2`),
# coloured by the phase structure most of its data sets show; a cross marks a
# disagreement with the theory. `SYMREP_QUICK=1` (default) runs the quick size,
# `SYMREP_QUICK=0` the full one.

# %%
# %matplotlib inline
from symrep.figures import size_from_env
from symrep.figures.units import fig_units_phase_diagram

size = size_from_env()
print(size)

# %%
result = fig_units_phase_diagram(size, resolution=24 if size.name == "quick" else None)
result.figure  # noqa: B018 (the cell shows the figure)

# %% [markdown]
# **What the figure shows** ($\lambda = 1$, $\rho = (2, 0.7)$, $\eta = 1$). Below
# $\alpha \approx 2$ feature 2 is under its spectral transition ($\alpha\rho_2^2 < \eta^2$):
# the second unit can only fit the noise (overfitting) or collapse. Above it both units
# learn for small $\beta$. As $\beta$ grows the second unit collapses first (dashed line,
# tending to $\rho_2 + \eta = 1.7$), then the first (solid line, tending to
# $\rho_1 + \eta = 3$): the staged collapse. The thresholds are those of the linear
# stability of the collapsed state per unit (`symrep.asymptotics.mode_thresholds`), to
# about $10^{-14}$; see docs/claims.md.

# %%
print("agreement with the RS phase structure:", result.notes["agreement"])
for row in result.points:
    print(row["alpha"], row["beta"], "theory:", row["phases_theory"], "| measured:",
          row["phases_measured"], f"({row['agreeing_seeds']}/{row['seeds']})")
