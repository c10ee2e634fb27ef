"""The generated saddle-point system of a model defined outside symrep, from its objective.

:func:`model_system` runs the replica derivation of :mod:`symrep.replica` on the model's
own expressions (:func:`symrep.replica.saddle_point.precision_form`), differentiates the
free energy with :func:`symrep.numeric.model_codegen.model_expressions`, prints NumPy code
and loads it into a :class:`~symrep.numeric.generated_system.GeneratedSystem`. The module
is cached on disk (:func:`symrep.numeric.codegen.load_or_generate`) under a key of

- the model's definition: the SymPy ``srepr`` of its per-sample objective, regularizer,
  reconstruction and KL terms, and the source files of every class of its MRO;
- the files of the derivation and the code generator, and the SymPy/NumPy versions,

so that editing the model (or symrep's derivation) regenerates the code. For M = M* = 1
the observables keep the linear VAE's names (``D``, ``signal_overlap``).

Generation takes about 1.5 s for M = M* = 1 (mostly SymPy).
"""

from __future__ import annotations

import inspect
import logging
from pathlib import Path

from symrep.solvers.result import one_by_one

__all__ = ["model_system", "model_source", "system_key"]

logger = logging.getLogger(__name__)

_PACKAGE = Path(__file__).resolve().parents[1]

# what a model must be for the derivation to apply, shown when SymPy's checks fail
REQUIREMENTS = (
    "the per-sample objective must be ||x||^2/2 plus a quadratic form in the local fields "
    "h = (u, v) with no linear term plus a term in Q and D only, each encoder variance "
    "D_i must have exactly one stationary point (D may not be held fixed: the derivation "
    "eliminates it), and the regularizer must depend on the weights only through the "
    "overlaps Q, R, E; see docs/adding_a_model.md")


def _derivation_sources() -> list[Path]:
    names = ["model.py", "models/base.py", "numeric/layout.py", "numeric/model_codegen.py",
             "numeric/codegen.py", "symbols.py", "solvers/generic_system.py"]
    return ([_PACKAGE / n for n in names] + sorted((_PACKAGE / "replica").glob("*.py")))


def _class_sources(model) -> list[Path]:
    out = []
    for cls in type(model).__mro__:
        if cls is object:
            continue
        try:
            path = inspect.getsourcefile(cls)
        except (TypeError, OSError):  # defined interactively: its expressions key it
            continue
        if path and Path(path).is_file():
            out.append(Path(path))
    return sorted(set(out))


def _definition(model) -> tuple:
    import sympy as sp

    return tuple(sp.srepr(e) for e in (model.per_sample_objective(), model.regularizer(),
                                       model.reconstruction_term(), model.kl_term()))


def system_key(model) -> str:
    """The cache key of the generated code of ``model``.

    Parameters
    ----------
    model : ReplicaModel
        The model.

    Returns
    -------
    str
        SHA-256 hex digest of the model's definition (its expressions and class
        sources), the derivation's source files and the installed versions.
    """
    from symrep.numeric.codegen import source_key

    paths = sorted(set(_derivation_sources()) | set(_class_sources(model)))
    return source_key(paths, extra=(model.key, model.M, model.Mstar, *_definition(model)))


def _scalar_names(names):
    # one unit, one feature: the linear VAE's names, which GeneratedSystem reads
    rename = {"D_1": "D", "signal_overlap_11": "signal_overlap"}
    return [rename.get(n, n) for n in names]


def model_source(model, jacobian: bool = True) -> str:
    """Python source of the generated module of ``model``.

    The functions and constants of :func:`symrep.numeric.model_codegen.module_source`,
    from the model's own derivation.

    Parameters
    ----------
    model : ReplicaModel
        The model.
    jacobian : bool, default True
        Generate the Jacobian of the residual too.

    Returns
    -------
    str
        The module's source.

    Raises
    ------
    ValueError
        If SymPy finds the objective is not of the form the derivation needs.
    """
    from symrep.numeric.codegen import generate_source
    from symrep.numeric.model_codegen import model_expressions

    try:
        ex = model_expressions(model, jacobian=jacobian)
    except (AssertionError, ValueError) as err:
        raise ValueError(f"model {model.name!r} cannot be derived: {err}; "
                         f"{REQUIREMENTS}") from None
    form = ex["form"]
    if tuple(str(x) for x in form.unknowns) != model.unknown_names:  # pragma: no cover
        raise AssertionError("the unknowns of the derivation are not in the layout order")
    names = list(ex["observables"])
    if one_by_one(model):  # the paper's notation, which GeneratedSystem reads
        names = _scalar_names(names)
    u, b, p = tuple(form.unknowns), tuple(form.B), tuple(form.parameters)
    functions = {
        "nmatrix": ((*u, *p), list(form.N)),
        "free_energy": ((*u, *b, *p), [form.free_energy]),
        "residual": ((*u, *b, *p), ex["residual"]),
    }
    if ex["jacobian"] is not None:
        functions["residual_jacobian"] = ((*u, *b, *p),
                                          [*ex["residual"], *sum(ex["jacobian"], [])])
    functions["observables"] = ((*u, *p), list(ex["observables"].values()))
    constants = {"MODEL": model.key, "M": model.M, "MSTAR": model.Mstar,
                 "UNKNOWNS": model.unknown_names, "PARAMETERS": model.parameter_names,
                 "OBSERVABLES": tuple(names)}
    header = (f"Generated by symrep.solvers.generic_system for {model.key}; do not edit.")
    return generate_source(functions, header=header, constants=constants)


_SYSTEMS: dict = {}


def model_system(model):
    """The :class:`~symrep.numeric.generated_system.GeneratedSystem` of ``model``.

    Generated on first use (seconds for one unit) and cached on disk and in memory.

    Parameters
    ----------
    model : ReplicaModel
        The model (any object with the model protocol whose expressions the derivation
        accepts).

    Returns
    -------
    symrep.numeric.generated_system.GeneratedSystem

    Raises
    ------
    ValueError
        If the objective is not of the form the derivation needs.
    """
    from symrep.numeric.codegen import load_or_generate
    from symrep.numeric.generated_system import GeneratedSystem

    if model in _SYSTEMS:
        return _SYSTEMS[model]
    key = system_key(model)
    jacobian = len(model.unknown_names) <= 48  # as the linear VAE's: minutes beyond

    def build():
        logger.info("generating the saddle-point code of %s (SymPy)", model.key)
        return model_source(model, jacobian=jacobian)

    system = GeneratedSystem(load_or_generate(model.key, key, build))
    _SYSTEMS[model] = system
    return system
