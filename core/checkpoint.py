"""Checkpoints in the published artifact format, and the resumable training state.

An artifact directory holds exactly:

- ``model.npz`` — weights ``fc1.W``, ``fc1.b``, … plus ``_norm_mean``, ``_norm_std`` (D,)
  (the published CheXVision-mini layout ``0.W``, ``0.b``, ``3.W``, … is read too; see
  :mod:`core.published`)
- ``metrics.json`` — best_epoch, threshold, label_map, config (with ``resize_filter``),
  splits, validation, test
- ``history.json`` — per-epoch train_loss, reg_loss, val_loss, val_acc, val_auc, lr
- ``val_scores.npy``, ``val_labels.npy``, ``test_scores.npy``, ``test_labels.npy``
- ``loss_curve.png``

Every file is written atomically. Reading validates everything and reports problems as
one-line :class:`ChexminiError` messages that name the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from core import __version__, safe_io
from core.atomic import write_json, write_npy, write_npz
from core.errors import ChexminiError
from core.metrics import split_report
from core.metrics_schema import validate_metrics
from core.nn.model import MLP
from core.operating_point import OperatingPoint
from core.plots import write_loss_curve
from core.published import CHEXMINI, PUBLISHED, detect_layout, published_to_state
from core.safe_npz import read_npz

ARTIFACT_FILES = ("model.npz", "metrics.json", "history.json", "val_scores.npy",
                  "val_labels.npy", "test_scores.npy", "test_labels.npy", "loss_curve.png")
HISTORY_KEYS = ("train_loss", "reg_loss", "val_loss", "val_acc", "val_auc", "lr")
LABEL_MAP = {"0": "normal", "1": "abnormal"}
RESUME_FILE = "resume.npz"


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
) -> Path:
    """Write the full artifact set into ``out_dir`` (each file atomically)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ChexminiError("output path exists and is not a directory", out)
    out.mkdir(parents=True, exist_ok=True)
    arrays = {k: np.asarray(v) for k, v in model.parameters().items()}
    arrays["_norm_mean"] = np.asarray(mean, dtype=np.float32)
    arrays["_norm_std"] = np.asarray(std, dtype=np.float32)
    # Data files first, the model and metrics last: a reader that finds metrics.json
    # finds a complete set.
    write_npy(out / "val_scores.npy", np.asarray(val_scores, dtype=np.float64))
    write_npy(out / "val_labels.npy", np.asarray(val_labels, dtype=np.float64))
    write_npy(out / "test_scores.npy", np.asarray(test_scores, dtype=np.float64))
    write_npy(out / "test_labels.npy", np.asarray(test_labels, dtype=np.float64))
    write_json(out / "history.json", {k: [float(v) for v in history[k]] for k in HISTORY_KEYS})
    write_loss_curve(out / "loss_curve.png", history, metrics.get("best_epoch"))
    write_npz(out / "model.npz", arrays)
    write_json(out / "metrics.json", metrics)
    return out


# -- reading -----------------------------------------------------------------------------
def read_json(path: Path) -> Any:
    """A JSON file: regular files only, size bounded, nesting bounded (one-line errors)."""
    return safe_io.read_json(path)


def read_metrics(ckpt_dir: Path) -> dict:
    """``metrics.json``, its schema checked (:mod:`core.metrics_schema`)."""
    path = ckpt_dir / "metrics.json"
    return validate_metrics(read_json(path), path)


def operating_point(metrics: dict) -> OperatingPoint | None:
    """The saved operating point of a validated ``metrics.json``, or None."""
    entry = metrics.get("operating_point")
    return None if entry is None else OperatingPoint.from_dict(entry)


def save_operating_point(path: str | os.PathLike[str], op: OperatingPoint) -> Path:
    """Record ``op`` as the checkpoint's operating threshold: ``metrics.json`` is read,
    given an ``operating_point`` entry (``threshold`` and the validation/test blocks are
    kept) and atomically rewritten. Returns the file written."""
    ckpt = checkpoint_dir(path)
    target = ckpt / "metrics.json"
    metrics = read_metrics(ckpt)
    metrics["operating_point"] = op.to_dict()
    validate_metrics(metrics, target)
    write_json(target, metrics)
    return target


def read_model(ckpt_dir: Path, n_features: int | None = None) -> tuple[MLP, np.ndarray, np.ndarray]:
    """``model.npz`` → ``(model, mean, std)``, validated (shapes, keys, finite values)."""
    return read_model_layout(ckpt_dir, n_features)[:3]


def read_model_layout(ckpt_dir: Path, n_features: int | None = None
                      ) -> tuple[MLP, np.ndarray, np.ndarray, str]:
    """``model.npz`` in either layout (:mod:`core.published`) → ``(model, mean, std, layout)``.

    Weights keep their stored dtype; ``mean``/``std`` are float64 for a float64 model
    (the published checkpoints), float32 otherwise (as chexmini trains them)."""
    path = ckpt_dir / "model.npz"
    arrays = _read_npz(path)
    layout = detect_layout(arrays, path)
    required = ("_norm_mean", "_norm_std") + (("fc1.W", "fc1.b") if layout == CHEXMINI else ())
    for key in required:
        if key not in arrays:
            raise ChexminiError(f"missing key {key!r}", path)
    weights = {k: v for k, v in arrays.items() if not k.startswith("_")}
    for k, v in weights.items():
        if v.dtype.kind != "f":
            raise ChexminiError(f"{k} has dtype {v.dtype}, expected floating point", path)
        if not np.isfinite(v).all():
            raise ChexminiError(f"{k} contains NaN or infinite values", path)
    if layout == PUBLISHED:
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
    return model, mean.astype(norm_dtype), std.astype(norm_dtype), layout


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of ``path``, sizes checked before reading (:mod:`core.safe_npz`)."""
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
    """Accept a checkpoint directory (or its ``model.npz``); check it exists."""
    p = Path(path)
    if p.is_file() and p.name == "model.npz":
        p = p.parent
    if not p.exists():
        raise ChexminiError("checkpoint folder not found", p)
    if not p.is_dir():
        raise ChexminiError("not a checkpoint folder (expected a directory with model.npz "
                            "and metrics.json)", p)
    return p


# -- resumable state ----------------------------------------------------------------------
def save_resume_state(path: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """``resume.npz``: named arrays plus a JSON ``_meta`` blob, written atomically."""
    payload = dict(arrays)
    payload["_meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    write_npz(path, payload)


def load_resume_state(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """The raw arrays and ``_meta`` dict of ``resume.npz`` (size-checked, not validated:
    :func:`core.resume_state.load_resume` validates them)."""
    if not path.is_file() and not path.is_symlink():
        raise ChexminiError("no resume checkpoint here (nothing to resume)", path)
    arrays = read_npz(path)
    blob = arrays.pop("_meta", None)
    if blob is None:
        raise ChexminiError("unreadable resume checkpoint (missing key '_meta')", path)
    if blob.dtype != np.uint8 or blob.ndim != 1:
        raise ChexminiError("unreadable resume checkpoint ('_meta' is not a byte string)", path)
    meta = safe_io.parse_json(blob.tobytes(), path)
    if not isinstance(meta, dict):
        raise ChexminiError("unreadable resume checkpoint ('_meta' is not a JSON object)", path)
    return arrays, meta
