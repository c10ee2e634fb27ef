"""Measure every time that the README, the docs and the help texts state.

Each measurement is one thing a user runs (a point, a curve, a phase diagram, a command
of the README or the docs); the script times it and writes one table into
``docs/benchmarks.md`` (between the markers of its section, "Stated times"), with the
wall time, the CPU time (this process and its children, workers included) and the load
of the host while it ran. The statements in the README, the docs and ``--help`` quote
this table or refer to it.

The in-process measurements (``point``, ``curve``, ``phase_diagram``) time the public
functions after a warm-up; the others run the command line in a fresh process, in a
scratch folder, with the code cache of the installation (``cold_start`` and every name
ending in ``_cold`` with an empty one). Each time is the minimum of ``--repeat`` runs
(``point`` and ``curve`` always run at least 20 and 5 times): on a shared host the
minimum is the measurement least inflated by other work.

Usage, from the root of the clone::

    python benchmarks/stated_times.py                      # the default set (see --list)
    python benchmarks/stated_times.py --only derive --only point --repeat 3
    python benchmarks/stated_times.py --only figures_full  # the long runs: only by name

``--only`` measures a subset; the other rows of the table are kept as they were (the
table carries its rows as JSON in a comment). ``--no-write`` prints the table only.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- stated_times: begin -->", "<!-- stated_times: end -->"
ROWS = re.compile(r"<!-- stated_times rows: (.*?) -->", re.S)
SYMREP = [sys.executable, "-m", "symrep"]

log = logging.getLogger("stated_times")

#: The code blocks of docs/quickstart.md that state their time.
SYMBOLIC = """
from symrep import asymptotics
from symrep.replica import rs_free_energy

f = rs_free_energy()
print(sorted(str(s) for s in f.free_symbols))
print(asymptotics.collapse_threshold())
print(asymptotics.optimal_beta_expansion()[0])
print(asymptotics.rd_limit_difference())
"""
FINITE_N = """
from symrep.simulate import sample_scm, exact_minimum, train

X, W0 = sample_scm(P=2000, N=1000, rho=1.0, eta=1.0, seed=0)
ex = exact_minimum(X, W0, beta=0.5, lam=1.0)
tr = train(X, W0, beta=0.5, lam=1.0, seed=0)
print(f"exact: eg = {ex.eg:.4f}   trained (L-BFGS): eg = {tr.eg:.4f}")
"""

#: name -> (what, where it is stated, how: a command line or an in-process function name,
#: runs by default). Commands run in a scratch folder; OUT is replaced by a new folder.
MEASUREMENTS = {
    "point": ("one point, `symrep.solve(2, 0.5, 1)`, warm",
              "docs/index.md", "inprocess", True),
    "curve": ("1000-point alpha curve, `symrep.sweep` (beta = 0.5, lam = 1)",
              "docs/index.md", "inprocess", True),
    "phase_diagram": ("256 x 256 phase diagram with boundaries, `symrep.phase_diagram`",
                      "docs/index.md", "inprocess", True),
    "boundary": ("collapse threshold with its derivatives at 200 values of alpha "
                 "(`symrep boundary`'s work; stated per point)",
                 "`boundary --help`, docs/cli.md", "inprocess", True),
    "startup": ("`symrep solve --alpha 2 --beta 0.5 --lam 1`: new process, code cache filled",
                "docs/benchmarks.md",
                [*SYMREP, "solve", "--alpha", "2", "--beta", "0.5", "--lam", "1"], True),
    "cold_start": ("the same with an empty code cache (SymPy derives, code generated)",
                   "README.md, docs/quickstart.md, notebooks/README.md",
                   [*SYMREP, "solve", "--alpha", "2", "--beta", "0.5", "--lam", "1"], True),
    "derive": ("`symrep derive --out OUT`", "docs/quickstart.md",
               [*SYMREP, "derive", "--out", "OUT"], True),
    "derive_units": ("`symrep derive --M 2 --Mstar 2 --out OUT`", "docs/quickstart.md",
                     [*SYMREP, "derive", "--M", "2", "--Mstar", "2", "--out", "OUT"], True),
    "symbolic_snippet": ("the quickstart's symbolic snippet (free energy, asymptotics)",
                         "docs/quickstart.md", [sys.executable, "-c", SYMBOLIC], True),
    "finite_n_snippet": ("the quickstart's finite-N snippet (N = 1000, exact and L-BFGS)",
                         "docs/quickstart.md", [sys.executable, "-c", FINITE_N], True),
    "compare_quick": ("`symrep compare --quick --out OUT` (the README's main job)",
                      "README.md, docs/quickstart.md, `compare --help`",
                      [*SYMREP, "compare", "--quick", "--out", "OUT"], True),
    "compare_quick_cold": ("the same with an empty code cache: a first run",
                           "README.md, docs/quickstart.md",
                           [*SYMREP, "compare", "--quick", "--out", "OUT"], True),
    "realdata_quick": ("`symrep realdata --dataset digits --quick --out OUT`",
                       "docs/realdata.md, `realdata --help`",
                       [*SYMREP, "realdata", "--dataset", "digits", "--quick", "--out",
                        "OUT"], True),
    "figures_quick": ("`symrep figures --quick --out OUT` (six figures)",
                      "docs/gallery.md, notebooks/README.md, `figures --help`",
                      [*SYMREP, "figures", "--quick", "--out", "OUT"], True),
    "claims": ("`python docs/claims_numbers.py`", "docs/claims.md",
               [sys.executable, str(ROOT / "docs" / "claims_numbers.py")], True),
    "finite_size": ("`symrep compare --finite-size --out OUT`",
                    "docs/quickstart.md, docs/theory_vs_simulation.md",
                    [*SYMREP, "compare", "--finite-size", "--out", "OUT"], False),
    "realdata_full": ("`symrep realdata --dataset digits --out OUT`",
                      "docs/realdata.md, `realdata --help`",
                      [*SYMREP, "realdata", "--dataset", "digits", "--out", "OUT"], False),
    "figures_full": ("`symrep figures --out OUT` (N = 1000, 5 seeds)",
                     "docs/gallery.md, notebooks/README.md, `figures --help`",
                     [*SYMREP, "figures", "--out", "OUT"], False),
}

#: Repeats at least, whatever --repeat says (they take milliseconds).
MIN_REPEAT = {"point": 20, "curve": 5}


def _cpu():
    """CPU seconds of this process and of its children that have ended."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _inprocess(name):
    import numpy as np

    import symrep

    if name == "point":
        return lambda: symrep.solve(alpha=2.0, beta=0.5, lam=1.0)
    if name == "boundary":
        from symrep.solvers.collapse_threshold import collapse_threshold_arrays

        alpha = np.geomspace(2, 1000, 200)
        return lambda: collapse_threshold_arrays(alpha, 1.0, 1.0, 1.0)
    if name == "curve":
        alpha = np.linspace(0.1, 5, 1000)
        return lambda: symrep.sweep(alpha=alpha, beta=0.5, lam=1.0)
    alpha, beta = np.linspace(0.05, 6, 256), np.linspace(0.02, 3, 256)
    return lambda: symrep.phase_diagram(alpha, beta)


def _run_command(name, argv, scratch):
    out = Path(tempfile.mkdtemp(dir=scratch, prefix=f"{name}."))
    env = dict(os.environ, MPLBACKEND="Agg")
    if name == "cold_start" or name.endswith("_cold"):
        env["SYMREP_CACHE_DIR"] = tempfile.mkdtemp(dir=scratch, prefix="cache.")
    argv = [str(out / "result") if a == "OUT" else a for a in argv]
    proc = subprocess.run(argv, cwd=out, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"{name}: {' '.join(argv)} exited {proc.returncode}: {tail[0]}")


def measure(name, repeat, scratch):
    """``dict(wall_s, cpu_s, load, runs)``: the run of least wall time of ``repeat``."""
    _, _, how, _ = MEASUREMENTS[name]
    repeat = max(repeat, MIN_REPEAT.get(name, 1))
    if how == "inprocess":
        call = _inprocess(name)
        call()  # warm-up: imports, generated code, compilation
    best = None
    for k in range(repeat):
        load = os.getloadavg()[0]
        cpu, start = _cpu(), time.perf_counter()
        if how == "inprocess":
            call()
        else:
            _run_command(name, how, scratch)
        wall, cpu = time.perf_counter() - start, _cpu() - cpu
        load = max(load, os.getloadavg()[0])
        log.info("%s: run %d of %d, %.3g s wall, %.3g s CPU, load %.1f", name, k + 1, repeat,
                 wall, cpu, load)
        if best is None or wall < best["wall_s"]:
            best = dict(wall_s=wall, cpu_s=cpu, load=load)
    return dict(best, runs=repeat, date=time.strftime("%Y-%m-%d"))


def _seconds(s):
    if s < 1:
        return f"{s * 1e3:.3g} ms"
    if s < 120:
        return f"{s:.3g} s"
    return f"{s:.0f} s ({s / 60:.1f} min)"


def table(rows):
    cores = os.cpu_count()
    lines = [
        "`.venv/bin/python benchmarks/stated_times.py` (`--only NAME` for some rows; the "
        "long runs `finite_size`, `realdata_full`, `figures_full` only when named)",
        "",
        f"Host: {platform.machine()}, {cores} cores, Python {platform.python_version()}. "
        "Wall: the least of the runs; CPU: that run's CPU time, of this process and its "
        "children (workers included); load: the host's 1-minute load average during it "
        f"({cores} = every core busy). Where the load exceeds {cores}, other work "
        "shared the host and the wall time is inflated by that much; the CPU time is the "
        "better guide to an idle host then.",
        "",
        "| name | measurement | stated in | wall | CPU | load | runs | date |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for name in MEASUREMENTS:
        if name not in rows:
            continue
        what, where, _, _ = MEASUREMENTS[name]
        r = rows[name]
        lines.append(f"| `{name}` | {what} | {where} | {_seconds(r['wall_s'])} | "
                     f"{_seconds(r['cpu_s'])} | {r['load']:.1f} | {r['runs']} | "
                     f"{r['date']} |")
    lines.append("")
    lines.append(f"<!-- stated_times rows: {json.dumps(rows, sort_keys=True)} -->")
    return "\n".join(lines)


def write_doc(rows):
    from symrep.io import atomic_write_text

    text = DOC.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{DOC}: the markers {BEGIN} and {END} are missing")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    atomic_write_text(DOC, f"{head}{BEGIN}\n{table(rows)}\n{END}{tail}")


def recorded_rows():
    match = ROWS.search(DOC.read_text())
    return json.loads(match.group(1)) if match else {}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="measure only this (repeat for several; see --list)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per measurement; the least wall time is kept")
    parser.add_argument("--list", action="store_true", help="list the measurements")
    parser.add_argument("--no-write", action="store_true",
                        help="print the table, leave docs/benchmarks.md as it is")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="# %(message)s", stream=sys.stderr)
    if args.list:
        for name, (what, where, _, default) in MEASUREMENTS.items():
            print(f"{name:<19} {'default' if default else 'named  '}  {what}  [{where}]")
        return 0
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    names = args.only or [n for n, m in MEASUREMENTS.items() if m[3]]
    unknown = [n for n in names if n not in MEASUREMENTS]
    if unknown:
        parser.error(f"unknown measurement(s) {', '.join(unknown)}; see --list")
    rows = recorded_rows()
    with tempfile.TemporaryDirectory(prefix="stated_times.") as scratch:
        for name in names:
            rows[name] = measure(name, args.repeat, scratch)
            if not args.no_write:  # after each row: an interrupted run keeps the others
                write_doc(rows)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
