"""Phase diagram in the (alpha, beta) plane: phase labels, boundary curves, figure."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from symrep.resources import check_resources, phase_diagram_estimate
from symrep.solvers.saddle_point import PHASES, solve_arrays
from symrep.solvers.sweep_grid import sweep
from symrep.validation import check_parameters

__all__ = ["PhaseDiagram", "phase_diagram", "PHASE_COLORS"]

#: Colours of the phases in figures, with the hues of the paper (learning green,
#: overfitting red, regularized orange) taken from the colour-blind-safe Okabe-Ito palette
#: (bluish green, vermillion, orange; see :data:`symrep.figures.core.OKABE_ITO`).
PHASE_COLORS = {"learning": "#009E73", "overfitting": "#D55E00", "regularized": "#E69F00"}


@dataclass
class PhaseDiagram:
    """Phases of the RS optimum on an (alpha, beta) grid.

    Attributes
    ----------
    alpha, beta : ndarray
        Grid coordinates.
    phase : ndarray of int, shape (len(beta), len(alpha))
        Phase codes (index into :data:`~symrep.solvers.PHASES`), rows along beta.
    lam, rho, eta : float
        Fixed parameters.
    boundaries : dict
        ``"phaseA|phaseB" -> array (k, 2)`` of (alpha, beta) points on the boundary
        between the two phases, located by bisection to 1e-10 relative precision and
        ordered along the curve. At a continuous transition the free energies of the two
        phases differ by their rounding within about 1e-6 of the boundary (the
        difference vanishes quadratically there), so that the phase and the located
        point are decided by rounding within that band (measured up to 5e-7 relative on
        the learning-regularized boundary at lam = rho = eta = 1).
    data : xarray.Dataset
        The full sweep (every observable on the grid).
    model : str
        The model's name, ``"linear-vae"`` by default.
    """

    alpha: np.ndarray
    beta: np.ndarray
    phase: np.ndarray
    lam: float
    rho: float
    eta: float
    boundaries: dict = field(default_factory=dict)
    data: object = None
    model: str = "linear-vae"

    @property
    def labels(self):
        """Phase names on the grid, shape (len(beta), len(alpha))."""
        return np.asarray(PHASES)[self.phase]

    def plot(self, ax=None, boundaries=True, legend=True):
        """Draw the phases (colours) and their boundaries (black lines).

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Where to draw; default: a new figure.
        boundaries : bool, optional
            Draw the boundary curves (default True).
        legend : bool, optional
            Add a legend of the phases' colours (default True).

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt
        from matplotlib.colors import ListedColormap
        from matplotlib.patches import Patch

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 4), constrained_layout=True)
        cmap = ListedColormap([PHASE_COLORS[p] for p in PHASES])
        ax.pcolormesh(self.alpha, self.beta, self.phase, cmap=cmap, vmin=-0.5,
                      vmax=len(PHASES) - 0.5, shading="nearest", rasterized=True)
        if boundaries:
            for pts in self.boundaries.values():
                ax.plot(pts[:, 0], pts[:, 1], color="k", lw=1.2)
        ax.set_xlabel(r"$\alpha$")
        ax.set_ylabel(r"$\beta$")
        ax.set_title(rf"$\lambda={self.lam:g},\ \rho={self.rho:g},\ \eta={self.eta:g}$")
        if legend:
            ax.legend(handles=[Patch(color=PHASE_COLORS[p], label=p) for p in PHASES],
                      loc="upper right", fontsize="small", framealpha=0.9)
        return ax.figure


def _bisect(lo, hi, phase_lo, fixed, along_alpha, params, tol=1e-10, steps=60, model=None):
    """Locate phase changes between lo and hi (vectorised bisection, to ``tol`` relative),
    each along its axis: alpha where ``along_alpha``, else beta, the other coordinate
    ``fixed``."""
    lo, hi = lo.astype(float).copy(), hi.astype(float).copy()
    for _ in range(steps):
        k = np.nonzero(hi - lo > tol * np.abs(hi))[0]
        if not len(k):
            break
        mid = (lo[k] + hi[k]) / 2
        # consecutive midpoints are no curve (each lies on either side of its boundary,
        # the next on another one or on another side): the full search at every point
        more = {} if model is None else {"model": model}
        ph = solve_arrays(np.where(along_alpha[k], mid, fixed[k]),
                          np.where(along_alpha[k], fixed[k], mid), **params,
                          continuation=False, **more)["phase"]
        same = ph == phase_lo[k]
        lo[k] = np.where(same, mid, lo[k])
        hi[k] = np.where(same, hi[k], mid)
    return (lo + hi) / 2


def _boundaries(alpha, beta, phase, params, tol=1e-10, model=None):
    # the grid crossings along beta at every alpha and along alpha at every beta,
    # bisected together: about 30 rounds of the full search instead of 60, and a round
    # on a small batch costs nearly the same whatever its size
    j, i = np.nonzero(phase[:-1, :] != phase[1:, :])
    jb, ib = np.nonzero(phase[:, :-1] != phase[:, 1:])
    along = np.concatenate([np.zeros(len(i), bool), np.ones(len(ib), bool)])
    if not along.size:
        return {}
    pa = np.concatenate([phase[j, i], phase[jb, ib]])
    pb = np.concatenate([phase[j + 1, i], phase[jb, ib + 1]])
    x = _bisect(np.concatenate([beta[j], alpha[ib]]),
                np.concatenate([beta[j + 1], alpha[ib + 1]]), pa,
                np.concatenate([alpha[i], beta[jb]]), along, params, tol, model=model)
    a = np.concatenate([alpha[i], x[len(i):]])
    b = np.concatenate([x[:len(i)], beta[jb]])
    return boundary_curves(a, b, pa, pb, alpha, beta)


def boundary_curves(a, b, pa, pb, alpha, beta):
    """Group located boundary points by the pair of phases they separate.

    Parameters
    ----------
    a, b : ndarray (n,)
        alpha and beta of each boundary point.
    pa, pb : ndarray of int (n,)
        Phase codes (:data:`PHASES`) on the two sides of each point.
    alpha, beta : ndarray
        The grid's axes (their spans decide along which axis a curve is ordered).

    Returns
    -------
    dict
        ``"phase|phase"`` (names sorted) -> array (k, 2) of (alpha, beta), without
        repeats, ordered along the axis over which the curve extends further (relative
        to the grid's span).
    """
    found = {}
    for k in range(len(a)):
        key = "|".join(sorted((PHASES[pa[k]], PHASES[pb[k]])))
        found.setdefault(key, []).append((a[k], b[k]))
    span_a, span_b = np.ptp(alpha) or 1.0, np.ptp(beta) or 1.0
    out = {}
    for key, pts in found.items():
        pts = np.unique(np.array(pts), axis=0)
        along_alpha = np.ptp(pts[:, 0]) / span_a >= np.ptp(pts[:, 1]) / span_b
        out[key] = pts[np.argsort(pts[:, 0] if along_alpha else pts[:, 1])]
    return out


def phase_diagram(alpha, beta, lam=1.0, rho=1.0, eta=1.0, *, boundaries=True, progress=None,
                  force=False, boundary_tol=1e-10, model=None, boundary_method="bisection"):
    """Phase labels on an (alpha, beta) grid and the boundaries between phases.

    Parameters
    ----------
    alpha, beta : 1-d array_like
        Grid coordinates.
    lam, rho, eta : float
        Fixed parameters.
    boundaries : bool
        Locate the boundary curves by bisection between grid points.
    progress : bool, optional
        Progress bar for the grid sweep.
    force : bool
        Run even if the estimated memory or time exceeds what is at hand (see
        :mod:`symrep.resources`).
    boundary_tol : float
        Relative width, in (0, 1), to which each boundary point is bisected (default
        1e-10). A plot resolves about 1e-3 of its axes: 1e-7 saves about a third of the
        bisection rounds.
    model : optional
        A model of :mod:`symrep.models` with one unit and one feature (default the
        linear VAE), as in :func:`symrep.solve`: the phases of the model at the given
        (alpha, beta); the units phase diagram
        (:func:`symrep.solvers.units_phase_plane.units_phase_diagram`) takes the others.
    boundary_method : {"bisection", "continuation"}
        How the boundaries are found: bisected between the grid's points of different
        phase (default), or continued as curves of the augmented equations
        (:func:`symrep.continuation.phase_boundaries`: the collapse threshold or the
        first-order line, the spectral line and the fold of the collapsed branch, each
        to rounding, independent of the grid's spacing); ``"continuation"`` is for the
        default model (no ``model``).

    Returns
    -------
    PhaseDiagram
        With :meth:`PhaseDiagram.plot` for the figure.

    Raises
    ------
    ValueError
        If a parameter is out of range, or alpha or beta is not a 1-d array of at least
        2 values, or the model has several units or features.
    symrep.errors.TooLargeError
        If the grid would need more memory or time than is at hand (``force=False``).

    Examples
    --------
    >>> import numpy as np, symrep
    >>> pd = symrep.phase_diagram(np.linspace(0.1, 5, 64), np.linspace(0.05, 3, 64))
    >>> fig = pd.plot()
    """
    p = check_parameters(lam=lam, rho=rho, eta=eta)
    alpha = np.asarray(check_parameters(allow_array=True, alpha=alpha)["alpha"], dtype=float)
    beta = np.asarray(check_parameters(allow_array=True, beta=beta)["beta"], dtype=float)
    if alpha.ndim != 1 or beta.ndim != 1 or alpha.size < 2 or beta.size < 2:
        raise ValueError("alpha and beta must be 1-d arrays with at least 2 values each")
    if not (isinstance(boundary_tol, numbers.Real) and not isinstance(boundary_tol, bool)
            and 0 < boundary_tol < 1):
        raise ValueError(f"boundary_tol = {boundary_tol!r} is invalid: must be a number in "
                         "(0, 1)")
    if boundary_method not in ("bisection", "continuation"):
        raise ValueError(f"boundary_method = {boundary_method!r} is invalid: must be "
                         "'bisection' or 'continuation'")
    if boundary_method == "continuation" and model is not None:
        raise ValueError("boundary_method = 'continuation' is invalid with a model: the "
                         "continued boundaries are the default model's (leave out model, "
                         "or use 'bisection')")
    more = {}
    if model is not None:
        from symrep.solvers.model_map import check_model

        check_model(model, M=1, Mstar=1, rho=rho)
        if hasattr(model, "theory_solver"):  # a model that brings its own solver
            return model.theory_solver().phase_diagram(
                alpha, beta, p["lam"], p["rho"], p["eta"], boundaries=boundaries,
                boundary_tol=boundary_tol)
        more = {"model": model}
    check_resources(phase_diagram_estimate(alpha.size, beta.size), force=force)
    data = sweep(alpha=alpha, beta=beta, **p, progress=progress, force=True, **more)
    phase = data["phase"].values.T.astype(int)  # rows along beta
    if boundaries and boundary_method == "continuation":
        from symrep.continuation import phase_boundaries

        bounds = phase_boundaries(alpha, beta, p["lam"], p["rho"], p["eta"])
    else:
        bounds = (_boundaries(alpha, beta, phase, p, boundary_tol, **more) if boundaries
                  else {})
    return PhaseDiagram(alpha=alpha, beta=beta, phase=phase, lam=p["lam"], rho=p["rho"],
                        eta=p["eta"], boundaries=bounds, data=data,
                        model=data.attrs["model"])
