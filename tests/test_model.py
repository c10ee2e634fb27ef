"""The model as a value (symrep.model) and its generated code (symrep.numeric.generated_system).

Ground truth here is independent of the generated code: today's M = M* = 1 derivation and
its generated system (explicit symbolic inverses, another code path), finite differences,
the free energy of DESIGN10.md typed below in NumPy, and saddle points of the M = M* = 1
model found by symrep.solve.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from symrep.model import LinearVAE
from symrep.numeric.generated_system import SHIPPED, shipped_module_path

ROOT = Path(__file__).resolve().parents[1]


def random_state(system, n, rng):
    """Points with Q, E positive definite and a precision matrix Y near a valid one."""
    M, Ms = system.M, system.Mstar
    A = rng.normal(size=(2 * M, 2 * M, n)) * 0.4
    G = np.einsum("ikn,jkn->ijn", A, A) + np.eye(2 * M)[:, :, None]
    Yr = rng.normal(size=(2 * M, 2 * M, n)) * 0.3
    Y = np.einsum("ikn,jkn->ijn", Yr, Yr) + 2 * np.eye(2 * M)[:, :, None]
    mats = {"Q": G[:M, :M], "R": G[:M, M:], "E": G[M:, M:],
            "m": rng.normal(size=(M, Ms, n)) * 0.5, "d": rng.normal(size=(M, Ms, n)) * 0.5,
            "Y": Y}
    return system.pack(mats), mats


def random_params(system, n, rng):
    return [rng.uniform(0.3, 3.0, n) for _ in system.parameters]


def design_free_energy(mats, params, M, Ms):
    """f of DESIGN10.md, typed here: X = Y^{-1}, D_i = beta/(beta + Q_ii)."""
    alpha, beta, lam, *rho, eta = params
    out = []
    for j in range(len(alpha)):
        Q, R, E = (mats[k][..., j] for k in ("Q", "R", "E"))
        t = np.vstack([mats["m"][..., j], mats["d"][..., j]])
        G = np.block([[Q, R], [R.T, E]])
        X = np.linalg.inv(mats["Y"][..., j])
        P = np.diag([r[j] for r in rho])
        I = np.eye(M)
        K = np.block([[np.zeros((M, M)), -I], [-I, Q + beta[j] * I]])
        D = np.diag(beta[j] / (beta[j] + np.diag(Q)))
        f = (-0.5 * np.trace(np.linalg.solve(X, G - t @ t.T))
             + alpha[j] / 2 * np.trace(np.linalg.inv(np.linalg.inv(K) + eta[j] * X)
                                       @ (t @ P @ t.T + eta[j] * G))
             + lam[j] / 2 * np.trace(Q + E)
             + alpha[j] / 2 * (np.trace(Q @ D) + beta[j] * (np.trace(D) - M
                                                            - np.log(np.linalg.det(D)))))
        out.append(f)
    return np.array(out)


def test_model_validates_its_size():
    assert LinearVAE() == LinearVAE(1, 1)
    assert LinearVAE(2, 3).key == "linear_vae_M2_Mstar3"
    for bad in (0, 10, 1.5, True, "2"):
        with pytest.raises(ValueError, match="M = "):
            LinearVAE(M=bad)
        with pytest.raises(ValueError, match="Mstar = "):
            LinearVAE(Mstar=bad)


def test_model_free_energy_equals_todays():
    """The matrix route of the derivation, on 1 x 1 blocks, gives today's f exactly."""
    import sympy as sp

    from symrep.replica import rs_free_energy
    from symrep.replica.free_energy import structural_free_energy
    from symrep.replica.matrix_calculus import realize
    from symrep.replica.matrix_forms import matrix_forms

    model = LinearVAE()
    f = realize(structural_free_energy(model), matrix_forms(model).realization)
    assert sp.cancel(sp.together(f - rs_free_energy())) == 0


def test_generated_one_unit_system_equals_todays():
    """LinearVAE().numeric() (opaque inverse) against symrep.numeric.system (explicit one)."""
    from symrep.numeric.system import generated

    system, old = LinearVAE().numeric(), generated("numpy")
    assert system.unknowns == ("Q", "R", "E", "m", "d", "chihat_Q", "chihat_R", "chihat_E")
    assert system.parameters == ("alpha", "beta", "lam", "rho", "eta")
    rng = np.random.default_rng(0)
    z, _ = random_state(system, 200, rng)
    p = random_params(system, 200, rng)

    def close(a, b):
        a, b = np.broadcast_arrays(a, b)
        return np.max(np.abs(a - b) / (1 + np.abs(b)))

    assert close(system.free_energy(z, p), old.free_energy(*z, *p)[0]) < 1e-12
    F, J = system.residual_jacobian(z, p)
    assert close(F, np.array(old.residual(*z, *p))) < 1e-12
    assert close(system.residual(z, p), F) < 1e-14
    old_j = [np.broadcast_to(v, (200,)) for v in old.residual_jacobian(*z, *p)[8:]]
    assert close(J.reshape(64, 200), np.array(old_j)) < 1e-11
    obs, old_obs = system.observables(z, p), old.observables(*z, *p)
    for i, name in enumerate(("eg", "rate", "distortion")):
        assert close(obs[name], old_obs[i]) < 1e-12, name
    assert close(obs["D"], p[1] / (p[1] + z[0])) < 1e-15


@pytest.fixture(scope="module")
def system22():
    return LinearVAE(2, 2).numeric()


def test_two_unit_free_energy_is_the_formula(system22):
    assert len(system22.unknowns) == 28
    rng = np.random.default_rng(1)
    z, mats = random_state(system22, 20, rng)
    p = random_params(system22, 20, rng)
    want = design_free_energy(mats, p, 2, 2)
    assert np.allclose(system22.free_energy(z, p), want, rtol=1e-11, atol=1e-11)


def test_two_unit_residual_and_jacobian_are_derivatives(system22):
    """Central differences of the generated f (and of the residual, for the Jacobian)."""
    rng = np.random.default_rng(2)
    z, _ = random_state(system22, 3, rng)
    p = random_params(system22, 3, rng)
    F, J = system22.residual_jacobian(z, p)
    n, h = len(z), 1e-5
    steps = h * np.eye(n)[:, :, None]
    zp, zm = z[None] + steps, z[None] - steps  # (direction, unknown, point)
    flat = lambda a: np.moveaxis(a, 0, 1).reshape(n, -1)  # noqa: E731
    pp = [np.tile(v, n) for v in p]
    fd_f = (system22.free_energy(flat(zp), pp)
            - system22.free_energy(flat(zm), pp)).reshape(n, 3) / (2 * h)
    assert np.allclose(F, fd_f, rtol=1e-7, atol=1e-7)
    fd_J = (system22.residual(flat(zp), pp)
            - system22.residual(flat(zm), pp)).reshape(n, n, 3) / (2 * h)
    assert np.allclose(J, np.swapaxes(fd_J, 0, 1), rtol=1e-6, atol=1e-6)


def test_block_diagonal_state_of_two_units_is_a_saddle_point(system22):
    """Two one-unit optima, unit k learning feature k, assembled: the state solves the
    (2, 2) equations, and f, eg, rate, distortion and D are the sums (D: the values) of
    the units'.

    Independent of symrep (of the one-unit solver and of the field moments the generated
    observables of both models are built from): each unit is the random-matrix optimum
    of tests/closed_forms.py at its feature's strength (f(Q) minimised at the BBP spike,
    W~ = kappa W, the susceptibilities as Marchenko-Pastur integrals, chihat their inverse
    matrix), and its observables are typed there from their definitions. With orthogonal
    features and block-diagonal overlaps the units decouple: f, the rate, the distortion
    (whose constant, (rho_k + eta)/2 per unit, adds up to (rho_1 + rho_2 + 2 eta)/2 with
    M* = 2) and eg are sums over the units. Measured: residual 1e-15, the sums to 4e-15.
    """
    import closed_forms

    alpha, beta, lam, eta, rho = 4.0, 0.3, 0.1, 0.7, (2.0, 1.2)
    units = [closed_forms.reference(alpha, beta, lam, r, eta, chi=True) for r in rho]
    assert all(u["phase"] == "learning" for u in units)
    for u in units:
        chihat = np.linalg.inv([[u["chi_Q"], u["chi_R"]], [u["chi_R"], u["chi_E"]]])
        u.update(chihat_Q=chihat[0, 0], chihat_R=chihat[0, 1], chihat_E=chihat[1, 1])

    def diag(name):
        return np.diag([u[name] for u in units])[:, :, None]

    mats = {k: diag(k) for k in ("Q", "R", "E", "m", "d", "chihat_Q", "chihat_R",
                                 "chihat_E")}
    z = system22.pack(mats)
    params = {"alpha": alpha, "beta": beta, "lam": lam, "rho_1": rho[0], "rho_2": rho[1],
              "eta": eta}
    F = system22.residual(z, params)
    assert np.max(np.abs(F)) < 1e-10
    f = system22.free_energy(z, params)[0]
    assert f == pytest.approx(sum(u["free_energy"] for u in units), rel=1e-12, abs=1e-12)
    obs = system22.observables(z, params)
    for name in ("eg", "rate"):
        assert obs[name][0] == pytest.approx(sum(u[name] for u in units), rel=1e-12), name
    for k in (1, 2):
        assert obs[f"D_{k}"][0] == pytest.approx(units[k - 1]["D"], rel=1e-12)
    # the distortion: test_generated_distortion_of_two_features_follows_the_convention


def test_generated_distortion_of_two_features_follows_the_convention(system22):
    """The generated two-feature distortion at the assembled closed-form state of
    :func:`test_block_diagonal_state_of_two_units_is_a_saddle_point` is the sum of the
    units' distortions (tests/closed_forms.py), each less its (rho_k + eta)/2 of the
    (N - M*) eta / 2 convention."""
    import closed_forms

    alpha, beta, lam, eta, rho = 4.0, 0.3, 0.1, 0.7, (2.0, 1.2)
    units = [closed_forms.reference(alpha, beta, lam, r, eta) for r in rho]
    mats = {k: np.diag([u[k] for u in units])[:, :, None] for k in ("Q", "R", "E", "m", "d")}
    mats["Y"] = np.eye(4)[:, :, None]  # the distortion does not depend on the precision
    z = system22.pack(mats)
    params = {"alpha": alpha, "beta": beta, "lam": lam, "rho_1": rho[0], "rho_2": rho[1],
              "eta": eta}
    got = system22.observables(z, params)["distortion"][0]
    assert got == pytest.approx(sum(u["distortion"] for u in units), rel=1e-12)


def test_matrices_and_pack_are_inverse(system22):
    rng = np.random.default_rng(3)
    z, mats = random_state(system22, 4, rng)
    back = system22.matrices(z, {"alpha": 1, "beta": 0.5, "lam": 0, "rho_1": 1, "rho_2": 2,
                                 "eta": 1})
    assert np.array_equal(system22.pack(back), z)
    for name in ("Q", "R", "E", "m", "d", "Y"):
        assert np.allclose(back[name], mats[name])
    assert np.allclose(back["D"][0, 0], 0.5 / (0.5 + mats["Q"][0, 0]))
    assert back["D"][0, 1].max() == 0


def test_bad_arguments_name_the_parameter(system22):
    z = np.zeros((28, 2))
    with pytest.raises(ValueError, match="params is missing"):
        system22.free_energy(z, {"alpha": 1.0})
    with pytest.raises(ValueError, match="first axis"):
        system22.free_energy(np.zeros((8, 2)), [1] * 6)
    with pytest.raises(ValueError, match="expected 6"):
        system22.residual(z, [1.0] * 5)
    with pytest.raises(ValueError, match="backend"):
        LinearVAE(2, 2).numeric(backend="mpmath")


def test_three_units_one_feature_residual_is_the_gradient():
    system = LinearVAE(3, 1).numeric()
    rng = np.random.default_rng(4)
    z, mats = random_state(system, 1, rng)
    p = random_params(system, 1, rng)
    assert system.free_energy(z, p)[0] == pytest.approx(
        design_free_energy(mats, p, 3, 1)[0], rel=1e-11)
    F = system.residual(z, p)
    n, h = len(z), 1e-5
    zs = np.concatenate([z + h * np.eye(n)[:, [i]] for i in range(n)]
                        + [z - h * np.eye(n)[:, [i]] for i in range(n)], axis=1)
    fs = system.free_energy(zs, [np.repeat(v, 2 * n) for v in p])
    assert np.allclose(F[:, 0], (fs[:n] - fs[n:]) / (2 * h), rtol=1e-7, atol=1e-7)


def test_shipped_systems_load_without_sympy():
    code = ("import sys\n"
            "from symrep.model import LinearVAE\n"
            f"for M, Ms in {SHIPPED!r}:\n"
            "    s = LinearVAE(M, Ms).numeric()\n"
            "    assert s.unknowns\n"
            "assert 'sympy' not in sys.modules, 'sympy imported'\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr


def test_regenerating_the_one_unit_module_gives_the_same_bytes():
    from symrep.numeric.generated_system import _source

    assert _source(LinearVAE()) == shipped_module_path(1, 1).read_text()


@pytest.mark.slow
@pytest.mark.parametrize("size", [s for s in SHIPPED if s != (1, 1)])
def test_regenerating_the_shipped_modules_gives_the_same_bytes(size):
    from symrep.numeric.generated_system import _source

    assert _source(LinearVAE(*size)) == shipped_module_path(*size).read_text()


def test_models_not_shipped_are_generated_into_the_cache(monkeypatch, tmp_path):
    """A model outside SHIPPED is generated once, then read from the checksummed cache."""
    from symrep.numeric import generated_system as gs

    monkeypatch.setenv("SYMREP_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(gs, "SHIPPED", ())
    gs._system.cache_clear()
    try:
        system = LinearVAE(1, 2).numeric()
        files = list(tmp_path.glob("linear_vae_M1_Mstar2_*.py"))
        assert len(files) == 1
        assert system.parameters == ("alpha", "beta", "lam", "rho_1", "rho_2", "eta")
        rng = np.random.default_rng(5)
        z, mats = random_state(system, 3, rng)
        p = random_params(system, 3, rng)
        assert np.allclose(system.free_energy(z, p), design_free_energy(mats, p, 1, 2),
                           rtol=1e-11)
    finally:
        gs._system.cache_clear()


def test_names_are_the_models_and_layout_only_applies_them():
    from symrep.models import DEFAULT_MODEL, MODELS, default_model
    from symrep.numeric.layout import rho_names, unknown_layout, unknown_names

    assert default_model() == LinearVAE() and default_model(2, 2) == LinearVAE(2, 2)
    assert MODELS[DEFAULT_MODEL] is LinearVAE
    # the names every shipped module was generated with, typed here
    assert LinearVAE().unknown_names == ("Q", "R", "E", "m", "d", "chihat_Q", "chihat_R",
                                         "chihat_E")
    assert LinearVAE().parameter_names == ("alpha", "beta", "lam", "rho", "eta")
    assert LinearVAE(3, 1).parameter_names == ("alpha", "beta", "lam", "rho", "eta")
    assert LinearVAE(3, 1).unknown_names[:2] == ("Q_11", "Q_12")
    assert LinearVAE(1, 2).unknown_names[:4] == ("Q_11", "R_11", "E_11", "m_11")
    assert LinearVAE(1, 2).parameter_names[3:5] == ("rho_1", "rho_2")
    # positions do not depend on the names
    assert ([(e.matrix, e.row, e.col) for e in unknown_layout(1, 1, plain=True)]
            == [(e.matrix, e.row, e.col) for e in unknown_layout(1, 1)])
    assert unknown_names(1, 1)[0] == "Q_11"
    with pytest.raises(ValueError, match="plain"):
        unknown_layout(2, 1, plain=True)
    with pytest.raises(ValueError, match="Mstar"):
        rho_names(2, plain=True)


def test_generated_system_reads_its_names_from_the_module():
    system = LinearVAE(2, 2).numeric()
    rng = np.random.default_rng(5)
    z, mats = random_state(system, 4, rng)
    params = dict(zip(system.parameters, random_params(system, 4, rng), strict=True))
    out = system.observables(z, params)
    # eg of docs/model.md: the best of the two assignments of units to features
    rho = np.array([params["rho_1"], params["rho_2"]])
    S = np.sqrt(rho)[None, :, :] * np.abs(mats["m"])  # (unit, feature, point)
    best = np.maximum(S[0, 0] + S[1, 1], S[0, 1] + S[1, 0])
    expected = rho.sum(axis=0) + mats["Q"][0, 0] + mats["Q"][1, 1] - 2 * best
    np.testing.assert_allclose(out["eg"], expected, rtol=1e-12)
