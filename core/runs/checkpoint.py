"""Checkpoints in the published artifact format, and the resumable training state.

An artifact directory holds exactly:

- ``model.npz`` — weights ``fc1.W``, ``fc1.b``, … plus ``_norm_mean``, ``_norm_std`` (D,)
  (the published CheXVision-mini layout ``0.W``, ``0.b``, ``3.W``, … is read too; see
  :mod:`core.runs.published`)
- ``metrics.json`` — best_epoch, threshold, label_map, config (with ``resize_filter``),
  splits, validation, test
- ``history.json`` — per-epoch train_loss, reg_loss, val_loss, val_acc, val_auc, lr
- ``val_scores.npy``, ``val_labels.npy``, ``test_scores.npy``, ``test_labels.npy``
- ``loss_curve.png``
- ``splits.json`` (runs trained since it exists; optional) — the file name and patient
  of every scored image, in score order (:mod:`core.runs.splits`)

Every file is written atomically. Reading validates everything and reports problems as
one-line :class:`ChexminiError` messages that name the file.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core import __version__
from core.evaluation.metrics import split_report
from core.evaluation.operating_point import OperatingPoint
from core.foundation import safe_io
from core.foundation.atomic import write_json, write_npy, write_npz
from core.foundation.errors import ChexminiError
from core.foundation.numbers import is_number, show
from core.foundation.safe_npz import npz_members, read_npz
from core.nn.model import MLP
from core.nn.preprocess import NormStats, preprocess_image
from core.runs import layout as files
from core.runs.folder import RunLock
from core.runs.plots import write_loss_curve
from core.runs.published import (
    CHEXMINI,
    LAYOUT_NAMES,
    PUBLISHED,
    check_config,
    detect_layout,
    published_to_state,
    resize_filter,
)
from core.runs.release.card import write_card
from core.runs.release.shipped import refuse_shipped, resolve_checkpoint
from core.runs.schema import validate_metrics
from core.runs.splits import write_splits

HISTORY_KEYS = ("train_loss", "reg_loss", "val_loss", "val_acc", "val_auc", "lr")
LABEL_MAP = {"0": "normal", "1": "abnormal"}


def build_metrics(
    *,
    config: dict,
    splits: dict,
    best_epoch: int,
    threshold: float,
    val_scores: np.ndarray,
    val_labels: np.ndarray,
    test_scores: np.ndarray,
    test_labels: np.ndarray,
    data_info: dict | None = None,
) -> dict[str, Any]:
    """The ``metrics.json`` dict, published keys first; the config records the image
    pipeline's resize filter (``"resize_filter": "area"`` unless the config says otherwise)."""
    return {
        "best_epoch": int(best_epoch),
        "threshold": float(threshold),
        "label_map": dict(LABEL_MAP),
        "config": {**config, "resize_filter": config.get("resize_filter", "area")},
        "splits": {k: {"n": v["n"], "pos": v["pos"], "neg": v["neg"]} for k, v in splits.items()},
        "validation": split_report(val_scores, val_labels, threshold),
        "test": split_report(test_scores, test_labels, threshold),
        "data": dict(data_info or {}),
        "engine": {"name": "chexmini", "version": __version__},
    }


def save_artifacts(
    out_dir: str | os.PathLike[str],
    *,
    model: MLP,
    mean: np.ndarray,
    std: np.ndarray,
    metrics: dict,
    history: dict,
    val_scores: np.ndarray,
    val_labels: np.ndarray,
    test_scores: np.ndarray,
    test_labels: np.ndarray,
    splits: dict | None = None,
) -> Path:
    """Write the full artifact set into ``out_dir`` (each file atomically); ``splits``
    (:func:`core.runs.splits.splits_record`) goes to ``splits.json`` when given."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ChexminiError("output path exists and is not a directory", out)
    out.mkdir(parents=True, exist_ok=True)
    arrays = {k: np.asarray(v) for k, v in model.parameters().items()}
    arrays["_norm_mean"] = np.asarray(mean, dtype=np.float32)
    arrays["_norm_std"] = np.asarray(std, dtype=np.float32)
    # Data files first, the model and metrics last: a reader that finds metrics.json
    # finds a complete set.
    if splits is not None:
        write_splits(out / files.SPLITS, splits)
    write_npy(out / files.VAL_SCORES, np.asarray(val_scores, dtype=np.float64))
    write_npy(out / files.VAL_LABELS, np.asarray(val_labels, dtype=np.float64))
    write_npy(out / files.TEST_SCORES, np.asarray(test_scores, dtype=np.float64))
    write_npy(out / files.TEST_LABELS, np.asarray(test_labels, dtype=np.float64))
    write_json(out / files.HISTORY, {k: [float(v) for v in history[k]] for k in HISTORY_KEYS})
    write_loss_curve(out / files.LOSS_CURVE, history, metrics.get("best_epoch"))
    write_npz(out / files.MODEL, arrays)
    write_model_card(out, metrics)
    write_json(out / files.METRICS, metrics)
    return out


# -- reading -----------------------------------------------------------------------------
def read_metrics(ckpt_dir: Path) -> dict:
    """``metrics.json``, its schema checked (:mod:`core.runs.schema`)."""
    path = ckpt_dir / files.METRICS
    return validate_metrics(safe_io.read_json(path), path)


def operating_point(metrics: dict) -> OperatingPoint | None:
    """The saved operating point of a validated ``metrics.json``, or None."""
    entry = metrics.get("operating_point")
    return None if entry is None else OperatingPoint.from_dict(entry)


#: The rule shown for a checkpoint's own ``threshold`` (no operating point saved).
SAVED_RULE = "saved threshold"


@dataclass(frozen=True)
class ActiveThreshold:
    """The threshold every consumer of a checkpoint applies, and how it was chosen."""

    value: float
    rule: str
    operating_point: OperatingPoint | None


def active_threshold(metrics: dict) -> ActiveThreshold:
    """The one road to a checkpoint's threshold: the saved operating point
    (``chexmini evaluate --save``) when there is one, else ``metrics.json``'s ``threshold``."""
    op = operating_point(metrics)
    if op is None:
        return ActiveThreshold(float(metrics["threshold"]), SAVED_RULE, None)
    return ActiveThreshold(op.threshold, op.rule, op)


def write_model_card(folder: str | os.PathLike[str], metrics: dict) -> Path:
    """``folder``'s model card (:mod:`core.runs.release.card`) rendered from ``metrics``
    (its ``metrics.json``) at its active threshold; written atomically."""
    active = active_threshold(metrics)
    return write_card(folder, metrics, active.value, active.rule)


#: the files an evaluation's threshold depends on (the model and the saved scores)
SCORED_FILES = (files.MODEL, files.VAL_SCORES, files.VAL_LABELS, files.TEST_SCORES,
                files.TEST_LABELS)


def checkpoint_identity(path: str | os.PathLike[str]) -> tuple:
    """``(name, size, mtime_ns, inode)`` of each of :data:`SCORED_FILES` (``None`` when
    absent): equal identities mean the same model and scores."""
    ckpt = checkpoint_dir(path)
    marks = []
    for name in SCORED_FILES:
        try:
            st = os.lstat(ckpt / name)
        except OSError:
            marks.append((name, None))
        else:
            marks.append((name, st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(marks)


def save_operating_point(path: str | os.PathLike[str], op: OperatingPoint,
                         scored: tuple | None = None) -> Path:
    """Record ``op`` as the checkpoint's operating threshold: ``metrics.json`` is read,
    given an ``operating_point`` entry (``threshold`` and the validation/test blocks are
    kept) and atomically rewritten, under the folder's lock (a live trainer's folder is
    refused, and so is the shipped checkpoint). ``scored`` is the :func:`checkpoint_identity`
    taken before scoring: when the model or its scores changed since, nothing is written.
    The model card is rendered again from the new ``metrics.json``. Returns the file written."""
    ckpt = checkpoint_dir(path)
    refuse_shipped(ckpt, "saving an operating point")
    target = ckpt / files.METRICS
    lock = RunLock.acquire(ckpt)
    try:
        if scored is not None and checkpoint_identity(ckpt) != scored:
            raise ChexminiError("the model or its saved scores changed while it was being "
                                "evaluated; nothing saved (evaluate it again)", ckpt)
        metrics = read_metrics(ckpt)
        metrics["operating_point"] = op.to_dict()
        validate_metrics(metrics, target)
        write_json(target, metrics)
        write_model_card(ckpt, metrics)
    finally:
        lock.release()
    return target


def read_model(ckpt_dir: Path, n_features: int | None = None) -> tuple[MLP, np.ndarray, np.ndarray]:
    """``model.npz`` → ``(model, mean, std)``, validated (shapes, keys, finite values)."""
    return read_model_layout(ckpt_dir, n_features)[:3]


def read_model_layout(ckpt_dir: Path, n_features: int | None = None
                      ) -> tuple[MLP, np.ndarray, np.ndarray, str]:
    """``model.npz`` in either layout (:mod:`core.runs.published`) → ``(model, mean, std, layout)``.

    Weights keep their stored dtype; ``mean``/``std`` are float64 for a float64 model
    (the published checkpoints), float32 otherwise (as chexmini trains them)."""
    path = ckpt_dir / files.MODEL
    arrays = _read_npz(path)
    kind = detect_layout(arrays, path)
    required = ("_norm_mean", "_norm_std") + (("fc1.W", "fc1.b") if kind == CHEXMINI else ())
    for key in required:
        if key not in arrays:
            raise ChexminiError(f"missing key {key!r}", path)
    weights = {k: v for k, v in arrays.items() if not k.startswith("_")}
    for k, v in weights.items():
        if v.dtype.kind != "f":
            raise ChexminiError(f"{k} has dtype {v.dtype}, expected floating point", path)
        if not np.isfinite(v).all():
            raise ChexminiError(f"{k} contains NaN or infinite values", path)
    if kind == PUBLISHED:
        weights = published_to_state(weights, path)
    n = sum(1 for k in weights if k.endswith(".W"))
    last = weights.get(f"fc{n}.W")
    if last is not None and last.ndim == 2 and last.shape[1] != 1:
        raise ChexminiError(f"the last layer has {last.shape[1]} outputs, expected 1", path)
    try:
        model = MLP.from_state_dict(weights)
    except (KeyError, ValueError) as exc:
        raise ChexminiError(f"inconsistent weights: {str(exc).strip(chr(39))}", path) from None
    if model.widths[-1] != 1:
        raise ChexminiError(f"the last layer has {model.widths[-1]} outputs, expected 1", path)
    mean, std = _check_norm(arrays, model.widths[0], n_features, path)
    norm_dtype = np.float64 if model.dtype == np.float64 else np.float32
    return model, mean.astype(norm_dtype), std.astype(norm_dtype), kind


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of ``path``, sizes checked before reading (:mod:`core.foundation.safe_npz`)."""
    if not path.is_file():
        raise ChexminiError("file not found" if not path.exists() else "not a file", path)
    return read_npz(path)


def _check_norm(arrays: dict[str, np.ndarray], d: int, n_features: int | None,
                path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``_norm_mean``/``_norm_std`` as ``(d,)`` arrays: finite, std > 0, d a square."""
    mean, std = arrays["_norm_mean"].reshape(-1), arrays["_norm_std"].reshape(-1)
    for key, arr in (("_norm_mean", mean), ("_norm_std", std)):
        if arr.shape != (d,):
            raise ChexminiError(f"{key} has {arr.size} values but the model takes {d} inputs",
                                path)
        if arr.dtype.kind not in "fiu":
            raise ChexminiError(f"{key} has dtype {arr.dtype}, expected floating point", path)
        if not np.isfinite(arr).all():
            raise ChexminiError(f"{key} contains NaN or infinite values", path)
    if (std <= 0).any():
        raise ChexminiError("_norm_std has values <= 0", path)
    side = int(round(np.sqrt(d)))
    if side * side != d:
        raise ChexminiError(f"the model takes {d} inputs, not a square image", path)
    if n_features is not None and d != n_features:
        raise ChexminiError(f"the model takes {d} inputs, the data has {n_features}", path)
    return mean, std


def checkpoint_dir(path: str | os.PathLike[str]) -> Path:
    """Accept a checkpoint directory (or its ``model.npz``); check it exists. The name
    ``artifacts`` where no such folder exists is the shipped checkpoint installed with
    chexmini (:func:`core.runs.release.shipped.resolve_checkpoint`)."""
    p = Path(resolve_checkpoint(path).path)
    if p.is_file() and p.name == files.MODEL:
        p = p.parent
    if not p.exists():
        raise ChexminiError("checkpoint folder not found", p)
    if not p.is_dir():
        raise ChexminiError("not a checkpoint folder (expected a directory with model.npz "
                            "and metrics.json)", p)
    return p


# -- the typed checkpoint ----------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Checkpoint:
    """A loaded checkpoint — the one object every consumer of a checkpoint folder uses.

    Unpacks (and indexes) as ``(model, mean, std, threshold)``, the published API's
    4-tuple. ``mean``/``std`` are :class:`~core.nn.preprocess.NormStats` carrying the
    checkpoint's ``resize_filter``, so ``preprocess_image(path, mean=mean, std=std)`` runs
    its own pipeline. ``threshold``/``threshold_rule`` come from :func:`active_threshold`.
    """

    model: MLP
    mean: np.ndarray
    std: np.ndarray
    threshold: float
    layout: str
    resize_filter: str
    path: str
    operating_point: OperatingPoint | None = None
    threshold_rule: str = SAVED_RULE
    metrics: dict | None = None

    def __iter__(self):
        return iter((self.model, self.mean, self.std, self.threshold))

    def __getitem__(self, index):
        return tuple(self)[index]

    def __len__(self) -> int:
        return 4

    @property
    def image_size(self) -> int:
        return int(round(np.sqrt(self.model.widths[0])))

    def preprocess(self, path: str | os.PathLike[str]) -> np.ndarray:
        """One image file → this checkpoint's model input ``(D,)``."""
        return preprocess_image(path, self.image_size, self.mean, self.std, self.resize_filter)


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """A checkpoint folder in either layout, validated (weights, statistics, threshold,
    and the ``config`` against the weights)."""
    ckpt = checkpoint_dir(path)
    model, mean, std, kind = read_model_layout(ckpt)
    metrics = read_metrics(ckpt)
    check_config(metrics, model.widths, ckpt / files.METRICS)
    resize = resize_filter(metrics, kind, ckpt / files.METRICS)
    active = active_threshold(metrics)
    return Checkpoint(model, NormStats(mean, resize), NormStats(std, resize), active.value,
                      kind, resize, str(ckpt), active.operating_point, active.rule, metrics)


def architecture_text(model: MLP, metrics: dict) -> str:
    """``MLP(4096→1024→256→64→1, dropout 0.3 in training, params=4,474,241)``: the
    loaded model's shape and size, and the dropout it was *trained* with (from
    ``metrics.json``'s config; a loaded model runs without dropout, so its own is 0)."""
    arch = "→".join(str(w) for w in model.widths)
    config = metrics.get("config") if isinstance(metrics.get("config"), dict) else {}
    rate = config.get("dropout")
    drop = (f"dropout {show(rate, 'g')} in training" if is_number(rate)
            else "dropout not recorded")
    return f"MLP({arch}, {drop}, params={model.n_parameters():,})"


def checkpoint_summary(path: str | os.PathLike[str]) -> dict:
    """What a checkpoint folder holds (for inspection screens and the CLI), with
    ``format`` (``"chexmini"``, ``"chexvision-mini (published layout)"``, or None when
    ``model.npz`` cannot be read), ``resize_filter``, and the active threshold and rule."""
    ckpt = checkpoint_dir(path)
    metrics = read_metrics(ckpt)
    try:
        names = sorted(p.name for p in Path(ckpt).iterdir() if p.is_file())
    except OSError as exc:
        raise ChexminiError(f"cannot list the folder ({exc.strerror or exc})", ckpt) from None
    kind = _layout_of(ckpt / files.MODEL)
    resize = None if kind is None else resize_filter(metrics, kind, ckpt / files.METRICS)
    active = active_threshold(metrics)
    return {"path": str(ckpt), "files": names, **metrics,
            "format": None if kind is None else LAYOUT_NAMES[kind], "resize_filter": resize,
            "active_threshold": active.value, "active_rule": active.rule}


def _layout_of(path: Path) -> str | None:
    """The layout of a ``model.npz`` from its key names alone; None if unreadable."""
    try:
        return detect_layout(npz_members(path), path)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, ChexminiError):
        return None
