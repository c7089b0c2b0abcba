"""The npz subset format (``../shared/data/nih14_subset/images64.npz``).

Arrays: ``images`` uint8 ``(N, H, W)``, ``names`` (NIH file names ``PPPPPPPP_FFF.png``),
``labels`` uint8 (0 normal, 1 abnormal). The patient ID is read from the name (or from a
``groups`` array when present). Split: seeded, patient-grouped and stratified.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from core.data.dataset import DataSplits, Split, patient_id
from core.data.split import train_val_test_split
from core.foundation.errors import ChexminiError
from core.foundation.safe_npz import npz_members, read_npz

REQUIRED = ("images", "names", "labels")


def load_npz_arrays(path: str | os.PathLike[str]) -> Split:
    """Read and validate the whole npz as one :class:`Split`."""
    path = Path(path)
    if not path.exists():
        raise ChexminiError("file not found", path)
    members = npz_members(path)
    missing = [k for k in REQUIRED if k not in members]
    if missing:
        raise ChexminiError(f"npz is missing array(s) {', '.join(missing)} "
                            f"(has {', '.join(members) or 'none'})", path)
    z = read_npz(path, keys=(*REQUIRED, "groups"))
    images, names, labels = z["images"], z["names"], z["labels"]
    groups = z.get("groups")
    if images.ndim != 3 or images.shape[1] != images.shape[2]:
        raise ChexminiError(f"images must have shape (N, S, S), got {images.shape}", path)
    if images.dtype != np.uint8:
        raise ChexminiError(f"images must be uint8, got {images.dtype}", path)
    for key, arr in (("names", names), ("labels", labels), ("groups", groups)):
        if arr is not None and arr.ndim != 1:
            raise ChexminiError(f"{key} must be one-dimensional (one per image), got shape "
                                f"{arr.shape}", path)
    n = len(images)
    if len(names) != n or len(labels) != n:
        raise ChexminiError(f"{n} images but {len(names)} names and {len(labels)} labels", path)
    if groups is not None and len(groups) != n:
        raise ChexminiError(f"{n} images but {len(groups)} groups", path)
    if labels.dtype.kind not in "biuf":
        raise ChexminiError(f"labels must be numbers 0 or 1, got dtype {labels.dtype}", path)
    if not np.isin(labels, (0, 1)).all():
        bad = np.unique(labels[~np.isin(labels, (0, 1))])[:5]
        raise ChexminiError(f"labels must be 0 or 1, found {bad.tolist()}", path)
    if names.dtype.kind not in "US":
        raise ChexminiError(f"names must be strings (file names), got dtype {names.dtype}",
                            path)
    if groups is not None and groups.dtype.kind not in "iu":
        raise ChexminiError(f"groups must be whole numbers (patient IDs), got dtype "
                            f"{groups.dtype}", path)
    names = names.astype(str)
    uniq, counts = np.unique(names, return_counts=True)
    if (counts > 1).any():
        dup = uniq[counts > 1]
        raise ChexminiError(f"names must be unique; {len(dup):,} occur more than once "
                            f"(e.g. {dup[0]!r})", path)
    if groups is None:
        groups = np.array([patient_id(nm) for nm in names], dtype=np.int64)
        if (groups < 0).any():
            # Names that do not carry a patient ID: each image is its own group.
            groups = np.where(groups < 0, -1 - np.arange(n), groups)
    return Split(images, labels.astype(np.uint8), names, np.asarray(groups, dtype=np.int64))


def load_subset(
    path: str | os.PathLike[str],
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
) -> DataSplits:
    """The npz subset, split by patient into train/val/test with ``seed``."""
    full = load_npz_arrays(path)
    tr, va, te = train_val_test_split(full.groups, full.labels, val_fraction, test_fraction, seed)
    return DataSplits(full.subset(tr), full.subset(va), full.subset(te),
                      source=f"npz:{Path(path).resolve()}",
                      info={"split": "patient-grouped stratified"})
