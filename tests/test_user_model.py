"""A model written in the user's own file: derivation, solved phases, training.

The model file is written to a temporary folder and imported from there, as a
researcher's would be: symrep is not edited. Two models:

- ``PlainVAE``: the linear VAE re-declared as a user model. Its theory through the
  generic route (generated from its objective, solved by damped Newton from perturbed
  starts) must equal :func:`symrep.solve` (the unit-map solver) to 1e-10.
- ``DecoderDecay``: weight decay on the decoder only, lam/2 ||W||^2 = N lam/2 tr Q.
  Checked against a closed form (below) and against a direct numerical minimisation
  at finite N.

The closed form of ``DecoderDecay`` (M = M* = 1). With u = W.x/sqrt(N), v = W~.x/sqrt(N)
and S = sum_mu x x^T / N, the objective is quadratic in W~ with no decay on it:
-W^T S W~ + (Q + beta) W~^T S W~ / 2, minimised by W~ = W/(Q + beta) (plus any part in
the null space of S, which changes nothing; the minimum-norm one has E = Q/(Q+beta)^2).
D = beta/(beta + Q) makes the KL and trace terms (P beta/2) log(1 + Q/beta). With
W = sqrt(N Q) w, |w| = 1, the objective per N less sum ||x||^2/(2N) is

    f(Q, w) = -Q w^T S w / (2 (Q + beta)) + (alpha beta/2) log(1 + Q/beta) + lam Q/2,

minimised by the top eigenvector of S (eigenvalue s); f'(Q) = 0 is
lam y^2 + alpha beta y - s beta = 0 with y = Q + beta, one positive root, Q = max(y - beta,
0). As N -> infinity (Baik-Ben Arous-Peche, gamma = 1/alpha): s = alpha (rho + eta)
(1 + gamma eta/rho) with squared overlap (1 - gamma eta^2/rho^2)/(1 + gamma eta/rho) with
the feature when rho/eta > sqrt(gamma); otherwise s = alpha eta (1 + sqrt(gamma))^2 and
no overlap. m = sqrt(Q) |overlap|, R = Q/(Q+beta), d = m/(Q+beta).
"""

import importlib.util
import math
import sys
import textwrap

import numpy as np
import pytest

import symrep
from symrep.errors import SolverError
from symrep.model import LinearVAE

MODEL_FILE = textwrap.dedent('''
    """A researcher's models, outside symrep."""
    from symrep.models.base import ReplicaModel
    from symrep.solvers.generic import linear_vae_starts


    class DecoderDecay(ReplicaModel):
        """The linear VAE with weight decay on the decoder only."""

        def regularizer(self):
            s = self.symbols()
            return s.lam * s.Q.trace() / 2


    class PlainVAE(ReplicaModel):
        """The linear VAE itself, solved by the generic route from perturbed starts."""

        perturbation = 0.03

        def theory_starts(self, params):
            import numpy as np

            rng = np.random.default_rng(1)
            return [z * (1 + self.perturbation * rng.standard_normal(z.shape))
                    for z in linear_vae_starts(self.M, self.Mstar, params)]


    class NoStarts(ReplicaModel):
        """A model that declares no start: the solver must say what to declare."""

        def theory_starts(self, params):
            return []


    class FixedVariance(ReplicaModel):
        """Encoder variance held at 1: D cannot be eliminated by the derivation."""

        def per_sample_objective(self):
            import sympy as sp

            s = self.symbols()
            return super().per_sample_objective().xreplace({s.D[0, 0]: sp.Integer(1)})
''')


@pytest.fixture(scope="module")
def user_module(tmp_path_factory):
    folder = tmp_path_factory.mktemp("user_models")
    path = folder / "my_models.py"
    path.write_text(MODEL_FILE)
    spec = importlib.util.spec_from_file_location("my_models", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["my_models"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("my_models", None)


def decoder_decay_closed_form(alpha, beta, lam, rho, eta):
    """The N -> infinity optimum of DecoderDecay (module docstring)."""
    gamma = 1 / alpha
    if rho / eta > math.sqrt(gamma):
        s = alpha * (rho + eta) * (1 + gamma * eta / rho)
        overlap2 = (1 - gamma * eta**2 / rho**2) / (1 + gamma * eta / rho)
    else:
        s = alpha * eta * (1 + math.sqrt(gamma)) ** 2
        overlap2 = 0.0
    return _profile_minimum(s, overlap2, alpha, beta, lam)


def _profile_minimum(s, overlap2, alpha, beta, lam):
    if lam == 0:
        y = s / alpha
    else:
        y = (-alpha * beta + math.sqrt((alpha * beta) ** 2 + 4 * lam * s * beta)) / (2 * lam)
    Q = max(y - beta, 0.0)
    m = math.sqrt(Q * overlap2)
    f = -Q * s / (2 * (Q + beta)) + alpha * beta / 2 * math.log1p(Q / beta) + lam * Q / 2
    return {"Q": Q, "m": m, "E": Q / (Q + beta) ** 2, "R": Q / (Q + beta),
            "d": m / (Q + beta), "free_energy": f}


def _box(n, seed):
    """Points of a moderate box, away from the transitions (where they are close)."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        a, b, lam = rng.uniform(0.3, 4), rng.uniform(0.1, 3), rng.uniform(0.05, 2)
        rho, eta = rng.uniform(0.5, 2), rng.uniform(0.5, 1.5)
        bbp = alpha_rho = a * rho**2 / eta**2
        if abs(bbp - 1) < 0.1:
            continue
        if alpha_rho > 1:
            s = a * (rho + eta) * (1 + eta / (a * rho))
        else:
            s = a * eta * (1 + math.sqrt(1 / a)) ** 2
        if abs(s / (b * (a + lam)) - 1) < 0.05:  # collapse threshold
            continue
        out.append((a, b, lam, rho, eta))
    return np.array(out).T


def test_the_user_model_is_its_own_theory(user_module):
    model = user_module.DecoderDecay()
    assert model.name == "decoder-decay"
    assert model.key == "decoder_decay_M1_Mstar1"
    assert model.theory_model() is model
    assert model.theory_parameters({"beta": 1.0}) == {"beta": 1.0}
    assert model.objective_scale({}) == 1.0
    assert model != LinearVAE()  # the caches of the derivation tell the two apart


def test_derivation_reads_the_users_regularizer(user_module, tmp_path):
    import sympy as sp

    from symrep.derive import write_derivations
    from symrep.replica.saddle_point import precision_form

    model = user_module.DecoderDecay()
    s = model.symbols()
    f = precision_form(model).free_energy
    # the weight decay enters f as lam tr(Q)/2 only: no lam E term
    assert sp.simplify(sp.diff(f, s.lam) - s.Q[0, 0] / 2) == 0
    linear = precision_form(LinearVAE()).free_energy
    assert sp.simplify(sp.diff(linear, s.lam) - (s.Q[0, 0] + s.E[0, 0]) / 2) == 0
    paths = write_derivations(tmp_path / "tex", model=model)
    text = {p.name: p.read_text() for p in paths}
    assert "main.tex" in text
    free = text["08_free_energy.tex"]
    assert r"\frac{Q \lambda}{2}" in free
    assert r"E \lambda" not in free


def test_linear_vae_through_the_generic_route_equals_symrep_solve(user_module):
    """36 points of a moderate box, from starts perturbed by 3 %: to 1e-10."""
    model = user_module.PlainVAE()
    a, b, lam, rho, eta = _box(36, seed=0)
    got = model.theory_solver().solve_arrays(a, b, lam, rho, eta)
    ref = symrep.solvers.solve_arrays(a, b, lam, rho, eta)
    assert got["converged"].all()
    np.testing.assert_array_equal(got["phase"], ref["phase"])
    assert set(ref["phase"]) == {0, 1, 2}  # every phase is in the box
    for name in ("Q", "R", "E", "m", "d", "free_energy", "eg", "rate", "distortion", "D"):
        np.testing.assert_allclose(got[name], ref[name], rtol=0, atol=1e-10, err_msg=name)
    # the precision matrix of the collapsed point is not unique (any solution of its three
    # equations gives f = 0); elsewhere it is
    live = ref["phase"] > 0
    for name in ("chihat_Q", "chihat_R", "chihat_E"):
        np.testing.assert_allclose(got[name][live], ref[name][live], rtol=0, atol=1e-10,
                                   err_msg=name)


def test_decoder_decay_against_its_closed_form(user_module):
    model = user_module.DecoderDecay()
    a, b, lam, rho, eta = _box(30, seed=1)
    got = model.theory_solver().solve_arrays(a, b, lam, rho, eta)
    phases = set()
    for k in range(a.size):
        want = decoder_decay_closed_form(a[k], b[k], lam[k], rho[k], eta[k])
        flat = {n for n in ("E", "d") if got[f"undetermined_{n}"][k]}
        for name, value in want.items():
            if name not in flat:
                assert got[name][k] == pytest.approx(value, abs=1e-9), (name, k)
        phase = 2 if want["m"] > 0 else 1 if want["Q"] > 0 else 0
        assert got["phase"][k] == phase
        phases.add(phase)
        # without decay on the encoder its part outside the span of the data is free
        # for alpha < 1: a flat direction, which the solver reports
        if a[k] > 1:
            assert not flat, k
        elif phase == 2:
            assert flat == {"E", "d"}, k
    assert phases == {0, 1, 2}
    assert (a < 1).sum() >= 3


def test_decoder_decay_phase_diagram(user_module):
    """The phases of a small grid against the closed form."""
    model = user_module.DecoderDecay()
    alpha, beta = np.array([0.5, 0.9, 1.2, 3.0]), np.array([0.3, 1.5, 3.5])
    pd = model.theory_solver().phase_diagram(alpha, beta, 0.5, 1.0, 1.0, boundaries=False)
    for j, b in enumerate(beta):
        for i, a in enumerate(alpha):
            want = decoder_decay_closed_form(a, b, 0.5, 1.0, 1.0)
            assert pd.phase[j, i] == (2 if want["m"] > 0 else 1 if want["Q"] > 0 else 0)
    assert set(np.unique(pd.phase)) == {0, 1, 2}
    assert pd.data["Q"].shape == (4, 3)


@pytest.mark.slow
def test_decoder_decay_phase_diagram_boundaries(user_module):
    """A small grid: the collapse line beta = s/(alpha + lam) and the BBP line (5 s)."""
    model = user_module.DecoderDecay()
    lam, rho, eta = 0.5, 1.0, 1.0
    pd = model.theory_solver().phase_diagram(np.linspace(0.4, 3.0, 5),
                                             np.linspace(0.3, 4.0, 5), lam, rho, eta,
                                             boundary_tol=1e-7)
    assert pd.phase.shape == (5, 5)
    assert set(np.unique(pd.phase)) == {0, 1, 2}
    collapse = pd.boundaries["learning|regularized"]
    for a, b in collapse:
        s = a * (rho + eta) * (1 + eta / (a * rho))
        assert b == pytest.approx(s / (a + lam), rel=1e-6)
    bbp = pd.boundaries["learning|overfitting"]
    assert np.allclose(bbp[:, 0], eta**2 / rho**2, rtol=1e-6)


def test_decoder_decay_closed_form_is_the_finite_n_optimum():
    """The closed form's finite-N version equals a direct minimisation (L-BFGS)."""
    from scipy.optimize import minimize

    from symrep.simulate import sample_scm

    N, alpha, beta, lam, rho, eta = 120, 2.0, 0.5, 0.3, 1.5, 1.0
    P = int(alpha * N)
    for seed in (0, 1):
        X, W0 = sample_scm(P, N, rho, eta, seed=seed)
        S = X.T @ X / N

        def objective(theta, X=X, S=S):
            W, Wt, logD = theta[:N], theta[N:2 * N], theta[2 * N]
            D = math.exp(logD)
            Q = W @ W / N
            u, v = X @ W / math.sqrt(N), X @ Wt / math.sqrt(N)
            L = (np.sum(-2 * u * v + v * v * Q) / 2 + P * Q * D / 2
                 + beta * (P * (D - 1 - logD) + v @ v) / 2 + lam * (W @ W) / 2)
            SW, SWt = S @ W, S @ Wt
            gW = -SWt + (Wt @ SWt) * W / N + P * D * W / N + lam * W
            gWt = -SW + Q * SWt + beta * SWt
            gD = (P * Q * D + beta * P * (D - 1)) / 2
            return L / N, np.concatenate([gW, gWt, [gD]]) / N

        rng = np.random.default_rng(seed)
        theta0 = np.concatenate([rng.standard_normal(2 * N), [0.0]])
        res = minimize(objective, theta0, jac=True, method="L-BFGS-B",
                       options={"maxiter": 20000, "gtol": 1e-10, "ftol": 1e-15})
        W, Wt = res.x[:N], res.x[N:2 * N]
        w, V = np.linalg.eigh(S)
        overlap2 = (V[:, -1] @ W0[:, 0] / math.sqrt(N)) ** 2
        want = _profile_minimum(w[-1], overlap2, alpha, beta, lam)
        assert res.fun == pytest.approx(want["free_energy"], rel=1e-8)
        assert W @ W / N == pytest.approx(want["Q"], rel=1e-5)
        assert abs(W @ W0[:, 0]) / N == pytest.approx(want["m"], rel=1e-4)
        assert Wt @ W / N == pytest.approx(want["R"], rel=1e-5)


def test_no_start_converging_says_what_to_declare(user_module):
    solver = user_module.NoStarts().theory_solver()
    with pytest.raises(SolverError, match="theory_starts") as err:
        solver.solve(2.0, 0.5, 1.0)
    assert err.value.diagnostics["parameters"]["alpha"] == 2.0


def test_an_objective_the_derivation_cannot_take_is_a_value_error(user_module):
    with pytest.raises(ValueError, match="adding_a_model"):
        user_module.FixedVariance().numeric()


def test_one_point_result(user_module):
    r = user_module.DecoderDecay().theory_solver().solve(2.0, 0.5, 1.0)
    want = decoder_decay_closed_form(2.0, 0.5, 1.0, 1.0, 1.0)
    assert r.phase == "learning" and r.unit_phases == ("learning",)
    assert r.m == pytest.approx(want["m"], abs=1e-10)
    assert r.free_energy == pytest.approx(want["free_energy"], abs=1e-10)
    assert {root["phase"] for root in r.roots} >= {"learning", "overfitting"}
    assert r.as_dict()["model"] == "decoder-decay"
    with pytest.raises(ValueError, match="alpha"):
        user_module.DecoderDecay().theory_solver().solve(-1.0, 0.5, 1.0)


def test_training_reaches_the_finite_n_optimum(user_module):
    """L-BFGS on the model's SymPy objective printed to torch (symrep.simulate)."""
    from symrep.simulate import sample_scm, train_model

    N, alpha, beta, lam, rho, eta = 80, 2.0, 0.5, 0.3, 1.5, 1.0
    X, W0 = sample_scm(int(alpha * N), N, rho, eta, seed=3)
    r = train_model(X, W0, beta, lam, rho, eta, model=user_module.DecoderDecay(), seed=0)
    w, V = np.linalg.eigh(X.T @ X / N)
    want = _profile_minimum(w[-1], (V[:, -1] @ W0[:, 0]) ** 2 / N, alpha, beta, lam)
    assert r.converged
    assert r.free_energy == pytest.approx(want["free_energy"], rel=1e-8)
    for name in ("Q", "m", "R", "E", "d"):
        assert abs(getattr(r, name)) == pytest.approx(want[name], rel=1e-5), name


@pytest.mark.slow
def test_the_notebook_runs(tmp_path, monkeypatch):
    """notebooks/user_defined_model.py, start to finish, in a fresh kernel (10 s), and
    what it shows.

    The fast suite runs it with the other notebooks in one kernel
    (tests/test_notebooks.py); this checks its outputs: the kernel is this interpreter
    (a kernel spec on a private JUPYTER_PATH), the working folder a temporary one.
    """
    import json
    from pathlib import Path

    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    spec = tmp_path / "jupyter" / "kernels" / "symrep-user-model"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "symrep", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    jupytext = pytest.importorskip("jupytext")
    path = Path(__file__).resolve().parent.parent / "notebooks" / "user_defined_model.py"
    nb = jupytext.read(path)
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="symrep-user-model",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert any("image/png" in o.get("data", {}) for o in outputs)
    text = "".join(o.get("text", "") for o in outputs)
    assert r"\frac{Q \lambda}{2}" in text
    assert "decoder decay: learning, m = 0.5173" in text


def test_layers_ask_the_model_for_its_solver(user_module):
    """symrep.solve and phase_diagram call the model's solver; solve_arrays and sweeps,
    whose results need fields only the linear VAE's solver gives, refuse the model
    instead of solving the linear VAE in its place."""
    model = user_module.DecoderDecay()
    want = decoder_decay_closed_form(2.0, 0.5, 1.0, 1.0, 1.0)
    r = symrep.solve(2.0, 0.5, 1.0, model=model)
    assert r.m == pytest.approx(want["m"], abs=1e-10) and r.model == "decoder-decay"
    pd = symrep.phase_diagram([1.5, 3.0], [0.3, 4.0], lam=1.0, model=model,
                              boundaries=False)
    assert pd.model == "decoder-decay" and pd.phase[0, 0] == 2
    from symrep.solvers import solve_arrays

    with pytest.raises(ValueError, match="brings its own solver"):
        solve_arrays(2.0, 0.5, 1.0, model=model)
    with pytest.raises(ValueError, match="brings its own solver"):
        symrep.sweep(alpha=np.array([2.0, 3.0]), beta=0.5, lam=1.0, model=model)
    with pytest.raises(ValueError, match="M = 2"):
        symrep.solve(2.0, 0.5, 1.0, M=2, model=model)


@pytest.mark.slow
def test_two_units_of_decoder_decay(user_module):
    """M = 2, M* = 1 (40 s: 18 s to generate the code, 18 s to solve). Without decay on
    the encoder the units decouple along the eigenvectors of S: the first takes the top
    eigenvalue (the feature's), the second the edge of the bulk, each with the one-unit
    profile of the module docstring."""
    model = user_module.DecoderDecay(M=2, Mstar=1)
    alpha, beta, lam, rho, eta = 3.0, 0.5, 0.5, 1.0, 1.0
    r = symrep.solve(alpha, beta, lam, rho, eta, model=model)
    first = decoder_decay_closed_form(alpha, beta, lam, rho, eta)
    edge = _profile_minimum(alpha * eta * (1 + math.sqrt(1 / alpha)) ** 2, 0.0, alpha, beta,
                            lam)
    assert r.unit_phases == ("learning", "overfitting")
    assert r.Q[0, 0] == pytest.approx(first["Q"], abs=1e-9)
    assert r.Q[1, 1] == pytest.approx(edge["Q"], abs=1e-9)
    assert abs(r.Q[0, 1]) < 1e-9 and abs(r.m[1, 0]) < 1e-9
    assert r.m[0, 0] == pytest.approx(first["m"], abs=1e-9)
    assert r.free_energy == pytest.approx(first["free_energy"] + edge["free_energy"],
                                          abs=1e-9)
