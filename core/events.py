"""Events yielded by :func:`core.train.train` — the only thing front ends consume.

Every event is a small dataclass that round-trips through JSON (``to_dict`` /
:func:`event_from_dict`), which is how ``RUN_DIR/events.jsonl`` lets another process
(``chexmini-tui --attach``) follow a run. Epochs and steps count from 1.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, ClassVar


@dataclass
class Event:
    kind: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.kind, **asdict(self)}


@dataclass
class RunStarted(Event):
    """Sizes and configuration; ``start_epoch`` > 0 when a run is resumed."""

    kind: ClassVar[str] = "run_started"
    config: dict
    splits: dict
    widths: list
    n_params: int
    source: str
    out_dir: str | None
    start_epoch: int
    start_step: int
    resumed: bool
    steps_per_epoch: int


@dataclass
class StepDone(Event):
    kind: ClassVar[str] = "step"
    epoch: int
    epochs: int
    step: int
    steps_per_epoch: int
    global_step: int
    loss: float
    lr: float
    samples_per_s: float


@dataclass
class EpochEnd(Event):
    """``train_loss``: mean training BCE over the epoch (dropout and augmentation on);
    ``reg_loss``: the regularisation term λ/2 Σ‖W‖² (+ μ Σ‖W‖₁), as in the published
    ``history.json`` — the regularised objective is ``train_loss + reg_loss``;
    ``val_*``: evaluation mode, accuracy at 0.5."""

    kind: ClassVar[str] = "epoch"
    epoch: int
    epochs: int
    train_loss: float
    reg_loss: float
    val_loss: float
    val_auc: float
    val_acc: float
    lr: float
    is_best: bool
    best_epoch: int
    best_val_auc: float
    seconds: float


@dataclass
class CheckpointSaved(Event):
    """``what`` is ``"resume"`` (the resumable state) or ``"artifacts"`` (the final set)."""

    kind: ClassVar[str] = "checkpoint"
    path: str
    epoch: int
    step: int
    what: str


@dataclass
class Finished(Event):
    """The run is complete: best checkpoint restored, test split scored once."""

    kind: ClassVar[str] = "finished"
    out_dir: str | None
    best_epoch: int
    epochs_run: int
    threshold: float
    validation: dict
    test: dict
    stopped_early: bool
    seconds: float


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls for cls in (RunStarted, StepDone, EpochEnd, CheckpointSaved, Finished)
}


def event_from_dict(d: dict[str, Any]) -> Event:
    """Inverse of ``Event.to_dict`` (unknown keys are ignored, for forward compatibility)."""
    cls = EVENT_TYPES.get(d.get("event", ""))
    if cls is None:
        raise ValueError(f"unknown event type {d.get('event')!r}")
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in d.items() if k in names})


class EventLog:
    """Append-only ``events.jsonl``: one JSON object per line, flushed per line."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def write(self, event: Event) -> None:
        self._fh.write(json.dumps(event.to_dict()) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def read_events(path: str | os.PathLike[str], offset: int = 0) -> tuple[list[Event], int]:
    """Events from byte ``offset`` of an ``events.jsonl``, and the offset after the last
    complete line (a line still being written is left for the next call)."""
    events: list[Event] = []
    with open(path, "rb") as fh:
        fh.seek(offset)
        data = fh.read()
    end = data.rfind(b"\n") + 1
    for line in data[:end].splitlines():
        if line.strip():
            try:
                events.append(event_from_dict(json.loads(line)))
            except (ValueError, TypeError):
                continue
    return events, offset + end
