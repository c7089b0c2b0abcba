"""Layers, model, loss and optimisers: real maths, checked against finite differences
and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.gradcheck import gradcheck
from core.loss import balanced_class_weights, bce_with_logits
from core.nn import MLP, Dropout, Linear, ReLU
from core.nn.model import sigmoid
from core.optim import SGD, Adam, cosine_lr, make_optimizer, regularisation
from tests.helpers import REPO


def small_batch(n_in=12, b=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((b, n_in)), (np.arange(b) % 2).astype(float)


# -- layers ---------------------------------------------------------------------------------
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


# -- model ----------------------------------------------------------------------------------
def test_published_architecture_and_names():
    m = MLP()
    assert m.widths == (4096, 1024, 256, 64, 1)
    shapes = {k: v.shape for k, v in m.parameters().items()}
    assert shapes == {"fc1.W": (4096, 1024), "fc1.b": (1024,), "fc2.W": (1024, 256),
                      "fc2.b": (256,), "fc3.W": (256, 64), "fc3.b": (64,), "fc4.W": (64, 1),
                      "fc4.b": (1,)}
    assert m.n_parameters() == 4096 * 1024 + 1024 + 1024 * 256 + 256 + 256 * 64 + 64 + 64 + 1
    assert m.dtype == np.float32
    assert [type(lay).__name__ for lay in m.layers[:3]] == ["Linear", "ReLU", "Dropout"]


def test_state_dict_round_trip_is_exact():
    a, b = MLP((10, 7, 1), seed=1), MLP((10, 7, 1), seed=2)
    assert not np.array_equal(a.parameters()["fc1.W"], b.parameters()["fc1.W"])
    b.load_state_dict(a.state_dict())
    for k, v in a.parameters().items():
        assert np.array_equal(v, b.parameters()[k])
    with pytest.raises(KeyError):
        b.load_state_dict({"fc1.W": a.parameters()["fc1.W"]})
    bad = a.state_dict()
    bad["fc1.W"] = bad["fc1.W"][:, :3]
    with pytest.raises(ValueError):
        b.load_state_dict(bad)


def test_cast_to_float64_gives_the_same_function():
    m = MLP((20, 8, 1), seed=3)
    m64 = m.astype(np.float64)
    assert m64.dtype == np.float64 and m.dtype == np.float32
    x = np.random.default_rng(0).standard_normal((5, 20))
    np.testing.assert_allclose(m64.predict_logits(x), m.predict_logits(x.astype(np.float32)),
                               rtol=1e-5, atol=1e-5)


def test_from_state_dict_reads_widths():
    m = MLP((30, 9, 4, 1), seed=0)
    m2 = MLP.from_state_dict(m.state_dict())
    assert m2.widths == (30, 9, 4, 1)
    bad = m.state_dict()
    bad["fc2.W"] = np.zeros((8, 4), np.float32)
    with pytest.raises(ValueError):
        MLP.from_state_dict(bad)


def test_logistic_regression_is_an_mlp_without_hidden_layers():
    m = MLP((6, 1), seed=0)
    assert [type(lay).__name__ for lay in m.layers] == ["Linear"]
    x, y = small_batch(6)
    assert gradcheck(m, x, y).passed


def test_sigmoid_is_stable():
    z = np.array([-1e4, -50, 0, 50, 1e4])
    s = sigmoid(z)
    assert np.all(np.isfinite(s))
    np.testing.assert_allclose(s, [0, 1.9287498479639178e-22, 0.5, 1, 1], atol=1e-30)


# -- gradient check -------------------------------------------------------------------------
def test_gradcheck_passes_on_every_tensor_in_float64():
    m = MLP((12, 10, 6, 4, 1), dropout=0.3, seed=0)
    x, y = small_batch()
    report = gradcheck(m, x, y, n_samples=30)
    names = [r.name for r in report.rows]
    assert names == ["fc1.W", "fc1.b", "fc2.W", "fc2.b", "fc3.W", "fc3.b", "fc4.W", "fc4.b",
                     "input"]
    for r in report.rows:
        assert r.n_checked > 0
        assert r.max_rel_error < 1e-6, r
    assert report.passed


def test_gradcheck_on_the_published_architecture():
    m = MLP(seed=0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 4096))
    report = gradcheck(m, x, np.array([0, 1, 1, 0.0]), n_samples=8)
    assert report.passed and report.max_rel_error < 1e-6


def test_gradcheck_does_not_modify_the_model():
    m = MLP((12, 5, 1), seed=0)
    before = m.state_dict()
    gradcheck(m, *small_batch())
    for k, v in m.parameters().items():
        assert np.array_equal(v, before[k]) and v.dtype == np.float32


def test_gradcheck_fails_on_a_broken_backward(monkeypatch):
    """Break fc2's dW by 1% inside the engine's own Linear.backward: the check must fail
    for that tensor and only that tensor."""
    original = Linear.backward

    def broken(self, grad_out, need_input_grad=True):
        out = original(self, grad_out, need_input_grad)
        if self.name == "fc2":
            self.grads["W"] *= 1.01
        return out

    monkeypatch.setattr(Linear, "backward", broken)
    m = MLP((12, 10, 6, 1), dropout=0.0, seed=0)
    report = gradcheck(m, *small_batch(), n_samples=10)
    by_name = {r.name: r for r in report.rows}
    assert not report.passed
    assert not by_name["fc2.W"].passed and by_name["fc2.W"].max_rel_error > 1e-3
    assert [r.name for r in report.rows if not r.passed] == ["fc2.W"]


def test_gradcheck_flags_relu_kinks_instead_of_failing():
    m = MLP((12, 10, 6, 1), dropout=0.0, seed=0)
    report = gradcheck(m, *small_batch(), eps=1e-1, n_samples=60)
    assert sum(r.n_kinks for r in report.rows) > 0


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


# -- optimisers -----------------------------------------------------------------------------
def test_adam_two_steps_by_hand():
    p = {"fc1.W": np.array([1.0, -2.0]), "fc1.b": np.array([0.5])}
    g = {"fc1.W": np.zeros(2), "fc1.b": np.zeros(1)}
    opt = Adam(p, g, lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    # step 1: gW = [0.2, 0.4] + 0.01·W = [0.21, 0.38]; m̂ = g, v̂ = g² → update = lr·sign(g)
    g["fc1.W"][:] = [0.2, 0.4]
    g["fc1.b"][:] = [-0.3]
    opt.step()
    gw1 = np.array([0.2, 0.4]) + 0.01 * np.array([1.0, -2.0])
    w1 = np.array([1.0, -2.0]) - 0.1 * gw1 / (np.abs(gw1) + 1e-8)
    np.testing.assert_allclose(p["fc1.W"], w1, rtol=1e-12)
    np.testing.assert_allclose(p["fc1.b"], [0.5 + 0.1 * 0.3 / (0.3 + 1e-8)], rtol=1e-12)
    # step 2 by the textbook formulas
    g["fc1.W"][:] = [-0.1, 0.05]
    gw2 = np.array([-0.1, 0.05]) + 0.01 * w1
    m = 0.9 * 0.1 * gw1 + 0.1 * gw2
    v = 0.999 * 0.001 * gw1**2 + 0.001 * gw2**2
    mhat, vhat = m / (1 - 0.9**2), v / (1 - 0.999**2)
    w2 = w1 - 0.1 * mhat / (np.sqrt(vhat) + 1e-8)
    g["fc1.b"][:] = [0.0]
    opt.step()
    np.testing.assert_allclose(p["fc1.W"], w2, rtol=1e-10)
    m_got, v_got = opt.moments("fc1.W")
    np.testing.assert_allclose(m_got, m, rtol=1e-12)
    np.testing.assert_allclose(v_got, v, rtol=1e-12)


def test_weight_decay_leaves_biases_alone():
    p = {"fc1.W": np.ones(3), "fc1.b": np.ones(3)}
    g = {"fc1.W": np.zeros(3), "fc1.b": np.zeros(3)}
    for opt in (SGD(p, g, lr=0.1, momentum=0.0, weight_decay=0.5),):
        opt.step()
    np.testing.assert_allclose(p["fc1.W"], 1 - 0.1 * 0.5)
    np.testing.assert_array_equal(p["fc1.b"], 1.0)
    p2 = {"fc1.W": np.ones(3), "fc1.b": np.ones(3)}
    g2 = {"fc1.W": np.zeros(3), "fc1.b": np.zeros(3)}
    Adam(p2, g2, lr=0.1, weight_decay=0.5).step()
    assert np.all(p2["fc1.W"] < 1) and np.array_equal(p2["fc1.b"], np.ones(3))


def test_regularisation_is_half_lambda_squared_norm_of_weights():
    p = {"a.W": np.array([3.0, 4.0]), "a.b": np.array([100.0])}
    assert regularisation(p, 0.1) == pytest.approx(0.5 * 0.1 * 25)
    assert regularisation(p, 0.0, l1=0.5) == pytest.approx(3.5)


def test_sgd_momentum():
    p = {"x.W": np.array([1.0])}
    g = {"x.W": np.array([1.0])}
    opt = SGD(p, g, lr=0.1, momentum=0.9)
    opt.step()
    opt.step()  # v1 = 1, v2 = 0.9 + 1 = 1.9 → p = 1 − 0.1·(1 + 1.9)
    assert p["x.W"][0] == pytest.approx(1 - 0.29)


def test_optimizer_state_round_trip():
    p = {"x.W": np.array([1.0, 2.0])}
    g = {"x.W": np.array([0.3, -0.2])}
    a = make_optimizer("adam", p, g, 0.01)
    a.step()
    p2 = {"x.W": p["x.W"].copy()}
    b = make_optimizer("adam", p2, {"x.W": g["x.W"].copy()}, 0.01)
    b.load_state_dict({k: v.copy() for k, v in a.state_dict().items()})
    a.step()
    b.step()
    np.testing.assert_array_equal(p["x.W"], p2["x.W"])
    with pytest.raises(ValueError):
        make_optimizer("rmsprop", p, g, 0.1)


def test_cosine_schedule_endpoints_and_shape():
    assert cosine_lr(0, 200, 1e-3, 1e-5) == pytest.approx(1e-3)
    assert cosine_lr(199, 200, 1e-3, 1e-5) == pytest.approx(1e-5)
    assert cosine_lr(99.5, 200, 1e-3, 1e-5) == pytest.approx((1e-3 + 1e-5) / 2)
    lrs = [cosine_lr(e, 200, 1e-3, 1e-5) for e in range(200)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:], strict=False))
    assert cosine_lr(0, 1, 1e-3, 1e-5) == 1e-3


def test_cosine_schedule_matches_the_published_history(reference_results):
    import json

    lr = json.loads((reference_results / "history.json").read_text())["lr"]
    ours = [cosine_lr(e, 200, 1e-3, 1e-5) for e in range(200)]
    np.testing.assert_allclose(ours, lr, rtol=1e-12)


def test_gradcheck_passes_on_the_shipped_trained_checkpoint():
    """Trained weights give small gradients (dead units, flat loss): the 4th-order
    difference and the round-off floor keep the check meaningful there too."""

    from core.inference import load_checkpoint

    model = load_checkpoint(REPO / "artifacts")[0]
    x = np.random.default_rng(2).standard_normal((8, 4096))
    report = gradcheck(model, x, (np.arange(8) % 2).astype(float), n_samples=10)
    assert report.passed and report.max_rel_error < 1e-6


def test_second_order_stencil_is_available_and_passes_on_a_fresh_model():
    m = MLP((12, 10, 6, 1), seed=0)
    report = gradcheck(m, *small_batch(), order=2, eps=1e-5, n_samples=20)
    assert report.passed
    with pytest.raises(ValueError):
        gradcheck(m, *small_batch(), order=3)


def test_parse_hidden_dims_is_shared_by_every_front_end():
    from core.config import parse_hidden_dims
    from core.errors import ChexminiError

    assert parse_hidden_dims("1024, 256,64") == [1024, 256, 64]
    assert parse_hidden_dims("") == []
    for bad in ("a,b", "64,0", "1.5"):
        with pytest.raises(ChexminiError, match="hidden dims"):
            parse_hidden_dims(bad)
