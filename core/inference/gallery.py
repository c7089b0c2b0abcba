"""The error gallery: the images of one confusion-matrix cell, most confident first.

Cells follow :func:`core.evaluation.metrics.confusion_matrix` (predicted abnormal iff
``score >= threshold``; label 1 = abnormal)::

    TN: label 0, score <  t     FP: label 0, score >= t
    FN: label 1, score <  t     TP: label 1, score >= t

"Most confident" means furthest into the predicted side: in the predicted-abnormal cells
(FP, TP) the **highest** score first, in the predicted-normal cells (TN, FN) the
**lowest** score first; equal scores keep their order in the score file. So the first FP
is the normal image the model was surest was abnormal.

:func:`gallery_item` gives one image of a :class:`~core.runs.images.RunSplit` with its
saliency map ``|∂ logit / ∂ x|`` (the same :func:`core.inference.saliency` as Predict).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.evaluation.metrics import confusion_matrix, predicted_abnormal
from core.foundation.errors import ChexminiError
from core.inference.predict import saliency
from core.nn.preprocess import standardise_image
from core.runs.checkpoint import Checkpoint
from core.runs.images import RunSplit

CELLS = ("TN", "FP", "FN", "TP")
#: What each cell holds, in words.
CELL_TITLES = {"TN": "true negatives (normal, predicted normal)",
               "FP": "false positives (normal, predicted abnormal)",
               "FN": "false negatives (abnormal, predicted normal)",
               "TP": "true positives (abnormal, predicted abnormal)"}
LABEL_NAMES = ("normal", "abnormal")


def _cell(cell: str) -> str:
    c = str(cell).upper()
    if c not in CELLS:
        raise ChexminiError(f"unknown cell {cell!r} (expected one of {', '.join(CELLS)})")
    return c


def cell_mask(scores: np.ndarray, labels: np.ndarray, threshold: float, cell: str) -> np.ndarray:
    """Boolean ``(N,)``: which images fall in ``cell`` at ``threshold``."""
    c = _cell(cell)
    s, y = np.asarray(scores, dtype=np.float64), np.asarray(labels)
    if s.shape != y.shape:
        raise ChexminiError(f"{s.size} scores but {y.size} labels")
    predicted = predicted_abnormal(s, float(threshold))
    actual = y == 1
    return (predicted == (c[1] == "P")) & (actual == (c in ("FN", "TP")))


def select(scores: np.ndarray, labels: np.ndarray, threshold: float, cell: str) -> np.ndarray:
    """Indices of the images in ``cell``, most confident first (see the module docstring):
    FP/TP by descending score, TN/FN by ascending score; ties in index order."""
    s = np.asarray(scores, dtype=np.float64)
    idx = np.flatnonzero(cell_mask(s, labels, threshold, cell))
    key = -s[idx] if _cell(cell)[1] == "P" else s[idx]
    return idx[np.argsort(key, kind="stable")]


def cell_counts(scores: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, int]:
    """``{"TN": n, "FP": n, "FN": n, "TP": n}`` at ``threshold``: the confusion matrix of
    :func:`core.evaluation.metrics.confusion_matrix`, keyed by cell name."""
    counts = confusion_matrix(scores, labels, threshold)
    return {c: counts[c.lower()] for c in CELLS}


@dataclass(frozen=True, eq=False)
class GalleryItem:
    """One image of the gallery: ``index`` into the split (= row of the score file),
    its saved ``score``, true ``label`` (0/1), file ``name``, ``patient`` (None when
    unknown), ``image`` uint8 ``(S, S)`` and ``saliency`` ``(S²,)`` (None without a model)."""

    index: int
    score: float
    label: int
    name: str
    patient: int | None
    image: np.ndarray
    saliency: np.ndarray | None

    @property
    def label_name(self) -> str:
        return LABEL_NAMES[self.label]


def gallery_item(run: RunSplit, index: int, ckpt: Checkpoint | None = None) -> GalleryItem:
    """Image ``index`` of ``run``; with ``ckpt`` also its saliency map (one forward and one
    backward pass of the checkpoint's model on the standardised image)."""
    image = np.array(run.images[index], dtype=np.uint8)
    sal = None
    if ckpt is not None:
        if image.size != ckpt.model.widths[0]:
            raise ChexminiError(f"the images are {image.shape[0]}×{image.shape[1]} but the "
                                f"model takes {ckpt.model.widths[0]} inputs", ckpt.path)
        sal = saliency(ckpt.model, standardise_image(image, ckpt.mean, ckpt.std))
    patient = int(run.patients[index])
    return GalleryItem(int(index), float(run.scores[index]), int(run.labels[index]),
                       str(run.names[index]), patient if patient >= 0 else None, image, sal)
