"""Inference with a saved checkpoint — the published API, from one import.

The model card's three lines, literally::

    from core.inference import load_checkpoint, preprocess_image, predict_label

    model, mean, std, threshold = load_checkpoint("artifacts")
    x = preprocess_image("xray.png", image_size=64, mean=mean, std=std)
    prob, label = predict_label(model, x, threshold)      # "normal" | "abnormal"

give the same probability as ``chexmini predict``: ``mean``/``std`` carry the checkpoint's
resize filter (area for chexmini, bicubic for the published layout), so the pipeline
travels with them. Inside the project, the loaded :class:`Checkpoint` is used as an
object (``ckpt.preprocess(path)``, ``ckpt.threshold``, ``ckpt.threshold_rule``).

Where things live: the typed checkpoint and its threshold, :mod:`core.runs.checkpoint`;
the pixel pipeline, :mod:`core.nn.preprocess`; predictions, :mod:`core.inference.predict`;
is it an X-ray at all, :mod:`core.inference.ood`; the error gallery,
:mod:`core.inference.gallery`.
"""

from core.evaluation.metrics import LABELS, label_of
from core.inference.predict import (
    Prediction,
    predict_files,
    predict_label,
    predict_proba,
    saliency,
)
from core.nn.preprocess import NormStats, preprocess_image, standardise_image
from core.runs.checkpoint import Checkpoint, checkpoint_summary, load_checkpoint

__all__ = ["LABELS", "Checkpoint", "NormStats", "Prediction", "checkpoint_summary",
           "label_of", "load_checkpoint", "predict_files", "predict_label", "predict_proba",
           "preprocess_image", "saliency", "standardise_image"]
