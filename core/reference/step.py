"""One training step, textbook form — what :class:`core.training.step.TrainStep` computes:

    x  = standardise(augment(images / 255))
    z  = MLP.forward(x)                      (dropout on)
    L, dL/dz = BCE-with-logits(z, y; ε, w)
    grads = MLP.backward(dL/dz)
    Adam (or SGD) step on every parameter
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.nn.augment import AugmentConfig
from core.reference import augment as ref_augment
from core.reference.loss import bce_with_logits
from core.reference.mlp import MLP
from core.reference.optim import adam_step


@dataclass
class StepSpec:
    """The hyperparameters of a step (the fast step takes them from its objects)."""

    dropout: float = 0.3
    label_smoothing: float = 0.05
    augment: AugmentConfig | None = None
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    l1: float = 0.0


def reference_step(params: dict[str, np.ndarray], adam_state: dict, images: np.ndarray,
                   labels: np.ndarray, aug_rng: np.random.Generator,
                   drop_rng: np.random.Generator, mean: np.ndarray, std: np.ndarray,
                   spec: StepSpec, bank: np.ndarray | None = None,
                   weights: np.ndarray | None = None) -> float:
    """One step on ``images: (B, H, W)`` uint8; updates ``params`` and ``adam_state``
    (:func:`core.reference.optim.init_adam`) and returns the batch loss. ``bank`` is the
    standard-normal noise bank (:func:`core.reference.augment.noise_bank`)."""
    dtype = params["fc1.W"].dtype
    x = images / dtype.type(255)
    if spec.augment is not None:
        x = ref_augment.augment(x, ref_augment.draw(aug_rng, len(images), spec.augment, bank))
    x = ref_augment.standardise(x.reshape(len(images), -1), mean, std).astype(dtype)
    model = MLP(params, spec.dropout, drop_rng)
    logits = model.forward(x, train=True)
    loss, g = bce_with_logits(logits[:, 0], labels, spec.label_smoothing, weights)
    grads = model.backward(g[:, None].astype(dtype))
    adam_step(params, grads, adam_state, spec.lr, spec.betas, spec.eps,
              spec.weight_decay, spec.l1)
    return loss
