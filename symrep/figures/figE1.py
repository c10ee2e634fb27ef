"""Appendix E.1: the VAE without weight decay (lam = 0).

Three panels: the signal recovery error against alpha for several beta (with nothing
but the rate term to bound the decoder, the error of the overfitting phase grows steeply
as alpha decreases below 1; the cusp at alpha = 1 remains), the decoder norm Q against
alpha for the same beta (it vanishes at large alpha when beta > rho + eta: collapse even
without weight decay), and rate-distortion curves at finite alpha with the
alpha -> infinity limit.

At lam = 0 and alpha < 1 the encoder weights along the null space of the data are not
determined by the objective, so the rate and KL of trained models there depend on the
initialisation; the signal recovery error and Q do not. The simulated rate-distortion
points are therefore all at alpha > 1.
"""

from __future__ import annotations

from symrep.figures.core import FigureResult, method_legend, resolve_size, simulation_points
from symrep.figures.curves import CurvePanel, parameter_text
from symrep.figures.fig2 import alpha_grid, mark_plateau, plain_log_ticks
from symrep.figures.fig4 import draw_rd_panel, rd_points

__all__ = ["figE1_no_weight_decay"]

BETAS = (0.1, 0.5, 1.0, 1.5, 3.0)
SIM_ALPHA = {"full": (0.3, 0.5, 2.0, 3.0, 5.0, 8.0), "quick": (0.5, 3.0)}
RD_ALPHAS = (1.0, 5.0, 20.0, 100.0)
RD_SIM_ALPHAS = {"full": (5.0, 20.0), "quick": (5.0,)}
RD_SIM_BETAS = {"full": (0.1, 0.3, 0.6, 1.0, 1.5), "quick": (0.2, 0.6, 1.2)}


def figE1_no_weight_decay(size="quick", *, rho=1.0, eta=1.0, progress=None, cache=None,
                          grid=None):
    """Learning curves, decoder norm and rate-distortion curves at lam = 0.

    Parameters
    ----------
    size : {"quick", "full"} or Size
        Simulation size and the set of simulated points.
    rho, eta : float
        Signal and noise strength.
    progress : bool, optional
        Progress bar over the simulation points.
    cache : dict, optional
        Earlier simulation rows to reuse.
    grid : dict, optional
        Where the simulations run and are kept: ``store``, ``client``, ``scheduler``,
        ``settings`` of :func:`~symrep.figures.core.simulation_points`.

    Returns
    -------
    FigureResult
    """
    import matplotlib.pyplot as plt

    size = resolve_size(size)
    which = "quick" if size.quick else "full"
    fixed = dict(lam=0.0, rho=rho, eta=eta)
    curves = CurvePanel("eg", "alpha", alpha_grid(10.3, start=0.1), "beta", BETAS, fixed,
                        sim_x=SIM_ALPHA[which], panel="learning curves")
    points = curves.points() + rd_points(RD_SIM_ALPHAS[which], RD_SIM_BETAS[which], 0.0,
                                         rho, eta, panel="rate-distortion")
    rows = simulation_points(points, size, figure="figE1_no_weight_decay", progress=progress,
                             cache=cache, **(grid or {}))
    fig, (ax_eg, ax_q, ax_rd) = plt.subplots(1, 3, figsize=(15.5, 4.5),
                                             constrained_layout=True)
    curves.draw(ax_eg, rows)
    mark_plateau(ax_eg, rho=rho, x=0.98)
    ax_eg.set_yscale("log")
    plain_log_ticks(ax_eg.yaxis, [0.2, 0.3, 0.5, 1, 2, 3, 5, 10, 20])
    ax_eg.set_xlim(0, 10.3)
    ax_eg.legend(loc="upper center", fontsize="small", framealpha=0.9)
    ax_eg.set_title("signal recovery error, " + parameter_text(fixed), fontsize="medium")

    curves.draw(ax_q, rows, observable="Q")
    ax_q.set_yscale("symlog", linthresh=0.1, linscale=0.5)
    plain_log_ticks(ax_q.yaxis, [0, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20])
    ax_q.set_xlim(0, 10.3)
    ax_q.set_ylim(0, None)
    method_legend(ax_q, size, loc="upper right")
    ax_q.set_title(r"decoder norm: $Q\to 0$ for $\beta>\rho+\eta$", fontsize="medium")

    rd_rows = [r for r in rows if r.get("panel") == "rate-distortion"]
    draw_rd_panel(ax_rd, RD_ALPHAS, 0.0, rd_rows, size, rho=rho, eta=eta, legends=False)
    # without weight decay the curves meet the limit at small D and the alpha = 1 curve
    # bulges past D = 1 at small rates: the empty place is at high rate, right of all
    # curves, below the collapse mark (the methods' legend is the middle panel's)
    ax_rd.legend(loc="upper right", bbox_to_anchor=(1.0, 0.93), fontsize="small",
                 framealpha=0.9)
    ax_rd.set_title(r"rate-distortion, $\lambda=0$, traced by $\beta$", fontsize="medium")
    return FigureResult("figE1_no_weight_decay", fig, rows, size,
                        notes={"observables": ("eg", "Q", "rate", "distortion")})
