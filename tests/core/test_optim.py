"""``core.training.optim``: Adam, RMSProp and SGD by hand, weight decay, regularisation,
optimiser state."""

from __future__ import annotations

import numpy as np
import pytest

from core.training.optim import SGD, Adam, RMSProp, make_optimizer, regularisation


# -- optimisers -----------------------------------------------------------------------------
def test_adam_two_steps_by_hand():
    p = {"fc1.W": np.array([1.0, -2.0]), "fc1.b": np.array([0.5])}
    g = {"fc1.W": np.zeros(2), "fc1.b": np.zeros(1)}
    opt = Adam(p, g, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    # step 1: gW = [0.2, 0.4] + 0.01·W = [0.21, 0.38]; m̂ = g, v̂ = g² → update = lr·sign(g)
    g["fc1.W"][:] = [0.2, 0.4]
    g["fc1.b"][:] = [-0.3]
    opt.step(0.1)
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
    opt.step(0.1)
    np.testing.assert_allclose(p["fc1.W"], w2, rtol=1e-10)
    m_got, v_got = opt.moments("fc1.W")
    np.testing.assert_allclose(m_got, m, rtol=1e-12)
    np.testing.assert_allclose(v_got, v, rtol=1e-12)


def test_weight_decay_leaves_biases_alone():
    p = {"fc1.W": np.ones(3), "fc1.b": np.ones(3)}
    g = {"fc1.W": np.zeros(3), "fc1.b": np.zeros(3)}
    for opt in (SGD(p, g, momentum=0.0, weight_decay=0.5),):
        opt.step(0.1)
    np.testing.assert_allclose(p["fc1.W"], 1 - 0.1 * 0.5)
    np.testing.assert_array_equal(p["fc1.b"], 1.0)
    p2 = {"fc1.W": np.ones(3), "fc1.b": np.ones(3)}
    g2 = {"fc1.W": np.zeros(3), "fc1.b": np.zeros(3)}
    Adam(p2, g2, weight_decay=0.5).step(0.1)
    assert np.all(p2["fc1.W"] < 1) and np.array_equal(p2["fc1.b"], np.ones(3))


def test_regularisation_is_half_lambda_squared_norm_of_weights():
    p = {"a.W": np.array([3.0, 4.0]), "a.b": np.array([100.0])}
    assert regularisation(p, 0.1) == pytest.approx(0.5 * 0.1 * 25)
    assert regularisation(p, 0.0, l1=0.5) == pytest.approx(3.5)


def test_sgd_momentum():
    p = {"x.W": np.array([1.0])}
    g = {"x.W": np.array([1.0])}
    opt = SGD(p, g, momentum=0.9)
    opt.step(0.1)
    opt.step(0.1)  # v1 = 1, v2 = 0.9 + 1 = 1.9 → p = 1 − 0.1·(1 + 1.9)
    assert p["x.W"][0] == pytest.approx(1 - 0.29)


def test_rmsprop_two_steps_by_hand():
    """s ← ρ s + (1 − ρ) g'², θ ← θ − lr g' / (√s + ε), g' = g + λW on weights only."""
    p = {"fc1.W": np.array([1.0, -2.0]), "fc1.b": np.array([0.5])}
    g = {"fc1.W": np.array([0.2, 0.4]), "fc1.b": np.array([-0.3])}
    opt = RMSProp(p, g, rho=0.9, eps=1e-8, weight_decay=0.01)
    opt.step(0.1)
    gw1 = np.array([0.2, 0.4]) + 0.01 * np.array([1.0, -2.0])
    s1 = 0.1 * gw1**2
    w1 = np.array([1.0, -2.0]) - 0.1 * gw1 / (np.sqrt(s1) + 1e-8)
    np.testing.assert_allclose(p["fc1.W"], w1, rtol=1e-12)
    sb = 0.1 * 0.09  # the bias gets no decay: g' = g
    np.testing.assert_allclose(p["fc1.b"], [0.5 + 0.1 * 0.3 / (np.sqrt(sb) + 1e-8)], rtol=1e-12)
    g["fc1.W"][:] = [-0.1, 0.05]
    gw2 = np.array([-0.1, 0.05]) + 0.01 * w1
    s2 = 0.9 * s1 + 0.1 * gw2**2
    opt.step(0.1)
    np.testing.assert_allclose(p["fc1.W"], w1 - 0.1 * gw2 / (np.sqrt(s2) + 1e-8), rtol=1e-12)
    np.testing.assert_allclose(opt.sq_avg["fc1.W"], s2, rtol=1e-12)
    np.testing.assert_array_equal(g["fc1.W"], [-0.1, 0.05])  # the gradient is left alone


@pytest.mark.parametrize("kind", ["adam", "sgd", "rmsprop"])
def test_optimizer_state_round_trip(kind):
    p = {"x.W": np.array([1.0, 2.0])}
    g = {"x.W": np.array([0.3, -0.2])}
    a = make_optimizer(kind, p, g)
    a.step(0.01)
    p2 = {"x.W": p["x.W"].copy()}
    b = make_optimizer(kind, p2, {"x.W": g["x.W"].copy()})
    b.load_state_dict({k: v.copy() for k, v in a.state_dict().items()})
    a.step(0.01)
    b.step(0.01)
    np.testing.assert_array_equal(p["x.W"], p2["x.W"])
    with pytest.raises(ValueError):
        make_optimizer("adagrad", p, g)
