"""Mutation check of the fast test suite: every deliberate small bug must fail some test.

Each mutant is a text replacement (file, old, new) in symrep, applied to a temporary copy
of the repository; the fast tests that guard the mutated quantity then run there (with
the ``ci`` hypothesis profile, so that the outcome is reproducible) and the failing ones
are reported. A mutant that fails no test *survived*, and the script exits with status 1.

The copy gets its own code cache (``SYMREP_CACHE_DIR``), seeded with the generated code of
the unmutated sources: a mutant of the symbolic code regenerates it there, never in the
cache of the working tree.

Usage, from the root of the repository::

    .venv/bin/python tests/mutants/run_mutants.py            # all mutants
    .venv/bin/python tests/mutants/run_mutants.py --list     # their names
    .venv/bin/python tests/mutants/run_mutants.py sampler_sqrt_rho_over_N d_factor_2
    .venv/bin/python tests/mutants/run_mutants.py --tests-from REV   # the tests of a
        # git revision instead (whole files), to see which mutants an older suite missed

This file is not collected by pytest (its name does not start with ``test_``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Mutant:
    """One deliberate bug: replace ``old`` (which must occur once) by ``new`` in ``path``."""

    name: str
    path: str
    old: str
    new: str
    tests: tuple
    what: str


MUTANTS = (
    # (i) the data sampler's scaling
    Mutant("sampler_sqrt_rho_over_N", "symrep/simulate/data.py",
           "return np.sqrt(rho / N)", "return np.sqrt(rho) / N",
           ("tests/test_simulate_model.py", "tests/test_simulate_exact.py",
            "tests/test_solver.py::test_phases_agree_with_the_exact_optimum"),
           "sample_scm: sqrt(rho/N) -> sqrt(rho)/N"),
    Mutant("sampler_rho_over_N", "symrep/simulate/data.py",
           "return np.sqrt(rho / N)", "return rho / N",
           ("tests/test_simulate_model.py", "tests/test_simulate_exact.py",
            "tests/test_solver.py::test_phases_agree_with_the_exact_optimum"),
           "sample_scm: sqrt(rho/N) -> rho/N"),
    Mutant("torch_sampler_sqrt_rho_over_N", "symrep/simulate/data.py",
           "(r / N) ** 0.5 * (c @ W0t.T)", "r ** 0.5 / N * (c @ W0t.T)",
           ("tests/test_simulate_model.py", "tests/test_simulate_train.py"),
           "sample_scm_torch: sqrt(rho/N) -> sqrt(rho)/N"),
    # (ii) the D the solver reports
    Mutant("d_factor_2_in_evaluate", "symrep/solvers/latent_units.py",
           'out["D"] = beta[:, None] / (beta[:, None] + Q_diag)',
           'out["D"] = beta[:, None] / (beta[:, None] + 2 * Q_diag)',
           ("tests/test_solver.py", "tests/test_asymptotics.py"),
           "the solver's D = beta/(beta + Q) -> beta/(beta + 2Q)"),
    Mutant("d_constant_in_evaluate", "symrep/solvers/latent_units.py",
           'out["D"] = beta[:, None] / (beta[:, None] + Q_diag)',
           'out["D"] = 0.95 * beta[:, None] / (beta[:, None] + Q_diag)',
           ("tests/test_solver.py", "tests/test_asymptotics.py"),
           "the solver's D -> 0.95 D"),
    # (iii) the measured-phase rule of the figures
    Mutant("phase_cos_floor", "symrep/figures/core.py",
           "def measured_phase(result, q_floor=1e-6, cos_floor=0.25):",
           "def measured_phase(result, q_floor=1e-6, cos_floor=0.3):",
           ("tests/test_figures.py",), "measured_phase: cos_floor 0.25 -> 0.3"),
    Mutant("phase_comparison", "symrep/figures/core.py",
           'return "learning" if abs(m) / math.sqrt(Q) > cos_floor else "overfitting"',
           'return "learning" if abs(m) / math.sqrt(Q) >= cos_floor else "overfitting"',
           ("tests/test_figures.py",), "measured_phase: > -> >="),
    Mutant("phase_q_floor", "symrep/figures/core.py",
           "def measured_phase(result, q_floor=1e-6, cos_floor=0.25):",
           "def measured_phase(result, q_floor=1e-4, cos_floor=0.25):",
           ("tests/test_figures.py",), "measured_phase: q_floor 1e-6 -> 1e-4"),
    # tests with teeth: the quantity each rewritten test guards, broken once
    Mutant("sign_fix_inverted", "symrep/simulate/observables.py",
           "    sign = np.where(top < 0, -1.0, 1.0)", "    sign = np.where(top > 0, -1.0, 1.0)",
           ("tests/test_asymptotics.py::test_invariance_under_sign_flip_of_the_weights",
            "tests/test_simulate_exact.py"),
           "observables: the unit sign fix picks m <= 0"),
    Mutant("objective_variance_term", "symrep/model.py",
           "(s.Q * s.D).trace()) / 2", "s.D.trace()) / 2",
           ("tests/test_replica_steps.py::test_per_sample_objective_is_the_model_objective",),
           "per-sample objective: tr((W^T W/N) D) -> D"),
    Mutant("kl_posterior_formula", "symrep/observables.py",
           "moments[0, 0] / a**2", "moments[0, 0] / a",
           ("tests/test_solver.py::test_float64_agrees_with_mpmath_to_1e_10",
            "tests/test_solver.py::test_solver_equals_the_random_matrix_optimum"),
           "kl_posterior: E[u^2]/(1+Q)^2 -> E[u^2]/(1+Q) (shared by solver and mpmath)"),
    Mutant("rate_formula", "symrep/observables.py",
           "return (D + moments[1, 1] - 1 - sp.log(D)) / 2",
           "return (D + moments[1, 1] - 1 + sp.log(D)) / 2",
           ("tests/test_asymptotics.py::"
            "test_solver_in_the_large_alpha_regime_agrees_with_the_expansion",),
           "rate: -log D -> +log D (shared by solver and the large-alpha expansion)"),
    Mutant("distortion_formula", "symrep/observables.py",
           "rho + eta - 2 * moments[0, 1]", "rho + eta - 2.2 * moments[0, 1]",
           ("tests/test_asymptotics.py::"
            "test_population_distortion_decreases_with_beta_in_the_overfitting_phase",),
           "distortion: -2 <uv> -> -2.2 <uv>"),
    Mutant("training_moments", "symrep/observables.py",
           "(sp.eye(2) + eta * X * K).inv()", "(sp.eye(2) + rho * X * K).inv()",
           ("tests/test_solver.py::test_solver_equals_the_random_matrix_optimum",),
           "training moments: eta -> rho (invisible at rho = eta = 1)"),
    Mutant("figure_theory_ignores_rho_eta", "symrep/figures/core.py",
           "theory_cache[tkey] = solve(**p)",
           'theory_cache[tkey] = solve(p["alpha"], p["beta"], p["lam"])',
           ("tests/test_figures.py::test_simulation_rows_have_theory_and_both_methods",),
           "figure rows: the theory at rho = eta = 1 whatever the point's"),
    # (iv) M latent units and M* features
    Mutant("sampler_strengths_swapped", "symrep/simulate/data.py",
           "signal = scale * (c @ W0.T) if np.ndim(scale) == 0 else (c * scale) @ W0.T",
           "signal = scale * (c @ W0.T) if np.ndim(scale) == 0 else (c * scale[::-1]) @ W0.T",
           ("tests/test_simulate_units.py",),
           "sample_scm: rho_k attached to the features in reverse order"),
    Mutant("torch_sampler_strengths", "symrep/simulate/data.py",
           "signal = (c * (strengths / N).sqrt()) @ W0t.T",
           "signal = (c * (strengths.mean() / N).sqrt()) @ W0t.T",
           ("tests/test_simulate_units.py",),
           "sample_scm_torch: every feature with the mean strength"),
    Mutant("exact_units_norms_reversed", "symrep/simulate/exact.py",
           "W = V * np.sqrt(N * Q)[None, :]", "W = V * np.sqrt(N * Q[::-1])[None, :]",
           ("tests/test_simulate_units.py",),
           "exact_minimum (M > 1): the unit norms on the wrong eigenvectors"),
    Mutant("units_gradient_beta_offdiagonal", "symrep/simulate/model.py",
           "(Q + beta[:, :, None] * eye)", "(Q + beta[:, :, None])",
           ("tests/test_simulate_units.py",),
           "trainer gradient (M > 1): beta added to every entry of Q"),
    Mutant("unit_eg_worst_assignment", "symrep/simulate/observables.py",
           "linear_sum_assignment(gain, maximize=True)",
           "linear_sum_assignment(gain, maximize=False)",
           ("tests/test_simulate_units.py",),
           "eg (M > 1): the worst assignment of units to features"),
    Mutant("unit_distortion_constant", "symrep/simulate/observables.py",
           "rho.sum() + rho.size * eta", "rho.sum() + eta",
           ("tests/test_simulate_units.py",),
           "distortion (M > 1): subtracts (N - 1) eta / 2 instead of (N - M*) eta / 2"),
    Mutant("unit_kl_posterior_mean", "symrep/simulate/observables.py",
           "diag(Suu) / np.array([x**2 for x in a.tolist()])", "diag(Suu) / a",
           ("tests/test_simulate_units.py",),
           "kl_posterior: posterior mean u instead of (I + Q)^{-1} u"),
    Mutant("unit_phase_feature_index", "symrep/simulate/observables.py",
           'f"learning feature {k + 1}"', 'f"learning feature {k}"',
           ("tests/test_simulate_units.py",), "unit phases: features counted from 0"),
    # (v) real data
    Mutant("mp_fit_rank", "symrep/realdata/spectrum.py",
           "n_nonzero = min(N, P - 1)", "n_nonzero = min(N, P)",
           ("tests/test_realdata_spectrum.py",),
           "estimate_spectrum (MP fit): rank of the centred covariance min(N, P) for P < N"),
    # (vi) the grid store
    Mutant("store_done_before_data", "symrep/grid/store.py",
           "        rows = self._write_values(group, i, task, record)",
           "        group[\"done\"][i] = True\n"
           "        rows = self._write_values(group, i, task, record)",
           ("tests/test_grid.py::test_write_cut_off_at_any_step_is_never_read_as_done",),
           "RecordStore.write: the done flag written before the record's data"),
    # (vii) the command line's one-line contract
    Mutant("cli_keeps_newlines", "symrep/cli.py",
           'text = " ".join(str(exc).split())', "text = str(exc)",
           ("tests/test_cli.py::test_a_multi_line_error_message_is_one_stderr_line",),
           "_one_line: the error line keeps the newlines of the message"),
    # (viii) the solver's Newton iteration
    Mutant("polish_line_search_off", "symrep/solvers/units.py",
           "for t in (1.0, 0.5, 0.25, 0.1, 0.03):", "for t in (1.0,):",
           ("tests/test_solver.py::test_polish_damps_a_newton_step_that_overshoots",),
           "polish: the Newton line search switched off (full steps only)"),
)

_SKIP = shutil.ignore_patterns(".git", ".venv", ".ci-venv", "__pycache__", ".pytest_cache",
                               ".ruff_cache", ".hypothesis", "results", "site", "*.egg-info",
                               ".symrep-cache")


def _cache_dir():
    env = os.environ.get("SYMREP_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "symrep"


def _prepare(workdir, tests_from):
    tree = Path(workdir) / "repo"
    shutil.copytree(ROOT, tree, ignore=_SKIP)
    if tests_from:
        shutil.rmtree(tree / "tests")
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", tests_from, "tests"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    cache = Path(workdir) / "cache"
    cache.mkdir()
    if _cache_dir().is_dir():
        for f in _cache_dir().glob("*.py"):
            shutil.copy2(f, cache / f.name)
    return tree, cache


def _run_tests(tree, cache, tests, profile=True):
    env = dict(os.environ, PYTHONPATH=str(tree), SYMREP_CACHE_DIR=str(cache), MPLBACKEND="Agg")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow",
           "-rfE", *(["--hypothesis-profile=ci"] if profile else []), *tests]
    out = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    text = out.stdout + out.stderr
    failed = sorted(set(re.findall(r"^(?:FAILED|ERROR) (\S+)", text, flags=re.M)))
    ran = re.search(r"(\d+) passed", text)
    return out.returncode, failed, text, ran


def _selection(mutant, tests_from):
    if not tests_from:
        return list(mutant.tests)
    return sorted({t.split("::")[0] for t in mutant.tests})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="mutants to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--tests-from", metavar="REV",
                        help="run the tests of this git revision (whole files)")
    args = parser.parse_args(argv)
    if args.list:
        for m in MUTANTS:
            print(f"{m.name:32s} {m.path}: {m.what}")
        return 0
    chosen = [m for m in MUTANTS if not args.names or m.name in args.names]
    unknown = set(args.names) - {m.name for m in MUTANTS}
    if unknown:
        parser.error(f"unknown mutants: {', '.join(sorted(unknown))}")
    rows, survived = [], []
    with tempfile.TemporaryDirectory(prefix="symrep-mutants-") as workdir:
        tree, cache = _prepare(workdir, args.tests_from)
        if args.tests_from:  # mutants of code newer than that suite have no tests there
            missing = [m for m in chosen if not all((tree / t).exists()
                                                    for t in _selection(m, True))]
            for m in missing:
                print(f"{m.name}: skipped, its tests do not exist in {args.tests_from}",
                      file=sys.stderr)
            chosen = [m for m in chosen if m not in missing]
        selections = {t for m in chosen for t in _selection(m, args.tests_from)}
        profile = not args.tests_from  # older suites have no profiles
        rc, failed, text, _ = _run_tests(tree, cache, sorted(selections), profile)
        if rc != 0:
            print(text[-3000:])
            print("the selected tests fail without any mutant: nothing to measure", file=sys.stderr)
            return 2
        for m in chosen:
            target = tree / m.path
            source = target.read_text()
            if source.count(m.old) != 1:
                raise SystemExit(f"{m.name}: {m.old!r} occurs {source.count(m.old)} times "
                                 f"in {m.path}")
            target.write_text(source.replace(m.old, m.new))
            start = time.perf_counter()
            try:
                rc, failed, text, _ = _run_tests(tree, cache, _selection(m, args.tests_from),
                                                 profile)
            finally:
                target.write_text(source)
            seconds = time.perf_counter() - start
            if not failed and rc != 0:  # collection error or similar: it did not pass
                failed = [f"(pytest exit status {rc})"]
            if not failed:
                survived.append(m.name)
            rows.append((m, failed, seconds))
            print(f"{m.name}: {'caught by ' + str(len(failed)) if failed else 'SURVIVED'} "
                  f"({seconds:.0f} s)", file=sys.stderr, flush=True)
    print("| mutant | change | caught by |")
    print("|---|---|---|")
    for m, failed, _ in rows:
        caught = "<br>".join(f"`{f}`" for f in failed) if failed else "**survived**"
        print(f"| `{m.name}` | {m.path}: {m.what} | {caught} |")
    if survived:
        print(f"\n{len(survived)} mutant(s) survived: {', '.join(survived)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
