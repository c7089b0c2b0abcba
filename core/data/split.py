"""Seeded, patient-grouped, stratified splits and k-fold assignment.

No patient is ever in two parts. Patients are taken largest first (ties in seeded
random order) and each goes to the part that is furthest below its target share of
normal and abnormal images, weighted by the patient's own mix — so every part gets close
to its target fraction of images *and* the same positive rate (stratification).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.foundation.errors import ChexminiError


class SplitError(ChexminiError, ValueError):
    """Impossible split parameters (a :class:`ValueError` too, for older callers)."""


def assign_groups(
    groups: np.ndarray, labels: np.ndarray, fractions: Sequence[float], seed: int = 0
) -> np.ndarray:
    """Part index ``(N,)`` for every image; all images of a patient share one part.

    ``fractions`` are the target shares of images per part (normalised to sum to 1).
    """
    groups = np.asarray(groups)
    labels = np.asarray(labels).astype(np.int64)
    frac = np.asarray(fractions, dtype=np.float64)
    if frac.ndim != 1 or len(frac) < 1 or np.any(frac < 0) or frac.sum() <= 0:
        raise SplitError(f"split fractions must be non-negative and not all zero, got "
                         f"{list(fractions)}")
    frac = frac / frac.sum()
    rng = np.random.default_rng(seed)

    uniq, inverse = np.unique(groups, return_inverse=True)
    n_pos = np.bincount(inverse, weights=labels, minlength=len(uniq))
    n_neg = np.bincount(inverse, minlength=len(uniq)) - n_pos
    counts = np.stack([n_neg, n_pos], axis=1)                       # (G, 2) images per class
    target = frac[:, None] * counts.sum(axis=0)[None, :]            # (K, 2)
    scale = np.maximum(counts.sum(axis=0), 1.0)
    filled = np.zeros_like(target)

    order = rng.permutation(len(uniq))
    order = order[np.argsort(-counts[order].sum(axis=1), kind="stable")]  # largest first
    part_of_group = np.empty(len(uniq), dtype=np.int64)
    for g in order:
        # Relative deficit of each part in the classes this patient brings.
        score = ((target - filled) / scale) @ counts[g]
        k = int(np.argmax(score))
        part_of_group[g] = k
        filled[k] += counts[g]
    return part_of_group[inverse]


def train_val_test_split(
    groups: np.ndarray,
    labels: np.ndarray,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index arrays ``(train, val, test)`` of a patient-grouped, stratified split."""
    train_fraction = 1.0 - val_fraction - test_fraction
    if not (train_fraction > 0 and val_fraction >= 0 and test_fraction >= 0):
        raise SplitError(f"val_fraction + test_fraction must be below 1 (training needs the "
                         f"rest), got {val_fraction:g} + {test_fraction:g}")
    part = assign_groups(groups, labels, [train_fraction, val_fraction, test_fraction], seed)
    return tuple(np.flatnonzero(part == k) for k in range(3))  # type: ignore[return-value]


def grouped_kfold(groups: np.ndarray, labels: np.ndarray, k: int = 5, seed: int = 0) -> np.ndarray:
    """Fold index ``(N,)`` in ``0..k-1``: patient-grouped, stratified folds of equal share."""
    if k < 2:
        raise SplitError(f"cross-validation needs at least 2 folds, got {k}")
    return assign_groups(groups, labels, [1.0] * k, seed)
