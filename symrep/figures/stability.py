"""Figure: stability of each RS branch along the curves of the paper's figures.

Per panel, along a curve in beta (alpha = 2 and 10, lam = 0 and 1) or in alpha (crossing
the BBP point alpha = eta^2/rho^2), for each branch (collapsed, overfitting, learning)
where it exists: the smallest eigenvalue of the reduced RS Hessian (solid; thick where
the branch is the RS optimum) and the replicon eigenvalue (dashed). Below zero the
branch is unstable; a replicon at zero is marginal (the overfitting state on the bulk
edge). See docs/stability.md.
"""

from __future__ import annotations

import logging

import numpy as np

from symrep.figures.core import OKABE_ITO, REPRODUCIBLE_METADATA
from symrep.io import atomic_path

logger = logging.getLogger(__name__)

__all__ = ["PANELS", "stability_curves", "stability_figure", "write_stability_figure"]

#: (title, x name, x values, fixed parameters) of each panel; rho = eta = 1.
PANELS = (
    ("alpha = 2, lam = 0", "beta", np.linspace(0.02, 4.5, 225), dict(alpha=2.0, lam=0.0)),
    ("alpha = 2, lam = 1", "beta", np.linspace(0.02, 3.0, 150), dict(alpha=2.0, lam=1.0)),
    ("alpha = 10, lam = 0", "beta", np.linspace(0.02, 3.0, 150), dict(alpha=10.0, lam=0.0)),
    ("alpha = 10, lam = 1", "beta", np.linspace(0.02, 3.0, 150), dict(alpha=10.0, lam=1.0)),
    ("beta = 0.5, lam = 1", "alpha", np.geomspace(0.05, 20, 160), dict(beta=0.5, lam=1.0)),
    ("beta = 1.5, lam = 0.1", "alpha", np.geomspace(0.05, 20, 160), dict(beta=1.5, lam=0.1)),
)

_COLORS = {"collapsed": OKABE_ITO["blue"], "overfitting": OKABE_ITO["vermillion"],
           "learning": OKABE_ITO["bluish green"]}


def stability_curves(x_name, x, fixed, rho=1.0, eta=1.0):
    """The stability of every branch along one curve.

    Parameters
    ----------
    x_name : {"alpha", "beta", "lam"}
        The parameter that varies.
    x : array_like
        Its values.
    fixed : dict
        The other two of alpha, beta, lam.
    rho, eta : float, optional
        Signal and noise strength (default 1).

    Returns
    -------
    dict
        As :func:`symrep.stability.branch_stability_arrays`.

    Raises
    ------
    ValueError
        If ``x_name`` is not one of the three or a parameter is out of range.
    """
    from symrep.stability import branch_stability_arrays

    if x_name not in ("alpha", "beta", "lam"):
        raise ValueError(f"x_name = {x_name!r} is invalid: must be 'alpha', 'beta' or 'lam'")
    params = dict(fixed, rho=rho, eta=eta)
    params[x_name] = np.asarray(x, dtype=float)
    return branch_stability_arrays(**params)


def stability_figure(panels=PANELS):
    """Draw the figure.

    Parameters
    ----------
    panels : sequence of (title, x name, x values, fixed parameters), optional
        The curves (default :data:`PANELS`).

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    import matplotlib.pyplot as plt

    cols = 3
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, (title, x_name, x, fixed) in zip(axes.flat, panels, strict=False):
        res = stability_curves(x_name, x, fixed)
        for name, e in res.items():
            family = name.split("_")[0]
            color = _COLORS[family]
            h = np.where(e["exists"], e["hessian_min"], np.nan)
            rep = np.where(e["exists"], e["replicon"], np.nan)
            label = family if name == family else None
            ax.plot(x, h, color=color, lw=1.2, label=label)
            ax.plot(x, np.where(e["optimum"], h, np.nan), color=color, lw=3.2, alpha=0.6)
            ax.plot(x, rep, color=color, lw=1.2, ls="--")
        ax.axhline(0.0, color="0.5", lw=0.6)
        ax.set_yscale("symlog", linthresh=0.1)
        if x_name == "alpha":
            ax.set_xscale("log")
            ax.axvline(1.0, color="0.7", lw=0.6, ls=":")
        ax.set_xlabel(x_name)
        ax.set_title(title, fontsize=9)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    axes[0, 0].set_ylabel("eigenvalue")
    axes[0, 0].legend(fontsize=7, title="solid: RS Hessian min\ndashed: replicon",
                      title_fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def write_stability_figure(path="docs/figures/stability.png", *, dpi=110):
    """Write the figure as a PNG (atomically: an interrupted write leaves the old file).

    Parameters
    ----------
    path : str or path-like, optional
        The destination (default ``docs/figures/stability.png``); its folder must exist.
    dpi : int, optional
        Resolution (default 110).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    from pathlib import Path

    import matplotlib.pyplot as plt

    fig = stability_figure()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, metadata=REPRODUCIBLE_METADATA.get("png"))
    plt.close(fig)
    logger.info("wrote %s", path)
    return Path(path)


if __name__ == "__main__":  # pragma: no cover
    write_stability_figure()
