"""Safe file output: atomic writes, checked output paths, checksummed caches.

Every file symrep writes goes through this module, so that an interrupted run (Ctrl-C,
a killed process, a full disk) never leaves a truncated file under its final name and
never destroys the previous good copy:

- :func:`atomic_path` yields a temporary name in the destination folder (same suffix, so
  tools that infer the format from it, such as matplotlib's ``savefig``, still work);
  the file is renamed into place only when the block finishes without an exception.
  ``os.replace`` is atomic on POSIX and Windows within one file system.
- :func:`atomic_open`, :func:`atomic_write_text` and :func:`atomic_write_bytes` are the
  usual shortcuts; :func:`atomic_directory` does the same for a folder (a Zarr store).
- :func:`check_output_file` and :func:`check_output_dir` validate an output path before
  any work starts (``ValueError`` naming the parameter, as every bad input does).
- :func:`write_checksummed` / :func:`read_checksummed` store a SHA-256 of the content
  with the content, so that a reader of a cache or checkpoint detects a truncated or
  edited file and recomputes it instead of trusting it.

A Ctrl-C that lands between the creation of a temporary file and the moment its cleanup
is armed, or between the two renames that swap a folder, would leave debris behind;
those few statements run with SIGINT deferred to their end
(:class:`interrupts_deferred`). Files and folders get the permissions a plain ``open``
or ``mkdir`` would give them (the umask applies; an existing file keeps its own), not
the owner-only ones of :func:`tempfile.mkstemp` and :func:`tempfile.mkdtemp`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import stat
import tempfile
import threading
from pathlib import Path

__all__ = [
    "atomic_path",
    "atomic_open",
    "atomic_write_text",
    "atomic_write_bytes",
    "atomic_directory",
    "check_output_file",
    "check_store_path",
    "check_folder_name",
    "check_output_dir",
    "write_checksummed",
    "read_checksummed",
    "interrupts_deferred",
    "CHECKSUM_MARK",
]

#: Marker of the checksum trailer written by :func:`write_checksummed`. It starts with
#: ``#`` so that a checksummed Python module or text file stays valid as it is.
CHECKSUM_MARK = b"\n# symrep-sha256: "


class interrupts_deferred:
    """Context manager: a SIGINT received inside the block takes effect at its end.

    Python signal handlers run in the main thread only; in other threads (and where
    the handler cannot be replaced) the block runs unprotected. Keep the block short:
    it is meant for the few statements that create, rename or remove temporary files.

    Examples
    --------
    >>> with interrupts_deferred():                     # doctest: +SKIP
    ...     tmp = make_temporary_file()                 # Ctrl-C here is raised below
    """

    def __enter__(self):
        self._received = []
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            try:
                self._previous = signal.signal(signal.SIGINT, self._record)
            except (ValueError, OSError):  # pragma: no cover (no signal support)
                self._previous = None
        return self

    def _record(self, signum, frame):
        self._received.append((signum, frame))

    def __exit__(self, *exc_info):
        previous, self._previous = self._previous, None
        if previous is None:
            return False
        signal.signal(signal.SIGINT, previous)
        if self._received:
            if callable(previous):  # default_int_handler: raises KeyboardInterrupt here
                previous(*self._received[0])
            elif previous == signal.SIG_DFL:  # pragma: no cover (not Python's default)
                os.kill(os.getpid(), signal.SIGINT)
        return False


def _umask() -> int:
    # the only way to read the umask is to set it; set it back at once
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def _new_file_mode(path: Path) -> int:
    # what open() would give a new file (0o666 less the umask), or the existing file's
    with contextlib.suppress(OSError):
        return stat.S_IMODE(os.stat(path).st_mode)
    return 0o666 & ~_umask()


def _temporary_name(path: Path) -> Path:
    # hidden, unique, same folder (same file system, so the rename is atomic) and the
    # same suffix (format detection by extension keeps working)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                               suffix=f".tmp{path.suffix}")
    os.close(fd)
    try:
        os.chmod(tmp, _new_file_mode(path))
    except BaseException:
        os.unlink(tmp)
        raise
    return Path(tmp)


def _remove(path: Path) -> None:
    with interrupts_deferred(), contextlib.suppress(FileNotFoundError):
        os.unlink(path)


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    If the block raises (``KeyboardInterrupt`` included), the temporary file is removed
    and ``path`` keeps its previous content, if any.

    Parameters
    ----------
    path : str or path-like
        The destination; its folder must exist.

    Yields
    ------
    pathlib.Path
        The temporary path to write, a hidden name in the folder of ``path``.

    Examples
    --------
    >>> with atomic_path("figure.png") as tmp:          # doctest: +SKIP
    ...     fig.savefig(tmp)
    """
    path = Path(path)
    tmp = None
    try:
        with interrupts_deferred():  # no Ctrl-C between creating tmp and arming the cleanup
            tmp = _temporary_name(path)
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
        tmp = None
        _fsync(path.parent)
    finally:
        if tmp is not None:
            _remove(tmp)


def _fsync(path: Path) -> None:
    # flush a file to disk before the rename, so that after a crash the new name never
    # points at an empty file (the classic ext4 "zero-length file" failure); flush the
    # folder after it, so that the rename itself is durable
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_open(path, mode: str = "w", **kwargs):
    """``open(path, mode)`` writing to a temporary file, renamed into place on success.

    Parameters
    ----------
    path : str or path-like
        The destination; its folder must exist.
    mode : str, optional
        A writing mode of ``open`` (default ``"w"``; ``"wb"`` for bytes).
    **kwargs
        Further arguments of ``open`` (``encoding``, ``newline``, ...).

    Yields
    ------
    file object
        The open temporary file.

    Raises
    ------
    ValueError
        If ``mode`` does not write (has neither ``w`` nor ``x``).
    """
    if not any(c in mode for c in "wx"):
        raise ValueError(f"mode = {mode!r} is invalid: atomic_open only writes ('w', 'wb')")
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as fh:
        yield fh


def atomic_write_text(path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically; return the path.

    Parameters
    ----------
    path : str or path-like
        The destination; its folder must exist.
    text : str
        The content, written as is (no newline translation).
    encoding : str, optional
        The encoding (default ``"utf-8"``).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    with atomic_open(path, "w", encoding=encoding, newline="") as fh:
        fh.write(text)
    return Path(path)


def atomic_write_csv(path, rows, columns=None) -> Path:
    """Write dict rows as a CSV table to ``path`` atomically; return the path.

    ``columns`` (default: the keys of the first row) are the header, in order; keys of a
    row outside them are left out, and None is written as an empty cell.

    Parameters
    ----------
    path : str or path-like
        The destination; its folder must exist.
    rows : iterable of dict
        The rows.
    columns : sequence of str, optional
        The header (default: the keys of the first row).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    import csv
    import io

    rows = list(rows)
    columns = list(rows[0] if columns is None and rows else columns or ())
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in columns})
    return atomic_write_text(path, text.getvalue())


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return the path.

    Parameters
    ----------
    path : str or path-like
        The destination; its folder must exist.
    data : bytes
        The content.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    with atomic_open(path, "wb") as fh:
        fh.write(data)
    return Path(path)


@contextlib.contextmanager
def atomic_directory(path):
    """Yield a temporary folder next to ``path``; move it onto ``path`` on success.

    An existing folder at ``path`` is replaced: it is first renamed aside, the new one
    renamed into place, and only then the old one deleted, so at every moment ``path``
    is either the complete old folder or the complete new one (or, for an instant
    between the two renames, absent, which readers treat as "not computed"). If the
    block raises, the temporary folder is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : str or path-like
        The destination folder; its parent must exist.

    Yields
    ------
    pathlib.Path
        The temporary folder to fill.
    """
    path = Path(path)
    tmp = old = None
    try:
        with interrupts_deferred():  # no Ctrl-C between creating tmp and arming the cleanup
            tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.",
                                        suffix=".tmp"))
            os.chmod(tmp, 0o777 & ~_umask())
        yield tmp
        with interrupts_deferred():  # both renames or neither
            if path.exists():
                old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.",
                                            suffix=".old"))
                os.replace(path, old)
            try:
                os.replace(tmp, path)
            except OSError:
                if old is not None:  # put the previous folder back
                    os.replace(old, path)
                    old = None
                raise
            tmp = None
        _fsync(path.parent)
    finally:
        for leftover in (tmp, old):
            if leftover is not None:
                shutil.rmtree(leftover, ignore_errors=True)


def _probe_writable(folder: Path, name: str, value) -> None:
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".symrep-write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ValueError(f"{name} = {str(value)!r} is not usable: cannot write in "
                         f"{str(folder)!r} ({exc.strerror or exc})") from None


#: Characters ``atomic_path`` and ``atomic_directory`` add to a name for its temporary
#: twin (``.NAME.XXXXXXXX.tmpSUFFIX``): a name is refused when the twin would be too long.
_TEMPORARY_EXTRA = 14


def _name_max(folder: Path) -> int:
    """Longest file name (bytes) the file system of ``folder`` takes (255 if unknown)."""
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return 255


def _check_name_lengths(p: Path, name: str, value, *, extra: int = 0) -> None:
    """ValueError where a component of ``p`` (its last one with ``extra`` characters
    more) is longer than the file system allows."""
    parts = p.parts
    for k, part in enumerate(parts):
        longest = 255 if k < len(parts) - 1 else max(1, _name_max(_existing_ancestor(p))
                                                     - extra - len(p.suffix))
        if len(os.fsencode(part)) > longest:
            what = "a folder name" if k < len(parts) - 1 else "the name"
            raise ValueError(f"{name} = {_short(value)} is invalid: {what} is "
                             f"{len(os.fsencode(part))} bytes long, more than the "
                             f"{longest} bytes the file system allows"
                             + (" for it and its temporary twin" if extra else ""))


def _existing_ancestor(p: Path) -> Path:
    folder = p.parent if str(p.parent) else Path(".")
    for candidate in (folder, *folder.parents):
        try:
            if candidate.exists():
                return candidate
        except OSError:
            continue
    return Path(".")


def _short(value) -> str:
    """``repr`` of a path, shortened for absurdly long ones (the error stays one line)."""
    text = repr(str(value))
    return text if len(text) <= 120 else f"{text[:60]}...{text[-40:]}"


def check_store_path(path, *, name: str = "store") -> Path:
    """Check that a folder store (Zarr) can be opened or created at ``path``, before any
    work starts.

    The path may exist as a folder (a store to resume) or not yet exist; then the
    nearest existing folder above it must be writable, and no folder on the way may be
    a file. Names longer than the file system allows are refused.

    Parameters
    ----------
    path : str or Path
    name : str
        Parameter name used in the error message.

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        If the path is empty, a file, under a file, too long, or its folder is not
        writable (a read-only file system, ``/proc``, ...).
    """
    if str(path) == "":
        raise ValueError(f"{name} is invalid: the store name is empty")
    p = Path(path)
    _check_name_lengths(p, name, path, extra=_TEMPORARY_EXTRA)
    try:
        exists, is_dir = p.exists(), p.is_dir()
    except OSError as exc:
        raise ValueError(f"{name} = {_short(path)} is not usable ({exc.strerror or exc})") \
            from None
    if exists and not is_dir:
        raise ValueError(f"{name} = {_short(path)} is a file: a folder is required")
    folder = p if exists else _existing_ancestor(p)
    if not folder.is_dir():
        raise ValueError(f"{name} = {_short(path)} is not usable: {str(folder)!r} is a "
                         "file, not a folder")
    _probe_writable(folder, name, path)
    return p


def check_output_file(path, *, name: str = "out", suffixes=None, overwrite: bool = True) -> Path:
    """Check that a file can be written at ``path``, before any work starts.

    Parameters
    ----------
    path : str or Path
        The output file.
    name : str
        Parameter name used in the error message (``"out"``, ``"data"``, ...).
    suffixes : sequence of str, optional
        Allowed file suffixes (e.g. ``(".csv", ".nc")``), compared case-insensitively.
    overwrite : bool
        Whether an existing file may be replaced.

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        If the suffix is not allowed, the path is a folder, its folder does not exist or
        is not writable, or the file exists and ``overwrite`` is False.
    """
    p = Path(path)
    if str(path) == "":
        raise ValueError(f"{name} is invalid: the file name is empty")
    if suffixes is not None and p.suffix.lower() not in tuple(s.lower() for s in suffixes):
        raise ValueError(f"{name} = {str(path)!r} is invalid: the file name must end in "
                         f"{' or '.join(suffixes)}")
    _check_name_lengths(p, name, path, extra=_TEMPORARY_EXTRA)
    try:
        is_dir, exists = p.is_dir(), p.exists()
        folder = p.parent if str(p.parent) else Path(".")
        folder_ok = folder.is_dir()
    except OSError as exc:
        raise ValueError(f"{name} = {_short(path)} is not usable ({exc.strerror or exc})") \
            from None
    if is_dir:
        raise ValueError(f"{name} = {str(path)!r} is a folder: a file name is required")
    if not folder_ok:
        raise ValueError(f"{name} = {str(path)!r} is not usable: the folder "
                         f"{str(folder)!r} does not exist")
    if exists and not overwrite:
        raise ValueError(f"{name} = {str(path)!r} exists already")
    try:  # the temporary name atomic_path writes first, made and removed
        _remove(_temporary_name(p))
    except OSError as exc:
        raise ValueError(f"{name} = {_short(path)} is not usable: cannot write in "
                         f"{str(folder)!r} ({exc.strerror or exc})") from None
    return p


def check_folder_name(path, *, name: str = "out") -> Path:
    """Check, without creating or writing anything, that ``path`` can name a folder.

    Parameters
    ----------
    path : str or path-like
        The folder.
    name : str, optional
        Parameter name used in the error message (default ``"out"``).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        If ``path`` is empty, an existing file, or longer than the file system allows.
    """
    p = Path(path)
    if str(path) == "":
        raise ValueError(f"{name} is invalid: the folder name is empty")
    _check_name_lengths(p, name, path, extra=_TEMPORARY_EXTRA)
    if p.exists() and not p.is_dir():
        raise ValueError(f"{name} = {str(path)!r} is a file: a folder is required")
    return p


def check_output_dir(path, *, name: str = "out", create: bool = True) -> Path:
    """Check that ``path`` is (or can be created as) a writable folder.

    Parameters
    ----------
    path : str or path-like
        The output folder.
    name : str, optional
        Parameter name used in the error message (default ``"out"``).
    create : bool, optional
        Create the folder (with its parents) when missing (default True); else a missing
        folder is an error.

    Returns
    -------
    pathlib.Path
        The folder.

    Raises
    ------
    ValueError
        If ``path`` is empty or an existing file, is missing (``create`` False) or
        cannot be created, or is not writable.
    """
    p = check_folder_name(path, name=name)
    if not p.exists():
        if not create:
            raise ValueError(f"{name} = {str(path)!r} does not exist")
        try:
            p.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"{name} = {str(path)!r} is not usable: cannot create the "
                             f"folder ({exc.strerror or exc})") from None
    _probe_writable(p, name, path)
    return p


def write_checksummed(path, data: bytes) -> Path:
    """Write ``data`` followed by a SHA-256 trailer, atomically.

    The trailer is one line, ``# symrep-sha256: <hex>``, after the content; text files
    and Python modules stay valid. :func:`read_checksummed` verifies it.

    Parameters
    ----------
    path : str or path-like
        The destination; its folder must exist.
    data : bytes
        The content.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    digest = hashlib.sha256(data).hexdigest().encode()
    return atomic_write_bytes(path, data + CHECKSUM_MARK + digest + b"\n")


def read_checksummed(path):
    """The content written by :func:`write_checksummed`, or None if it fails the check.

    None means: the file is missing, unreadable, truncated, edited, or has no checksum.
    The caller recomputes the content in every such case.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    bytes or None
        The content without the trailer, or None.
    """
    try:
        raw = Path(path).read_bytes()
    except OSError:
        return None
    data, mark, trailer = raw.rpartition(CHECKSUM_MARK)
    if not mark:
        return None
    if hashlib.sha256(data).hexdigest().encode() + b"\n" != trailer:
        return None
    return data
