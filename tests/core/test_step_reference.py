"""The optimised training step (buffers, in-place ops, fused augmentation, chunked and
threaded Adam) gives the same parameters, to float32 rounding, as the textbook step
:func:`core.reference.step.reference_step` built from :mod:`core.reference`."""

from __future__ import annotations

import numpy as np

from core.nn import MLP
from core.nn.augment import AugmentConfig
from core.nn.batches import BatchMaker
from core.nn.standardize import feature_stats
from core.reference.augment import noise_bank
from core.reference.optim import init_adam
from core.reference.step import StepSpec, reference_step
from core.training.optim import Adam
from core.training.step import StepTimer, TrainStep

WIDTHS = (256, 64, 32, 1)
SPEC = StepSpec(dropout=0.3, label_smoothing=0.05, augment=AugmentConfig(0.5, 0.1, 0.02),
                lr=1e-3, weight_decay=1e-4)
NOISE_ROWS, NOISE_SEED = 64, 11


def test_optimised_step_equals_the_reference_step():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (96, 16, 16), dtype=np.uint8)
    labels = (rng.random(96) < 0.4).astype(np.float64)
    weights = rng.uniform(0.5, 2.0, 96)
    mean, std = feature_stats(images)

    model = MLP(WIDTHS, dropout=SPEC.dropout, seed=3)
    model.set_dropout_rng(np.random.default_rng(5))
    opt = Adam(model.parameters(), model.gradients(), weight_decay=SPEC.weight_decay)
    maker = BatchMaker(mean, std, noise_rows=NOISE_ROWS, noise_seed=NOISE_SEED)
    step = TrainStep(model, opt, maker, SPEC.augment, SPEC.label_smoothing)
    aug_rng = np.random.default_rng(7)

    params = {k: v.copy() for k, v in model.parameters().items()}
    state = init_adam(params)
    bank = noise_bank(NOISE_SEED, NOISE_ROWS + 24, mean.size)
    ref_aug, ref_drop = np.random.default_rng(7), np.random.default_rng(5)

    timer = StepTimer()
    for s in range(4):
        idx = np.arange(s * 24, (s + 1) * 24)
        w = weights[idx] if s % 2 else None
        loss = step(images[idx], labels[idx], aug_rng, w, lr=SPEC.lr,
                    timer=timer if s == 3 else None)
        ref_loss = reference_step(params, state, images[idx], labels[idx], ref_aug, ref_drop,
                                  mean, std, SPEC, bank, w)
        assert abs(loss - ref_loss) <= 1e-5 * abs(ref_loss)
        for k, v in model.parameters().items():
            np.testing.assert_allclose(v, params[k], rtol=2e-5, atol=2e-6, err_msg=k)
    moved = sum(float(np.abs(v - MLP(WIDTHS, seed=3).parameters()[k]).sum())
                for k, v in model.parameters().items())
    assert moved > 0.01  # the step really trained
    # the timed step ran the same code path, and charged every layer through the hooks
    assert timer.steps == 1
    assert {"data (augment + standardise)", "loss", "optimiser", "forward Linear",
            "forward ReLU", "forward Dropout", "backward Linear", "backward ReLU",
            "backward Dropout"} == set(timer.seconds)
