"""Observables as SymPy expressions of the order parameters (M = M* = 1).

Conventions are those of ``docs/model.md``. With u = x.W/sqrt(N) and v = x.W~/sqrt(N):

- under the data distribution, the second moments of (u, v) are
  Sigma = rho t t^T + eta G, with t = (m, d) and G = [[Q, R], [R, E]];
- on the training set, the replica theory gives the moments of the fields at the
  minimiser, h* = (I + eta X K)^{-1} h0 with h0 ~ N(0, Sigma), hence
  T = (I + eta X K)^{-1} Sigma (I + eta K X)^{-1}.

Every observable is a function of one of these moment matrices and of Q, D.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from symrep.replica.derivation import Equation, Step
from symrep.replica.objective import field_matrix
from symrep.symbols import (
    D,
    E,
    Q,
    alpha,
    beta,
    eta,
    lam,
    m,
    overlap_matrix,
    rho,
    susceptibility_matrix,
    teacher_overlaps,
)

__all__ = [
    "population_moments",
    "training_moments",
    "signal_recovery_error",
    "rate",
    "distortion",
    "kl_posterior",
    "training_objective",
    "training_objective_in_moments",
    "observables",
    "observables_step",
]


def population_moments() -> sp.Matrix:
    """E[(u, v)(u, v)^T] under the data distribution: rho t t^T + eta G.

    Returns
    -------
    sympy.Matrix
        The 2 x 2 moments in rho, eta, m, d, Q, R, E.
    """
    t = teacher_overlaps()
    return sp.Matrix(rho * t * t.T + eta * overlap_matrix())


def training_moments() -> sp.Matrix:
    """Average of (u, v)(u, v)^T over the training samples, from the replica theory.

    Returns
    -------
    sympy.Matrix
        The 2 x 2 moments T in the order parameters and the parameters.
    """
    X, K = susceptibility_matrix(), sp.Matrix(field_matrix())
    A = (sp.eye(2) + eta * X * K).inv()
    return sp.Matrix(A * population_moments() * A.T)


def signal_recovery_error() -> sp.Expr:
    """eps_g = rho - 2 sqrt(rho) |m| + Q.

    Returns
    -------
    sympy.Expr
        eps_g in rho, m and Q.
    """
    return rho - 2 * sp.sqrt(rho) * sp.Abs(m) + Q


def rate(moments: sp.Matrix) -> sp.Expr:
    """KL(q(z|x) || p(z)) averaged: (D + <v^2> - 1 - log D)/2.

    Parameters
    ----------
    moments : sympy.Matrix
        The 2 x 2 second moments of the fields (u, v), from :func:`population_moments`
        or :func:`training_moments`.

    Returns
    -------
    sympy.Expr
        The rate, in D and the moment <v^2>.
    """
    return (D + moments[1, 1] - 1 - sp.log(D)) / 2


def distortion(moments: sp.Matrix) -> sp.Expr:
    """Reconstruction term minus (N - 1) eta / 2: (rho + eta - 2<uv> + Q(<v^2> + D))/2.

    Parameters
    ----------
    moments : sympy.Matrix
        The 2 x 2 second moments of the fields (u, v), from :func:`population_moments`
        or :func:`training_moments`.

    Returns
    -------
    sympy.Expr
        The distortion, in rho, eta, Q, D and the moments.
    """
    return (rho + eta - 2 * moments[0, 1] + Q * (moments[1, 1] + D)) / 2


def kl_posterior(moments: sp.Matrix) -> sp.Expr:
    """KL(N(v, D) || N(u/(1+Q), 1/(1+Q))) averaged over the samples.

    Parameters
    ----------
    moments : sympy.Matrix
        The 2 x 2 second moments of the fields (u, v), from :func:`population_moments`
        or :func:`training_moments`.

    Returns
    -------
    sympy.Expr
        The averaged KL divergence between the variational and the true posterior.
    """
    a = 1 + Q
    gap2 = moments[1, 1] - 2 * moments[0, 1] / a + moments[0, 0] / a**2
    return (a * D + a * gap2 - 1 - sp.log(a * D)) / 2


#: Entries of the training moments T as symbols, for the arranged form of the objective.
T_uv, T_vv = sp.symbols("T_uv T_vv", real=True)


def training_objective_in_moments() -> sp.Expr:
    """alpha [-T_uv + Q/2 (T_vv + D) + beta/2 (D + T_vv - 1 - log D)] + lam/2 (Q + E).

    The training objective per N in the entries ``T_uv``, ``T_vv`` of the training
    moments, built unevaluated in this arrangement (for the derivation document; see
    :mod:`symrep.replica.display`). ``.doit()`` evaluates it.

    Returns
    -------
    sympy.Expr
        The unevaluated expression in ``T_uv``, ``T_vv`` and the order parameters.
    """
    half = sp.Rational(1, 2)
    per_sample = sp.Add(
        sp.Mul(-1, T_uv, evaluate=False),
        sp.Mul(half, Q, sp.Add(T_vv, D, evaluate=False), evaluate=False),
        sp.Mul(half, beta, sp.Add(D, T_vv, -1, sp.Mul(-1, sp.log(D), evaluate=False),
                                  evaluate=False), evaluate=False),
        evaluate=False)
    return sp.Add(sp.Mul(alpha, per_sample, evaluate=False),
                  sp.Mul(half, lam, sp.Add(Q, E, evaluate=False), evaluate=False),
                  evaluate=False)


def training_objective() -> sp.Expr:
    """(L - sum_mu ||x^mu||^2/2) / N from the training moments; equals f at the saddle.

    Returns
    -------
    sympy.Expr
        The objective in the order parameters and the parameters.
    """
    T = training_moments()
    return training_objective_in_moments().doit().xreplace({T_uv: T[0, 1], T_vv: T[1, 1]})


@cache
def observables() -> dict:
    """All observables, ``{name: expression}``, names as in ``symrep.solve`` results."""
    P, T = population_moments(), training_moments()
    return {
        "eg": signal_recovery_error(),
        "rate": rate(P),
        "distortion": distortion(P),
        "kl_posterior": kl_posterior(P),
        "rate_train": rate(T),
        "distortion_train": distortion(T),
        "kl_posterior_train": kl_posterior(T),
        "training_objective": training_objective(),
    }


def observables_step(model=None) -> Step:
    """The observables, for the derivation document.

    Parameters
    ----------
    model : LinearVAE, optional
        The model (default ``LinearVAE()``, M = M* = 1).

    Returns
    -------
    Step
        ``result`` is a dict of the observables by name (SymPy expressions); for
        M, M* > 1 also ``moments`` (the population moments) and ``rho``.
    """
    from symrep.replica.objective import _model

    return _observables_step(_model(model))


# the paragraph of each notation of the derivation (``model.is_scalar``): the paper's
# one-unit chapter also has the training-set moments, the mismatch KL and the objective
_TEXT = {True: r"""
With $u = x\cdot W/\sqrt N$ and $v = x\cdot\tilde W/\sqrt N$, the second moments under the
data distribution are $\Sigma = \rho\,tt^{\mathsf T} + \eta\,\mathcal Q$. On the training set
the fields at the minimiser are $h^* = \arg\min_h[\tfrac12 h^{\mathsf T}Kh +
\tfrac12(h-h_0)^{\mathsf T}(\eta\mathcal X)^{-1}(h-h_0)] = (I+\eta\mathcal XK)^{-1}h_0$
with $h_0\sim\mathcal N(0,\Sigma)$, so their moments are
$T = (I+\eta\mathcal XK)^{-1}\Sigma(I+\eta K\mathcal X)^{-1}$. The signal recovery error,
rate, distortion (the reconstruction term minus $(N-1)\eta/2$) and the mismatch
$\mathrm{KL}(q(z|x)\,\|\,p_W(z|x))$ between variational and true posterior are:
""",
         False: r"""
With $u = W^{\mathsf T}x/\sqrt N$ and $v = \tilde Wx/\sqrt N$, the second moments of the
fields under the data distribution are
$\Sigma = t\operatorname{diag}(\rho)\,t^{\mathsf T} + \eta\,\mathcal Q$. The rate (the KL
term) and the distortion (the reconstruction term less $(N-1)\eta/2$) averaged over the
data are quadratic in the fields, so SymPy averages the model's terms with $\Sigma$
(\texttt{LinearVAE.population\_observables}). The signal recovery error compares the
decoder with the features up to a permutation and signs of the units,
$\epsilon_g = \min_{\pi,\pm}\|W_0\operatorname{diag}(\sqrt\rho) - W\|^2/N
= \sum_k\rho_k + \operatorname{tr}Q - 2\max_\pi\sum_k\sqrt{\rho_k}\,|m_{\pi(k)k}|$
(the narrower matrix padded with zero columns, $\pi$ an assignment of units to distinct
features); the maximum over assignments is taken numerically.
"""}


@cache
def _observables_step(model) -> Step:
    if model.is_scalar:
        obs = observables()
        equations = (
            Equation(r"\Sigma", population_moments()),
            Equation(r"\epsilon_g", obs["eg"]),
            Equation(r"\mathcal R", obs["rate"]),
            Equation(r"\mathcal D", obs["distortion"]),
            Equation(r"\mathrm{KL}_{q\|p_W}", obs["kl_posterior"]),
            Equation(r"\frac{L}{N} - \frac{\sum_\mu\|x^\mu\|^2}{2N}",
                     training_objective_in_moments(), display={"fraction": r"\tfrac"}),
        )
        result = obs
    else:
        obs = model.population_observables()
        equations = (
            Equation(r"\Sigma", model.field_moments()),
            Equation(r"\mathcal R", obs["rate"]),
            Equation(r"\mathcal D", obs["distortion"]),
        )
        result = {**obs, "moments": model.field_moments(), "rho": model.symbols().rho}
    return Step(key="10_observables", title="Observables", text=_TEXT[model.is_scalar],
                equations=equations, result=result)
