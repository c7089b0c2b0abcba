"""The MLP of ``core.nn.model``: published architecture and names, state dicts, dtype,
sigmoid."""

from __future__ import annotations

import numpy as np
import pytest

from core.evaluation.gradcheck import gradcheck
from core.nn import MLP
from core.nn.model import sigmoid
from tests.helpers import small_batch


# -- model ----------------------------------------------------------------------------------
@pytest.mark.slow
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
