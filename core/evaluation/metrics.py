"""Binary classification metrics for the abnormal-vs-normal screen (NumPy only).

Conventions (``scores`` are real numbers, higher = more abnormal; ``labels`` are 0/1 with
1 = abnormal = positive):

* A sample is predicted positive when ``score >= threshold``.
* Curves are built over the *distinct* score values. ``roc_curve`` and ``pr_curve`` follow
  the well-known scikit-learn conventions (implemented here from their definitions), so
  the published ``metrics.json`` of the reference run is reproduced exactly.
* Ratios whose denominator is zero (e.g. precision with no predicted positives) are 0.0.

Every public function validates its input and raises :class:`ChexminiError` with a
one-line message for: empty input, length mismatch, labels not all in {0, 1}, non-finite
scores, and (where the quantity is undefined) a missing class.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from core.foundation.errors import ChexminiError

__all__ = [
    "LABELS",
    "label_of",
    "predicted_abnormal",
    "average_precision",
    "binary_metrics",
    "confusion_matrix",
    "downsample_curve",
    "pr_curve",
    "roc_auc",
    "roc_curve",
    "split_report",
    "youden_threshold",
]

# --------------------------------------------------------------------------- validation


def _as_vector(values: Any, name: str) -> np.ndarray:
    """``np.asarray(values)`` as a 1-D array (an ``(n, 1)`` column is flattened)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = np.asarray(values)
    except (TypeError, ValueError, OverflowError) as err:
        raise ChexminiError(f"{name} could not be read as an array ({err})") from None
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise ChexminiError(f"{name} must be a 1-D array, got shape {arr.shape}")
    return arr


def _validate(
    scores: Any, labels: Any, *, need_both: bool = False, need_pos: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(scores as float64, labels as int64)`` or raise :class:`ChexminiError`."""
    s = _as_vector(scores, "scores")
    y = _as_vector(labels, "labels")
    if s.shape[0] != y.shape[0]:
        raise ChexminiError(
            f"scores and labels differ in length ({s.shape[0]} scores, {y.shape[0]} labels)"
        )
    if s.shape[0] == 0:
        raise ChexminiError("no samples: scores and labels are empty")

    if s.dtype.kind not in "biuf":
        raise ChexminiError(f"scores must be real numbers, got dtype {s.dtype}")
    s = s.astype(np.float64)
    if not np.isfinite(s).all():
        bad = int(np.count_nonzero(~np.isfinite(s)))
        raise ChexminiError(f"scores contain {bad} non-finite value(s) (NaN or infinity)")

    if y.dtype.kind not in "biuf":
        raise ChexminiError(f"labels must be 0/1 numbers, got dtype {y.dtype}")
    with np.errstate(invalid="ignore"):
        ok = (y == 0) | (y == 1)
    if not ok.all():
        bad = y[~ok]
        raise ChexminiError(
            f"labels must all be 0 or 1; found {bad.size} other value(s), e.g. {bad[0]!r}"
        )
    y = y.astype(np.int64)

    n_pos = int(y.sum())
    if need_both and (n_pos == 0 or n_pos == y.size):
        only = "positive (1)" if n_pos else "negative (0)"
        raise ChexminiError(f"only one class present (all {y.size} labels are {only})")
    if need_pos and n_pos == 0:
        raise ChexminiError(f"no positive labels among {y.size} samples")
    return s, y


def _validate_threshold(threshold: Any) -> float:
    try:
        thr = float(threshold)
    except (TypeError, ValueError):
        raise ChexminiError(f"threshold must be a number, got {threshold!r}") from None
    if math.isnan(thr):
        raise ChexminiError("threshold must be a number, got NaN")
    return thr


# --------------------------------------------------------------------------- curves


def _binary_clf_curve(s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts at every distinct threshold, highest first.

    For the distinct score values ``t_1 > t_2 > ... > t_k`` returns ``fps[i]`` and ``tps[i]``,
    the numbers of negatives / positives with ``score >= t_i`` (int64), and ``t``.
    """
    order = np.argsort(-s, kind="mergesort")
    s_sorted = s[order]
    y_sorted = y[order]
    # last index of each block of equal scores
    ends = np.r_[np.flatnonzero(np.diff(s_sorted)), s_sorted.size - 1]
    tps = np.cumsum(y_sorted)[ends]
    fps = (ends + 1) - tps
    return fps, tps, s_sorted[ends]


def roc_auc(scores: Any, labels: Any) -> float:
    """Area under the ROC curve via the Mann-Whitney U statistic.

    ``AUC = U / (P * N)`` where ``U = #{(i, j): s_i > s_j} + 1/2 #{(i, j): s_i = s_j}`` over
    positive ``i`` and negative ``j`` (equivalently, mid-ranks for ties). Counted exactly in
    integers per block of tied scores; O(n log n). Needs both classes.
    """
    s, y = _validate(scores, labels, need_both=True)
    order = np.argsort(s, kind="mergesort")
    s_sorted = s[order]
    y_sorted = y[order]
    starts = np.r_[0, np.flatnonzero(np.diff(s_sorted)) + 1]
    pos_in = np.add.reduceat(y_sorted, starts)  # positives per tie block (ascending score)
    neg_in = np.diff(np.r_[starts, s.size]) - pos_in
    neg_below = np.cumsum(neg_in) - neg_in  # negatives strictly below each block
    twice_u = int(np.sum(pos_in * (2 * neg_below + neg_in)))
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    return twice_u / (2 * n_pos * n_neg)


def roc_curve(
    scores: Any, labels: Any, drop_intermediate: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve ``(fpr, tpr, thresholds)`` over decreasing distinct thresholds.

    Point ``i``: ``tpr = TP(t_i) / P``, ``fpr = FP(t_i) / N`` with ``score >= t_i`` predicted
    positive. A point ``(0, 0)`` with threshold ``+inf`` is prepended. With
    ``drop_intermediate`` the collinear points are dropped: only the endpoints and the points
    where the second difference of the FP or TP counts is non-zero are kept (the area and
    the corners are unchanged). Needs both classes.
    """
    s, y = _validate(scores, labels, need_both=True)
    fps, tps, thr = _binary_clf_curve(s, y)
    if drop_intermediate and fps.size > 2:
        corner = np.logical_or(np.diff(fps, 2) != 0, np.diff(tps, 2) != 0)
        keep = np.flatnonzero(np.r_[True, corner, True])
        fps, tps, thr = fps[keep], tps[keep], thr[keep]
    fps = np.r_[0, fps]
    tps = np.r_[0, tps]
    thr = np.r_[np.inf, thr]
    return fps / fps[-1], tps / tps[-1], thr


def pr_curve(scores: Any, labels: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision-recall curve ``(precision, recall, thresholds)`` by increasing threshold.

    For each distinct score ``t`` (lowest first): ``precision = TP / (TP + FP)`` and
    ``recall = TP / P`` with ``score >= t`` predicted positive, so recall starts at 1.0. A
    final point ``(precision 1, recall 0)`` without a threshold is appended, hence
    ``len(thresholds) == len(precision) - 1``. Needs at least one positive label.
    """
    s, y = _validate(scores, labels, need_pos=True)
    fps, tps, thr = _binary_clf_curve(s, y)
    precision = tps / (tps + fps)  # tps + fps >= 1 at every distinct threshold
    recall = tps / tps[-1]
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thr[::-1]


def average_precision(scores: Any, labels: Any) -> float:
    """Average precision ``AP = sum_n (R_n - R_{n-1}) P_n`` over decreasing thresholds.

    Step-wise (no interpolation), ``R_0 = 0``; this is the area under the PR step curve.
    Needs at least one positive label.
    """
    precision, recall, _ = pr_curve(scores, labels)
    return float(-np.sum(np.diff(recall) * precision[:-1]))


# --------------------------------------------------------------------------- thresholded
#: Label 0 and label 1, by name.
LABELS = ("normal", "abnormal")


def predicted_abnormal(scores: Any, threshold: float) -> np.ndarray:
    """The labelling rule, the one place it is written: abnormal iff ``score >= t``."""
    return np.asarray(scores) >= threshold


def label_of(score: float, threshold: float) -> str:
    """``"abnormal"`` iff ``score >= threshold`` (:func:`predicted_abnormal`), else
    ``"normal"``."""
    return LABELS[int(predicted_abnormal(score, threshold))]




def confusion_matrix(scores: Any, labels: Any, threshold: float) -> dict[str, int]:
    """Counts ``{"tn", "fp", "fn", "tp"}`` (plain ints); positive iff ``score >= threshold``."""
    s, y = _validate(scores, labels)
    pred = predicted_abnormal(s, _validate_threshold(threshold))
    pos = y == 1
    tp = int(np.count_nonzero(pred & pos))
    fp = int(np.count_nonzero(pred & ~pos))
    fn = int(np.count_nonzero(~pred & pos))
    tn = int(y.size - tp - fp - fn)
    return {"tn": tn, "fp": fp, "fn": fn, "tp": tp}


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def _metrics_from_counts(cm: dict[str, int]) -> dict[str, Any]:
    tn, fp, fn, tp = cm["tn"], cm["fp"], cm["fn"], cm["tp"]
    recall = _ratio(tp, tp + fn)
    specificity = _ratio(tn, tn + fp)
    return {
        "accuracy": _ratio(tp + tn, tn + fp + fn + tp),
        "balanced_accuracy": (recall + specificity) / 2,
        "precision": _ratio(tp, tp + fp),
        "recall": recall,
        "specificity": specificity,
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "confusion_matrix": dict(cm),
    }


def binary_metrics(scores: Any, labels: Any, threshold: float) -> dict[str, Any]:
    """Metrics at ``threshold`` (positive iff score >= threshold).

    ``accuracy = (TP + TN) / n``, ``precision = TP / (TP + FP)``,
    ``recall = sensitivity = TP / (TP + FN)``, ``specificity = TN / (TN + FP)``,
    ``balanced_accuracy = (recall + specificity) / 2``,
    ``f1 = 2 TP / (2 TP + FP + FN)`` (= harmonic mean of precision and recall), plus
    ``confusion_matrix``. A ratio with a zero denominator is reported as 0.0.
    """
    return _metrics_from_counts(confusion_matrix(scores, labels, threshold))


def youden_threshold(scores: Any, labels: Any) -> float:
    """Threshold maximising Youden's ``J = TPR - FPR`` over the ROC thresholds.

    Ties go to the first maximum, i.e. the highest threshold (the reference convention).
    If no threshold beats ``J = 0`` of the ``+inf`` start point, the result is the smallest
    float above the largest score (everything predicted negative) so that it stays finite.
    Needs both classes.
    """
    fpr, tpr, thr = roc_curve(scores, labels, drop_intermediate=False)
    best = int(np.argmax(tpr - fpr))
    if best == 0:
        return float(np.nextafter(thr[1], np.inf))
    return float(thr[best])


# --------------------------------------------------------------------------- reporting


def downsample_curve(x: Any, y: Any, n: int = 200) -> tuple[list[float], list[float]]:
    """Down-sample a curve to at most ``n`` points for compact JSON.

    Curves of ``<= n`` points are returned whole; otherwise the points at indices
    ``floor(linspace(0, L - 1, n))`` are kept (both endpoints included), the rule that
    reproduces the published ``metrics.json``.
    """
    xa = _as_vector(x, "x")
    ya = _as_vector(y, "y")
    if xa.shape[0] != ya.shape[0]:
        raise ChexminiError(f"curve x and y differ in length ({xa.shape[0]} vs {ya.shape[0]})")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ChexminiError(f"n must be an integer >= 2, got {n!r}")
    if xa.shape[0] > n:
        idx = np.linspace(0, xa.shape[0] - 1, int(n)).astype(np.int64)
        xa, ya = xa[idx], ya[idx]
    return [float(v) for v in xa], [float(v) for v in ya]


def split_report(scores: Any, labels: Any, threshold: float) -> dict[str, Any]:
    """The per-split entry of ``metrics.json`` at ``threshold``, in the published key order.

    ``threshold, auc, accuracy, balanced_accuracy, precision, recall, specificity, f1,
    confusion_matrix{tn, fp, fn, tp}, roc_curve{fpr, tpr}, pr_curve{precision, recall},
    n_val, positive_rate``. Curves are the drop-intermediate ROC curve and the PR curve,
    each down-sampled by :func:`downsample_curve` to 200 points. ``n_val`` is the sample
    count (the published name, kept for format compatibility). Plain Python types only.
    """
    s, y = _validate(scores, labels, need_both=True)
    thr = _validate_threshold(threshold)
    metrics = binary_metrics(s, y, thr)
    fpr, tpr, _ = roc_curve(s, y)
    precision, recall, _ = pr_curve(s, y)
    roc_fpr, roc_tpr = downsample_curve(fpr, tpr)
    pr_precision, pr_recall = downsample_curve(precision, recall)
    return {
        "threshold": thr,
        "auc": roc_auc(s, y),
        "accuracy": metrics["accuracy"],
        "balanced_accuracy": metrics["balanced_accuracy"],
        "precision": metrics["precision"],
        "recall": metrics["recall"],
        "specificity": metrics["specificity"],
        "f1": metrics["f1"],
        "confusion_matrix": metrics["confusion_matrix"],
        "roc_curve": {"fpr": roc_fpr, "tpr": roc_tpr},
        "pr_curve": {"precision": pr_precision, "recall": pr_recall},
        "n_val": int(y.size),
        "positive_rate": float(y.mean()),
    }
