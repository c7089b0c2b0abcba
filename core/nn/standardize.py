"""Per-feature standardisation, with statistics from the training split only.

Pixels are scaled to [0, 1] (``p / 255``); for feature j over the training images
``μ_j = mean(x_j)``, ``σ_j = std(x_j)`` (σ_j < 1e-6 is replaced by 1), and a batch is
``z = (x − μ) / σ``. Statistics are accumulated in float64 over chunks of the uint8
images, so a float copy of the training set is never made.
"""

from __future__ import annotations

import numpy as np

MIN_STD = 1e-6


def feature_stats(images: np.ndarray, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, std)`` float32 ``(D,)`` of ``images / 255`` over axis 0 (uint8 ``(N, …)``)."""
    n = len(images)
    if n == 0:
        raise ValueError("cannot compute standardisation statistics of an empty split")
    d = int(np.prod(images.shape[1:]))
    s1 = np.zeros(d, dtype=np.float64)
    s2 = np.zeros(d, dtype=np.float64)
    for start in range(0, n, chunk):
        x = np.asarray(images[start : start + chunk]).reshape(-1, d).astype(np.float64) / 255.0
        s1 += x.sum(axis=0)
        s2 += np.einsum("ij,ij->j", x, x)
    mean = s1 / n
    var = np.maximum(s2 / n - mean**2, 0.0)
    std = np.sqrt(var)
    std[std < MIN_STD] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


def identity_stats(n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """``μ = 0, σ = 1``: no standardisation (``standardize=False``)."""
    return np.zeros(n_features, np.float32), np.ones(n_features, np.float32)
