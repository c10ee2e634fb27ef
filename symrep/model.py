"""The model as a value: :class:`LinearVAE` with M latent units and M* features.

Everything specific to the model lives here: its SymPy symbols (matrices of them), the
per-sample objective in the local fields, the regularizer, the data model (M* features
of strengths rho_1..rho_M*, noise eta) and the generated numerical system. The replica
derivation (:mod:`symrep.replica`), the observables, the LaTeX writer and the code
generation take a model; ``LinearVAE()`` (M = M* = 1) is the model of
:mod:`symrep.symbols`, whose symbols it uses unchanged.

Conventions (``docs/model.md``): for a sample x the local fields are u = W^T x/sqrt(N)
(decoder) and v = W~ x/sqrt(N) (encoder mean), vectors of length M; Q = W^T W/N and
D = diag(D_1..D_M). The objective of one sample is

    ell = (||x||^2 - 2 u.v + v^T Q v + tr(Q D))/2 + beta (tr D + v.v - M - log det D)/2,

and the regularizer lam/2 (||W||^2 + ||W~||^2) is lam/2 tr(Q + E) per N. The fields have
second moments t diag(rho) t^T + eta G under the data, with t = [m; d] (2M x M*) and
G = [[Q, R], [R^T, E]].

SymPy is imported only by the methods that build expressions: ``LinearVAE(2, 2).numeric()``
loads the generated code shipped with the package without it.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from functools import cache
from typing import Any

from symrep.numeric.layout import MAX_UNITS, model_key, parameter_names, unknown_names

__all__ = ["LinearVAE", "ModelSymbols"]


def _check_units(name: str, value) -> int:
    if (isinstance(value, numbers.Integral) and not isinstance(value, bool)
            and 1 <= value <= MAX_UNITS):
        return int(value)
    raise ValueError(f"{name} = {value!r} is invalid: {name} must be an integer in "
                     f"[1, {MAX_UNITS}]")


@dataclass(frozen=True)
class LinearVAE:
    """The linear beta-VAE on spiked-covariance data, with M latent units and M* features.

    Parameters
    ----------
    M : int, default 1
        Number of latent units (width of the encoder and decoder), 1 to 9.
    Mstar : int, default 1
        Number of features of the data (rank of the spike), 1 to 9.

    Notes
    -----
    Symbolic work grows quickly with M and M*: the derivation and the generated code of
    the shipped models (M, M*) = (1, 1), (2, 2), (3, 1) come with the package; other
    models are generated on first use of :meth:`numeric` (minutes for M = 3) and cached.

    Examples
    --------
    >>> model = LinearVAE(M=2, Mstar=2)
    >>> model.key
    'linear_vae_M2_Mstar2'
    >>> model.parameter_names
    ('alpha', 'beta', 'lam', 'rho_1', 'rho_2', 'eta')
    """

    M: int = 1
    Mstar: int = 1

    #: The model's name on the command line (``--model``) and in
    #: :data:`symrep.models.MODELS`.
    name = "linear-vae"

    def __post_init__(self):
        object.__setattr__(self, "M", _check_units("M", self.M))
        object.__setattr__(self, "Mstar", _check_units("Mstar", self.Mstar))

    # --- what the numerical layers ask of a model (symrep.models, "The protocol") --

    def theory_model(self) -> LinearVAE:
        """The model whose generated saddle-point system gives this model's theory.

        The linear VAE is solved by its own system.

        Returns
        -------
        LinearVAE
            ``self``.
        """
        return self

    def theory_parameters(self, params: dict) -> dict:
        """Parameters of :meth:`theory_model` at the parameter point ``params``.

        Parameters
        ----------
        params : dict
            ``alpha``, ``beta``, ``lam``, ``rho`` (or ``rho_1``...), ``eta``: numbers or
            arrays of one shape.

        Returns
        -------
        dict
            The same point (the linear VAE is its own theory model).
        """
        return dict(params)

    def theory_extras(self, params: dict) -> dict:
        """Order parameters of this model that its theory model lacks (none here).

        Parameters
        ----------
        params : dict
            The parameter point, as for :meth:`theory_parameters`.

        Returns
        -------
        dict
            Empty.
        """
        return {}

    def objective_scale(self, params: dict):
        """Factor from the theory model's objective (per N) to this model's O(1) part.

        Parameters
        ----------
        params : dict
            The parameter point, as for :meth:`theory_parameters`.

        Returns
        -------
        float
            1.0.
        """
        return 1.0

    def theory_observables(self, fields: dict, params: dict) -> dict:
        """Result fields of this model that differ from its theory model's (none here).

        Parameters
        ----------
        fields : dict
            The theory model's result fields at the mapped point.
        params : dict
            The parameter point, as for :meth:`theory_parameters`.

        Returns
        -------
        dict
            Empty: the linear VAE's results are its own.
        """
        return {}

    def trainable_scalars(self) -> tuple:
        """Positive scalars trained with the weights, beyond W, W~ and D (none here).

        Returns
        -------
        tuple of sympy.Symbol
            Empty.
        """
        return ()

    def exact_minimum(self, X, W0, beta, lam, rho=1.0, eta=1.0):
        """The global minimum of the objective on the data X, exactly at finite N.

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
            :func:`symrep.simulate.exact_minimum` with this model's M (the linear
            algebra of :mod:`symrep.simulate.exact`).

        Raises
        ------
        NotImplementedError
            For a subclass whose objective is not the linear VAE's (the linear algebra
            holds for that objective only; :func:`symrep.simulate.train_model` trains
            any model).
        """
        import sympy as sp

        from symrep.simulate.exact import exact_minimum

        # a subclass (symrep.models.base) may change the objective: the linear algebra
        # is the optimum of this one only
        linear = LinearVAE(self.M, self.Mstar)
        if type(self) is not LinearVAE and (
                sp.expand(self.per_sample_objective() - linear.per_sample_objective()) != 0
                or sp.expand(self.regularizer() - linear.regularizer()) != 0):
            raise NotImplementedError(
                f"{self.name}: no exact optimum is known for this objective; train the "
                "model with symrep.simulate.train_model")
        return exact_minimum(X, W0, beta, lam, rho, eta, M=self.M)

    @property
    def key(self) -> str:
        """Name in file names and caches, e.g. ``"linear_vae_M2_Mstar2"``."""
        return model_key(self.M, self.Mstar)

    @property
    def is_scalar(self) -> bool:
        """Whether the derivation writes this model in the paper's scalar notation.

        True for M = M* = 1, whose order parameters are numbers: the derivation
        (:mod:`symrep.replica`, the observables) writes its one-unit chapter with the
        explicit entries, as the paper does, and generates its numerical system from
        them; otherwise it works on the matrices. The replica code asks this of the
        model; it never decides it from the sizes.
        """
        return self.M == 1 and self.Mstar == 1

    @property
    def unknown_names(self) -> tuple[str, ...]:
        """Names of the unknowns of the saddle-point system (:mod:`symrep.numeric.layout`).

        Plain (``Q``, ``m``, ``chihat_E``, as in the paper) where every matrix of the
        model is 1 x 1 (M = M* = 1), else with indices (``Q_12``).
        """
        return unknown_names(self.M, self.Mstar, plain=self.M == 1 and self.Mstar == 1)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """``("alpha", "beta", "lam", "rho_1", ..., "eta")`` (``"rho"`` for M* = 1)."""
        return parameter_names(self.Mstar, plain=self.Mstar == 1)

    # --- symbolic ------------------------------------------------------------------

    def symbols(self) -> ModelSymbols:
        """The SymPy symbols of the model (computed once per model).

        Returns
        -------
        ModelSymbols
            The symbols and symbol matrices of the model.
        """
        return _model_symbols(self.M, self.Mstar)

    def reconstruction_term(self):
        """E_q ||x - W z/sqrt(N)||^2 / 2 of one sample in its local fields.

        (x2 - 2 u.v + v^T Q v + tr(Q D)) / 2, with x2 = ||x||^2.

        Returns
        -------
        sympy.Expr
            The term, in x2, the fields u, v (M x 1 each), Q and D.
        """
        s = self.symbols()
        u, v = s.u, s.v
        return (s.x2 - 2 * (u.T * v)[0, 0] + (v.T * s.Q * v)[0, 0] + (s.Q * s.D).trace()) / 2

    def _twice_kl(self):
        s = self.symbols()
        return s.D.trace() + (s.v.T * s.v)[0, 0] - self.M - _log_det_diagonal(s.D)

    def kl_term(self):
        """KL(q(z|x) || p(z)) of one sample: (tr D + v.v - M - log det D) / 2.

        Returns
        -------
        sympy.Expr
            The KL term, in the field v and D.
        """
        return self._twice_kl() / 2

    def per_sample_objective(self):
        """The objective of one sample: reconstruction term + beta KL term.

        Returns
        -------
        sympy.Expr
            The objective, in x2, u, v, Q, D and beta.
        """
        return self.reconstruction_term() + self.symbols().beta * self._twice_kl() / 2

    def regularizer(self):
        """The weight decay per N: lam/2 (||W||^2 + ||W~||^2)/N = lam/2 tr(Q + E).

        Returns
        -------
        sympy.Expr
            The weight decay term, in lam, Q and E.
        """
        s = self.symbols()
        return s.lam * (s.Q + s.E).trace() / 2

    def field_moments(self):
        """Second moments of the fields h = (u, v) under the data: t diag(rho) t^T + eta G.

        Returns
        -------
        sympy.ImmutableMatrix
            The 2M x 2M moments, in m, d, Q, R, E, rho and eta.
        """
        s = self.symbols()
        return _as_matrix(s.t * s.P * s.t.T + s.eta * s.G)

    def average(self, expr, moments):
        """The average of ``expr`` over fields h = (u, v) with second moments ``moments``.

        ``expr`` must be a polynomial of degree at most two in h without a linear term
        (as the objective and its parts are), so its average over any distribution of h
        with second moments ``moments`` (2M x 2M) is its value at h = 0 plus
        tr(H moments)/2, H its Hessian in h.

        Parameters
        ----------
        expr : sympy.Expr
            A polynomial in the fields h of degree at most two with no linear term.
        moments : sympy.Matrix
            The 2M x 2M second moments of h (symmetric).

        Returns
        -------
        sympy.Expr
            The average, expr(h = 0) + tr(H moments) / 2.

        Raises
        ------
        ValueError
            If ``expr`` has a term linear in h or is not quadratic in h.
        """
        import sympy as sp

        h = list(self.symbols().h)
        at_zero = {x: 0 for x in h}
        if any(sp.diff(expr, x).subs(at_zero) != 0 for x in h):
            raise ValueError("expr has terms linear in the local fields")
        H = sp.hessian(expr, h)
        if any(entry.has(*h) for entry in H):
            raise ValueError("expr is not quadratic in the local fields")
        return expr.subs(at_zero) + (H * sp.Matrix(moments)).trace() / 2

    def population_observables(self) -> dict:
        """Rate and distortion averaged over the data, as expressions of the overlaps and D.

        ``rate``: the KL term averaged over the fields' population moments
        (:meth:`field_moments`); ``distortion``: the reconstruction term averaged, with
        E||x||^2 = sum_k rho_k + N eta, less the constant (N - M*) eta / 2 (the noise of
        the N - M* directions without a feature, as in docs/model.md).

        Returns
        -------
        dict
            ``rate`` and ``distortion``, SymPy expressions in the overlaps, D and the
            parameters.
        """
        s = self.symbols()
        moments = self.field_moments()
        reconstruction = self.average(self.reconstruction_term(), moments)
        return {"rate": self.average(self.kl_term(), moments),
                "distortion": reconstruction.xreplace(
                    {s.x2: sum(s.rho) + self.Mstar * s.eta})}

    def average_objective(self, moments):
        """The per-sample objective less ||x||^2/2, averaged over fields with given moments.

        Parameters
        ----------
        moments : sympy.Matrix
            The 2M x 2M second moments of h (symmetric).

        Returns
        -------
        sympy.Expr
            The averaged objective, in the overlaps, D, beta and the moments.
        """
        return self.average(self.per_sample_objective() - self.symbols().x2 / 2, moments)

    # --- numeric -------------------------------------------------------------------

    def numeric(self, backend: str = "numpy"):
        """The generated saddle-point system of this model.

        Loaded from the modules shipped in :mod:`symrep.numeric.generated` when the
        model is one of them (without importing SymPy), else generated on first use into
        the disk cache of :mod:`symrep.numeric.codegen`.

        Parameters
        ----------
        backend : {"numpy"}
            Vectorised NumPy code.

        Returns
        -------
        symrep.numeric.generated_system.GeneratedSystem
        """
        from symrep.numeric.generated_system import generated_system

        return generated_system(self, backend)


def _log_det_diagonal(D):
    import sympy as sp

    return sum((sp.log(D[i, i]) for i in range(D.shape[0])), sp.Integer(0))


def _as_matrix(expr):
    import sympy as sp

    return sp.ImmutableMatrix(sp.Matrix(expr))


@dataclass(frozen=True)
class ModelSymbols:
    """The SymPy symbols of a :class:`LinearVAE`, as matrices where the model has matrices.

    For M = M* = 1 every entry is the symbol of :mod:`symrep.symbols` of the same name
    (``Q``, ``chi_Q``, ``rho``, ...), in 1 x 1 (or 2 x 2, 2 x 1) matrices. Otherwise the
    entries are named ``Q_12``, ``chi_R_21``, ``m_31``, ``D_2``, ``rho_1``, ...;
    symmetric matrices (Q, E, q, e, the symmetric blocks of X, Y and of the conjugates)
    share one symbol per pair of indices.

    Attributes
    ----------
    alpha, beta, lam, eta, n, b, x2 : Symbol
        Parameters, replica number, inverse temperature, squared sample norm.
    rho : tuple of Symbol
        Feature strengths rho_1..rho_M*.
    P : ImmutableMatrix
        diag(rho), M* x M*.
    Q, R, E : ImmutableMatrix
        Overlaps W^T W/N, W^T W~^T/N, W~ W~^T/N (M x M).
    m, d : ImmutableMatrix
        Feature overlaps W^T W0/N, W~ W0/N (M x M*).
    D : ImmutableMatrix
        diag(D_1..D_M), the encoder variances.
    q, r, e : ImmutableMatrix
        Overlaps between two different replicas (finite temperature).
    X, Y : ImmutableMatrix
        Susceptibility matrix [[chi_Q, chi_R], [chi_R^T, chi_E]] and the precision matrix
        [[chihat_Q, chihat_R], [chihat_R^T, chihat_E]] (2M x 2M); Y is also the
        conjugate X^ of X at zero temperature, and Y = X^{-1} at the saddle point.
    Qhat, that : ImmutableMatrix
        Zero-temperature conjugates of the overlaps (2M x 2M) and of t (2M x M*).
    Atilde, Btilde, Htilde : ImmutableMatrix
        Finite-temperature conjugates: diagonal and off-diagonal blocks of the RS
        conjugate of the overlap matrix, and the conjugate of t.
    u, v : ImmutableMatrix
        The local fields (columns of length M); ``h`` = [u; v].
    G, g, t : ImmutableMatrix
        [[Q, R], [R^T, E]], [[q, r], [r^T, e]], [m; d].
    unknowns : tuple of Symbol
        The unknowns of the saddle-point system in precision form, in the order of
        :func:`symrep.numeric.layout.unknown_layout`.
    parameters : tuple of Symbol
        (alpha, beta, lam, rho_1..rho_M*, eta).
    """

    alpha: Any
    beta: Any
    lam: Any
    eta: Any
    rho: tuple
    n: Any
    b: Any
    x2: Any
    P: Any
    Q: Any
    R: Any
    E: Any
    m: Any
    d: Any
    D: Any
    q: Any
    r: Any
    e: Any
    X: Any
    Y: Any
    Qhat: Any
    that: Any
    Atilde: Any
    Btilde: Any
    Htilde: Any
    u: Any
    v: Any
    unknowns: tuple
    parameters: tuple

    @property
    def G(self):
        """The 2M x 2M overlap matrix of a replica with itself, [[Q, R], [R^T, E]]."""
        return _blocks(self.Q, self.R, self.E)

    @property
    def g(self):
        """The 2M x 2M overlaps between two different replicas, [[q, r], [r^T, e]]."""
        return _blocks(self.q, self.r, self.e)

    @property
    def t(self):
        """The 2M x M* overlaps with the features, the blocks m (decoder) over d (encoder)."""
        import sympy as sp

        return sp.ImmutableMatrix(sp.Matrix.vstack(self.m, self.d))

    @property
    def h(self):
        """The 2M local fields of one sample, the column u (decoder) over v (encoder)."""
        import sympy as sp

        return sp.ImmutableMatrix(sp.Matrix.vstack(self.u, self.v))

    @property
    def D_entries(self) -> tuple:
        """The diagonal entries D_1, ..., D_M of the posterior variance D."""
        return tuple(self.D[i, i] for i in range(self.D.shape[0]))

    @property
    def susceptibilities(self) -> tuple:
        """The independent entries of X, in the order of the blocks' unknowns."""
        return _independent_entries(self.X, self.Q.shape[0])

    @property
    def precisions(self) -> tuple:
        """The independent entries of Y (the last unknowns)."""
        return _independent_entries(self.Y, self.Q.shape[0])


def _blocks(A, B, C):
    import sympy as sp

    return sp.ImmutableMatrix(sp.BlockMatrix([[A, B], [B.T, C]]).as_explicit())


def _independent_entries(Z, M):
    out = []
    for (r0, c0), symmetric in (((0, 0), True), ((0, M), False), ((M, M), True)):
        for i in range(M):
            for j in range(i if symmetric else 0, M):
                out.append(Z[r0 + i, c0 + j])
    return tuple(out)


@cache
def _model_symbols(M: int, Mstar: int) -> ModelSymbols:
    import sympy as sp

    from symrep import symbols as S

    def mat(rows):
        return sp.ImmutableMatrix(rows)

    if M == 1 and Mstar == 1:
        def one(x):
            return mat([[x]])

        X = mat([[S.chi_Q, S.chi_R], [S.chi_R, S.chi_E]])
        Y = mat([[S.chihat_Q, S.chihat_R], [S.chihat_R, S.chihat_E]])
        return ModelSymbols(
            alpha=S.alpha, beta=S.beta, lam=S.lam, eta=S.eta, rho=(S.rho,), n=S.n, b=S.b,
            x2=S.x2, P=one(S.rho), Q=one(S.Q), R=one(S.R), E=one(S.E), m=one(S.m),
            d=one(S.d), D=one(S.D), q=one(S.q), r=one(S.r), e=one(S.e), X=X, Y=Y,
            Qhat=mat([[S.qhat, S.rhat], [S.rhat, S.ehat]]), that=mat([[S.mhat], [S.dhat]]),
            Atilde=mat([[S.Qtilde, S.Rtilde], [S.Rtilde, S.Etilde]]),
            Btilde=mat([[S.qtilde, S.rtilde], [S.rtilde, S.etilde]]),
            Htilde=mat([[S.mtilde], [S.dtilde]]), u=one(S.u), v=one(S.v),
            unknowns=(S.Q, S.R, S.E, S.m, S.d, S.chihat_Q, S.chihat_R, S.chihat_E),
            parameters=S.PARAMETERS,
        )

    real = dict(real=True)

    def square(name, symmetric, diagonal=None):
        def entry(i, j):
            if symmetric and j < i:
                i, j = j, i
            kw = diagonal if (diagonal and i == j) else real
            return sp.Symbol(f"{name}_{i + 1}{j + 1}", **kw)
        return mat([[entry(i, j) for j in range(M)] for i in range(M)])

    def rect(name):
        return mat([[sp.Symbol(f"{name}_{i + 1}{k + 1}", real=True) for k in range(Mstar)]
                    for i in range(M)])

    def block(prefix):
        return _blocks(square(f"{prefix}_Q", True), square(f"{prefix}_R", False),
                       square(f"{prefix}_E", True))

    nonneg = dict(nonnegative=True, real=True)
    pos = dict(positive=True, real=True)
    rho = (S.rho,) if Mstar == 1 else tuple(
        sp.Symbol(f"rho_{k + 1}", **pos) for k in range(Mstar))
    Q, R, E = square("Q", True, nonneg), square("R", False), square("E", True, nonneg)
    m, d = rect("m"), rect("d")
    Y = block("chihat")
    Qhat = _blocks(square("qhat", True), square("rhat", False), square("ehat", True))
    that = sp.ImmutableMatrix(sp.Matrix.vstack(rect("mhat"), rect("dhat")))
    Atilde = _blocks(square("Qtilde", True), square("Rtilde", False),
                     square("Etilde", True))
    Btilde = _blocks(square("qtilde", True), square("rtilde", False),
                     square("etilde", True))
    Htilde = sp.ImmutableMatrix(sp.Matrix.vstack(rect("mtilde"), rect("dtilde")))
    unknowns = (*_independent_entries(_blocks(Q, R, E), M), *list(m), *list(d),
                *_independent_entries(Y, M))
    return ModelSymbols(
        alpha=S.alpha, beta=S.beta, lam=S.lam, eta=S.eta, rho=rho, n=S.n, b=S.b, x2=S.x2,
        P=sp.ImmutableMatrix(sp.diag(*rho)), Q=Q, R=R, E=E, m=m, d=d,
        D=sp.ImmutableMatrix(sp.diag(*[sp.Symbol(f"D_{i + 1}", **pos) for i in range(M)])),
        q=square("q", True), r=square("r", False), e=square("e", True),
        X=block("chi"), Y=Y, Qhat=Qhat, that=that, Atilde=Atilde, Btilde=Btilde,
        Htilde=Htilde,
        u=mat([[sp.Symbol(f"u_{i + 1}", real=True)] for i in range(M)]),
        v=mat([[sp.Symbol(f"v_{i + 1}", real=True)] for i in range(M)]),
        unknowns=unknowns, parameters=(S.alpha, S.beta, S.lam, *rho, S.eta),
    )
