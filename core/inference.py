"""Inference with a saved checkpoint — the published API.

    ckpt = load_checkpoint("artifacts")          # unpacks as (model, mean, std, threshold)
    x = ckpt.preprocess("chest.png")             # the checkpoint's own pipeline
    prob, label = predict_label(ckpt.model, x, ckpt.threshold)   # "normal" | "abnormal"

A checkpoint folder may be in chexmini's layout or the published CheXVision-mini layout
(:mod:`core.published`). ``preprocess_image`` runs the pipeline: decode → grayscale →
resize (``resize="area"``, chexmini's training pipeline, or ``"bicubic"``, the published
one; ``ckpt.resize_filter`` says which a checkpoint needs) → ``(p/255 − μ)/σ``, in float64
when μ, σ are float64 (published checkpoints). :func:`saliency` gives
``|∂ logit / ∂ x|`` per pixel from the hand-written backward pass.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.batches import standardise_all
from core.checkpoint import checkpoint_dir, operating_point, read_metrics, read_model_layout
from core.data.images import RESIZE_FILTERS, load_gray
from core.errors import ChexminiError
from core.nn.model import MLP
from core.operating_point import OperatingPoint
from core.published import LAYOUT_NAMES, check_config, detect_layout, resize_filter
from core.safe_npz import npz_members

LABELS = ("normal", "abnormal")


@dataclass(frozen=True, eq=False)
class Checkpoint:
    """A loaded checkpoint. Unpacks (and indexes) as ``(model, mean, std, threshold)``;
    ``layout`` is ``"chexmini"`` or ``"chexvision-mini"``, ``resize_filter`` the image
    pipeline's filter (``"area"`` or ``"bicubic"``). ``threshold`` is the operating
    threshold: the saved ``operating_point`` (``chexmini evaluate --save``) when there is
    one, else ``metrics.json``'s ``threshold``."""

    model: MLP
    mean: np.ndarray
    std: np.ndarray
    threshold: float
    layout: str
    resize_filter: str
    path: str
    operating_point: OperatingPoint | None = None

    @property
    def threshold_rule(self) -> str:
        """How the threshold was chosen (the saved rule, or the checkpoint's own)."""
        return "saved threshold" if self.operating_point is None else self.operating_point.rule

    def __iter__(self):
        return iter((self.model, self.mean, self.std, self.threshold))

    def __getitem__(self, index):
        return tuple(self)[index]

    def __len__(self) -> int:
        return 4

    @property
    def image_size(self) -> int:
        return int(round(np.sqrt(self.model.widths[0])))

    def preprocess(self, path: str | os.PathLike[str]) -> np.ndarray:
        """One image file → this checkpoint's model input ``(D,)``."""
        return preprocess_image(path, self.image_size, self.mean, self.std, self.resize_filter)


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """A checkpoint folder in either layout, validated (weights, statistics, threshold,
    and the ``config`` against the weights)."""
    ckpt = checkpoint_dir(path)
    model, mean, std, layout = read_model_layout(ckpt)
    metrics = read_metrics(ckpt)
    check_config(metrics, model.widths, ckpt / "metrics.json")
    resize = resize_filter(metrics, layout, ckpt / "metrics.json")
    op = operating_point(metrics)
    thr = float(metrics["threshold"]) if op is None else op.threshold
    return Checkpoint(model, mean, std, thr, layout, resize, str(ckpt), op)


def preprocess_image(
    path: str | os.PathLike[str],
    image_size: int = 64,
    mean: np.ndarray | None = None,
    std: np.ndarray | None = None,
    resize: str = "area",
) -> np.ndarray:
    """One image file → standardised ``(D,)`` with ``D = image_size²``: float64
    ``(p/255 − μ)/σ`` when μ and σ are float64, else float32 (the training pipeline)."""
    if resize not in RESIZE_FILTERS:
        raise ChexminiError(f"unknown resize filter {resize!r} (expected one of "
                            f"{', '.join(RESIZE_FILTERS)})")
    gray = load_gray(path, image_size, resize)
    d = image_size * image_size
    if mean is None or std is None:
        mean, std = np.zeros(d, np.float32), np.ones(d, np.float32)
    if np.size(mean) != d or np.size(std) != d:
        raise ChexminiError(f"normalisation statistics have {np.size(mean)} values, "
                            f"expected {d} for {image_size}×{image_size} images", path)
    if np.asarray(mean).dtype == np.float64 and np.asarray(std).dtype == np.float64:
        x = gray.reshape(-1).astype(np.float64) / 255.0
        return (x - np.reshape(mean, -1)) / np.reshape(std, -1)
    return standardise_all(gray[None], mean, std)[0]


def predict_proba(model: MLP, x: np.ndarray) -> np.ndarray:
    """P(abnormal) for ``x: (D,)`` or ``(B, D)`` → ``(B,)``."""
    x = np.asarray(x, dtype=model.dtype)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2 or x.shape[1] != model.widths[0]:
        raise ChexminiError(f"input has shape {x.shape}; the model takes (B, {model.widths[0]})")
    return model.predict_proba(x)


def predict_label(model: MLP, x: np.ndarray, threshold: float) -> tuple[float, str]:
    """``(P(abnormal), "normal" | "abnormal")`` for one preprocessed image (abnormal if p ≥ t)."""
    prob = float(predict_proba(model, x)[0])
    return prob, LABELS[int(prob >= threshold)]


def saliency(model: MLP, x: np.ndarray) -> np.ndarray:
    """``|∂ logit / ∂ x|`` for one input ``(D,)`` → ``(D,)`` (evaluation mode)."""
    x = np.asarray(x, dtype=model.dtype).reshape(1, -1)
    model.forward(x, train=False)
    grad = model.backward(np.ones((1, 1), dtype=model.dtype), need_input_grad=True)
    return np.abs(grad[0]).astype(np.float64)


@dataclass(frozen=True)
class Prediction:
    path: str
    prob: float | None
    label: str | None
    error: str | None = None

    def to_dict(self) -> dict:
        return {"path": self.path, "prob_abnormal": self.prob, "label": self.label,
                "error": self.error}


def predict_files(
    model: MLP, mean: np.ndarray, std: np.ndarray, threshold: float,
    paths: Iterable[str | os.PathLike[str]], batch_size: int = 512, resize: str = "area",
) -> list[Prediction]:
    """Predict many files (resized with ``resize``); a file that cannot be read (missing,
    permission denied, I/O error, undecodable) gets ``error`` instead of a crash, and the
    others are scored."""
    side = int(round(np.sqrt(model.widths[0])))
    out: list[Prediction | None] = []
    batch_x: list[np.ndarray] = []
    batch_pos: list[int] = []

    def flush() -> None:
        if batch_x:
            probs = predict_proba(model, np.stack(batch_x))
            for pos, p in zip(batch_pos, probs, strict=True):
                out[pos] = Prediction(out[pos].path, float(p), LABELS[int(p >= threshold)])
            batch_x.clear()
            batch_pos.clear()

    for path in paths:
        try:
            x = preprocess_image(path, side, mean, std, resize)
        except ChexminiError as exc:
            out.append(Prediction(str(path), None, None, str(exc)))
            continue
        except (OSError, MemoryError) as exc:  # one bad file never loses the others
            why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            out.append(Prediction(str(path), None, None, str(ChexminiError(why, path))))
            continue
        out.append(Prediction(str(path), None, None))
        batch_x.append(x)
        batch_pos.append(len(out) - 1)
        if len(batch_x) >= batch_size:
            flush()
    flush()
    return [p for p in out if p is not None]


def checkpoint_summary(path: str | os.PathLike[str]) -> dict:
    """What a checkpoint folder holds (for inspection screens and the CLI), with
    ``format`` (``"chexmini"``, ``"chexvision-mini (published layout)"``, or None when
    ``model.npz`` cannot be read) and ``resize_filter``."""
    ckpt = checkpoint_dir(path)
    metrics = read_metrics(ckpt)
    try:
        files = sorted(p.name for p in Path(ckpt).iterdir() if p.is_file())
    except OSError as exc:
        raise ChexminiError(f"cannot list the folder ({exc.strerror or exc})", ckpt) from None
    layout = _layout_of(ckpt / "model.npz")
    resize = None if layout is None else resize_filter(metrics, layout, ckpt / "metrics.json")
    return {"path": str(ckpt), "files": files, **metrics,
            "format": None if layout is None else LAYOUT_NAMES[layout], "resize_filter": resize}


def _layout_of(path: Path) -> str | None:
    """The layout of a ``model.npz`` from its key names alone; None if unreadable."""
    try:
        return detect_layout(npz_members(path), path)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, ChexminiError):
        return None
