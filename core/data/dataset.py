"""In-memory (or memory-mapped) image datasets and their train/val/test splits.

Images stay ``uint8`` ``(N, H, W)`` — a float copy of a whole split is never made;
batches are converted and standardised on the fly (:mod:`core.nn.standardize`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from core.foundation.errors import ChexminiError


@dataclass
class Split:
    """One split: ``images`` uint8 ``(N, H, W)``, ``labels`` uint8 ``(N,)`` (1 = abnormal),
    ``names`` (file names), ``groups`` (patient IDs, int64)."""

    images: np.ndarray
    labels: np.ndarray
    names: np.ndarray
    groups: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.images)
        if not (len(self.labels) == len(self.names) == len(self.groups) == n):
            raise ValueError("images, labels, names and groups must have the same length")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def n_features(self) -> int:
        return int(np.prod(self.images.shape[1:]))

    def subset(self, index: np.ndarray) -> Split:
        index = np.asarray(index)
        return Split(self.images[index], self.labels[index], self.names[index], self.groups[index])

    def summary(self) -> dict:
        """``{n, pos, neg}`` as in the published ``metrics.json`` (plus rate and patients)."""
        n = len(self)
        pos = int(np.sum(self.labels == 1))
        return {"n": n, "pos": pos, "neg": n - pos,
                "positive_rate": pos / n if n else 0.0,
                "patients": int(len(np.unique(self.groups)))}


@dataclass
class DataSplits:
    """Train, validation and test splits of one source."""

    train: Split
    val: Split
    test: Split
    source: str = ""
    info: dict = field(default_factory=dict)

    @property
    def image_size(self) -> int:
        return int(self.train.images.shape[1])

    def summary(self) -> dict[str, dict]:
        return {"train": self.train.summary(), "val": self.val.summary(),
                "test": self.test.summary()}

    def fingerprint(self) -> str:
        """SHA-1 over names, labels and pixels of every split: identifies the data exactly."""
        h = hashlib.sha1()
        for split in (self.train, self.val, self.test):
            h.update(str(len(split)).encode())
            h.update("\n".join(map(str, split.names)).encode())
            h.update(np.ascontiguousarray(split.labels, dtype=np.uint8).tobytes())
            for start in range(0, len(split), 4096):
                h.update(np.ascontiguousarray(split.images[start : start + 4096]).tobytes())
        return h.hexdigest()


def require_both_classes(data: DataSplits) -> None:
    """Refuse splits that lack normal or abnormal images: the validation AUC, the
    operating threshold and the test metrics all need both classes, and training on one
    class learns nothing. The error names the split and the source."""
    for name in ("train", "val", "test"):
        split = getattr(data, name)
        pos = int(np.sum(split.labels == 1))
        if len(split) == 0 or pos in (0, len(split)):
            have = "no images" if len(split) == 0 else (
                f"only {'abnormal' if pos else 'normal'} images ({len(split):,})")
            raise ChexminiError(f"the {name} split has {have}; train, val and test each need "
                                "both normal and abnormal images — use more data or other "
                                "split fractions", data.source or None)


#: Fewer images of a class than this in any split gets a warning (AUC and the metrics
#: on so few images are mostly noise).
SMALL_SPLIT = 20


def small_split_warning(data: DataSplits, minimum: int = SMALL_SPLIT) -> str | None:
    """One line naming every split with fewer than ``minimum`` images of a class, or None.
    Like every data warning it reads ``HEAD: detail`` (front ends may show the head alone)."""
    small = []
    for name in ("train", "val", "test"):
        labels = getattr(data, name).labels
        pos = int(np.sum(labels == 1))
        neg = len(labels) - pos
        if min(pos, neg) < minimum:
            small.append(f"{name} {neg:,} normal / {pos:,} abnormal")
    if not small:
        return None
    return (f"small splits ({'; '.join(small)}): fewer than {minimum} images of a class "
            "make AUC and the metrics mostly noise — read the confidence intervals")


def data_warnings(data: DataSplits) -> list[str]:
    """What a front end should show once about ``data``: the source's own warnings
    (``info["warnings"]``, e.g. given splits that cannot be grouped by patient) and the
    small-split warning."""
    out = [str(w) for w in data.info.get("warnings", [])]
    small = small_split_warning(data)
    return out + ([small] if small else [])


def patient_id(name: str) -> int:
    """NIH names are ``PPPPPPPP_FFF.png``: the patient ID is the first 8 digits."""
    stem = str(name).split("/")[-1]
    head = stem.split("_", 1)[0]
    return int(head) if head.isdigit() else -1
