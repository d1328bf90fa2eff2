"""Atomic file writes and strict JSON for run outputs.

Every file of a run is written to a temporary file in the target's own directory, flushed
and fsynced, then renamed over the target with `os.replace` (atomic on POSIX and Windows
within one file system). A reader therefore sees either the old file or the complete new
one, never a partial write, and a write that fails (an exception, Ctrl-C) removes its
temporary file and leaves the target untouched.
"""

import contextlib
import io
import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()  # what open() would give a new file


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: str | os.PathLike[str], write: Callable[[IO[bytes]], object]) -> Path:
    """Write a file atomically: `write(f)` fills a temporary file that then replaces `path`.

    Parameters
    ----------
    path : str or os.PathLike
        The target; its directory must exist. An existing file is replaced.
    write : callable
        Called once with a binary file object open for writing.

    Returns
    -------
    pathlib.Path
        `path`.

    Raises
    ------
    BaseException
        Whatever `write` raises, after the temporary file has been removed; `path` is then
        unchanged (absent, or its previous content).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return path


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write `text` as UTF-8 to `path` atomically; see `write_atomic`."""
    data = text.encode("utf-8")
    return write_atomic(path, lambda f: f.write(data))


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> Path:
    """Serialize `obj` as strict JSON (no NaN/Infinity) into `path` atomically.

    The object is streamed into the temporary file, so a value that cannot be serialized
    raises part-way through writing, and (by `write_atomic`) leaves no file behind. Use
    `to_jsonable` first for NumPy/JAX values and non-finite floats.

    Parameters
    ----------
    path : str or os.PathLike
        The target file.
    obj : Any
        A JSON-serializable object (dicts with string keys, lists, str, int, finite
        float, bool, None).

    Returns
    -------
    pathlib.Path
        `path`.

    Raises
    ------
    TypeError, ValueError
        For an object JSON cannot represent; no file is written.
    """

    def write(f: IO[bytes]) -> None:
        text = io.TextIOWrapper(f, encoding="utf-8", newline="\n")
        try:
            json.dump(obj, text, indent=2, allow_nan=False)
            text.write("\n")
            text.flush()
        finally:
            text.detach()

    return write_atomic(path, write)


def to_jsonable(obj: Any) -> Any:
    """Convert results to plain JSON values.

    NumPy and JAX scalars and arrays become Python numbers and (nested) lists, tuples
    become lists, and the non-finite floats, which strict JSON cannot hold, become the
    strings `"NaN"`, `"Infinity"` and `"-Infinity"`.

    Parameters
    ----------
    obj : Any
        Nested dicts (string keys), lists, tuples, scalars and arrays.

    Returns
    -------
    Any
        The same structure, built from JSON types only.

    Raises
    ------
    TypeError
        For a mapping key that is not a string, or a value of another type.
    """
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        if math.isfinite(obj):
            return obj
        return "NaN" if math.isnan(obj) else ("Infinity" if obj > 0 else "-Infinity")
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError(f"result keys must be strings; got {k!r} of type {type(k)}.")
            out[k] = to_jsonable(v)
        return out
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if hasattr(obj, "__array__") and hasattr(obj, "dtype") and hasattr(obj, "shape"):
        return to_jsonable(np.asarray(obj).tolist())  # jax.Array, np.ndarray
    raise TypeError(
        f"cannot store a value of type {type(obj).__name__} in results.json: {obj!r:.80}"
    )
