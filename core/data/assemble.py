"""From a cached image array plus per-split row indices to :class:`DataSplits` whose
images are read-only memory maps, with optional seeded, stratified subsampling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.data.cache import split_views
from core.data.dataset import DataSplits, Split
from core.foundation.errors import ChexminiError

SPLITS = ("train", "val", "test")


@dataclass
class Indexed:
    """A source decoded into one ``.npy`` (``images_path``) and split by rows."""

    images_path: Path
    cache_dir: Path
    names: np.ndarray
    labels: np.ndarray
    groups: np.ndarray
    rows: dict[str, np.ndarray]
    source: str
    info: dict = field(default_factory=dict)


def stratified_subsample(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` positions of ``labels`` drawn without replacement, keeping the positive rate
    (the class counts are the proportional shares, rounded); returned sorted."""
    labels = np.asarray(labels)
    if n >= len(labels):
        return np.arange(len(labels))
    pos = np.flatnonzero(labels == 1)
    neg = np.flatnonzero(labels != 1)
    n_pos = int(round(n * len(pos) / max(len(labels), 1)))
    n_pos = min(max(n_pos, 0), len(pos))
    n_neg = min(n - n_pos, len(neg))
    n_pos = n - n_neg
    take = np.concatenate([rng.choice(pos, n_pos, replace=False),
                           rng.choice(neg, n_neg, replace=False)])
    return np.sort(take)


def subsample(indexed: Indexed, sizes: dict[str, int | None], seed: int) -> None:
    """Reduce ``indexed.rows[split]`` to ``sizes[split]`` rows (seeded, stratified)."""
    for k, name in enumerate(SPLITS):
        n = sizes.get(name)
        if n is None:
            continue
        rows = indexed.rows[name]
        if n < 1:
            raise ChexminiError(f"n_{name} must be at least 1, got {n}")
        if n > len(rows):
            raise ChexminiError(f"n_{name}={n:,} but the {name} split has only "
                                f"{len(rows):,} usable images")
        rng = np.random.default_rng([int(seed), 20240611, k])
        indexed.rows[name] = rows[stratified_subsample(indexed.labels[rows], n, rng)]


def assemble(indexed: Indexed) -> DataSplits:
    """Memory-mapped :class:`DataSplits` for ``indexed.rows``."""
    for name in SPLITS:
        if len(indexed.rows[name]) == 0:
            raise ChexminiError(f"the {name} split is empty", indexed.info.get("root"))
    views = split_views(indexed.images_path, indexed.rows, indexed.cache_dir)
    parts = {}
    for name in SPLITS:
        r = indexed.rows[name]
        parts[name] = Split(views[name], indexed.labels[r].astype(np.uint8),
                            indexed.names[r], indexed.groups[r].astype(np.int64))
    return DataSplits(parts["train"], parts["val"], parts["test"], source=indexed.source,
                      info=dict(indexed.info))


def unique_groups(names: np.ndarray, patient_ids: np.ndarray) -> np.ndarray:
    """Patient IDs where known (>= 0); every other image is its own (negative) group."""
    g = np.asarray(patient_ids, dtype=np.int64).copy()
    unknown = g < 0
    g[unknown] = -1 - np.flatnonzero(unknown)
    return g
