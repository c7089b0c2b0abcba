"""Calibration of P(abnormal): the Brier score, the expected calibration error (ECE) and
the reliability diagram's bins (NumPy only).

``scores`` are probabilities in [0, 1]; ``labels`` are 0/1 (1 = abnormal). Unlike the
AUC, all three are defined when a split holds one class only (the label mean of every
bin is then 0 or 1), so a one-class split is scored, not refused.

Bins: ``n_bins`` equal-width bins over [0, 1] with edges ``e_i = i / n_bins``; bin ``i``
holds the scores with ``e_i <= p < e_{i+1}``, the last bin also ``p = 1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.evaluation.metrics import _validate
from core.foundation.errors import ChexminiError

__all__ = ["ECE_BINS", "ReliabilityBins", "brier_score", "expected_calibration_error",
           "reliability_bins"]

#: The number of bins of the ECE and the reliability diagram.
ECE_BINS = 15


def _probabilities(scores: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(p as float64, y as int64)``; ``p`` must lie in [0, 1]."""
    p, y = _validate(scores, labels)
    if p.min() < 0.0 or p.max() > 1.0:
        bad = p[(p < 0.0) | (p > 1.0)]
        raise ChexminiError(f"scores must be probabilities in [0, 1]; found {bad.size} outside, "
                            f"e.g. {float(bad[0])!r}")
    return p, y


def brier_score(scores: Any, labels: Any) -> float:
    """``Brier = (1/n) sum_i (p_i - y_i)^2`` (0 is perfect; 0.25 for a constant 0.5)."""
    p, y = _probabilities(scores, labels)
    return float(np.mean((p - y) ** 2))


@dataclass(frozen=True)
class ReliabilityBins:
    """Per bin (arrays of length ``n_bins``): ``count``, ``mean_score`` and ``mean_label``
    (NaN for an empty bin), and the ``edges`` ``(n_bins + 1,)``."""

    edges: np.ndarray
    count: np.ndarray
    mean_score: np.ndarray
    mean_label: np.ndarray

    @property
    def filled(self) -> np.ndarray:
        """Indices of the non-empty bins."""
        return np.flatnonzero(self.count > 0)


def reliability_bins(scores: Any, labels: Any, n_bins: int = ECE_BINS) -> ReliabilityBins:
    """The reliability diagram: mean score and fraction of positives in each bin."""
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ChexminiError(f"n_bins must be a whole number >= 1, got {n_bins!r}")
    p, y = _probabilities(scores, labels)
    edges = np.linspace(0.0, 1.0, int(n_bins) + 1)
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins)
    sum_p = np.bincount(idx, weights=p, minlength=n_bins)
    sum_y = np.bincount(idx, weights=y.astype(np.float64), minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.where(count > 0, sum_p / count, np.nan)
        mean_y = np.where(count > 0, sum_y / count, np.nan)
    return ReliabilityBins(edges, count, mean_p, mean_y)


def expected_calibration_error(scores: Any, labels: Any, n_bins: int = ECE_BINS) -> float:
    """``ECE = sum_b (n_b / n) |mean label_b - mean score_b|`` over the non-empty bins."""
    bins = reliability_bins(scores, labels, n_bins)
    k = bins.filled
    gaps = np.abs(bins.mean_label[k] - bins.mean_score[k])
    return float(np.sum(bins.count[k] * gaps) / np.sum(bins.count))
