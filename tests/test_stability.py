"""Stability of the RS branches: the reduced RS Hessian and the replicon eigenvalue.

Ground truth, typed here and independent of symrep.stability:
- the per-mode collapse threshold beta_c = alpha s/(lam + alpha) - lam/(alpha s) at the
  top sample eigenvalue s (spike (rho + eta)(1 + eta/(alpha rho)) above the BBP point
  alpha rho^2 = eta^2, bulk edge eta (1 + alpha^{-1/2})^2 below);
- the overfitting state is a saddle where a spike exists above the edge;
- the curvature of the reduced finite-N objective (tests/closed_forms.py) along the
  branch's eigenvector;
- the replica action's second variation at finite n (4, 5, 6) and finite b, computed from
  explicit 2n x 2n matrices by finite differences of log-determinants;
- the contraction rate of the conjugate map (symrep.solvers.units.contraction, derived
  and coded independently): replicon = 1 - rate^2.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.closed_forms import _reduced_slope


def _spike(alpha, rho, eta):
    return (rho + eta) * (1 + eta / (alpha * rho))


def _beta_c(alpha, lam, s):
    return alpha * s / (lam + alpha) - lam / (alpha * s)


def test_collapsed_block_changes_sign_at_the_threshold():
    from symrep.stability import branch_stability_arrays

    alpha, lam, rho, eta = 2.0, 1.0, 1.0, 1.0
    bc = _beta_c(alpha, lam, _spike(alpha, rho, eta))  # 1.8333...
    beta = bc * np.array([0.975, 0.99, 1.01, 1.05, 1.5])
    res = branch_stability_arrays(alpha, beta, lam, rho, eta)["collapsed"]
    assert res["exists"].all()
    np.testing.assert_array_equal(res["stable"], beta > bc)
    # the smallest eigenvalue of the (m, d) block vanishes exactly at beta_c
    from scipy.optimize import brentq

    def low(b):
        return branch_stability_arrays(alpha, b, lam, rho, eta)["collapsed"]["hessian_min"][0]

    root = brentq(low, beta[1], beta[2], xtol=1e-13)
    assert root == pytest.approx(bc, rel=1e-10)
    assert np.all(res["replicon"] > 0)
    # below the bulk-edge threshold (1.771 < 1.787 here) the collapsed state is gone: its
    # conjugate fixed point meets the fold, where the replicon vanishes
    edge = _beta_c(alpha, lam, eta * (1 + alpha**-0.5) ** 2)
    eps = np.array([1e-8, 1e-6, 1e-3, 1e-1])
    near = branch_stability_arrays(alpha, edge * (1 + eps), lam, rho, eta)["collapsed"]
    rep = near["replicon"]
    assert near["exists"].all() and np.all(np.diff(rep) > 0)
    # a square-root approach to the fold of the conjugate map
    assert rep[0] / np.sqrt(eps[0]) == pytest.approx(rep[1] / np.sqrt(eps[1]), rel=1e-2)
    below = branch_stability_arrays(alpha, edge * (1 - 1e-6), lam, rho, eta)["collapsed"]
    assert not below["exists"].any()


def test_overfitting_unstable_above_the_bbp_point():
    from symrep.stability import branch_stability_arrays

    rho, eta, lam, beta = 1.5, 1.0, 0.5, 0.4
    bbp = eta**2 / rho**2
    alpha = bbp * np.array([0.5, 0.8, 0.95, 1.05, 1.5, 4.0])
    res = branch_stability_arrays(alpha, beta, lam, rho, eta)
    over = res["overfitting"]
    assert over["exists"].all()
    np.testing.assert_array_equal(over["stable"], alpha < bbp)
    # on the bulk edge the replicon is marginal
    assert np.all(over["marginal"]) and np.all(np.abs(over["replicon"]) < 1e-8)
    learn = res["learning"]
    np.testing.assert_array_equal(learn["exists"], alpha > bbp)
    assert np.all(learn["stable"][alpha > bbp]) and np.all(learn["optimum"][alpha > bbp])
    assert np.all(learn["replicon"][alpha > bbp] > 0.01)


def test_flags_equal_the_finite_n_local_minima():
    """Over a grid the RS flag equals the local-minimum flag of the exact objective."""
    from symrep.stability import branch_stability_arrays

    A, B, L = np.meshgrid([0.3, 0.7, 1.6, 4.0, 30.0], np.linspace(0.1, 3.5, 12),
                          [0.0, 0.3, 2.0], indexing="ij")
    A, B, L = A.ravel(), B.ravel(), L.ravel()
    rho, eta = 1.0, 1.0
    res = branch_stability_arrays(A, B, L, rho, eta)
    spike = A * rho**2 > eta**2
    s_top = np.where(spike, _spike(A, rho, eta), eta * (1 + A**-0.5) ** 2)
    checked = 0
    for name, e in res.items():
        family = name.split("_")[0]
        ok = e["exists"]
        if family == "collapsed":
            truth = B > _beta_c(A, L, s_top)
        else:
            s = _spike(A, rho, eta) if family == "learning" else eta * (1 + A**-0.5) ** 2
            h = 1e-6 * (1 + e["z"][0])
            Q = np.where(ok, e["z"][0], 1.0)
            curvature = (_reduced_slope(Q + h, A, s, B, L)
                         - _reduced_slope(Q - h, A, s, B, L)) / (2 * h)
            truth = (spike if family == "learning" else ~spike) & (curvature > 0)
        np.testing.assert_array_equal(e["stable"][ok], truth[ok], err_msg=name)
        checked += ok.sum()
    assert checked > 200


def _finite_n_second_variation(n, b, Q, R, E, m, d, X, alpha, beta, rho, eta, Dsym, Dant):
    """d^2/de^2 Phi(e) at e = 0 by finite differences, from explicit matrices."""
    Gd = np.array([[Q, R], [R, E]])
    g = Gd - X / b
    t = np.array([m, d])
    K = np.array([[0.0, -1.0], [-1.0, Q + beta]])
    C4 = np.zeros((n, n))
    A4 = np.zeros((n, n))
    # zero diagonal, zero row sums: C symmetric, A antisymmetric
    for a in range(n):
        c = (a + 1) % n
        C4[a, c] += 1
        C4[c, a] += 1
        C4[a, (a + 2) % n] -= 1
        C4[(a + 2) % n, a] -= 1
        A4[a, c] += 1
        A4[c, a] -= 1
        A4[a, (a + 2) % n] -= 1
        A4[(a + 2) % n, a] += 1
    A4 = A4 - A4.T  # keep antisymmetric after the two loops overlap
    C4 = (C4 + C4.T) / 2
    assert np.allclose(C4.sum(1), 0) and np.allclose(A4.sum(1), 0)
    assert np.allclose(np.diag(C4), 0) and np.allclose(np.diag(A4), 0)
    one_t = np.kron(np.ones(n), t)

    def phi(eps):
        G = np.kron(np.ones((n, n)), g) + np.kron(np.eye(n), Gd - g)
        G = G + eps * (np.kron(C4, Dsym) + np.kron(A4, Dant))
        entropic = np.linalg.slogdet(G - np.outer(one_t, one_t))[1] / 2
        C = rho * np.outer(one_t, one_t) + eta * G
        energetic = -alpha / 2 * np.linalg.slogdet(np.eye(2 * n) + b * np.kron(np.eye(n), K) @ C)[1]
        return entropic + energetic

    h = 1e-3
    # Richardson on the central difference
    d1 = (phi(h) - 2 * phi(0) + phi(-h)) / h**2
    d2 = (phi(h / 2) - 2 * phi(0) + phi(-h / 2)) / (h / 2) ** 2
    pairs = [(a, c) for a in range(n) for c in range(a + 1, n)]
    blocks = [C4[a, c] * Dsym + A4[a, c] * Dant for a, c in pairs]
    return (4 * d2 - d1) / 3, blocks


@pytest.mark.parametrize("n", [4, 5, 6])
def test_replicon_form_against_finite_n(n):
    from symrep.stability.replicon import generated

    rng = np.random.default_rng(n)
    Q, m, d = 0.8, 0.3, 0.2
    R, E = 0.5, 0.45
    alpha, beta, rho, eta, lam, b = 1.7, 0.6, 1.3, 0.9, 0.4, 3.0
    X = np.array([[0.9, 0.2], [0.2, 0.7]])
    Y = np.linalg.inv(X)
    Dsym = rng.normal(size=(2, 2))
    Dsym = (Dsym + Dsym.T) / 2
    Dant = np.array([[0.0, 0.7], [-0.7, 0.0]])
    numeric, blocks = _finite_n_second_variation(n, b, Q, R, E, m, d, X, alpha, beta, rho,
                                                 eta, Dsym, Dant)
    out = generated().replicon_matrix(Q, R, E, m, d, Y[0, 0], Y[0, 1], Y[1, 1], alpha, beta,
                                      lam, rho, eta)
    Rm = np.array(out, dtype=float).reshape(4, 4)
    predicted = -b**2 * sum(blk.reshape(-1) @ Rm @ blk.reshape(-1) for blk in blocks)
    assert numeric == pytest.approx(predicted, rel=1e-6)


def test_replicon_is_one_minus_squared_contraction_rate():
    from symrep.solvers.units import contraction, stationary_points
    from symrep.stability.replicon import replicon_eigenvalues

    alpha = np.array([0.4, 2.0, 2.0, 8.0, 1.3])
    beta = np.array([0.5, 1.0, 2.5, 0.3, 3.0])
    lam = np.array([1.0, 0.0, 0.5, 2.0, 0.1])
    rho = np.array([1.0, 1.0, 2.0, 0.7, 1.0])
    eta = np.array([1.0, 0.5, 1.0, 1.2, 1.0])
    count = 0
    for state in stationary_points(alpha, beta, lam, rho, eta):
        ok = state["ok"]
        z = state["z"][:, ok]
        par = [p[ok] for p in (alpha, beta, lam, rho, eta)]
        rate = contraction(z[5:8], z[0] + par[1], par[0], par[4])
        rep = replicon_eigenvalues(z, par)[:, 0]
        np.testing.assert_allclose(rep, 1 - rate**2, atol=1e-10)
        count += ok.sum()
    assert count >= 8


def test_scalar_api_and_validation():
    from symrep.stability import branch_stability

    states = branch_stability(2.0, 1.0, 1.0)
    families = [s.family for s in states]
    assert families == ["learning", "overfitting"]
    assert states[0].optimum and states[0].stable and not states[1].stable
    assert states[0].hessian_eigenvalues.shape == (4,)
    with pytest.raises(ValueError, match="alpha"):
        branch_stability(-1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="beta"):
        branch_stability(1.0, [1.0, 2.0], 1.0)


def test_y_block_null_direction_is_the_rank_multiplier():
    """The Y block is singular on a branch; its null direction multiplies det(G - tt^T)."""
    from symrep.numeric.system import generated
    from symrep.solvers.units import stationary_points
    from symrep.stability.rs_hessian import hessian_blocks

    params = (np.array([2.0]), np.array([0.7]), np.array([0.5]), np.array([1.2]),
              np.array([0.8]))
    gen = generated("numpy")
    seen = 0
    for state in stationary_points(*params):
        if state["family"] == 0 or not state["ok"][0]:
            continue
        z = state["z"][:, 0]
        H = hessian_blocks(z[:, None], params)[0]
        w, V = np.linalg.eigh(H[5:, 5:])
        k = np.argmin(np.abs(w))
        assert abs(w[k]) < 1e-10 * np.max(np.abs(w))
        v = V[:, k]
        f0 = gen.free_energy(*z, *(p[0] for p in params))[0]
        for s in (-0.3, 0.5):
            zs = np.concatenate([z[:5], z[5:] + s * v])
            assert gen.free_energy(*zs, *(p[0] for p in params))[0] == pytest.approx(
                f0, abs=1e-12)
        Q, R, E, m, d = z[:5]
        grad = np.array([E - d * d, -2 * (R - m * d), Q - m * m,
                         -2 * m * (E - d * d) + 2 * d * (R - m * d),
                         -2 * d * (Q - m * m) + 2 * m * (R - m * d)])
        normal = H[:5, 5:] @ v
        cos = abs(normal @ grad) / (np.linalg.norm(normal) * np.linalg.norm(grad))
        assert cos == pytest.approx(1, abs=1e-8)
        seen += 1
    assert seen == 2


def test_learned_variance_model_maps_to_the_linear_vae():
    """sigma^2 -> eta: the learned-variance model is the linear VAE at (eta beta, eta lam),
    its objective divided by eta."""
    from symrep.models import model_from_name
    from symrep.stability import branch_stability_arrays

    model = model_from_name("learned-variance", 1, 1)
    alpha, beta, lam, rho, eta = 3.0, np.array([0.2, 0.6, 1.2]), 0.3, 1.0, 2.0
    learned = branch_stability_arrays(alpha, beta, lam, rho, eta, model=model)
    linear = branch_stability_arrays(alpha, eta * beta, eta * lam, rho, eta)
    assert set(learned) == set(linear)
    for name in linear:
        np.testing.assert_array_equal(learned[name]["stable"], linear[name]["stable"])
        np.testing.assert_allclose(learned[name]["replicon"], linear[name]["replicon"])
        np.testing.assert_allclose(learned[name]["hessian_min"],
                                   linear[name]["hessian_min"] / eta)


@pytest.mark.slow
def test_figure_writes_a_png(tmp_path):
    from symrep.figures.stability import stability_curves, write_stability_figure

    path = write_stability_figure(tmp_path / "stability.png", dpi=40)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="x_name"):
        stability_curves("rho", [1.0], {})


def test_naive_schur_test_is_noise():
    """Inverting the singular Y block gives a sign that often disagrees with the truth."""
    from symrep.stability.checks import agreement, naive_schur_agreement

    A, B, L = np.meshgrid([0.4, 0.8, 1.5, 3.0, 10.0], np.linspace(0.1, 2.5, 8), [0.1, 1.0],
                          indexing="ij")
    naive = naive_schur_agreement(A, B, L)
    agree = sum(a for a, _ in naive.values())
    total = sum(n for _, n in naive.values())
    assert total > 60 and agree < 0.9 * total
    ours = agreement(A, B, L)
    assert all(v["agree"] == v["states"] for v in ours.values())


def test_no_state_raises_solver_error(monkeypatch):
    from symrep.errors import SolverError
    from symrep.stability import branches

    def nothing(*params):
        n = len(params[0])
        return [dict(family=2, z=np.full((8, n), np.nan), ok=np.zeros(n, bool),
                     free_energy=np.full(n, np.inf), residual=np.full(n, np.inf),
                     step=np.full(n, np.inf))]

    monkeypatch.setattr(branches, "stationary_points", nothing)
    with pytest.raises(SolverError, match="no RS stationary state") as info:
        branches.branch_stability(2.0, 1.0, 1.0)
    assert info.value.diagnostics["points"] == [(2.0, 1.0, 1.0, 1.0, 1.0)]


def test_finite_n_hessian_at_the_exact_optimum():
    """The exact optimum is a stationary point with a positive definite Hessian (the
    hand-written Hessian equals finite differences of the gradient: 0.34167 at N = 100,
    alpha = 2, seed 0, both ways)."""
    from symrep.stability.checks import finite_n_hessian_minimum

    out = finite_n_hessian_minimum(60, 3.0, 0.5, 1.0, seed=1)
    assert out["Q"] > 0 and out["gradient"] < 1e-9 * 60
    assert out["min"] > 0
    assert finite_n_hessian_minimum(100, 2.0, 0.5, 1.0)["min"] == pytest.approx(0.341673,
                                                                                rel=1e-5)
    over = finite_n_hessian_minimum(60, 0.5, 0.5, 1.0, seed=1)
    assert over["Q"] > 0 and over["gradient"] < 1e-9 * 60 and over["min"] > 0
