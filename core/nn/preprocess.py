"""One image file → model input: decode → grayscale → resize → ``(p/255 − μ)/σ``.

The resize filter is part of a checkpoint's pipeline (``"area"`` for chexmini's training,
``"bicubic"`` for the published one), so the statistics a checkpoint hands out carry it:
:class:`NormStats` is a plain ``(D,)`` array with a ``resize_filter`` attribute, and
:func:`preprocess_image` uses it when no filter is named. That makes the model card's
three lines give the checkpoint's own answer::

    model, mean, std, threshold = load_checkpoint("artifacts")
    x = preprocess_image("xray.png", image_size=64, mean=mean, std=std)
    prob, label = predict_label(model, x, threshold)
"""

from __future__ import annotations

import os

import numpy as np

from core.data.images import RESIZE_FILTERS, load_gray
from core.foundation.errors import ChexminiError
from core.nn.batches import standardise_all

DEFAULT_RESIZE = "area"


class NormStats(np.ndarray):
    """A ``(D,)`` mean or std that remembers its checkpoint's ``resize_filter``."""

    resize_filter: str = DEFAULT_RESIZE

    def __new__(cls, values: np.ndarray, resize_filter: str) -> NormStats:
        obj = np.asarray(values).view(cls)
        obj.resize_filter = resize_filter
        return obj

    def __array_finalize__(self, obj) -> None:
        self.resize_filter = getattr(obj, "resize_filter", DEFAULT_RESIZE)


def resize_of(mean: np.ndarray | None, resize: str | None) -> str:
    """The filter to use: ``resize`` when named, else the one ``mean`` carries, else area."""
    if resize is None:
        resize = getattr(mean, "resize_filter", DEFAULT_RESIZE)
    if resize not in RESIZE_FILTERS:
        raise ChexminiError(f"unknown resize filter {resize!r} (expected one of "
                            f"{', '.join(RESIZE_FILTERS)})")
    return resize


def preprocess_image(
    path: str | os.PathLike[str],
    image_size: int = 64,
    mean: np.ndarray | None = None,
    std: np.ndarray | None = None,
    resize: str | None = None,
) -> np.ndarray:
    """One image file → standardised ``(D,)`` with ``D = image_size²``: float64
    ``(p/255 − μ)/σ`` when μ and σ are float64, else float32 (the training pipeline).
    ``resize=None`` takes the filter ``mean`` carries (:class:`NormStats`), else area."""
    resize = resize_of(mean, resize)
    gray = load_gray(path, image_size, resize)
    d = image_size * image_size
    if mean is None or std is None:
        mean, std = np.zeros(d, np.float32), np.ones(d, np.float32)
    if np.size(mean) != d or np.size(std) != d:
        raise ChexminiError(f"normalisation statistics have {np.size(mean)} values, "
                            f"expected {d} for {image_size}×{image_size} images", path)
    return standardise_image(gray, mean, std)


def standardise_image(gray: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """uint8 ``(S, S)`` → model input ``(S²,)`` = ``(p/255 − μ)/σ``: float64 when μ and σ
    are float64 (published checkpoints), else float32 exactly as training batches."""
    mean, std = np.asarray(mean), np.asarray(std)
    if mean.dtype == np.float64 and std.dtype == np.float64:
        x = np.asarray(gray).reshape(-1).astype(np.float64) / 255.0
        return (x - np.reshape(mean, -1)) / np.reshape(std, -1)
    return standardise_all(np.asarray(gray)[None], mean, std)[0]
