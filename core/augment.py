"""Training-time augmentation of a float batch in [0, 1] pixel units, in place.

For each image of ``x: (B, H, W)`` independently:
- horizontal flip with probability ``flip_prob``;
- brightness: ``x ← x + b``, ``b ~ U(−brightness, +brightness)``;
- Gaussian noise: ``x ← x + ε``, ``ε ~ N(0, noise_std²)`` per pixel.

:func:`augment_batch` is the plain, reference definition. Training uses the fused
equivalent :meth:`core.batches.BatchMaker.augmented` (same draws, folded into the
standardisation, noise from a pre-drawn bank); ``tests/test_augment.py`` checks that the
two agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AugmentConfig:
    flip_prob: float = 0.5
    brightness: float = 0.1
    noise_std: float = 0.02


def augment_batch(x: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig,
                  noise_buf: np.ndarray | None = None) -> np.ndarray:
    """Augment ``x: (B, H, W)`` float in place and return it."""
    b = x.shape[0]
    if cfg.flip_prob > 0:
        flip = np.flatnonzero(rng.random(b) < cfg.flip_prob)
        if flip.size:
            x[flip] = x[flip, :, ::-1]
    if cfg.brightness > 0:
        x += rng.uniform(-cfg.brightness, cfg.brightness, size=(b, 1, 1)).astype(x.dtype)
    if cfg.noise_std > 0:
        if noise_buf is None or noise_buf.shape != x.shape or noise_buf.dtype != x.dtype:
            noise_buf = np.empty_like(x)
        rng.standard_normal(out=noise_buf, dtype=x.dtype)
        noise_buf *= cfg.noise_std
        x += noise_buf
    return x
