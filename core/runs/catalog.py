"""The checkpoint folders a front end offers, and what each one holds.

:func:`discover` lists ``artifacts``, ``runs/*`` (newest first) and any extra folders,
each with its :func:`core.runs.status.run_status` (running, finished, interrupted, …);
:func:`load_info` reads a folder's summary (:func:`core.runs.checkpoint.checkpoint_summary`)
and history, turning every problem into a one-paragraph message instead of an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.events import read_all_events
from core.foundation.errors import ChexminiError
from core.foundation.safe_io import read_json
from core.runs import layout
from core.runs.checkpoint import checkpoint_summary
from core.runs.schema import validate_history
from core.runs.scores import with_auc_intervals
from core.runs.status import STATUS_TEXT, RunStatus, run_status


@dataclass
class Entry:
    path: str
    status: RunStatus      # see core.runs.status


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


def folders(artifacts: str, runs: str, extra: list[str],
            trials: list[str] | None = None) -> list[str]:
    """The folders to list, in order: artifacts, runs/* (newest first), the trial folders
    of sweeps (``trials``), extra."""
    paths: list[str] = [artifacts, *run_folders(runs), *(trials or [])]
    seen = {str(Path(q)) for q in paths}
    for e in extra:
        if e not in paths and str(Path(e)) not in seen:
            paths.append(e)
            seen.add(str(Path(e)))
    return paths


def discover(artifacts: str, runs: str, extra: list[str]) -> list[Entry]:
    """:func:`folders`, each with its :func:`core.runs.status.run_status`."""
    return [Entry(p, run_status(p)) for p in folders(artifacts, runs, extra)]


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


def _hint(status: RunStatus, path: str) -> str:
    """What a folder without a readable checkpoint is, and what to do with it."""
    if status in ("running", "interrupted"):
        return (f"a run without artifacts yet ({status}: {STATUS_TEXT[status]}) — press a "
                "to attach and follow it")
    if status == "finished":
        return "its checkpoint cannot be read"
    replay = " — press a to replay its log" if (Path(path) / layout.EVENTS).is_file() else ""
    return f"no checkpoint here ({status}: {STATUS_TEXT[status]}){replay}"


def load_info(path: str) -> Info:
    """A folder's summary and history; a running folder shows no checkpoint (any there is
    the previous run's, which its artifacts replace)."""
    info = Info(path)
    st = run_status(path)
    if st == "missing":
        info.error = f"{path}: folder not found"
        return info
    info.note = events_note(path)
    try:
        if st == "running":
            raise ChexminiError("training now; its checkpoint is written when the run "
                                "finishes", path)
        info.summary = with_auc_intervals(checkpoint_summary(path))
    except (ChexminiError, OSError) as exc:
        files = sorted(q.name for q in Path(path).iterdir() if q.is_file())
        info.error = f"{exc}\n{_hint(st, path)}; files: {', '.join(files) or 'none'}"
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
