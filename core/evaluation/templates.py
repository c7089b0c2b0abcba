"""What the first layer learned: fc1's hidden units as images over the standardised input.

fc1 computes ``z = x W₁ + b₁`` with ``x: (B, D)`` the standardised image (``D = S²``,
row-major pixels) and ``W₁: (D, H)``, so hidden unit ``j`` responds to the dot product of
the image with its weight column ``w_j = W₁[:, j]`` — a **template** ``(S, S)`` over the
standardised input (:func:`templates`).

The grid's order (:func:`unit_order`), one rule everywhere (the app's grids and
``chexmini inspect --filters``): units that fire on the given images first, each group by
``‖w_j‖₂`` (the column's L2 norm), largest first, ties by unit index; **dead** units
(:func:`dead_units`: ``a_j = max(0, z_j) = 0`` for every given image — the validation
split) last.

A unit's **saliency** on an image (:func:`unit_saliency`) is gradient × input,
``|x ⊙ ∂a_j/∂x|`` with ``∂a_j/∂x = 1[z_j > 0] · w_j``: which pixels of that image drive
the unit (its pre-activation is ``Σ_p x_p w_pj + b_j``); zero where the unit is off. The
app shows it on the mean standardised abnormal and normal image (:func:`class_means`).
"""

from __future__ import annotations

import math

import numpy as np


def side_of(n_in: int) -> int:
    """``S`` with ``S² = n_in`` (a ValueError when the input is not a square image)."""
    side = math.isqrt(int(n_in))
    if side * side != n_in or side == 0:
        raise ValueError(f"fc1 takes {n_in} inputs, not a square image")
    return side


def templates(w1: np.ndarray) -> np.ndarray:
    """``W₁: (D, H)`` → ``(H, S, S)``: column ``j`` reshaped row-major to the image."""
    w1 = np.asarray(w1)
    side = side_of(w1.shape[0])
    return w1.T.reshape(w1.shape[1], side, side)


def unit_norms(w1: np.ndarray) -> np.ndarray:
    """``‖w_j‖₂`` for every unit, ``(H,)`` float64 (summed in the weights' own dtype:
    float32 weights are not copied, ~1 ms for the published 4096×1024)."""
    w = np.asarray(w1)
    return np.sqrt(np.einsum("dh,dh->h", w, w).astype(np.float64))


def active_units(w1: np.ndarray, b1: np.ndarray, x: np.ndarray,
                 batch_size: int = 256) -> np.ndarray:
    """``(H,)`` bool: unit ``j`` has ``z_j = x_i·w_j + b_j > 0`` for at least one row
    ``x_i`` of ``x: (N, D)`` (float64, in batches)."""
    w = np.asarray(w1, dtype=np.float64)
    b = np.asarray(b1, dtype=np.float64).reshape(-1)
    x = np.asarray(x)
    active = np.zeros(w.shape[1], dtype=bool)
    for s in range(0, len(x), batch_size):
        z = np.asarray(x[s:s + batch_size], dtype=np.float64) @ w + b
        active |= (z > 0).any(axis=0)
    return active


def dead_units(w1: np.ndarray, b1: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``(H,)`` bool: the units whose ReLU output is 0 on every row of ``x: (N, D)``."""
    return ~active_units(w1, b1, x)


def unit_order(norms: np.ndarray, dead: np.ndarray | None = None) -> np.ndarray:
    """Unit indices ``(H,)`` in the grid's order: not dead before dead, then ``‖w_j‖``
    descending, then index ascending (``dead=None``: none known dead)."""
    norms = np.asarray(norms, dtype=np.float64)
    dead = np.zeros(len(norms), bool) if dead is None else np.asarray(dead, dtype=bool)
    # lexsort: the last key is the primary one
    return np.lexsort((np.arange(len(norms)), -norms, dead))


def unit_gradient(w1: np.ndarray, b1: np.ndarray, j: int, x: np.ndarray) -> np.ndarray:
    """``∂a_j/∂x = 1[z_j > 0] · w_j`` for one image ``x: (D,)`` → ``(D,)`` float64."""
    w = np.asarray(w1, dtype=np.float64)[:, j]
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    z = float(x @ w) + float(np.asarray(b1, dtype=np.float64).reshape(-1)[j])
    return w.copy() if z > 0 else np.zeros_like(w)


def unit_saliency(w1: np.ndarray, b1: np.ndarray, j: int, x: np.ndarray) -> np.ndarray:
    """Gradient × input ``|x ⊙ ∂a_j/∂x|`` for one image ``x: (D,)`` → ``(D,)`` float64."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    return np.abs(x * unit_gradient(w1, b1, j, x))


def class_means(x: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean abnormal (label 1) and mean normal (label 0) row of ``x: (N, D)``,
    each ``(D,)`` float64 (a ValueError when a class is missing)."""
    labels = np.asarray(labels).reshape(-1)
    x = np.asarray(x, dtype=np.float64)
    if not (labels == 1).any() or not (labels == 0).any():
        raise ValueError("both classes are needed for the mean images")
    return x[labels == 1].mean(axis=0), x[labels == 0].mean(axis=0)


def pool(tiles: np.ndarray, factor: int) -> np.ndarray:
    """Mean-pool ``(N, S, S)`` by ``factor`` → ``(N, ⌊S/f⌋, ⌊S/f⌋)`` (the last ``S mod f``
    rows and columns dropped)."""
    n, side, _ = tiles.shape
    if factor <= 1:
        return tiles
    s = side // factor
    cut = tiles[:, :s * factor, :s * factor]
    return cut.reshape(n, s, factor, s, factor).mean(axis=(2, 4))


def grid_tiles(w1: np.ndarray, dead: np.ndarray | None, top: int,
               factor: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The grid's first ``top`` units: ``(units (N,), norms (N,), tiles (N, S/f, S/f)
    float32)``, ``tiles[i]`` unit ``units[i]``'s template mean-pooled by ``factor``."""
    norms = unit_norms(w1)
    units = unit_order(norms, dead)[:top]
    cols = np.asarray(w1)[:, units]
    tiles = pool(templates(cols).astype(np.float32), factor)
    return units, norms[units], tiles


#: The diverging colour map's ends: +1 (a positive weight) and −1; 0 is black.
POSITIVE_RGB, NEGATIVE_RGB = (255, 140, 0), (40, 120, 255)


def diverging_rgb(t: np.ndarray) -> np.ndarray:
    """``t (h, w)`` → RGB uint8 ``(h, w, 3)`` scaled by its own ``max |t|``: +max orange
    :data:`POSITIVE_RGB`, 0 black, −max blue :data:`NEGATIVE_RGB`, linear between."""
    t = np.asarray(t, dtype=np.float64)
    top = float(np.abs(t).max()) if t.size else 0.0
    v = t / top if top > 0 and np.isfinite(top) else np.zeros_like(t)
    pos, neg = np.clip(v, 0, 1)[..., None], np.clip(-v, 0, 1)[..., None]
    rgb = pos * np.array(POSITIVE_RGB) + neg * np.array(NEGATIVE_RGB)
    return np.round(rgb).astype(np.uint8)
