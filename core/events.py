"""Events yielded by :func:`core.training.train.train` — the only thing front ends consume.

Every event is a small dataclass that round-trips through JSON (``to_dict`` /
:func:`event_from_dict`), which is how ``RUN_DIR/events.jsonl`` lets another process
(``chexmini-tui --attach``) follow a run. Epochs and steps count from 1.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import json
import os
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, get_args, get_type_hints

import numpy as np

from core.foundation import safe_io
from core.foundation.errors import ChexminiError
from core.foundation.numbers import is_int, is_number, is_number_or_none


@dataclass
class Event:
    kind: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.kind, **asdict(self)}


@dataclass
class RunStarted(Event):
    """Sizes and configuration; ``start_epoch`` > 0 when a run is resumed. ``warnings``:
    lines to show once about the data (:func:`core.data.dataset.data_warnings`: given
    splits that cannot be grouped by patient, splits too small to mean much)."""

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
    warnings: list = field(default_factory=list)
    #: wall-clock time (UNIX seconds) this session of the run started (None: older logs)
    started_at: float | None = None


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
    ``val_*``: evaluation mode, accuracy at 0.5. ``health``: per layer
    ``{"fc1": {"w_norm": …, "grad_norm": …, "update_ratio": …, "act_mean": …, "act_std": …,
    "dead" | "saturated": …}, …}`` (:mod:`core.training.health`; numbers or ``None``); ``system``:
    ``{"cpu_percent", "rss_mb", "peak_rss_mb", "samples_per_s"}``
    (:mod:`core.training.system_stats`). Both are empty in logs written before they existed."""

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
    #: the epoch's own seconds: training steps and validation, not the time the consumer
    #: held the generator (a paused front end does not make the epoch look slow)
    seconds: float
    health: dict = field(default_factory=dict)
    system: dict = field(default_factory=dict)


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


@dataclass
class Templates(Event):
    """fc1's first units as small images, after an epoch (the Train screen's filter grid).

    ``units``: the first ``len(units)`` hidden units of fc1 in the grid's order
    (:func:`core.evaluation.templates.unit_order`: not dead first, ``‖w_j‖`` descending;
    ``dead[i]``: never active on the validation images); ``norms[i]`` = ``‖w_j‖``;
    ``data``: their templates mean-pooled to ``side × side``, each quantised to int8 as
    ``round(127 · t / scales[i])`` with ``scales[i] = max |t|``, base64 of the
    ``(N, side, side)`` bytes (:meth:`tiles` decodes). ``n_units``/``n_dead``: fc1's width
    and its dead units. Yielded by the trainer, not written to ``events.jsonl``."""

    kind: ClassVar[str] = "templates"
    epoch: int
    n_units: int
    n_dead: int
    side: int
    units: list
    norms: list
    dead: list
    scales: list
    data: str

    @classmethod
    def encode(cls, epoch: int, n_units: int, n_dead: int, units: np.ndarray,
               norms: np.ndarray, dead: np.ndarray, tiles: np.ndarray) -> Templates:
        """Quantise ``tiles: (N, side, side)`` (see the class docstring)."""
        tiles = np.asarray(tiles, dtype=np.float64)
        scales = np.abs(tiles).reshape(len(tiles), -1).max(axis=1, initial=0.0)
        safe = np.where(scales > 0, scales, 1.0)[:, None, None]
        q = np.clip(np.round(127 * tiles / safe), -127, 127).astype(np.int8)
        return cls(int(epoch), int(n_units), int(n_dead), int(tiles.shape[-1]),
                   [int(u) for u in units], [float(n) for n in norms],
                   [bool(d) for d in dead], [float(s) for s in scales],
                   base64.b64encode(q.tobytes()).decode("ascii"))

    def tiles(self) -> np.ndarray:
        """The templates ``(N, side, side)`` float32, ``t ≈ q · scale / 127``."""
        q = np.frombuffer(base64.b64decode(self.data), dtype=np.int8)
        q = q.reshape(len(self.units), self.side, self.side).astype(np.float32)
        return q * (np.asarray(self.scales, np.float32)[:, None, None] / 127)


@dataclass
class ControlDone(Event):
    """A ``pause``/``resume``/``save``/``stop`` request handled by the process that trains
    (:mod:`core.training.steering`): ``ok`` False when it was refused (``detail`` says
    why); ``by`` is ``"here"`` (the driver's own keys) or ``"pid N"`` (another process);
    ``global_step``: the steps done when it took effect."""

    kind: ClassVar[str] = "control"
    action: str
    request: str
    by: str
    ok: bool
    detail: str
    global_step: int


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls for cls in (RunStarted, StepDone, EpochEnd, CheckpointSaved, Finished,
                              Templates, ControlDone)
}

#: Bytes read from an events.jsonl per call (the rest is read by the next call); a line
#: longer than this is skipped as bad.
MAX_READ = 8 << 20


class UnknownEvent(ValueError):
    """An event kind this version does not know (skipped, for forward compatibility)."""


def _field_ok(value: Any, hint: Any) -> bool:
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return is_int(value)
    if hint is float:
        return is_number(value)
    if hint is str:
        return isinstance(value, str)
    if hint is dict or hint is list:
        return isinstance(value, hint)
    args = get_args(hint)  # ``str | None``
    return bool(args) and any(value is None if a is type(None) else _field_ok(value, a)
                              for a in args)


def _numbers_dict(d: dict, none_ok: bool = False) -> bool:
    check = is_number_or_none if none_ok else is_number
    return all(check(v) for v in d.values())


def _nested_ok(cls: type[Event], d: dict[str, Any]) -> bool:
    """What front ends read inside the dict/list fields has the right types."""
    if cls is RunStarted:
        dims = d["config"].get("hidden_dims", [])
        return (is_int(d["config"].get("epochs", 0))
                and isinstance(dims, list) and all(is_int(h) for h in dims)
                and all(is_number(v) for v in d["config"].values()
                        if isinstance(v, (int, float)) and not isinstance(v, bool))
                and all(is_int(w) for w in d["widths"])
                and all(isinstance(w, str) for w in d.get("warnings", []))
                and all(isinstance(v, dict) and is_int(v.get("n"))
                        and all(is_number(x) for x in v.values()
                                if isinstance(x, (int, float)) and not isinstance(x, bool))
                        for v in d["splits"].values()))
    if cls is Finished:
        return _numbers_dict(d["validation"]) and _numbers_dict(d["test"])
    if cls is Templates:
        return _templates_ok(d)
    if cls is EpochEnd:
        health, system = d.get("health", {}), d.get("system", {})
        return (_numbers_dict(system, none_ok=True)
                and all(isinstance(v, dict) and _numbers_dict(v, none_ok=True)
                        for v in health.values()))
    return True


def _templates_ok(d: dict[str, Any]) -> bool:
    """Lists of one length, of the right types, and ``data`` decoding to that many tiles."""
    n = len(d["units"])
    if not (all(is_int(u) for u in d["units"]) and all(is_number(v) for v in d["norms"])
            and all(is_number(v) for v in d["scales"])
            and all(isinstance(v, bool) for v in d["dead"])
            and len(d["norms"]) == len(d["scales"]) == len(d["dead"]) == n
            and 0 < d["side"] <= 64):
        return False
    try:
        size = len(base64.b64decode(d["data"], validate=True))
    except (binascii.Error, ValueError):
        return False
    return size == n * d["side"] ** 2


@functools.cache
def _schema(cls: type[Event]) -> tuple[dict[str, Any], tuple]:
    """The resolved type hints and fields of ``cls``, worked out once per class (not per
    line: resolving string annotations dominated reading a long log)."""
    return get_type_hints(cls), fields(cls)


def event_from_dict(d: Any) -> Event:
    """Inverse of ``Event.to_dict`` (unknown keys are ignored, for forward compatibility).

    Every field is checked against its annotated type; a field with a default may be
    absent (older logs); a ``ValueError`` says what is wrong (:class:`UnknownEvent` for
    an unknown kind)."""
    if not isinstance(d, dict):
        raise ValueError(f"expected a JSON object, got {type(d).__name__}")
    kind = d.get("event")
    if not isinstance(kind, str):
        raise ValueError(f"no event kind (got {kind!r:.40})")
    cls = EVENT_TYPES.get(kind)
    if cls is None:
        raise UnknownEvent(f"unknown event type {kind!r:.40}")
    hints, cls_fields = _schema(cls)
    for f in cls_fields:
        if f.name not in d:
            if f.default is MISSING and f.default_factory is MISSING:
                raise ValueError(f"{kind}: missing field {f.name!r}")
            continue
        if not _field_ok(d[f.name], hints[f.name]):
            raise ValueError(f"{kind}: field {f.name!r} has the wrong type")
    if not _nested_ok(cls, d):
        raise ValueError(f"{kind}: a nested value has the wrong type")
    return cls(**{f.name: d[f.name] for f in cls_fields if f.name in d})


class EventLog:
    """Append-only ``events.jsonl``: one JSON object per line, written per line.

    The file is opened without following symbolic links and must be a regular file; a
    failed write (e.g. a full disk) is a :class:`ChexminiError` naming the file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = safe_io.open_append(self.path)

    def write(self, event: Event) -> None:
        if self._fd is None:
            raise ChexminiError("event log already closed", self.path)
        safe_io.write_all(self._fd, (json.dumps(event.to_dict()) + "\n").encode("utf-8"),
                          self.path)

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.close(fd)


class EventsRead(NamedTuple):
    """What :func:`read_events` found: events, the offset to read from next time, and the
    number of lines skipped because they are not valid events."""

    events: list[Event]
    offset: int
    bad: int


def _parse_line(line: bytes) -> Event | None:
    """The event on ``line``; None for an unknown kind; ValueError when it is bad."""
    try:
        return event_from_dict(json.loads(line))
    except UnknownEvent:
        return None
    except (RecursionError, UnicodeDecodeError, TypeError) as exc:
        raise ValueError(str(exc)) from None


def read_events(path: str | os.PathLike[str], offset: int = 0) -> EventsRead:
    """Events from byte ``offset`` of an ``events.jsonl``, the offset after the last
    complete line (a line still being written is left for the next call) and how many
    bad lines were skipped. At most :data:`MAX_READ` bytes are read per call; only a
    regular file is read (anything else is a :class:`ChexminiError`)."""
    with safe_io.open_regular(path) as fh:
        fh.seek(offset)
        data = fh.read(MAX_READ)
    end = data.rfind(b"\n") + 1
    events: list[Event] = []
    bad = 0
    if end == 0 and len(data) == MAX_READ:  # one absurdly long line: skip this much of it
        return EventsRead(events, offset + len(data), 1)
    for line in data[:end].splitlines():
        if not line.strip():
            continue
        try:
            ev = _parse_line(line)
        except ValueError:
            bad += 1
            continue
        if ev is not None:
            events.append(ev)
    return EventsRead(events, offset + end, bad)


def read_all_events(path: str | os.PathLike[str]) -> EventsRead:
    """Every complete event of an ``events.jsonl``, however long: :func:`read_events`
    called from offset 0 until it stops advancing (``MAX_READ`` bytes at a time)."""
    events: list[Event] = []
    offset, bad = 0, 0
    while True:
        read = read_events(path, offset)
        events += read.events
        bad += read.bad
        if read.offset == offset:
            return EventsRead(events, offset, bad)
        offset = read.offset
