"""``core.evaluation.gradcheck``: analytic gradients against finite differences, on fresh, published
and shipped models, and a broken backward caught."""

from __future__ import annotations

import numpy as np
import pytest

from core.evaluation.gradcheck import gradcheck
from core.nn import MLP, Linear
from tests.helpers import REPO, small_batch


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


@pytest.mark.slow
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


@pytest.mark.slow
def test_gradcheck_flags_relu_kinks_instead_of_failing():
    m = MLP((12, 10, 6, 1), dropout=0.0, seed=0)
    report = gradcheck(m, *small_batch(), eps=1e-1, n_samples=60)
    assert sum(r.n_kinks for r in report.rows) > 0


@pytest.mark.slow
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
