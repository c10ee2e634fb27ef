"""Each step of the symbolic replica derivation, checked independently."""

import math

import numpy as np
import pytest
import sympy as sp

from symrep import symbols as S
from symrep.replica import (
    eliminate_conjugates,
    energetic_term,
    entropic_term,
    local_field_covariance,
    per_sample_objective,
    replica_limit,
    rs_free_energy,
    saddle_point_equations,
    zero_temperature,
)
from symrep.replica.rs_matrices import RSMatrix

RNG = np.random.default_rng(0)


def rational_matrix(p, rng, symmetric=True):
    a = rng.integers(-5, 6, size=(p, p))
    if symmetric:
        a = a + a.T
    return sp.Matrix(p, p, [sp.Rational(int(v), 3) for v in a.ravel()])


@pytest.mark.parametrize("n_value", [1, 2, 3])
def test_rs_matrix_formulas_match_explicit_matrices(n_value):
    rng = np.random.default_rng(n_value)
    A = rational_matrix(2, rng) + 8 * sp.eye(2)
    B = rational_matrix(2, rng)
    M = RSMatrix(A, B)
    full = M.explicit(n_value)
    assert sp.simplify(M.logdet().subs(S.n, n_value) - sp.log(full.det())) == 0
    w = sp.Matrix([sp.Rational(1, 2), sp.Rational(-2, 3)])
    ones_w = sp.Matrix.vstack(*[w] * n_value)
    assert sp.simplify(M.inverse_quadratic(w).subs(S.n, n_value)
                       - (ones_w.T * full.inv() * ones_w)[0, 0]) == 0
    O = RSMatrix(rational_matrix(2, rng), rational_matrix(2, rng))
    assert sp.simplify(M.trace_product(O).subs(S.n, n_value)
                       - (full * O.explicit(n_value).T).trace()) == 0
    K = rational_matrix(2, rng, symmetric=False)
    Kn = sp.diag(*[K] * n_value)
    assert M.left_multiply(K).explicit(n_value) == Kn * full
    assert M.plus_identity().explicit(n_value) == sp.eye(2 * n_value) + full


def test_per_sample_objective_is_the_model_objective():
    """The per-sample objective, and its split, equal the model's objective for one sample.

    Independent of the SymPy expression: for a sample x, weights W, W~ and D drawn at
    random (N = 50), the reconstruction term E_q ||x - W z/sqrt(N)||^2 / 2 is a Monte-Carlo
    average over z ~ q(z|x) = N(x.W~/sqrt(N), D) of the squared norm of the residual
    vector, and the KL term the Gaussian KL divergence from its textbook formula; their
    sum must equal the objective, and the split x2/2 + h^T K h/2 + w(Q, D), both evaluated
    at u = x.W/sqrt(N), v = x.W~/sqrt(N), Q = W.W/N, D (four standard errors of the
    Monte-Carlo average). K and w are compared with the forms typed here.
    """
    step = per_sample_objective()
    K, w, objective = (step.result[k] for k in ("K", "weight_term", "objective"))
    assert K == sp.Matrix([[0, -1], [-1, S.Q + S.beta]])
    assert sp.simplify(w - (S.Q * S.D + S.beta * (S.D - 1 - sp.log(S.D))) / 2) == 0
    assert not w.has(S.u, S.v, S.x2)
    rng = np.random.default_rng(5)
    N, beta = 50, 0.7
    x, W, We = rng.standard_normal((3, N))
    D = 0.4
    u, v, Q = x @ W / math.sqrt(N), x @ We / math.sqrt(N), W @ W / N
    z = v + math.sqrt(D) * rng.standard_normal(200_000)
    residual2 = np.sum((x[None, :] - np.outer(z, W) / math.sqrt(N)) ** 2, axis=1) / 2
    kl = 0.5 * (math.log(1 / D) + D + v**2 - 1)  # KL(N(v, D) || N(0, 1))
    sample = residual2 + beta * kl
    mc, se = sample.mean(), sample.std() / math.sqrt(len(sample))
    vals = {S.x2: x @ x, S.u: u, S.v: v, S.Q: Q, S.D: D, S.beta: beta}
    h = sp.Matrix([S.u, S.v])
    split = S.x2 / 2 + (h.T * K * h)[0, 0] / 2 + w
    for expr in (objective, split):
        assert abs(float(expr.subs(vals)) - mc) < 4 * se


def test_local_field_covariance_against_sampling():
    """E[h_a h_b^T] = rho t t^T + eta G for real weights and data."""
    # the statistical error is set by P; N only has to be large enough to be generic
    N, P, rho, eta = 100, 200_000, 1.7, 0.6
    rng = np.random.default_rng(1)
    w0 = np.ones(N)
    Wa, Va, Wb = (rng.standard_normal(N) + 0.5 for _ in range(3))
    c = rng.standard_normal(P)
    noise = rng.standard_normal((P, N))
    X = np.sqrt(rho / N) * np.outer(c, w0) + np.sqrt(eta) * noise
    u_a, v_a, u_b = X @ Wa / math.sqrt(N), X @ Va / math.sqrt(N), X @ Wb / math.sqrt(N)
    cov = local_field_covariance().result
    vals = {S.m: Wa @ w0 / N, S.d: Va @ w0 / N, S.Q: Wa @ Wa / N, S.R: Wa @ Va / N,
            S.E: Va @ Va / N, S.rho: rho, S.eta: eta}
    diag = np.array(cov.diag.subs(vals), dtype=float)
    emp = np.cov(np.vstack([u_a, v_a]), bias=True)
    assert np.allclose(emp, diag, rtol=0.02, atol=0.02)
    # off-diagonal block between two replicas: rho m_a m_b + eta q with q = W_a.W_b/N
    off = cov.off.subs({S.m: Wa @ w0 / N, S.q: Wa @ Wb / N, S.rho: rho, S.eta: eta})
    assert abs(np.mean(u_a * u_b) - (rho * (Wa @ w0 / N) * (Wb @ w0 / N) + eta * Wa @ Wb / N)) \
        < 0.02 * (1 + abs(float(off[0, 0])))


def test_gaussian_average_identity():
    """E exp(-h^T A h / 2) = det(I + A C)^(-1/2), the identity behind the energetic term."""
    C = np.array([[1.3, 0.4], [0.4, 0.8]])
    A = np.array([[0.0, -0.3], [-0.3, 0.9]])  # indefinite, like K
    L = np.linalg.cholesky(C)
    grid = np.polynomial.hermite_e.hermegauss(80)
    x, wts = grid
    Z1, Z2 = np.meshgrid(x, x, indexing="ij")
    h = np.einsum("ij,jkl->ikl", L, np.stack([Z1, Z2]))
    quad = np.einsum("ikl,ij,jkl->kl", h, A, h)
    value = np.einsum("k,l,kl->", wts, wts, np.exp(-quad / 2)) / (2 * np.pi)
    assert math.isclose(value, np.linalg.det(np.eye(2) + A @ C) ** -0.5, rel_tol=1e-10)


def _numeric_point(rng):
    vals = {S.Q: 1.3, S.R: 0.4, S.E: 0.7, S.m: 0.5, S.d: 0.2, S.q: 0.9, S.r: 0.3,
            S.e: 0.5, S.alpha: 1.7, S.beta: 0.6, S.lam: 0.3, S.rho: 1.2, S.eta: 0.8,
            S.b: 0.7, S.D: 0.4}
    return vals


@pytest.mark.parametrize("n_value", [1, 2, 3])
def test_energetic_term_equals_explicit_determinant(n_value):
    vals = _numeric_point(RNG)
    G_E = energetic_term().result.subs(S.n, n_value).subs(vals)
    cov = local_field_covariance().result
    K = per_sample_objective().result["K"]
    C = cov.explicit(n_value).subs(vals)
    Kn = sp.diag(*[K] * n_value).subs(vals)
    det = (sp.eye(2 * n_value) + vals[S.b] * Kn * C).det()
    # compare exp(-2 G_E) with the determinant (it may be negative away from a saddle)
    assert math.isclose(complex(sp.exp(-2 * G_E)).real, float(det), rel_tol=1e-12)


def test_entropic_term_at_one_replica_is_the_gaussian_volume():
    """Extremised over its conjugates, G_S(1) = 1 + log(2 pi) + log det(G - t t^T) / 2."""
    vals = {S.Q: 1.3, S.R: 0.4, S.E: 0.7, S.m: 0.5, S.d: 0.2}
    G_S = entropic_term().result.subs(S.n, 1).subs(vals)
    conj = [S.Qtilde, S.Rtilde, S.Etilde, S.mtilde, S.dtilde]
    grad = [sp.diff(G_S, c) for c in conj]
    sol = sp.nsolve(grad, conj, [1.0, -0.3, 1.5, 0.5, 0.1])
    value = float(G_S.subs(dict(zip(conj, sol, strict=True))))
    G = np.array([[1.3, 0.4], [0.4, 0.7]])
    t = np.array([0.5, 0.2])
    want = 1 + math.log(2 * math.pi) + 0.5 * math.log(np.linalg.det(G - np.outer(t, t)))
    assert math.isclose(value, want, rel_tol=1e-10)


def test_replica_limit_matches_a_finite_difference_in_n():
    from symrep.replica.replica_limit import replicated_exponent

    vals = _numeric_point(RNG)
    vals.update({S.Qtilde: 2.0, S.Rtilde: -0.2, S.Etilde: 1.5, S.qtilde: 0.3,
                 S.rtilde: 0.1, S.etilde: 0.2, S.mtilde: 0.4, S.dtilde: -0.1})
    vals = {k: sp.Rational(str(v)) for k, v in vals.items()}  # exact: no rounding in the FD
    parts = replica_limit().result
    phi = (parts["entropic"] + S.alpha * parts["energetic"] - S.b * parts["local"]).subs(vals)
    Phi = replicated_exponent().subs(vals)
    h = sp.Rational(1, 10**8)
    fd = (Phi.subs(S.n, h) - Phi.subs(S.n, -h)) / (2 * h)
    assert math.isclose(float(phi), float(sp.N(fd, 40)), rel_tol=1e-12)


def test_zero_temperature_limit_numerically():
    from symrep.replica.zero_temperature import _scaling

    parts = replica_limit().result
    vals = {S.Q: 1.3, S.R: 0.4, S.E: 0.7, S.m: 0.5, S.d: 0.2, S.chi_Q: 0.6, S.chi_R: 0.2,
            S.chi_E: 0.5, S.alpha: 1.7, S.beta: 0.6, S.lam: 0.3, S.rho: 1.2, S.eta: 0.8}
    vals = {k: sp.Rational(str(v)) for k, v in vals.items()}  # exact: b is huge
    compact = zero_temperature().result["energetic"].subs(vals)
    big_b = sp.Integer(10) ** 12
    raw = (parts["energetic"].subs(_scaling()) / S.b).subs(vals).subs(S.b, big_b)
    assert math.isclose(float(sp.N(raw, 40)), float(compact), rel_tol=1e-10)


def test_conjugate_solution_is_stationary():
    f = zero_temperature().result["free_energy"]
    sol = eliminate_conjugates().result["solution"]
    for c in S.CONJUGATES:
        assert sp.simplify(sp.diff(f, c).subs(sol)) == 0


def test_rs_free_energy_is_an_expression_of_the_parameters():
    f = rs_free_energy()
    assert isinstance(f, sp.Expr)
    for sym in (S.alpha, S.beta, S.lam, S.rho, S.eta):
        assert f.has(sym)
    assert not any(f.has(c) for c in S.CONJUGATES)
    assert rs_free_energy(conjugates=True).has(S.mhat)


def test_saddle_point_equations_are_the_gradient_of_the_reduced_free_energy():
    system = saddle_point_equations()
    assert sp.simplify(system.eliminated[S.D] - S.beta / (S.beta + S.Q)) == 0
    assert len(system.equations) == 8
    vals = {S.Q: 1.3, S.R: 0.4, S.E: 0.7, S.m: 0.5, S.d: 0.2, S.chi_Q: 0.6, S.chi_R: 0.2,
            S.chi_E: 0.5, S.alpha: 1.7, S.beta: 0.6, S.lam: 0.3, S.rho: 1.2, S.eta: 0.8}
    for z, eq in zip(system.unknowns, system.equations, strict=True):
        direct = sp.diff(system.free_energy, z).subs(vals)
        assert math.isclose(float(eq.subs(vals)), float(direct), rel_tol=1e-10, abs_tol=1e-12)


# --- several latent units and features: the steps on matrix expressions -------------

def _model22():
    from symrep.model import LinearVAE

    return LinearVAE(2, 2)


def _values(model, seed, rational=False):
    """Random values of every entry symbol of the model and of the parameters."""
    from symrep.replica.matrix_forms import matrix_forms

    F = matrix_forms(model)
    symbols = set()
    for v in F.realization.values():
        symbols |= sp.ImmutableMatrix(v).free_symbols
    s = model.symbols()
    symbols |= {s.alpha, s.beta, s.lam, s.eta, s.b, *s.rho, *s.D_entries}
    rng = np.random.default_rng(seed)
    out = {}
    for sym in sorted(symbols, key=sp.default_sort_key):
        value = rng.uniform(0.2, 0.8) if (sym.is_positive or sym.is_nonnegative) else \
            rng.uniform(-0.4, 0.4)
        out[sym] = sp.Rational(round(value * 1000), 1000) if rational else value
    return out


def _evaluate(expr, model, values, extra=None):
    """A matrix expression at numeric values (matrix symbols replaced by their entries)."""
    from symrep.replica.matrix_calculus import realize
    from symrep.replica.matrix_forms import matrix_forms

    F = matrix_forms(model)
    table = {**F.realization, **(extra or {})}
    numeric = {k: sp.ImmutableMatrix(v).xreplace(values) for k, v in table.items()}
    return realize(expr.xreplace(values), numeric)


def _numpy(M, values):
    return np.array(sp.Matrix(M).xreplace(values), dtype=float)


@pytest.mark.parametrize("n_value", [1, 2, 3])
def test_energetic_term_of_two_units_equals_explicit_determinant(n_value):
    from symrep.replica.energetic import structural_energetic
    from symrep.replica.matrix_forms import matrix_forms

    model = _model22()
    F, s = matrix_forms(model), model.symbols()
    values = _values(model, n_value)
    values[s.b] = 0.3
    G_E = structural_energetic(model).xreplace({s.n: n_value}).xreplace(F.definitions)
    value = complex(sp.N(_evaluate(G_E, model, values)))
    # the explicit 4n x 4n matrix, built here from the model's definitions
    G, g, t = (_numpy(x, values) for x in (s.G, s.g, s.t))
    P = np.diag([values[r] for r in s.rho])
    Q, beta, eta = G[:2, :2], values[s.beta], values[s.eta]
    I2 = np.eye(2)
    K = np.block([[np.zeros((2, 2)), -I2], [-I2, Q + beta * I2]])
    C = np.kron(np.ones((n_value, n_value)), t @ P @ t.T + eta * g) + np.kron(
        np.eye(n_value), eta * (G - g))
    det = np.linalg.det(np.eye(4 * n_value) + 0.3 * np.kron(np.eye(n_value), K) @ C)
    assert math.isclose(np.exp(-2 * value).real, det, rel_tol=1e-10)


@pytest.mark.parametrize("n_value", [1, 2, 3])
def test_entropic_term_of_two_units_equals_explicit_gaussian_integral(n_value):
    from symrep.replica.entropic import structural_entropic

    model = _model22()
    s = model.symbols()
    values = _values(model, 10 + n_value)
    for i in range(4):  # a positive definite conjugate matrix
        values[s.Atilde[i, i]] = 3.0 + values[s.Atilde[i, i]]
    value = complex(sp.N(_evaluate(structural_entropic(model).xreplace({s.n: n_value}),
                                   model, values)))
    At, Bt, Ht, G, g, t = (_numpy(x, values) for x in
                           (s.Atilde, s.Btilde, s.Htilde, s.G, s.g, s.t))
    full = np.kron(np.eye(n_value), At - Bt) + np.kron(np.ones((n_value, n_value)), Bt)
    want = (n_value * np.trace(At @ G) / 2 + n_value * (n_value - 1) * np.trace(Bt @ g) / 2
            - n_value * np.trace(Ht.T @ t) + 2 * n_value * math.log(2 * math.pi)
            - np.linalg.slogdet(full)[1] / 2)
    for k in range(2):  # site average with W0^T W0 / N = I: one quadratic form per feature
        h = np.tile(Ht[:, k], n_value)
        want += h @ np.linalg.solve(full, h) / 2
    assert math.isclose(value.real, want, rel_tol=1e-10)


def test_replica_limit_of_two_units_matches_a_finite_difference_in_n():
    from symrep.replica.matrix_forms import matrix_forms
    from symrep.replica.replica_limit import structural_replica_limit

    model = _model22()
    F, s = matrix_forms(model), model.symbols()
    parts = structural_replica_limit(model)
    values = _values(model, 20, rational=True)
    for i in range(4):
        values[s.Atilde[i, i]] += 3
    values[s.b] = sp.Rational(3, 10)
    phi = parts["entropic"] + s.alpha * parts["energetic"] - s.b * parts["local"]
    defs = F.definitions
    value = sp.N(_evaluate(phi.xreplace(defs), model, values), 30)
    h = sp.Rational(1, 10**8)
    Phi = parts["replicated"].xreplace(defs)
    fd = (_evaluate(Phi.xreplace({s.n: h}), model, values)
          - _evaluate(Phi.xreplace({s.n: -h}), model, values)) / (2 * h)
    assert math.isclose(float(value), float(sp.N(fd, 40)), rel_tol=1e-10)


def test_zero_temperature_limit_of_two_units_numerically():
    from symrep.replica.matrix_forms import matrix_forms
    from symrep.replica.replica_limit import structural_replica_limit
    from symrep.replica.zero_temperature import _matrix_scaling, compact_limits

    model = _model22()
    F, s = matrix_forms(model), model.symbols()
    values = _values(model, 30, rational=True)
    for i in range(4):
        values[s.X[i, i]] += 1
    energetic = structural_replica_limit(model)["energetic"].xreplace(F.definitions)
    raw = (energetic.xreplace(_matrix_scaling(model)) / s.b).xreplace(
        {s.b: sp.Integer(10) ** 12})
    compact = compact_limits(model)["energetic"]
    assert math.isclose(float(sp.N(_evaluate(raw, model, values), 40)),
                        float(sp.N(_evaluate(compact, model, values), 40)), rel_tol=1e-9)


def test_conjugates_of_two_units_are_stationary_at_another_point():
    from symrep.replica.conjugates import eliminate_conjugates
    from symrep.replica.matrix_calculus import vanishes_at_random_point
    from symrep.replica.matrix_forms import matrix_forms

    model = _model22()
    step = eliminate_conjugates(model).result
    F = matrix_forms(model)
    for grad in step["gradients"].values():
        assert vanishes_at_random_point(grad.xreplace(step["solution"]), F.realization,
                                        seed=7)
        assert not vanishes_at_random_point(grad, F.realization, seed=7)


@pytest.mark.parametrize("build", [
    lambda x, A, B: sp.Trace(sp.MatPow(x * A + B, 3)),
    lambda x, A, B: sp.Determinant(x * A + B),
    lambda x, A, B: sp.exp(sp.Trace(x * A * B)) + sp.log(sp.Determinant(A + x * B)),
    lambda x, A, B: sp.Trace(A * sp.ImmutableMatrix([[x, 1], [x**2, 2]])),
    lambda x, A, B: sp.sin(x * sp.Trace(sp.Inverse(A + x * B))) ** 2,
], ids=["matpow", "determinant", "exp-and-logdet", "explicit-matrix", "function-of-trace"])
def test_matrix_calculus_rules_equal_the_derivative_of_the_explicit_matrices(build):
    from symrep.replica.matrix_calculus import realize, scalar_derivative, vanishes_at_random_point

    x = sp.Symbol("x")
    A, B = sp.MatrixSymbol("A", 2, 2), sp.MatrixSymbol("B", 2, 2)
    realization = {M: sp.Matrix(2, 2, lambda i, j, M=M: sp.Symbol(f"{M.name}{i}{j}"))
                   for M in (A, B)}
    expr = build(x, A, B)
    # the rule, against differentiating the expression written out entry by entry
    assert vanishes_at_random_point(
        scalar_derivative(expr, x) - sp.diff(realize(expr, realization), x), realization)


def test_matrix_calculus_names_what_it_cannot_differentiate():
    from symrep.replica.matrix_calculus import matrix_derivative, scalar_derivative

    x = sp.Symbol("x")
    A = sp.MatrixSymbol("A", 2, 2)
    with pytest.raises(NotImplementedError, match="HadamardProduct: no rule"):
        matrix_derivative(sp.HadamardProduct(x * A, A), x)
    with pytest.raises(NotImplementedError, match="Pow: no rule"):
        scalar_derivative(sp.Trace(A) ** x, x)
