"""The operating threshold of a checkpoint, and the rule that chose it (NumPy only).

Three rules, all applied to the **validation** split only (never test):

* ``youden`` — Youden's J (:func:`core.evaluation.metrics.youden_threshold`), the training default;
* ``sensitivity`` with target ``S`` — the largest validation score ``t`` at which the
  validation sensitivity ``#{positives with score >= t} / P`` is still ``>= S``;
* ``specificity`` with target ``S`` — the smallest validation score ``t`` at which the
  validation specificity ``#{negatives with score < t} / N`` is ``>= S``.

Convention as everywhere: a sample is predicted positive (abnormal) iff ``score >= t``.
Ties: the threshold is one of the scores, and every sample whose score equals it is
predicted positive together, so tied scores are never split; the achieved sensitivity
(specificity) can therefore exceed the target. Both rules need both classes on
validation and a target in (0, 1]; otherwise a one-line :class:`ChexminiError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.evaluation.metrics import _validate, youden_threshold
from core.foundation.errors import ChexminiError

__all__ = ["METRICS", "OperatingPoint", "choose_operating_point", "rule_text",
           "threshold_for_sensitivity", "threshold_for_specificity"]

#: The rules, by the name stored in ``metrics.json`` (``operating_point.metric``).
METRICS = ("youden", "sensitivity", "specificity")


def rule_text(metric: str, target: float | None = None) -> str:
    """The rule as stored and shown: ``"sensitivity>=0.9 on validation"``,
    ``"Youden's J on validation"``."""
    if metric == "youden":
        return "Youden's J on validation"
    return f"{metric}>={target:g} on validation"


def _check_target(metric: str, target: Any) -> float:
    ok = (isinstance(target, (int, float, np.floating, np.integer))
          and not isinstance(target, bool) and math.isfinite(float(target)))
    if not ok or not 0.0 < float(target) <= 1.0:
        raise ChexminiError(f"target {metric} must be a number in (0, 1], got {target!r}")
    return float(target)


def _split(scores: Any, labels: Any, rule: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        return _validate(scores, labels, need_both=True)
    except ChexminiError as exc:
        raise ChexminiError(f"cannot choose the threshold for {rule}: {exc.problem}") from None


def threshold_for_sensitivity(scores: Any, labels: Any, target: float) -> float:
    """The largest score ``t`` with ``TP(t) / P >= target`` (``TP(t)`` = positives with
    score ``>= t``). Always exists: at the lowest score the sensitivity is 1."""
    target = _check_target("sensitivity", target)
    s, y = _split(scores, labels, rule_text("sensitivity", target))
    values = np.unique(s)                                     # ascending
    pos = np.sort(s[y == 1])
    tp = pos.size - np.searchsorted(pos, values, side="left")  # positives with score >= t
    ok = np.flatnonzero(tp / pos.size >= target)              # a prefix: sensitivity falls
    return float(values[ok[-1]])


def threshold_for_specificity(scores: Any, labels: Any, target: float) -> float:
    """The smallest score ``t`` with ``TN(t) / N >= target`` (``TN(t)`` = negatives with
    score ``< t``). If no score reaches the target (it needs every negative below ``t``
    and a negative has the top score), the float just above the largest score, at which
    everything is predicted negative."""
    target = _check_target("specificity", target)
    s, y = _split(scores, labels, rule_text("specificity", target))
    values = np.unique(s)
    neg = np.sort(s[y == 0])
    tn = np.searchsorted(neg, values, side="left")            # negatives with score < t
    ok = np.flatnonzero(tn / neg.size >= target)              # a suffix: specificity rises
    if ok.size == 0:
        return float(np.nextafter(values[-1], np.inf))
    return float(values[ok[0]])


@dataclass(frozen=True)
class OperatingPoint:
    """A chosen threshold, its rule, and Youden's J on the same validation scores."""

    threshold: float
    metric: str                 # one of METRICS
    target: float | None        # None for "youden"
    youden_threshold: float

    @property
    def rule(self) -> str:
        return rule_text(self.metric, self.target)

    def to_dict(self) -> dict[str, Any]:
        """The ``operating_point`` entry of ``metrics.json``."""
        return {"threshold": self.threshold, "rule": self.rule, "metric": self.metric,
                "target": self.target, "youden_threshold": self.youden_threshold}

    @classmethod
    def from_dict(cls, entry: dict) -> OperatingPoint:
        """From a validated entry (:func:`core.runs.schema.validate_metrics`)."""
        return cls(float(entry["threshold"]), entry["metric"], entry.get("target"),
                   float(entry["youden_threshold"]))


def choose_operating_point(val_scores: Any, val_labels: Any, metric: str,
                           target: float | None = None) -> OperatingPoint:
    """Apply rule ``metric`` (with ``target`` for sensitivity/specificity) to validation."""
    if metric not in METRICS:
        raise ChexminiError(f"unknown threshold rule {metric!r} (expected one of "
                            f"{', '.join(METRICS)})")
    if metric != "youden":
        target = _check_target(metric, target)
    youden = youden_threshold(*_split(val_scores, val_labels, rule_text(metric, target)))
    if metric == "youden":
        return OperatingPoint(youden, metric, None, youden)
    choose = threshold_for_sensitivity if metric == "sensitivity" else threshold_for_specificity
    return OperatingPoint(choose(val_scores, val_labels, target), metric, target, youden)
