"""Logging and progress bars of long jobs.

Every module of symrep logs through :mod:`logging`, under the logger ``"symrep"``
(``symrep.figures.core``, ``symrep.realdata``, ...); a library call is silent unless the
application sets up logging. The command line does so with :func:`configure_logging`:
one handler on ``"symrep"`` writing to stderr, at INFO by default, DEBUG with ``-v`` and
WARNING with ``-q``.

Progress bars (tqdm) are shown where ``progress=None`` is left to decide
(:func:`progress_enabled`): when stderr is a terminal and the ``"symrep"`` logger lets
INFO records through, so that ``-q`` also turns the bars off.
"""

from __future__ import annotations

import logging
import sys

__all__ = ["LOGGER_NAME", "REPORT_LOGGER_NAME", "VERBOSITY_LEVELS", "configure_logging",
           "progress_enabled", "progress_bar"]

#: The root of symrep's loggers.
LOGGER_NAME = "symrep"
#: Lines of a command's report that belong on stdout, as ``# `` comment lines (one line
#: per simulated point of ``symrep compare`` and ``symrep figures``).
REPORT_LOGGER_NAME = "symrep.report"
#: Logging level of each verbosity: -1 quiet, 0 default, 1 verbose.
VERBOSITY_LEVELS = {-1: logging.WARNING, 0: logging.INFO, 1: logging.DEBUG}


class _StreamHandler(logging.StreamHandler):
    """A handler writing to the current ``sys.stderr`` (or ``sys.stdout``), looked up at
    each record: a stream replaced after configuration (a test's capture, a redirect)
    gets the records."""

    def __init__(self, name):
        super().__init__()
        self._stream_name = name

    @property
    def stream(self):
        return getattr(sys, self._stream_name)

    @stream.setter
    def stream(self, value):  # StreamHandler.__init__ sets it; the lookup above wins
        pass


class _Formatter(logging.Formatter):
    """``# message`` for INFO; the level named for the others (``# debug: ...``)."""

    def format(self, record):
        text = record.getMessage()
        if record.exc_info and record.levelno >= logging.WARNING:
            text += " (" + " ".join(str(record.exc_info[1]).split()) + ")"
        if record.levelno == logging.INFO:
            return f"# {text}"
        return f"# {record.levelname.lower()}: {text}"


def configure_logging(verbosity=0):
    """Set up the ``"symrep"`` logger for the command line.

    One handler writes to stderr (``# message``; ``# debug: ...``, ``# warning: ...``
    for the other levels) and one, on ``"symrep.report"``, writes the report lines of a
    command to stdout (``# message``); calling this again replaces both.

    Parameters
    ----------
    verbosity : {-1, 0, 1}
        -1 quiet (WARNING and above only; progress bars off), 0 INFO (default), 1 DEBUG.

    Returns
    -------
    logging.Logger
        The ``"symrep"`` logger.

    Raises
    ------
    ValueError
        If ``verbosity`` is not -1, 0 or 1.
    """
    if verbosity not in VERBOSITY_LEVELS or isinstance(verbosity, bool):
        raise ValueError(f"verbosity = {verbosity!r} is invalid: must be one of -1 (quiet), "
                         "0 (default) or 1 (verbose)")
    level = VERBOSITY_LEVELS[verbosity]
    logger = logging.getLogger(LOGGER_NAME)
    report = logging.getLogger(REPORT_LOGGER_NAME)
    for log, stream in ((logger, "stderr"), (report, "stdout")):
        for handler in [h for h in log.handlers if isinstance(h, _StreamHandler)]:
            log.removeHandler(handler)
        handler = _StreamHandler(stream)
        handler.setFormatter(_Formatter())
        log.addHandler(handler)
    logger.setLevel(level)
    report.setLevel(logging.NOTSET)  # follows "symrep"
    report.propagate = False  # on stdout only, not twice
    return logger


def progress_enabled(progress=None) -> bool:
    """Whether to show a progress bar.

    Parameters
    ----------
    progress : bool, optional
        An explicit choice, returned as is; None: when stderr is a terminal and the
        ``"symrep"`` logger passes INFO records (not ``-q``).

    Returns
    -------
    bool
        Whether to show the bar.
    """
    if progress is not None:
        return bool(progress)
    return (sys.stderr.isatty()
            and logging.getLogger(LOGGER_NAME).getEffectiveLevel() <= logging.INFO)


def progress_bar(total, desc, progress=None, unit="it"):
    """A tqdm bar over ``total`` steps on stderr, or None where none is to be shown.

    Parameters
    ----------
    total : int
        Number of steps (no bar for 0).
    desc : str
        The bar's label.
    progress : bool, optional
        See :func:`progress_enabled`.
    unit : str
        What a step is.

    Returns
    -------
    tqdm.tqdm or None
        The bar (the caller updates and closes it), or None.
    """
    if total == 0 or not progress_enabled(progress):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=False)
