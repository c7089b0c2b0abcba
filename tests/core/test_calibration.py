"""Brier score, ECE and reliability bins against straightforward loops, hand examples and
the edge cases (bin edges, one class, bad input)."""

from __future__ import annotations

import numpy as np
import pytest

from core.evaluation.calibration import (
    ECE_BINS,
    brier_score,
    expected_calibration_error,
    reliability_bins,
)
from core.foundation.errors import ChexminiError


def loop_bins(scores, labels, n_bins=15):
    """Bin ``i`` = [i/n, (i+1)/n), the last closed; per bin the list of (p, y)."""
    bins = [[] for _ in range(n_bins)]
    for p, y in zip(scores, labels, strict=True):
        for i in range(n_bins):
            lo, hi = i / n_bins, (i + 1) / n_bins
            if lo <= p < hi or (i == n_bins - 1 and p == 1.0):
                bins[i].append((p, y))
                break
    return bins


def loop_ece(scores, labels, n_bins=15) -> float:
    total = 0.0
    for members in loop_bins(scores, labels, n_bins):
        if members:
            mean_p = sum(p for p, _ in members) / len(members)
            mean_y = sum(y for _, y in members) / len(members)
            total += len(members) / len(scores) * abs(mean_y - mean_p)
    return total


def data(seed: int, n: int = 400):
    rng = np.random.default_rng(seed)
    p = rng.random(n)
    y = (rng.random(n) < p ** 1.5).astype(int)   # miscalibrated on purpose
    return p, y


@pytest.mark.parametrize("seed", range(5))
def test_brier_and_ece_match_the_loops(seed):
    p, y = data(seed)
    assert brier_score(p, y) == pytest.approx(
        sum((pi - yi) ** 2 for pi, yi in zip(p, y, strict=True)) / len(p), abs=1e-12)
    assert expected_calibration_error(p, y) == pytest.approx(loop_ece(p, y), abs=1e-12)


def test_hand_example():
    p = [0.0, 0.1, 0.1, 0.9, 1.0]
    y = [0, 0, 1, 1, 1]
    # Brier: (0 + 0.01 + 0.81 + 0.01 + 0) / 5
    assert brier_score(p, y) == pytest.approx(0.83 / 5)
    # 0.0 -> bin 0 (gap 0); both 0.1 -> bin 1 (mean label 0.5, gap 0.4);
    # 0.9 -> bin 13 (gap 0.1); 1.0 -> last bin 14 (gap 0)
    bins = reliability_bins(p, y)
    assert list(bins.filled) == [0, 1, 13, 14]
    assert list(bins.count[[0, 1, 13, 14]]) == [1, 2, 1, 1] and bins.count.sum() == 5
    assert bins.mean_label[1] == 0.5 and bins.mean_score[1] == pytest.approx(0.1)
    assert np.isnan(bins.mean_score[5]) and np.isnan(bins.mean_label[5])
    assert expected_calibration_error(p, y) == pytest.approx((2 * 0.4 + 0.1) / 5)


def test_bin_edges_belong_to_the_bin_above():
    edges = np.linspace(0, 1, ECE_BINS + 1)
    p = edges[:-1]                       # every lower edge once
    bins = reliability_bins(p, np.zeros(ECE_BINS, int))
    assert list(bins.count) == [1] * ECE_BINS
    assert list(bins.edges) == list(edges)
    assert [len(m) for m in loop_bins(p, np.zeros(ECE_BINS, int))] == [1] * ECE_BINS


def test_perfect_calibration_and_constant_half():
    # two scores, each bin's label mean equals its score: ECE 0
    p = np.r_[np.full(10, 0.2), np.full(10, 0.8)]
    y = np.r_[[1, 1] + [0] * 8, [1] * 8 + [0, 0]]
    assert expected_calibration_error(p, y) == pytest.approx(0.0, abs=1e-12)
    # a constant 0.5 on balanced labels: Brier 0.25, ECE 0
    half, yb = np.full(8, 0.5), np.arange(8) % 2
    assert brier_score(half, yb) == 0.25
    assert expected_calibration_error(half, yb) == 0.0


@pytest.mark.parametrize("label", [0, 1])
def test_one_class_is_defined(label):
    p = np.array([0.1, 0.35, 0.7, 0.95])
    y = np.full(4, label)
    assert brier_score(p, y) == pytest.approx(float(np.mean((p - label) ** 2)))
    assert expected_calibration_error(p, y) == pytest.approx(loop_ece(p, y))
    assert expected_calibration_error(p, y) == pytest.approx(np.mean(np.abs(p - label)))


@pytest.mark.parametrize("scores, labels, words", [
    ([0.2, 1.5], [0, 1], "probabilities in [0, 1]"),
    ([-0.1, 0.5], [0, 1], "probabilities in [0, 1]"),
    ([0.2, float("nan")], [0, 1], "non-finite"),
    ([0.2, 0.3], [0, 2], "0 or 1"),
    ([], [], "no samples"),
    ([0.2, 0.3], [0], "differ in length"),
])
def test_bad_input_is_one_line(scores, labels, words):
    for func in (brier_score, expected_calibration_error):
        with pytest.raises(ChexminiError) as info:
            func(scores, labels)
        assert words in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("n_bins", [0, -3, 2.5, True])
def test_bad_bin_count(n_bins):
    with pytest.raises(ChexminiError, match="n_bins"):
        reliability_bins([0.5], [1], n_bins)
