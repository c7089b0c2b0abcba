"""The optimised training step (buffers, in-place ops, fused augmentation, chunked and
threaded Adam) gives the same parameters, to float32 rounding, as a straightforward
implementation of the same step written here from the formulas."""

from __future__ import annotations

import numpy as np

from core.augment import AugmentConfig
from core.batches import BatchMaker
from core.nn import MLP
from core.optim import Adam
from core.standardize import feature_stats
from core.step import TrainStep

WIDTHS = (256, 64, 32, 1)
P_DROP, EPS_LS, LR, WD = 0.3, 0.05, 1e-3, 1e-4
AUG = AugmentConfig(0.5, 0.1, 0.02)
NOISE_ROWS, NOISE_SEED = 64, 11


def reference_step(params, state, images, labels, aug_rng, drop_rng, mean, std):
    """One step, spelled out: augment → standardise → forward → BCE → backward → Adam."""
    b = len(images)
    x = images.astype(np.float32) / np.float32(255)
    flip = aug_rng.random(b) < AUG.flip_prob
    x[flip] = x[flip, :, ::-1]
    bright = aug_rng.uniform(-AUG.brightness, AUG.brightness, size=(b, 1)).astype(np.float32)
    x = (x.reshape(b, -1) + bright - mean) / std
    bank = np.random.default_rng(NOISE_SEED).standard_normal(
        (NOISE_ROWS + b, mean.size), dtype=np.float32) * (np.float32(AUG.noise_std) / std)
    start = int(aug_rng.integers(0, bank.shape[0] - b + 1))
    x = x + bank[start : start + b]

    n_layers = len(WIDTHS) - 1
    hs, zs, masks = [x], [], []
    for i in range(1, n_layers + 1):
        z = hs[-1] @ params[f"fc{i}.W"] + params[f"fc{i}.b"]
        zs.append(z)
        if i < n_layers:
            u = drop_rng.random(z.shape, dtype=np.float32)
            mask = (u >= P_DROP).astype(np.float32) / np.float32(1 - P_DROP)
            masks.append(mask)
            hs.append(np.maximum(z, 0) * mask)
    logits = zs[-1][:, 0].astype(np.float64)
    t = labels * (1 - EPS_LS) + EPS_LS / 2
    g = ((1 / (1 + np.exp(-logits)) - t) / b).astype(np.float32)[:, None]

    grads = {}
    for i in range(n_layers, 0, -1):
        grads[f"fc{i}.W"] = hs[i - 1].T @ g
        grads[f"fc{i}.b"] = g.sum(0)
        if i > 1:
            g = (g @ params[f"fc{i}.W"].T) * masks[i - 2] * (zs[i - 2] > 0)

    state["t"] += 1
    tt = state["t"]
    for k, p in params.items():
        gk = grads[k] + (WD * p if k.endswith(".W") else 0)
        state["m"][k] = 0.9 * state["m"][k] + 0.1 * gk
        state["v"][k] = 0.999 * state["v"][k] + 0.001 * gk * gk
        mhat = state["m"][k] / (1 - 0.9**tt)
        vhat = state["v"][k] / (1 - 0.999**tt)
        params[k] = p - LR * mhat / (np.sqrt(vhat) + 1e-8)


def test_optimised_step_equals_the_reference_step():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (96, 16, 16), dtype=np.uint8)
    labels = (rng.random(96) < 0.4).astype(np.float64)
    mean, std = feature_stats(images)

    model = MLP(WIDTHS, dropout=P_DROP, seed=3)
    model.set_dropout_rng(np.random.default_rng(5))
    opt = Adam(model.parameters(), model.gradients(), lr=LR, weight_decay=WD)
    maker = BatchMaker(mean, std, noise_rows=NOISE_ROWS, noise_seed=NOISE_SEED)
    step = TrainStep(model, opt, maker, AUG, EPS_LS)
    aug_rng = np.random.default_rng(7)

    params = {k: v.copy() for k, v in model.parameters().items()}
    state = {"t": 0, "m": {k: np.zeros_like(v) for k, v in params.items()},
             "v": {k: np.zeros_like(v) for k, v in params.items()}}
    ref_aug, ref_drop = np.random.default_rng(7), np.random.default_rng(5)

    for s in range(4):
        idx = np.arange(s * 24, (s + 1) * 24)
        step(images[idx], labels[idx], aug_rng)
        reference_step(params, state, images[idx], labels[idx], ref_aug, ref_drop, mean, std)
        for k, v in model.parameters().items():
            np.testing.assert_allclose(v, params[k], rtol=2e-5, atol=2e-6, err_msg=k)
    moved = sum(float(np.abs(v - MLP(WIDTHS, seed=3).parameters()[k]).sum())
                for k, v in model.parameters().items())
    assert moved > 0.01  # the step really trained
