"""The project's own error type: one clear line that names the file and the problem."""

from __future__ import annotations

import os


class ChexminiError(Exception):
    """A user-facing error. ``str(err)`` is a single line: ``<path>: <problem>``.

    Front ends print it as is (CLI exit code 2; the app shows it inline).
    """

    def __init__(self, problem: str, path: str | os.PathLike[str] | None = None) -> None:
        self.problem = " ".join(str(problem).split())
        self.path = None if path is None else os.fspath(path)
        super().__init__(f"{self.path}: {self.problem}" if self.path else self.problem)
