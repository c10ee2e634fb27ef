"""The generated functions compiled to machine code (symrep.numeric.compiled) against the
generated NumPy module they are built from.

Independent reference: the NumPy module evaluated in long double (the same expressions,
about three more digits), and the solver run with the NumPy module (SYMREP_COMPILED=0)
in a separate process.
"""

import json
import subprocess
import sys

import numpy as np
import pytest
from rounding import running_error_bound

from symrep.numeric import compiled as cp
from symrep.numeric.system import generated
from symrep.numeric.unit_map import unit_functions
from symrep.solvers.units import stationary_points

pytestmark = pytest.mark.skipif(not cp.available(),
                                reason="symengine with its LLVM backend is not installed")

MODULES = {"saddle_point": lambda: generated("numpy"), "unit_map": lambda: unit_functions("numpy")}
FUNCTIONS = [(m, name) for m, load in MODULES.items() for name in sorted(vars(load()))
             if callable(getattr(load(), name)) and not name.startswith("_")
             and getattr(load(), name).__module__ == load().__name__]


def _pair(module, name):
    numpy_module = MODULES[module]()
    return getattr(cp.compiled(numpy_module), name), getattr(numpy_module, name)


def _rows(out):
    return np.array(np.broadcast_arrays(*out)) if isinstance(out, (tuple, list)) else \
        np.asarray(out)[None]


@pytest.fixture(scope="module")
def physical_states():
    """Unknowns and parameters of every stationary state at 400 random points of the
    acceptance box (13 rows: the saddle-point functions' arguments)."""
    rng = np.random.default_rng(11)
    m = 400

    def log_uniform(lo, hi):
        return np.exp(rng.uniform(np.log(lo), np.log(hi), m))

    params = (log_uniform(0.01, 100), log_uniform(0.01, 10),
              np.where(rng.random(m) < 0.2, 0.0, rng.uniform(0, 5, m)),
              log_uniform(0.1, 10), log_uniform(0.1, 10))
    columns = []
    for state in stationary_points(*params):
        ok = state["ok"]
        columns.append(np.concatenate([state["z"][:, ok], np.stack([p[ok] for p in params])]))
    return np.concatenate(columns, axis=1)


def test_every_generated_function_is_compiled():
    assert {m for m, _ in FUNCTIONS} == set(MODULES)
    for module, name in FUNCTIONS:
        fast, _ = _pair(module, name)
        assert isinstance(fast, cp._Compiled), name


@pytest.mark.parametrize("name", ["free_energy", "residual", "residual_jacobian",
                                  "observables"])
def test_as_accurate_as_the_numpy_code_at_stationary_states(name, physical_states):
    """Within float64 rounding of the same expressions at every stationary state."""
    fast, slow = _pair("saddle_point", name)
    _within_rounding(fast, slow, list(physical_states))


@pytest.fixture(scope="module")
def fixed_points():
    """Arguments of the unit-map functions by name, at attracting fixed points of the map
    (random units of the acceptance box), each moved by 1e-3 relative: where the
    solver's Newton steps evaluate them."""
    from symrep.solvers.units import attracting_fixed_point, ridge

    rng = np.random.default_rng(1)
    n = 3000

    def log_uniform(lo, hi):
        return np.exp(rng.uniform(np.log(lo), np.log(hi), n))

    alpha, beta, eta, rho = (log_uniform(0.01, 100), log_uniform(0.01, 10),
                             log_uniform(0.1, 10), log_uniform(0.1, 10))
    lam = np.where(rng.random(n) < 0.2, 0.0, rng.uniform(0, 5, n))
    s, Q = log_uniform(0.1, 50), log_uniform(1e-6, 10)
    y = Q + beta
    c, kappa = ridge(s, y, alpha, lam)
    Y, ok = attracting_fixed_point(y, c, alpha, lam, eta)
    Y = Y[:, ok] * (1 + 1e-3 * rng.normal(size=(3, ok.sum())))
    values = dict(chihat_Q=Y[0], chihat_R=Y[1], chihat_E=Y[2], y=y, c=c, alpha=alpha,
                  lambda_=lam, eta=eta, rho=rho, beta=beta, Q=Q, kappa=kappa,
                  sigma=eta * np.sqrt(alpha))
    return {k: (v if k.startswith("chihat") else v[ok]) for k, v in values.items()}


@pytest.mark.parametrize("name", [n for m, n in FUNCTIONS if m == "unit_map"])
def test_unit_map_as_accurate_as_the_numpy_code_near_fixed_points(name, fixed_points):
    """Within float64 rounding of the same expressions where the Newton steps run."""
    import inspect

    fast, slow = _pair("unit_map", name)
    # the generated arguments are named a<k>_<name>
    names = [a.split("_", 1)[1] for a in inspect.signature(slow).parameters]
    _within_rounding(fast, slow, [fixed_points["lambda_" if a == "lambda" else a]
                                  for a in names])


def _within_rounding(fast, slow, x):
    """Both codes' errors against the long-double evaluation, point by point and output
    by output, within the running error bound of the NumPy program (tests/rounding.py:
    the rounding float64 arithmetic and the condition of the expressions allow there,
    whatever the processor). The NumPy code must meet the bound itself (it is a
    first-order bound of exactly that program; the factor 1.05 leaves room for the
    second-order terms and the long-double reference's own rounding). The compiled code
    evaluates the same expressions in another order (symengine's canonical sums, LLVM's
    scheduling, fused multiply-adds where the processor has them), which changes the
    first-order bound by at most a few roundings of the same terms: factor 4. The same
    NaN pattern in both (logs and square roots of negatives)."""
    with np.errstate(all="ignore"):
        reference = _rows(slow(*(np.asarray(v).astype(np.longdouble) for v in x)))
        _, bound = running_error_bound(slow, *x)
        err_numpy, err_fast = (np.abs(_rows(f(*x)) - reference) for f in (slow, fast))
    assert np.array_equal(np.isnan(err_fast), np.isnan(err_numpy))
    finite = ~np.isnan(err_numpy)
    tiny = np.finfo(float).tiny  # exact zeros on both sides
    assert np.all(err_numpy[finite] <= 1.05 * bound[finite] + tiny), \
        float(np.max(err_numpy[finite] / (bound[finite] + tiny)))
    ratio = err_fast[finite] / (bound[finite] + tiny)
    assert np.all(ratio <= 4), (float(np.max(ratio)), int(np.sum(ratio > 4)))


@pytest.mark.parametrize(("module", "name"), FUNCTIONS)
def test_same_nans_dtypes_and_shapes_as_the_numpy_code(module, name):
    fast, slow = _pair(module, name)
    nargs = fast._nargs
    rng = np.random.default_rng(5)
    x = rng.normal(size=(nargs, 600)) * 3
    x[:, :300] = np.abs(x[:, :300]) + 0.1
    with np.errstate(all="ignore"):
        want = _rows(slow(*x))
    got = _rows(fast(*x))
    assert got.shape == want.shape and got.dtype == np.float64
    # the same NaN and infinity pattern (logs and square roots of negatives); the values
    # at random arguments, far from any state, are too ill-conditioned to compare
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.array_equal(np.isinf(got), np.isinf(want))
    # long double in, long double out
    assert _rows(fast(*x[:, :300].astype(np.longdouble))).dtype == np.longdouble
    # scalars, broadcasting of scalar parameters, two-dimensional and empty batches
    first = [float(v) for v in x[:, 0]]
    assert _rows(fast(*first)).shape == _rows(slow(*first)).shape
    assert np.allclose(_rows(fast(*first)), _rows(slow(*first)), rtol=1e-12, atol=1e-12)
    mixed = [x[0, :300], *first[1:]]
    assert _rows(fast(*mixed)).shape == _rows(slow(*mixed)).shape
    square = [v[:300].reshape(20, 15) for v in x]
    assert _rows(fast(*square)).shape == _rows(slow(*square)).shape
    empty = [np.zeros(0)] * nargs
    assert _rows(fast(*empty)).shape == _rows(slow(*empty)).shape


@pytest.mark.parametrize(("module", "name"), FUNCTIONS)
def test_stacked_outputs_are_the_broadcast_outputs(module, name):
    """compiled.stacked: one array (n_outputs, *shape) with the values of the function's
    outputs broadcast to the arguments' shape, for the compiled and the NumPy function,
    whatever the arguments (scalars, a scalar among arrays, 2-D, integers, empty)."""
    fast, slow = _pair(module, name)
    nargs = fast._nargs
    rng = np.random.default_rng(8)
    x = np.abs(rng.normal(size=(nargs, 40))) + 0.5
    cases = {"columns": list(x), "scalars": [float(v) for v in x[:, 0]],
             "mixed": [x[0], *(float(v) for v in x[1:, 0])],
             "2-D": [v.reshape(5, 8) for v in x],
             "integers": [np.arange(2, 6) + k for k in range(nargs)],
             "empty": [np.zeros(0)] * nargs}
    for case, args in cases.items():
        shape = np.broadcast_shapes(*(np.shape(a) for a in args))
        for function in (fast, slow):
            with np.errstate(all="ignore"):
                out = function(*args)
                got = cp.stacked(function, *args)
            out = out if isinstance(out, (tuple, list)) else (out,)
            want = np.array([np.broadcast_to(o, shape) for o in out])
            assert got.shape == want.shape, (case, function)
            # the same numbers: the function's own outputs, only stacked
            assert np.array_equal(got, want, equal_nan=True), (case, function)


@pytest.mark.parametrize("name", ["free_energy", "residual", "residual_jacobian",
                                  "observables"])
def test_long_double_as_accurate_at_stationary_states(name, physical_states):
    """The extended-precision steps: compiled long double against NumPy's long double."""
    from symrep.solvers.units import equation_scale

    fast, slow = _pair("saddle_point", name)
    x = physical_states.astype(np.longdouble)
    want = _rows(slow(*x))
    got = _rows(fast(*x))
    assert got.dtype == np.longdouble
    # relative to the size of the terms that cancel (residuals at a root are ~1e-15 of
    # them): long-double rounding, 1e-19 of each term, summed over a few hundred
    scale = equation_scale(physical_states[:8], *physical_states[8:]) + np.abs(want)
    # the values are what the extended-precision checks rely on; the Jacobian only sets
    # the direction of a step, so float64-level agreement is all it needs
    assert np.max(np.abs(got - want) / scale) < (1e-15 if name == "residual_jacobian"
                                                 else 1e-16)


def test_switched_off_by_the_environment(monkeypatch):
    module = generated("numpy")
    monkeypatch.setenv("SYMREP_COMPILED", "0")
    assert not cp.available()
    assert cp.compiled(module) is module


def test_solver_gives_the_numbers_of_the_numpy_code():
    """A curve and random points solved in a process without the compiled code."""
    code = """
import json, numpy as np
from symrep.solvers.saddle_point import solve_arrays
rng = np.random.default_rng(3)
n = 60
pts = (np.exp(rng.uniform(np.log(0.01), np.log(100), n)), np.exp(rng.uniform(-4, 2, n)),
       np.where(rng.random(n) < 0.3, 0.0, rng.uniform(0, 5, n)),
       np.exp(rng.uniform(-2, 2, n)), np.exp(rng.uniform(-2, 2, n)))
curve = (np.geomspace(0.01, 100, 200), 0.5, 0.0, 1.0, 1.0)
out = {}
for label, args in (("points", pts), ("curve", curve)):
    r = solve_arrays(*args)
    out[label] = {k: np.asarray(r[k]).tolist() for k in ("Q", "m", "eg", "free_energy", "phase")}
print(json.dumps(out))
"""
    env = {"SYMREP_COMPILED": "0", "PATH": ""}
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=300)
    assert ran.returncode == 0, ran.stderr
    slow = json.loads(ran.stdout)
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PATH": ""}, timeout=300)
    assert ran.returncode == 0, ran.stderr
    fast = json.loads(ran.stdout)
    for label in ("points", "curve"):
        assert fast[label]["phase"] == slow[label]["phase"], label
        for key in ("Q", "m", "eg", "free_energy"):
            a, b = np.array(fast[label][key]), np.array(slow[label][key])
            assert np.allclose(a, b, rtol=1e-11, atol=1e-11), (label, key)


def test_modules_and_functions_that_cannot_be_compiled_run_as_numpy_code(caplog):
    from symrep.numeric.codegen import _exec_source

    # a call symengine does not have (the models with several units invert matrices)
    inverse = _exec_source("import numpy\n\ndef f(a0_x):\n    return [numpy.linalg.inv(a0_x)]\n",
                           "_test_inverse")
    assert cp.compiled(inverse) is inverse
    # a function whose compilation fails: its NumPy code, with a warning, once
    module = _exec_source("import numpy\n\ndef g(a0_x, a1_y):\n    return [a0_x + a1_y]\n",
                          "_test_broken")
    fast = cp.compiled(module).g
    fast._expressions = lambda: 1 / 0
    with caplog.at_level("WARNING", logger="symrep.numeric.compiled"):
        assert np.array_equal(fast(np.ones(3), 2.0)[0], np.full(3, 3.0))
        assert np.array_equal(fast(np.ones(3), 1.0)[0], np.full(3, 2.0))
    assert sum("could not be compiled" in r.message for r in caplog.records) == 1
