"""Layers, textbook form: ``forward`` caches what ``backward`` needs, ``backward`` fills
``grads`` and returns dL/dx. Fast version: :mod:`core.nn.layers` (reused buffers, in place).
"""

from __future__ import annotations

import numpy as np


class Linear:
    """``y = x W + b``.  Backward: ``dW = xᵀ g``, ``db = Σ_batch g``, ``dx = g Wᵀ``."""

    def __init__(self, W: np.ndarray, b: np.ndarray) -> None:
        self.W, self.b = W, b
        self.grads: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return x @ self.W + self.b

    def backward(self, g: np.ndarray) -> np.ndarray:
        self.grads = {"W": self.x.T @ g, "b": g.sum(axis=0)}
        return g @ self.W.T


class ReLU:
    """``y = max(x, 0)``.  Backward: ``dx = g · [x > 0]``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.maximum(x, 0)

    def backward(self, g: np.ndarray) -> np.ndarray:
        return g * (self.x > 0)


class Dropout:
    """Inverted dropout with rate ``p``: ``y = x · k / (1 − p)``, ``k = [u ≥ p]``,
    ``u ~ U[0, 1)`` per element (drawn from ``rng`` in ``x``'s dtype); identity when
    not training.  Backward: ``dx = g · k / (1 − p)``."""

    def __init__(self, p: float, rng: np.random.Generator) -> None:
        self.p, self.rng = p, rng

    def forward(self, x: np.ndarray, train: bool = True) -> np.ndarray:
        if not train or self.p == 0:
            self.mask = np.ones_like(x)
            return x
        u = self.rng.random(x.shape, dtype=x.dtype)
        self.mask = (u >= self.p).astype(x.dtype) / (1 - self.p)
        return x * self.mask

    def backward(self, g: np.ndarray) -> np.ndarray:
        return g * self.mask
