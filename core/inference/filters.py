"""What a checkpoint's first layer learned: fc1's templates in the grid's order, its dead
units and the mean abnormal / normal validation image, for Inspect's filter grid and
``chexmini inspect CKPT --filters OUT.png`` (the maths: :mod:`core.evaluation.templates`).

The validation images are the checkpoint's own (:func:`core.runs.images.locate`: its
recorded data source, checked against its saved labels), standardised with its
statistics (:func:`core.nn.preprocess.standardise_image`). When they cannot be found
(a published folder, data on another machine), the grid is still drawn — ordered by
‖w‖ alone, no unit marked dead — and :attr:`FirstLayer.no_images` says why.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from core.evaluation import templates as T
from core.foundation.errors import ChexminiError
from core.nn.preprocess import standardise_image
from core.runs.checkpoint import Checkpoint, load_checkpoint
from core.runs.images import locate


@dataclass(frozen=True, eq=False)
class FirstLayer:
    """fc1 of one checkpoint: ``w1 (D, H)``, ``b1 (H,)`` float64, ``order (H,)`` (the
    grid's order), ``norms (H,)``, ``dead (H,)`` bool or ``None`` (no images),
    ``means`` = (mean abnormal, mean normal) standardised validation image ``(D,)`` each,
    or ``None``, and ``no_images``: why there are none (``""`` when there are)."""

    w1: np.ndarray
    b1: np.ndarray
    order: np.ndarray
    norms: np.ndarray
    dead: np.ndarray | None
    means: tuple[np.ndarray, np.ndarray] | None
    no_images: str
    path: str

    @property
    def side(self) -> int:
        return T.side_of(self.w1.shape[0])

    def ordered_templates(self) -> np.ndarray:
        """``(H, S, S)``: template ``i`` is unit ``order[i]``'s."""
        return T.templates(self.w1[:, self.order])

    def dead_in_order(self) -> np.ndarray:
        """``(H,)`` bool in the grid's order (all False when unknown)."""
        return np.zeros(len(self.order), bool) if self.dead is None else self.dead[self.order]

    def saliency(self, unit: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Unit ``unit``'s saliency ``(S, S)`` on the mean abnormal and the mean normal
        image (:func:`~core.evaluation.templates.unit_saliency`), or ``None``."""
        if self.means is None:
            return None
        s = self.side
        return tuple(T.unit_saliency(self.w1, self.b1, unit, m).reshape(s, s)
                     for m in self.means)

    def active_on(self, unit: int) -> tuple[bool, bool] | None:
        """Whether the unit fires (``z > 0``) on the mean abnormal / normal image."""
        if self.means is None:
            return None
        return tuple(bool(m @ self.w1[:, unit] + self.b1[unit] > 0) for m in self.means)


def first_layer(path: str | os.PathLike[str], ckpt: Checkpoint | None = None) -> FirstLayer:
    """Read fc1 of the checkpoint in ``path`` (``ckpt``: already loaded) and its
    validation images, if they can be found (see the module docstring)."""
    ckpt = ckpt if ckpt is not None else load_checkpoint(path)
    params = ckpt.model.parameters()
    w1 = np.asarray(params["fc1.W"], dtype=np.float64)
    b1 = np.asarray(params["fc1.b"], dtype=np.float64)
    try:
        T.side_of(w1.shape[0])
    except ValueError as exc:
        raise ChexminiError(str(exc), path) from None
    norms = T.unit_norms(w1)
    try:
        val = locate(path, "val")
        x = np.stack([standardise_image(g, ckpt.mean, ckpt.std) for g in val.images])
        dead = T.dead_units(w1, b1, x)
        means, why = T.class_means(x, val.labels), ""
    except (ChexminiError, ValueError) as exc:
        dead, means, why = None, None, f"dead units not marked: {exc}"
    return FirstLayer(w1, b1, T.unit_order(norms, dead), norms, dead, means, why, str(path))
