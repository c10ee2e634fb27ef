"""Running error bounds of float64 straight-line code (Wilkinson's running error analysis).

A generated function is a straight-line program of +, -, *, /, integer powers, log and
sqrt. Evaluating that program on `Bounded` values instead of floats carries, beside each
intermediate value (in long double), a first-order bound on the error that float64
evaluation of the same program accumulates up to that point: every operation adds one
rounding of its result (u |z|, u = 2^-53) to the errors it propagates from its operands
(|dz/dx| e_x). The inputs are taken as exact (they are the float64 arguments given).

The bound is what the rounding of float64 arithmetic and the condition of the program
allow at each point, whatever the processor: tests compare computed errors with it
instead of with the error one implementation happens to make on one host. Reordering a
sum or fusing a multiply-add (what a compiler may do) changes the error by at most a few
such roundings of the same terms, so a small constant factor covers another evaluation
order of the same expressions.
"""

import inspect

import numpy as np

U = np.longdouble(np.finfo(np.float64).eps) / 2  # unit roundoff of float64


class Bounded:
    """A value (long double array) and a first-order bound on its float64 error."""

    __array_priority__ = 1000  # numpy scalars and arrays defer to these operators

    def __init__(self, value, error=None):
        self.value = np.asarray(value, dtype=np.longdouble)
        self.error = np.zeros_like(self.value) if error is None else error

    @staticmethod
    def _lift(x):
        return x if isinstance(x, Bounded) else Bounded(x)

    def _rounded(self, value, error):
        return Bounded(value, error + U * np.abs(value))

    def __add__(self, other):
        other = self._lift(other)
        return self._rounded(self.value + other.value, self.error + other.error)

    __radd__ = __add__

    def __sub__(self, other):
        other = self._lift(other)
        return self._rounded(self.value - other.value, self.error + other.error)

    def __rsub__(self, other):
        return self._lift(other) - self

    def __neg__(self):
        return Bounded(-self.value, self.error)

    def __mul__(self, other):
        other = self._lift(other)
        return self._rounded(self.value * other.value,
                             np.abs(self.value) * other.error + np.abs(other.value) * self.error)

    __rmul__ = __mul__

    def __truediv__(self, other):
        other = self._lift(other)
        with np.errstate(all="ignore"):
            value = self.value / other.value
            error = (self.error + np.abs(value) * other.error) / np.abs(other.value)
        return self._rounded(value, error)

    def __rtruediv__(self, other):
        return self._lift(other) / self

    def __pow__(self, exponent):
        n = float(exponent)
        if n != int(n):
            raise NotImplementedError(f"non-integer power {exponent}")
        n = int(n)
        if n < 0:
            return Bounded(1) / self ** (-n)
        result = Bounded(1)
        for _ in range(n):  # repeated products: one rounding each, as many as any order
            result = result * self
        return result

    def __abs__(self):
        return Bounded(np.abs(self.value), self.error)


class _NumpyShim:
    """The few NumPy functions generated code calls, on Bounded values."""

    @staticmethod
    def log(x):
        x = Bounded._lift(x)
        with np.errstate(all="ignore"):
            value = np.log(x.value)
            return x._rounded(value, x.error / np.abs(x.value))

    @staticmethod
    def sqrt(x):
        x = Bounded._lift(x)
        with np.errstate(all="ignore"):
            value = np.sqrt(x.value)
            return x._rounded(value, x.error / (2 * value))

    @staticmethod
    def exp(x):
        x = Bounded._lift(x)
        with np.errstate(all="ignore"):
            value = np.exp(x.value)
            return x._rounded(value, value * x.error)

    def __getattr__(self, name):
        raise NotImplementedError(f"numpy.{name} has no running error bound here")


def running_error_bound(function, *args):
    """Values and first-order float64 error bounds of a generated function at `args`.

    Parameters
    ----------
    function : callable
        A function of a generated NumPy module (straight-line code calling only
        ``numpy.log``, ``numpy.sqrt`` and ``numpy.exp``).
    *args : array_like
        Its float64 arguments, taken as exact.

    Returns
    -------
    value, bound : numpy.ndarray
        Long-double values and error bounds, one row per output (outputs broadcast to
        the arguments' shape).
    """
    namespace = {"numpy": _NumpyShim()}
    exec(inspect.getsource(function), namespace)
    out = namespace[function.__name__](*(Bounded(np.asarray(a, dtype=float)) for a in args))
    out = out if isinstance(out, (list, tuple)) else [out]
    out = [o if isinstance(o, Bounded) else Bounded(o) for o in out]
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    value = np.array([np.broadcast_to(o.value, shape) for o in out])
    bound = np.array([np.broadcast_to(o.error, shape) for o in out])
    return value, bound
