"""Binary cross-entropy on logits, with label smoothing.

With smoothed targets ``t = y (1 - ε) + ε / 2`` and logits ``z``:

    ℓ(z, t) = max(z, 0) − z t + log(1 + e^{−|z|})      (stable for |z| up to 1e4 and beyond)
    L = Σ_i w_i ℓ(z_i, t_i) / Σ_i w_i                  (w = 1 unless class weights are given)
    dL/dz_i = w_i (σ(z_i) − t_i) / Σ_i w_i
"""

from __future__ import annotations

import numpy as np

from core.nn.model import sigmoid


def smooth_targets(labels: np.ndarray, smoothing: float) -> np.ndarray:
    """``y (1 - ε) + ε / 2``: 0 → ε/2, 1 → 1 − ε/2."""
    y = np.asarray(labels, dtype=np.float64).reshape(-1)
    return y * (1.0 - smoothing) + 0.5 * smoothing


def bce_with_logits(
    logits: np.ndarray,
    labels: np.ndarray,
    smoothing: float = 0.05,
    weights: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """Mean BCE-with-logits and its gradient.

    ``logits``: ``(B,)`` or ``(B, 1)``; ``labels``: ``(B,)`` in {0, 1}.
    Returns ``(loss, dL/dlogits)``; the gradient has the shape and dtype of ``logits``.
    """
    z = np.asarray(logits, dtype=np.float64).reshape(-1)
    t = smooth_targets(labels, smoothing)
    if z.shape != t.shape:
        raise ValueError(f"logits {z.shape} and labels {t.shape} differ in length")
    per = np.maximum(z, 0.0) - z * t + np.log1p(np.exp(-np.abs(z)))
    g = sigmoid(z) - t
    if weights is None:
        loss = float(per.mean())
        g /= z.size
    else:
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        loss = float((w * per).sum() / w.sum())
        g *= w / w.sum()
    grad = g.reshape(np.shape(logits)).astype(np.asarray(logits).dtype, copy=False)
    return loss, grad


def balanced_class_weights(labels: np.ndarray) -> tuple[float, float]:
    """Weights ``(w0, w1) = n / (2 n_c)`` that make both classes count equally."""
    y = np.asarray(labels).reshape(-1)
    n1 = float((y == 1).sum())
    n0 = float(y.size - n1)
    if n0 == 0 or n1 == 0:
        return 1.0, 1.0
    return y.size / (2 * n0), y.size / (2 * n1)
