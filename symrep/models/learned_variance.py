"""The linear beta-VAE with a learned decoder variance sigma^2 (probabilistic PCA's decoder).

The decoder is p(x|z) = N(W z/sqrt(N), sigma^2 I_N), with one variance sigma^2 > 0 shared
by the N outputs and trained with W, W~ and D. Dropping the constant (N/2) log 2 pi, the
objective of one sample is

    ell = E_q||x - W z/sqrt(N)||^2 / (2 sigma^2) + (N/2) log sigma^2 + beta KL(q(z|x) || p(z)),

and the regularizer lam/2 (||W||^2 + ||W~||^2) is the linear VAE's (it does not scale
with sigma^2). At beta = 1, lam = 0 the objective is minus the ELBO of the linear VAE
whose decoder is probabilistic PCA's (Lucas et al. 2019; Dai & Wipf 2019).

The high-dimensional limit (:meth:`LearnedVarianceVAE.reduction`, derived by SymPy):
sigma^2 is one scalar against O(N) terms, so its saddle point is fixed at order N, where
the objective per sample and per N tends to eta/(2 sigma^2) + log(sigma^2)/2: sigma^2 =
eta. At fixed sigma^2 the rest of the objective, O(1) per sample, is 1/sigma^2 times the
linear VAE's with beta' = sigma^2 beta and lam' = sigma^2 lam (an identity SymPy checks),
so every order parameter, phase and observable of this model at (beta, lam) is the linear
VAE's at (eta beta, eta lam), and its free energy is the linear VAE's divided by eta. At
finite N the stationary sigma^2 is the mean reconstruction error per dimension,
sigma^2 = sum_mu E_q||x^mu - W z/sqrt(N)||^2 / (P N) (see :meth:`finite_size_sigma2`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from symrep.model import LinearVAE, _check_units
from symrep.numeric.layout import model_key

__all__ = ["LearnedVarianceVAE", "Reduction"]


@dataclass(frozen=True)
class Reduction:
    """The large-N reduction of a model to another one (all entries SymPy expressions).

    Attributes
    ----------
    sigma2 : sympy.Symbol
        The decoder variance.
    leading_order : sympy.Expr
        The sigma^2-dependent part of the averaged objective per sample and per N, as
        N -> infinity.
    sigma2_star : sympy.Expr
        Its stationary point (in the data parameters).
    parameters : dict
        Symbol of the theory model -> expression in this model's parameters and sigma^2.
    scale : sympy.Expr
        This model's O(1) objective divided by the theory model's, at fixed sigma^2.
    identity : sympy.Expr
        scale * (theory model's objective at the mapped parameters) minus this model's
        O(1) objective; zero (SymPy simplifies it to 0).
    """

    sigma2: object
    leading_order: object
    sigma2_star: object
    parameters: dict
    scale: object
    identity: object


@dataclass(frozen=True)
class LearnedVarianceVAE:
    """The linear beta-VAE with a learned decoder variance sigma^2 (one scalar).

    Parameters
    ----------
    M : int, default 1
        Number of latent units, 1 to 9.
    Mstar : int, default 1
        Number of features of the data, 1 to 9.

    Notes
    -----
    The theory of this model is the linear VAE's at (eta beta, eta lam), with
    sigma^2 = eta (module docstring); results carry ``sigma2``.

    Examples
    --------
    >>> model = LearnedVarianceVAE(M=2, Mstar=2)
    >>> model.key
    'learned_variance_vae_M2_Mstar2'
    """

    M: int = 1
    Mstar: int = 1

    #: The model's name on the command line (``--model``).
    name = "learned-variance"

    def __post_init__(self):
        object.__setattr__(self, "M", _check_units("M", self.M))
        object.__setattr__(self, "Mstar", _check_units("Mstar", self.Mstar))

    @property
    def key(self) -> str:
        """Name in file names and caches, e.g. ``"learned_variance_vae_M2_Mstar2"``."""
        return "learned_variance_" + model_key(self.M, self.Mstar)

    @property
    def is_scalar(self) -> bool:
        """True for M = M* = 1."""
        return self.M == 1 and self.Mstar == 1

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """The parameters, as the linear VAE's: ``("alpha", "beta", "lam", "rho", "eta")``."""
        return self.base().parameter_names

    @property
    def unknown_names(self) -> tuple[str, ...]:
        """The unknowns of the theory model's saddle-point system."""
        return self.base().unknown_names

    def base(self) -> LinearVAE:
        """The linear VAE with the same units and features (the unit-variance decoder).

        Returns
        -------
        LinearVAE
        """
        return LinearVAE(self.M, self.Mstar)

    # --- symbolic ------------------------------------------------------------------

    def symbols(self):
        """The symbols of the linear VAE of the same size (sigma^2: :meth:`sigma2_symbol`).

        Returns
        -------
        symrep.model.ModelSymbols
        """
        return self.base().symbols()

    @staticmethod
    def sigma2_symbol():
        """The SymPy symbol of the decoder variance, ``sigma2`` (positive).

        Returns
        -------
        sympy.Symbol
        """
        import sympy as sp

        return sp.Symbol("sigma2", positive=True)

    @staticmethod
    def dimension_symbol():
        """The SymPy symbol of the input dimension N (positive).

        Returns
        -------
        sympy.Symbol
        """
        import sympy as sp

        return sp.Symbol("N", positive=True)

    def reconstruction_term(self):
        """E_q ||x - W z/sqrt(N)||^2 / 2 of one sample, as the linear VAE's.

        Returns
        -------
        sympy.Expr
        """
        return self.base().reconstruction_term()

    def kl_term(self):
        """KL(q(z|x) || p(z)) of one sample, as the linear VAE's.

        Returns
        -------
        sympy.Expr
        """
        return self.base().kl_term()

    def per_sample_objective(self):
        """reconstruction/sigma^2 + (N/2) log sigma^2 + beta KL, of one sample.

        Returns
        -------
        sympy.Expr
            In x2, u, v, Q, D, beta, sigma2 and N.
        """
        import sympy as sp

        s2, N = self.sigma2_symbol(), self.dimension_symbol()
        return (self.reconstruction_term() / s2 + N * sp.log(s2) / 2
                + self.symbols().beta * self.kl_term())

    def regularizer(self):
        """The weight decay per N, lam/2 tr(Q + E) (as the linear VAE's).

        Returns
        -------
        sympy.Expr
        """
        return self.base().regularizer()

    def reduction(self) -> Reduction:
        """Derive the large-N reduction of this model to the linear VAE (SymPy).

        Returns
        -------
        Reduction
            sigma^2 at its saddle point and the map of (beta, lam), with the identity
            that proves the map (zero).
        """
        return _reduction(self.M, self.Mstar)

    def derivation_steps(self) -> tuple:
        """This model's own chapter of ``symrep derive``: the reduction to the linear VAE.

        Returns
        -------
        tuple of symrep.replica.derivation.Step
            One step (:func:`symrep.models.learned_variance_step.reduction_step`), printed
            before the chapters of :meth:`theory_model`.
        """
        from symrep.models.learned_variance_step import reduction_step

        return (reduction_step(self),)

    # --- what the numerical layers ask of a model ------------------------------------

    def theory_model(self) -> LinearVAE:
        """The linear VAE of the same size, whose system gives this model's theory.

        Returns
        -------
        LinearVAE
        """
        return self.base()

    def theory_parameters(self, params: dict) -> dict:
        """The linear VAE's parameters at this model's point ``params``.

        Parameters
        ----------
        params : dict
            ``alpha``, ``beta``, ``lam``, the strengths, ``eta``: numbers or arrays.

        Returns
        -------
        dict
            The same point with beta and lam mapped (:meth:`reduction`).
        """
        f = _numeric_map(self.M, self.Mstar)
        beta, lam = f["beta"](params["beta"], params["lam"], params["eta"]), \
            f["lam"](params["beta"], params["lam"], params["eta"])
        return {**params, "beta": beta, "lam": lam}

    def theory_extras(self, params: dict) -> dict:
        """``sigma2``: the learned decoder variance, at N -> infinity.

        Parameters
        ----------
        params : dict
            The parameter point.

        Returns
        -------
        dict
            ``{"sigma2": value}`` (numbers or arrays of the parameters' shape).
        """
        f = _numeric_map(self.M, self.Mstar)
        return {"sigma2": f["sigma2"](params["beta"], params["lam"], params["eta"])}

    def objective_scale(self, params: dict):
        """1/sigma^2: this model's O(1) objective over the linear VAE's.

        Parameters
        ----------
        params : dict
            The parameter point.

        Returns
        -------
        float or numpy.ndarray
        """
        f = _numeric_map(self.M, self.Mstar)
        return f["scale"](params["beta"], params["lam"], params["eta"])

    def finite_size_sigma2(self, distortion_train, eta, N):
        """The stationary sigma^2 at finite N from the training distortion.

        sigma^2 = (eta (N - M*) + 2 distortion_train) / N: the mean reconstruction error
        per dimension, with the training distortion defined as in docs/model.md (the
        reconstruction term less (N - M*) eta / 2).

        Parameters
        ----------
        distortion_train : float or numpy.ndarray
            Training distortion (of the theory at the mapped parameters, or measured).
        eta : float or numpy.ndarray
            Noise strength.
        N : int
            Input dimension.

        Returns
        -------
        float or numpy.ndarray
        """
        return (eta * (N - self.Mstar) + 2 * distortion_train) / N

    def theory_observables(self, fields: dict, params: dict) -> dict:
        """``kl_posterior`` and ``kl_posterior_train`` of this model's decoder.

        The theory model's results measure the KL to the posterior of a unit-variance
        decoder; this model's decoder N(W z/sqrt(N), sigma^2 I) with sigma^2 = eta has
        the posterior of precision I + Q/sigma^2 (:mod:`symrep.models.posterior_kl`).
        Both KLs are computed from the state the result carries: the population
        moments from (m, d, Q, R, E, rho, eta), the training moments from the same and
        the precision matrix (chihat), for any M.

        Parameters
        ----------
        fields : dict
            The theory model's result fields at the mapped point: floats (one point),
            arrays of the batch's shape, or matrices (..., M, M) of the units' solver.
            A finite-N result passes ``sigma2`` (its own) and ``moments_train`` (the
            2M x 2M second moments of (u, v) over the training set) instead of chihat.
        params : dict
            This model's parameter point (alpha, beta, lam, rho, eta).

        Returns
        -------
        dict
            ``kl_posterior`` and ``kl_posterior_train``, of the fields' shape.
        """
        from symrep.models.posterior_kl import corrected_posterior_kl

        mapped = self.theory_parameters(params)
        # a finite-N result carries its own sigma^2 (and its measured training moments)
        sigma2 = fields.get("sigma2", self.theory_extras(params)["sigma2"])
        return corrected_posterior_kl(fields, params["rho"], params["eta"],
                                      mapped["beta"], sigma2)

    def posterior_kl_expression(self):
        """KL(N(v, D) || p(z|x)) of one sample, with this model's decoder (SymPy).

        The posterior of p(x|z) = N(W z/sqrt(N), sigma^2 I) and p(z) = N(0, I) is
        N(Lambda^{-1} u/sigma^2, Lambda^{-1}), Lambda = I + Q/sigma^2. At beta = 1 the
        per-sample objective is minus the ELBO, log p(x) - KL, so the objective minus
        this KL depends on neither v nor D (the tests check it with SymPy).

        Returns
        -------
        sympy.Expr
            In u, v, Q, D and sigma2 (the symbols of :meth:`symbols`).
        """
        import sympy as sp

        s = self.symbols()
        s2 = self.sigma2_symbol()
        M = self.M
        Lam = sp.eye(M) + sp.Matrix(s.Q) / s2
        Lam_inv = Lam.inv()
        mean = Lam_inv * sp.Matrix(s.u) / s2
        gap = sp.Matrix(s.v) - mean
        D = sp.Matrix(s.D)
        return ((Lam * D).trace() + (gap.T * Lam * gap)[0, 0] - M
                - sp.log((Lam * D).det())) / 2

    def trainable_scalars(self) -> tuple:
        """The positive scalars trained with the weights: ``(sigma2,)``.

        Returns
        -------
        tuple of sympy.Symbol
            :meth:`sigma2_symbol`.
        """
        return (self.sigma2_symbol(),)

    def exact_minimum(self, X, W0, beta, lam, rho=1.0, eta=1.0):
        """The global minimum of this model's objective on the data X, at finite N.

        At fixed sigma^2 the optimum is the linear VAE's at (sigma^2 beta, sigma^2 lam);
        the profile in sigma^2 is minimised globally
        (:func:`symrep.simulate.variance_profile.learned_variance_minimum`).

        Parameters
        ----------
        X : array_like (P, N)
            Training samples.
        W0 : array_like (N, M*)
            The features.
        beta, lam, rho, eta : float
            Parameters, as for :func:`symrep.simulate.exact_minimum`.

        Returns
        -------
        SimulationResult or MatrixSimulationResult
            With ``sigma2`` (in ``extras``) and this model's objective.
        """
        from symrep.simulate.variance_profile import learned_variance_minimum

        return learned_variance_minimum(X, W0, beta, lam, rho, eta, M=self.M)


@cache
def _reduction(M: int, Mstar: int) -> Reduction:
    import sympy as sp

    model = LearnedVarianceVAE(M, Mstar)
    linear = model.base()
    s = model.symbols()
    s2, N = model.sigma2_symbol(), model.dimension_symbol()
    ell = model.per_sample_objective()
    # the sigma^2-dependent O(N) part: ||x||^2/(2 sigma^2) + (N/2) log sigma^2 averaged
    # over the data (E||x||^2 = sum_k rho_k + N eta), per N, as N -> infinity
    terms = sp.Add.make_args(sp.expand(ell))
    order_n = sp.Add(*(t for t in terms if t.has(s.x2) or t.has(N)))
    averaged = order_n.subs(s.x2, sum(s.rho) + N * s.eta) / N
    leading = sp.limit(averaged, N, sp.oo)
    stationary = sp.solve(sp.diff(leading, s2), s2)
    if len(stationary) != 1:  # pragma: no cover - the derivation has one root
        raise AssertionError(f"sigma^2 saddle points: {stationary}")
    sigma2_star = sp.simplify(stationary[0])
    # the O(1) part at fixed sigma^2 is scale x (linear objective at mapped parameters):
    # the scale is the coefficient of the field-dependent reconstruction, the mapped
    # beta and lam solve the identity
    rest = ell - s.x2 / (2 * s2) - N * sp.log(s2) / 2
    linear_rest = linear.per_sample_objective() - s.x2 / 2
    scale = sp.simplify(1 / s2)
    b_eff = sp.Symbol("beta_eff", positive=True)
    identity_beta = sp.expand(rest - scale * linear_rest.subs(s.beta, b_eff))
    beta_eff = sp.solve(identity_beta, b_eff)
    l_eff = sp.Symbol("lambda_eff", nonnegative=True)
    identity_lam = sp.expand(model.regularizer() - scale * linear.regularizer().subs(s.lam, l_eff))
    lam_eff = sp.solve(identity_lam, l_eff)
    if len(beta_eff) != 1 or len(lam_eff) != 1:  # pragma: no cover
        raise AssertionError(f"parameter maps: beta {beta_eff}, lam {lam_eff}")
    mapping = {s.beta: beta_eff[0], s.lam: lam_eff[0]}
    identity = sp.simplify(
        scale * (linear_rest + linear.regularizer()).subs(mapping, simultaneous=True)
        - (rest + model.regularizer()))
    return Reduction(sigma2=s2, leading_order=leading, sigma2_star=sigma2_star,
                     parameters=mapping, scale=scale, identity=identity)


@cache
def _numeric_map(M: int, Mstar: int) -> dict:
    """NumPy functions of (beta, lam, eta) for beta', lam', sigma2 and the scale."""
    import sympy as sp

    red = _reduction(M, Mstar)
    s = LinearVAE(M, Mstar).symbols()
    at_star = {red.sigma2: red.sigma2_star}
    args = (s.beta, s.lam, s.eta)
    exprs = {"beta": red.parameters[s.beta].subs(at_star),
             "lam": red.parameters[s.lam].subs(at_star),
             "sigma2": red.sigma2_star,
             "scale": red.scale.subs(at_star)}
    return {k: sp.lambdify(args, e, modules="numpy") for k, e in exprs.items()}
