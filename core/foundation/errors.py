"""The project's own error type: one clear line that names the file and the problem."""

from __future__ import annotations

import os


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
