"""``core.nn.loss``: binary cross-entropy with logits (value, gradient, stability, label
smoothing) and balanced class weights."""

from __future__ import annotations

import numpy as np
import pytest

from core.nn.loss import balanced_class_weights, bce_with_logits
from core.nn.model import sigmoid


# -- loss -----------------------------------------------------------------------------------
def test_bce_value_matches_definition():
    z = np.array([-2.0, 0.5, 3.0])
    y = np.array([0, 1, 1])
    eps = 0.05
    t = y * (1 - eps) + eps / 2
    p = 1 / (1 + np.exp(-z))
    expected = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
    loss, grad = bce_with_logits(z, y, eps)
    assert loss == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(grad, (p - t) / 3, rtol=1e-12)


def test_bce_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    z = rng.standard_normal(7) * 3
    y = rng.integers(0, 2, 7)
    w = rng.uniform(0.5, 2, 7)
    for weights in (None, w):
        _, grad = bce_with_logits(z, y, 0.05, weights)
        h = 1e-6
        for i in range(7):
            zp, zm = z.copy(), z.copy()
            zp[i] += h
            zm[i] -= h
            num = (bce_with_logits(zp, y, 0.05, weights)[0]
                   - bce_with_logits(zm, y, 0.05, weights)[0]) / (2 * h)
            assert abs(num - grad[i]) / (abs(num) + abs(grad[i])) < 1e-7


def test_bce_is_stable_at_huge_logits():
    z = np.array([1e4, -1e4, 1e4, -1e4], dtype=np.float32)
    y = np.array([1, 0, 0, 1])
    loss, grad = bce_with_logits(z, y, 0.0)
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    assert loss == pytest.approx((0 + 0 + 1e4 + 1e4) / 4)
    loss_s, _ = bce_with_logits(z, y, 0.05)
    assert np.isfinite(loss_s) and grad.dtype == np.float32


def test_label_smoothing_moves_the_minimum():
    # With smoothing ε the loss of a positive is minimised at σ(z) = 1 − ε/2.
    zs = np.linspace(-10, 10, 20001)
    losses = [bce_with_logits(np.array([z]), np.array([1]), 0.1)[0] for z in zs[::50]]
    best = zs[::50][int(np.argmin(losses))]
    assert sigmoid(np.array([best]))[0] == pytest.approx(0.95, abs=0.01)


def test_balanced_class_weights():
    w0, w1 = balanced_class_weights(np.array([0, 0, 0, 1]))
    assert (w0, w1) == (4 / 6, 2.0)
    assert 3 * w0 == pytest.approx(1 * w1)
