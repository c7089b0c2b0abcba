"""A run that diverged: the error, and what to change."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.foundation.config import TrainConfig
from core.foundation.errors import ChexminiError


class TrainingDiverged(ChexminiError):
    """The loss or the parameters became NaN/inf."""


def divergence_hint(config: TrainConfig) -> str:
    """What to change after a divergence: the config value that most likely caused it
    (a weight decay, L1 penalty or learning rate above 1), else a lower learning rate."""
    lr = config.lr
    if config.weight_decay > 1:
        return (f"weight_decay={config.weight_decay:g} is far too large (typical: 1e-5 to "
                "1e-2); lower it")
    if config.l1 > 1:
        return f"l1={config.l1:g} is far too large (typical: 0 to 1e-4); lower it"
    if lr > 1:
        return f"lr={lr:g} is far too large: use a lower learning rate (typical: 1e-4 to 1e-2)"
    return f"try a lower learning rate (now {lr:g})"


def loss_diverged(loss: float, epoch: int, step: int, config: TrainConfig,
                  out: Path | None) -> TrainingDiverged:
    """The error for a non-finite loss at 1-based ``epoch`` and ``step``."""
    return TrainingDiverged(
        f"training diverged: loss is {loss} at epoch {epoch}, step {step}; the last good "
        f"state is kept — {divergence_hint(config)}", out)


def check_parameters(params: dict[str, np.ndarray], epoch: int, config: TrainConfig,
                     out: Path | None) -> None:
    """Raise :class:`TrainingDiverged` if a parameter is NaN/inf after 1-based ``epoch``."""
    if not all(np.isfinite(p).all() for p in params.values()):
        raise TrainingDiverged(
            f"training diverged: parameters became NaN/inf in epoch {epoch}; the last "
            f"good state is kept — {divergence_hint(config)}", out)
