"""The checkpoint folders a front end offers, and what each one holds.

:func:`discover` lists ``artifacts``, ``runs/*`` (newest first) and any extra folders;
:func:`status_of` says what a folder is (a checkpoint, a run still training, a run that
stopped before writing artifacts, empty, missing) from a few ``stat`` calls, so it is
cheap enough to re-check on every screen visit; :func:`load_info` reads a folder's
summary (:func:`core.inference.checkpoint_summary`) and history, turning every problem
into a one-paragraph message instead of an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.events import read_all_events
from core.foundation.errors import ChexminiError
from core.foundation.safe_io import read_json
from core.runs import layout
from core.runs.checkpoint import checkpoint_summary
from core.runs.folder import owner_pid
from core.runs.schema import validate_history

#: what each status means, in a user's words (front ends show these)
STATUS_TEXT = {
    "ok": "checkpoint",
    "training": "training now",
    "unfinished": "stopped before its artifacts were written",
    "missing": "folder not found",
    "empty": "no checkpoint here",
}


@dataclass
class Entry:
    path: str
    status: str      # one of STATUS_TEXT


#: a run folder's state, in a user's words (the run table and ``chexmini runs`` show it)
RUN_STATUS = {
    "running": "a live process trains here (its lock is held)",
    "interrupted": "stopped before its artifacts were written; nothing trains here now",
    "finished": "artifacts present",
    "empty": "no run here",
    "missing": "folder not found",
}


def run_folders(runs: str | Path) -> list[str]:
    """The sub-folders of ``runs``, newest first (names start with a timestamp);
    ``[]`` when ``runs`` is not a folder."""
    runs_p = Path(runs)
    try:
        subs = [p for p in runs_p.iterdir() if p.is_dir()] if runs_p.is_dir() else []
    except OSError:
        return []
    subs.sort(key=lambda p: p.name, reverse=True)
    return [str(p) for p in subs]


def folders(artifacts: str, runs: str, extra: list[str]) -> list[str]:
    """The folders to list, in order: artifacts, runs/* (newest first), extra."""
    paths: list[str] = [artifacts, *run_folders(runs)]
    seen = {str(Path(q)) for q in paths}
    for e in extra:
        if e not in paths and str(Path(e)) not in seen:
            paths.append(e)
            seen.add(str(Path(e)))
    return paths


def discover(artifacts: str, runs: str, extra: list[str]) -> list[Entry]:
    """:func:`folders`, each with its :func:`status_of`."""
    return [Entry(p, status_of(p)) for p in folders(artifacts, runs, extra)]


def status_of(path: str) -> str:
    p = Path(path)
    if not p.is_dir():
        return "missing"
    if (p / layout.METRICS).is_file():
        return "ok"
    if (p / layout.EVENTS).is_file() or (p / layout.RESUME).is_file():
        return "training" if owner_pid(p) is not None else "unfinished"
    return "empty"


def run_status(path: str | Path) -> str:
    """One of :data:`RUN_STATUS`: ``running`` while a live process holds the folder's
    lock (:func:`core.runs.folder.owner_pid`), else ``finished`` with ``metrics.json``,
    ``interrupted`` with only ``events.jsonl`` or ``resume.npz`` (of any file type), else
    ``empty``."""
    p = Path(path)
    if not p.is_dir():
        return "missing"
    if owner_pid(p) is not None:
        return "running"
    if (p / layout.METRICS).is_file():
        return "finished"
    if any(_present(p / name) for name in (layout.EVENTS, layout.RESUME)):
        return "interrupted"   # a log that is not a regular file is read, and refused
    return "empty"


def _present(path: Path) -> bool:
    return path.exists() or path.is_symlink()


@dataclass
class Info:
    """What is shown for one checkpoint (``error`` when it cannot be read)."""

    path: str
    summary: dict | None = None
    history: dict | None = None
    error: str | None = None
    note: str | None = None      # e.g. "3 bad lines skipped in events.jsonl"


def events_note(path: str) -> str | None:
    """How many ``events.jsonl`` lines of a run are not valid events (None when none)."""
    log = Path(path) / layout.EVENTS
    if not log.exists() and not log.is_symlink():
        return None
    try:
        read = read_all_events(log)
    except (ChexminiError, OSError) as exc:
        return f"events.jsonl not read: {exc}"
    return f"{read.bad} bad lines skipped in events.jsonl" if read.bad else None


def load_info(path: str) -> Info:
    info = Info(path)
    st = status_of(path)
    if st == "missing":
        info.error = f"{path}: folder not found"
        return info
    info.note = events_note(path)
    try:
        info.summary = checkpoint_summary(path)
    except (ChexminiError, OSError) as exc:
        files = sorted(q.name for q in Path(path).iterdir() if q.is_file())
        if st in ("training", "unfinished"):
            hint = (f"a run without artifacts yet ({STATUS_TEXT[st]}) — press a to attach "
                    "and follow it")
        else:
            hint = "no checkpoint here"
        info.error = f"{exc}\n{hint}; files: {', '.join(files) or 'none'}"
        if info.note:
            info.error += f"\n{info.note}"
        return info
    history = Path(path) / layout.HISTORY
    try:
        info.history = validate_history(read_json(history), history)
    except ChexminiError as exc:
        info.history = None
        if history.exists():
            info.note = "; ".join(filter(None, (info.note, str(exc))))
    return info
