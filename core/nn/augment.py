"""Training-time augmentation of a float batch in [0, 1] pixel units, in place.

For each image of ``x: (B, H, W)`` independently:
- horizontal flip with probability ``flip_prob``;
- brightness: ``x ← x + b``, ``b ~ U(−brightness, +brightness)``;
- Gaussian noise: ``x ← x + ε``, ``ε ~ N(0, noise_std²)`` per pixel.

:func:`augment_batch` applies this with fresh per-pixel noise (used to check the
distributions). The specification training follows — including which draws are made, in
which order, and the pre-drawn noise bank — is :mod:`core.reference.augment`; training runs
its fused equivalent :meth:`core.nn.batches.BatchMaker.augmented`, and
``tests/core/test_augment.py`` and ``tests/core/test_reference_equivalence.py`` check that the two
agree with the same draws.
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
