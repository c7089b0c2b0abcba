"""Operating-point rules against a brute-force search over every score, ties, one-class
and bad-target errors, and the saved ``operating_point`` of ``metrics.json``
(schema, load_checkpoint, score_report, the published layout)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.evaluation.metrics import youden_threshold
from core.evaluation.operating_point import (
    OperatingPoint,
    choose_operating_point,
    threshold_for_sensitivity,
    threshold_for_specificity,
)
from core.foundation.errors import ChexminiError
from core.inference import load_checkpoint
from core.runs.checkpoint import save_operating_point
from core.runs.schema import MAX_THRESHOLD, validate_metrics
from core.runs.scores import score_report
from tests.helpers.tui import make_checkpoint


def sens_spec(scores, labels, t) -> tuple[float, float]:
    """Sensitivity and specificity with ``score >= t`` predicted positive (a plain loop)."""
    tp = sum(1 for s, y in zip(scores, labels, strict=True) if y == 1 and s >= t)
    tn = sum(1 for s, y in zip(scores, labels, strict=True) if y == 0 and s < t)
    return tp / sum(labels), tn / (len(labels) - sum(labels))


def brute_sens(scores, labels, target) -> float:
    return max(t for t in scores if sens_spec(scores, labels, t)[0] >= target)


def brute_spec(scores, labels, target) -> float | None:
    ok = [t for t in scores if sens_spec(scores, labels, t)[1] >= target]
    return min(ok) if ok else None


def tied(seed: int, n: int = 120, levels: int = 9):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, levels, n) / levels
    y = (rng.random(n) < 0.2 + 0.6 * s).astype(int)
    y[:2] = [0, 1]
    return s, y


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("target", [0.1, 0.5, 0.7, 0.9, 0.95, 1.0])
@pytest.mark.parametrize("ties", [False, True])
def test_rules_match_brute_force(seed, target, ties):
    if ties:
        s, y = tied(seed)
    else:
        rng = np.random.default_rng(seed)
        y = (np.arange(90) % 3 == 0).astype(int)
        s = 1 / (1 + np.exp(-rng.normal(1.2 * y - 0.4, 1.0)))
    s, y = list(map(float, s)), list(map(int, y))
    t = threshold_for_sensitivity(s, y, target)
    assert t == brute_sens(s, y, target) and t in s
    assert sens_spec(s, y, t)[0] >= target
    expected = brute_spec(s, y, target)
    t = threshold_for_specificity(s, y, target)
    if expected is None:      # only "everything negative" reaches it
        assert t == np.nextafter(max(s), np.inf) and sens_spec(s, y, t)[1] == 1.0
    else:
        assert t == expected and sens_spec(s, y, t)[1] >= target


def test_hand_example_with_ties():
    # positives 0.9, 0.6, 0.6, 0.3; negatives 0.6, 0.2, 0.1, 0.1
    s = [0.9, 0.6, 0.6, 0.3, 0.6, 0.2, 0.1, 0.1]
    y = [1, 1, 1, 1, 0, 0, 0, 0]
    # sens >= 0.5 needs 2 positives at or above t: 0.6 (all three 0.6 go positive: 3/4)
    assert threshold_for_sensitivity(s, y, 0.5) == 0.6
    assert threshold_for_sensitivity(s, y, 0.25) == 0.9
    assert threshold_for_sensitivity(s, y, 0.8) == 0.3
    # spec >= 0.5 needs 2 negatives below t: smallest such score is 0.2 (0.1, 0.1 below)
    assert threshold_for_specificity(s, y, 0.5) == 0.2
    assert threshold_for_specificity(s, y, 0.75) == 0.3   # 0.1, 0.1, 0.2 below
    # spec 1 needs the negative at 0.6 below t: the first score above 0.6 is 0.9
    assert threshold_for_specificity(s, y, 1.0) == 0.9
    # a negative holds the top score: only the float above it reaches specificity 1
    assert threshold_for_specificity([0.9, 0.2], [0, 1], 1.0) == np.nextafter(0.9, 1)


def test_floating_point_targets_use_the_same_ratio_as_the_metrics():
    # 0.07 * 100 is 7.000000000000001 in floating point (ceil: 8), yet 7/100 >= 0.07:
    # 7 of 100 positives (negatives) are enough, as binary_metrics computes the rate
    s = np.r_[np.linspace(0.99, 0.51, 100), np.linspace(0.49, 0.01, 100)]
    y = np.r_[np.ones(100, int), np.zeros(100, int)]
    assert 0.07 * 100 > 7
    assert threshold_for_sensitivity(s, y, 0.07) == s[6]        # the 7th highest positive
    assert threshold_for_specificity(s, y, 0.07) == s[100 + 92]  # 7 negatives below it


@pytest.mark.parametrize("func", [threshold_for_sensitivity, threshold_for_specificity])
@pytest.mark.parametrize("label", [0, 1])
def test_one_class_is_a_clear_error(func, label):
    with pytest.raises(ChexminiError) as info:
        func([0.2, 0.4, 0.7], [label] * 3, 0.9)
    msg = str(info.value)
    assert "cannot choose the threshold" in msg and "only one class present" in msg
    assert "on validation" in msg and "\n" not in msg


@pytest.mark.parametrize("target", [0, -0.1, 1.01, float("nan"), float("inf"), "0.9", True])
def test_target_outside_unit_interval(target):
    for func in (threshold_for_sensitivity, threshold_for_specificity):
        with pytest.raises(ChexminiError, match=r"must be a number in \(0, 1\]"):
            func([0.2, 0.7], [0, 1], target)


def test_choose_records_youden_beside_the_rule():
    s, y = tied(7)
    op = choose_operating_point(s, y, "sensitivity", 0.9)
    assert op.threshold == threshold_for_sensitivity(s, y, 0.9)
    assert op.youden_threshold == youden_threshold(s, y)
    assert op.to_dict() == {"threshold": op.threshold, "rule": "sensitivity>=0.9 on validation",
                            "metric": "sensitivity", "target": 0.9,
                            "youden_threshold": op.youden_threshold}
    assert OperatingPoint.from_dict(op.to_dict()) == op
    j = choose_operating_point(s, y, "youden")
    assert j.threshold == j.youden_threshold == youden_threshold(s, y) and j.target is None
    with pytest.raises(ChexminiError, match="unknown threshold rule"):
        choose_operating_point(s, y, "accuracy", 0.9)


# -- saved in the checkpoint ----------------------------------------------------------------
@pytest.fixture
def ckpt(tmp_path) -> Path:
    return make_checkpoint(tmp_path / "ckpt")


def test_saved_operating_point_is_used_and_youden_kept(ckpt):
    before = json.loads((ckpt / "metrics.json").read_text())
    vs, vl = np.load(ckpt / "val_scores.npy"), np.load(ckpt / "val_labels.npy")
    op = choose_operating_point(vs, vl, "specificity", 0.8)
    save_operating_point(ckpt, op)
    after = json.loads((ckpt / "metrics.json").read_text())
    assert after["operating_point"]["threshold"] == threshold_for_specificity(vs, vl, 0.8)
    assert after["operating_point"]["youden_threshold"] == before["threshold"]
    # the published keys are untouched: threshold and its validation/test blocks
    assert {k: v for k, v in after.items() if k != "operating_point"} == before
    loaded = load_checkpoint(ckpt)
    assert loaded.threshold == op.threshold != before["threshold"]
    assert loaded.threshold_rule == "specificity>=0.8 on validation"
    assert tuple(loaded)[3] == op.threshold
    report = score_report(ckpt)
    assert report.saved_threshold == op.threshold
    assert report.saved_rule == "specificity>=0.8 on validation"
    assert report.youden == before["threshold"]
    assert not list(ckpt.glob(".metrics.json.*"))         # no temp file left


def test_published_layout_checkpoint_takes_an_operating_point(tmp_path):
    from core.runs.export import export_checkpoint

    src = make_checkpoint(tmp_path / "src")
    out = export_checkpoint(src, tmp_path / "pub", "chexvision-mini").out
    assert load_checkpoint(out).layout == "chexvision-mini"
    op = OperatingPoint(0.25, "sensitivity", 0.9, 0.5)
    save_operating_point(out, op)
    assert load_checkpoint(out).threshold == 0.25


GOOD = {"threshold": 0.4, "rule": "sensitivity>=0.9 on validation", "metric": "sensitivity",
        "target": 0.9, "youden_threshold": 0.5}


@pytest.mark.parametrize("change, key", [
    ({"threshold": 1.5}, "operating_point.threshold"),
    ({"threshold": float("nan")}, "operating_point.threshold"),
    ({"threshold": "0.4"}, "operating_point.threshold"),
    ({"threshold": None}, "operating_point.threshold"),
    ({"youden_threshold": -1}, "operating_point.youden_threshold"),
    ({"metric": "accuracy"}, "operating_point.metric"),
    ({"metric": ["sensitivity"]}, "operating_point.metric"),
    ({"target": 0}, "operating_point.target"),
    ({"target": 2}, "operating_point.target"),
    ({"target": True}, "operating_point.target"),
    ({"rule": "[red]anything\nelse"}, "operating_point.rule"),
    ({"rule": "sensitivity>=0.8 on validation"}, "operating_point.rule"),
    ({"extra": {"deep": 1}}, "operating_point.extra"),
    ({"metric": "youden", "rule": "Youden's J on validation"}, "operating_point.target"),
])
def test_schema_rejects_hostile_operating_points(change, key):
    metrics = {"threshold": 0.5, "operating_point": {**GOOD, **change}}
    with pytest.raises(ChexminiError) as info:
        validate_metrics(metrics, "m/metrics.json")
    msg = str(info.value)
    assert msg.startswith("m/metrics.json: ") and repr(key) in msg and "\n" not in msg


def test_schema_accepts_the_rules_and_rejects_a_non_object(ckpt):
    for entry in (GOOD, {**GOOD, "metric": "youden", "target": None,
                         "rule": "Youden's J on validation"},
                  {**GOOD, "threshold": MAX_THRESHOLD, "metric": "specificity", "target": 1,
                   "rule": "specificity>=1 on validation"}):
        validate_metrics({"threshold": 0.5, "operating_point": entry}, "m")
    with pytest.raises(ChexminiError, match="'operating_point': expected a JSON object"):
        validate_metrics({"threshold": 0.5, "operating_point": [0.4]}, "m")
    # a hostile file on disk: load_checkpoint says which file and key, in one line
    m = json.loads((ckpt / "metrics.json").read_text())
    m["operating_point"] = {**GOOD, "threshold": 7}
    (ckpt / "metrics.json").write_text(json.dumps(m))
    with pytest.raises(ChexminiError, match="operating_point.threshold") as info:
        load_checkpoint(ckpt)
    assert str(ckpt / "metrics.json") in str(info.value)

