"""Opening files that are read from, or appended to, without trusting what is there.

Where a file is expected only a regular file is accepted: a FIFO, a device (``/dev/zero``)
or a socket would block forever or never end. Files are opened with ``O_NONBLOCK`` (so a
FIFO with no writer does not block the ``open``), checked with ``fstat`` and only then
read, never more than a stated number of bytes. Appends inside a run folder do not follow
symbolic links. Every failure is a one-line :class:`ChexminiError` naming the file.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import IO, Any

from core.foundation.errors import ChexminiError

#: Default bound for text and JSON files (metrics.json with its curves is ~100 KB).
MAX_TEXT_BYTES = 64 << 20

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _os_problem(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "file not found"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ELOOP:
        return "is a symbolic link; refused (not followed inside a run folder)"
    if exc.errno == errno.ENXIO:
        return "is not a regular file (a FIFO or device with no reader)"
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    return exc.strerror or str(exc)


def open_fd(path: str | os.PathLike[str], flags: int = os.O_RDONLY, *,
            follow: bool = True, mode: int = 0o666) -> int:
    """``os.open`` that refuses anything but a regular file (never blocks on a FIFO).

    The returned descriptor is blocking again. ``follow=False`` refuses a symbolic link.
    """
    flags |= os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, mode)
    except OSError as exc:
        if exc.errno == errno.EISDIR:
            raise ChexminiError("is a directory, not a file", path) from None
        raise ChexminiError(_os_problem(exc), path) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ChexminiError(f"is {_kind(st.st_mode)}, not a regular file", path)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_regular(path: str | os.PathLike[str], *, follow: bool = True) -> IO[bytes]:
    """A binary file object for reading ``path``, which must be a regular file
    (``follow=False``: and not a symbolic link)."""
    return os.fdopen(open_fd(path, follow=follow), "rb")


def read_bytes(path: str | os.PathLike[str], limit: int = MAX_TEXT_BYTES, *,
               follow: bool = True) -> bytes:
    """The whole file, refused when it is larger than ``limit`` bytes."""
    with open_regular(path, follow=follow) as fh:
        try:
            data = fh.read(limit + 1)
        except OSError as exc:
            raise ChexminiError(f"cannot read the file ({_os_problem(exc)})", path) from None
    if len(data) > limit:
        raise ChexminiError(f"file is larger than {limit:,} bytes; refused", path)
    return data


def read_text(path: str | os.PathLike[str], limit: int = MAX_TEXT_BYTES,
              encoding: str = "utf-8") -> str:
    """The file decoded as text (bounded, regular files only)."""
    try:
        return read_bytes(path, limit).decode(encoding)
    except UnicodeDecodeError:
        raise ChexminiError("not a text file (invalid UTF-8)", path) from None


def parse_json(data: bytes | str, path: str | os.PathLike[str] | None = None) -> Any:
    """``json.loads`` whose every failure (including absurd nesting) is a ChexminiError."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ChexminiError("JSON is nested too deeply", path) from None
    except UnicodeDecodeError:
        raise ChexminiError("not a text file (invalid UTF-8)", path) from None
    except json.JSONDecodeError as exc:
        raise ChexminiError(f"not valid JSON (line {exc.lineno}: {exc.msg})", path) from None
    except ValueError:   # e.g. an integer of more digits than Python converts
        raise ChexminiError("not valid JSON (a number too long to read)", path) from None


def read_json(path: str | os.PathLike[str], limit: int = MAX_TEXT_BYTES) -> Any:
    """A JSON file (bounded, regular files only)."""
    return parse_json(read_text(path, limit), path)


def open_append(path: str | os.PathLike[str]) -> int:
    """A descriptor appending to ``path`` (created if missing); refuses symbolic links
    and anything but a regular file."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return open_fd(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, follow=False)


def write_all(fd: int, data: bytes, path: str | os.PathLike[str]) -> None:
    """Write every byte of ``data`` to ``fd`` (disk full etc. → ChexminiError)."""
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view):]
    except OSError as exc:
        raise ChexminiError(f"could not write file ({_os_problem(exc)})", path) from None
