"""One training step — the exact code path :func:`core.training.train.train` runs, and what
``benchmarks/train_step.py`` times:

    x  = standardise(augment(images / 255))        data        (B, D) float32
    z  = model.forward(x, train=True)              forward     (B, 1) logits
    L, g = bce_with_logits(z, y, ε, w)             loss        g = dL/dz
    model.backward(g)                              backward    fills every layer's grads
    optimiser.step(lr)                             update      in place, weights only decayed

An optional :class:`StepTimer` splits the wall time into data / forward / loss / backward /
optimiser, and forward/backward further by layer type (Linear = GEMM + bias; ReLU and
Dropout = elementwise) through the model's per-layer hooks. The textbook version of the
step is :func:`core.reference.step.reference_step`.
"""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np

from core.nn.augment import AugmentConfig
from core.nn.batches import BatchMaker
from core.nn.layers import Layer
from core.nn.loss import bce_with_logits
from core.nn.model import MLP
from core.training.optim import Optimizer


class StepTimer:
    """Accumulates seconds per phase name: each :meth:`lap` charges the time since the
    previous one to a phase; :meth:`after_layer` is the model's per-layer hook."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.steps = 0
        self._t = time.perf_counter()

    def start(self) -> None:
        self._t = time.perf_counter()

    def lap(self, name: str) -> None:
        t = time.perf_counter()
        self.seconds[name] += t - self._t
        self._t = t

    def after_layer(self, pass_name: str, layer: Layer) -> None:
        self.lap(f"{pass_name} {type(layer).__name__}")


class TrainStep:
    """Callable: ``step(images_u8, labels, rng, weights=None, *, lr, timer=None) -> loss``.

    ``lr`` is the learning rate of this step (the trainer reads it from the run's schedule,
    :func:`core.training.optim.lr_schedule`). One code path, timed or not: with a ``timer``
    the same model passes report each layer through their ``after_layer`` hook."""

    def __init__(self, model: MLP, optimizer: Optimizer, maker: BatchMaker,
                 augment: AugmentConfig | None, label_smoothing: float) -> None:
        self.model, self.optimizer, self.maker = model, optimizer, maker
        self.augment = augment
        self.label_smoothing = label_smoothing

    def __call__(self, images: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
                 weights: np.ndarray | None = None, *, lr: float,
                 timer: StepTimer | None = None) -> float:
        hook = None
        if timer is not None:
            timer.start()
            hook = timer.after_layer
        x = (self.maker.augmented(images, rng, self.augment) if self.augment
             else self.maker.standardise(images))
        if timer is not None:
            timer.lap("data (augment + standardise)")
        logits = self.model.forward(x, train=True, after_layer=hook)
        loss, grad = bce_with_logits(logits, labels, self.label_smoothing, weights)
        if timer is not None:
            timer.lap("loss")
        self.model.backward(grad, after_layer=hook)
        self.optimizer.step(lr)
        if timer is not None:
            timer.lap("optimiser")
            timer.steps += 1
        return loss
