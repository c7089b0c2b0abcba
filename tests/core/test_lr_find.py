"""The learning-rate range test (:mod:`core.training.lr_find`): its schedule, smoothing,
stopping rule and suggestion — and, where the answer is known, that the suggestion lands
in a bracket computed from the problem.

The known answer. A linear model (no hidden layer) trained by full-batch gradient descent
(SGD, momentum 0, no augmentation, no weight decay) on standardised features ``X`` with a
bias column, ``X̃ = [X, 1]``, minimises the BCE ``L(w) = mean ℓ(x̃ᵢ·w, tᵢ)``, whose Hessian
is ``X̃ᵀ diag(σ(1 − σ)) X̃ / n ⪯ X̃ᵀX̃ / (4n)``. So ``L_max = λ_max(X̃ᵀX̃) / (4n)`` bounds the
curvature everywhere, and the descent lemma,

    L(w − η g) ≤ L(w) − η (1 − η L_max / 2) ‖g‖²,

makes every step with ``η < 2 / L_max`` decrease the loss, the guaranteed decrease being
largest at ``η = 1 / L_max``. With heavy label smoothing (targets 0.45 / 0.55) the optimum
has logits near 0, where σ(1 − σ) ≈ ¼ and the bound is tight: steps beyond ``2 / L_max``
diverge there. The bracket a sound suggestion must land in is therefore

    [0.1 / L_max, 2 / L_max]:  below 2 / L_max (it descends), and at least a tenth of the
    best guaranteed step 1 / L_max (a step ten times smaller guarantees under a fifth of
    that decrease per step).

Four problems whose ``L_max`` spans a factor of about 60 (the smallest and the largest have
disjoint brackets), so a rule that does not follow the problem's curvature cannot pass
them all.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from core.data.dataset import DataSplits, Split
from core.foundation.checks import ConfigError
from core.foundation.config import TrainConfig
from core.foundation.errors import ChexminiError
from core.nn.loss import bce_with_logits
from core.nn.standardize import feature_stats
from core.training.lr_find import (
    SUGGEST_DIVISOR,
    LrFindControl,
    LrFindDone,
    LrFindStarted,
    LrRange,
    LrStep,
    Smoother,
    lr_find,
    prior_loss,
    run_lr_find,
    suggest,
)
from core.training.train import train


def separable_problem(size: int, n: int = 400, seed: int = 0) -> DataSplits:
    """``n`` images ``size × size``: every pixel carries the label (±40 grey levels),
    a shared brightness and its own noise, so the pixels are strongly correlated and the
    largest curvature grows with the number of pixels."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    rng.shuffle(y)
    pixels = (128 + 40 * (2 * y - 1)[:, None] + 25 * rng.normal(0, 1, n)[:, None]
              + rng.normal(0, 30, (n, size * size)))
    images = np.clip(pixels, 0, 255).astype(np.uint8).reshape(n, size, size)
    full = Split(images, y.astype(np.uint8), np.array([f"{i:08d}_000.png" for i in range(n)]),
                 np.arange(n))
    third = n // 3
    return DataSplits(full.subset(np.arange(n - 2 * third)),
                      full.subset(np.arange(n - 2 * third, n - third)),
                      full.subset(np.arange(n - third, n)), source="separable")


def curvature_bound(data: DataSplits) -> float:
    """``L_max = λ_max(X̃ᵀX̃) / (4n)`` of the standardised training features, in float64."""
    mean, std = feature_stats(data.train.images)
    x = (data.train.images.reshape(len(data.train), -1) / 255.0 - mean) / std
    xt = np.hstack([x, np.ones((len(x), 1))])
    return float(np.linalg.svd(xt, compute_uv=False)[0] ** 2 / len(x) / 4)


def gd_config(size: int, batch: int) -> TrainConfig:
    """Plain full-batch gradient descent on a linear model."""
    return TrainConfig(image_size=size, hidden_dims=[], optimizer="sgd", momentum=0.0,
                       weight_decay=0.0, augment=False, dropout=0.0, batch_size=batch,
                       label_smoothing=0.9)


def bracket(data: DataSplits) -> tuple[float, float]:
    """``[0.1 / L_max, 2 / L_max]`` (module docstring)."""
    lmax = curvature_bound(data)
    return 0.1 / lmax, 2.0 / lmax


@pytest.mark.parametrize("size", [4, 8, 16, 32])
def test_the_suggestion_lands_in_the_computed_bracket(size):
    data = separable_problem(size)
    lo, hi = bracket(data)
    done = run_lr_find(gd_config(size, len(data.train)), data)
    assert done.suggestion is not None
    assert lo <= done.suggestion.lr <= hi, (done.suggestion, lo, hi)


def test_a_suggestion_fits_its_own_problem_only():
    """4×4 and 32×32 images: L_max differs ~60-fold, so the brackets are disjoint and
    neither problem's suggestion would pass the other's test."""
    small, large = separable_problem(4), separable_problem(32)
    (lo_s, hi_s), (lo_l, hi_l) = bracket(small), bracket(large)
    assert hi_l < lo_s
    s = run_lr_find(gd_config(4, len(small.train)), small).suggestion.lr
    lg = run_lr_find(gd_config(32, len(large.train)), large).suggestion.lr
    assert lo_s <= s <= hi_s and not lo_l <= s <= hi_l
    assert lo_l <= lg <= hi_l and not lo_s <= lg <= hi_s


def test_the_schedule_is_geometric_from_lr_min_to_lr_max():
    sweep = LrRange(lr_min=1e-6, lr_max=1.0, steps=7)
    lrs = [sweep.lr_at(i) for i in range(7)]
    assert lrs[0] == pytest.approx(1e-6, rel=1e-12)
    assert lrs[-1] == pytest.approx(1.0, rel=1e-12)
    ratios = np.array(lrs[1:]) / np.array(lrs[:-1])
    np.testing.assert_allclose(ratios, 10.0, rtol=1e-9)   # 6 decades in 6 steps


def test_the_smoother_is_a_bias_corrected_ema():
    beta, losses = 0.9, [3.0, 1.0, 4.0, 1.0, 5.0]
    sm = Smoother(beta)
    got = [sm.add(v) for v in losses]
    for t in range(1, len(losses) + 1):   # Σ β^(t−j) (1−β) ℓ_j / (1 − β^t)
        w = [(1 - beta) * beta ** (t - 1 - j) for j in range(t)]
        assert got[t - 1] == pytest.approx(np.dot(w, losses[:t]) / (1 - beta**t), rel=1e-12)
    assert Smoother(0.98).add(2.5) == pytest.approx(2.5)   # no pull towards 0 at the start


def test_suggest_takes_the_minimum_divided_by_ten():
    lrs = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    s = suggest(lrs, [0.7, 0.6, 0.3, 0.5, 2.0])
    assert (s.lr_at_min, s.lr, s.min_loss) == (1e-2, 1e-2 / SUGGEST_DIVISOR, 0.3)
    assert "÷ 10" in s.rule
    with pytest.raises(ChexminiError):
        suggest([], [])


def test_it_stops_once_the_smoothed_loss_exceeds_k_times_its_minimum():
    data = separable_problem(4)
    sweep = LrRange(lr_min=1e-4, lr_max=1e4, steps=200, explode=3.0)
    done = run_lr_find(gd_config(4, len(data.train)), data, sweep)
    assert done.stopped == "exploded" and len(done.lrs) < 200
    s = np.array(done.smoothed)
    assert s[-1] > 3.0 * s.min()
    assert all(s[i] <= 3.0 * s[: i + 1].min() for i in range(len(s) - 1))
    np.testing.assert_allclose(done.lrs, [sweep.lr_at(i) for i in range(len(s))])


def test_it_starts_from_the_configured_initial_weights_on_the_training_step():
    """Step 1 of the range test is step 1 of training (same seed, weights, batch,
    augmentation): its loss does not depend on the rate yet, so the two are equal."""
    data = separable_problem(8)
    config = TrainConfig(image_size=8, hidden_dims=[16], batch_size=64, epochs=1)
    trained = next(e for e in train(config, data, step_events=True, health=False)
                   if e.kind == "step")
    first = next(e for e in lr_find(TrainConfig(image_size=8, hidden_dims=[16], batch_size=64,
                                                epochs=1), data) if isinstance(e, LrStep))
    assert first.loss == trained.loss
    assert first.lr == LrRange().lr_min


def test_events_and_cancellation():
    data = separable_problem(4)
    control = LrFindControl()
    kinds = []
    for event in lr_find(gd_config(4, 32), data, LrRange(steps=50), control=control):
        kinds.append(type(event))
        if isinstance(event, LrStep) and event.step == 5:
            control.stop()
        if isinstance(event, LrFindDone):
            done = event
    assert kinds[0] is LrFindStarted and kinds[-1] is LrFindDone
    assert kinds.count(LrStep) == 5
    assert done.stopped == "cancelled" and len(done.lrs) == 5
    assert done.suggestion is not None and math.isfinite(done.suggestion.lr)


@pytest.mark.parametrize("bad", [dict(lr_min=0.0), dict(lr_max=1e-8), dict(steps=1),
                                 dict(beta=1.0), dict(explode=1.0)])
def test_a_bad_sweep_is_one_clear_error(bad):
    with pytest.raises(ConfigError):
        LrRange(**bad).check()


def test_the_prior_loss_is_the_best_constant_prediction():
    labels = np.array([1, 1, 1, 0, 1, 0, 1, 1], dtype=float)
    weights = np.linspace(0.5, 2.0, 8)
    for smoothing, w in ((0.0, None), (0.05, None), (0.3, weights)):
        grid = np.linspace(-4, 4, 8001)
        best = min(bce_with_logits(np.full(8, z), labels, smoothing, w)[0] for z in grid)
        assert prior_loss(labels, smoothing, w) == pytest.approx(best, abs=1e-6)
        assert prior_loss(labels, smoothing, w) <= best


def test_a_sweep_that_learns_nothing_says_so():
    """Rates too small to move the weights: the smoothed loss stays at the initial
    weights' loss, above the class prior's; larger rates (plain full-batch GD, no label
    smoothing) take it below."""
    data = separable_problem(8)
    done = run_lr_find(gd_config(8, len(data.train)), data,
                       LrRange(lr_min=1e-9, lr_max=1e-8, steps=20))
    assert done.stopped == "completed"
    assert min(done.smoothed) > done.prior_loss and not done.below_prior
    config = dataclasses.replace(gd_config(8, len(data.train)), label_smoothing=0.0)
    done = run_lr_find(config, data)
    assert min(done.smoothed) < done.prior_loss and done.below_prior
