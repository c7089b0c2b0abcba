"""A run's per-epoch history and headline numbers, from whichever file it has.

A finished run has ``history.json`` (one list per :data:`core.runs.checkpoint.HISTORY_KEYS`
entry, one value per epoch); a run still training or interrupted has only
``events.jsonl``, whose ``epoch`` events carry the same numbers. :func:`fold_events`
turns a log into what the run looks like now (a resumed run drops the epochs recorded
after the state it resumed from, exactly as the Train screen does); :func:`load_history`
reads the right file for the run's status. Every problem is a :class:`ChexminiError`
naming the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from core.events import EpochEnd, Event, Finished, RunStarted, read_all_events
from core.foundation.errors import ChexminiError
from core.foundation.safe_io import read_json
from core.runs import layout
from core.runs.checkpoint import HISTORY_KEYS
from core.runs.schema import validate_history

HISTORY_FILE = layout.HISTORY
#: what an overlay plots: every history must have these
PLOTTED = ("train_loss", "val_loss", "val_auc")


@dataclass
class RunLog:
    """What an ``events.jsonl`` says about a run (the last run started in it)."""

    history: dict[str, list[float]] = field(
        default_factory=lambda: {k: [] for k in HISTORY_KEYS})
    config: dict = field(default_factory=dict)
    source: str | None = None
    best_epoch: int | None = None
    best_val_auc: float | None = None
    test_auc: float | None = None     # only when the log holds a ``finished`` event
    bad_lines: int = 0


def fold_events(events: list[Event]) -> RunLog:
    """The run as the events leave it. An ``epoch`` event for epoch *e* sets entry
    *e*−1 of every history list (later entries, from before a resume, are dropped); a
    ``run_started`` that is not a resume starts the history over."""
    log = RunLog()
    for ev in events:
        if isinstance(ev, RunStarted):
            keep = int(ev.start_epoch) if ev.resumed else 0
            log.history = {k: v[:keep] for k, v in log.history.items()}
            log.config, log.source, log.test_auc = dict(ev.config), ev.source, None
            if not ev.resumed:
                log.best_epoch = log.best_val_auc = None
        elif isinstance(ev, EpochEnd):
            values = (ev.train_loss, ev.reg_loss, ev.val_loss, ev.val_acc, ev.val_auc, ev.lr)
            for key, value in zip(HISTORY_KEYS, values, strict=True):
                kept = log.history[key]      # in place: a copy per epoch is quadratic
                del kept[ev.epoch - 1:]
                kept.append(float(value))
            log.best_epoch, log.best_val_auc = ev.best_epoch, float(ev.best_val_auc)
        elif isinstance(ev, Finished):
            auc = ev.test.get("auc")
            log.test_auc = float(auc) if auc is not None else None
            log.best_epoch = ev.best_epoch
    return log


def read_log(path: str | os.PathLike[str]) -> RunLog:
    """Fold a whole ``events.jsonl`` (:func:`core.events.read_all_events`)."""
    read = read_all_events(path)
    log = fold_events(read.events)
    log.bad_lines = read.bad
    return log


def read_history_file(path: str | os.PathLike[str]) -> dict[str, list[float]]:
    """``history.json``, checked: equally long lists of numbers, :data:`PLOTTED` present."""
    path = Path(path)
    history = validate_history(read_json(path), path)
    missing = [k for k in PLOTTED if k not in history]
    if missing:
        raise ChexminiError(f"no {', '.join(missing)} in the history", path)
    return history


def load_history(folder: str | os.PathLike[str], finished: bool) -> dict[str, list[float]]:
    """A run's per-epoch history: ``history.json`` when the run is ``finished``, else
    the ``epoch`` events of ``events.jsonl``. ``{key: [value per epoch]}``."""
    folder = Path(folder)
    if finished:
        return read_history_file(folder / HISTORY_FILE)
    log = folder / layout.EVENTS
    if not log.exists() and not log.is_symlink():
        raise ChexminiError("no events.jsonl (nothing recorded yet)", folder)
    return read_log(log).history
