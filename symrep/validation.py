"""Input validation shared by every public entry point of symrep.

Every function, solver and command that takes model parameters passes them through
:func:`check_parameters` (or :func:`check_parameter`) first, so that an out-of-range or
non-finite value is reported once, in one format, naming the parameter, the value and
the allowed range, instead of surfacing later as a NaN or an obscure linear-algebra
error.

The allowed ranges are those of the model (see ``docs/model.md``):

=========  ==============  ==========================================
parameter  allowed range    meaning
=========  ==============  ==========================================
alpha      (0, inf)         sample complexity P / N
beta       (0, inf)         weight of the KL term (beta-VAE)
lam        [0, inf)         weight decay (ridge) on encoder and decoder
rho        (0, inf)         signal strength of the spiked covariance model
eta        (0, inf)         noise strength of the spiked covariance model
=========  ==============  ==========================================

Counts (``N``, ``P``, number of seeds, ...) must be positive integers and random seeds
non-negative integers.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Interval",
    "PARAMETER_RANGES",
    "check_parameter",
    "check_parameters",
    "check_positive_int",
    "check_seed",
]


@dataclass(frozen=True)
class Interval:
    """A half-line ``(low, inf)`` or ``[low, inf)`` of allowed finite values."""

    low: float
    closed: bool

    def contains(self, x):
        """Elementwise membership test (``x`` finite is checked separately)."""
        return (x >= self.low) if self.closed else (x > self.low)

    def __str__(self) -> str:
        return f"{'[' if self.closed else '('}{self.low:g}, inf)"


#: Allowed range of each model parameter, keyed by its Python name.
PARAMETER_RANGES: dict[str, Interval] = {
    "alpha": Interval(0.0, closed=False),
    "beta": Interval(0.0, closed=False),
    "lam": Interval(0.0, closed=True),
    "rho": Interval(0.0, closed=False),
    "eta": Interval(0.0, closed=False),
}


def _range_error(name: str, value, where: str = "") -> ValueError:
    rule = PARAMETER_RANGES[name]
    return ValueError(
        f"{name} = {value!r}{where} is invalid: {name} must be a finite number in {rule}"
    )


def _is_real_scalar(value) -> bool:
    # bool is an Integral in Python; a flag passed as a parameter is a bug, not a number.
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


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
    if _is_real_scalar(value):
        x = float(value)
        if not (math.isfinite(x) and rule.contains(x)):
            raise _range_error(name, value)
        return x
    if not allow_array or isinstance(value, (str, bytes, bool, np.bool_)) or value is None:
        raise ValueError(f"{name} must be a real number in {rule}, got {value!r}")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged sequences and the like
        raise ValueError(f"{name} must be an array of real numbers, got {value!r}") from exc
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
    """
    return {k: check_parameter(k, v, allow_array=allow_array) for k, v in params.items()}


def check_positive_int(name: str, value) -> int:
    """Validate a count such as ``N``, ``P`` or the number of seeds (an integer >= 1)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        if value >= 1:
            return int(value)
    raise ValueError(f"{name} = {value!r} is invalid: {name} must be a positive integer")


def check_seed(seed, name: str = "seed"):
    """Validate a random seed: ``None`` or an integer >= 0."""
    if seed is None:
        return None
    if isinstance(seed, numbers.Integral) and not isinstance(seed, (bool, np.bool_)):
        if seed >= 0:
            return int(seed)
    raise ValueError(f"{name} = {seed!r} is invalid: {name} must be None or an integer >= 0")
