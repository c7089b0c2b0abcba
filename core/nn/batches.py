"""Turn uint8 images into standardised float32 model input, one batch at a time.

Plain: ``z = (p / 255 − μ) / σ``, computed as ``z = p · a − c`` with ``a = 1 / (255 σ)``
and ``c = μ / σ`` (two passes over the batch).

Augmented (training): with a flipped image ``p'`` (uint8, mirrored left–right with
probability ``flip_prob``), a brightness shift ``b ~ U(−β, β)`` per image and pixel noise
``ε ~ N(0, s²)`` (all in [0, 1] pixel units, exactly as :mod:`core.reference.augment`
defines them, draw for draw):

    z = (p'/255 + b + ε − μ) / σ = p' · a − c + b / σ + ε / σ

The noise term comes from a bank of pre-drawn fields ``ε / σ`` (``noise_rows`` images'
worth, drawn once from a seeded stream): each batch adds a contiguous block of it starting
at a random row. Five passes over the batch, and no per-step Gaussian sampling of the
256 × 4096 noise values (the single most expensive part of a naive augmentation).
"""

from __future__ import annotations

import numpy as np

from core.foundation.parallel import row_shares, run_shares
from core.nn.augment import AugmentConfig


class BatchMaker:
    """Reusable buffers for turning ``images[idx]`` into ``(B, D)`` float32 input."""

    def __init__(self, mean: np.ndarray, std: np.ndarray, dtype=np.float32,
                 noise_rows: int = 1024, noise_seed: int = 0) -> None:
        mean = np.asarray(mean, np.float64).reshape(-1)
        std = np.asarray(std, np.float64).reshape(-1)
        self.dtype = dtype
        self.mean = mean.astype(dtype)
        self.inv_std = (1.0 / std).astype(dtype)
        self.scale = (1.0 / (255.0 * std)).astype(dtype)   # a = 1 / (255 σ)
        self.shift = (mean / std).astype(dtype)             # c = μ / σ
        self.noise_rows = int(noise_rows)
        self.noise_seed = noise_seed
        self._bank: np.ndarray | None = None
        self._bank_std = None
        self._bufs: dict[tuple, np.ndarray] = {}

    def _buf(self, key: str, shape: tuple[int, ...], dtype=None) -> np.ndarray:
        dtype = dtype or self.dtype
        buf = self._bufs.get((key, shape))
        if buf is None or buf.dtype != dtype:
            buf = self._bufs[(key, shape)] = np.empty(shape, dtype=dtype)
        return buf

    def standardise(self, images_u8: np.ndarray) -> np.ndarray:
        """``(B, H, W)`` or ``(B, D)`` uint8 → ``(B, D)`` standardised (a reused buffer)."""
        b = len(images_u8)
        flat = np.asarray(images_u8).reshape(b, -1)
        out = self._buf("x", flat.shape)
        run_shares(lambda sl: self._standardise_rows(flat, out, sl), row_shares(b))
        return out

    def _standardise_rows(self, flat: np.ndarray, out: np.ndarray, sl: slice) -> None:
        np.multiply(flat[sl], self.scale, out=out[sl])      # z = p · a − c
        out[sl] -= self.shift

    def _noise_bank(self, batch: int, noise_std: float) -> np.ndarray:
        """``(rows + batch, D)`` fields of ``ε / σ`` with ``ε ~ N(0, noise_std²)``."""
        rows = self.noise_rows + batch
        if self._bank is None or self._bank.shape[0] < rows or self._bank_std != noise_std:
            rng = np.random.default_rng(self.noise_seed)
            bank = rng.standard_normal((rows, self.inv_std.size), dtype=self.dtype)
            bank *= self.inv_std * self.dtype(noise_std)
            self._bank, self._bank_std = bank, noise_std
        return self._bank

    def augmented(self, images_u8: np.ndarray, rng: np.random.Generator,
                  cfg: AugmentConfig) -> np.ndarray:
        """Flip, standardise, add brightness and noise → ``(B, D)`` (a reused buffer).

        The random draws come first, in a fixed order (flips, brightness, noise offset);
        the array work is then split by rows across threads, so the result does not
        depend on the thread count."""
        imgs = np.asarray(images_u8)
        b = len(imgs)
        flip = rng.random(b) < cfg.flip_prob if cfg.flip_prob > 0 else None
        shift = (rng.uniform(-cfg.brightness, cfg.brightness, size=(b, 1)).astype(self.dtype)
                 if cfg.brightness > 0 else None)
        noise = None
        if cfg.noise_std > 0:
            bank = self._noise_bank(b, cfg.noise_std)
            start = int(rng.integers(0, bank.shape[0] - b + 1))
            noise = bank[start : start + b]                     # ε / σ
        u8 = self._buf("u8", imgs.shape, np.uint8)
        flat = u8.reshape(b, -1)
        out = self._buf("x", flat.shape)
        tmp = self._buf("tmp", out.shape)

        def rows(sl: slice) -> None:
            np.copyto(u8[sl], imgs[sl])  # never modify the caller's images
            if flip is not None:
                idx = sl.start + np.flatnonzero(flip[sl])
                if idx.size:
                    u8[idx] = u8[idx, :, ::-1]
            self._standardise_rows(flat, out, sl)
            if shift is not None:
                np.multiply(shift[sl], self.inv_std, out=tmp[sl])   # b / σ
                out[sl] += tmp[sl]
            if noise is not None:
                out[sl] += noise[sl]

        run_shares(rows, row_shares(b))
        return out


def standardise_all(images_u8: np.ndarray, mean: np.ndarray, std: np.ndarray,
                    batch: int = 4096) -> np.ndarray:
    """A standardised float32 copy of a (small) set of images, e.g. one image to predict."""
    maker = BatchMaker(mean, std)
    out = np.empty((len(images_u8), int(np.prod(images_u8.shape[1:]))), dtype=np.float32)
    for s in range(0, len(images_u8), batch):
        out[s : s + batch] = maker.standardise(images_u8[s : s + batch])
    return out
