"""The shipped checkpoint, the default checkpoint, and the rule that nothing shipped is written.

The repository's top-level ``artifacts/`` folder is the shipped checkpoint; ``pip install``
puts the same files (one copy in the repository: ``setup.py`` maps the package onto the
folder) into the data-only package :data:`PACKAGE`. Both hold :data:`layout.SHIPPED_MARK
<core.runs.layout.SHIPPED_MARK>`.

- :func:`resolve_checkpoint` — the one road to "which checkpoint": the one given
  (``--checkpoint``) always wins; with none, ``./artifacts`` when present, else the copy
  installed with the package. The name ``artifacts`` given where no such folder exists
  means the installed copy too (so ``chexmini export artifacts runs/mine`` works anywhere).
  :meth:`CheckpointChoice.describe` is the line that says which one is used.
- :func:`refuse_shipped` — every writer of a checkpoint folder (``evaluate --save``,
  ``export``, the app's saves, training) asks it first: the shipped or installed
  checkpoint is refused in one line naming the way to a writable copy.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from core.foundation.errors import ChexminiError
from core.runs import layout

#: The shipped checkpoint's folder name (in the repository, and the default checkpoint).
DEFAULT_NAME = "artifacts"
#: The package the shipped checkpoint installs as.
PACKAGE = "chexmini_artifacts"
#: Where a :class:`CheckpointChoice` came from.
GIVEN, LOCAL, INSTALLED = "given", "local", "installed"
#: The command that makes a writable copy of the shipped checkpoint.
COPY_HINT = f"chexmini export {DEFAULT_NAME} runs/mine --format chexmini"


def installed_checkpoint() -> Path | None:
    """The folder of the checkpoint installed with the package, or None (not installed,
    or installed without it)."""
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    for where in (spec.submodule_search_locations or ()) if spec is not None else ():
        folder = Path(where)
        if (folder / layout.MODEL).is_file():
            return folder
    return None


@dataclass(frozen=True)
class CheckpointChoice:
    """The checkpoint a command or the app uses: its ``path`` and where it came from
    (:data:`GIVEN`, :data:`LOCAL` ``./artifacts``, or :data:`INSTALLED`)."""

    path: str
    source: str

    def label(self) -> str:
        """Its short name (for a header): the path, or ``artifacts (installed)``."""
        return f"{DEFAULT_NAME} (installed)" if self.source == INSTALLED else self.path

    def describe(self) -> str:
        """One line saying which checkpoint is used."""
        if self.source == INSTALLED:
            return (f"checkpoint: {self.path} (the shipped one, installed with chexmini; "
                    f"no ./{DEFAULT_NAME} here)")
        if self.source == LOCAL:
            return f"checkpoint: {self.path} (./{DEFAULT_NAME} in this folder)"
        return f"checkpoint: {self.path}"


def resolve_checkpoint(given: str | os.PathLike[str] | None) -> CheckpointChoice:
    """``given`` when given; else ``./artifacts`` when present, else the installed copy.
    ``artifacts`` given where no such folder exists is the installed copy too. With
    nothing found the path is the name itself (loading it then says it is missing)."""
    name = DEFAULT_NAME if given is None else os.fspath(given)
    source = LOCAL if given is None else GIVEN
    if os.path.lexists(name) or os.path.normpath(name) != DEFAULT_NAME:
        return CheckpointChoice(name, source)
    installed = installed_checkpoint()
    return CheckpointChoice(name, source) if installed is None else \
        CheckpointChoice(str(installed), INSTALLED)


def checkpoint_label(path: str | os.PathLike[str]) -> str:
    """A checkpoint's short name (for a header): ``artifacts (installed)`` for the copy
    installed with the package (as :func:`resolve_checkpoint` gives it), else the path."""
    installed = installed_checkpoint()
    if installed is not None and os.fspath(path) == str(installed):
        return f"{DEFAULT_NAME} (installed)"
    return os.fspath(path)


def is_shipped(path: str | os.PathLike[str]) -> bool:
    """``path`` (a folder, or a file in it) is the shipped checkpoint: it holds the
    shipped mark, or it is the copy installed with the package."""
    folder = Path(path)
    if folder.name == layout.MODEL and not folder.is_dir():
        folder = folder.parent
    if os.path.lexists(folder / layout.SHIPPED_MARK):
        return True
    installed = installed_checkpoint()
    try:
        return installed is not None and folder.resolve() == installed.resolve()
    except (OSError, RuntimeError):
        return False


def refuse_shipped(path: str | os.PathLike[str], what: str) -> None:
    """Raise one line when ``path`` is the shipped checkpoint: ``what`` (the write asked
    for) is refused and the way to a writable copy named."""
    if is_shipped(path):
        raise ChexminiError(f"is the checkpoint shipped with chexmini, which is never written "
                            f"({what}); make a writable copy first: {COPY_HINT}", path)
