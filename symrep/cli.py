"""The ``symrep`` command line (also ``python -m symrep``).

Errors in the input are reported on one line of stderr with exit status 2 and no
traceback, whether argparse finds them (a malformed number) or the validation layer
does (a value out of range). Heavy imports (SymPy, torch) happen inside the handlers,
so that ``symrep --help`` stays fast.
"""

from __future__ import annotations

import argparse
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


class CommandNotImplemented(Exception):
    """Raised by a subcommand that exists in the interface but has no implementation."""


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


def _not_implemented(args):
    raise CommandNotImplemented(f"'symrep {args.command}' is not implemented yet")


def _cmd_solve(args):
    _model_parameters(args)
    return _not_implemented(args)


def _cmd_sweep(args):
    return _not_implemented(args)


def _cmd_phase_diagram(args):
    return _not_implemented(args)


def _cmd_derive(args):
    return _not_implemented(args)


def _cmd_simulate(args):
    _model_parameters(args)
    check_positive_int("N", args.N)
    check_positive_int("seeds", args.seeds)
    return _not_implemented(args)


def _cmd_figures(args):
    return _not_implemented(args)


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
    p.set_defaults(handler=_cmd_sweep)

    p = sub.add_parser("phase-diagram", help="phases on an (alpha, beta) grid, with figure")
    p.set_defaults(handler=_cmd_phase_diagram)

    p = sub.add_parser("derive", help="regenerate the LaTeX derivations")
    p.add_argument("--out", default="derivations", help="output folder")
    p.set_defaults(handler=_cmd_derive)

    p = sub.add_parser("simulate", help="finite-N ground truth: exact optimum or training")
    p.add_argument("--N", type=int, required=True, help="input dimension")
    _add_parameters(p)
    p.add_argument("--seeds", type=int, default=5, help="number of independent data sets")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=_cmd_simulate)

    p = sub.add_parser("figures", help="regenerate the figures of the paper")
    p.add_argument("--out", default="figures", help="output folder")
    p.add_argument("--quick", action="store_true", help="small N and few seeds")
    p.set_defaults(handler=_cmd_figures)
    return parser


def main(argv=None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = f"symrep {args.command}"
    try:
        return int(args.handler(args) or 0)
    except ValueError as exc:
        # Bad input: one line, no traceback, exit status 2 (as argparse does).
        sys.stderr.write(f"{prog}: error: {exc}\n")
        return 2
    except CommandNotImplemented as exc:
        sys.stderr.write(f"{prog}: {exc}\n")
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
