"""Training-time augmentation and standardisation, textbook form.
Fast version: :meth:`core.nn.batches.BatchMaker.augmented` (flip in uint8, everything folded
into the standardisation, split by rows across threads).

For each image ``x`` of a batch, in [0, 1] pixel units:

    x ← mirror(x)  with probability flip_prob          (left–right)
    x ← x + b,     b ~ U(−brightness, +brightness)     (one shift per image)
    x ← x + ε,     ε = noise_std · n                   (per pixel, n ~ N(0, 1))
    z = (x − μ) / σ                                     (per-pixel standardisation)

The random draws come from the augmentation stream in a fixed order — flips, then
brightness, then the noise offset — each only when its strength is nonzero. The Gaussian
fields ``n`` are not drawn per step: they are a block of ``B`` consecutive rows, starting
at a random row, of a bank of standard-normal rows drawn once from ``noise_seed``
(:func:`noise_bank`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.nn.augment import AugmentConfig


@dataclass
class Draws:
    """One batch's random choices: ``flip (B,)`` bool, ``shift (B,)``, ``noise (B, D)``
    in pixel units (``None`` where that augmentation is off)."""

    flip: np.ndarray | None
    shift: np.ndarray | None
    noise: np.ndarray | None


def noise_bank(seed: int, rows: int, n_features: int, dtype=np.float32) -> np.ndarray:
    """``rows × n_features`` standard-normal values from ``default_rng(seed)``."""
    return np.random.default_rng(seed).standard_normal((rows, n_features), dtype=dtype)


def draw(rng: np.random.Generator, batch: int, cfg: AugmentConfig,
         bank: np.ndarray) -> Draws:
    """The batch's draws from ``rng`` (flips, brightness, noise offset, in that order)."""
    flip = rng.random(batch) < cfg.flip_prob if cfg.flip_prob > 0 else None
    shift = rng.uniform(-cfg.brightness, cfg.brightness, size=batch) if cfg.brightness > 0 \
        else None
    noise = None
    if cfg.noise_std > 0:
        start = int(rng.integers(0, len(bank) - batch + 1))
        noise = cfg.noise_std * bank[start : start + batch].astype(np.float64)
    return Draws(flip, shift, noise)


def augment(x: np.ndarray, d: Draws) -> np.ndarray:
    """``x: (B, H, W)`` in [0, 1] → the augmented ``(B, H·W)`` (a new array)."""
    b = len(x)
    if d.flip is not None:
        x = np.where(d.flip[:, None, None], x[:, :, ::-1], x)
    x = x.reshape(b, -1)
    if d.shift is not None:
        x = x + d.shift[:, None]
    if d.noise is not None:
        x = x + d.noise
    return x


def standardise(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``(x − μ) / σ`` per pixel; ``x: (B, D)``."""
    return (x - mean) / std
