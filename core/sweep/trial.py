"""One trial of a sweep: an ordinary run folder, trained by iterating the generator.

:func:`run_trial` trains ``config`` in ``folder`` and calls ``report(epoch, val_auc)``
after every epoch; when it returns ``True`` the run is stopped (a *pruned* trial: its
best epoch restored and its artifacts written like any stopped run). What the folder
already holds decides where it starts:

- ``trial.json`` (the outcome, written last) → that outcome, nothing trained;
- ``resume.npz`` → resumed from it (bit-identical to an uninterrupted run), the epochs it
  had finished reported again first;
- anything else (nothing, or an event log and no saved state) → trained from the start.

The outcome's ``value`` is the best validation AUC; the test split is scored by the run
(every run folder holds it) but never read here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.data.dataset import DataSplits
from core.foundation import safe_io
from core.foundation.atomic import write_json
from core.foundation.config import TrainConfig
from core.foundation.errors import ChexminiError
from core.runs import layout
from core.runs.folder import ensure_free
from core.training.resume_state import load_resume_state
from core.training.train import TrainControl, train

#: The outcome of a trial, beside its run files.
TRIAL_RECORD = "trial.json"
STATES = ("complete", "pruned")


@dataclass(frozen=True)
class TrialOutcome:
    """``state``: complete or pruned; ``value``: best validation AUC; ``epochs``: epochs
    run; ``best_epoch``: the epoch it was reached."""

    state: str
    value: float
    epochs: int
    best_epoch: int
    params: dict[str, Any]


def read_outcome(folder: Path) -> TrialOutcome | None:
    """The recorded outcome of the trial in ``folder``, or ``None`` (none, or unreadable)."""
    path = folder / TRIAL_RECORD
    if not path.is_file():
        return None
    try:
        d = safe_io.read_json(path)
        out = TrialOutcome(str(d["state"]), float(d["value"]), int(d["epochs"]),
                           int(d["best_epoch"]), dict(d["params"]))
    except (ChexminiError, KeyError, TypeError, ValueError):
        return None
    return out if out.state in STATES else None


def run_trial(config: TrainConfig, data: DataSplits, folder: str | Path,
              params: dict[str, Any], report: Callable[[int, float], bool]) -> TrialOutcome:
    """Train (or resume, or recall) the trial in ``folder``; see the module docstring."""
    folder = Path(folder)
    done = read_outcome(folder)
    if done is not None:
        return done
    if folder.is_dir():
        ensure_free(folder)  # a previous owner still at work: before anything is reported
    resume = (folder / layout.RESUME).is_file()
    if resume:
        _, meta = load_resume_state(folder / layout.RESUME)
        for epoch, auc in enumerate(meta.get("history", {}).get("val_auc", []), start=1):
            report(epoch, float(auc))
    control = TrainControl()
    pruned, finished = False, None
    gen = train(config, data, folder, control=control, resume=resume, overwrite=not resume,
                step_events=False, health=False)
    try:
        for ev in gen:
            if ev.kind == "epoch" and not pruned and report(ev.epoch, ev.val_auc):
                pruned = True
                control.stop()
            elif ev.kind == "finished":
                finished = ev
    finally:
        gen.close()
    outcome = TrialOutcome("pruned" if pruned else "complete",
                           float(finished.validation["auc"]), finished.epochs_run,
                           finished.best_epoch, params)
    write_json(folder / TRIAL_RECORD, asdict(outcome))
    return outcome
