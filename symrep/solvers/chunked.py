"""Solve a flat batch of parameter points chunk by chunk: progress, checkpoints, resume.

Every eager sweep (:func:`symrep.sweep`, any number of units) runs its points through
:func:`solve_in_chunks`: the chunks are solved one after another with a progress bar
and, with a checkpoint folder, each finished chunk is saved atomically with a SHA-256
trailer (:mod:`symrep.io`; NumPy still reads it as a plain ``.npz``) under a name keyed
by the grid, the solver's settings and the symrep version. A chunk file that is
missing, truncated, edited, of the wrong length or without a field the sweep needs is
solved again instead of being trusted, so an interrupted sweep resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import io
import sys
from pathlib import Path

import numpy as np

from symrep._version import __version__
from symrep.io import read_checksummed, write_checksummed

__all__ = ["solve_in_chunks", "chunk_key"]


def chunk_key(flat, tag) -> str:
    """The key of a sweep's chunk files: the points and everything else they depend on.

    Parameters
    ----------
    flat : sequence of ndarray
        The points, one flat array per swept quantity.
    tag : str
        The solver's settings (chunk size, model key, strengths, ...).

    Returns
    -------
    str
        16 hex digits of a SHA-256 over the points, the tag and the symrep version.
    """
    text = f"{tag};{__version__}".encode()
    return hashlib.sha256(b"".join(np.asarray(f).tobytes() for f in flat) + text
                          ).hexdigest()[:16]


def _save(path, part):
    buffer = io.BytesIO()
    np.savez(buffer, **part)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_checksummed(path, buffer.getvalue())


def _load(path, size, fields, shapes):
    """The saved chunk, or None if it is missing, damaged, not ``size`` points long, or
    without one of ``fields`` or of the trailing ``shapes`` asked for."""
    data = read_checksummed(path)
    if data is None:
        return None
    try:
        with np.load(io.BytesIO(data)) as arrays:
            part = {name: arrays[name] for name in arrays.files}
    except Exception:  # a checksummed file that is no .npz (another program's): ignore
        return None
    if not set(fields) <= part.keys() or any(len(v) != size for v in part.values()):
        return None
    if any(part[name].shape[1:] != tuple(tail) for name, tail in shapes.items()):
        return None
    return part


def solve_in_chunks(flat, solve, *, prefix, key, chunk_size, progress=None,
                    checkpoint=None, fields=(), shapes=None):
    """Solve the points of ``flat`` in chunks; the fields of every point, concatenated.

    Parameters
    ----------
    flat : sequence of ndarray (n,)
        The points, one flat array per swept quantity.
    solve : callable
        ``solve(batch)`` with ``batch`` the slices of ``flat`` of one chunk; returns a
        dict of arrays whose first axis is the chunk's points.
    prefix : str
        Start of the chunk files' names (``sweep``, ``units``).
    key : str
        :func:`chunk_key` of the sweep.
    chunk_size : int
        Points per chunk.
    progress : bool or callable, optional
        Progress bar over the points (default: when stderr is a terminal and there is
        more than one chunk); a callable is called as ``progress(n)`` after each chunk
        of ``n`` points instead.
    checkpoint : path, optional
        Folder for the finished chunks; chunks found there are read, not solved.
    fields : iterable of str
        Fields a saved chunk must have to be trusted.
    shapes : dict, optional
        Trailing shape a saved chunk's field must have (``{"unit_state": (M,)}``).

    Returns
    -------
    dict
        Every field, the chunks concatenated along the first axis.
    """
    n = len(flat[0])
    chunks = range(0, n, chunk_size)
    show = ((sys.stderr.isatty() and len(chunks) > 1) if progress is None
            else bool(progress) and not callable(progress))
    bar = None
    if show:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, desc="sweep", unit="pt")
    parts = []
    for k, start in enumerate(chunks):
        sl = slice(start, min(start + chunk_size, n))
        path = Path(checkpoint) / f"{prefix}_{key}_{k:05d}.npz" if checkpoint else None
        part = (_load(path, sl.stop - sl.start, fields, shapes or {})
                if path is not None else None)
        if part is None:
            part = solve([f[sl] for f in flat])
            if path is not None:
                _save(path, part)
        parts.append(part)
        if bar is not None:
            bar.update(sl.stop - sl.start)
        elif callable(progress):
            progress(sl.stop - sl.start)
    if bar is not None:
        bar.close()
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
