"""The saved validation and test scores of a checkpoint, and the curves drawn from them.

A checkpoint folder holds ``val_scores.npy``/``val_labels.npy`` and
``test_scores.npy``/``test_labels.npy`` (written by :func:`core.runs.checkpoint.save_artifacts`).
:func:`load_scores` reads them through :mod:`core.foundation.safe_npz` and checks them;
:func:`score_report` adds the threshold the checkpoint was saved with (its operating
point when one is saved) and its rule, Youden's J on validation, and each split's AUC,
ROC/PR curves, Brier score, ECE and reliability bins, so a front end only draws.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from core.evaluation.bootstrap import auc_ci, auc_interval
from core.evaluation.calibration import (
    ReliabilityBins,
    brier_score,
    expected_calibration_error,
    reliability_bins,
)
from core.evaluation.metrics import pr_curve, roc_auc, roc_curve, youden_threshold
from core.evaluation.operating_point import OperatingPoint
from core.foundation.errors import ChexminiError
from core.foundation.safe_npz import read_npy
from core.runs import layout
from core.runs.checkpoint import SAVED_RULE, active_threshold, checkpoint_dir, read_metrics

#: (file prefix, name shown) of the two scored splits, in display order.
SPLITS = (("val", "validation"), ("test", "test"))


def load_scores(path: str | os.PathLike[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"val": (scores, labels), "test": (...)}`` from a checkpoint folder.

    Raises :class:`ChexminiError` naming the file when one is missing, is not a finite
    numeric array, holds scores outside [0, 1], or when a split's scores and labels differ
    in length."""
    ckpt = checkpoint_dir(path)
    out = {}
    for split, _ in SPLITS:
        arrays = []
        for kind in ("scores", "labels"):
            f = ckpt / layout.score_file(split, kind)
            if not f.exists():
                raise ChexminiError("file not found (needed to evaluate the checkpoint)", f)
            a = read_npy(f)
            if a.dtype.kind not in "fiub" or not np.isfinite(a).all():
                raise ChexminiError("expected finite numbers", f)
            if kind == "scores" and a.size and (a.min() < 0 or a.max() > 1):
                raise ChexminiError("expected probabilities P(abnormal) in [0, 1]", f)
            arrays.append(a.reshape(-1))
        if arrays[0].shape != arrays[1].shape:
            raise ChexminiError(f"{split}_scores.npy and {split}_labels.npy differ in length",
                                ckpt)
        out[split] = (arrays[0], arrays[1])
    return out


@dataclass
class ScoreReport:
    """Everything the threshold-independent part of an evaluation needs."""

    path: str
    data: dict[str, tuple[np.ndarray, np.ndarray]]
    saved_threshold: float
    youden: float
    #: how ``saved_threshold`` was chosen
    saved_rule: str = SAVED_RULE
    #: the saved operating point (metric and target as fields), or None
    operating_point: OperatingPoint | None = None
    auc: dict[str, float] = field(default_factory=dict)
    #: per split: the AUC's 95 % bootstrap interval ``(lo, hi)`` (or None)
    auc_ci: dict[str, tuple[float, float] | None] = field(default_factory=dict)
    #: per split: ``fpr``, ``tpr``, ``precision``, ``recall`` arrays
    curves: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    #: per split: ``brier`` and ``ece`` (floats)
    calibration: dict[str, dict[str, float]] = field(default_factory=dict)
    reliability: dict[str, ReliabilityBins] = field(default_factory=dict)


def score_report(path: str | os.PathLike[str]) -> ScoreReport:
    """Scores, saved threshold and rule, Youden's J (validation), AUCs with their
    bootstrap intervals, curves and calibration of a checkpoint."""
    data = load_scores(path)
    active = active_threshold(read_metrics(checkpoint_dir(path)))
    vs, vl = data["val"]
    report = ScoreReport(str(path), data, active.value, youden_threshold(vs, vl),
                         active.rule, active.operating_point)
    for split, (s, y) in data.items():
        report.calibration[split] = {"brier": brier_score(s, y),
                                     "ece": expected_calibration_error(s, y)}
        report.reliability[split] = reliability_bins(s, y)
        report.auc[split] = roc_auc(s, y)
        report.auc_ci[split] = auc_ci(s, y)
        fpr, tpr, _ = roc_curve(s, y)
        prec, rec, _ = pr_curve(s, y)
        report.curves[split] = {"fpr": fpr, "tpr": tpr, "precision": prec, "recall": rec}
    return report


def with_auc_intervals(summary: dict) -> dict:
    """``summary`` (:func:`core.runs.checkpoint.checkpoint_summary`) with ``auc_lo``/
    ``auc_hi`` (:func:`core.evaluation.bootstrap.auc_interval`) added to its
    ``validation`` and ``test`` reports when the folder's score files can be read;
    unchanged (a copy) otherwise."""
    out = dict(summary)
    try:
        scores = load_scores(summary["path"])
    except (ChexminiError, OSError, KeyError):
        return out          # no or damaged score files: the metrics alone
    for name, split in (("validation", "val"), ("test", "test")):
        if isinstance(out.get(name), dict):
            out[name] = {**out[name], **auc_interval(*scores[split])}
    return out
