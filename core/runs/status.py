"""What a run folder is now: one word, decided in one order (:func:`run_status`).

The first case that applies wins:

1. ``missing`` — not a folder.
2. ``running`` — a live process holds the folder's lock (:func:`core.runs.folder.owner_pid`),
   whatever files are there: a run started with ``--overwrite`` keeps the old checkpoint
   (``metrics.json`` …) until its own artifacts replace it, and it is still this run.
3. ``finished`` — a complete checkpoint: ``metrics.json`` (written last of the artifact set,
   so a folder with it holds them all).
4. ``interrupted`` — resumable state (``resume.npz``), or an event log whose run has no end
   (its last event is not ``finished``). A log that cannot be read as a file (a FIFO, a
   device) counts as one with no end; it is never opened for more than an ``fstat``
   (:mod:`core.foundation.safe_io`), and the listing's reader says what it is.
5. ``incomplete`` — run files and none of the above: a log of a run that finished with no
   checkpoint beside it (the artifacts were removed), or artifact files without
   ``metrics.json``.
6. ``empty`` — no run files at all.

Deciding takes a lock probe, a few ``stat`` calls and, for a folder with a log and no
checkpoint, a read of the log's last few kilobytes — cheap enough to re-check on every
poll. ``chexmini runs``, the app's Inspect table and its command palette all use it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

from core.events import Finished
from core.foundation import safe_io
from core.foundation.errors import ChexminiError
from core.runs import layout
from core.runs.folder import owner_pid

RunStatus = Literal["running", "finished", "interrupted", "incomplete", "empty", "missing"]

#: every status, in the order a listing sorts them, with its meaning in a user's words
STATUS_TEXT: dict[str, str] = {
    "running": "training now (a live process holds the folder's lock)",
    "interrupted": "stopped before its artifacts were written; nothing trains here now",
    "finished": "a complete checkpoint",
    "incomplete": "run files but no checkpoint, and nothing to resume",
    "empty": "no run here",
    "missing": "folder not found",
}
#: how much of the end of an event log is read to find its last event
TAIL = 64 << 10


def run_status(path: str | os.PathLike[str]) -> RunStatus:
    """The status of the folder ``path`` (see the module docstring for the order)."""
    p = Path(path)
    if not p.is_dir():
        return "missing"
    try:
        if owner_pid(p) is not None:
            return "running"
    except ChexminiError:
        pass  # a lock file we refuse to open: :func:`lock_problem` reports it
    if (p / layout.METRICS).is_file():
        return "finished"
    if _present(p / layout.RESUME):
        return "interrupted"
    log = p / layout.EVENTS
    if _present(log):
        return "incomplete" if log_ended(log) else "interrupted"
    if any(_present(p / name) for name in (*layout.ARTIFACT_FILES, layout.SPLITS)):
        return "incomplete"
    return "empty"


def lock_problem(path: str | os.PathLike[str]) -> None:
    """Raise the one-line :class:`ChexminiError` of a lock file that cannot be trusted
    (a symbolic link, FIFO, directory, unreadable…); nothing when it is fine or absent."""
    if Path(path).is_dir():
        owner_pid(Path(path))


def log_ended(log: str | os.PathLike[str]) -> bool:
    """Whether the last complete line of an event log is a ``finished`` event. False for
    a log that is a symbolic link (never followed) or not a regular file (never blocks on
    a FIFO), unreadable or cut short."""
    try:
        with safe_io.open_regular(log, follow=False) as fh:
            size = os.fstat(fh.fileno()).st_size
            fh.seek(max(0, size - TAIL))
            data = fh.read(TAIL)
    except (ChexminiError, OSError):
        return False
    for line in reversed(data[:data.rfind(b"\n") + 1].splitlines()):
        if line.strip():
            try:
                last = json.loads(line)
            except (ValueError, RecursionError):
                return False
            return isinstance(last, dict) and last.get("event") == Finished.kind
    return False


def _present(path: Path) -> bool:
    """There in any form (a dangling symbolic link or a FIFO too)."""
    return path.exists() or path.is_symlink()
