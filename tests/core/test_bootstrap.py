"""Bootstrap intervals of the ROC AUC: the vectorised replicates are exact, the interval
covers the true AUC about as often as it says, and degenerate inputs are handled."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.evaluation.bootstrap import (
    _multiplicities,
    _replicate_aucs,
    auc_ci,
    auc_interval,
    format_auc,
    format_ci,
    headline_auc,
)
from core.evaluation.metrics import roc_auc


def _binormal(rng, n_pos, n_neg, d):
    """Scores N(d, 1) for positives, N(0, 1) for negatives: true AUC Φ(d / √2)."""
    s = np.r_[rng.normal(d, 1, n_pos), rng.normal(0, 1, n_neg)]
    return s, np.r_[np.ones(n_pos), np.zeros(n_neg)]


def test_replicates_equal_the_auc_of_the_explicit_resamples():
    rng = np.random.default_rng(3)
    s, y = _binormal(rng, 17, 23, 0.8)
    s = np.round(s, 1)                                   # ties across classes
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    uniq, block = np.unique(s, return_inverse=True)
    got = _replicate_aucs(block, y == 1, len(uniq), 50, np.random.default_rng(9))
    again = np.random.default_rng(9)
    u, v = _multiplicities(len(pos), 50, again), _multiplicities(len(neg), 50, again)
    for b in range(50):
        assert u[b].sum() == len(pos) and v[b].sum() == len(neg)
        idx = np.r_[np.repeat(pos, u[b]), np.repeat(neg, v[b])]
        assert got[b] == pytest.approx(roc_auc(s[idx], y[idx]), abs=1e-12)


@pytest.mark.slow
def test_coverage_is_near_nominal():
    d = 1.0
    true_auc = 0.5 * (1 + math.erf(d / 2))               # Φ(d / √2)
    rng = np.random.default_rng(2026)
    draws, hits = 200, 0
    for k in range(draws):
        s, y = _binormal(rng, 60, 90, d)
        lo, hi = auc_ci(s, y, replicates=400, seed=k)
        hits += lo <= true_auc <= hi
    # 95 % nominal; percentile intervals run slightly narrow at n = 150.
    # Binomial sd of the rate over 200 draws is ~1.5 %.
    assert 0.89 <= hits / draws <= 0.99


def test_deterministic_and_around_the_auc():
    rng = np.random.default_rng(0)
    s, y = _binormal(rng, 40, 60, 1.2)
    a, b = auc_ci(s, y), auc_ci(s, y)
    assert a == b and auc_ci(s, y, seed=1) != a
    assert a[0] < roc_auc(s, y) < a[1]
    wide = auc_ci(s, y, level=0.99)
    assert wide[0] <= a[0] and wide[1] >= a[1]


def test_degenerate_inputs():
    assert auc_ci([0.1, 0.2, 0.3], [1, 1, 1]) is None        # one class: no AUC
    assert auc_interval([0.1, 0.2], [0, 0]) == {}
    assert auc_ci([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == (1.0, 1.0)   # every resample
    assert auc_ci([0.5] * 6, [0, 1] * 3) == (0.5, 0.5)               # all tied
    lo, hi = auc_ci([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])   # one class per resample: never
    assert 0.0 <= lo <= hi <= 1.0


def test_formatting():
    assert format_auc(0.81234, (0.78, 0.85)) == "0.8123 (95% CI 0.7800–0.8500)"
    assert format_auc(0.81234) == "0.8123" and format_auc(None) == "—"
    assert format_auc(0.8, (None, None)) == "0.8000"
    assert format_ci((0.1, 0.2), 3) == "0.100–0.200" and format_ci(None) == "—"
    assert headline_auc({"auc": 0.5, "auc_lo": 0.4, "auc_hi": 0.6}) == \
        "0.5000 (95% CI 0.4000–0.6000)"
    assert headline_auc({"auc": 0.5}) == "0.5000"
