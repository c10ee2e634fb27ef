"""SymPy side of the generated code of a model: the expressions and the module source.

For a :class:`~symrep.model.LinearVAE` the free energy comes from the derivation
(:func:`symrep.replica.saddle_point.precision_form`): D eliminated, the precision matrix
Y = X^{-1} among the unknowns, and N^{-1} = (K^{-1} Y + eta I)^{-1} kept as a matrix B of
opaque symbols. Derivatives take B into account by the chain rule with dB = -B dN B, so
the residual and its Jacobian stay polynomial in the entries of B (and small); the
generated code computes B = inv(N) numerically before evaluating them. Writing the 4 x 4
or 6 x 6 inverse out symbolically instead makes the expressions grow beyond use already
for M = 2.

The generated module (:func:`module_source`) defines, with arguments in the order of the
model's unknowns (``u``), the entries of B (``b``, row by row) and the parameters
(``p``):

- ``nmatrix(*u, *p)``: the entries of N, row by row;
- ``free_energy(*u, *b, *p)``, ``residual(*u, *b, *p)`` (df/dz for every unknown z) and
  ``residual_jacobian(*u, *b, *p)`` (the residual, then the Jacobian row by row);
- ``observables(*u, *p)``: see :data:`OBSERVABLES_DOC`;

and the constants ``MODEL``, ``M``, ``MSTAR``, ``UNKNOWNS``, ``PARAMETERS``, ``OBSERVABLES``,
``SOURCE_KEY`` (the key of the sources and the model's definition it was generated from).
The runtime wrapper is :mod:`symrep.numeric.generated_system`, which needs no SymPy.
"""

from __future__ import annotations

import sympy as sp

from symrep.replica.saddle_point import precision_form

__all__ = ["model_expressions", "module_source", "total_derivative", "OBSERVABLES_DOC"]

OBSERVABLES_DOC = """\
``D`` (``D_1`` ... ``D_M``): encoder variances beta/(beta + Q_ii);
``rate``, ``distortion``: population rate KL(q(z|x) || p(z)) and reconstruction term less
(N - M*) eta / 2, averaged over the data (field moments t diag(rho) t^T + eta G);
``signal_overlap_ik`` (``signal_overlap`` for M = M* = 1): sqrt(rho_k) |m_ik|, from which
the wrapper forms eg = sum_k rho_k + tr Q - 2 max over assignments of units to features of
the sum of signal overlaps."""


def total_derivative(expr, x, form, dB):
    """d expr / d x with the entries of ``form.B`` depending on x through B = N^{-1}.

    ``dB`` is -B (dN/dx) B for this x (explicit in the entries of B).

    Parameters
    ----------
    expr : sympy.Expr
        An expression in the unknowns, the entries of ``form.B`` and the parameters.
    x : sympy.Symbol
        The unknown to differentiate by.
    form : PrecisionForm
        The precision form whose opaque symbols ``B`` stand for N^{-1}.
    dB : sequence of sympy.Expr
        dB/dx entry by entry, in the order of ``form.B``.

    Returns
    -------
    sympy.Expr
        The total derivative, d expr/dx + sum_b (d expr/db) (db/dx).
    """
    out = sp.diff(expr, x)
    for b, db in zip(form.B, dB, strict=True):
        coefficient = sp.diff(expr, b)
        if coefficient != 0:
            out += coefficient * db
    return out


def _observables(model, form) -> dict:
    s = model.symbols()
    D_sub = dict(zip(s.D_entries, form.D_star, strict=True))
    out = {}
    for i, D_i in enumerate(form.D_star):
        out["D" if model.is_scalar else f"D_{i + 1}"] = D_i
    for name, expr in model.population_observables().items():
        out[name] = sp.expand(expr).xreplace(D_sub)
    for i in range(model.M):
        for k in range(model.Mstar):
            name = "signal_overlap" if model.is_scalar else f"signal_overlap_{i + 1}{k + 1}"
            out[name] = sp.sqrt(s.rho[k]) * sp.Abs(s.m[i, k])
    return out


def model_expressions(model, jacobian: bool = True) -> dict:
    """The expressions of the generated functions of ``model``.

    Parameters
    ----------
    model : LinearVAE
    jacobian : bool, default True
        Also differentiate the residual (the most expensive part for large models).

    Returns
    -------
    dict
        ``form`` (:class:`~symrep.replica.saddle_point.PrecisionForm`), ``residual``
        (list), ``jacobian`` (list of lists, or None) and ``observables`` (dict).
    """
    form = precision_form(model)
    B = sp.Matrix(form.B)
    dB = {x: list(-B * form.N.diff(x) * B) for x in form.unknowns}
    residual = [total_derivative(form.free_energy, x, form, dB[x]) for x in form.unknowns]
    jac = None
    if jacobian:
        jac = [[total_derivative(r, x, form, dB[x]) for x in form.unknowns] for r in residual]
    return {"form": form, "residual": residual, "jacobian": jac,
            "observables": _observables(model, form)}


def module_source(model, jacobian: bool = True) -> str:
    """Python source of the generated module of ``model`` (NumPy, one CSE per function).

    Parameters
    ----------
    model : LinearVAE
        The model.
    jacobian : bool, optional
        Generate the Jacobian of the residual too (default True).

    Returns
    -------
    str
        The module's source: the functions ``nmatrix``, ``free_energy``, ``residual``,
        ``residual_jacobian`` (with ``jacobian``) and ``observables``, and the constants
        ``MODEL``, ``M``, ``MSTAR``, ``UNKNOWNS``, ``PARAMETERS``, ``OBSERVABLES`` and
        ``SOURCE_KEY`` (:func:`symrep.numeric.keys.model_code_key` without versions).

    Raises
    ------
    ValueError
        If a class of the model has no source file to key the code by.
    """
    from symrep.numeric.codegen import generate_source
    from symrep.numeric.keys import model_code_key

    ex = model_expressions(model, jacobian=jacobian)
    form = ex["form"]
    # the wrapper packs z in the order of symrep.numeric.layout; the arguments follow
    # the symbols: they must be the same list
    if tuple(str(x) for x in form.unknowns) != model.unknown_names:  # pragma: no cover
        raise AssertionError("the unknowns of the derivation are not in the layout order")
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
    # the key of everything the code comes from (the model's definition included): the
    # loader uses a shipped module only when it matches the sources as they are now
    constants = {"MODEL": model.key, "M": model.M, "MSTAR": model.Mstar,
                 "UNKNOWNS": model.unknown_names, "PARAMETERS": model.parameter_names,
                 "OBSERVABLES": tuple(ex["observables"]),
                 "SOURCE_KEY": model_code_key(model, jacobian=jacobian, versions=False)}
    header = (f"Generated by symrep.numeric.model_codegen for {model.key}; do not edit.\n\n"
              "Regenerate with symrep.numeric.generated_system.write_shipped_modules().")
    return generate_source(functions, header=header, constants=constants)
