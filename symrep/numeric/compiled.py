"""Machine code for the generated NumPy modules, through symengine's LLVM backend.

The generated NumPy functions (:mod:`symrep.numeric.system`, :mod:`symrep.numeric.unit_map`)
are straight-line code: a few hundred elementwise operations, each a NumPy call. On the
small batches of the solver's sequential rounds (one to a few hundred columns) the cost
of a call is that of its operations' dispatch, not of the arithmetic, whatever the
size; compiled, a call costs about a tenth of that or less (figures in
``docs/benchmarks.md``, "Compiled generated functions").

The compiled functions are built from the generated module itself, not from SymPy: its
source is executed with symengine symbols as arguments (the module's ``numpy`` replaced
by symengine's ``sqrt`` and ``log``), which rebuilds each function's expressions with
their common subexpressions, and :class:`symengine.Lambdify` compiles them with LLVM
(on a function's first call; the machine code is then kept in the disk cache, from which
later processes load it much faster than they would compile it). The generated module
stays the one source of the numbers; SymPy is not imported.

A compiled function takes and returns what the NumPy one does (arrays broadcast against
each other, a tuple of arrays), in float64 or, where an input is ``np.longdouble`` (the
solver's extended-precision steps), in long double, as NumPy would promote them; other
inputs (mpmath objects, complex numbers) go to the NumPy function. Where
symengine or its LLVM backend is missing, or ``SYMREP_COMPILED=0`` is set, the NumPy
module is used as it is: the same numbers up to rounding (tests compare the two on every
function).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import logging
import os
import re
import threading
import types

import numpy as np

__all__ = ["compiled", "available", "stacked"]

_log = logging.getLogger(__name__)
_LOCK = threading.Lock()
#: LLVM's optimisation level: on the solver's batches the code runs as fast as at 2 and
#: 3, and compiles faster (docs/benchmarks.md, "Compiled generated functions").
_OPT_LEVEL = 1
#: Precisions with compiled code (NumPy's promotion of the inputs -> the code's type);
#: where np.longdouble is the plain double (macOS on arm64, Windows) the two are one
#: dtype, and the float64 entry, written last, is the one kept.
_DTYPES = {np.dtype(np.longdouble): np.longdouble, np.dtype(np.float64): np.float64}


def available() -> bool:
    """Whether compiled functions are used: symengine with its LLVM backend importable,
    and ``SYMREP_COMPILED`` not set to ``0``.

    Returns
    -------
    bool
        True if compiled functions are used.
    """
    if os.environ.get("SYMREP_COMPILED", "1").strip() == "0":
        return False
    try:
        from symengine.lib.symengine_wrapper import have_llvm
    except ImportError:
        return False
    return bool(have_llvm)


@functools.cache
def _host_key() -> str:
    """The machine code is compiled for this processor (LLVM targets the host's
    features): a cache shared between machines keeps one copy per kind of processor."""
    import platform
    import sys

    parts = [sys.platform, platform.machine(), platform.processor()]
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            parts += sorted({line.strip() for line in f
                             if line.split(":")[0].strip() in ("model name", "flags",
                                                               "Features", "CPU part")})
    except OSError:
        pass
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


class _Compiled:
    """One generated function, compiled on its first call in float64 or long double.

    The machine code is kept in the disk cache of the generated modules (pickled by
    symengine, checksummed, keyed by the module's source, the function, the precision,
    symengine's version and the processor), so that a process loads it instead of
    compiling it again.
    """

    def __init__(self, name, function, expressions, source_key):
        self.__name__ = name
        self.__doc__ = function.__doc__
        self._numpy = function
        self._expressions = expressions  # callable: () -> (symbols, outputs, single)
        self._source_key = source_key
        self._machines = {}  # dtype -> compiled function
        self._single = False  # the NumPy function returns one value, not a tuple
        self._nargs = len(inspect.signature(function).parameters)

    def _cache_path(self, dtype):
        import symengine as se

        from symrep.numeric.codegen import cache_dir

        key = hashlib.sha256("|".join((self._source_key, self.__name__, np.dtype(dtype).name,
                                       se.__version__, str(_OPT_LEVEL), "F", _host_key()))
                             .encode()).hexdigest()[:16]
        return cache_dir() / "compiled" / f"{self.__name__}_{key}.pkl"

    def _compile(self, dtype):
        with _LOCK:
            if dtype not in self._machines:
                try:
                    self._machines[dtype] = self._load_or_build(dtype)
                except Exception as exc:  # the NumPy code is always there to fall back on
                    _log.warning("%s could not be compiled (%s: %s); using the NumPy code",
                                 self.__name__, type(exc).__name__, exc)
                    self._machines[dtype] = None
        return self._machines[dtype]

    def _load_or_build(self, dtype):
        import pickle

        import symengine as se

        from symrep.io import read_checksummed, write_checksummed

        path = self._cache_path(dtype)
        data = read_checksummed(path)
        if data is not None:
            try:
                # written by this function into the user's cache, as trusted as the
                # generated modules there
                single, machine = pickle.loads(data)
                self._single = single
                return machine
            except Exception:  # a foreign or damaged pickle: compile again
                _log.debug("compiled code in %s unreadable; compiling again", path)
        symbols, outputs, self._single = self._expressions()
        machine = se.Lambdify(symbols, outputs, backend="llvm", cse=True, order="F",
                              opt_level=_OPT_LEVEL, dtype=dtype)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_checksummed(path, pickle.dumps((self._single, machine)))
        except OSError:  # a read-only cache: compiled in every process
            pass
        return machine

    def _run(self, args):
        """The compiled code's outputs stacked (n_outputs, *shape), or None where the
        NumPy function is to run (another number of arguments, another type, an empty
        batch, no machine code)."""
        if len(args) != self._nargs:
            return None  # the NumPy function raises its TypeError
        try:
            # the common case, arguments of one shape: stacked in one call, one argument
            # per row as the code reads them (compiled in Fortran order, it writes one
            # output per row too)
            x = np.array(args)
        except ValueError:  # shapes that broadcast against each other
            x = None
        ragged = x is None or x.dtype.kind == "O"
        if ragged:
            arrays = [np.asarray(a) for a in args]
            if any(a.dtype.kind not in "biuf" for a in arrays):
                return None  # mpmath objects, complex numbers: the NumPy function's
            dtype = np.result_type(*arrays)
            shape = np.broadcast_shapes(*(a.shape for a in arrays))
        else:
            if x.dtype.kind not in "biuf":
                return None
            dtype, shape = x.dtype, x.shape[1:]
        # float64, or long double as NumPy would promote to (the extended-precision
        # steps); other types are the NumPy function's
        if dtype not in _DTYPES or 0 in shape:  # nor takes the code an empty batch
            return None
        dtype = _DTYPES[dtype]
        machine = self._machines[dtype] if dtype in self._machines else self._compile(dtype)
        if machine is None:
            return None
        if ragged:
            x = np.empty((self._nargs,) + shape, dtype=dtype)
            for k, a in enumerate(arrays):
                x[k] = a
        elif x.dtype != dtype:
            x = x.astype(dtype)
        return machine(x)

    def __call__(self, *args):
        out = self._run(args)
        if out is None:
            return self._numpy(*args)
        if self._single:
            return out[0]
        return tuple(out)

    def stacked(self, *args):
        """The outputs as one array (n_outputs, *shape), the arguments broadcast."""
        out = self._run(args)
        if out is None:
            return _stacked_numpy(self._numpy, args)
        return out


def _stacked_numpy(function, args):
    out = function(*args)
    out = out if isinstance(out, (tuple, list)) else (out,)
    # constant outputs take the arguments' shape too
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    return np.asarray(np.broadcast_arrays(*out, np.empty(shape)))[:-1]


def stacked(function, *args):
    """The outputs of a generated function (compiled or NumPy) as one array
    (n_outputs, *shape), its arguments broadcast against each other: what the solver's
    rounds index, without a tuple of arrays to broadcast and copy first.

    Parameters
    ----------
    function : callable
        A function of a generated module or of :func:`compiled`'s namespace.
    *args : array_like
        Its arguments.

    Returns
    -------
    ndarray
    """
    if isinstance(function, _Compiled):
        return function.stacked(*args)
    return _stacked_numpy(function, args)


def _symbolic_namespace(source, numpy_names):
    """The generated module's functions, run again from its ``source`` with symengine's
    functions in place of NumPy's (executed once per module, on its first compilation)."""
    import symengine as se

    namespace = {}
    exec(compile(source, "<generated>", "exec"), namespace)  # our own generated code
    namespace["numpy"] = types.SimpleNamespace(**{k: getattr(se, k) for k in numpy_names})
    return namespace


def _symbolic(function):
    """The arguments of a function of :func:`_symbolic_namespace` as symengine symbols,
    its outputs as symengine expressions, and whether it returns one value."""
    import symengine as se

    symbols = se.symbols(list(inspect.signature(function).parameters))
    symbols = list(symbols) if isinstance(symbols, (list, tuple)) else [symbols]
    out = function(*symbols)
    single = not isinstance(out, (list, tuple))
    outputs = [out] if single else list(out)
    return symbols, [se.sympify(o) for o in outputs], single


def compiled(module):
    """A namespace with the compiled counterpart of every function of a generated NumPy
    module (the module itself where compiled functions are not :func:`available`).

    Parameters
    ----------
    module : module
        A module written by :func:`symrep.numeric.codegen.generate_source` with
        ``module="numpy"``.

    Returns
    -------
    types.SimpleNamespace or module
    """
    if not available():
        return module
    source = getattr(module, "_symrep_source", None) or inspect.getsource(module)
    # the NumPy functions the generated code calls (sqrt, log, ...); a module that calls
    # one symengine does not have (numpy.linalg in the models with several units) runs
    # as NumPy code
    numpy_names = sorted(set(re.findall(r"numpy\.([A-Za-z_]\w*)", source)))
    import symengine as se

    missing = [n for n in numpy_names if not callable(getattr(se, n, None))]
    if missing:
        _log.debug("%s stays NumPy code: it calls numpy.%s", module.__name__, missing)
        return module
    source_key = hashlib.sha256(source.encode()).hexdigest()
    namespace = functools.cache(lambda: _symbolic_namespace(source, numpy_names))
    functions = {}
    for name, function in vars(module).items():
        if inspect.isfunction(function) and function.__module__ == module.__name__:
            functions[name] = _Compiled(
                name, function, lambda name=name: _symbolic(namespace()[name]), source_key)
    _log.debug("compiled functions for %s: %s", module.__name__, sorted(functions))
    return types.SimpleNamespace(**functions, __name__=module.__name__)
