"""Rate-distortion curves: the alpha -> infinity limit, Shannon's bound, finite alpha.

The rate is the KL term of the objective, (D + <v^2> - 1 - log D)/2 per sample, and the
distortion the reconstruction term minus the (N - 1) eta/2 of the directions orthogonal to
the feature, so that it measures the error on the one-dimensional source x . W0/sqrt(N),
a Gaussian of variance sigma^2 = rho + eta. Shannon's rate-distortion function of that
source for the squared error e = 2 x distortion is max(0, log(sigma^2/e)/2) nats.

As alpha -> infinity the learning branch has rate log((rho + eta)/beta)/2 and distortion
beta/2 (see :mod:`symrep.asymptotics.large_alpha`); eliminating beta gives the VAE's
curve, which SymPy shows equal to Shannon's on 0 < distortion <= (rho + eta)/2. Beyond
beta = rho + eta the collapsed branch sits at the end point (rate 0, distortion
(rho + eta)/2). At finite alpha the curve is traced numerically by :func:`rd_curve`.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import sympy as sp

from symrep import symbols as S
from symrep.asymptotics.large_alpha import large_alpha_expansion
from symrep.replica.derivation import Equation, Step

__all__ = ["rd_curve_limit", "shannon_rate_distortion", "rd_limit_difference",
           "source_variance", "rd_curve", "rate_distortion_step"]


def source_variance() -> sp.Expr:
    """Variance of the one-dimensional source x . W0 / sqrt(N): rho + eta.

    Returns
    -------
    sympy.Expr
        rho + eta.
    """
    return S.rho + S.eta


def shannon_rate_distortion(distortion=S.Dcal, variance=None) -> sp.Expr:
    """Shannon's R(D) (nats) of a Gaussian source, distortion = half squared error.

    Valid on 0 < distortion <= variance/2 (beyond it the rate is zero).

    Parameters
    ----------
    distortion : sympy.Expr, optional
        The distortion D (default the symbol Dcal).
    variance : sympy.Expr, optional
        Variance of the source (default :func:`source_variance`, rho + eta).

    Returns
    -------
    sympy.Expr
        log(variance / (2 distortion)) / 2.
    """
    variance = source_variance() if variance is None else variance
    return sp.log(variance / (2 * distortion)) / 2


@cache
def rd_curve_limit(model=None) -> tuple:
    """``(Dcal, rate)``: the VAE's rate-distortion curve as alpha -> infinity.

    SymPy eliminates beta between the leading-order rate and distortion of the learning
    branch. The curve holds for 0 < Dcal <= (rho + eta)/2, i.e. beta <= rho + eta.

    Parameters
    ----------
    model : optional
        A model with a large-N reduction to the linear VAE (default the linear VAE):
        its rate and distortion are the linear VAE's at the mapped beta, and beta is
        eliminated the same way (the learned decoder variance traces the same curve,
        for beta <= (rho + eta)/eta).

    Raises
    ------
    ValueError
        If ``model`` declares no reduction.

    Returns
    -------
    Dcal : Symbol
        :data:`symrep.symbols.Dcal`, the distortion (the quantity ``solve(...).distortion``).
    rate : Expr
        The rate as a function of Dcal, rho and eta.
    """
    obs = large_alpha_expansion().observables
    rate0, dist0 = obs["rate"][0], obs["distortion"][0]
    if model is not None:
        from symrep.asymptotics.reduction import reduction_map

        mapping = reduction_map(model)
        rate0, dist0 = rate0.xreplace(mapping), dist0.xreplace(mapping)
    (beta_of_D,) = sp.solve(sp.Eq(dist0, S.Dcal), S.beta)
    return S.Dcal, sp.simplify(rate0.subs(S.beta, beta_of_D))


def rd_limit_difference(model=None) -> sp.Expr:
    """VAE limit minus Shannon's R(D), simplified by SymPy (the proof: it is zero).

    Parameters
    ----------
    model : optional
        A model with a large-N reduction (default the linear VAE), as for
        :func:`rd_curve_limit`.

    Returns
    -------
    sympy.Expr
        The simplified difference of the two rates at the VAE's distortion (zero).
    """
    D, rate = rd_curve_limit() if model is None else rd_curve_limit(model)
    return sp.simplify(sp.expand_log(rate - shannon_rate_distortion(D), force=True))


def rd_curve(alpha, beta, lam, rho=1.0, eta=1.0, *, model=None):
    """Rate-distortion curve at finite alpha, traced by beta (numeric).

    Parameters
    ----------
    alpha, lam, rho, eta : float
    beta : array_like
        Values of beta tracing the curve.
    model : optional
        A model of :mod:`symrep.models` with one unit and one feature (default the
        linear VAE), solved as :func:`symrep.solvers.solve_arrays` solves it.

    Returns
    -------
    distortion, rate : ndarray
        On the lowest-free-energy branch at each beta.
    """
    from symrep.solvers import solve_arrays
    from symrep.validation import check_parameter

    beta = np.asarray(check_parameter("beta", beta, allow_array=True), dtype=float)
    res = (solve_arrays(alpha, beta, lam, rho, eta) if model is None
           else solve_arrays(alpha, beta, lam, rho, eta, model=model))
    return np.asarray(res["distortion"]), np.asarray(res["rate"])


@cache
def rate_distortion_step() -> Step:
    """The rate-distortion curve as alpha -> infinity, for the derivation document."""
    obs = large_alpha_expansion().observables
    D, rate = rd_curve_limit()
    text = r"""
The distortion is the reconstruction error on the one-dimensional source
$x\cdot W_0/\sqrt N$, a Gaussian of variance $\sigma^2=\rho+\eta$, measured as half the
squared error. Shannon's rate-distortion function of that source is
$R(\mathcal D) = \tfrac12\log(\sigma^2/(2\mathcal D))$ for
$0<\mathcal D\le\sigma^2/2$. SymPy eliminates $\beta$ between the leading-order rate and
distortion and simplifies the difference to Shannon's function to zero. The first
corrections in $1/\alpha$ (from the large-$\alpha$ expansion) show how finite-$\alpha$
curves approach it.
"""
    eqs = (
        Equation(r"\mathcal R^{(0)}(\beta)", obs["rate"][0]),
        Equation(r"\mathcal D^{(0)}(\beta)", obs["distortion"][0]),
        Equation(r"\mathcal R_{\infty}(\mathcal D)", rate),
        Equation(r"R_{\mathrm{Shannon}}(\mathcal D)", shannon_rate_distortion(D)),
        Equation(r"\mathcal R_{\infty} - R_{\mathrm{Shannon}}", rd_limit_difference()),
        Equation(r"\mathcal R^{(1)}", obs["rate"][1]),
        Equation(r"\mathcal D^{(1)}", obs["distortion"][1]),
    )
    return Step(key="13_rate_distortion", title="Rate-distortion curve", text=text,
                equations=eqs, result=(D, rate))
