"""Scoring a split in evaluation mode, and the validation at each epoch end."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from core.data.dataset import Split
from core.evaluation.metrics import roc_auc
from core.foundation.progress import Tick, TickFn
from core.nn.batches import BatchMaker
from core.nn.loss import bce_with_logits
from core.nn.model import MLP, sigmoid

if TYPE_CHECKING:
    from core.training.health import ActivationProbe

#: Overflow in a diverging run is reported as ``TrainingDiverged``, not as warnings.
QUIET_FP = {"over": "ignore", "invalid": "ignore"}


def score_split(model: MLP, split: Split, maker: BatchMaker, batch_size: int = 1024,
                probe: ActivationProbe | None = None, tick: TickFn | None = None,
                task: str = "scoring") -> np.ndarray:
    """Evaluation-mode logits ``(N,)`` for a split, standardised batch by batch; a
    ``probe`` (:mod:`core.training.health`) records the layers' activations on the way;
    ``tick`` hears ``Tick(task, images scored, N)`` after each batch."""
    logits = np.empty(len(split), dtype=np.float64)
    for s in range(0, len(split), batch_size):
        x = maker.standardise(split.images[s : s + batch_size])
        out = model.forward(x, train=False) if probe is None else probe.forward(model, x)
        logits[s : s + batch_size] = out[:, 0]
        if tick is not None:
            tick(Tick(task, min(s + batch_size, len(split)), len(split)))
    return logits


class Validation(NamedTuple):
    """One epoch's validation: loss (label-smoothed BCE), ROC AUC, accuracy at 0.5."""

    loss: float
    auc: float
    acc: float


def validate(model: MLP, val: Split, maker: BatchMaker, label_smoothing: float,
             probe: ActivationProbe | None = None) -> Validation:
    """Score the validation split in evaluation mode (``probe``: see :func:`score_split`)."""
    with np.errstate(**QUIET_FP):
        val_logits = score_split(model, val, maker, probe=probe)
    val_loss, _ = bce_with_logits(val_logits, val.labels, label_smoothing)
    val_prob = sigmoid(val_logits)
    val_auc = roc_auc(val_prob, val.labels)
    val_acc = float(np.mean((val_prob >= 0.5) == (val.labels == 1)))
    return Validation(val_loss, val_auc, val_acc)
