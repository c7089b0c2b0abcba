"""Predictions of a loaded model: P(abnormal), the label at a threshold, many files at
once (one bad file never loses the others), and saliency ``|∂ logit / ∂ x|``."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from core.evaluation.metrics import label_of
from core.foundation.errors import ChexminiError
from core.foundation.progress import Tick, TickFn, tick_or_nothing
from core.nn.model import MLP
from core.nn.preprocess import preprocess_image


def predict_proba(model: MLP, x: np.ndarray,
                  source: str | os.PathLike[str] | None = None) -> np.ndarray:
    """P(abnormal) for ``x: (D,)`` or ``(B, D)`` → ``(B,)``, computed in float64
    (:meth:`~core.nn.model.MLP.predict_proba_float64`), so an image scores the same alone
    (the API, Predict) as in a batch (``chexmini predict``, many files)."""
    x = np.asarray(x)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2 or x.shape[1] != model.widths[0]:
        raise ChexminiError(f"input has shape {x.shape}; the model takes (B, {model.widths[0]})")
    with np.errstate(over="ignore", invalid="ignore"):
        probs = model.predict_proba_float64(x)
    if not np.isfinite(probs).all():  # finite but huge weights overflow to inf - inf = NaN
        raise ChexminiError("the model's output is not a finite number (its weights "
                            "overflow on this input)", source)
    return probs


def predict_label(model: MLP, x: np.ndarray, threshold: float = 0.5) -> tuple[float, str]:
    """``(P(abnormal), "normal" | "abnormal")`` for one preprocessed image ``(D,)`` or
    ``(1, D)``, by the labelling rule (:func:`core.evaluation.metrics.label_of`).
    ``threshold`` defaults to 0.5, as in the published code."""
    x = np.asarray(x)
    if x.ndim == 2 and x.shape[0] != 1:
        raise ChexminiError(f"predict_label takes one image, (D,) or (1, D); got {x.shape}")
    prob = float(predict_proba(model, x)[0])
    return prob, label_of(prob, threshold)


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
    paths: Iterable[str | os.PathLike[str]], batch_size: int = 512, resize: str | None = None,
    source: str | os.PathLike[str] | None = None, tick: TickFn | None = None,
) -> list[Prediction]:
    """Predict many files (resized with ``resize``, by default the filter ``mean`` carries:
    :func:`~core.nn.preprocess.preprocess_image`); a file that cannot be read (missing,
    permission denied, I/O error, undecodable) gets ``error`` instead of a crash, and the
    others are scored. Weights whose output is not finite are a ChexminiError naming
    ``source`` (the checkpoint's ``model.npz``). ``tick`` hears ``Tick("predict", files
    read, all files)`` after each file (:mod:`core.foundation.progress`)."""
    side = int(round(np.sqrt(model.widths[0])))
    paths, tick = list(paths), tick_or_nothing(tick)
    out: list[Prediction | None] = []
    batch_x: list[np.ndarray] = []
    batch_pos: list[int] = []

    def flush() -> None:
        if batch_x:
            probs = predict_proba(model, np.stack(batch_x), source)
            for pos, p in zip(batch_pos, probs, strict=True):
                out[pos] = Prediction(out[pos].path, float(p), label_of(float(p), threshold))
            batch_x.clear()
            batch_pos.clear()

    for path in paths:
        tick(Tick("predict", len(out), len(paths)))
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
    tick(Tick("predict", len(out), len(paths)))
    return [p for p in out if p is not None]
