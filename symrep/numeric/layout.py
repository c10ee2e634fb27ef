"""Names and positions of the unknowns and parameters of a model with M units, M* features.

Plain Python (no SymPy, no NumPy): the symbolic model creates one SymPy symbol per name
listed here, in this order, and the generated-code wrapper packs and unpacks matrices
with the same list, so the two agree on the order by construction.

Unknowns of the saddle-point system (precision form, D eliminated), in order:

- ``Q`` (M x M, symmetric: upper triangle, row by row), ``R`` (M x M, every entry),
  ``E`` (M x M, symmetric), ``m`` and ``d`` (M x M*, every entry, row by row);
- the precision matrix Y = X^{-1} = [[chihat_Q, chihat_R], [chihat_R^T, chihat_E]]:
  ``chihat_Q`` (symmetric), ``chihat_R`` (every entry), ``chihat_E`` (symmetric).

An entry is named ``<matrix>_<row><column>`` (1-based, e.g. ``Q_12``, ``chihat_R_21``),
or plainly ``("Q", "R", "E", "m", "d", "chihat_Q", "chihat_R", "chihat_E")`` where the
model says so (``plain``: the linear VAE with M = M* = 1, in the paper's notation). The
parameters are ``("alpha", "beta", "lam", "rho_1", ..., "rho_M*", "eta")``, or with one
plain ``"rho"``. Which names a model has is the model's to say
(:attr:`symrep.model.LinearVAE.unknown_names`, ``parameter_names``): the functions here
take the answer, they do not decide it from the sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Entry", "MAX_UNITS", "model_key", "unknown_layout", "unknown_names",
           "parameter_names", "rho_names", "matrix_shapes", "entry_name"]

#: Largest M and M* (entry names use one digit per index).
MAX_UNITS = 9

# (matrix, rows, columns, symmetric) in the order of the unknowns; rows/columns are
# "M" or "Mstar"
_UNKNOWN_MATRICES = (
    ("Q", "M", "M", True), ("R", "M", "M", False), ("E", "M", "M", True),
    ("m", "M", "Mstar", False), ("d", "M", "Mstar", False),
    ("chihat_Q", "M", "M", True), ("chihat_R", "M", "M", False),
    ("chihat_E", "M", "M", True),
)


@dataclass(frozen=True)
class Entry:
    """One unknown: its name and where it sits (``matrix[row, col]``, 0-based).

    A symmetric matrix has one unknown per pair, listed at ``row <= col``; it fills
    both ``[row, col]`` and ``[col, row]``.
    """

    name: str
    matrix: str
    row: int
    col: int
    symmetric: bool


def model_key(M: int, Mstar: int) -> str:
    """The name of a model in file names and caches: ``linear_vae_M2_Mstar2``.

    Parameters
    ----------
    M : int
        Number of latent units, 1 to :data:`MAX_UNITS`.
    Mstar : int
        Number of features, 1 to :data:`MAX_UNITS`.

    Returns
    -------
    str
        The key.
    """
    return f"linear_vae_M{M}_Mstar{Mstar}"


def entry_name(matrix: str, row: int, col: int, scalar: bool) -> str:
    """``Q_12`` for ``Q[0, 1]``; the bare matrix name where the model's names are plain.

    Parameters
    ----------
    matrix : str
        The matrix name (``"Q"``, ``"chihat_R"``, ...).
    row, col : int
        The 0-based position of the entry.
    scalar : bool
        True where the model names its entries plainly (every matrix 1 x 1).

    Returns
    -------
    str
        The entry's name.
    """
    return matrix if scalar else f"{matrix}_{row + 1}{col + 1}"


def matrix_shapes(M: int, Mstar: int) -> dict:
    """``{matrix: (rows, columns)}`` of the unknown matrices.

    Parameters
    ----------
    M : int
        Number of latent units, 1 to :data:`MAX_UNITS`.
    Mstar : int
        Number of features, 1 to :data:`MAX_UNITS`.

    Returns
    -------
    dict
        Maps each unknown matrix (``"Q"``, ``"R"``, ``"E"``, ``"m"``, ``"d"``,
        ``"chihat_Q"``, ``"chihat_R"``, ``"chihat_E"``) to its shape.
    """
    size = {"M": M, "Mstar": Mstar}
    return {name: (size[r], size[c]) for name, r, c, _ in _UNKNOWN_MATRICES}


def unknown_layout(M: int, Mstar: int, plain: bool = False) -> tuple[Entry, ...]:
    """Every unknown of the model's saddle-point system, in the canonical order.

    Parameters
    ----------
    M : int
        Number of latent units, 1 to :data:`MAX_UNITS`.
    Mstar : int
        Number of features, 1 to :data:`MAX_UNITS`.
    plain : bool, default False
        Name the entries without indices (the model's answer, for a model whose matrices
        are all 1 x 1); positions are the same either way.

    Returns
    -------
    tuple of Entry
        One entry per unknown (the upper triangle of a symmetric matrix), in order.

    Raises
    ------
    ValueError
        If ``plain`` is True for matrices larger than 1 x 1 (their entries need indices).
    """
    if plain and (M, Mstar) != (1, 1):
        raise ValueError(f"plain = True is invalid for M = {M}, Mstar = {Mstar}: entries "
                         "without indices need M = Mstar = 1")
    shapes = matrix_shapes(M, Mstar)
    out = []
    for name, _, _, symmetric in _UNKNOWN_MATRICES:
        rows, cols = shapes[name]
        for i in range(rows):
            for j in range(i if symmetric else 0, cols):
                out.append(Entry(entry_name(name, i, j, plain), name, i, j, symmetric))
    return tuple(out)


def unknown_names(M: int, Mstar: int, plain: bool = False) -> tuple[str, ...]:
    """Names of the unknowns, in order.

    Parameters
    ----------
    M : int
        Number of latent units, 1 to :data:`MAX_UNITS`.
    Mstar : int
        Number of features, 1 to :data:`MAX_UNITS`.
    plain : bool, default False
        As for :func:`unknown_layout`.

    Returns
    -------
    tuple of str
        The names of :func:`unknown_layout`.
    """
    return tuple(e.name for e in unknown_layout(M, Mstar, plain))


def rho_names(Mstar: int, plain: bool = False) -> tuple[str, ...]:
    """``("rho_1", ..., "rho_M*")``, or ``("rho",)`` plainly (one feature).

    Parameters
    ----------
    Mstar : int
        Number of features.
    plain : bool, default False
        Name the one strength ``"rho"`` (the model's answer, for one feature).

    Returns
    -------
    tuple of str
        The names of the feature strengths.

    Raises
    ------
    ValueError
        If ``plain`` is True for more than one feature.
    """
    if plain:
        if Mstar != 1:
            raise ValueError(f"Mstar = {Mstar} is invalid with plain = True: one plain "
                             "name is for one feature, Mstar must be 1")
        return ("rho",)
    return tuple(f"rho_{k + 1}" for k in range(Mstar))


def parameter_names(Mstar: int, plain: bool = False) -> tuple[str, ...]:
    """Names of the model parameters, in the order of the generated functions.

    Parameters
    ----------
    Mstar : int
        Number of features.
    plain : bool, default False
        As for :func:`rho_names`.

    Returns
    -------
    tuple of str
        ``("alpha", "beta", "lam", <rho names>, "eta")``.
    """
    return ("alpha", "beta", "lam", *rho_names(Mstar, plain), "eta")
