"""Turn uint8 images into standardised float32 model input, one batch at a time.

``z = (p / 255 − μ) / σ``, written as ``z = p · a − c`` with ``a = 1 / (255 σ)`` and
``c = μ / σ`` (two passes). With augmentation the batch is first scaled to [0, 1],
augmented there (flip, brightness, noise), then standardised.
"""

from __future__ import annotations

import numpy as np

from core.augment import AugmentConfig, augment_batch


class BatchMaker:
    """Reusable buffers for turning ``images[idx]`` into ``(B, D)`` float32 input."""

    def __init__(self, mean: np.ndarray, std: np.ndarray, dtype=np.float32) -> None:
        mean = np.asarray(mean, np.float64).reshape(-1)
        std = np.asarray(std, np.float64).reshape(-1)
        self.dtype = dtype
        self.mean = mean.astype(dtype)
        self.inv_std = (1.0 / std).astype(dtype)
        self.scale = (1.0 / (255.0 * std)).astype(dtype)   # a = 1 / (255 σ)
        self.shift = (mean / std).astype(dtype)             # c = μ / σ
        self._bufs: dict[tuple, np.ndarray] = {}

    def _buf(self, key: str, shape: tuple[int, ...]) -> np.ndarray:
        buf = self._bufs.get((key, shape))
        if buf is None:
            buf = self._bufs[(key, shape)] = np.empty(shape, dtype=self.dtype)
        return buf

    def standardise(self, images_u8: np.ndarray) -> np.ndarray:
        """``(B, H, W)`` or ``(B, D)`` uint8 → ``(B, D)`` standardised (a reused buffer)."""
        b = len(images_u8)
        flat = np.asarray(images_u8).reshape(b, -1)
        out = self._buf("x", flat.shape)
        np.multiply(flat, self.scale, out=out)
        out -= self.shift
        return out

    def augmented(self, images_u8: np.ndarray, rng: np.random.Generator,
                  cfg: AugmentConfig) -> np.ndarray:
        """Scale to [0, 1], augment in place, standardise → ``(B, D)`` (a reused buffer)."""
        imgs = np.asarray(images_u8)
        x = self._buf("aug", imgs.shape)
        np.multiply(imgs, np.asarray(1.0 / 255.0, dtype=self.dtype), out=x)
        augment_batch(x, rng, cfg, self._buf("noise", imgs.shape))
        out = self._buf("x", (len(imgs), x[0].size))
        np.subtract(x.reshape(len(imgs), -1), self.mean, out=out)
        out *= self.inv_std
        return out


def standardise_all(images_u8: np.ndarray, mean: np.ndarray, std: np.ndarray,
                    batch: int = 4096) -> np.ndarray:
    """A standardised float32 copy of a (small) set of images, e.g. one image to predict."""
    maker = BatchMaker(mean, std)
    out = np.empty((len(images_u8), int(np.prod(images_u8.shape[1:]))), dtype=np.float32)
    for s in range(0, len(images_u8), batch):
        out[s : s + batch] = maker.standardise(images_u8[s : s + batch])
    return out
