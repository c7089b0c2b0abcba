"""The end of a run: the best model scored, the threshold chosen, the test split scored
once and the metrics built.

The operating threshold comes from the validation split only (Youden's J); the test split
is scored exactly once, with the best model, after everything is decided.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from core.data.dataset import DataSplits
from core.evaluation.bootstrap import auc_interval
from core.evaluation.metrics import youden_threshold
from core.foundation.config import TrainConfig
from core.nn.batches import BatchMaker
from core.nn.model import MLP, sigmoid
from core.runs.checkpoint import build_metrics
from core.training.scoring import score_split

#: The metrics a :class:`~core.events.Finished` event carries for each split.
HEADLINE = ("auc", "accuracy", "balanced_accuracy", "precision", "recall", "specificity", "f1")


class FinalScores(NamedTuple):
    """Everything the artifacts record about the best model's predictions."""

    val_scores: np.ndarray
    val_labels: np.ndarray
    test_scores: np.ndarray
    test_labels: np.ndarray
    threshold: float
    metrics: dict[str, Any]

    def headline(self, split: str) -> dict[str, float]:
        """The :data:`HEADLINE` metrics of ``split`` ("validation" or "test"), plus
        ``auc_lo``/``auc_hi``: the 95 % bootstrap interval of its AUC
        (:func:`core.evaluation.bootstrap.auc_ci`)."""
        out = {k: self.metrics[split][k] for k in HEADLINE}
        scores, labels = ((self.val_scores, self.val_labels) if split == "validation" else
                          (self.test_scores, self.test_labels))
        return {**out, **auc_interval(scores, labels)}


def choose_threshold(val_scores: np.ndarray, val_labels: np.ndarray) -> float:
    """The operating threshold: Youden's J on the validation split (never the test split)."""
    return youden_threshold(val_scores, val_labels)


def score_best(model: MLP, data: DataSplits, maker: BatchMaker, config: TrainConfig,
               best_epoch: int) -> FinalScores:
    """Score the (already restored) best ``model`` on validation and test, choose the
    threshold and build ``metrics.json``."""
    val_scores = sigmoid(score_split(model, data.val, maker))
    test_scores = sigmoid(score_split(model, data.test, maker))
    val_labels = data.val.labels.astype(np.float64)
    test_labels = data.test.labels.astype(np.float64)
    threshold = choose_threshold(val_scores, val_labels)
    metrics = build_metrics(
        config=config.to_dict(), splits=data.summary(), best_epoch=best_epoch,
        threshold=threshold, val_scores=val_scores, val_labels=val_labels,
        test_scores=test_scores, test_labels=test_labels,
        data_info={"source": data.source, **data.info})
    return FinalScores(val_scores, val_labels, test_scores, test_labels, threshold, metrics)
