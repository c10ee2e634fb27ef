"""The derivation chapter of the learned decoder variance: its reduction to the linear VAE.

:meth:`symrep.models.LearnedVarianceVAE.derivation_steps` returns the one step built
here; ``symrep derive --model learned-variance`` prints it before the chapters of the
linear VAE it reduces to. Every displayed equation is a SymPy object of
:meth:`LearnedVarianceVAE.reduction` or of the model's definition: the per-sample
objective, the leading-order sigma^2 term and its stationary point, the scale and the
map of (beta, lam), and the identity that proves the map (SymPy simplifies it to 0).
"""

from __future__ import annotations

__all__ = ["reduction_step", "STEP_KEY"]

#: File stem of the chapter; it sorts before the linear VAE's steps (01_objective, ...).
STEP_KEY = "00_learned_variance"


def _display_symbols(model):
    """SymPy's symbols of ||x||^2 and sigma^2 -> what prints as the text writes them
    (``x2`` and ``sigma2`` would print as x_2 and sigma_2): sigma^2 as the square of a
    positive sigma, so that its powers print as sigma^4, not (sigma^2)^2."""
    import sympy as sp

    s = model.symbols()
    return {s.x2: sp.Symbol(r"\|x\|^{2}", nonnegative=True),
            model.sigma2_symbol(): sp.Symbol("sigma", positive=True) ** 2}


def reduction_step(model):
    """The chapter of ``model`` (a LearnedVarianceVAE): its objective and reduction.

    Parameters
    ----------
    model : LearnedVarianceVAE
        The model; M and M* set the size of the objective shown.

    Returns
    -------
    symrep.replica.derivation.Step
        Key :data:`STEP_KEY`; ``result`` is the model's
        :class:`~symrep.models.learned_variance.Reduction`.

    Raises
    ------
    AssertionError
        If the identity of the reduction does not simplify to 0 (the map would be wrong).
    """
    import sympy as sp

    from symrep.replica.derivation import Equation, Step

    red = model.reduction()
    if red.identity != 0:  # the chapter states the identity as proved
        raise AssertionError(f"the reduction's identity is {red.identity}, not 0")
    s = model.symbols()
    shown = _display_symbols(model)
    s2, N = red.sigma2, model.dimension_symbol()

    def show(expr):
        return expr.xreplace(shown)

    dleading = sp.cancel(sp.diff(red.leading_order, s2))
    at_star = {s2: red.sigma2_star}
    distortion = sp.Symbol(r"\epsilon_{\mathrm{train}}", real=True)
    finite = model.finite_size_sigma2(distortion, s.eta, N)
    norm = sp.Add(*s.rho) + N * s.eta  # E||x||^2 under the data model
    mapped = ", ".join(rf"{sp.latex(k)}'" for k in red.parameters)
    features = "one feature" if model.Mstar == 1 else f"$M^* = {model.Mstar}$ features"
    units = "one latent unit" if model.M == 1 else f"$M = {model.M}$ latent units"
    text = rf"""
This model is the linear $\beta$-VAE of the next sections (here with {units} and
{features}) whose decoder variance is learned: $p(x|z) = \mathcal N(Wz/\sqrt N,
\sigma^2 I_N)$, with one variance $\sigma^2 > 0$ shared by the $N$ outputs and trained
with $W$, $\tilde W$ and $D$. Dropping the constant $\tfrac N2\log 2\pi$, the objective of
one sample, $\ell_\sigma$ below, is the linear VAE's reconstruction term divided by
$\sigma^2$, plus $\tfrac N2\log\sigma^2$, plus $\beta$ times the same KL term; the weight
decay per $N$, $r$, does not scale with $\sigma^2$. At $\beta = 1$, $\lambda = 0$ this is
minus the ELBO of probabilistic PCA's decoder.

\medskip\noindent\textbf{{The variance at leading order.}} $\sigma^2$ is one scalar
against terms of order $N$, so its saddle point is fixed at order $N$, where only
$\|x\|^2/(2\sigma^2)$ and $\tfrac N2\log\sigma^2$ contribute. Their average over the data,
with $\mathbb E\|x\|^2 = {sp.latex(show(norm))}$, divided by $N$, tends as $N\to\infty$
to $\mathcal L_\infty$; it is stationary where its derivative vanishes, at $\sigma^2_*$.

\medskip\noindent\textbf{{The map to the linear VAE.}} What remains at fixed $\sigma^2$ is
of order one per sample. It equals $s$ times the linear VAE's objective and weight decay,
$\ell'$ and $r'$, at the mapped parameters $({mapped})$: $s$ is the factor of the
field-dependent reconstruction term, and ${mapped}$ solve
$\ell_\sigma - \|x\|^2/(2\sigma^2) - \tfrac N2\log\sigma^2 + r = s\,(\ell' - \|x\|^2/2 +
r')$. Below are $s$ and the map, then their values at $\sigma^2 = \sigma^2_*$, then the
difference $\mathcal I$ of the two sides of that identity, for every value of the fields
and order parameters, as SymPy simplifies it; last, the stationary $\sigma^2$ at finite
$N$, $\sigma^2_N$, from the training distortion $\epsilon_{{\mathrm{{train}}}}$ (the
reconstruction term less $(N - M^*)\eta/2$, as in \texttt{{docs/model.md}}).
"""
    equations = (
        Equation(r"\ell_\sigma", show(model.per_sample_objective())),
        Equation("r", show(model.regularizer())),
        Equation(r"\mathcal L_\infty(\sigma^2)", show(red.leading_order)),
        Equation(r"\partial\mathcal L_\infty/\partial\sigma^2", show(dleading)),
        Equation(r"\sigma^2_*", show(red.sigma2_star)),
        Equation("s", show(red.scale)),
        *(Equation(f"{sp.latex(k)}'", show(v)) for k, v in red.parameters.items()),
        *(Equation(rf"{sp.latex(k)}'\bigr|_{{\sigma^2 = \sigma^2_*}}", show(v.subs(at_star)))
          for k, v in red.parameters.items()),
        Equation(r"s\bigr|_{\sigma^2 = \sigma^2_*}", show(red.scale.subs(at_star))),
        Equation(r"\mathcal I", red.identity),
        Equation(r"\sigma^2_N", show(finite)),
    )
    closing = r"""
Since $\mathcal I = 0$, every order parameter, phase and observable of this model at
$(\beta, \lambda)$ is the linear VAE's at the mapped point, with $\sigma^2 = \sigma^2_*$;
its free energy and objective are $s$ times the linear VAE's. The sections after this one
are the linear VAE's derivation, in which $\beta$ and $\lambda$ stand for the mapped
values. At finite $N$, $\sigma^2_N$ tends to $\sigma^2_*$ as the training distortion is of
order one.
"""
    return Step(
        key=STEP_KEY,
        title=r"The learned decoder variance $\sigma^2$ and its reduction to the linear VAE",
        text=text,
        equations=equations,
        result=red,
        closing=closing,
    )
