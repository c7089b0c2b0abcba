"""The schema of ``metrics.json`` and ``history.json``, checked when they are read.

Readers (``inspect``, ``evaluate``, ``predict``, the app) index into these files; a value
of the wrong type must be a one-line :class:`ChexminiError` naming the file and the key,
not a ``KeyError`` / ``TypeError`` somewhere in a front end. Only ``threshold`` is
required at the top level (hand-written files may lack the rest), but whatever is
present must have the published shape. The optional ``operating_point`` (written by
``chexmini evaluate --save``) overrides ``threshold`` for use; ``threshold`` and the
``validation``/``test`` blocks stay the training-time ones (Youden's J).
"""

from __future__ import annotations

import math
from typing import Any

from core.evaluation.operating_point import METRICS, rule_text
from core.foundation.errors import ChexminiError
from core.foundation.numbers import all_numbers, is_int, is_number, show

__all__ = ["is_int", "is_number", "validate_history", "validate_metrics"]

HEADLINE = ("auc", "accuracy", "balanced_accuracy", "precision", "recall", "specificity",
            "f1", "positive_rate")
CONFUSION = ("tn", "fp", "fn", "tp")
CURVES = {"roc_curve": ("fpr", "tpr"), "pr_curve": ("precision", "recall")}
SCALARS = (str, int, float, bool, type(None))


def _fail(path, key: str, problem: str) -> ChexminiError:
    return ChexminiError(f"key {key!r}: {problem}", path)


def _dict(value: Any, path, key: str) -> dict:
    if not isinstance(value, dict):
        raise _fail(path, key, f"expected a JSON object, got {type(value).__name__}")
    return value


def _count(value: Any, path, key: str) -> int:
    if not is_int(value, lo=0):
        raise _fail(path, key, f"expected a whole number >= 0, got {show(value)}")
    return value


def _numbers(value: Any, path, key: str, lo: float | None = None,
             hi: float | None = None) -> list:
    if not all_numbers(value, lo, hi):
        raise _fail(path, key, "expected a list of finite numbers"
                    + (f" in [{lo:g}, {hi:g}]" if lo is not None and hi is not None else ""))
    return value


def _split_block(block: Any, path, key: str) -> None:
    block = _dict(block, path, key)
    for name in (*HEADLINE, "threshold"):
        if name in block or name in HEADLINE:
            hi = MAX_THRESHOLD if name == "threshold" else 1.0
            if not is_number(block.get(name), 0.0, hi):
                raise _fail(path, f"{key}.{name}",
                            f"expected a number in [0, 1], got {show(block.get(name))}")
    cm = _dict(block.get("confusion_matrix"), path, f"{key}.confusion_matrix")
    for name in CONFUSION:
        _count(cm.get(name), path, f"{key}.confusion_matrix.{name}")
    _count(block.get("n_val"), path, f"{key}.n_val")
    for curve, axes in CURVES.items():
        if curve in block:
            c = _dict(block[curve], path, f"{key}.{curve}")
            xs = [_numbers(c.get(a), path, f"{key}.{curve}.{a}", 0.0, 1.0) for a in axes]
            if len(xs[0]) != len(xs[1]):
                raise _fail(path, f"{key}.{curve}", "the two axes differ in length")


def _config(cfg: Any, path) -> None:
    cfg = _dict(cfg, path, "config")
    for k, v in cfg.items():
        if k == "hidden_dims":
            if not isinstance(v, list) or not all(is_int(h, lo=1) for h in v):
                raise _fail(path, "config.hidden_dims", "expected a list of positive integers")
        elif not isinstance(v, SCALARS) or (isinstance(v, (int, float)) and not isinstance(
                v, bool) and not is_number(v)):
            raise _fail(path, f"config.{k}", "expected a finite number, string or boolean")
    if "image_size" in cfg and not is_int(cfg["image_size"], lo=1):
        raise _fail(path, "config.image_size", "expected a positive integer")


#: ``data``: how the run's split was made (read back by ``gallery`` to find its images).
DATA_INTS = ("split_seed", "n_train", "n_val", "n_test")
DATA_FRACTIONS = ("val_fraction", "test_fraction")


def _data(block: Any, path) -> None:
    block = _dict(block, path, "data")
    for k, v in block.items():
        if k in DATA_INTS and v is not None and not is_int(v, lo=0):
            raise _fail(path, f"data.{k}", f"expected a whole number >= 0, got {show(v)}")
        if k in DATA_FRACTIONS and not is_number(v, 0.0, 1.0):
            raise _fail(path, f"data.{k}", f"expected a number in [0, 1], got {show(v)}")
        if isinstance(v, (int, float)) and not isinstance(v, bool) and not is_number(v):
            raise _fail(path, f"data.{k}", f"expected a finite number, got {show(v)}")


#: The largest threshold Youden's J can give: the float just above a score of 1.0
#: (everything predicted normal), see :func:`core.evaluation.metrics.youden_threshold`.
MAX_THRESHOLD = math.nextafter(1.0, math.inf)


def _threshold_value(value: Any, path, key: str) -> float:
    if not is_number(value, 0.0, MAX_THRESHOLD):
        raise _fail(path, key, f"expected a threshold in [0, 1], got {show(value)}")
    return value


OPERATING_KEYS = ("threshold", "rule", "metric", "target", "youden_threshold")


def _operating_point(entry: Any, path) -> None:
    """``operating_point``: ``{threshold, rule, metric, target, youden_threshold}`` where
    ``rule`` is the text of ``metric`` and ``target`` (see
    :mod:`core.evaluation.operating_point`)."""
    entry = _dict(entry, path, "operating_point")
    unknown = sorted(set(entry) - set(OPERATING_KEYS))
    if unknown:
        raise _fail(path, f"operating_point.{unknown[0]!s:.40}", "unknown key")
    for key in ("threshold", "youden_threshold"):
        _threshold_value(entry.get(key), path, f"operating_point.{key}")
    metric = entry.get("metric")
    if not isinstance(metric, str) or metric not in METRICS:
        raise _fail(path, "operating_point.metric", f"expected one of {', '.join(METRICS)}")
    target = entry.get("target")
    if metric == "youden":
        if target is not None:
            raise _fail(path, "operating_point.target", "expected null for Youden's J")
    elif not (is_number(target, 0.0, 1.0) and target > 0.0):
        raise _fail(path, "operating_point.target", "expected a number in (0, 1]")
    if entry.get("rule") != rule_text(metric, target):
        raise _fail(path, "operating_point.rule",
                    f"expected {rule_text(metric, target)!r} for this metric and target")


def validate_metrics(metrics: Any, path) -> dict:
    """``metrics`` if it follows the ``metrics.json`` schema, else a ChexminiError."""
    if not isinstance(metrics, dict):
        raise ChexminiError("expected a JSON object", path)
    thr = metrics.get("threshold")
    if not is_number(thr):
        raise ChexminiError("has no finite numeric 'threshold'", path)
    if not 0.0 <= thr <= MAX_THRESHOLD:
        raise ChexminiError(f"'threshold' is {show(thr)}; a threshold on P(abnormal) must be "
                            "in [0, 1]", path)
    if "best_epoch" in metrics:
        _count(metrics["best_epoch"], path, "best_epoch")
    if "config" in metrics:
        _config(metrics["config"], path)
    if "splits" in metrics:
        for name, sp in _dict(metrics["splits"], path, "splits").items():
            sp = _dict(sp, path, f"splits.{name}")
            for k in ("n", "pos", "neg"):
                if k in sp or k != "neg":
                    _count(sp.get(k), path, f"splits.{name}.{k}")
    for key in ("validation", "test"):
        if key in metrics:
            _split_block(metrics[key], path, key)
    if "operating_point" in metrics:
        _operating_point(metrics["operating_point"], path)
    if "data" in metrics:
        _data(metrics["data"], path)
    for key in ("label_map", "engine"):
        if key in metrics:
            _dict(metrics[key], path, key)
    return metrics


def validate_history(history: Any, path) -> dict[str, list]:
    """``history.json``: an object of equally long lists of numbers."""
    history = _dict(history, path, "(top level)")
    lengths = {len(_numbers(v, path, k)) for k, v in history.items()}
    if len(lengths) > 1:
        raise ChexminiError("the history lists differ in length", path)
    return history
