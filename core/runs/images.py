"""The images behind a run's saved validation/test scores.

A run folder records its data: ``metrics.json`` → ``data`` (the source, e.g.
``nih-sample`` or ``nih:/data/nih?n_test=10000``, the split seed and fractions, any
subsampling) and ``config.dataset_revision`` (the SHA-1 of the splits' names, labels and
pixels), and — for runs trained since it exists — ``splits.json`` (file name and patient
of every scored image, in score order; :mod:`core.runs.splits`). The data layer's split
is deterministic, so :func:`locate` loads the source again with the recorded split
arguments and then **checks** that it is the run's data before pairing score ``i`` with
image ``i``:

- the split's labels equal ``{split}_labels.npy`` (always);
- the file names equal ``splits.json``'s when the run has one;
- the data's fingerprint (names, labels and pixels) equals ``config.dataset_revision``
  when recorded, so an image replaced under the same name is refused.

Data that cannot be loaded (a folder on another machine, a missing download) or that
does not match is one :class:`ChexminiError` line saying which data and why.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data import load_data, split_args
from core.data.dataset import DataSplits
from core.foundation.errors import ChexminiError
from core.runs import layout
from core.runs.checkpoint import checkpoint_dir, read_metrics
from core.runs.scores import load_scores
from core.runs.splits import SCORED, read_splits

SPLIT_TITLES = {"val": "validation", "test": "test"}


@dataclass(frozen=True, eq=False)
class RunSplit:
    """One scored split of a run, image ``i`` paired with score ``i``: ``scores`` and
    ``labels`` ``(N,)`` float64 (the saved files), ``images`` uint8 ``(N, S, S)`` (may be a
    read-only memory map), ``names`` ``(N,)`` str, ``patients`` ``(N,)`` int64 (< 0:
    unknown), ``source`` the recorded data source."""

    split: str
    scores: np.ndarray
    labels: np.ndarray
    images: np.ndarray
    names: np.ndarray
    patients: np.ndarray
    source: str

    def __len__(self) -> int:
        return len(self.scores)


def recorded_source(run_dir: str | os.PathLike[str]) -> tuple[str, dict, int]:
    """``(source, data info, image size)`` that ``metrics.json`` records for its run."""
    ckpt = checkpoint_dir(run_dir)
    path = ckpt / layout.METRICS
    metrics = read_metrics(ckpt)
    info = metrics.get("data", {})
    source = info.get("source")
    if not isinstance(source, str) or not source:
        raise ChexminiError("records no data source (metrics.json → data.source), so the "
                            "images behind its scores cannot be found", path)
    size = metrics.get("config", {}).get("image_size", 64)
    return source, info, int(size)


def locate(run_dir: str | os.PathLike[str], split: str) -> RunSplit:
    """Split ``split`` (``"val"`` or ``"test"``) of the run in ``run_dir`` with its images,
    checked to be the data the run scored (see the module docstring)."""
    if split not in SCORED:
        raise ChexminiError(f"unknown split {split!r} (expected val or test)")
    ckpt = checkpoint_dir(run_dir)
    scores, labels = load_scores(ckpt)[split]
    source, info, size = recorded_source(ckpt)
    record = read_splits(ckpt / layout.SPLITS) if (ckpt / layout.SPLITS).exists() else None
    data = _load(source, info, size, ckpt)
    part = getattr(data, split)
    _check_match(part, labels, record, split, data, ckpt, source)
    patients = np.where(np.asarray(part.groups) >= 0, part.groups, -1).astype(np.int64)
    return RunSplit(split, scores.astype(np.float64), labels.astype(np.float64),
                    part.images, np.asarray(part.names).astype(str), patients, source)


def _load(source: str, info: dict, size: int, ckpt: Path) -> DataSplits:
    """The recorded source, split as recorded; any failure says the data is unreachable."""
    try:
        args = split_args(info)
    except (TypeError, ValueError):
        raise ChexminiError("metrics.json → data: the split settings are not numbers",
                            ckpt / layout.METRICS) from None
    try:
        return load_data(source, image_size=size, **args)
    except ChexminiError as exc:
        raise ChexminiError(f"the run's data {source} is not reachable here ({exc})",
                            ckpt) from None
    except (OSError, MemoryError) as exc:
        why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise ChexminiError(f"the run's data {source} is not reachable here ({why})",
                            ckpt) from None


def _check_match(part, labels: np.ndarray, record: dict | None, split: str,
                 data: DataSplits, ckpt: Path, source: str) -> None:
    """Refuse data whose split is not the one the scores were computed on."""
    title = SPLIT_TITLES[split]

    def mismatch(why: str) -> ChexminiError:
        return ChexminiError(f"the data {source} found here does not match the run "
                             f"({why}); its images cannot be paired with the scores", ckpt)

    if len(part) != len(labels):
        raise mismatch(f"{title} split has {len(part):,} images, the run scored "
                       f"{len(labels):,}")
    if not np.array_equal(np.asarray(part.labels, dtype=np.float64), labels):
        raise mismatch(f"{title} labels differ from {split}_labels.npy")
    if record is not None and [str(n) for n in part.names] != record[split]["names"]:
        raise mismatch(f"{title} file names differ from {layout.SPLITS}")
    # Names alone do not pin the pixels: an image replaced under the same name must not
    # be shown beside the score of the old one, so the recorded revision is checked too.
    revision = read_metrics(ckpt).get("config", {}).get("dataset_revision")
    if isinstance(revision, str) and revision and data.fingerprint() != revision:
        raise mismatch("its images differ from the ones the run scored (the data's "
                       "fingerprint differs from config.dataset_revision)")
