"""Tests for core.evaluation.metrics: brute-force cross-checks, properties, errors, and the
published run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.evaluation.metrics import (
    average_precision,
    binary_metrics,
    confusion_matrix,
    downsample_curve,
    pr_curve,
    roc_auc,
    roc_curve,
    split_report,
    youden_threshold,
)
from core.foundation.errors import ChexminiError

# --------------------------------------------------------------------------- helpers


def brute_auc(scores, labels) -> float:
    """O(n^2) pair count: P(s_pos > s_neg) + 1/2 P(s_pos == s_neg)."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels)
    diff = s[y == 1][:, None] - s[y == 0][None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)


def direct_counts(scores, labels, thr) -> dict[str, int]:
    tn = fp = fn = tp = 0
    for s, y in zip(scores, labels, strict=True):
        pred = s >= thr
        if y == 1:
            tp, fn = tp + pred, fn + (not pred)
        else:
            fp, tn = fp + pred, tn + (not pred)
    return {"tn": tn, "fp": fp, "fn": fn, "tp": tp}


def youden_j(scores, labels, thr) -> float:
    cm = confusion_matrix(scores, labels, thr)
    return cm["tp"] / (cm["tp"] + cm["fn"]) - cm["fp"] / (cm["fp"] + cm["tn"])


def tied_data(seed: int, n: int = 300, levels: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Random scores on a coarse grid (many ties) with labels correlated to them."""
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, levels, size=n) / levels
    labels = (rng.random(n) < 0.2 + 0.6 * scores).astype(int)
    labels[0], labels[1] = 0, 1  # both classes
    return scores, labels


SEEDS = [0, 1, 2, 3, 4, 5]

# --------------------------------------------------------------------------- AUC


@pytest.mark.parametrize("seed", SEEDS)
def test_auc_matches_brute_force_with_ties(seed):
    scores, labels = tied_data(seed)
    assert len(np.unique(scores)) < len(scores) / 5  # really tie-heavy
    assert roc_auc(scores, labels) == pytest.approx(brute_auc(scores, labels), abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_auc_matches_brute_force_continuous(seed):
    rng = np.random.default_rng(100 + seed)
    labels = rng.integers(0, 2, size=500)
    labels[:2] = [0, 1]
    scores = rng.normal(size=500) + 0.7 * labels
    assert roc_auc(scores, labels) == pytest.approx(brute_auc(scores, labels), abs=1e-12)


def test_auc_hand_examples():
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75
    assert roc_auc([1, 2, 3, 4], [0, 0, 1, 1]) == 1.0
    assert roc_auc([1, 2, 3, 4], [1, 1, 0, 0]) == 0.0
    assert roc_auc([5, 5, 5, 5], [0, 1, 0, 1]) == 0.5  # all tied: every pair counts 1/2
    assert roc_auc([1, 2, 2, 3], [0, 0, 1, 1]) == 0.875  # one tied pair of four


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_auc_invariant_to_monotone_transforms(seed):
    scores, labels = tied_data(seed)
    auc = roc_auc(scores, labels)
    for transform in (np.exp, lambda s: 3 * s - 7, lambda s: s**3, np.arctan, lambda s: s + 1e6):
        assert roc_auc(transform(scores), labels) == pytest.approx(auc, abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_auc_of_negated_scores_is_complement(seed):
    scores, labels = tied_data(seed)
    assert roc_auc(-scores, labels) == pytest.approx(1 - roc_auc(scores, labels), abs=1e-12)


def test_auc_accepts_lists_bools_and_columns():
    assert roc_auc([0.2, 0.9, 0.1], [False, True, False]) == 1.0
    column = np.array([[0.2], [0.9], [0.1]])
    assert roc_auc(column, np.array([[0], [1], [0]])) == 1.0
    assert isinstance(roc_auc([0.2, 0.9], [0, 1]), float)


# --------------------------------------------------------------------------- ROC curve


def test_roc_curve_hand_example():
    fpr, tpr, thr = roc_curve([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    np.testing.assert_array_equal(fpr, [0, 0, 0.5, 0.5, 1])
    np.testing.assert_array_equal(tpr, [0, 0.5, 0.5, 1, 1])
    np.testing.assert_array_equal(thr, [np.inf, 0.8, 0.4, 0.35, 0.1])


def test_roc_curve_drops_collinear_points():
    scores, labels = [4, 3, 2, 1], [1, 1, 0, 0]
    fpr, tpr, thr = roc_curve(scores, labels, drop_intermediate=False)
    np.testing.assert_array_equal(thr, [np.inf, 4, 3, 2, 1])
    fpr, tpr, thr = roc_curve(scores, labels)
    np.testing.assert_array_equal(fpr, [0, 0, 0, 1])
    np.testing.assert_array_equal(tpr, [0, 0.5, 1, 1])
    np.testing.assert_array_equal(thr, [np.inf, 4, 3, 1])


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("drop", [True, False])
def test_roc_curve_area_equals_auc(seed, drop):
    scores, labels = tied_data(seed)
    fpr, tpr, thr = roc_curve(scores, labels, drop_intermediate=drop)
    area = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    assert area == pytest.approx(roc_auc(scores, labels), abs=1e-12)
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    assert thr[0] == np.inf and np.all(np.diff(thr) < 0)


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_roc_curve_points_match_confusion_matrix(seed):
    scores, labels = tied_data(seed)
    n_pos, n_neg = labels.sum(), (1 - labels).sum()
    fpr, tpr, thr = roc_curve(scores, labels, drop_intermediate=False)
    assert len(thr) == len(np.unique(scores)) + 1
    for f, t, th in zip(fpr[1:], tpr[1:], thr[1:], strict=True):
        cm = direct_counts(scores, labels, th)
        assert f == cm["fp"] / n_neg and t == cm["tp"] / n_pos


# --------------------------------------------------------------------------- PR / AP


def test_pr_curve_hand_example():
    precision, recall, thr = pr_curve([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    np.testing.assert_allclose(precision, [0.5, 2 / 3, 0.5, 1, 1], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(recall, [1, 1, 0.5, 0.5, 0])
    np.testing.assert_array_equal(thr, [0.1, 0.35, 0.4, 0.8])
    assert average_precision([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(5 / 6)


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_pr_curve_shape_and_brute_force_ap(seed):
    scores, labels = tied_data(seed)
    precision, recall, thr = pr_curve(scores, labels)
    assert len(precision) == len(recall) == len(thr) + 1 == len(np.unique(scores)) + 1
    assert recall[0] == 1 and precision[0] == pytest.approx(labels.mean())
    assert recall[-1] == 0 and precision[-1] == 1
    assert np.all(np.diff(recall) <= 0) and np.all(np.diff(thr) > 0)
    # AP by definition: sum over decreasing thresholds of (R_n - R_{n-1}) * P_n
    ap, prev_r = 0.0, 0.0
    for th in np.unique(scores)[::-1]:
        cm = direct_counts(scores, labels, th)
        r, p = cm["tp"] / labels.sum(), cm["tp"] / (cm["tp"] + cm["fp"])
        ap, prev_r = ap + (r - prev_r) * p, r
    assert average_precision(scores, labels) == pytest.approx(ap, abs=1e-12)


def test_perfect_classifier_ap_is_one():
    assert average_precision([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert average_precision([0.3, 0.7], [1, 1]) == 1.0  # only positives is fine for PR


# --------------------------------------------------------------------------- thresholded


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_confusion_matrix_counts(seed):
    scores, labels = tied_data(seed)
    for thr in [-1.0, 0.0, *np.unique(scores)[::3], 0.5, 2.0]:
        cm = confusion_matrix(scores, labels, thr)
        assert list(cm) == ["tn", "fp", "fn", "tp"]
        assert all(type(v) is int for v in cm.values())
        assert sum(cm.values()) == len(scores)
        assert cm == direct_counts(scores, labels, thr)


def test_confusion_matrix_score_equal_to_threshold_is_positive():
    assert confusion_matrix([0.5, 0.5], [0, 1], 0.5) == {"tn": 0, "fp": 1, "fn": 0, "tp": 1}


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_binary_metrics_definitions(seed):
    scores, labels = tied_data(seed)
    m = binary_metrics(scores, labels, 0.5)
    cm = m["confusion_matrix"]
    tn, fp, fn, tp = cm["tn"], cm["fp"], cm["fn"], cm["tp"]
    assert m["balanced_accuracy"] == pytest.approx((m["recall"] + m["specificity"]) / 2)
    assert m["accuracy"] == pytest.approx((tp + tn) / len(scores))
    assert m["recall"] == pytest.approx(tp / (tp + fn))
    assert m["specificity"] == pytest.approx(tn / (tn + fp))
    assert m["precision"] == pytest.approx(tp / (tp + fp))
    p, r = m["precision"], m["recall"]
    assert m["f1"] == pytest.approx(2 * p * r / (p + r))


def test_binary_metrics_zero_division_is_zero():
    # threshold above every score: nothing predicted positive -> precision 0/0 -> 0.0
    m = binary_metrics([0.1, 0.2, 0.3], [0, 1, 1], 0.9)
    assert m["precision"] == 0.0 and m["recall"] == 0.0 and m["f1"] == 0.0
    assert m["specificity"] == 1.0
    # only negatives: recall 0/0 -> 0.0
    m = binary_metrics([0.1, 0.2], [0, 0], 0.15)
    assert m["recall"] == 0.0 and m["specificity"] == 0.5 and m["balanced_accuracy"] == 0.25


@pytest.mark.parametrize("seed", SEEDS)
def test_youden_threshold_maximises_j_over_distinct_scores(seed):
    scores, labels = tied_data(seed)
    thr = youden_threshold(scores, labels)
    assert thr in set(scores.tolist())
    js = {s: youden_j(scores, labels, s) for s in np.unique(scores).tolist()}
    best = max(js.values())
    assert youden_j(scores, labels, thr) == pytest.approx(best, abs=1e-15)
    # ties go to the first maximum along the curve = the highest such threshold
    assert thr == max(s for s, j in js.items() if j >= best - 1e-15)


def test_youden_threshold_when_nothing_beats_j_zero():
    scores, labels = [0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]  # perfectly inverted
    thr = youden_threshold(scores, labels)
    assert math.isfinite(thr) and thr > 0.9
    assert confusion_matrix(scores, labels, thr) == {"tn": 2, "fp": 0, "fn": 2, "tp": 0}


# --------------------------------------------------------------------------- downsampling


def test_downsample_short_curve_unchanged():
    x, y = downsample_curve(np.array([0.0, 0.5, 1.0]), np.array([0.0, 0.7, 1.0]))
    assert x == [0.0, 0.5, 1.0] and y == [0.0, 0.7, 1.0]
    assert all(type(v) is float for v in x + y)


@pytest.mark.parametrize("length", [201, 1000, 8558])
def test_downsample_long_curve(length):
    x = np.arange(length, dtype=float)
    xs, ys = downsample_curve(x, -x, n=200)
    assert len(xs) == len(ys) == 200
    assert xs[0] == 0 and xs[-1] == length - 1  # both endpoints kept
    assert np.all(np.diff(xs) > 0) and ys == [-v for v in xs]
    assert xs == np.floor(np.linspace(0, length - 1, 200)).tolist()


def test_downsample_errors():
    with pytest.raises(ChexminiError, match="differ in length"):
        downsample_curve([1, 2, 3], [1, 2])
    with pytest.raises(ChexminiError, match="n must be"):
        downsample_curve([1, 2, 3], [1, 2, 3], n=1)


# --------------------------------------------------------------------------- errors

ALL_FUNCS = {
    "roc_auc": roc_auc,
    "roc_curve": roc_curve,
    "pr_curve": pr_curve,
    "average_precision": average_precision,
    "youden_threshold": youden_threshold,
    "confusion_matrix": lambda s, y: confusion_matrix(s, y, 0.5),
    "binary_metrics": lambda s, y: binary_metrics(s, y, 0.5),
    "split_report": lambda s, y: split_report(s, y, 0.5),
}
BOTH_CLASS_FUNCS = ["roc_auc", "roc_curve", "youden_threshold", "split_report"]

BAD_INPUTS = {
    "empty": ([], [], "empty"),
    "length mismatch": ([0.1, 0.2, 0.3], [0, 1], "differ in length"),
    "label 2": ([0.1, 0.2, 0.3], [0, 1, 2], "0 or 1"),
    "label -1": ([0.1, 0.2, 0.3], [0, 1, -1], "0 or 1"),
    "label 0.5": ([0.1, 0.2, 0.3], [0, 1, 0.5], "0 or 1"),
    "label nan": ([0.1, 0.2, 0.3], [0, 1, np.nan], "0 or 1"),
    "label strings": ([0.1, 0.2], ["0", "1"], "labels must be"),
    "nan score": ([0.1, np.nan, 0.3], [0, 1, 1], "non-finite"),
    "inf score": ([0.1, np.inf, 0.3], [0, 1, 1], "non-finite"),
    "-inf score": ([0.1, -np.inf, 0.3], [0, 1, 1], "non-finite"),
    "string scores": (["a", "b"], [0, 1], "scores must be real"),
    "none score": ([0.1, None], [0, 1], "scores must be real"),
    "complex scores": ([0.1 + 1j, 0.2], [0, 1], "scores must be real"),
    "2-D scores": (np.zeros((3, 2)), [0, 1, 0], "1-D"),
    "scalar scores": (0.5, [1], "1-D"),
    "ragged": ([[0.1, 0.2], [0.3]], [0, 1], "scores"),
}


@pytest.mark.parametrize("func", list(ALL_FUNCS))
@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_raises_chexmini_error(func, case):
    scores, labels, message = BAD_INPUTS[case]
    with pytest.raises(ChexminiError, match=message) as info:
        ALL_FUNCS[func](scores, labels)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("func", BOTH_CLASS_FUNCS)
@pytest.mark.parametrize("labels", [[0, 0, 0], [1, 1, 1]])
def test_single_class_raises(func, labels):
    with pytest.raises(ChexminiError, match="only one class"):
        ALL_FUNCS[func]([0.1, 0.5, 0.9], labels)


@pytest.mark.parametrize("func", ["pr_curve", "average_precision"])
def test_pr_without_positives_raises(func):
    with pytest.raises(ChexminiError, match="no positive labels"):
        ALL_FUNCS[func]([0.1, 0.5, 0.9], [0, 0, 0])


@pytest.mark.parametrize("func", ["confusion_matrix", "binary_metrics"])
def test_thresholded_metrics_allow_one_class(func):
    result = ALL_FUNCS[func]([0.1, 0.5, 0.9], [0, 0, 0])
    cm = result if func == "confusion_matrix" else result["confusion_matrix"]
    assert cm == {"tn": 1, "fp": 2, "fn": 0, "tp": 0}


@pytest.mark.parametrize("threshold", [float("nan"), "high", None])
def test_bad_threshold_raises(threshold):
    with pytest.raises(ChexminiError, match="threshold"):
        confusion_matrix([0.1, 0.9], [0, 1], threshold)


# --------------------------------------------------------------------------- properties

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
small_grid = st.integers(-3, 3).map(float)  # forces ties


@st.composite
def scores_and_labels(draw):
    n = draw(st.integers(2, 60))
    scores = draw(st.lists(st.one_of(finite, small_grid), min_size=n, max_size=n))
    labels = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    if len(set(labels)) < 2:  # make sure both classes are present
        i = draw(st.integers(0, n - 1))
        labels[i] = 1 - labels[i]
    return scores, labels


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(scores_and_labels())
def test_property_auc_in_unit_interval_and_brute_force(data):
    scores, labels = data
    assert len(set(labels)) == 2
    auc = roc_auc(scores, labels)
    assert 0.0 <= auc <= 1.0
    assert auc == pytest.approx(brute_auc(scores, labels), abs=1e-12)
    fpr, tpr, _ = roc_curve(scores, labels)
    area = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    assert area == pytest.approx(auc, abs=1e-9)


garbage_value = st.one_of(
    finite,
    st.just(float("nan")),
    st.just(float("inf")),
    st.just(float("-inf")),
    st.integers(-5, 5).map(float),
)


@st.composite
def garbage_inputs(draw):
    """Inputs with at least one defect: NaN/inf score, bad label, length mismatch, empty."""
    n_s = draw(st.integers(0, 20))
    n_y = draw(st.integers(0, 20))
    scores = draw(st.lists(garbage_value, min_size=n_s, max_size=n_s))
    labels = draw(
        st.lists(
            st.one_of(st.integers(-2, 3), st.sampled_from([0.5, float("nan"), 1.0, 0.0])),
            min_size=n_y,
            max_size=n_y,
        )
    )
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=float)
    defective = (
        n_s != n_y
        or n_s == 0
        or not np.isfinite(s).all()
        or not np.isin(y[~np.isnan(y)], [0, 1]).all()
        or np.isnan(y).any()
    )
    if not defective:
        scores = [*scores, float("nan")]
    return scores, labels


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(garbage_inputs(), st.sampled_from(list(ALL_FUNCS)))
def test_property_garbage_raises_chexmini_error_only(data, func):
    scores, labels = data
    with pytest.raises(ChexminiError):
        ALL_FUNCS[func](scores, labels)


# --------------------------------------------------------------------------- published run


def _load(reference_results: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.load(reference_results / f"{split}_scores.npy"),
        np.load(reference_results / f"{split}_labels.npy"),
    )


@pytest.fixture(scope="module")
def published(reference_results: Path) -> dict:
    return json.loads((reference_results / "metrics.json").read_text())


def test_reference_youden_threshold(reference_results, published):
    scores, labels = _load(reference_results, "val")
    thr = youden_threshold(scores, labels)
    assert thr == pytest.approx(published["threshold"], abs=1e-12)
    assert thr == pytest.approx(0.38930673934413684, abs=1e-12)


@pytest.mark.parametrize(("split", "key"), [("val", "validation"), ("test", "test")])
def test_reference_split_report(reference_results, published, split, key):
    val_scores, val_labels = _load(reference_results, "val")
    thr = youden_threshold(val_scores, val_labels)
    scores, labels = _load(reference_results, split)
    report = split_report(scores, labels, thr)
    expected = published[key]

    assert list(report) == list(expected)  # same keys, same order
    assert json.loads(json.dumps(report)) == report  # plain JSON types
    assert report["confusion_matrix"] == expected["confusion_matrix"]
    assert list(report["confusion_matrix"]) == ["tn", "fp", "fn", "tp"]
    assert report["n_val"] == expected["n_val"] == len(labels)
    for name, value in expected.items():
        if isinstance(value, float):
            assert report[name] == pytest.approx(value, abs=1e-9), name
    # the 200-point curves: drop-intermediate ROC / full PR, floor(linspace) indices
    for curve, parts in [("roc_curve", ("fpr", "tpr")), ("pr_curve", ("precision", "recall"))]:
        assert list(report[curve]) == list(parts)
        for part in parts:
            assert len(report[curve][part]) == 200
            np.testing.assert_allclose(
                report[curve][part], expected[curve][part], rtol=0, atol=1e-12
            )


def test_reference_headline_numbers(reference_results):
    val_scores, val_labels = _load(reference_results, "val")
    test_scores, test_labels = _load(reference_results, "test")
    thr = youden_threshold(val_scores, val_labels)
    assert roc_auc(val_scores, val_labels) == pytest.approx(0.6994067650923796, abs=1e-9)
    assert roc_auc(test_scores, test_labels) == pytest.approx(0.6502163894405463, abs=1e-9)
    cm = confusion_matrix(test_scores, test_labels, thr)
    assert cm == {"tn": 1346, "fp": 2467, "fn": 1066, "tp": 5121}
    m = binary_metrics(test_scores, test_labels, thr)
    assert m["balanced_accuracy"] == pytest.approx(0.5903530668074659, abs=1e-9)
