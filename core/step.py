"""One training step — the exact code path :func:`core.train.train` runs, and what
``benchmarks/train_step.py`` times:

    x  = standardise(augment(images / 255))        data        (B, D) float32
    z  = model.forward(x, train=True)              forward     (B, 1) logits
    L, g = bce_with_logits(z, y, ε, w)             loss        g = dL/dz
    model.backward(g)                              backward    fills every layer's grads
    optimiser.step()                               update      in place, weights only decayed

An optional :class:`StepTimer` splits the wall time into data / forward / loss / backward /
optimiser, and forward/backward further by layer type (Linear = GEMM + bias; ReLU and
Dropout = elementwise).
"""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np

from core.augment import AugmentConfig
from core.batches import BatchMaker
from core.loss import bce_with_logits
from core.nn.model import MLP
from core.optim import Optimizer


class StepTimer:
    """Accumulates seconds per phase name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.steps = 0

    def add(self, name: str, t0: float) -> float:
        t1 = time.perf_counter()
        self.seconds[name] += t1 - t0
        return t1


class TrainStep:
    """Callable: ``step(images_u8, labels, rng, weights=None, timer=None) -> loss``."""

    def __init__(self, model: MLP, optimizer: Optimizer, maker: BatchMaker,
                 augment: AugmentConfig | None, label_smoothing: float) -> None:
        self.model, self.optimizer, self.maker = model, optimizer, maker
        self.augment = augment
        self.label_smoothing = label_smoothing

    def __call__(self, images: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
                 weights: np.ndarray | None = None, timer: StepTimer | None = None) -> float:
        if timer is None:
            x = (self.maker.augmented(images, rng, self.augment) if self.augment
                 else self.maker.standardise(images))
            logits = self.model.forward(x, train=True)
            loss, grad = bce_with_logits(logits, labels, self.label_smoothing, weights)
            self.model.backward(grad)
            self.optimizer.step()
            return loss
        return self._timed(images, labels, rng, weights, timer)

    def _timed(self, images, labels, rng, weights, timer: StepTimer) -> float:
        t = time.perf_counter()
        x = (self.maker.augmented(images, rng, self.augment) if self.augment
             else self.maker.standardise(images))
        t = timer.add("data (augment + standardise)", t)
        h = x
        for layer in self.model.layers:
            h = layer.forward(h, train=True)
            t = timer.add(f"forward {type(layer).__name__}", t)
        loss, grad = bce_with_logits(h, labels, self.label_smoothing, weights)
        t = timer.add("loss", t)
        g = grad
        for i in range(len(self.model.layers) - 1, -1, -1):
            layer = self.model.layers[i]
            g = layer.backward(g, need_input_grad=i > 0)
            t = timer.add(f"backward {type(layer).__name__}", t)
        self.optimizer.step()
        timer.add("optimiser", t)
        timer.steps += 1
        return loss
