"""The project's own error type: one clear line that names the file and the problem."""

from __future__ import annotations

import errno
import os
from pathlib import Path


class ChexminiError(Exception):
    """A user-facing error. ``str(err)`` is a single line: ``<path>: <problem>``.

    Front ends print it as is (CLI exit code 2; the app shows it inline).
    """

    def __init__(self, problem: str, path: str | os.PathLike[str] | None = None) -> None:
        self.problem = " ".join(str(problem).split())
        self.path = None if path is None else shown_path(path)
        super().__init__(f"{self.path}: {self.problem}" if self.path else self.problem)


def shown_path(path: str | os.PathLike[str] | bytes) -> str:
    """``path`` as text for a one-line message: as is when printable, else quoted with
    escapes (a newline, a control character or undecodable bytes in a file name must not
    break the line or the terminal)."""
    text = os.fsdecode(os.fspath(path))
    if text.isprintable():
        return text
    return repr(text.encode("utf-8", "surrogateescape"))[1:] if not _encodable(text) \
        else repr(text)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


#: The usual longest file name (bytes); a longer path of short names breaks the path limit.
NAME_MAX = 255


def os_problem(exc: BaseException, path: str | os.PathLike[str] | None = None) -> str:
    """The problem of an ``OSError`` in words, on one line. "File name too long" is told
    apart: one name longer than :data:`NAME_MAX` bytes, or a path too long as a whole."""
    if getattr(exc, "errno", None) == errno.ENAMETOOLONG:
        path = path if path is not None else getattr(exc, "filename", None)
        if path is not None:
            parts = Path(os.fsdecode(os.fspath(path))).parts
            longest = max((len(os.fsencode(part)) for part in parts), default=0)
            if longest > NAME_MAX:
                return f"a name in the path is too long ({longest} bytes; at most {NAME_MAX})"
            return (f"the path is too long as a whole ({len(os.fsencode(os.fspath(path)))} "
                    "bytes), though each name in it is short enough")
    return " ".join((getattr(exc, "strerror", None) or str(exc) or type(exc).__name__).split())
