"""Generated code is keyed by everything it comes from, the model's definition included.

A subclass of LinearVAE whose objective counts the KL term twice (beta KL -> 2 beta KL),
defined in a file of its own, must get its own key, its own generated code and its own
numbers. Ground truth, independent of the code under test: the free energy of the
precision form typed below (DESIGN10.md, with the KL weight w as a parameter) and its
derivatives, evaluated with mpmath at 40 digits, and the identity that the subclass at
beta is the linear VAE at 2 beta. An edit of a copy of ``symrep/model.py`` must make
every shipped module stale (the check of tests/test_shipped_code.py).
"""

import importlib.util
import shutil
import sys
import textwrap
from pathlib import Path

import mpmath
import numpy as np
import pytest

from symrep.model import LinearVAE
from symrep.numeric import codegen
from symrep.numeric import generated_system as gs
from symrep.numeric.keys import PACKAGE, class_sources, definition_key, model_code_key
from symrep.numeric.layout import unknown_layout
from symrep.numeric.ship import model_module_keys, rename_shipped, shipped_modules, stale_shipped

DOUBLED_KL = '''
from symrep.model import LinearVAE


class DoubledKLVAE(LinearVAE):
    """The linear VAE with the KL term counted twice: beta KL -> 2 beta KL."""

    def per_sample_objective(self):
        return self.reconstruction_term() + 2 * self.symbols().beta * self.kl_term()
'''


@pytest.fixture
def doubled(tmp_path, monkeypatch):
    """The class DoubledKLVAE, imported from a file in a temporary folder."""
    folder = tmp_path / "user_models"
    folder.mkdir()
    path = folder / "doubled_kl_vae.py"
    path.write_text(textwrap.dedent(DOUBLED_KL))
    name = f"doubled_kl_vae_{abs(hash(str(tmp_path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module.DoubledKLVAE


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("SYMREP_CACHE_DIR", str(cache))
    gs._system.cache_clear()
    yield cache
    gs._system.cache_clear()


# --- ground truth: the precision-form free energy typed in mpmath ---------------------

def typed_free_energy(values, params, M, Ms, w):
    """f of DESIGN10.md with the KL weight w (w = 1: the linear VAE), in mpmath.

    K = [[0, -I], [-I, Q + w beta I]], D_i = w beta/(w beta + Q_ii),
    f = -tr(Y (G - t t^T))/2 + alpha/2 tr((K^{-1} + eta Y^{-1})^{-1} (t P t^T + eta G))
        + lam/2 tr(Q + E) + alpha/2 (tr Q D + w beta (tr D - M - log det D)).
    """
    alpha, beta, lam, *rho, eta = params
    mats = {"Q": mpmath.zeros(M, M), "R": mpmath.zeros(M, M), "E": mpmath.zeros(M, M),
            "m": mpmath.zeros(M, Ms), "d": mpmath.zeros(M, Ms),
            "chihat_Q": mpmath.zeros(M, M), "chihat_R": mpmath.zeros(M, M),
            "chihat_E": mpmath.zeros(M, M)}
    for entry, value in zip(unknown_layout(M, Ms), values, strict=True):
        mats[entry.matrix][entry.row, entry.col] = value
        if entry.symmetric:
            mats[entry.matrix][entry.col, entry.row] = value

    def blocks(a, b, c):
        out = mpmath.zeros(2 * M, 2 * M)
        for i in range(M):
            for j in range(M):
                out[i, j], out[i, M + j] = a[i, j], b[i, j]
                out[M + i, j], out[M + i, M + j] = b[j, i], c[i, j]
        return out

    Q, E = mats["Q"], mats["E"]
    G = blocks(Q, mats["R"], E)
    Y = blocks(mats["chihat_Q"], mats["chihat_R"], mats["chihat_E"])
    t = mpmath.zeros(2 * M, Ms)
    for i in range(M):
        for k in range(Ms):
            t[i, k], t[M + i, k] = mats["m"][i, k], mats["d"][i, k]
    P = mpmath.diag(rho)
    wb = w * beta
    K = blocks(mpmath.zeros(M, M), -mpmath.eye(M), Q + wb * mpmath.eye(M))
    A = mpmath.inverse(mpmath.inverse(K) + eta * mpmath.inverse(Y))

    def tr(X):
        return sum(X[i, i] for i in range(X.rows))

    D = [wb / (wb + Q[i, i]) for i in range(M)]
    weight = sum(Q[i, i] * D[i] + wb * (D[i] - 1 - mpmath.log(D[i])) for i in range(M))
    return (-tr(Y * (G - t * t.T)) / 2 + alpha / 2 * tr(A * (t * P * t.T + eta * G))
            + lam / 2 * tr(Q + E) + alpha / 2 * weight)


def typed_residual(values, params, M, Ms, w):
    """df/dz for every unknown, by mpmath's numerical differentiation at 40 digits."""
    out = []
    for i in range(len(values)):
        def f(x, i=i):
            z = list(values)
            z[i] = x
            return typed_free_energy(z, params, M, Ms, w)
        out.append(mpmath.diff(f, values[i]))
    return out


def random_point(M, Ms, seed):
    """Unknowns with G and Y positive definite, and parameters, as floats."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(2 * M, 2 * M)) * 0.4
    G = A @ A.T + np.eye(2 * M)
    Yr = rng.normal(size=(2 * M, 2 * M)) * 0.3
    Y = Yr @ Yr.T + 2 * np.eye(2 * M)
    mats = {"Q": G[:M, :M], "R": G[:M, M:], "E": G[M:, M:],
            "m": rng.normal(size=(M, Ms)) * 0.5, "d": rng.normal(size=(M, Ms)) * 0.5,
            "chihat_Q": Y[:M, :M], "chihat_R": Y[:M, M:], "chihat_E": Y[M:, M:]}
    z = [float(mats[e.matrix][e.row, e.col]) for e in unknown_layout(M, Ms)]
    params = [float(v) for v in rng.uniform(0.3, 3.0, 3 + Ms + 1)]
    return z, params


def check_numbers(system, linear_system, M, Ms, seed):
    """The subclass's numbers are the typed doubled-KL ones, not the linear VAE's."""
    z, params = random_point(M, Ms, seed)
    zc, pc = np.array(z)[:, None], [np.array([v]) for v in params]
    mpmath.mp.dps = 40
    zm, pm = [mpmath.mpf(v) for v in z], [mpmath.mpf(v) for v in params]
    f_doubled = float(typed_free_energy(zm, pm, M, Ms, 2))
    f_linear = float(typed_free_energy(zm, pm, M, Ms, 1))
    r_doubled = np.array([float(v) for v in typed_residual(zm, pm, M, Ms, 2)])
    r_linear = np.array([float(v) for v in typed_residual(zm, pm, M, Ms, 1)])
    # the two objectives give clearly different numbers at this point
    assert abs(f_doubled - f_linear) > 1e-2 * (1 + abs(f_linear))
    assert np.max(np.abs(r_doubled - r_linear)) > 1e-2 * (1 + np.max(np.abs(r_linear)))

    f = system.free_energy(zc, pc)[0]
    F = system.residual(zc, pc)[:, 0]
    assert f == pytest.approx(f_doubled, rel=1e-11, abs=1e-11)
    assert np.allclose(F, r_doubled, rtol=1e-9, atol=1e-9)
    # the subclass at beta is the linear VAE at 2 beta (the KL weight is all that changed)
    twice = [pc[0], 2 * pc[1], *pc[2:]]
    if linear_system is not None:
        assert linear_system.free_energy(zc, pc)[0] == pytest.approx(f_linear, rel=1e-11,
                                                                     abs=1e-11)
        assert f == pytest.approx(linear_system.free_energy(zc, twice)[0], rel=1e-11)
        assert np.allclose(F, linear_system.residual(zc, twice)[:, 0], rtol=1e-10,
                           atol=1e-10)
    obs = system.observables(zc, pc)
    Q = [z[e_i] for e_i, e in enumerate(unknown_layout(M, Ms))
         if e.matrix == "Q" and e.row == e.col]
    D = [obs["D" if M == Ms == 1 else f"D_{i + 1}"][0] for i in range(M)]
    assert np.allclose(D, [2 * params[1] / (2 * params[1] + q) for q in Q], rtol=1e-13)


# --- keys ----------------------------------------------------------------------------

def test_subclass_in_a_user_file_gets_its_own_keys(doubled):
    path = sys.modules[doubled.__module__].__file__
    assert class_sources(doubled(1, 1)) == (path, str(PACKAGE / "model.py"))
    for M, Ms in ((1, 1), (2, 1), (2, 2)):
        mine, linear = doubled(M, Ms), LinearVAE(M, Ms)
        assert definition_key(mine) != definition_key(linear)
        for jacobian in (True, False):
            assert (model_code_key(mine, jacobian=jacobian, versions=False)
                    != model_code_key(linear, jacobian=jacobian, versions=False))
    # the fields enter the key: another size, another key
    assert definition_key(LinearVAE(1, 1)) != definition_key(LinearVAE(2, 1))


def test_editing_the_users_file_changes_the_key(doubled):
    model = doubled(1, 1)
    path = Path(sys.modules[doubled.__module__].__file__)
    # with a root the files are read afresh (the installed keys are cached per class)
    before = definition_key(model, root=PACKAGE)
    assert before == definition_key(model)
    path.write_text(path.read_text().replace("2 * self.symbols()", "3 * self.symbols()"))
    assert definition_key(model, root=PACKAGE) != before


def test_a_class_without_source_is_refused():
    homeless = type("Homeless", (LinearVAE,), {"__module__": "no_such_module_anywhere"})
    with pytest.raises(ValueError, match="no source file"):
        class_sources(homeless)
    with pytest.raises(ValueError, match="no source file"):
        homeless(1, 1).numeric()


# --- generated code and numbers --------------------------------------------------------

def test_subclass_one_unit_gets_new_code_and_numbers(doubled, empty_cache):
    model = doubled(1, 1)
    system = model.numeric()
    linear = LinearVAE(1, 1).numeric()
    key = model_code_key(model, jacobian=True, versions=False)
    assert system.source_key == key != linear.source_key
    assert linear.source_key == gs.shipped_source_key(1, 1)  # the linear VAE: shipped
    (path,) = empty_cache.glob("linear_vae_M1_Mstar1_*.py")  # generated, not shipped
    assert f"SOURCE_KEY = {key!r}" in path.read_text()
    assert system.has_jacobian
    check_numbers(system, linear, 1, 1, seed=1)
    # the Jacobian is the derivative of the subclass's residual (central differences)
    z, params = random_point(1, 1, 2)
    zc, pc = np.array(z)[:, None], [np.array([v]) for v in params]
    _, J = system.residual_jacobian(zc, pc)
    h = 1e-6
    for j in range(len(z)):
        step = np.zeros((len(z), 1))
        step[j] = h
        column = (system.residual(zc + step, pc) - system.residual(zc - step, pc)) / (2 * h)
        assert np.allclose(J[:, j, 0], column[:, 0], rtol=1e-6, atol=1e-6)


def test_subclass_with_two_units_gets_new_code_and_numbers(doubled, empty_cache,
                                                            monkeypatch):
    # (2, 1) with its Jacobian takes about 20 s of SymPy: without it, about 3 s. The
    # flag is part of the key, so this code is keyed apart from the full module.
    monkeypatch.setattr(gs, "_with_jacobian", lambda model: False)
    model = doubled(2, 1)
    system = model.numeric()
    assert not system.has_jacobian
    key = model_code_key(model, jacobian=False, versions=False)
    assert system.source_key == key
    assert key != model_code_key(LinearVAE(2, 1), jacobian=False, versions=False)
    (path,) = empty_cache.glob("linear_vae_M2_Mstar1_*.py")
    assert f"SOURCE_KEY = {key!r}" in path.read_text()
    check_numbers(system, None, 2, 1, seed=3)


def test_subclass_of_a_shipped_size_does_not_get_the_shipped_code(doubled, empty_cache,
                                                                   monkeypatch):
    """(2, 2) ships for the linear VAE: the subclass's code is generated under its key."""
    asked = []

    def load_or_generate(name, key, build, **kwargs):
        asked.append((name, key() if callable(key) else key))
        raise LookupError("not generated here (minutes)")

    monkeypatch.setattr(codegen, "load_or_generate", load_or_generate)
    assert LinearVAE(2, 2).numeric().source_key == gs.shipped_source_key(2, 2)
    assert asked == []
    with pytest.raises(LookupError):
        doubled(2, 2).numeric()
    ((name, key),) = asked
    assert name == "linear_vae_M2_Mstar2"
    assert key == model_code_key(doubled(2, 2), jacobian=True)
    assert key[:16] != (gs.shipped_source_key(2, 2) or "")[:16]


def test_a_shipped_module_with_a_stale_key_is_not_used(empty_cache, monkeypatch):
    asked = []

    def load_or_generate(name, key, build, **kwargs):
        asked.append(name)
        raise LookupError("not generated here")

    monkeypatch.setattr(codegen, "load_or_generate", load_or_generate)
    monkeypatch.setattr(gs, "shipped_source_key", lambda M, Mstar, folder=None: "0" * 64)
    with pytest.raises(LookupError):
        LinearVAE(2, 2).numeric()
    assert asked == ["linear_vae_M2_Mstar2"]


# --- the shipped modules and an edit of model.py ---------------------------------------

@pytest.fixture
def package_copy(tmp_path):
    root = tmp_path / "symrep"
    shutil.copytree(PACKAGE, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def double_the_kl_term(text):
    """model.py with ``beta KL/2`` -> ``beta KL`` in LinearVAE.per_sample_objective."""
    start = text.index("    def per_sample_objective(self)")
    end = text.index("\n    def ", start + 1)
    body = text[start:end]
    assert body.count("self._twice_kl() / 2") == 1, "the objective moved: update this test"
    return text[:start] + body.replace("self._twice_kl() / 2", "self._twice_kl()") + text[end:]


def test_editing_the_objective_in_model_py_makes_every_shipped_module_stale(package_copy):
    # the copy as it is gives the installed keys and is current
    assert stale_shipped(package_copy) == stale_shipped() == []
    one_unit = {name: key for name, (key, _) in shipped_modules(package_copy).items()}
    models = model_module_keys(package_copy)
    assert one_unit == {name: key for name, (key, _) in shipped_modules().items()}
    assert models == model_module_keys()

    model_py = package_copy / "model.py"
    model_py.write_text(double_the_kl_term(model_py.read_text()))

    edited = {name: key for name, (key, _) in shipped_modules(package_copy).items()}
    for name in one_unit:
        assert edited[name] != one_unit[name], name
    edited_models = model_module_keys(package_copy)
    for size in models:
        assert edited_models[size] != models[size], size
    # what test_every_shipped_module_is_current checks, on the edited copy: it fails
    stale = stale_shipped(package_copy)
    for name in one_unit:
        assert any(line.startswith(f"{name}_") and line.endswith("is missing")
                   for line in stale), (name, stale)
        assert any(line.startswith(f"{name}_") and line.endswith("is stale")
                   for line in stale), (name, stale)
    for M, Ms in models:
        assert any(line.startswith(f"linear_vae_M{M}_Mstar{Ms}.py has SOURCE_KEY")
                   for line in stale), ((M, Ms), stale)


def test_renaming_after_an_edit_makes_the_copy_current(package_copy):
    """``python -m symrep.numeric.ship --rename`` on a copy: the keys are refreshed
    without SymPy."""
    model_py = package_copy / "model.py"
    model_py.write_text(model_py.read_text() + "\n# a comment changes no generated code\n")
    assert stale_shipped(package_copy)
    folder = package_copy / "numeric" / "generated"
    before = {p.name: p.read_text() for p in folder.glob("*.py")}
    written = rename_shipped(log=lambda text: None, root=package_copy)
    assert len(written) == len(shipped_modules()) + len(gs.SHIPPED)
    assert stale_shipped(package_copy) == []
    # the installed package is left alone; the one-unit modules only change names
    assert stale_shipped() == []
    after = {p.name: p.read_text() for p in folder.glob("*.py")}
    assert sorted(v for k, v in after.items() if not k.startswith("linear_vae")) == sorted(
        v for k, v in before.items() if not k.startswith("linear_vae"))
    # only the key line changed in the linear VAE modules
    for M, Ms in gs.SHIPPED:
        new = (folder / f"linear_vae_M{M}_Mstar{Ms}.py").read_text().split("\n")
        old = gs.shipped_module_path(M, Ms).read_text().split("\n")
        assert len(new) == len(old)
        assert [a for a, b in zip(new, old, strict=True) if a != b] == [
            f"SOURCE_KEY = {model_module_keys(package_copy)[M, Ms]!r}"]
