"""Phase diagram in the (alpha, beta) plane for M latent units and M* features.

Each grid point gets the phase structure of its units (``"learning feature 1, collapsed"``
and so on, units in order of decreasing norm); :func:`collapse_thresholds` locates, for
each alpha, the beta at which each unit collapses (bisection on the number of units that
are not collapsed), the staged collapse of the units one after another.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from symrep.resources import check_resources, phase_diagram_estimate
from symrep.solvers.latent_units import (
    _check_strengths,
    _check_units,
    solve_units_arrays,
    unit_state_name,
)
from symrep.solvers.model_map import check_model
from symrep.validation import check_parameters, check_positive_int

__all__ = ["UnitsPhaseDiagram", "units_phase_diagram", "collapse_thresholds"]

# Okabe-Ito colours (colour-blind safe), most learning units first
_COLOURS = ("#009E73", "#56B4E9", "#0072B2", "#CC79A7", "#F0E442", "#D55E00", "#E69F00",
            "#999999", "#000000")
_BETA_RANGE = (1e-4, 1e4)


def _structure_label(codes) -> str:
    return ", ".join(unit_state_name(c) for c in codes)


def collapse_thresholds(alpha, lam, rho, eta=1.0, *, M=None, steps=48, model=None):
    """For each alpha, the beta at which each latent unit collapses.

    Parameters
    ----------
    alpha : float or 1-d array_like
        Sample complexities.
    lam, eta : float
        Weight decay and noise strength.
    rho : float or sequence of float
        Feature strengths rho_1..rho_M*.
    M : int, optional
        Number of latent units: default 1, or the model's.
    steps : int
        Bisection steps in log beta over [1e-4, 1e4] (48 give ~1e-13 relative).
    model : optional
        A model of :mod:`symrep.models` (default the linear VAE): the thresholds in the
        model's own beta.

    Returns
    -------
    ndarray (len(alpha), M)
        ``out[i, j]``: the largest beta at which at least j + 1 units are not collapsed
        (the ``j``-th unit's collapse threshold, thresholds in decreasing order); the
        lower end of the range (1e-4) where fewer than j + 1 units are active at any
        beta in it.

    Raises
    ------
    ValueError
        If a parameter is out of range, or ``M`` or the strengths disagree with the
        model's.
    """
    rhos = _check_strengths(rho, allow_array=False)
    more = {}
    if model is not None:
        M = check_model(model, M=M, Mstar=len(rhos), rho=rho)
        more = {"model": model}
    M = _check_units(1 if M is None else M)
    steps = check_positive_int("steps", steps)
    p = check_parameters(lam=lam, eta=eta)
    alpha = np.atleast_1d(check_parameters(allow_array=True, alpha=alpha)["alpha"])
    if alpha.ndim != 1:
        raise ValueError("alpha must be a number or a 1-d array")
    n = alpha.size
    lo = np.full((n, M), np.log(_BETA_RANGE[0]))
    hi = np.full((n, M), np.log(_BETA_RANGE[1]))
    a = np.repeat(alpha, M)
    need = np.tile(np.arange(1, M + 1), n)
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        # consecutive midpoints are no curve (each near its own threshold, on either
        # side): the full search at every point
        out = solve_units_arrays(a, np.exp(mid.ravel()), p["lam"], rhos, p["eta"], M=M,
                                 continuation=False, **more)
        active = np.sum(out["unit_state"] != 0, axis=-1) >= need
        lo = np.where(active.reshape(n, M), mid, lo)
        hi = np.where(active.reshape(n, M), hi, mid)
    return _extrapolate_to_zero_norm(np.exp(lo), np.exp(hi), a, lam=p["lam"], rhos=rhos,
                                     eta=p["eta"], M=M, **more)


def _extrapolate_to_zero_norm(lo, hi, a, *, lam, rhos, eta, M, **more):
    """Sharpen a continuous collapse: the norm Q of the last active unit vanishes
    linearly at the threshold, so two points on the active side extrapolate to it.

    The bisection compares free energies, whose difference vanishes quadratically at a
    continuous transition, so it resolves the threshold only to ~sqrt(rounding) (1e-8);
    the extrapolated zero of Q is kept where it lies in the final bracket widened by
    that resolution (a discontinuous collapse keeps the bisection's value).
    """
    n = lo.shape[0]
    j = np.tile(np.arange(M), n)
    b2 = lo.ravel()
    b1 = b2 * (1 - 1e-5)
    out = solve_units_arrays(np.concatenate([a, a]), np.concatenate([b1, b2]), lam, rhos,
                             eta, M=M, errors="mask", continuation=False, **more)
    Q = np.diagonal(out["Q"], axis1=-2, axis2=-1)
    rows = np.arange(b2.size)
    Q1, Q2 = Q[rows, j], Q[b2.size + rows, j]
    with np.errstate(all="ignore"):
        zero = b2 + Q2 * (b2 - b1) / (Q1 - Q2)
    good = (np.isfinite(zero) & (Q1 > Q2) & (Q2 > 0) & (zero >= b2)
            & (zero <= hi.ravel() * (1 + 1e-7)) & (b2 > _BETA_RANGE[0]))
    return np.where(good, zero, b2).reshape(n, M)


@dataclass
class UnitsPhaseDiagram:
    """Phase structures of the units on an (alpha, beta) grid.

    Attributes
    ----------
    alpha, beta : ndarray
        Grid coordinates.
    structure : ndarray of int, shape (len(beta), len(alpha))
        Index into :attr:`structures` at each grid point (rows along beta).
    structures : list of str
        The phase structures met, e.g. ``"learning feature 1, collapsed"``.
    unit_state : ndarray of int, shape (len(beta), len(alpha), M)
        State code of each unit (:func:`symrep.solvers.latent_units.unit_state_name`).
    thresholds : ndarray (len(alpha), M) or None
        Collapse threshold of each unit (:func:`collapse_thresholds`), if computed.
    lam, eta : float
    rho : tuple of float
    M : int
    data : xarray.Dataset
        Every order parameter and observable on the grid.
    model : str
        The model's name, ``"linear-vae"`` by default.
    """

    alpha: np.ndarray
    beta: np.ndarray
    structure: np.ndarray
    structures: list
    unit_state: np.ndarray
    lam: float
    rho: tuple
    eta: float
    M: int
    thresholds: np.ndarray | None = None
    data: object = field(default=None, repr=False)
    model: str = "linear-vae"

    @property
    def colours(self) -> list:
        """The colour of each phase structure in :meth:`plot` (Okabe-Ito palette)."""
        return [_COLOURS[k % len(_COLOURS)] for k in range(len(self.structures))]

    def plot(self, ax=None, thresholds=True, legend=True):
        """Draw the structures (colours) and each unit's collapse threshold (lines).

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            The axes to draw on (default: a new figure).
        thresholds : bool, optional
            Draw each unit's collapse threshold in beta (default True), where computed.
        legend : bool, optional
            Draw a legend of the structures and thresholds, right of the axes (default True).

        Returns
        -------
        matplotlib.figure.Figure
            The figure of ``ax``.
        """
        import matplotlib.pyplot as plt
        from matplotlib.colors import ListedColormap
        from matplotlib.patches import Patch

        if ax is None:
            _, ax = plt.subplots(figsize=(5.5, 4), constrained_layout=True)
        colours = self.colours
        ax.pcolormesh(self.alpha, self.beta, self.structure, cmap=ListedColormap(colours),
                      vmin=-0.5, vmax=len(colours) - 0.5, shading="nearest",
                      rasterized=True)
        if thresholds and self.thresholds is not None:
            styles = ("-", "--", ":", "-.")
            for j in range(self.M):
                ax.plot(self.alpha, self.thresholds[:, j], color="k", lw=1.1,
                        ls=styles[j % len(styles)], label=f"unit {j + 1} collapses")
        ax.set_xlabel(r"$\alpha$")
        ax.set_ylabel(r"$\beta$")
        ax.set_ylim(self.beta.min(), self.beta.max())
        rho = ", ".join(f"{r:g}" for r in self.rho)
        ax.set_title(rf"$M={self.M},\ \rho=({rho}),\ \lambda={self.lam:g},"
                     rf"\ \eta={self.eta:g}$")
        if legend:
            handles = [Patch(color=c, label=s) for c, s in zip(colours, self.structures,
                                                               strict=True)]
            handles += ax.get_legend_handles_labels()[0]
            ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                      fontsize="x-small", framealpha=0.9)
        return ax.figure


def units_phase_diagram(alpha, beta, lam=1.0, rho=(2.0, 0.7), eta=1.0, *, M=None,
                        thresholds=True, progress=None, force=False, threshold_steps=48,
                        model=None):
    """Phase structures of M latent units on an (alpha, beta) grid.

    Parameters
    ----------
    alpha, beta : 1-d array_like
        Grid coordinates (at least 2 values each).
    lam, eta : float
        Weight decay and noise strength.
    rho : float or sequence of float
        Feature strengths rho_1..rho_M*.
    M : int, optional
        Number of latent units: default 2, or the model's.
    thresholds : bool
        Also locate each unit's collapse threshold for every alpha of the grid.
    progress : bool, optional
        Progress bar of the grid sweep.
    force : bool
        Run even if the estimated memory or time exceeds what is at hand.
    threshold_steps : int
        Bisection steps of the collapse thresholds (``steps`` of
        :func:`collapse_thresholds`: 48 give ~1e-13 relative, 28 ~1e-7, which a plot
        does not resolve).
    model : optional
        A model of :mod:`symrep.models` with M units and len(rho) features (default
        the linear VAE), as in :func:`symrep.solve`.

    Returns
    -------
    UnitsPhaseDiagram

    Raises
    ------
    ValueError
        If a parameter is out of range, or ``M`` or the strengths disagree with the
        model's.
    """
    from symrep.solvers.units_grid import sweep_units

    rhos = tuple(float(r) for r in _check_strengths(rho, allow_array=False))
    more = {}
    if model is not None:
        M = check_model(model, M=M, Mstar=len(rhos), rho=rho)
        more = {"model": model}
    M = _check_units(2 if M is None else M)
    threshold_steps = check_positive_int("threshold_steps", threshold_steps)
    p = check_parameters(lam=lam, eta=eta)
    alpha = np.asarray(check_parameters(allow_array=True, alpha=alpha)["alpha"], float)
    beta = np.asarray(check_parameters(allow_array=True, beta=beta)["beta"], float)
    if alpha.ndim != 1 or beta.ndim != 1 or alpha.size < 2 or beta.size < 2:
        raise ValueError("alpha and beta must be 1-d arrays with at least 2 values each")
    check_resources(phase_diagram_estimate(alpha.size * len(rhos), beta.size), force=force)
    data = sweep_units(alpha, beta, p["lam"], rhos, p["eta"], M=M, progress=progress,
                       force=True, **more)
    states = data["unit_state"].transpose("beta", "alpha", "unit").values.astype(int)
    flat = states.reshape(-1, M)
    found = np.unique(flat, axis=0)
    # most learning units first, then overfitting before collapsed
    found = sorted(found.tolist(), key=lambda s: (-sum(c >= 2 for c in s),
                                                  -sum(c == 1 for c in s), s))
    index = {tuple(s): k for k, s in enumerate(found)}
    structure = np.array([index[tuple(s)] for s in flat.tolist()]).reshape(states.shape[:2])
    th = (collapse_thresholds(alpha, p["lam"], rhos, p["eta"], M=M, steps=threshold_steps,
                              **more)
          if thresholds else None)
    return UnitsPhaseDiagram(alpha=alpha, beta=beta, structure=structure,
                             structures=[_structure_label(s) for s in found],
                             unit_state=states, lam=p["lam"], rho=rhos, eta=p["eta"], M=M,
                             thresholds=th, data=data, model=data.attrs["model"])
