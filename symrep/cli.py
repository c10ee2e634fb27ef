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
import warnings

from symrep._version import __version__

__all__ = ["main", "run", "build_parser"]


# symrep.validation (and NumPy with it) is imported on first use, not with this module:
# the `symrep` script imports this module before main() can catch a Ctrl-C.
def check_parameters(**params):
    """Validate model parameters: :func:`symrep.validation.check_parameters`.

    Parameters
    ----------
    **params
        The values by name (``alpha``, ``beta``, ``lam``, ``rho``, ``eta``).

    Returns
    -------
    dict
        The validated values by name, in the order given.

    Raises
    ------
    ValueError
        For the first invalid value, naming the parameter and its allowed range.
    """
    from symrep.validation import check_parameters as check

    return check(**params)


def check_positive_int(name, value):
    """Validate a positive integer: :func:`symrep.validation.check_positive_int`.

    Parameters
    ----------
    name : str
        The parameter's name, for the message.
    value : object
        The value.

    Returns
    -------
    int
        The value as a Python int.

    Raises
    ------
    ValueError
        If the value is not an integer >= 1.
    """
    from symrep.validation import check_positive_int as check

    return check(name, value)


def _ranges():
    from symrep.validation import PARAMETER_RANGES

    return PARAMETER_RANGES

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


def strengths(text):
    """Parse ``--rho``: one strength (``1.5``) or the strengths of M* features
    (``1.5,0.8``).

    Parameters
    ----------
    text : str
        The argument.

    Returns
    -------
    float or tuple of float
        One strength, or one per feature.

    Raises
    ------
    argparse.ArgumentTypeError
        If an item is not a number.
    """
    try:
        values = tuple(float(t) for t in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r}: expected a number or numbers separated by commas "
            "(one strength per feature)") from None
    return values[0] if len(values) == 1 else values


def _add_parameters(parser, *, required=("alpha", "beta", "lam"), defaults=None):
    """Add --alpha/--beta/--lam/--rho/--eta as floats (--rho: one or several, one per
    feature) and --M; the range checks happen later."""
    defaults = {"rho": 1.0, "eta": 1.0, **(defaults or {})}
    for name, text in PARAMETER_HELP.items():
        is_required = name in required
        parser.add_argument(
            f"--{name}",
            type=strengths if name == "rho" else float,
            required=is_required,
            default=None if is_required else defaults.get(name),
            metavar="RHO[,RHO...]" if name == "rho" else name.upper(),
            help=f"{text}, in {_ranges()[name]}"
            + ("; several, comma-separated: the strengths of M* features"
               if name == "rho" else "")
            + ("" if is_required else f" (default {defaults.get(name)})"),
        )
    _add_units(parser)


def _add_units(parser, default=1):
    parser.add_argument(
        "--M", type=int, default=default, metavar="M",
        help="number of latent units, 1 to 9" + (f" (default {default})" if default else
                                                  " (default: one unit, --rho a grid)"))


def model_name(text):
    """Parse ``--model``: the name of a built-in model (:data:`symrep.models.MODELS`).

    Parameters
    ----------
    text : str
        The argument.

    Returns
    -------
    str
        The name.

    Raises
    ------
    argparse.ArgumentTypeError
        If ``text`` names no built-in model; the message lists the allowed names.
    """
    from symrep.models import MODELS  # no NumPy or SymPy: refused before heavy imports

    if text not in MODELS:
        raise argparse.ArgumentTypeError(
            f"model = {text!r} is invalid: must be one of {', '.join(MODELS)}")
    return text


#: The model of every command unless ``--model`` names another.
DEFAULT_MODEL = "linear-vae"


def _add_model(parser, sizes="--M and the number of --rho strengths set its size"):
    from symrep.models import MODELS

    # default None, shown as linear-vae: without --model a command runs the linear VAE's
    # code as it always did, and its output stays the same byte for byte
    parser.add_argument(
        "--model", type=model_name, default=None, metavar="NAME",
        help=f"the model: {', '.join(MODELS)} (default {DEFAULT_MODEL}; docs/model.md); "
        + sizes)


def _model(args, M=1, Mstar=1):
    """The model ``--model`` names (the linear VAE without it), with M units and M*
    features (ValueError, exit 2, when they are out of range)."""
    from symrep.models import model_from_name

    return model_from_name(args.model or DEFAULT_MODEL, M=M, Mstar=Mstar)


def _chosen_model(args, rho, M=None):
    """``{"model": model}`` for the library call when ``--model`` is given, sized by
    ``M`` (default ``--M``, else 1) and the number of strengths in ``rho``; ``{}``
    without ``--model``."""
    if getattr(args, "model", None) is None:
        return {}
    import numbers

    M = (args.M if M is None else M) or 1
    Mstar = 1 if isinstance(rho, numbers.Real) else len(rho)
    return {"model": _model(args, M=M, Mstar=Mstar)}


def _shown(row: dict) -> dict:
    """A result's entries as the commands print them: the model's name only when it is
    not the default (the default's output is what it was before models had names)."""
    if row.get("model") == DEFAULT_MODEL:
        row = {k: v for k, v in row.items() if k != "model"}
    return row


def _several_units(args) -> bool:
    """Whether the command's output is in matrix notation (not the paper's one unit)."""
    from symrep.solvers.result import paper_notation

    return not paper_notation(args.M, args.rho)


def _model_parameters(args):
    if _several_units(args):
        from symrep.solvers.latent_units import _check_strengths, _check_units

        _check_units(args.M)
        rho = _check_strengths(args.rho, allow_array=False)
        p = check_parameters(alpha=args.alpha, beta=args.beta, lam=args.lam, eta=args.eta)
        return {"alpha": p["alpha"], "beta": p["beta"], "lam": p["lam"], "rho": rho,
                "eta": p["eta"]}
    return check_parameters(
        alpha=args.alpha, beta=args.beta, lam=args.lam, rho=args.rho, eta=args.eta
    )


class Grid:
    """A parsed ``start:stop:num`` or ``log:start:stop:num``: the values are made only
    after the size of the whole grid has been checked against the memory at hand."""

    def __init__(self, start: float, stop: float, num: int, log: bool):
        self.start, self.stop, self.num, self.log = start, stop, num, log

    @property
    def size(self) -> int:
        """The number of values."""
        return self.num

    def values(self):
        """The values of the range.

        Returns
        -------
        ndarray
            ``num`` values from ``start`` to ``stop``, evenly spaced or (``log``) log-spaced.
        """
        import numpy as np

        return (np.geomspace if self.log else np.linspace)(self.start, self.stop, self.num)

    def __repr__(self) -> str:
        return f"{'log:' if self.log else ''}{self.start:g}:{self.stop:g}:{self.num}"


def grid_values(text):
    """Parse a parameter value or grid: ``0.5``, ``0.1,0.5,2``, ``start:stop:num`` (evenly
    spaced) or ``log:start:stop:num`` (log-spaced, start and stop > 0).

    Returns a float, a NumPy array (a list) or a :class:`Grid` (a range, made into values
    by :func:`materialize` once its size is known to fit).

    Parameters
    ----------
    text : str
        The argument.

    Returns
    -------
    float, ndarray or Grid
        One value, a list of values, or a range.

    Raises
    ------
    argparse.ArgumentTypeError
        If ``text`` is none of these forms (``num`` < 1, or start or stop <= 0 for
        ``log:``).
    """
    import numpy as np

    try:
        if text.startswith("log:") or ":" in text:
            log = text.startswith("log:")
            start, stop, num = text[4:].split(":") if log else text.split(":")
            start, stop, num = float(start), float(stop), int(num)
            if num < 1:
                raise ValueError
            if log and not (start > 0 and stop > 0):
                raise ValueError
            return Grid(start, stop, num, log)
        if "," in text:
            return np.array([float(t) for t in text.split(",")])
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r}: expected a number, a list a,b,c, start:stop:num or "
            "log:start:stop:num (num >= 1; for log, start and stop > 0)") from None


def _size(value) -> int:
    """Number of values of a parsed grid argument (1 for a number)."""
    import numpy as np

    return value.size if isinstance(value, Grid) else int(np.size(value))


def materialize(value):
    """The float or array a parsed grid argument stands for.

    Parameters
    ----------
    value : float, ndarray or Grid
        A value returned by :func:`grid_values`.

    Returns
    -------
    float or ndarray
        ``value``, with a :class:`Grid` made into its values.
    """
    return value.values() if isinstance(value, Grid) else value


def _grid_parameters(args, names=("alpha", "beta", "lam", "rho", "eta")):
    """Check the grid arguments (both ends of every range; every value of a list) and
    return them as ``name -> float or array``, ranges not yet made into values."""
    from symrep.validation import check_parameter

    out = {}
    for name in names:
        value = getattr(args, name)
        if isinstance(value, Grid):
            check_parameter(name, value.start)
            check_parameter(name, value.stop)
        else:
            check_parameter(name, value, allow_array=True)
        out[name] = value
    return out


def _add_grid_parameters(parser, defaults, names=tuple(PARAMETER_HELP)):
    for name, text in ((n, PARAMETER_HELP[n]) for n in names):
        parser.add_argument(
            f"--{name}", type=grid_values, required=name not in defaults,
            default=defaults.get(name), metavar="VALUES",
            help=f"{text}, in {_ranges()[name]}: a number, a,b,c, start:stop:num or "
            "log:start:stop:num" + (f" (default {defaults[name]})" if name in defaults else ""),
        )


def _add_phase_parameters(parser):
    """--alpha/--beta grids and --lam/--rho/--eta single numbers (a phase diagram is a
    plane in (alpha, beta))."""
    for name, default in (("alpha", "0.05:5:200"), ("beta", "0.02:3:200")):
        parser.add_argument(
            f"--{name}", type=grid_values, default=default, metavar="GRID",
            help=f"{PARAMETER_HELP[name]}, in {_ranges()[name]}: a grid of at least "
            f"2 values, a,b,c, start:stop:num or log:start:stop:num (default {default})")
    for name in ("lam", "rho", "eta"):
        parser.add_argument(
            f"--{name}", type=strengths if name == "rho" else float, default=1.0,
            metavar="RHO[,RHO...]" if name == "rho" else name.upper(),
            help=f"{PARAMETER_HELP[name]}, in {_ranges()[name]}: one number"
            + (" (several, comma-separated: the strengths of M* features)"
               if name == "rho" else "") + " (default 1.0)")
    _add_units(parser)


def _add_force(parser):
    parser.add_argument(
        "--force", action="store_true",
        help="run even if the estimated memory or time exceeds what is at hand (the "
        "estimate is checked before any work; see docs/cli.md)")


def _add_device(parser):
    parser.add_argument(
        "--device", default=None,
        help="torch device of the trained models: cpu, cuda, cuda:1, ... (default: cuda "
        "if available, else cpu)")


def _device(args):
    """The checked ``--device`` (None: the trainers' default); bad values exit 2."""
    if args.device is None:
        return None
    from symrep.simulate.device import resolve_device

    return str(resolve_device(args.device))


def _add_verbosity(parser, *, default):
    """-v/--verbose and -q/--quiet; after a subcommand (``default`` SUPPRESS) they leave
    the values given before it alone."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-v", "--verbose", action="store_true", default=default,
                       help="log DEBUG lines too (on stderr)")
    group.add_argument("-q", "--quiet", action="store_true", default=default,
                       help="log warnings and errors only; no progress bars")


def _report(line):
    """A ``# `` line of a command's report on stdout (silenced by -q)."""
    import logging

    from symrep.progress import REPORT_LOGGER_NAME

    logging.getLogger(REPORT_LOGGER_NAME).info(line)


#: A job estimated to take longer than this shows its progress: a bar when stderr is a
#: terminal, else a ``# `` line on stderr at most every :data:`PROGRESS_EVERY` seconds.
PROGRESS_SECONDS = 3.0
PROGRESS_EVERY = 5.0


def _progress_lines(total, what, estimate):
    """``step(n=1)`` that logs ``# K of T WHAT (S s)`` on stderr at most every
    :data:`PROGRESS_EVERY` seconds (and at the end), for a job whose ``estimate`` exceeds
    :data:`PROGRESS_SECONDS` when stderr is no terminal; None otherwise (a terminal
    gets the progress bar of the job itself; a short job no lines)."""
    import logging
    import time

    if estimate.seconds <= PROGRESS_SECONDS or sys.stderr.isatty():
        return None
    log = logging.getLogger("symrep.progress")
    start = time.perf_counter()
    state = {"done": 0, "shown": start}
    log.info("%s %s, expected to take about %s", f"{total:,}", what,
             _format_seconds(estimate.seconds))

    def step(n=1):
        state["done"] += n
        now = time.perf_counter()
        if now - state["shown"] >= PROGRESS_EVERY or state["done"] >= total:
            state["shown"] = now
            log.info("%s of %s %s done (%.0f s)", f"{state['done']:,}", f"{total:,}", what,
                     now - start)

    return step


def _format_seconds(seconds):
    from symrep.resources import format_seconds

    return format_seconds(seconds)


def _check_store(args):
    """``--store``: a folder store that can be opened or created (exit 2 before work)."""
    if getattr(args, "store", None) is not None:
        from symrep.io import check_store_path

        check_store_path(args.store, name="store")


def _add_grid_options(parser, what="simulated data sets", runs="simulations"):
    parser.add_argument(
        "--store", default=None, metavar="PATH",
        help=f"Zarr store of the {what}: each is written as it finishes, and a "
        "rerun with the same store computes only what is missing (docs/cluster.md)")
    parser.add_argument(
        "--scheduler", default=None, metavar="ADDRESS",
        help=f"run the {runs} on this Dask scheduler (tcp://host:8786), 'local' (a "
        "cluster of this machine's cores) or 'serial' (this process); default: this "
        "process for small grids, a local cluster for large ones")


def _show(value):
    """A number with 10 digits; lists (matrix rows) element by element."""
    if isinstance(value, float):
        return f"{value:.10g}"
    if isinstance(value, (list, tuple)) and value and not isinstance(value[0], str):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


def _cmd_solve(args):
    params = _model_parameters(args)
    from symrep.solvers import solve

    result = solve(**params, M=args.M, **_chosen_model(args, params["rho"]))
    row = _shown(result.as_dict())  # with the model's extras (sigma2), if it has any
    if args.json:
        print(json.dumps(row, indent=2))
        return 0
    width = max(len(k) for k in row)
    for key, value in row.items():
        print(f"{key:>{width}}  {_show(value)}")
    return 0


def _cmd_sweep(args):
    import math

    import numpy as np

    from symrep.io import atomic_path, check_output_file
    from symrep.resources import check_resources, sweep_estimate

    out = check_output_file(args.out, name="out", suffixes=(".csv", ".nc"))
    csv = out.suffix.lower() == ".csv"
    units = {}
    if args.M is not None:  # M units: --rho lists the strengths of the features
        from symrep.solvers.latent_units import _check_strengths, _check_units

        if isinstance(args.rho, Grid):
            raise ValueError(f"rho = {args.rho!r} is invalid: with --M, --rho gives the "
                             "strengths of the features (a number or a,b,...), not a grid")
        units = {"M": _check_units(args.M),
                 "rho": tuple(float(r) for r in _check_strengths(
                     tuple(np.atleast_1d(args.rho)), allow_array=False))}
    grid = _grid_parameters(args, names=("alpha", "beta", "lam", "eta") if units else
                            ("alpha", "beta", "lam", "rho", "eta"))
    n = math.prod(_size(v) for v in grid.values()) * len(units.get("rho", (1,)))
    estimate = check_resources(sweep_estimate(n, csv=csv), force=args.force)
    from symrep.solvers import sweep, sweep_table

    step = _progress_lines(n, "points", estimate)
    res = sweep(**{k: materialize(v) for k, v in grid.items()}, **units,
                errors="mask" if args.keep_going else "raise", force=True,
                **({} if step is None else {"progress": step}),
                **_chosen_model(args, units.get("rho", 1.0), M=units.get("M")))
    if csv:
        _write_csv(sweep_table(res), out)
    else:
        if step is not None:
            _report(f"writing {args.out}")
        with atomic_path(out) as tmp:
            res.to_netcdf(tmp)
    print(f"{args.out}: {int(res['converged'].size)} points, "
          f"{int(res['converged'].sum())} converged, dimensions {dict(res.sizes)}")
    return 0


#: Rows of a table written to CSV at once: a large table is written in such chunks, with
#: its progress.
CSV_CHUNK_ROWS = 100_000


def _write_csv(table, out):
    """Write a DataFrame as CSV (no index) to ``out`` atomically (a temporary name, then
    renamed), in chunks of :data:`CSV_CHUNK_ROWS` rows with its progress when it is
    estimated to take longer than :data:`PROGRESS_SECONDS`."""
    from symrep.io import atomic_open
    from symrep.progress import progress_bar
    from symrep.resources import _CSV_SECONDS, Estimate

    rows = len(table)
    estimate = Estimate("writing", 0.0, _CSV_SECONDS * rows)
    step = _progress_lines(rows, f"rows written to {out}", estimate)
    bar = (progress_bar(rows, f"writing {out.name}", unit="row")
           if step is None and estimate.seconds > PROGRESS_SECONDS else None)
    try:
        with atomic_open(out, "w", newline="") as fh:
            for first in range(0, max(rows, 1), CSV_CHUNK_ROWS):
                chunk = table.iloc[first:first + CSV_CHUNK_ROWS]
                chunk.to_csv(fh, index=False, header=first == 0)
                if step is not None:
                    step(len(chunk))
                if bar is not None:
                    bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()


def _figure_formats():
    """The suffixes matplotlib writes without an outside program (.pgf needs a TeX
    installation: offered only where its engine is on PATH)."""
    import shutil

    import matplotlib
    from matplotlib.backend_bases import FigureCanvasBase

    tex = matplotlib.rcParams.get("pgf.texsystem", "xelatex")
    return tuple(f".{ext}" for ext in FigureCanvasBase.get_supported_filetypes()
                 if ext != "pgf" or shutil.which(tex) is not None)


#: Cost of one point of ``symrep boundary`` (the collapse threshold: a scan of 97 values
#: of beta, then Newton's method; docs/benchmarks.md, "Stated times", row ``boundary``)
#: and its working memory (one chunk of 512 points).
_BOUNDARY_SECONDS = 0.008
_BOUNDARY_BYTES = 200
_BOUNDARY_FIXED_BYTES = 60e6


def _cmd_boundary(args):
    from symrep.io import check_output_file
    from symrep.resources import Estimate, check_resources

    if args.along != "beta":
        raise ValueError(f"along = {args.along!r} is invalid: the collapse threshold is a "
                         "curve in beta: --along beta")
    out = None if args.out is None else check_output_file(args.out, name="out",
                                                           suffixes=(".csv",))
    grid = _grid_parameters(args, names=("alpha", "lam", "rho", "eta"))
    for name, value in grid.items():
        if name != args.vary and _size(value) != 1:
            raise ValueError(f"{name} = {_shown_argument(value)} is invalid: only the "
                             f"parameter of --vary ({args.vary}) takes several values")
    n = _size(grid[args.vary])
    check_resources(Estimate(f"a boundary of {n:,} points",
                             _BOUNDARY_FIXED_BYTES + _BOUNDARY_BYTES * n,
                             _BOUNDARY_SECONDS * n), force=args.force)
    import numpy as np
    import pandas as pd

    from symrep.errors import SolverError
    from symrep.solvers.collapse_threshold import collapse_threshold_arrays

    values = {k: np.atleast_1d(materialize(v)).astype(float) for k, v in grid.items()}
    res = collapse_threshold_arrays(**values)
    missing = ~res["found"]
    if missing.any() and not args.keep_going:
        k = int(np.flatnonzero(missing)[0])
        point = ", ".join(f"{name}={float(np.broadcast_to(v, missing.shape)[k])!r}"
                          for name, v in values.items())
        raise SolverError(f"no collapse threshold at ({point}): the collapsed state "
                          "loses stability to learning at no beta there (below the "
                          "spectral transition, or lam = 0 with alpha <= 1); "
                          "--keep-going writes such points with found = False")
    shape = res["beta_c"].shape
    table = pd.DataFrame({
        **{name: np.broadcast_to(v, shape) for name, v in values.items()},
        "beta_c": res["beta_c"],
        **{f"dbeta_c_d{name}": res[f"d_{name}"] for name in ("alpha", "lam", "rho", "eta")},
        "found": res["found"]})
    if out is None:
        print(table.to_string(index=False, na_rep="", float_format=lambda x: f"{x:.12g}"))
        return 0
    _write_csv(table, out)
    print(f"{args.out}: {n} points, {int(res['found'].sum())} with a collapse threshold")
    return 0


def _shown_argument(value):
    import numpy as np

    if isinstance(value, Grid):
        return f"{'log:' if value.log else ''}{value.start:g}:{value.stop:g}:{value.num}"
    return ",".join(f"{v:g}" for v in np.ravel(value))


def _cmd_phase_diagram(args):
    import matplotlib

    matplotlib.use("Agg")
    from symrep.io import atomic_path, check_output_file
    from symrep.resources import check_resources, phase_diagram_estimate

    out = check_output_file(args.out, name="out", suffixes=_figure_formats())
    data = None if args.data is None else check_output_file(args.data, name="data",
                                                            suffixes=(".nc",))
    grid = _grid_parameters(args)
    for name in ("alpha", "beta"):
        if _size(grid[name]) < 2:
            raise ValueError(f"{name} = {args.__dict__[name]!r} is invalid: a phase diagram "
                             "needs a grid of at least 2 values (start:stop:num, "
                             "log:start:stop:num or a,b,c)")
    if _several_units(args):
        if args.boundaries != "bisection":
            raise ValueError(f"boundaries = {args.boundaries!r} is invalid with several "
                             "units or features: the continued boundaries are one unit's "
                             "(use bisection)")
        return _units_phase_diagram(args, grid, out, data)
    check_resources(phase_diagram_estimate(_size(grid["alpha"]), _size(grid["beta"])),
                    force=args.force)
    from symrep.solvers import phase_diagram

    pd = phase_diagram(materialize(grid["alpha"]), materialize(grid["beta"]), lam=args.lam,
                       rho=args.rho, eta=args.eta, force=True,
                       boundary_method=args.boundaries, **_chosen_model(args, args.rho))
    fig = pd.plot()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=150, format=out.suffix[1:].lower())
    if data is not None:
        with atomic_path(data) as tmp:
            pd.data.to_netcdf(tmp)
    counts = {p: int((pd.labels == p).sum()) for p in ("learning", "overfitting", "regularized")}
    print(f"{args.out}: {pd.phase.size} grid points {counts}, "
          f"boundaries: {', '.join(pd.boundaries) or 'none'}")
    return 0


def _units_phase_diagram(args, grid, out, data):
    """``phase-diagram`` with M units or several features: the units' phase structures
    and each unit's collapse threshold."""
    from symrep.io import atomic_path
    from symrep.resources import check_resources, phase_diagram_estimate
    from symrep.solvers.latent_units import _check_strengths, _check_units

    M = _check_units(args.M)
    rho = tuple(float(r) for r in _check_strengths(args.rho, allow_array=False))
    check_resources(phase_diagram_estimate(_size(grid["alpha"]) * len(rho) * M,
                                           _size(grid["beta"])), force=args.force)
    from symrep.solvers.units_phase_plane import units_phase_diagram

    pd = units_phase_diagram(materialize(grid["alpha"]), materialize(grid["beta"]),
                             lam=args.lam, rho=rho, eta=args.eta, M=M, force=True,
                             **_chosen_model(args, rho, M=M))
    fig = pd.plot()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=150, format=out.suffix[1:].lower())
    if data is not None:
        with atomic_path(data) as tmp:
            pd.data.to_netcdf(tmp)
    counts = {s: int((pd.structure == k).sum()) for k, s in enumerate(pd.structures)}
    print(f"{args.out}: {pd.structure.size} grid points {counts}")
    return 0


def _cmd_derive(args):
    import shutil

    from symrep.io import check_output_dir

    # a missing pdflatex is the environment's, not the computation's: the .tex files are
    # written all the same, then the command exits with status 2 and says how to install it
    no_pdflatex = args.pdf and shutil.which("pdflatex") is None
    if no_pdflatex:
        import logging

        logging.getLogger("symrep").warning(
            "pdflatex is not installed: the .tex files will be written, the PDF not")
    model = _model(args, M=args.M, Mstar=args.Mstar)  # ValueError (exit 2) when out of range
    check_output_dir(args.out, name="out")
    from symrep.derive import compile_pdf, write_derivations

    for path in write_derivations(args.out, model=model):
        print(path)
    if no_pdflatex:
        sys.stderr.write(f"symrep derive: error: --pdf needs pdflatex, which is not on PATH; "
                         f"the .tex files are in {args.out}. Install a TeX distribution "
                         "(Debian/Ubuntu: apt-get install texlive-latex-base; "
                         "macOS: MacTeX) or drop --pdf\n")
        return EXIT_BAD_INPUT
    if args.pdf:
        print(compile_pdf(args.out))
    return 0


def _cmd_simulate(args):
    params = _model_parameters(args)
    N = check_positive_int("N", args.N)
    seeds = check_positive_int("seeds", args.seeds)
    from symrep.grid.executor import check_scheduler
    from symrep.resources import check_resources, simulation_estimate

    check_scheduler(args.scheduler)
    _check_store(args)
    # before importing the simulation code (torch): a refusal is immediate. Every data
    # set is a grid task: fixed costs per task, each trained alone
    estimate = check_resources(simulation_estimate(N, params["alpha"], seeds, args.method,
                                                   tasks=True, scheduler=args.scheduler),
                               force=args.force)
    model = _chosen_model(args, params["rho"]).get("model")
    if model is not None:
        _check_model_simulation(args)
    device = _device(args)
    from symrep.simulate.experiment import SCALAR_FIELDS, summarize

    progress = _progress_lines(seeds, "data sets", estimate)
    if model is None:
        results = _simulate_grid(N, params, seeds, args, device, progress=progress)
    else:
        results = _simulate_model(N, params, seeds, args.method, model, device, progress)
    extras = _extras(results)  # the model's own order parameters (sigma2), if any
    summary = summarize(results, fields=(*SCALAR_FIELDS, *extras)) if extras else \
        summarize(results)
    if _several_units(args) and not args.json:
        return _print_unit_runs(results, summary, params, N, args.method, extras, model)
    if args.json:
        print(json.dumps({
            "params": {**params, "N": N, "P": results[0].params["P"]},
            "method": args.method,
            **({} if model is None else {"model": model.name}),
            "runs": [dict(seed=k, **r.as_dict()) for k, r in enumerate(results)],
            "summary": {k: {"mean": _plain(m), "sem": _plain(e)}
                        for k, (m, e) in summary.items()},
        }, indent=2))
        return 0
    cols = ("m", "Q", "eg", "rate", "distortion", "kl_posterior", "free_energy", *extras)
    P = results[0].params["P"]
    print(f"# N = {N}, P = {P}, " + ", ".join(f"{k} = {v:g}" for k, v in params.items())
          + f", method = {args.method}" + _model_note(model))
    print(f"{'seed':>6} " + " ".join(f"{c:>13}" for c in cols) + f" {'converged':>9}")
    for k, r in enumerate(results):
        print(f"{k:>6} " + " ".join(f"{getattr(r, c):>13.6g}" for c in cols)
              + f" {str(r.converged):>9}")
    print(f"{'mean':>6} " + " ".join(f"{summary[c][0]:>13.6g}" for c in cols))
    print(f"{'+-se':>6} " + " ".join(f"{summary[c][1]:>13.2g}" for c in cols))
    return 0


def _extras(results) -> tuple:
    """Names of the model's own order parameters in simulation results (``sigma2``)."""
    return tuple(getattr(results[0], "extras", None) or ())


def _model_note(model) -> str:
    """``, model = NAME`` for the header of a table of ``--model``'s runs."""
    return "" if model is None else f", model = {model.name}"


def _check_model_simulation(args):
    """``simulate --model``: the runs are made in this process, exact or by L-BFGS."""
    if args.method == "adam":
        raise ValueError("method = 'adam' is invalid with --model: a model's objective is "
                         "trained with L-BFGS (--method lbfgs) or solved exactly "
                         "(--method exact)")
    for name in ("store", "scheduler"):
        if getattr(args, name) is not None:
            raise ValueError(f"{name} = {getattr(args, name)!r} is invalid with --model: "
                             "the data sets of a model run one after another in this "
                             f"process (leave out --{name})")


def _simulate_model(N, params, seeds, method, model, device=None, progress=None):
    """The data sets of ``symrep simulate --model NAME``, in this process: the data of
    the linear VAE's grid tasks (same seeds, features and P), solved by the model's
    exact optimum (``exact_minimum(model=...)``) or trained with L-BFGS on its SymPy
    objective (``train_model``)."""
    import numpy as np

    from symrep.grid import Task
    from symrep.simulate import default_features, exact_minimum, sample_scm, train_model

    results = []
    for k in range(seeds):
        # the task checks the point and gives P = max(1, round(alpha N))
        task = Task(**params, N=N, seed=k, method="exact", M=model.M)
        if isinstance(task.rho, float):
            W0, rho = np.ones((N, 1)), task.rho
        else:
            W0, rho = default_features(N, model.Mstar), np.array(task.rho, dtype=np.float64)
        X = sample_scm(task.P, N, rho, task.eta, W0=W0, seed=k, force=True)[0]
        point = dict(beta=task.beta, lam=task.lam, rho=rho, eta=task.eta)
        if method == "exact":
            results.append(exact_minimum(X, W0, **point, model=model))
        else:
            results.append(train_model(X, W0, **point, model=model, seed=k,
                                       **({} if device is None else {"device": device})))
        if progress is not None:
            progress()
    return results


def _plain(value):
    """A summary entry for JSON: a matrix (M units) as nested lists."""
    return value.tolist() if hasattr(value, "tolist") else value


def _simulate_grid(N, params, seeds, args, device=None, progress=None):
    """The data sets of ``symrep simulate`` as grid tasks: results shaped like those of
    ``simulate`` (``SimulationResult``, or ``MatrixSimulationResult`` for --M > 1 or
    several --rho: their fields, ``params`` and ``as_dict()``, without the weights)."""
    from symrep.grid import Task, run_tasks
    from symrep.grid.results import task_result

    options = (("device", device),) if device is not None and args.method != "exact" else ()
    units = dict(M=args.M) if _several_units(args) else {}
    if progress is not None:  # making and checking 10^6 tasks takes tens of seconds
        import logging

        logging.getLogger("symrep.progress").info("preparing %s tasks", f"{seeds:,}")
    tasks = [Task(**params, N=N, seed=k, method=args.method, first_seed=0, seeds=seeds,
                  options=options, **units)
             for k in range(seeds)]
    # the device too: a store of the same command on another device is another grid
    settings = dict(command="simulate", N=N, seeds=seeds, method=args.method, **params,
                    **units, **dict(options))
    records = run_tasks(tasks, store=args.store, scheduler=args.scheduler,
                        settings=settings,
                        progress=None if progress is None else lambda task, record: progress())
    return [task_result(task, rec) for task, rec in zip(tasks, records, strict=True)]


def _print_unit_runs(results, summary, params, N, method, extras=(), model=None):
    """The table of ``simulate`` for M units: observables and each unit's phase."""
    cols = ("eg", "rate", "distortion", "kl_posterior", "free_energy", *extras)
    P = results[0].params["P"]
    print(f"# N = {N}, P = {P}, " + ", ".join(
        f"{k} = {v}" if isinstance(v, tuple) else f"{k} = {v:g}" for k, v in params.items())
        + f", M = {results[0].params['M']}, method = {method}" + _model_note(model))
    print(f"{'seed':>6} " + " ".join(f"{c:>13}" for c in cols) + "  phases")
    for k, r in enumerate(results):
        print(f"{k:>6} " + " ".join(f"{getattr(r, c):>13.6g}" for c in cols)
              + "  " + ", ".join(r.phases))
    print(f"{'mean':>6} " + " ".join(f"{summary[c][0]:>13.6g}" for c in cols))
    print(f"{'+-se':>6} " + " ".join(f"{summary[c][1]:>13.2g}" for c in cols))
    return 0


#: Simulated alphas and betas of ``symrep compare`` (quick, full) and of its finite-size
#: table.
COMPARE_GRIDS = {
    "quick": ([0.4, 1.0, 2.0, 3.0, 4.0], [0.5, 1.5]),
    "full": ([0.2, 0.4, 0.6, 0.8, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0], [0.2, 0.5, 1.0, 1.5]),
}
FINITE_SIZE_NS, FINITE_SIZE_SEEDS = (500, 1000, 2000, 4000), 8


def _cmd_compare(args):
    from symrep.grid.executor import check_scheduler

    params = check_parameters(lam=args.lam, rho=args.rho, eta=args.eta)
    N = check_positive_int("N", args.N)
    seeds = check_positive_int("seeds", args.seeds)
    from symrep.grid.executor import check_scheduler as _scheduler_ok
    from symrep.resources import check_resources

    _scheduler_ok(args.scheduler)
    from symrep.io import check_folder_name

    check_folder_name(args.out)
    _check_store(args)
    alphas, betas = COMPARE_GRIDS["quick" if args.quick else "full"]
    from symrep.compare import finite_size_estimate, learning_curve_estimate

    # before the device (torch) and matplotlib are imported: a refusal is immediate
    estimate = learning_curve_estimate(alphas, betas, N=N, seeds=seeds,
                                       methods=("exact", "lbfgs"), scheduler=args.scheduler)
    if args.finite_size:
        estimate = estimate + finite_size_estimate(Ns=FINITE_SIZE_NS, seeds=FINITE_SIZE_SEEDS,
                                                   scheduler=args.scheduler)
    check_resources(estimate, force=args.force)
    device = _device(args)
    import matplotlib

    matplotlib.use("Agg")
    from symrep.io import check_output_dir, check_output_file

    scheduler = check_scheduler(args.scheduler)
    methods = ("exact", "lbfgs")
    out = check_output_dir(args.out, name="out")  # created only once the job may run
    files = {name: check_output_file(out / name, name="out")
             for name in ("learning_curve.png", "learning_curve.csv",
                          *(("finite_size.md",) if args.finite_size else ()))}

    progress_line = _report  # one line per point when stderr is no terminal (no bar there)

    from contextlib import ExitStack

    from symrep.grid.executor import open_client

    client = None
    settings = dict(command="compare", N=N, seeds=seeds, quick=bool(args.quick), **params,
                    **({} if device is None else dict(device=device)))
    from symrep.grid.store import GridStore

    GridStore.check(args.store, settings)  # a store of another grid: before the cluster
    with ExitStack() as stack:
        if scheduler not in (None, "serial"):  # one cluster for both grids
            client, scheduler = stack.enter_context(open_client(scheduler)), None
        grid = dict(store=args.store, client=client, scheduler=scheduler, settings=settings)
        _compare_grids(args, alphas, betas, params, N, seeds, methods, files, progress_line,
                       grid, device)
    return 0


def _compare_grids(args, alphas, betas, params, N, seeds, methods, files, progress_line,
                   grid, device):
    from symrep.compare import finite_size_study, learning_curve_comparison, markdown_table
    from symrep.io import atomic_path, atomic_write_csv, atomic_write_text

    fig, table = learning_curve_comparison(alphas, betas, **params, N=N, seeds=seeds,
                                           methods=methods, force=True, progress=None,
                                           log=progress_line, device=device, **grid)
    with atomic_path(files["learning_curve.png"]) as tmp:
        fig.savefig(tmp, dpi=150, format="png")
    atomic_write_csv(files["learning_curve.csv"], table)
    print(f"{'beta':>5} {'alpha':>6} {'method':>6} {'theory eg':>10} {'N=' + str(N) + ' eg':>18}")
    for r in table:
        print(f"{r['beta']:>5g} {r['alpha']:>6g} {r['method']:>6} {r['theory']:>10.4f} "
              f"{r['mean']:>10.4f} +- {r['sem']:.4f}")
    print(f"figure: {files['learning_curve.png']}")
    if args.finite_size:
        rows = finite_size_study(Ns=FINITE_SIZE_NS, seeds=FINITE_SIZE_SEEDS, force=True,
                                 log=progress_line, **grid)
        atomic_write_text(files["finite_size.md"], markdown_table(rows) + "\n")
        print(f"finite-size table: {files['finite_size.md']}")


def _cmd_figures(args):
    from symrep.figures import FIGURES, check_names

    if args.list:
        for name, spec in FIGURES.items():
            print(f"{name:<24} {spec.title}")
        return 0
    names = check_names(args.only)
    size_name = "quick" if args.quick else "full"
    from symrep.figures import estimate, generate
    from symrep.figures.core import SIZES
    from symrep.grid.executor import check_scheduler
    from symrep.io import check_output_dir, check_output_file
    from symrep.resources import check_resources

    check_scheduler(args.scheduler)
    size = SIZES[size_name]
    if args.N is not None:
        size = size.with_(N=check_positive_int("N", args.N))
    if args.seeds is not None:
        size = size.with_(seeds=check_positive_int("seeds", args.seeds))
    from symrep.io import check_folder_name

    check_folder_name(args.out)
    _check_store(args)
    check_resources(estimate(names, size, args.scheduler), force=args.force)
    size = size.with_(device=_device(args))
    out = check_output_dir(args.out, name="out")  # fail now, not after the simulations
    for name in names:
        for suffix in (".png", ".csv"):
            check_output_file(out / f"{name}{suffix}", name="out")
    import matplotlib

    matplotlib.use("Agg")
    _report(f"{len(names)} figure(s), {size_name} size: N = {size.N}, {size.seeds} seeds, "
            f"methods {', '.join(size.methods)}")
    generate(out, names, size, reuse=args.reuse, force=True,
             log=lambda line: print(line, flush=True), store=args.store,
             scheduler=args.scheduler)
    return 0


def _cmd_realdata(args):
    from symrep.io import check_output_dir, check_output_file
    from symrep.realdata.datasets import DATASETS
    from symrep.realdata.experiment import SETTINGS, output_files

    name = str(args.dataset).lower()
    if name not in DATASETS:
        raise ValueError(f"dataset = {args.dataset!r} is invalid: must be one of "
                         f"{', '.join(DATASETS)}")
    settings = SETTINGS["quick" if args.quick else "full"]
    if args.kinds is not None:
        from symrep.realdata.vae import KINDS

        kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
        if not kinds or any(k not in KINDS for k in kinds):
            raise ValueError(f"kinds = {args.kinds!r} is invalid: a comma-separated list "
                             f"of {', '.join(KINDS)}")
        settings = settings.with_(kinds=kinds)
    seeds = None if args.seeds is None else check_positive_int("seeds", args.seeds)
    from symrep.grid.executor import check_scheduler
    from symrep.realdata.experiment import experiment_estimate
    from symrep.resources import check_resources

    check_scheduler(args.scheduler)
    from symrep.io import check_folder_name

    check_folder_name(args.out)
    _check_store(args)
    check_resources(experiment_estimate(name, settings, seeds=seeds), force=args.force)
    device = _device(args)  # torch: after a refusal that needs none
    if seeds is not None:  # made once their number is known to fit
        settings = settings.with_(seeds=tuple(range(seeds)))
    out = check_output_dir(args.out, name="out")
    for path in output_files(out, name).values():
        check_output_file(path, name="out")
    import matplotlib

    matplotlib.use("Agg")
    from symrep.progress import progress_enabled
    from symrep.realdata.experiment import run_experiment, summary_lines, write_outputs

    result = run_experiment(name, root=args.root, settings=settings, device=device,
                            progress=progress_enabled(), store=args.store,
                            scheduler=args.scheduler)
    files = write_outputs(result, out)
    for line in summary_lines(result):
        print(line)
    print(f"# {len(result.runs)} VAEs trained by {result.notes['training_seconds']:.0f} s, "
          f"{result.seconds:.0f} s in all ({result.notes['grid']})")
    print(f"figure: {files['figure']}")
    print(f"table: {files['summary']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Build the ``symrep`` argument parser with all subcommands.

    Returns
    -------
    argparse.ArgumentParser
        The parser; each subcommand sets ``handler``, the function that runs it.
    """
    parser = _Parser(
        prog="symrep",
        description="Replica theory of the linear beta-VAE on spiked-covariance data: "
        "symbolic derivation, fast saddle-point solver, and simulation.",
    )
    parser.add_argument("--version", action="version", version=f"symrep {__version__}")
    _add_verbosity(parser, default=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("solve", help="solve the saddle point at one parameter point")
    _add_parameters(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_model(p)
    p.set_defaults(handler=_cmd_solve)

    p = sub.add_parser("sweep", help="solve on a grid of parameters (CSV or NetCDF out)")
    _add_grid_parameters(p, {"rho": 1.0, "eta": 1.0})
    _add_units(p, default=None)
    p.add_argument("--out", required=True, help="output file, .csv or .nc")
    p.add_argument("--keep-going", action="store_true",
                   help="keep points where the solver fails (flagged converged = False)")
    _add_force(p)
    _add_model(p)
    p.set_defaults(handler=_cmd_sweep)

    p = sub.add_parser(
        "phase-diagram", help="phases on an (alpha, beta) grid, with figure",
        description="Phases of the RS optimum on a grid in (alpha, beta) at fixed lam, rho "
        "and eta, with the boundaries between them located by bisection (or continued "
        "as curves: --boundaries continuation); writes the figure and, with --data, "
        "every observable on the grid as NetCDF.")
    _add_phase_parameters(p)
    p.add_argument("--out", required=True,
                   help="figure file; its suffix picks the format (.png, .pdf, .svg, ...)")
    p.add_argument("--data", default=None, help="also write the grid as NetCDF (.nc)")
    p.add_argument("--boundaries", choices=("bisection", "continuation"),
                   default="bisection",
                   help="how the boundaries are found: bisected between grid points "
                   "(default) or continued as curves of the augmented equations (one unit, "
                   "the default model; docs/continuation.md)")
    _add_force(p)
    _add_model(p)
    p.set_defaults(handler=_cmd_phase_diagram)

    p = sub.add_parser(
        "boundary", help="a phase boundary as a curve, with its exact derivatives",
        description="The collapse threshold beta_c (where the collapsed state loses "
        "stability to learning; the phase boundary where the transition is continuous) "
        "as one parameter varies, located as a root of the generated RS equations, "
        "with d beta_c / d alpha, lam, rho, eta from the implicit-function theorem. "
        "About 6 ms per point.")
    _add_grid_parameters(p, {"lam": 1.0, "rho": 1.0, "eta": 1.0},
                         names=("alpha", "lam", "rho", "eta"))
    p.add_argument("--vary", choices=("alpha", "lam", "rho", "eta"), default="alpha",
                   help="the parameter along which the boundary is traced (default alpha)")
    p.add_argument("--along", default="beta",
                   help="the parameter the boundary is solved for (beta)")
    p.add_argument("--out", default=None, help="CSV file (default: print a table)")
    p.add_argument("--keep-going", action="store_true",
                   help="write points without a threshold (found = False) instead of "
                   "failing")
    _add_force(p)
    p.set_defaults(handler=_cmd_boundary)

    p = sub.add_parser("derive", help="regenerate the LaTeX derivations")
    p.add_argument("--out", default="derivations", help="output folder")
    p.add_argument("--pdf", action="store_true", help="also compile main.tex with pdflatex")
    p.add_argument("--M", type=int, default=1,
                   help="latent units of the model (1 to 9; default 1)")
    p.add_argument("--Mstar", type=int, default=1,
                   help="features of the data (1 to 9; default 1)")
    _add_model(p, sizes="--M and --Mstar set its size")
    p.set_defaults(handler=_cmd_derive)

    p = sub.add_parser("simulate", help="finite-N ground truth: exact optimum or training")
    p.add_argument("--N", type=int, required=True, help="input dimension")
    _add_parameters(p)
    p.add_argument("--seeds", type=int, default=5, help="number of independent data sets")
    p.add_argument("--method", choices=("exact", "lbfgs", "adam"), default="exact",
                   help="exact finite-N optimum, or training with L-BFGS or Adam")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_device(p)
    _add_force(p)
    _add_grid_options(p)
    _add_model(p)
    p.set_defaults(handler=_cmd_simulate)

    p = sub.add_parser("compare", help="theory curves against finite-N simulation, with figure")
    p.add_argument("--out", default="results", help="output folder")
    p.add_argument("--N", type=int, default=500, help="input dimension of the simulations")
    p.add_argument("--seeds", type=int, default=3, help="data sets per point")
    p.add_argument("--lam", type=float, default=1.0, help="weight decay")
    p.add_argument("--rho", type=float, default=1.0, help="signal strength")
    p.add_argument("--eta", type=float, default=1.0, help="noise strength")
    p.add_argument("--quick", action="store_true",
                   help="fewer points (about 15 s on two CPU cores)")
    p.add_argument("--finite-size", action="store_true",
                   help="also tabulate theory against the exact optimum at N = 500..4000")
    _add_device(p)
    _add_force(p)
    _add_grid_options(p)
    p.set_defaults(handler=_cmd_compare)

    p = sub.add_parser(
        "figures", help="regenerate the figures of the paper",
        description="Regenerate the figures of the paper: RS theory (lines) against the "
        "exact finite-N optimum and trained models (L-BFGS), mean +- standard error over "
        "seeds (points). Writes OUT/<name>.png, OUT/<name>.pdf and the simulation points "
        "OUT/<name>.csv. "
        "Measured on two CPU cores: --quick (N = 300, 2 seeds) about 40 s for all six "
        "figures; the full run (N = 1000, 5 seeds) about 13 minutes (docs/benchmarks.md, "
        "Stated times).")
    p.add_argument("--out", default="figures", help="output folder")
    p.add_argument("--quick", action="store_true",
                   help="N = 300, 2 seeds, fewer simulation points (about 40 s)")
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
    _add_device(p)
    _add_force(p)
    _add_grid_options(p)
    p.set_defaults(handler=_cmd_figures)

    p = sub.add_parser(
        "realdata", help="VAEs on real images against the theory's collapse predictions",
        description="Train MLP and linear VAEs on a real image data set over a grid of "
        "beta and sample complexities alpha; estimate the spiked-covariance parameters "
        "(eta, rho) from its spectrum; write the Frechet distance and the rate against "
        "beta with the predicted collapse threshold and best beta (OUT/realdata_NAME.png, "
        ".pdf, _spectrum.png, .csv, _summary.csv). digits: --quick about 25 seconds, the "
        "full run about 6 minutes on two CPU cores (two worker processes; 9.5 in one). With "
        "--store every finished batch of VAEs is kept and a rerun trains only what is "
        "missing; --scheduler runs the batches on Dask.")
    p.add_argument("--dataset", default="digits",
                   help="digits, patches (ship with scikit-learn), mnist, fashion-mnist, "
                   "cifar10 (original files under --root)")
    p.add_argument("--root", default=None, help="folder with the data set's files")
    p.add_argument("--out", default="realdata", help="output folder")
    p.add_argument("--quick", action="store_true",
                   help="two alphas, 18 betas, one seed (about 25 s)")
    p.add_argument("--kinds", default=None,
                   help="comma-separated VAE kinds: mlp, linear, conv (default mlp,linear)")
    p.add_argument("--seeds", type=int, default=None,
                   help="seeds per point (default 1 quick, 5 full)")
    _add_device(p)
    _add_force(p)
    _add_grid_options(p, what="batches of VAEs (one per kind, alpha and seed)",
                      runs="batches")
    p.set_defaults(handler=_cmd_realdata)
    for p in sub.choices.values():  # also accepted after the subcommand
        _add_verbosity(p, default=argparse.SUPPRESS)
    return parser


#: Exit statuses of the command line (also in ``docs/cli.md``).
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def _one_line(exc: BaseException) -> str:
    """The message of an exception on a single line (stderr carries one line per failure)."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


#: Options whose value may start with "-" (a negative number, -inf, a range -1:1:3).
_VALUE_OPTIONS = ("--alpha", "--beta", "--lam", "--rho", "--eta", "--N", "--seeds")


def _join_option_values(argv):
    """``--alpha -1e+16`` as ``--alpha=-1e+16``.

    argparse takes a value that starts with "-" for an option unless it looks like a
    plain negative number, so ``--alpha -1e16`` or ``--lam -1:1:3`` would be reported as
    a missing value instead of the value out of range that they are.
    """
    out, k = [], 0
    while k < len(argv):
        token = argv[k]
        if (token in _VALUE_OPTIONS and k + 1 < len(argv)
                and argv[k + 1].startswith("-") and not argv[k + 1].startswith("--")):
            out.append(f"{token}={argv[k + 1]}")
            k += 2
        else:
            out.append(token)
            k += 1
    return out


def main(argv=None) -> int:
    """Run the command line; return the exit status.

    Exit statuses: 0 success; 2 bad input (a value out of range, an unusable output
    path, a job too large for the memory or time at hand without ``--force``);
    1 the computation failed (the solver did not converge, out of memory, an error
    while writing); 130 interrupted (Ctrl-C). Every failure is one line on stderr, never
    a traceback; set ``SYMREP_DEBUG=1`` to get the traceback instead.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status.
    """
    debug = os.environ.get("SYMREP_DEBUG", "") not in ("", "0")
    try:
        argv = _join_option_values(sys.argv[1:] if argv is None else list(argv))
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.verbose and args.quiet:  # one before the subcommand, one after it
            parser.error("argument -q/--quiet: not allowed with argument -v/--verbose")
    except KeyboardInterrupt:
        if debug:
            raise
        sys.stderr.write("symrep: interrupted\n")
        return EXIT_INTERRUPTED
    prog = f"symrep {args.command}"
    from symrep.progress import configure_logging

    configure_logging(1 if args.verbose else -1 if args.quiet else 0)
    try:
        with warnings.catch_warnings():
            if not debug:  # stderr carries the error line only (and progress bars)
                warnings.simplefilter("ignore")
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


def run() -> None:
    """Entry point of the ``symrep`` script and ``python -m symrep``: exit with main's status.

    After Ctrl-C the process exits at once with status 130 (standard streams flushed),
    once the processes it started are gone. CPython remembers a KeyboardInterrupt that
    passed through ``exec`` of a string (some libraries import through it) and would
    otherwise end the process by SIGINT at exit, whatever status main() returned. Once
    main() has returned another status the work is done and reported, and Ctrl-C is
    ignored: during the interpreter's own exit it would end the process by the signal,
    with no message and status -2.
    """
    import signal

    received = _watch_interrupts()
    try:
        status = main()
        if status != EXIT_INTERRUPTED:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            if received:  # a Ctrl-C that a library's callback swallowed: still a Ctrl-C
                sys.stderr.write("symrep: interrupted\n")
                status = EXIT_INTERRUPTED
    except KeyboardInterrupt:  # between main()'s own handlers and the line above
        sys.stderr.write("symrep: interrupted\n")
        status = EXIT_INTERRUPTED
    if status == EXIT_INTERRUPTED:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # one Ctrl-C, one line
        _end_children()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(EXIT_INTERRUPTED)
    sys.exit(status)


def _watch_interrupts():
    """Record every SIGINT, and keep the KeyboardInterrupts that Python cannot raise off
    stderr; return the (growing) list of the SIGINTs received.

    A Ctrl-C that arrives while Python runs a callback it cannot raise from (a
    garbage-collector callback of dask.distributed during a cluster's start, a weakref
    callback, a ``__del__``) is printed as "Exception ignored ... KeyboardInterrupt" with
    a traceback, and lost: the run went on and ended with status 0. The handler records
    the signal before it raises, so that :func:`run` reports such a run as interrupted
    (status 130, one line), and the hook drops the "Exception ignored" report of a
    KeyboardInterrupt (other unraisable exceptions are reported as before).
    """
    import signal

    received = []

    def on_sigint(signum, frame):
        received.append(signum)
        raise KeyboardInterrupt

    default_hook = sys.unraisablehook

    def hook(unraisable):
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            return
        default_hook(unraisable)

    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, on_sigint)
    sys.unraisablehook = hook
    return received


def _end_children(timeout=3.0):
    """End the processes this one started that are still running (after Ctrl-C: what a
    library left behind), SIGTERM first, SIGKILL after ``timeout`` seconds; then
    multiprocessing's resource tracker, which ignores SIGTERM and is stopped (and waited
    for) by closing its pipe, after it has freed what the others left."""
    try:
        import psutil
    except ImportError:  # pragma: no cover (a dependency of dask.distributed)
        return
    tracker = getattr(sys.modules.get("multiprocessing.resource_tracker"),
                      "_resource_tracker", None)
    tracker_pid = getattr(tracker, "_pid", None)
    try:
        children = [c for c in psutil.Process().children(recursive=True)
                    if c.pid != tracker_pid]
        for child in children:
            child.terminate()
        _, alive = psutil.wait_procs(children, timeout=timeout)
        for child in alive:
            child.kill()
        psutil.wait_procs(alive, timeout=timeout)
    except psutil.Error:  # pragma: no cover (gone meanwhile, or not ours to end)
        pass
    if tracker_pid is not None:
        try:
            tracker._stop()
        except Exception:  # pragma: no cover (a private method of multiprocessing)
            pass


if __name__ == "__main__":  # pragma: no cover
    run()
