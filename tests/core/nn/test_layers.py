"""The layers of ``core.nn``: Linear, ReLU and Dropout, forward and backward, against
hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.nn import Dropout, Linear, ReLU


# -- layers ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_linear_forward_is_affine_and_he_initialised():
    rng = np.random.default_rng(0)
    layer = Linear("fc", 2000, 300, rng, np.float64)
    std = layer.params["W"].std()
    assert abs(std - math.sqrt(2 / 2000)) / math.sqrt(2 / 2000) < 0.02
    assert np.all(layer.params["b"] == 0)
    layer.params["b"][:] = np.arange(300)
    x = rng.standard_normal((4, 2000))
    np.testing.assert_allclose(layer.forward(x), x @ layer.params["W"] + np.arange(300))


def test_linear_backward_matches_formulas():
    rng = np.random.default_rng(1)
    layer = Linear("fc", 5, 3, rng, np.float64)
    x = rng.standard_normal((4, 5))
    g = rng.standard_normal((4, 3))
    layer.forward(x)
    dx = layer.backward(g)
    np.testing.assert_allclose(layer.grads["W"], x.T @ g)
    np.testing.assert_allclose(layer.grads["b"], g.sum(0))
    np.testing.assert_allclose(dx, g @ layer.params["W"].T)


def test_relu_forward_backward():
    relu = ReLU("r")
    x = np.array([[-1.0, 0.0, 2.0]])
    y = relu.forward(x.copy())
    np.testing.assert_array_equal(y, [[0, 0, 2]])
    np.testing.assert_array_equal(relu.backward(np.ones((1, 3))), [[0, 0, 1]])


def test_dropout_is_inverted_and_off_in_eval():
    d = Dropout("d", 0.3, np.random.default_rng(0))
    x = np.ones((400, 500), dtype=np.float32)
    np.testing.assert_array_equal(d.forward(x.copy(), train=False), x)
    y = d.forward(x.copy(), train=True)
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.01  # expectation preserved
    g = d.backward(np.ones_like(x))
    np.testing.assert_array_equal(g != 0, kept)
