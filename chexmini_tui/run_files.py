"""What the Train screen reads from run folders: the run to resume, the events of an
earlier run (replayed on resume), and a followed ``events.jsonl`` (attach mode).

Screens only lay out and wire; the file reading lives here (engine readers from
:mod:`core.events` and :mod:`core.runs.folder`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from chexmini_tui.state import RunDisplayState
from core.events import Event, read_all_events, read_events
from core.foundation.errors import ChexminiError
from core.runs import layout
from core.runs.folder import owner_pid


def interrupted_run(out: str, runs_dir: str | Path) -> Path | None:
    """The run to resume: ``out`` if it holds ``resume.npz`` (``None`` if not), else —
    ``out`` empty — the newest interrupted run under ``runs_dir`` that no live process is
    training (if every one is live, the newest — refused by the caller, naming its owner)."""
    if out:
        return Path(out) if (Path(out) / layout.RESUME).is_file() else None
    runs = sorted((p.parent for p in Path(runs_dir).glob(f"*/{layout.RESUME}")),
                  key=lambda d: (d / layout.RESUME).stat().st_mtime, reverse=True)
    free = [d for d in runs if owner_pid(d) is None]
    return (free or runs or [None])[0]


def replay(run_dir: str | Path) -> RunDisplayState:
    """A :class:`RunDisplayState` with the events of ``run_dir/events.jsonl`` applied (empty if
    the log is missing or unreadable: the resumed run reports its own progress)."""
    state = RunDisplayState()
    log = Path(run_dir) / layout.EVENTS
    if log.is_file():
        try:
            read = read_all_events(log)
            state.apply_all(read.events)
            state.bad_lines += read.bad
        except (OSError, ChexminiError):
            pass
    return state


@dataclass
class FollowRead:
    """One poll of a followed log: new ``events``, ``bad`` lines skipped, ``restarted``
    (the file shrank: the run started over, read from the top), or a ``problem``."""

    events: list[Event] = field(default_factory=list)
    bad: int = 0
    restarted: bool = False
    problem: str = ""


class EventFollower:
    """Reads the lines appended to a run's ``events.jsonl`` since the last poll."""

    def __init__(self, run_dir: str | Path) -> None:
        p = Path(run_dir)
        self.path = p if p.name == layout.EVENTS else p / layout.EVENTS
        self.offset = 0
        self.last_event_time = time.monotonic()

    @property
    def run_dir(self) -> Path:
        return self.path.parent

    def quiet_for(self) -> float:
        """Seconds since the last new event (or since following began)."""
        return time.monotonic() - self.last_event_time

    def poll(self) -> FollowRead:
        """The events appended since the last poll (see :class:`FollowRead`)."""
        try:
            size = self.path.stat().st_size
        except OSError:
            return FollowRead(problem=f"waiting for {self.path} …")
        restarted = size < self.offset
        if restarted:
            self.offset = 0
        try:
            events, self.offset, bad = read_events(self.path, self.offset)
        except OSError as exc:
            return FollowRead(restarted=restarted,
                              problem=f"cannot read {self.path}: {exc.strerror or exc}")
        except ChexminiError as exc:
            return FollowRead(restarted=restarted, problem=f"cannot follow: {exc}")
        if events:
            self.last_event_time = time.monotonic()
        return FollowRead(events, bad, restarted)
