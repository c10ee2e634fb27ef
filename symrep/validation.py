"""Input validation shared by every public entry point of symrep.

Every function, solver and command that takes model parameters passes them through
:func:`check_parameters` (or :func:`check_parameter`) first, so that an out-of-range or
non-finite value is reported once, in one format, naming the parameter, the value and
the allowed range, instead of surfacing later as a NaN or an obscure linear-algebra
error.

The allowed ranges are those of the model (see ``docs/model.md``), cut where float64
arithmetic stops being accurate:

=========  ==============  ==========================================
parameter  allowed range   meaning
=========  ==============  ==========================================
alpha      [1e-6, 1e8]     sample complexity P / N
beta       [1e-6, 1e6]     weight of the KL term (beta-VAE)
lam        [0, 1e6]        weight decay (ridge) on encoder and decoder
rho        [1e-4, 1e4]     signal strength of the spiked covariance model
eta        [1e-4, 1e4]     noise strength of the spiked covariance model
=========  ==============  ==========================================

Why these bounds: inside them ``benchmarks/solver_range.py`` finds the float64 solver
accurate to 1e-6 of each quantity's scale, against the closed forms of the saddle point
solved in 60-digit arithmetic, except at a few points towards the corners of the box
(alpha and beta near 1e-6, alpha near 1e8), where the solver raises
:class:`~symrep.errors.SolverError` or loses precision; it never returns NaN. Beyond the
box float64 fails outright. The counts, the worst points and the limits beyond the box
are in ``docs/benchmarks.md`` (section "Solver range").

Counts (``N``, ``P``, number of seeds, ...) must be positive integers and random seeds
non-negative integers.
"""

from __future__ import annotations

import math
import numbers
import sys
from dataclasses import dataclass

__all__ = [
    "Interval",
    "PARAMETER_RANGES",
    "check_parameter",
    "check_parameters",
    "check_positive_int",
    "check_seed",
    "check_finite_float",
    "MAX_SEED",
]


@dataclass(frozen=True)
class Interval:
    """An interval of allowed finite values: ``[low, high]``, ``(low, high]``, ...

    ``closed`` says whether ``low`` itself is allowed, ``high_closed`` whether ``high``
    is; ``high = inf`` is a half-line.
    """

    low: float
    closed: bool
    high: float = math.inf
    high_closed: bool = True

    def contains(self, x):
        """Elementwise membership test (``x`` finite is checked separately).

        Parameters
        ----------
        x : float or ndarray
            The value(s) to test.

        Returns
        -------
        bool or ndarray of bool
            Whether each value lies in the interval.
        """
        above = (x >= self.low) if self.closed else (x > self.low)
        below = (x <= self.high) if self.high_closed else (x < self.high)
        return above & below

    def __str__(self) -> str:
        high = f"{_number(self.high)}{']' if self.high_closed and self.high < math.inf else ')'}"
        return f"{'[' if self.closed else '('}{_number(self.low)}, {high}"


def _number(x: float) -> str:
    """A bound as people write it: ``0``, ``0.5``, ``1e-6``, ``1e8``, ``inf``."""
    if x == 0 or not math.isfinite(x) or 1e-3 <= abs(x) < 1e4:
        return f"{x:g}"
    mantissa, exponent = f"{x:e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)}"


#: Allowed range of each model parameter, keyed by its Python name.
PARAMETER_RANGES: dict[str, Interval] = {
    "alpha": Interval(1e-6, closed=True, high=1e8),
    "beta": Interval(1e-6, closed=True, high=1e6),
    "lam": Interval(0.0, closed=True, high=1e6),
    "rho": Interval(1e-4, closed=True, high=1e4),
    "eta": Interval(1e-4, closed=True, high=1e4),
}


def _show(value) -> str:
    """``repr(value)``, shortened for huge integers (a message stays one short line)."""
    text = repr(value)
    if len(text) > 40 and isinstance(value, numbers.Integral):
        return f"{text[:6]}...{text[-3:]} ({len(text.lstrip('-'))} digits)"
    return text if len(text) <= 60 else text[:57] + "..."


def _range_error(name: str, value, where: str = "") -> ValueError:
    rule = PARAMETER_RANGES[name]
    return ValueError(
        f"{name} = {_show(value)}{where} is invalid: {name} must be a finite number in {rule}"
    )


def _is_bool(value) -> bool:
    """A Python or NumPy bool (NumPy is not imported for it: ``symrep --help`` shows the
    ranges of this module without loading NumPy)."""
    if isinstance(value, bool):
        return True
    np = sys.modules.get("numpy")
    return np is not None and isinstance(value, np.bool_)


def _is_real_scalar(value) -> bool:
    # bool is an Integral in Python; a flag passed as a parameter is a bug, not a number.
    return isinstance(value, numbers.Real) and not _is_bool(value)


def _scalar(value):
    """A 0-d array (``np.array(2.0)``) as the number it holds; anything else unchanged."""
    if getattr(value, "ndim", None) == 0 and getattr(value, "shape", None) == () and \
            callable(getattr(value, "item", None)) and not _is_real_scalar(value):
        try:
            return value.item()
        except Exception:  # not an array after all: checked as it is
            return value
    return value


def check_parameter(name: str, value, *, allow_array: bool = False):
    """Validate one model parameter.

    Parameters
    ----------
    name : {"alpha", "beta", "lam", "rho", "eta"}
        Parameter name; selects the allowed range in :data:`PARAMETER_RANGES`.
    value : float or array_like
        The value to check. Arrays are accepted only with ``allow_array=True``.
    allow_array : bool, default False
        Accept array-like input (for sweeps); every element must be valid.

    Returns
    -------
    float or numpy.ndarray
        ``float(value)`` for a scalar, a float64 array otherwise; the values are
        returned unchanged.

    Raises
    ------
    ValueError
        If the value is not a real number (or array of them), is not finite, or lies
        outside the allowed range. The message names the parameter, the value and the
        range.
    """
    if name not in PARAMETER_RANGES:
        raise ValueError(
            f"unknown parameter {name!r}; expected one of {', '.join(PARAMETER_RANGES)}"
        )
    rule = PARAMETER_RANGES[name]
    value = _scalar(value)
    if _is_real_scalar(value):
        try:
            x = float(value)
        except (OverflowError, TypeError):  # an int beyond the float range; an odd Real
            raise _range_error(name, value) from None
        if not (math.isfinite(x) and rule.contains(x)):
            raise _range_error(name, value)
        return x
    if not allow_array or isinstance(value, (str, bytes)) or _is_bool(value) or value is None:
        raise ValueError(f"{name} must be a real number in {rule}, got {_show(value)}")
    import numpy as np

    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged sequences and the like
        raise ValueError(f"{name} must be an array of real numbers, got {_show(value)}") from exc
    if arr.dtype.kind not in "iuf" or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty array of real numbers in {rule}")
    arr = arr.astype(np.float64)
    bad = ~(np.isfinite(arr) & rule.contains(arr))
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f" at index {index[0] if len(index) == 1 else index}"
        raise _range_error(name, arr[index].item(), where)
    return arr


def check_parameters(*, allow_array: bool = False, **params):
    """Validate several model parameters at once.

    ``check_parameters(alpha=2.0, beta=1.0, lam=0.0)`` returns
    ``{"alpha": 2.0, "beta": 1.0, "lam": 0.0}``; see :func:`check_parameter`.

    Parameters
    ----------
    allow_array : bool, optional
        Accept arrays as well as scalars (default False), as :func:`check_parameter`.
    **params
        Parameter values by name (``alpha``, ``beta``, ``lam``, ``rho``, ``eta``).

    Returns
    -------
    dict
        The validated values by name, in the order given.

    Raises
    ------
    ValueError
        For the first invalid value, naming the parameter and its allowed range.
    """
    return {k: check_parameter(k, v, allow_array=allow_array) for k, v in params.items()}


def check_positive_int(name: str, value) -> int:
    """Validate a count such as ``N``, ``P`` or the number of seeds (an integer >= 1).

    Parameters
    ----------
    name : str
        The parameter's name, for the message.
    value : int
        The value (a bool is refused).

    Returns
    -------
    int
        The value as a Python int.

    Raises
    ------
    ValueError
        If the value is not an integer >= 1.
    """
    if isinstance(value, numbers.Integral) and not _is_bool(value):
        if value >= 1:
            return int(value)
    raise ValueError(f"{name} = {_show(value)} is invalid: {name} must be a positive integer")


#: Largest accepted random seed: torch generators take seeds below 2**63 (NumPy any).
MAX_SEED = 2**63 - 1


def check_seed(seed, name: str = "seed"):
    """Validate a random seed: ``None`` or an integer in [0, 2**63 - 1].

    Parameters
    ----------
    seed : int or None
        The seed.
    name : str, optional
        The parameter's name, for the message (default ``"seed"``).

    Returns
    -------
    int or None
        The seed as a Python int, or None.

    Raises
    ------
    ValueError
        If the seed is not None or an integer in [0, 2**63 - 1].
    """
    if seed is None:
        return None
    if isinstance(seed, numbers.Integral) and not _is_bool(seed):
        if 0 <= seed <= MAX_SEED:
            return int(seed)
    raise ValueError(f"{name} = {_show(seed)} is invalid: {name} must be None or an integer "
                     "in [0, 2**63 - 1]")


def check_finite_float(name: str, value, *, low: float = 0.0, closed: bool = False,
                       high: float = math.inf):
    """Validate a numeric option (a tolerance, a learning rate, a scale): a finite real
    number above ``low`` (or equal to it with ``closed=True``) and at most ``high``.

    Parameters
    ----------
    name : str
        The option's name, for the message.
    value : float
        The value (a bool is refused).
    low : float, optional
        Lower bound (default 0), excluded unless ``closed``.
    closed : bool, optional
        Whether ``low`` itself is allowed (default False).
    high : float, optional
        Upper bound, included (default inf).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the value is not a finite real number in the interval.
    """
    rule = Interval(low, closed=closed, high=high)
    if _is_real_scalar(value):
        try:
            x = float(value)
        except OverflowError:
            x = math.inf
        if math.isfinite(x) and rule.contains(x):
            return x
    raise ValueError(f"{name} = {_show(value)} is invalid: {name} must be a finite number "
                     f"in {rule}")
