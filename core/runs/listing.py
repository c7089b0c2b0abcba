"""Many runs at once: one row per run folder, with its status, epochs, best validation
AUC, test AUC, data and key hyperparameters, sortable.

:func:`run_row` reads one folder (``metrics.json`` + ``history.json`` when finished,
``events.jsonl`` otherwise; see :mod:`core.runs.history`) and never raises: a damaged or
hostile file is one line in the row's ``error``. :func:`scan` reads many, re-reading only
the folders whose files changed since the rows it is given (so polling is cheap);
:func:`sort_rows` orders them. ``chexmini runs`` and the app's Inspect screen both list
these rows.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.foundation import safe_io
from core.foundation.errors import ChexminiError, os_problem, shown_path
from core.foundation.numbers import is_int, is_number, show
from core.runs import layout
from core.runs.catalog import run_folders
from core.runs.checkpoint import read_metrics
from core.runs.history import HISTORY_FILE, read_history_file, read_log
from core.runs.status import STATUS_TEXT, lock_problem, run_status

#: the hyperparameters a row shows (config keys)
KEY_PARAMS = ("hidden_dims", "lr", "optimizer", "batch_size", "dropout", "weight_decay")
#: sort key -> (row attribute, is a number); numbers sort high first, text A→Z
SORT_KEYS: dict[str, tuple[str, bool]] = {
    "found": ("", False),              # the order given (artifacts, runs newest first, …)
    "started": ("started", True),      # when the run first started, newest first
    "name": ("name", False),
    "status": ("status", False),
    "epochs": ("epochs", True),
    "auc": ("best_val_auc", True),
    "test_auc": ("test_auc", True),
    "data": ("data", False),
}
_STATUS_ORDER = {s: i for i, s in enumerate(STATUS_TEXT)}
_WATCHED = (layout.METRICS, HISTORY_FILE, layout.EVENTS, layout.RESUME)


@dataclass
class RunRow:
    """One run folder as listed. ``epochs``: epochs done; ``planned``: the config's."""

    path: str
    status: str
    epochs: int | None = None
    planned: int | None = None
    best_epoch: int | None = None
    best_val_auc: float | None = None
    test_auc: float | None = None
    data: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    history: dict[str, list[float]] | None = None
    error: str | None = None          # one line: the file and what is wrong with it
    note: str | None = None           # e.g. "3 bad lines skipped in events.jsonl"
    stamp: tuple = ()                 # what the row was read from (see :func:`stamp_of`)
    started: float | None = None      # UNIX time its first session started (from the log)

    @property
    def name(self) -> str:
        """The folder's name (``SWEEP/NNN`` for a sweep's trial)."""
        return layout.trial_name(self.path) or Path(self.path).name or self.path

    def to_dict(self) -> dict[str, Any]:
        """The row for ``--json`` (no history)."""
        keys = ("path", "status", "epochs", "planned", "best_epoch", "best_val_auc",
                "test_auc", "data", "params", "error", "note", "started")
        return {"name": self.name, **{k: getattr(self, k) for k in keys}}


def stamp_of(path: str) -> tuple:
    """The status and ``(size, mtime)`` of the files a row is read from: equal stamps
    mean an equal row."""
    marks: list[Any] = [run_status(path)]
    for name in _WATCHED:
        try:
            st = os.stat(Path(path) / name)
        except (OSError, ValueError):
            marks.append(None)
        else:
            marks.append((st.st_size, st.st_mtime_ns))
    return tuple(marks)


def _one_line(exc: BaseException, path: Path) -> str:
    if isinstance(exc, ChexminiError):
        return str(exc)
    problem = os_problem(exc, getattr(exc, "filename", None) or path)
    return f"{shown_path(path)}: {problem or type(exc).__name__}"


def _from_config(row: RunRow, config: Any) -> None:
    config = config if isinstance(config, dict) else {}
    row.params = {k: config[k] for k in KEY_PARAMS if k in config}
    epochs = config.get("epochs")
    row.planned = epochs if is_int(epochs) else None


def _read_finished(row: RunRow, folder: Path) -> None:
    metrics = read_metrics(folder)
    _from_config(row, metrics.get("config"))
    data = metrics.get("data", {})
    row.data = str(data["source"]) if data.get("source") is not None else None
    row.best_epoch = metrics.get("best_epoch")
    row.best_val_auc = metrics.get("validation", {}).get("auc")
    row.test_auc = metrics.get("test", {}).get("auc")
    row.history = read_history_file(folder / HISTORY_FILE)
    row.epochs = len(row.history["val_auc"])


def _read_log(row: RunRow, folder: Path) -> None:
    log = folder / layout.EVENTS
    if not log.exists() and not log.is_symlink():
        row.note = ("no events.jsonl yet" if row.status == "running"
                    else "no events.jsonl (only the resume state)")
        return
    run = read_log(log)
    _from_config(row, run.config)
    row.data, row.history = run.source, run.history
    row.best_epoch, row.best_val_auc, row.test_auc = (run.best_epoch, run.best_val_auc,
                                                      run.test_auc)
    row.epochs = len(run.history["val_auc"])
    if run.bad_lines:
        row.note = f"{run.bad_lines} bad lines skipped in events.jsonl"


#: the first line of a log is the run_started event: config and split sizes, a few KiB
FIRST_LINE_BYTES = 1 << 20


def _first_event(folder: Path) -> dict | None:
    """The first line of ``folder``'s ``events.jsonl`` (the run_started event: config and
    split sizes, a few KiB) as a dict: a bounded read, links not followed; None when
    there is none or it is not a JSON object."""
    try:
        with safe_io.open_regular(folder / layout.EVENTS, follow=False) as fh:
            first = fh.read(FIRST_LINE_BYTES).split(b"\n", 1)[0]
        event = safe_io.parse_json(first, folder / layout.EVENTS)
    except (ChexminiError, OSError, ValueError):
        return None
    return event if isinstance(event, dict) else None


def started_at(folder: Path) -> float | None:
    """When the run in ``folder`` first started: the ``started_at`` of its log's first
    event; None when there is none or it is not a finite number (older logs, hostile
    files)."""
    value = (_first_event(folder) or {}).get("started_at")
    return float(value) if is_number(value, 0, 1e11) else None


def run_config(path: str) -> dict[str, Any]:
    """A run's settings: ``metrics.json``'s config when it has one, else its log's first
    event's; a :class:`ChexminiError` when neither can be read."""
    folder = Path(path)
    with contextlib.suppress(ChexminiError, OSError):
        config = read_metrics(folder).get("config")
        if isinstance(config, dict):
            return config
    config = (_first_event(folder) or {}).get("config")
    if not isinstance(config, dict):
        raise ChexminiError("no settings to read (no metrics.json config, no run_started "
                            "event)", folder)
    return config


def _read_incomplete(row: RunRow, folder: Path) -> None:
    """A log of a finished run without its checkpoint, or artifacts without metrics.json
    (reading that says what is missing or wrong)."""
    if (folder / layout.EVENTS).is_file():
        _read_log(row, folder)
        row.note = "; ".join(filter(None, (
            "the run finished but its checkpoint is not here (no metrics.json)", row.note)))
    else:
        _read_finished(row, folder)


def run_row(path: str) -> RunRow:
    """The row of one folder; never raises (problems go to ``error``, one line; a folder
    that cannot even be looked at is listed as ``incomplete`` with its error)."""
    folder = Path(path)
    try:
        stamp = stamp_of(path)
    except (ChexminiError, OSError, ValueError) as exc:
        return RunRow(path, "incomplete", error=_one_line(exc, folder))
    row = RunRow(path, stamp[0], stamp=stamp, started=started_at(folder))
    try:
        lock_problem(folder)
        if row.status == "missing":
            raise ChexminiError("folder not found", folder)
        if row.status == "finished":
            _read_finished(row, folder)
        elif row.status in ("running", "interrupted"):
            _read_log(row, folder)
        elif row.status == "incomplete":
            _read_incomplete(row, folder)
    except (ChexminiError, OSError, ValueError, TypeError, AttributeError,
            RecursionError) as exc:
        row.error = _one_line(exc, folder)
    return row


def _stamp(path: str) -> tuple:
    try:
        return stamp_of(path)
    except (ChexminiError, OSError, ValueError):
        return ()


def scan(paths: list[str], known: list[RunRow] | None = None) -> list[RunRow]:
    """A row per path, in order; a row of ``known`` is kept when its files are unchanged."""
    old = {r.path: r for r in known or ()}
    rows = []
    for p in paths:
        prev = old.get(p)
        rows.append(prev if prev is not None and prev.stamp and prev.stamp == _stamp(p)
                    else run_row(p))
    return rows


def sort_rows(rows: list[RunRow], key: str = "found", reverse: bool = False) -> list[RunRow]:
    """``rows`` ordered by ``key`` (one of :data:`SORT_KEYS`): numbers high first, text
    A→Z, status running → interrupted → finished → incomplete → empty → missing; ``reverse`` flips
    that. Rows without a value come last either way."""
    if key not in SORT_KEYS:
        raise ChexminiError(f"unknown sort key {key!r} (one of {', '.join(SORT_KEYS)})")
    attr, numeric = SORT_KEYS[key]
    if not attr:
        return list(reversed(rows)) if reverse else list(rows)

    def value(r: RunRow):
        v = getattr(r, attr)
        if attr == "status":
            return _STATUS_ORDER.get(v, len(_STATUS_ORDER))
        return -v if numeric and v is not None else v

    have = [r for r in rows if getattr(r, attr) is not None]
    have.sort(key=value, reverse=reverse)   # stable: equal values keep the given order
    return have + [r for r in rows if getattr(r, attr) is None]


#: the columns of a listing: (cell key, heading, sort key or "")
COLUMNS = (
    ("name", "run", "name"), ("status", "status", "status"), ("epochs", "epochs", "epochs"),
    ("auc", "val AUC", "auc"), ("test_auc", "test AUC", "test_auc"), ("data", "data", "data"),
    ("hidden", "hidden", ""), ("lr", "lr", ""), ("optimizer", "opt", ""),
    ("batch", "batch", ""), ("dropout", "drop", ""), ("wd", "wd", ""), ("note", "note", ""),
)


def _num(v: Any, spec: str) -> str:
    return show(v, spec) if is_number(v) else "—"


def cells(row: RunRow) -> dict[str, str]:
    """The row as text, one entry per :data:`COLUMNS` key (both front ends show these).
    ``epochs`` is ``done/planned``; the AUCs have 4 decimals; ``—`` where unknown."""
    p = row.params
    hidden = p.get("hidden_dims")
    done = "—" if row.epochs is None else str(row.epochs)
    return {
        "name": row.name, "status": row.status,
        "epochs": done + (f"/{row.planned}" if row.planned is not None else ""),
        "auc": _num(row.best_val_auc, ".4f"), "test_auc": _num(row.test_auc, ".4f"),
        "data": row.data or "—",
        "hidden": ",".join(map(str, hidden)) if isinstance(hidden, list) else "—",
        "lr": _num(p.get("lr"), "g"), "optimizer": str(p.get("optimizer", "—")),
        "batch": _num(p.get("batch_size"), "d") if isinstance(p.get("batch_size"), int)
        else "—",
        "dropout": _num(p.get("dropout"), "g"), "wd": _num(p.get("weight_decay"), "g"),
        "note": row.error or row.note or "",
    }


def list_runs(folder: str | os.PathLike[str]) -> list[RunRow]:
    """The rows of every sub-folder of ``folder`` (newest first); a ChexminiError when
    ``folder`` is not a folder."""
    p = Path(folder)
    if not p.exists():
        raise ChexminiError("runs folder not found", p)
    if not p.is_dir():
        raise ChexminiError("is not a folder (expected a folder of runs)", p)
    return scan(run_folders(p))


def matches(row: RunRow, query: str) -> bool:
    """``row`` has every word of ``query`` (case-insensitive) in its name, status, data or
    settings as listed (:func:`cells`): ``adam 0.3`` finds the Adam runs with dropout 0.3."""
    text = " ".join(cells(row).values()).lower()
    return all(word in text for word in query.lower().split())


def config_diff(configs: dict[str, dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """The settings that differ between runs: ``(setting, [value of each run, in order])``
    for every key whose shown value is not the same in all of ``configs`` (run name →
    config; a missing key shows as ``—``), in key order."""
    keys = sorted({k for c in configs.values() for k in c})
    out = []
    for key in keys:
        values = [_setting(c[key]) if key in c else "—" for c in configs.values()]
        if len(set(values)) > 1:
            out.append((key, values))
    return out


def _setting(value: Any) -> str:
    """A setting as shown in a diff: text as it is, anything else formatted (≤ 24 chars)."""
    text = value if isinstance(value, str) else show(value, "", 24)
    return text if len(text) <= 24 else text[:23] + "…"
