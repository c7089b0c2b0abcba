"""Inference with a saved checkpoint — the published API.

    model, mean, std, threshold = load_checkpoint("artifacts")
    x = preprocess_image("chest.png", 64, mean, std)
    prob, label = predict_label(model, x, threshold)     # label: "normal" | "abnormal"

``preprocess_image`` runs the training pipeline: decode → grayscale → area resize →
``(p/255 − μ)/σ``. :func:`saliency` gives ``|∂ logit / ∂ x|`` per pixel from the
hand-written backward pass.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.batches import standardise_all
from core.checkpoint import checkpoint_dir, read_metrics, read_model
from core.data.images import load_gray
from core.errors import ChexminiError
from core.nn.model import MLP

LABELS = ("normal", "abnormal")


def load_checkpoint(path: str | os.PathLike[str]) -> tuple[MLP, np.ndarray, np.ndarray, float]:
    """``(model, mean, std, threshold)`` from a checkpoint folder (validated)."""
    ckpt = checkpoint_dir(path)
    model, mean, std = read_model(ckpt)
    threshold = float(read_metrics(ckpt)["threshold"])
    return model, mean, std, threshold


def preprocess_image(
    path: str | os.PathLike[str],
    image_size: int = 64,
    mean: np.ndarray | None = None,
    std: np.ndarray | None = None,
) -> np.ndarray:
    """One image file → standardised float32 ``(D,)`` with ``D = image_size²``."""
    gray = load_gray(path, image_size)
    d = image_size * image_size
    if mean is None or std is None:
        mean, std = np.zeros(d, np.float32), np.ones(d, np.float32)
    if np.size(mean) != d or np.size(std) != d:
        raise ChexminiError(f"normalisation statistics have {np.size(mean)} values, "
                            f"expected {d} for {image_size}×{image_size} images", path)
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
    paths: Iterable[str | os.PathLike[str]], batch_size: int = 512,
) -> list[Prediction]:
    """Predict many files; a file that cannot be read (missing, permission denied, I/O
    error, undecodable) gets ``error`` instead of a crash, and the others are scored."""
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
            x = preprocess_image(path, side, mean, std)
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
    """What a checkpoint folder holds (for inspection screens and the CLI)."""
    ckpt = checkpoint_dir(path)
    metrics = read_metrics(ckpt)
    try:
        files = sorted(p.name for p in Path(ckpt).iterdir() if p.is_file())
    except OSError as exc:
        raise ChexminiError(f"cannot list the folder ({exc.strerror or exc})", ckpt) from None
    return {"path": str(ckpt), "files": files, **metrics}
