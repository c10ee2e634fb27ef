"""Theory curves of an observable against one parameter, with simulation points.

A :class:`CurvePanel` describes one panel: the observable, the parameter on the x axis
(``alpha`` for learning curves, ``beta`` for the KL panel), the parameter that labels the
curves, the fixed parameters and where to simulate. The figures first collect the
simulation points of all their panels (one progress bar), then draw each panel.
:func:`symrep.compare.learning_curve_comparison` is a one-panel use of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from symrep.figures.core import plot_points, series_colors

__all__ = ["CurvePanel", "OBSERVABLE_LABELS", "PARAMETER_LABELS", "parameter_text",
           "rows_matching"]

#: Axis labels of the observables.
OBSERVABLE_LABELS = {
    "eg": r"signal recovery error $\epsilon_g$",
    "kl_posterior": r"$\mathrm{KL}\left(q(z|x)\,\|\,p_W(z|x)\right)$",
    "rate": r"rate $\mathcal{R}$",
    "distortion": r"distortion $\mathcal{D}$",
    "Q": r"decoder norm $Q=\|W\|^2/N$",
    "m": r"overlap $m=W^\top W_0/N$",
    "free_energy": r"free energy",
}

#: LaTeX names of the parameters.
PARAMETER_LABELS = {"alpha": r"\alpha", "beta": r"\beta", "lam": r"\lambda", "rho": r"\rho",
                    "eta": r"\eta"}


def parameter_text(params, names=None):
    r"""``$\lambda=1,\ \rho=1$`` for a dict of parameter values.

    Parameters
    ----------
    params : mapping
        Parameter values by name (``alpha``, ``beta``, ``lam``, ``rho``, ``eta``).
    names : sequence of str, optional
        The parameters to show, in order (default: those of ``params``, in the order of
        :data:`PARAMETER_LABELS`).

    Returns
    -------
    str
        The LaTeX text, in math mode.
    """
    names = names or [k for k in PARAMETER_LABELS if k in params]
    return "$" + r",\ ".join(f"{PARAMETER_LABELS[k]}={params[k]:g}" for k in names) + "$"


def rows_matching(rows, **values):
    """Rows whose parameters equal ``values`` (to 1e-12 relative).

    Parameters
    ----------
    rows : iterable of dict
        Simulation rows.
    **values
        Parameter values by name.

    Returns
    -------
    list of dict
        The matching rows, in order.
    """
    return [r for r in rows
            if all(math.isclose(float(r[k]), float(v), rel_tol=1e-12) for k, v in values.items())]


@dataclass
class CurvePanel:
    """One panel: RS curves of ``observable`` against ``x``, one per value of ``series``.

    Attributes
    ----------
    observable : str
        A field of :class:`~symrep.solvers.SolveResult` (``"eg"``, ``"kl_posterior"``, ...).
    x : str
        The parameter on the horizontal axis.
    grid : array_like
        Its values for the theory curves.
    series : str
        The parameter that labels the curves.
    values : sequence of float
        One curve per value.
    fixed : dict
        The remaining parameters (rho and eta default to 1).
    sim_x : sequence of float
        Where along x to simulate.
    sim_values : sequence of float, optional
        The curves that get simulation points (default: all).
    panel : str
        Name recorded in the simulation rows.
    colors : sequence, optional
        One colour per curve (default: a sequential colour map).
    """

    observable: str
    x: str
    grid: np.ndarray
    series: str
    values: tuple
    fixed: dict
    sim_x: tuple = ()
    sim_values: tuple | None = None
    panel: str = ""
    colors: list | None = None
    theory: object = field(default=None, repr=False)

    def __post_init__(self):
        self.grid = np.asarray(self.grid, dtype=float)
        self.values = tuple(float(v) for v in self.values)
        self.fixed = {"rho": 1.0, "eta": 1.0, **self.fixed}
        if self.colors is None:
            self.colors = series_colors(len(self.values))

    def points(self):
        """The parameter points to simulate (dicts with a ``panel`` key).

        Returns
        -------
        list of dict
            One point per curve in ``sim_values`` (default all) and x in ``sim_x``: ``x``,
            ``series``, the fixed parameters and ``panel``.
        """
        chosen = self.values if self.sim_values is None else self.sim_values
        return [{self.x: float(xv), self.series: float(v), **self.fixed, "panel": self.panel}
                for v in chosen for xv in self.sim_x]

    def solve(self):
        """The RS sweep over (grid, values), kept in :attr:`theory`.

        Returns
        -------
        xarray.Dataset
            The sweep, computed on the first call (points without a solution masked).
        """
        from symrep.solvers import sweep

        if self.theory is None:
            self.theory = sweep(**{self.x: self.grid, self.series: list(self.values)},
                                **self.fixed, errors="mask")
        return self.theory

    def curve(self, value, observable=None):
        """Theory values of an observable along the grid, for one curve.

        Parameters
        ----------
        value : float
            The curve's value of :attr:`series`.
        observable : str, optional
            The observable (default :attr:`observable`).

        Returns
        -------
        ndarray
            The values along :attr:`grid` (NaN where the solver found no solution).
        """
        da = self.solve()[observable or self.observable].sel({self.series: value})
        return np.asarray(da.transpose(self.x).values, dtype=float)

    def draw(self, ax, rows=(), *, label=None, lw=1.6, observable=None, xlabel=True,
             ylabel=True):
        """Draw the theory curves and the simulation rows of this panel on ``ax``.

        Parameters
        ----------
        ax : matplotlib.axes.Axes
            The axes.
        rows : sequence of dict
            Simulation rows (only those of this panel, matching a curve, are drawn).
        label : callable, optional
            ``value -> legend label`` (default ``$\\beta=0.5$`` style).
        lw : float, optional
            Line width of the curves (default 1.6).
        observable : str, optional
            Draw another observable than :attr:`observable` (same points).
        xlabel, ylabel : bool, optional
            Label the axes (default True).

        Returns
        -------
        matplotlib.axes.Axes
            ``ax``.
        """
        obs = observable or self.observable
        name = PARAMETER_LABELS[self.series]
        label = label or (lambda v: f"${name}={v:g}$")
        mine = [r for r in rows if r.get("panel", self.panel) == self.panel]
        for value, color in zip(self.values, self.colors, strict=True):
            ax.plot(self.grid, self.curve(value, obs), color=color, lw=lw, label=label(value),
                    zorder=2)
            plot_points(ax, rows_matching(mine, **{self.series: value}), self.x, obs, color)
        if xlabel:
            ax.set_xlabel(f"${PARAMETER_LABELS[self.x]}$")
        if ylabel:
            ax.set_ylabel(OBSERVABLE_LABELS.get(obs, obs))
        return ax
