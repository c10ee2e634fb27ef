"""The ``symrep`` command line (also ``python -m symrep``).

Errors in the input are reported on one line of stderr with exit status 2 and no
traceback, whether argparse finds them (a malformed number) or the validation layer
does (a value out of range). Heavy imports (SymPy, torch) happen inside the handlers,
so that ``symrep --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from symrep._version import __version__
from symrep.validation import PARAMETER_RANGES, check_parameters, check_positive_int

__all__ = ["main", "build_parser"]

PARAMETER_HELP = {
    "alpha": "sample complexity P/N",
    "beta": "weight of the KL term",
    "lam": "weight decay",
    "rho": "signal strength",
    "eta": "noise strength",
}


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line on stderr and exit status 2."""

    def error(self, message):
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def _add_parameters(parser, *, required=("alpha", "beta", "lam"), defaults=None):
    """Add --alpha/--beta/--lam/--rho/--eta as floats; the range check happens later."""
    defaults = {"rho": 1.0, "eta": 1.0, **(defaults or {})}
    for name, text in PARAMETER_HELP.items():
        is_required = name in required
        parser.add_argument(
            f"--{name}",
            type=float,
            required=is_required,
            default=None if is_required else defaults.get(name),
            metavar=name.upper(),
            help=f"{text}, in {PARAMETER_RANGES[name]}"
            + ("" if is_required else f" (default {defaults.get(name)})"),
        )


def _model_parameters(args):
    return check_parameters(
        alpha=args.alpha, beta=args.beta, lam=args.lam, rho=args.rho, eta=args.eta
    )


def grid_values(text):
    """Parse a parameter value or grid: ``0.5``, ``0.1,0.5,2``, ``start:stop:num`` (evenly
    spaced) or ``log:start:stop:num`` (log-spaced)."""
    import numpy as np

    try:
        if text.startswith("log:"):
            start, stop, num = text[4:].split(":")
            return np.geomspace(float(start), float(stop), int(num))
        if ":" in text:
            start, stop, num = text.split(":")
            return np.linspace(float(start), float(stop), int(num))
        if "," in text:
            return np.array([float(t) for t in text.split(",")])
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r}: expected a number, a list a,b,c, start:stop:num or "
            "log:start:stop:num") from None


def _add_grid_parameters(parser, defaults):
    for name, text in PARAMETER_HELP.items():
        parser.add_argument(
            f"--{name}", type=grid_values, required=name not in defaults,
            default=defaults.get(name), metavar="VALUES",
            help=f"{text}, in {PARAMETER_RANGES[name]}: a number, a,b,c, start:stop:num or "
            "log:start:stop:num" + (f" (default {defaults[name]})" if name in defaults else ""),
        )


def _cmd_solve(args):
    params = _model_parameters(args)
    from symrep.solvers import solve

    result = solve(**params)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
        return 0
    width = max(len(k) for k in result.as_dict())
    for key, value in result.as_dict().items():
        if isinstance(value, float):
            value = f"{value:.10g}"
        print(f"{key:>{width}}  {value}")
    return 0


def _cmd_sweep(args):
    from symrep.solvers import sweep

    res = sweep(alpha=args.alpha, beta=args.beta, lam=args.lam, rho=args.rho, eta=args.eta,
                errors="mask" if args.keep_going else "raise")
    out = args.out
    if out.endswith(".nc"):
        res.to_netcdf(out)
    elif out.endswith(".csv"):
        res.to_dataframe().to_csv(out)
    else:
        raise ValueError(f"out = {out!r} is invalid: the file name must end in .csv or .nc")
    n = int(res["converged"].size)
    print(f"{out}: {n} points, {int(res['converged'].sum())} converged, "
          f"dimensions {dict(res.sizes)}")
    return 0


def _cmd_phase_diagram(args):
    import numpy as np

    from symrep.solvers import phase_diagram

    for name in ("lam", "rho", "eta"):
        if np.ndim(getattr(args, name)) != 0:
            raise ValueError(f"{name} must be a single value for a phase diagram")
    for name in ("alpha", "beta"):
        if np.ndim(getattr(args, name)) != 1:
            raise ValueError(f"{name} must be a grid (start:stop:num, log:... or a,b,c)")
    import matplotlib

    matplotlib.use("Agg")
    pd = phase_diagram(args.alpha, args.beta, lam=args.lam, rho=args.rho, eta=args.eta)
    fig = pd.plot()
    fig.savefig(args.out, dpi=150)
    if args.data:
        pd.data.to_netcdf(args.data)
    counts = {p: int((pd.labels == p).sum()) for p in ("learning", "overfitting", "regularized")}
    print(f"{args.out}: {pd.phase.size} grid points {counts}, "
          f"boundaries: {', '.join(pd.boundaries) or 'none'}")
    return 0


def _cmd_derive(args):
    from symrep.derive import compile_pdf, write_derivations

    for path in write_derivations(args.out):
        print(path)
    if args.pdf:
        print(compile_pdf(args.out))
    return 0


def _cmd_simulate(args):
    params = _model_parameters(args)
    N = check_positive_int("N", args.N)
    seeds = check_positive_int("seeds", args.seeds)
    from symrep.simulate.experiment import simulate, summarize

    results = simulate(N, **params, seeds=seeds, method=args.method)
    summary = summarize(results)
    if args.json:
        print(json.dumps({
            "params": {**params, "N": N, "P": results[0].params["P"]},
            "method": args.method,
            "runs": [dict(seed=k, **r.as_dict()) for k, r in enumerate(results)],
            "summary": {k: {"mean": m, "sem": e} for k, (m, e) in summary.items()},
        }, indent=2))
        return 0
    cols = ("m", "Q", "eg", "rate", "distortion", "kl_posterior", "free_energy")
    P = results[0].params["P"]
    print(f"# N = {N}, P = {P}, " + ", ".join(f"{k} = {v:g}" for k, v in params.items())
          + f", method = {args.method}")
    print(f"{'seed':>6} " + " ".join(f"{c:>13}" for c in cols) + f" {'converged':>9}")
    for k, r in enumerate(results):
        print(f"{k:>6} " + " ".join(f"{getattr(r, c):>13.6g}" for c in cols)
              + f" {str(r.converged):>9}")
    print(f"{'mean':>6} " + " ".join(f"{summary[c][0]:>13.6g}" for c in cols))
    print(f"{'+-se':>6} " + " ".join(f"{summary[c][1]:>13.2g}" for c in cols))
    return 0


def _cmd_compare(args):
    import csv
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    from symrep.compare import finite_size_study, learning_curve_comparison, markdown_table

    params = check_parameters(lam=args.lam, rho=args.rho, eta=args.eta)
    N = check_positive_int("N", args.N)
    seeds = check_positive_int("seeds", args.seeds)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.quick:
        alphas, betas, methods = [0.4, 1.0, 2.0, 3.0, 4.0], [0.5, 1.5], ("exact", "lbfgs")
    else:
        alphas = [0.2, 0.4, 0.6, 0.8, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0]
        betas, methods = [0.2, 0.5, 1.0, 1.5], ("exact", "lbfgs")

    def progress_line(line):  # when stderr is no terminal (no progress bar there)
        print(f"# {line}", flush=True)

    fig, table = learning_curve_comparison(alphas, betas, **params, N=N, seeds=seeds,
                                           methods=methods, log=progress_line)
    fig.savefig(out / "learning_curve.png", dpi=150)
    with open(out / "learning_curve.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    print(f"{'beta':>5} {'alpha':>6} {'method':>6} {'theory eg':>10} {'N=' + str(N) + ' eg':>18}")
    for r in table:
        print(f"{r['beta']:>5g} {r['alpha']:>6g} {r['method']:>6} {r['theory']:>10.4f} "
              f"{r['mean']:>10.4f} +- {r['sem']:.4f}")
    print(f"figure: {out / 'learning_curve.png'}")
    if args.finite_size:
        rows = finite_size_study(Ns=(500, 1000, 2000, 4000), seeds=8, log=progress_line)
        (out / "finite_size.md").write_text(markdown_table(rows) + "\n")
        print(f"finite-size table: {out / 'finite_size.md'}")
    return 0


def _cmd_figures(args):
    import os
    import tempfile
    from pathlib import Path

    from symrep.figures import FIGURES, check_names

    if args.list:
        for name, spec in FIGURES.items():
            print(f"{name:<24} {spec.title}")
        return 0
    names = check_names(args.only)
    size_name = "quick" if args.quick else "full"
    out = Path(args.out)
    try:  # fail now, not after the simulations
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ValueError(f"out = {args.out!r} is not a writable folder: "
                         f"{exc.strerror or exc}") from None
    import matplotlib

    matplotlib.use("Agg")
    from symrep.figures import generate
    from symrep.figures.core import SIZES

    size = SIZES[size_name]
    if args.N is not None:
        size = size.with_(N=check_positive_int("N", args.N))
    if args.seeds is not None:
        size = size.with_(seeds=check_positive_int("seeds", args.seeds))
    print(f"# {len(names)} figure(s), {size_name} size: N = {size.N}, {size.seeds} seeds, "
          f"methods {', '.join(size.methods)}", flush=True)
    generate(out, names, size, reuse=args.reuse,
             log=lambda line: print(line, flush=True))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Build the ``symrep`` argument parser with all subcommands."""
    parser = _Parser(
        prog="symrep",
        description="Replica theory of the linear beta-VAE on spiked-covariance data: "
        "symbolic derivation, fast saddle-point solver, and simulation.",
    )
    parser.add_argument("--version", action="version", version=f"symrep {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("solve", help="solve the saddle point at one parameter point")
    _add_parameters(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=_cmd_solve)

    p = sub.add_parser("sweep", help="solve on a grid of parameters (CSV or NetCDF out)")
    _add_grid_parameters(p, {"rho": 1.0, "eta": 1.0})
    p.add_argument("--out", required=True, help="output file, .csv or .nc")
    p.add_argument("--keep-going", action="store_true",
                   help="keep points where the solver fails (flagged converged = False)")
    p.set_defaults(handler=_cmd_sweep)

    p = sub.add_parser("phase-diagram", help="phases on an (alpha, beta) grid, with figure")
    _add_grid_parameters(p, {"alpha": "0.05:5:200", "beta": "0.02:3:200", "lam": 1.0,
                             "rho": 1.0, "eta": 1.0})
    p.add_argument("--out", required=True, help="figure file (.png, .pdf, .svg)")
    p.add_argument("--data", default=None, help="also write the grid as NetCDF (.nc)")
    p.set_defaults(handler=_cmd_phase_diagram)

    p = sub.add_parser("derive", help="regenerate the LaTeX derivations")
    p.add_argument("--out", default="derivations", help="output folder")
    p.add_argument("--pdf", action="store_true", help="also compile main.tex with pdflatex")
    p.set_defaults(handler=_cmd_derive)

    p = sub.add_parser("simulate", help="finite-N ground truth: exact optimum or training")
    p.add_argument("--N", type=int, required=True, help="input dimension")
    _add_parameters(p)
    p.add_argument("--seeds", type=int, default=5, help="number of independent data sets")
    p.add_argument("--method", choices=("exact", "lbfgs", "adam"), default="exact",
                   help="exact finite-N optimum, or training with L-BFGS or Adam")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=_cmd_simulate)

    p = sub.add_parser("compare", help="theory curves against finite-N simulation, with figure")
    p.add_argument("--out", default="results", help="output folder")
    p.add_argument("--N", type=int, default=500, help="input dimension of the simulations")
    p.add_argument("--seeds", type=int, default=3, help="data sets per point")
    p.add_argument("--lam", type=float, default=1.0, help="weight decay")
    p.add_argument("--rho", type=float, default=1.0, help="signal strength")
    p.add_argument("--eta", type=float, default=1.0, help="noise strength")
    p.add_argument("--quick", action="store_true", help="fewer points (about a minute)")
    p.add_argument("--finite-size", action="store_true",
                   help="also tabulate theory against the exact optimum at N = 500..4000")
    p.set_defaults(handler=_cmd_compare)

    p = sub.add_parser(
        "figures", help="regenerate the figures of the paper",
        description="Regenerate the figures of the paper: RS theory (lines) against the "
        "exact finite-N optimum and trained models (L-BFGS), mean +- standard error over "
        "seeds (points). Writes OUT/<name>.png, OUT/<name>.pdf and the simulation points "
        "OUT/<name>.csv. "
        "Measured on two CPU cores: --quick (N = 300, 2 seeds) about one minute for all "
        "six figures; the full run (N = 1000, 5 seeds) about 13 minutes.")
    p.add_argument("--out", default="figures", help="output folder")
    p.add_argument("--quick", action="store_true",
                   help="N = 300, 2 seeds, fewer simulation points (about one minute)")
    p.add_argument("--only", action="append", metavar="NAME",
                   help="make only this figure (repeat, or comma-separate; see --list)")
    p.add_argument("--list", action="store_true", help="list the figures and exit")
    p.add_argument("--N", type=int, default=None,
                   help="input dimension of the simulations (default 300 quick, 1000 full)")
    p.add_argument("--seeds", type=int, default=None,
                   help="data sets per point (default 2 quick, 5 full)")
    p.add_argument("--reuse", action="store_true",
                   help="take simulation points from existing OUT/<name>.csv files where "
                   "method, N, seeds and parameters match")
    p.set_defaults(handler=_cmd_figures)
    return parser


#: Exit statuses of the command line (also in ``docs/cli.md``).
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def _one_line(exc: BaseException) -> str:
    """The message of an exception on a single line (stderr carries one line per failure)."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def main(argv=None) -> int:
    """Run the command line; return the exit status.

    Exit statuses: 0 success; 2 bad input (a value out of range, an unusable output
    path, a job too large for the memory or time at hand without ``--force``);
    1 the computation failed (the solver did not converge, out of memory, an error
    while writing); 130 interrupted (Ctrl-C). Every failure is one line on stderr, never
    a traceback; set ``SYMREP_DEBUG=1`` to get the traceback instead.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = f"symrep {args.command}"
    debug = os.environ.get("SYMREP_DEBUG", "") not in ("", "0")
    try:
        return int(args.handler(args) or 0)
    except BrokenPipeError:
        # the reader of the output went away (e.g. `symrep solve --json | head`): not an
        # error; silence the final flush of stdout as well
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        if debug:
            raise
        sys.stderr.write(f"{prog}: interrupted\n")
        return EXIT_INTERRUPTED
    except ValueError as exc:
        # bad input: one line, no traceback, exit status 2 (as argparse does)
        if debug:
            raise
        sys.stderr.write(f"{prog}: error: {_one_line(exc)}\n")
        return EXIT_BAD_INPUT
    except MemoryError:
        if debug:
            raise
        sys.stderr.write(f"{prog}: error: out of memory; use a smaller grid, N or number "
                         "of seeds\n")
        return EXIT_FAILED
    except Exception as exc:  # the contract: one line, never a traceback
        if debug:
            raise
        from symrep.errors import SolverError

        kind = "" if isinstance(exc, SolverError) else f"{type(exc).__name__}: "
        sys.stderr.write(f"{prog}: computation failed: {kind}{_one_line(exc)}\n")
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
