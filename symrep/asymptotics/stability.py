"""Linear stability of the collapsed solution, mode by mode.

Two complementary views, which the tests check against each other:

**Per mode (finite N, any alpha).** Put decoder and encoder along one eigenvector of the
sample covariance, with eigenvalue s: W = omega v sqrt(N), W~ = omegatilde v sqrt(N). The
training objective per N is then

    ell = alpha [ -s omega omegatilde + (omega^2/2)(s omegatilde^2 + D)
                  + (beta/2)(s omegatilde^2 + D - 1 - log D) ] + (lam/2)(omega^2 + omegatilde^2).

The collapsed point omega = omegatilde = 0, D = 1 is stationary; the Jacobian of the
gradient map in (omega, omegatilde) there is

    H(s) = [[lam + alpha, -alpha s], [-alpha s, lam + alpha beta s]],

whose lower eigenvalue changes sign where det H = 0, i.e. at

    beta_c(alpha, lam, s) = alpha s / (lam + alpha) - lam / (alpha s).

The collapsed solution is stable iff beta > beta_c for the top eigenvalue. In the
high-dimensional limit the top eigenvalue is the spike s = (rho + eta)(1 + eta/(alpha
rho)) when alpha rho^2 > eta^2, else the bulk edge eta (1 + alpha^{-1/2})^2. With M latent
units and M* features of strengths rho_k, under the diagonal assumption (each unit along
its own eigenvector, modes decoupled) unit k loses stability at beta_c(alpha, lam, s_k),
with s_k the k-th largest eigenvalue; units beyond M* see the bulk edge. As alpha ->
infinity the thresholds become rho_k + eta and eta, whatever lam.

**RS order parameters (large alpha).** The Hessian of the leading-order RS free energy
F0 (see :mod:`symrep.asymptotics.large_alpha`) in (m, d) at the collapsed point is
[[1, -(rho+eta)], [-(rho+eta), beta (rho+eta)]], with eigenvalues changing sign at
beta = rho + eta. At finite alpha the same (m, d) block of the Jacobian of the RS
saddle-point equations is evaluated numerically by :func:`rs_collapsed_eigenvalues`.

Whether the transition at beta_c is continuous follows from the expansion of the
reduced objective in Q = omega^2 at the threshold: its quadratic coefficient is positive
(continuous transition, the phase changes exactly at beta_c) iff
(alpha s)^2 > 2 lam (lam + alpha)^2 / (2 lam + alpha); otherwise the transition is of
first order and the learning branch takes over before the collapsed point destabilises.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy as sp

from symrep import symbols as S
from symrep.replica.derivation import Equation, Step

__all__ = ["ModeStability", "mode_objective", "collapsed_stability", "mode_thresholds",
           "collapse_threshold_at", "rs_collapsed_block", "rs_collapsed_eigenvalues",
           "stability_step"]


def mode_objective(model=None) -> sp.Expr:
    """Training objective per N with decoder and encoder along one eigenvector.

    Taken from the model (:class:`symrep.model.LinearVAE`, one latent unit): with
    W = omega v sqrt(N), W~ = omegatilde v sqrt(N) and v an eigenvector of the sample
    covariance with eigenvalue s, the local fields (u, v) = (omega, omegatilde) v.x have
    second moments s (omega, omegatilde)(omega, omegatilde)^T over the training samples
    and Q = omega^2, E = omegatilde^2, so the objective per N is alpha times the model's
    per-sample objective averaged with these moments plus its regularizer. The terms are
    grouped by beta and omega^2.

    Parameters
    ----------
    model : LinearVAE, optional
        A model with one latent unit (default ``LinearVAE()``).

    Returns
    -------
    sympy.Expr
        The objective per N in omega, omegatilde, s and the model's parameters.

    Raises
    ------
    ValueError
        If ``model.M`` is not 1 (the range implemented: the mode ansatz is written for
        one latent unit).
    """
    from symrep.models import default_model

    model = default_model() if model is None else model
    # input validation, not physics: the mode ansatz below (W, W~ along one eigenvector)
    # is written for one latent unit; a wider model is outside what is implemented
    if model.M != 1:
        raise ValueError(f"model.M = {model.M} is invalid: mode_objective is implemented "
                         "for one latent unit, M must be 1")
    w, wt, s = S.omega, S.omegatilde, S.s
    sym = model.symbols()
    mode = sp.Matrix([w, wt])
    moments = s * mode * mode.T
    on_mode = {sym.Q[0, 0]: w**2, sym.E[0, 0]: wt**2}
    per_sample = sp.expand(model.average_objective(moments).xreplace(on_mode))
    groups = sp.collect(per_sample, [S.beta, w**2], evaluate=False)
    per_sample = sp.Add(*(key * sp.factor(value) for key, value in groups.items()))
    return sym.alpha * per_sample + model.regularizer().xreplace(on_mode)


@dataclass(frozen=True)
class ModeStability:
    """Stability of the collapsed point for one mode of eigenvalue ``s``.

    Attributes
    ----------
    jacobian : Matrix
        Jacobian of the gradient map in (omega, omegatilde) at the collapsed point.
    eigenvalues : list of Expr
        Its two eigenvalues, the first the lower one.
    threshold : Expr
        beta_c(alpha, lam, s), where the lower eigenvalue vanishes.
    spike_threshold : Expr
        beta_c with s the spike eigenvalue of the sample covariance (alpha rho^2 > eta^2).
    edge_threshold : Expr
        beta_c with s the upper edge of the noise bulk.
    large_alpha_threshold : Expr
        The limit alpha -> infinity of ``spike_threshold`` (rho + eta).
    threshold_correction : Expr
        The coefficient of 1/alpha of ``spike_threshold``.
    reduced_objective : Expr
        The objective with D and omegatilde minimised out, as a function of Q = omega^2.
    quadratic_coefficient : Expr
        Coefficient of Q^2 of ``reduced_objective`` at beta = beta_c (continuous
        transition iff positive).
    continuous_condition : Expr
        The condition (alpha s)^2 > 2 lam (lam + alpha)^2/(2 lam + alpha), equivalent to a
        positive ``quadratic_coefficient``.
    """

    jacobian: sp.Matrix
    eigenvalues: list
    threshold: sp.Expr
    spike_threshold: sp.Expr
    edge_threshold: sp.Expr
    large_alpha_threshold: sp.Expr
    threshold_correction: sp.Expr
    reduced_objective: sp.Expr
    quadratic_coefficient: sp.Expr
    continuous_condition: sp.Expr


def _spike():
    return (S.rho + S.eta) * (1 + S.eta / (S.alpha * S.rho))


def _edge():
    return S.eta * (1 + 1 / sp.sqrt(S.alpha)) ** 2


@cache
def collapsed_stability() -> ModeStability:
    """Per-mode linear stability of the collapsed solution (symbolic)."""
    ell = mode_objective()
    w, wt = S.omega, S.omegatilde
    grad = sp.Matrix([sp.diff(ell, w), sp.diff(ell, wt)])
    at_collapse = {w: 0, wt: 0, S.D: 1}
    if any(sp.simplify(g.subs(at_collapse)) != 0 for g in grad):  # pragma: no cover
        raise AssertionError("the collapsed point is not stationary")
    if sp.simplify(sp.diff(ell, S.D).subs(at_collapse)) != 0:  # pragma: no cover
        raise AssertionError("D = 1 is not stationary at the collapsed point")
    # D does not couple to (omega, omegatilde) at first order there: d^2 ell/dD dw = 0
    J = sp.simplify(grad.jacobian([w, wt]).subs(at_collapse))
    eigenvalues = _ordered_eigenvalues(J)
    (threshold,) = sp.solve(sp.Eq(J.det(), 0), S.beta)
    threshold = sp.simplify(threshold)
    spike_threshold = sp.simplify(threshold.subs(S.s, _spike()))
    edge_threshold = threshold.subs(S.s, _edge())
    limit = sp.simplify(sp.limit(spike_threshold, S.alpha, sp.oo))
    correction = sp.factor(sp.simplify(
        sp.limit((spike_threshold - limit) * S.alpha, S.alpha, sp.oo)))

    # reduced objective: D and omegatilde minimised in closed form, then Q = omega^2
    (D_star,) = sp.solve(sp.diff(ell, S.D), S.D)
    reduced = ell.subs(S.D, D_star)
    (wt_star,) = sp.solve(sp.diff(reduced, wt), wt)
    reduced = sp.simplify(reduced.subs(wt, wt_star).subs(w, sp.sqrt(S.Q)))
    series = sp.series(reduced, S.Q, 0, 3).removeO()
    linear = sp.simplify(series.coeff(S.Q, 1))
    if sp.simplify(linear.subs(S.beta, threshold)) != 0:  # pragma: no cover
        raise AssertionError("the linear coefficient does not vanish at beta_c")
    quadratic = sp.factor(sp.simplify(series.coeff(S.Q, 2).subs(S.beta, threshold)))
    A = S.alpha * S.s
    condition = A**2 > 2 * S.lam * (S.lam + S.alpha) ** 2 / (2 * S.lam + S.alpha)
    return ModeStability(J, eigenvalues, threshold, spike_threshold, edge_threshold, limit,
                         correction, reduced, quadratic, condition)


def _ordered_eigenvalues(J):
    """Eigenvalues of a symmetric 2 x 2 matrix, lower first, in a readable form."""
    tr = J.trace()
    root = sp.sqrt(sp.expand((J[0, 0] - J[1, 1]) ** 2 + 4 * J[0, 1] ** 2))
    return [(tr - root) / 2, (tr + root) / 2]


def collapse_threshold_at(alpha=None):
    """beta_c at finite alpha along the spike: alpha s/(lam + alpha) - lam/(alpha s).

    With ``alpha`` given (a number or symbol) it is substituted. Below the spectral
    transition (alpha rho^2 <= eta^2) the relevant threshold is the bulk edge one,
    :attr:`ModeStability.edge_threshold`.

    Parameters
    ----------
    alpha : number or sympy.Expr, optional
        The value substituted for alpha; None (default) keeps the symbol.

    Returns
    -------
    sympy.Expr
        beta_c as an expression of (alpha,) lam, rho and eta.
    """
    expr = collapsed_stability().spike_threshold
    return expr if alpha is None else expr.subs(S.alpha, alpha)


def mode_thresholds(alpha, lam, rhos, eta, M=None):
    """Per-unit collapse thresholds for M latent units and features of strengths ``rhos``.

    Under the diagonal assumption the units take distinct eigenvectors of the sample
    covariance, the strongest first. Unit k (k < M*) sees eigenvalue s_k: the spike of
    feature k if alpha rho_k^2 > eta^2, else the bulk edge; units beyond M* see the edge.

    Parameters
    ----------
    alpha, lam, eta : float or Symbol
        Use ``sympy.oo`` for ``alpha`` to get the limits rho_k + eta and eta.
    rhos : sequence of float or Symbol
        Feature strengths rho_k.
    M : int, optional
        Number of latent units (default: one per feature).

    Returns
    -------
    list
        beta_c of each unit; unit k is active (not collapsed) for beta below it.
    """
    from symrep.validation import check_positive_int

    rhos = list(rhos)
    M = len(rhos) if M is None else check_positive_int("M", M)
    numeric = all(isinstance(v, (int, float)) for v in (alpha, lam, eta, *rhos))
    if numeric:
        from symrep.validation import check_parameter

        check_parameter("alpha", alpha)
        check_parameter("lam", lam)
        check_parameter("eta", eta)
        for k, r in enumerate(rhos):
            if not (np.isfinite(r) and r > 0):
                raise ValueError(f"rhos[{k}] must be a finite number > 0, got {r!r}")
    stab = collapsed_stability()  # SymPy: after the cheap checks
    out = []
    for k in range(M):
        rho_k = rhos[k] if k < len(rhos) else None
        if alpha is sp.oo:
            out.append(eta if rho_k is None else rho_k + eta)
            continue
        if rho_k is not None and (not numeric or alpha * rho_k**2 > eta**2):
            expr = stab.spike_threshold.subs(S.rho, rho_k)
        else:
            expr = stab.edge_threshold
        value = expr.subs({S.alpha: alpha, S.lam: lam, S.eta: eta})
        out.append(float(value) if numeric else value)
    order = sorted(range(len(out)), key=lambda k: -out[k]) if numeric else range(len(out))
    return [out[k] for k in order]


def rs_collapsed_block(alpha, beta, lam, rho=1.0, eta=1.0):
    """The (m, d) block of the Jacobian of the RS saddle-point equations at collapse.

    Evaluated with the generated code (:mod:`symrep.numeric.system`) at the collapsed
    stationary point of the generic solver (:func:`symrep.solvers.units.collapsed_state`:
    the attracting fixed point of the conjugate map at W = W~ = 0, polished on the RS
    equations). At the collapsed point (m, d) decouple from the other unknowns (f is even
    in (m, d)), so this block alone decides the stability against learning.

    Parameters
    ----------
    alpha : float or array_like
        Sample complexity P / N.
    beta : float or array_like
        Weight of the KL term.
    lam : float or array_like
        Weight decay.
    rho : float or array_like, optional
        Signal strength (default 1).
    eta : float or array_like, optional
        Noise strength (default 1).

    Returns
    -------
    ndarray (..., 2, 2)
        NaN where the collapsed saddle point does not exist (below the bulk-edge
        threshold, where the RS solution is the overfitting one).

    Raises
    ------
    ValueError
        If a parameter is outside its allowed range.
    """
    from symrep.numeric.compiled import stacked
    from symrep.numeric.system import generated
    from symrep.solvers.units import collapsed_state
    from symrep.validation import check_parameters

    params = check_parameters(allow_array=True, alpha=alpha, beta=beta, lam=lam, rho=rho, eta=eta)
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in params.values()))
    z = collapsed_state(*arrays)
    with np.errstate(all="ignore"):  # points without a collapsed state are NaN throughout
        out = stacked(generated("compiled").residual_jacobian, *z, *arrays)
    J = np.moveaxis(out[8:], 0, -1).reshape(*arrays[0].shape, 8, 8)
    block = J[..., 3:5, 3:5]
    exists = np.all(np.isfinite(z), axis=0)
    return np.where(exists[..., None, None], block, np.nan)


def rs_collapsed_eigenvalues(alpha, beta, lam, rho=1.0, eta=1.0):
    """Eigenvalues (ascending) of :func:`rs_collapsed_block`; the lower one decides.

    Parameters
    ----------
    alpha : float or array_like
        Sample complexity P / N.
    beta : float or array_like
        Weight of the KL term.
    lam : float or array_like
        Weight decay.
    rho : float or array_like, optional
        Signal strength (default 1).
    eta : float or array_like, optional
        Noise strength (default 1).

    Returns
    -------
    ndarray (..., 2)
        The two eigenvalues in ascending order; NaN where the collapsed saddle point does
        not exist.
    """
    block = rs_collapsed_block(alpha, beta, lam, rho, eta)
    ok = np.all(np.isfinite(block), axis=(-2, -1))
    eig = np.full(block.shape[:-1], np.nan)
    if np.any(ok):
        eig[ok] = np.linalg.eigvalsh(block[ok])
    return eig


@cache
def stability_step() -> Step:
    """Linear stability of the collapsed solution, for the derivation document."""
    st = collapsed_stability()
    from symrep.asymptotics.large_alpha import ORDER_VARIABLES, large_alpha_expansion

    F0 = large_alpha_expansion().F0
    collapsed = {S.Q: 0, S.R: 0, S.E: 0, S.m: 0, S.d: 0, S.y_Q: 1, S.y_R: -S.eta,
                 S.y_E: S.beta * S.eta}
    if any(sp.simplify(sp.diff(F0, v).subs(collapsed)) != 0 for v in ORDER_VARIABLES):
        raise AssertionError("collapsed point not stationary at leading order")  # pragma: no cover
    H_md = sp.simplify(sp.hessian(F0, (S.m, S.d)).subs(collapsed))
    text = r"""
Along one eigenvector of the sample covariance, with eigenvalue $s$, the weights are
$W = \omega v\sqrt N$, $\tilde W = \tilde\omega v\sqrt N$ and the objective per $N$ is
$\ell$ below. The collapsed point $\omega=\tilde\omega=0$, $D=1$ is stationary; SymPy
computes the Jacobian $H$ of the gradient map there, its eigenvalues and the $\beta$
where the lower one vanishes. In the high-dimensional limit the top eigenvalue is the
spike $s = (\rho+\eta)(1+\eta/(\alpha\rho))$ (for $\alpha\rho^2>\eta^2$) or the bulk edge
$s = \eta(1+\alpha^{-1/2})^2$. For $M$ latent units and features of strengths $\rho_k$
(diagonal assumption: decoupled modes) unit $k$ has the threshold with $s = s_k$; units
beyond the features see the bulk edge, so as $\alpha\to\infty$ the thresholds are
$\rho_k+\eta$ and $\eta$. With $D$ and $\tilde\omega$ minimised out, the objective is a
function of $Q=\omega^2$; at the threshold its $Q^2$ coefficient decides whether the
transition is continuous. Finally the $(m, d)$ block of the Hessian of the leading-order
RS free energy $F_0$ at the collapsed point loses positivity at $\beta = \rho+\eta$.
"""
    eqs = (
        Equation(r"\ell", mode_objective()),
        Equation("H", st.jacobian),
        Equation(r"h_{-}", st.eigenvalues[0]),
        Equation(r"h_{+}", st.eigenvalues[1]),
        Equation(r"\det H", sp.factor(st.jacobian.det())),
        Equation(r"\beta_c(s)", st.threshold),
        Equation(r"\beta_c^{\mathrm{spike}}", st.spike_threshold),
        Equation(r"\beta_c^{\mathrm{edge}}", st.edge_threshold),
        Equation(r"\lim_{\alpha\to\infty}\beta_c^{\mathrm{spike}}", st.large_alpha_threshold),
        Equation(r"\lim_{\alpha\to\infty}\alpha(\beta_c^{\mathrm{spike}} - \rho-\eta)",
                 st.threshold_correction),
        Equation(r"\min_{D,\tilde\omega}\ell", st.reduced_objective),
        Equation(r"[Q^2]\min_{D,\tilde\omega}\ell\big|_{\beta_c}", st.quadratic_coefficient),
        Equation(r"\partial^2_{(m,d)}F_0\big|_{\mathrm{coll}}", H_md),
        Equation(r"\det\partial^2_{(m,d)}F_0\big|_{\mathrm{coll}}", sp.factor(H_md.det())),
    )
    return Step(key="14_stability", title="Linear stability of the collapsed solution",
                text=text, equations=eqs, result=st)
