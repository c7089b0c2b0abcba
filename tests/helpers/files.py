"""Builders of (good and damaged) files shared by the inference and CLI tests."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def png_bytes() -> bytes:
    """A valid 128×128 grayscale PNG (random pixels, fixed seed)."""
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (128, 128), np.uint8)).save(
        buf, format="PNG")
    return buf.getvalue()


def rewrite_npz(path, mutate) -> None:
    """Load the arrays of ``path``, let ``mutate`` change the dict, save them back."""
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    mutate(arrays)
    np.savez(path, **arrays)
