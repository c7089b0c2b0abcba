"""The names of the files in a run folder — the one place they are written down.

A run folder is a checkpoint folder (the published artifact set, :data:`ARTIFACT_FILES`,
plus ``splits.json``) with the training files beside it: the event log, the resumable
state and the lock that makes one process its only writer (:mod:`core.runs.folder`).
"""

from __future__ import annotations

import os
from pathlib import Path

MODEL = "model.npz"
METRICS = "metrics.json"
HISTORY = "history.json"
VAL_SCORES, VAL_LABELS = "val_scores.npy", "val_labels.npy"
TEST_SCORES, TEST_LABELS = "test_scores.npy", "test_labels.npy"
LOSS_CURVE = "loss_curve.png"
#: file name and patient of every scored image, in score order (:mod:`core.runs.splits`)
SPLITS = "splits.json"
#: the training files
EVENTS = "events.jsonl"
RESUME = "resume.npz"
LOCK = ".chexmini.lock"
#: a pause/resume/save/stop request to the process that trains (:mod:`core.training.steering`)
CONTROL = ".chexmini.control.json"
#: the model card, rendered from ``metrics.json`` (:mod:`core.runs.release.card`)
CARD = "README.md"
#: the mark of the shipped checkpoint, which is never written (:mod:`core.runs.release.shipped`)
SHIPPED_MARK = ".chexmini-shipped"

#: The published artifact set, in the order the published code lists it.
ARTIFACT_FILES = (MODEL, METRICS, HISTORY, VAL_SCORES, VAL_LABELS, TEST_SCORES, TEST_LABELS,
                  LOSS_CURVE)
#: The files that make a folder a run (``splits.json`` comes only with the artifacts).
RUN_FILES = (*ARTIFACT_FILES, RESUME, EVENTS)


#: A sweep's trials are run folders ``SWEEP/trials/NNN`` (see :mod:`core.sweep`).
TRIALS = "trials"


def trial_name(path: str | os.PathLike[str]) -> str | None:
    """``SWEEP/NNN`` for a sweep's trial folder ``…/SWEEP/trials/NNN``, else None."""
    p = Path(path)
    return f"{p.parent.parent.name}/{p.name}" if p.parent.name == TRIALS and \
        p.name.isdigit() else None


def score_file(split: str, kind: str) -> str:
    """``"val"``/``"test"`` × ``"scores"``/``"labels"`` → ``"val_scores.npy"`` …"""
    return f"{split}_{kind}.npy"
