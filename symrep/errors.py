"""Exceptions of symrep, and what the command line does with them.

=====================  ==========================================  ===========
exception              raised when                                 CLI status
=====================  ==========================================  ===========
``ValueError``         an input is out of its allowed range or an   2
                       output path is unusable; the message names
                       the parameter and the allowed range
:class:`TooLargeError` a grid or a run would exceed the memory or   2
                       time at hand (a ``ValueError``; the message
                       names the flag that proceeds anyway)
:class:`SolverError`   no stationary point satisfies the            1
                       saddle-point equations, or training
                       diverged; ``diagnostics`` says where and why
``KeyboardInterrupt``  Ctrl-C                                       130
=====================  ==========================================  ===========
"""

from __future__ import annotations

__all__ = ["SolverError", "TooLargeError"]


class SolverError(RuntimeError):
    """A computation found no valid solution: no stationary branch satisfies the
    saddle-point equations at some parameters, or a training run diverged.

    Attributes
    ----------
    diagnostics : dict
        The offending parameters and, for the saddle point, per candidate branch its free
        energy and residual; for training, the run, the method and its iterations.
    """

    def __init__(self, message, diagnostics=None):
        super().__init__(message)
        self.diagnostics = diagnostics or {}


class TooLargeError(ValueError):
    """A job would need more memory or time than is at hand.

    A ``ValueError`` (bad input: exit status 2 on the command line) whose message states
    the estimate, the limit and how to proceed anyway (``force=True``, ``--force``).

    Attributes
    ----------
    estimate : dict
        The estimated resources (e.g. ``{"bytes": ..., "seconds": ...}``).
    """

    def __init__(self, message, estimate=None):
        super().__init__(message)
        self.estimate = estimate or {}
