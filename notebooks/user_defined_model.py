# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A model of your own: derivation, phase diagram, training
#
# A researcher's variant of the linear VAE, defined here and nowhere in symrep: **weight decay
# on the decoder only**, lam/2 ||W||^2 instead of lam/2 (||W||^2 + ||W~||^2). Subclassing
# `symrep.models.base.ReplicaModel` and overriding `regularizer()` is all it takes; symrep
# then derives its replica theory (LaTeX), generates and solves its saddle-point equations,
# and trains it at finite N from the same SymPy objective. See `docs/adding_a_model.md`.

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import symrep
from symrep.derive import write_derivations
from symrep.models.base import ReplicaModel
from symrep.simulate import sample_scm, train_model
from symrep.solvers import PHASES


class DecoderDecay(ReplicaModel):
    """The linear VAE with weight decay on the decoder only."""

    def regularizer(self):
        s = self.symbols()
        return s.lam * s.Q.trace() / 2  # per N: lam/2 tr(Q); the encoder is not decayed


model = DecoderDecay()
print(model.name, model.key)

# %% [markdown]
# ## (a) The derivation
#
# `write_derivations` runs every step of the replica derivation on the model's own
# expressions and writes one LaTeX file per step. The free energy (step 8) has the
# user's regularizer, lam Q/2, where the linear VAE has lam (Q + E)/2.

# %%
out = Path(tempfile.mkdtemp()) / "decoder_decay"
paths = write_derivations(out, model=model)
print([p.name for p in paths])
# the equation SymPy wrote (the prose around it is the linear VAE's)
lines = (out / "08_free_energy.tex").read_text().splitlines()
print("\n".join(line for line in lines if r"\lambda}{2}" in line or r"Q \lambda" in line))

# %% [markdown]
# ## (b) The theory: one point, then the phase diagram
#
# `symrep.solve(..., model=model)` asks the model for its solver: the generic Newton search
# on the generated equations (`symrep.solvers.generic`), started from the linear VAE's
# states.

# %%
r = symrep.solve(alpha=2.0, beta=0.5, lam=1.0, model=model)
lin = symrep.solve(alpha=2.0, beta=0.5, lam=1.0)
for label, x in (("decoder decay", r), ("linear VAE:  ", lin)):
    print(f"{label}: {x.phase}, m = {x.m:.4f}, Q = {x.Q:.4f}, E = {x.E:.4f}, "
          f"f = {x.free_energy:.4f}")

# %%
alpha, beta = np.linspace(0.3, 3.0, 12), np.linspace(0.2, 3.5, 12)
pd_user = symrep.phase_diagram(alpha, beta, lam=0.5, model=model, boundaries=False)
pd_lin = symrep.phase_diagram(alpha, beta, lam=0.5, boundaries=False)
fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), constrained_layout=True, sharey=True)
pd_user.plot(ax=axes[0], boundaries=False)
axes[0].set_title("decoder-only weight decay, lam = 0.5")
pd_lin.plot(ax=axes[1], boundaries=False, legend=False)
axes[1].set_title("linear VAE, lam = 0.5")
# the collapse line of the decoder-decay model in closed form (docs/adding_a_model.md):
# beta = s/(alpha + lam), s = alpha (rho + eta)(1 + eta/(alpha rho)) above alpha = 1
a = np.linspace(1.0, 3.0, 50)
axes[0].plot(a, a * 2 * (1 + 1 / a) / (a + 0.5), "k--", lw=1, label="closed form")
axes[0].legend(loc="upper right", fontsize="small")
plt.show()
for label, pd in (("decoder decay", pd_user), ("linear VAE", pd_lin)):
    counts = {name: int((pd.labels == name).sum()) for name in PHASES}
    print(f"{label:14s} grid points per phase: {counts}")

# %% [markdown]
# ## (c) Training at finite N
#
# `symrep.simulate.train_model` prints the model's SymPy objective to torch and trains W, W~
# and log D with L-BFGS. At N = 200 the trained model is close to the theory (finite-N
# fluctuations of order 1/sqrt(N)).

# %%
N, alpha0, beta0, lam0 = 200, 2.0, 0.5, 1.0
runs = []
for seed in range(2):
    X, W0 = sample_scm(P=int(alpha0 * N), N=N, rho=1.0, eta=1.0, seed=seed)
    runs.append(train_model(X, W0, beta0, lam0, rho=1.0, eta=1.0, model=model, seed=seed))
for name in ("m", "Q", "E", "free_energy"):
    # m up to the sign symmetry W -> -W
    trained = np.mean([abs(t.m) if name == "m" else getattr(t, name) for t in runs])
    print(f"{name:12s} theory {getattr(r, name): .4f}   "
          f"trained (N = {N}, 2 data sets) {trained: .4f}")
