"""The fast kernels equal the textbook definitions in :mod:`core.reference`.

float64: equal to round-off (rtol 1e-12 for single passes, 1e-10 over trajectories);
float32: tight tolerances (the kernels reorder or fold some arithmetic). The random draws
(dropout masks, flips, brightness, noise offsets) are the same: both sides read identically
seeded streams, and the tests check the streams end in the same state.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.nn import MLP, Dropout, Linear, ReLU
from core.nn.augment import AugmentConfig
from core.nn.batches import BatchMaker
from core.nn.loss import bce_with_logits
from core.nn.standardize import feature_stats
from core.reference import augment as ref_aug
from core.reference.layers import Dropout as RefDropout
from core.reference.layers import Linear as RefLinear
from core.reference.layers import ReLU as RefReLU
from core.reference.loss import bce_with_logits as ref_bce
from core.reference.mlp import MLP as RefMLP
from core.reference.optim import adam_step, init_adam, rmsprop_step, sgd_step
from core.runs import layout
from core.training.optim import (
    SGD,
    Adam,
    ConstantSchedule,
    CosineSchedule,
    RMSProp,
    cosine_lr,
    lr_schedule,
    make_schedule,
)
from core.training.resume_state import load_resume_state, save_resume_state
from core.training.train import train
from tests.helpers import run_to_end, synthetic, tiny_config

TOL = {np.float64: {"rtol": 1e-12, "atol": 1e-14}, np.float32: {"rtol": 1e-5, "atol": 1e-6}}


# -- layers -------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_linear_relu_dropout_forward_and_backward(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 12)).astype(dtype)
    g = rng.standard_normal((16, 5)).astype(dtype)
    fast = Linear("fc1", 12, 5, np.random.default_rng(1), dtype)
    fast.params["b"][:] = rng.standard_normal(5)
    slow = RefLinear(fast.params["W"].copy(), fast.params["b"].copy())
    np.testing.assert_allclose(fast.forward(x.copy(), True), slow.forward(x), **TOL[dtype])
    np.testing.assert_allclose(fast.backward(g.copy()), slow.backward(g), **TOL[dtype])
    for k in ("W", "b"):
        np.testing.assert_allclose(fast.grads[k], slow.grads[k], **TOL[dtype], err_msg=k)

    x5, g5 = x[:, :5].copy(), g.copy()
    relu, ref_relu = ReLU("r"), RefReLU()
    np.testing.assert_array_equal(relu.forward(x5.copy(), True), ref_relu.forward(x5))
    np.testing.assert_array_equal(relu.backward(g5.copy()), ref_relu.backward(g5))

    drop = Dropout("d", 0.3, np.random.default_rng(9))
    ref_drop = RefDropout(0.3, np.random.default_rng(9))
    np.testing.assert_allclose(drop.forward(x5.copy(), True), ref_drop.forward(x5),
                               **TOL[dtype])
    np.testing.assert_allclose(drop.backward(g5.copy()), ref_drop.backward(g5), **TOL[dtype])
    assert drop.rng.random() == ref_drop.rng.random()  # the same draws were used
    np.testing.assert_array_equal(drop.forward(x5.copy(), False), ref_drop.forward(x5, False))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mlp_forward_and_backward_with_dropout(dtype):
    widths, p = (48, 32, 16, 8, 1), 0.3
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20, 48)).astype(dtype)
    g = rng.standard_normal((20, 1)).astype(dtype)
    fast = MLP(widths, dropout=p, seed=3, dtype=dtype)
    fast.set_dropout_rng(np.random.default_rng(5))
    slow = RefMLP({k: v.copy() for k, v in fast.parameters().items()}, p,
                  np.random.default_rng(5))
    np.testing.assert_allclose(fast.forward(x.copy(), train=True), slow.forward(x),
                               **TOL[dtype])
    fast.backward(g.copy())
    grads = slow.backward(g)
    assert grads.keys() == fast.gradients().keys()
    for k, v in fast.gradients().items():
        np.testing.assert_allclose(v, grads[k], **TOL[dtype], err_msg=k)
    assert fast.dropout_rng.random() == slow.layers[2][1].rng.random()


# -- loss ---------------------------------------------------------------------------------
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.05, 0.2])
def test_bce_with_logits(weighted, smoothing):
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.standard_normal(60) * 4, [-30.0, 30.0, 0.0]])
    y = (rng.random(z.size) < 0.4).astype(np.float64)
    w = rng.uniform(0.5, 2.0, z.size) if weighted else None
    loss, grad = bce_with_logits(z[:, None], y, smoothing, w)
    ref_loss, ref_grad = ref_bce(z, y, smoothing, w)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose(grad[:, 0], ref_grad, rtol=1e-12, atol=1e-16)


# -- optimisers ---------------------------------------------------------------------------
def _problem(dtype, seed=0):
    rng = np.random.default_rng(seed)
    params = {"fc1.W": rng.standard_normal((30, 20)), "fc1.b": rng.standard_normal(20),
              "fc2.W": rng.standard_normal((20, 1)) * 0.1, "fc2.b": np.zeros(1)}
    params = {k: v.astype(dtype) for k, v in params.items()}
    grads = [{k: (rng.standard_normal(v.shape) * 10.0 ** rng.integers(-4, 1)).astype(dtype)
              for k, v in params.items()} for _ in range(60)]
    return params, grads


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-10), (np.float32, 2e-5)])
@pytest.mark.parametrize("wd,l1", [(0.0, 0.0), (1e-2, 0.0), (1e-3, 1e-4)])
def test_adam_trajectory_matches_the_textbook(dtype, rtol, wd, l1):
    """60 steps under a cosine schedule, with gradients spanning four orders of magnitude:
    parameters and the textbook moments agree at every step."""
    params, grads = _problem(dtype)
    live = {k: v.copy() for k, v in params.items()}
    live_g = {k: np.zeros_like(v) for k, v in params.items()}
    sched = CosineSchedule(1e-2, 1e-4, 6)
    opt = Adam(live, live_g, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd, l1=l1)
    state = init_adam(params)
    for i, g in enumerate(grads):
        lr = sched.lr_at(i // 10)
        assert lr == cosine_lr(i // 10, 6, 1e-2, 1e-4)
        for k in live_g:
            live_g[k][...] = g[k]
        opt.step(lr)
        adam_step(params, g, state, lr, (0.9, 0.999), 1e-8, wd, l1)
        for k in params:
            np.testing.assert_allclose(live[k], params[k], rtol=rtol, atol=rtol * 1e-3,
                                       err_msg=f"step {i + 1} {k}")
            # m sums gradients of both signs: near-cancelling entries are compared to
            # the tensor's scale; v is a sum of squares, compared entry by entry.
            m, v = opt.moments(k)
            m_ref = state["m"][k]
            np.testing.assert_allclose(m, m_ref, rtol=rtol, atol=rtol * np.abs(m_ref).max())
            np.testing.assert_allclose(v, state["v"][k], rtol=rtol, atol=0)
        for k, v in live_g.items():
            np.testing.assert_array_equal(v, g[k])  # the kernel leaves the gradients alone
    assert opt.t == state["t"] == 60


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_sgd_trajectory_matches_the_textbook(dtype, rtol):
    params, grads = _problem(dtype, seed=1)
    live = {k: v.copy() for k, v in params.items()}
    live_g = {k: np.zeros_like(v) for k, v in params.items()}
    opt = SGD(live, live_g, momentum=0.9, weight_decay=1e-3, l1=1e-4)
    vel = {k: np.zeros_like(v) for k, v in params.items()}
    for g in grads[:30]:
        for k in live_g:
            live_g[k][...] = g[k]
        opt.step(0.05)
        sgd_step(params, g, vel, 0.05, 0.9, 1e-3, 1e-4)
    for k in params:
        np.testing.assert_allclose(live[k], params[k], rtol=rtol, atol=rtol * 1e-3, err_msg=k)


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-10), (np.float32, 2e-5)])
@pytest.mark.parametrize("wd,l1", [(0.0, 0.0), (1e-2, 0.0), (1e-3, 1e-4)])
def test_rmsprop_trajectory_matches_the_textbook(dtype, rtol, wd, l1):
    """60 steps under a cosine schedule, gradients spanning four orders of magnitude:
    parameters and the squared-gradient average agree at every step."""
    params, grads = _problem(dtype, seed=2)
    live = {k: v.copy() for k, v in params.items()}
    live_g = {k: np.zeros_like(v) for k, v in params.items()}
    sched = CosineSchedule(1e-2, 1e-4, 6)
    opt = RMSProp(live, live_g, rho=0.9, eps=1e-8, weight_decay=wd, l1=l1)
    sq = {k: np.zeros_like(v) for k, v in params.items()}
    for i, g in enumerate(grads):
        lr = sched.lr_at(i // 10)
        for k in live_g:
            live_g[k][...] = g[k]
        opt.step(lr)
        rmsprop_step(params, g, sq, lr, 0.9, 1e-8, wd, l1)
        for k in params:
            np.testing.assert_allclose(live[k], params[k], rtol=rtol, atol=rtol * 1e-3,
                                       err_msg=f"step {i + 1} {k}")
            np.testing.assert_allclose(opt.sq_avg[k], sq[k], rtol=rtol, atol=0)
        for k, v in live_g.items():
            np.testing.assert_array_equal(v, g[k])  # the kernel leaves the gradients alone
    assert opt.t == 60


def test_the_schedule_owns_the_learning_rate():
    """The schedule computes each epoch's rate from its base rate; the optimisers hold no
    rate of their own (each step is given it)."""
    const = make_schedule("constant", 3e-3)
    assert isinstance(const, ConstantSchedule) and const.base_lr == 3e-3
    assert const.lr_at(0) == const.lr_at(7) == 3e-3
    sched = make_schedule("cosine", 1e-3, 1e-5, 200)
    assert sched.lr_at(0) == 1e-3 and sched.lr_at(199) == pytest.approx(1e-5)
    from_config = lr_schedule(tiny_config(lr=2e-3, lr_min=1e-5, epochs=3))
    assert from_config.lr_at(0) == 2e-3 and from_config.lr_at(2) == pytest.approx(1e-5)
    p, g = {"x.W": np.ones(3)}, {"x.W": np.ones(3)}
    for opt in (Adam(p, g), SGD(p, g), RMSProp(p, g)):
        assert not hasattr(opt, "lr") and not hasattr(opt, "schedule")
    with pytest.raises(TypeError):
        Adam(p, g, lr=1e-3)  # the rate is not the optimiser's
    with pytest.raises(ValueError, match="schedule"):
        make_schedule("step", 1e-3)


# -- augmentation -------------------------------------------------------------------------
@pytest.mark.parametrize("cfg", [AugmentConfig(0.5, 0.1, 0.02), AugmentConfig(0.0, 0.0, 0.05),
                                 AugmentConfig(0.5, 0.0, 0.0), AugmentConfig(0.0, 0.2, 0.0)],
                         ids=["all", "noise only", "flip only", "brightness only"])
def test_fused_augmentation_equals_the_reference_with_the_same_draws(cfg):
    imgs = np.random.default_rng(0).integers(0, 256, (48, 8, 8), dtype=np.uint8)
    mean, std = feature_stats(imgs)
    rows, seed = 40, 13
    maker = BatchMaker(mean, std, noise_rows=rows, noise_seed=seed)
    bank = ref_aug.noise_bank(seed, rows + len(imgs), mean.size)
    fast_rng, ref_rng = np.random.default_rng(7), np.random.default_rng(7)
    for _ in range(3):  # several batches: different flips, shifts and bank offsets
        fast = maker.augmented(imgs, fast_rng, cfg).copy()
        draws = ref_aug.draw(ref_rng, len(imgs), cfg, bank)
        slow = ref_aug.standardise(ref_aug.augment(imgs / 255.0, draws), mean, std)
        # float32 kernel vs float64 reference: values are O(1–10) standard deviations
        np.testing.assert_allclose(fast, slow, rtol=1e-5, atol=2e-5)
        assert fast_rng.bit_generator.state == ref_rng.bit_generator.state
    if cfg.noise_std:
        plain = maker.standardise(imgs)
        assert np.abs(fast - plain).max() > 0.5 * cfg.noise_std / std.max()


# -- resume state -------------------------------------------------------------------------
@pytest.mark.slow
def test_resume_state_names_the_scaled_moments_and_old_names_still_resume(tmp_path):
    """The Adam moments are saved as ``opt/m_scaled/…``, ``opt/v_scaled/…``; a state
    written with the old names ``opt/m/…``, ``opt/v/…`` resumes bit for bit."""
    data = synthetic(300)
    cfg = dict(epochs=3, hidden_dims=[32, 16])
    full = tmp_path / "full"
    run_to_end(tiny_config(**cfg), data, full)

    part = tmp_path / "part"
    gen = train(tiny_config(**cfg), data, part)
    for ev in gen:
        if ev.kind == "step" and ev.epoch == 2 and ev.step == 2:
            break
    gen.close()
    arrays, meta = load_resume_state(part / layout.RESUME)
    assert {k.split("/")[1] for k in arrays if k.startswith("opt/")} == \
        {"t", "m_scaled", "v_scaled"}
    m, v = arrays["opt/m_scaled/fc1.W"], arrays["opt/v_scaled/fc1.W"]
    assert np.abs(m).max() > 0 and v.min() >= 0
    old = {k.replace("opt/m_scaled/", "opt/m/").replace("opt/v_scaled/", "opt/v/"): a
           for k, a in arrays.items()}
    save_resume_state(part / layout.RESUME, old, meta)
    run_to_end(tiny_config(**cfg), data, part, resume=True)
    for name in ("model.npz", "history.json", "metrics.json", "val_scores.npy",
                 "test_scores.npy"):
        assert (full / name).read_bytes() == (part / name).read_bytes(), name
