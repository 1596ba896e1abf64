"""JSON Lines I/O: the one reader and writer behind every JSONL file of ttc_fast (the eval log, the selector's
journal, problems files, samples files, lm-eval logs).

One rule for a damaged file (docs/formats.md, "JSON Lines"):

- A line is one JSON value, UTF-8, terminated by ``\\n``; blank lines are skipped.
- An *unterminated last line* is what an interrupted append leaves (appends are one ``write``, and the newline is
  its last byte). If it is a complete JSON object or array, only the newline was lost and the record is kept;
  otherwise it is skipped with a :class:`PartialLineWarning` naming ``file:line``.
- Any other line that is not valid UTF-8 or not valid JSON raises :class:`JSONLError` (a ValueError) naming
  ``file:line`` and the column.

Writers: :func:`append` adds one record as one line with a single ``write`` + ``flush`` + ``fsync`` (after cutting
off a partial last line left by an earlier writer, or restoring a lost newline); :func:`write` replaces a whole
file atomically (temporary file, fsync, rename). Values are written as compact ASCII JSON (non-ASCII text escaped);
numpy scalars and arrays are converted, other non-JSON types raise TypeError. NaN and +-Infinity are written and
read the way Python's ``json`` module does (``NaN``, ``Infinity``), an extension of strict JSON.
"""
from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["JSONLError", "PartialLineWarning", "iter_lines", "read", "append", "write", "dumps", "repair_tail"]

_CHUNK = 1 << 16


class JSONLError(ValueError):
    """A line that cannot be read: ``path``, ``lineno`` (1-based) and ``problem`` (e.g. "not valid JSON (...)")."""

    def __init__(self, path: str, lineno: int, problem: str):
        super().__init__(f"{path}:{lineno}: {problem}")
        self.path, self.lineno, self.problem = path, lineno, problem


class PartialLineWarning(UserWarning):
    """An unterminated, incomplete last line (an interrupted append) was skipped or cut off."""


def _name(path: Any) -> str:
    try:
        return os.fspath(path)
    except TypeError:
        return str(path)


def _open_rb(path: Any):
    if isinstance(path, (str, os.PathLike)):
        return open(path, "rb")
    return path.open("rb")  # an importlib.resources Traversable


def _decode(raw: bytes, path: str, lineno: int) -> Any:
    """One line's JSON value; JSONLError naming the line (and column) otherwise."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        col = raw[:err.start].decode("utf-8", "replace")
        raise JSONLError(path, lineno, f"not valid UTF-8 (byte 0x{raw[err.start]:02x} at column {len(col) + 1})"
                         ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise JSONLError(path, lineno, f"not valid JSON ({err.msg} at column {err.colno})") from None
    except RecursionError:
        raise JSONLError(path, lineno, "not valid JSON (nested too deeply for the parser)") from None


def _complete(value: Any) -> bool:
    """A truncated line can parse as a number or a string prefix, never as a closed object or array."""
    return isinstance(value, (dict, list))


def iter_lines(path: str | os.PathLike | Any, *, warn: bool = True) -> Iterator[tuple[int, Any]]:
    """``(lineno, value)`` for every non-blank line of ``path`` (1-based line numbers), streaming: memory is bounded
    by the longest line. Applies the module's rule for an unterminated last line (``warn=False`` skips it
    without a warning, for callers that report it themselves). FileNotFoundError for a missing file."""
    name = _name(path)
    with _open_rb(path) as f:
        for lineno, raw in enumerate(f, start=1):
            if not raw.endswith(b"\n"):  # only the last line can lack its newline
                if not raw.strip():
                    return
                try:
                    value = _decode(raw, name, lineno)
                except JSONLError:
                    value = None
                if _complete(value):
                    yield lineno, value
                elif warn:
                    warnings.warn(PartialLineWarning(
                        f"{name}:{lineno}: skipped an unterminated, incomplete last line (an interrupted append); "
                        f"the lines before it are read"), stacklevel=3)
                return
            if raw.strip():
                yield lineno, _decode(raw, name, lineno)


def read(path: str | os.PathLike | Any, *, missing_ok: bool = False) -> list[tuple[int, Any]]:
    """All ``(lineno, value)`` pairs of ``path`` (see :func:`iter_lines`); ``missing_ok``: a missing file is
    empty (otherwise FileNotFoundError)."""
    if missing_ok and isinstance(path, (str, os.PathLike)) and not os.path.exists(path):
        return []
    return list(iter_lines(path))


def _tail(f, size: int) -> tuple[int, bytes]:
    """``(offset, bytes)`` of the text after the last newline of an open binary file of ``size`` bytes."""
    pos, tail = size, b""
    while pos > 0:
        step = min(_CHUNK, pos)
        pos -= step
        f.seek(pos)
        chunk = f.read(step)
        i = chunk.rfind(b"\n")
        if i >= 0:
            return pos + i + 1, chunk[i + 1:] + tail
        tail = chunk + tail
    return 0, tail


def repair_tail(path: str | os.PathLike) -> int | None:
    """Makes ``path`` end with a complete line: a lost newline after a complete record is restored; an
    incomplete unterminated last line is cut off (with a :class:`PartialLineWarning`). Returns the line number
    that was cut off, or None. A missing or empty file is left alone."""
    name = _name(path)
    if not os.path.exists(path):
        return None
    with open(path, "rb+") as f:
        size = f.seek(0, os.SEEK_END)
        if size == 0:
            return None
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return None
        offset, tail = _tail(f, size)
        try:
            keep = bool(tail.strip()) and _complete(_decode(tail, name, 0))
        except JSONLError:
            keep = False
        if keep or not tail.strip():
            f.seek(size)
            f.write(b"\n")
            f.flush()
            os.fsync(f.fileno())
            return None
        f.seek(0)
        lineno = 1
        while f.tell() < offset:
            lineno += f.read(min(_CHUNK, offset - f.tell())).count(b"\n")
        f.truncate(offset)
        f.flush()
        os.fsync(f.fileno())
    warnings.warn(PartialLineWarning(f"{name}:{lineno}: cut off an unterminated, incomplete last line (an "
                                     f"interrupted append)"), stacklevel=2)
    return lineno


def _default(value: Any) -> Any:
    import numpy as np  # numpy is a dependency; imported here to keep this module importable on its own

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"a {type(value).__name__} is not JSON-serialisable (a JSONL record holds dicts, lists, "
                    f"strings, numbers, booleans and null)")


def dumps(record: Any) -> bytes:
    """One record as one line: compact ASCII JSON + ``\\n``."""
    return (json.dumps(record, separators=(",", ":"), default=_default) + "\n").encode("ascii")


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def append(path: str | os.PathLike, record: Any) -> None:
    """Appends ``record`` as one line, durably: a single ``write``, then ``flush`` and ``fsync`` (and the
    directory's ``fsync`` when the file is new), so a crash leaves at most one partial last line. A partial last
    line left by an earlier writer is cut off first (:func:`repair_tail`)."""
    line = dumps(record)  # serialisation errors before the file is touched
    new = not os.path.exists(path)
    if not new:
        repair_tail(path)
    with open(path, "ab") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())
    if new:
        _fsync_dir(os.fspath(path))


def write(path: str | os.PathLike, records: Iterable[Any]) -> None:
    """Writes a whole file atomically: a temporary file beside ``path``, fsync, rename over ``path``. A failure
    (an unserialisable record, a full disk) leaves ``path`` as it was."""
    name = os.fspath(path)
    tmp = f"{name}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            for rec in records:
                f.write(dumps(rec))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, name)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_dir(name)
