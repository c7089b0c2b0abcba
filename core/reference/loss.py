"""Binary cross-entropy on logits with label smoothing, textbook form.
Fast version: :func:`core.nn.loss.bce_with_logits` (the same maths in its stable form).

    t = y (1 − ε) + ε / 2                              smoothed target
    ℓ = − t log σ(z) − (1 − t) log(1 − σ(z))           per example
    L = Σ w ℓ / Σ w          dL/dz = w (σ(z) − t) / Σ w        (w = 1 unless weighted)
"""

from __future__ import annotations

import numpy as np


def log_sigmoid(z: np.ndarray) -> np.ndarray:
    """``log σ(z) = −log(1 + e^{−z})``."""
    return -np.logaddexp(0.0, -z)


def bce_with_logits(z: np.ndarray, y: np.ndarray, smoothing: float = 0.05,
                    weights: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """``(L, dL/dz)`` for logits ``z: (B,)`` and labels ``y: (B,)`` in {0, 1} (float64)."""
    z = np.asarray(z, dtype=np.float64)
    t = np.asarray(y, dtype=np.float64) * (1 - smoothing) + smoothing / 2
    w = np.ones_like(z) if weights is None else np.asarray(weights, dtype=np.float64)
    per_example = -t * log_sigmoid(z) - (1 - t) * log_sigmoid(-z)
    loss = float((w * per_example).sum() / w.sum())
    grad = w * (1 / (1 + np.exp(-z)) - t) / w.sum()
    return loss, grad
