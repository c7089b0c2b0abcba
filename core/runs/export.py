"""Export a checkpoint to the published CheXVision-mini layout, or back to chexmini's.

    export_checkpoint("artifacts", "published/", "chexvision-mini")

writes ``model.npz`` (float64 ``"0.W"``, ``"0.b"``, ``"3.W"``, … and float64 ``_norm_*``),
a published-style ``metrics.json`` whose config records ``image_size``, ``hidden_dims``
and the checkpoint's ``resize_filter`` (so chexmini reloads it with the right pipeline),
with chexmini's own keys (``data``, ``engine``, ``operating_point``, the rest of the config)
after the published ones (:func:`core.runs.published.published_metrics`), and copies the
other artifacts that exist, and writes the model card (``README.md``, rendered from the new
``metrics.json``). ``"chexmini"`` converts the other way (weights keep their dtype).
The shipped checkpoint is never an output folder (:mod:`core.runs.release.shipped`).
Every file is written atomically under the folder's lock (a folder a live trainer owns is
refused), ``model.npz`` and ``metrics.json`` last, both staged before
either replaces the old one; an existing checkpoint in the output folder is refused
unless ``overwrite``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.foundation.atomic import atomic_open, copy_file, remove_stale_temps
from core.foundation.errors import ChexminiError
from core.foundation.progress import Tick, TickFn, tick_or_nothing
from core.runs import layout
from core.runs.checkpoint import Checkpoint, load_checkpoint, write_model_card
from core.runs.folder import RunLock
from core.runs.published import CHEXMINI, PUBLISHED, published_metrics, state_to_published
from core.runs.release.shipped import refuse_shipped

FORMATS = (PUBLISHED, CHEXMINI)
EXTRA_FILES = (layout.HISTORY, layout.VAL_SCORES, layout.VAL_LABELS, layout.TEST_SCORES,
               layout.TEST_LABELS, layout.LOSS_CURVE, layout.SPLITS)


@dataclass(frozen=True)
class ExportResult:
    out: Path
    layout: str
    resize_filter: str
    image_size: int
    files: list[str]
    #: the checkpoint's active threshold and its rule (kept by the export)
    threshold: float = 0.5
    threshold_rule: str = ""
    #: ``metrics.json``'s ``threshold`` (the training-time one; the published code's)
    training_threshold: float = 0.5


#: The task text of an export's ticks (one per file written, of ``len(EXTRA_FILES) + 1``).
TICK_TASK = "export"


def export_checkpoint(src: str | os.PathLike[str], out: str | os.PathLike[str], fmt: str,
                      overwrite: bool = False, tick: TickFn | None = None) -> ExportResult:
    """Write checkpoint ``src`` (either layout) into folder ``out`` in layout ``fmt``;
    ``tick`` (:mod:`core.foundation.progress`) hears each file as it is written."""
    if fmt not in FORMATS:
        raise ChexminiError(f"unknown export format {fmt!r} (expected {' or '.join(FORMATS)})")
    ckpt = load_checkpoint(src)
    metrics = dict(ckpt.metrics or {})
    out = _prepare_out(Path(out), Path(ckpt.path), overwrite)
    arrays, new_metrics = (_to_published(ckpt, metrics) if fmt == PUBLISHED
                           else _to_chexmini(ckpt, metrics))
    lock = RunLock.acquire(out)  # one writer: a live trainer's folder is refused
    try:
        remove_stale_temps(out)  # of an export or a trainer killed mid-write
        files = _write(ckpt, out, arrays, new_metrics, tick_or_nothing(tick))
    finally:
        lock.release()
    return ExportResult(out, fmt, ckpt.resize_filter, ckpt.image_size,
                        [layout.MODEL, layout.METRICS, *files], ckpt.threshold,
                        ckpt.threshold_rule, float(metrics["threshold"]))


def _write(ckpt: Checkpoint, out: Path, arrays: dict[str, np.ndarray],
           metrics: dict, tick: TickFn) -> list[str]:
    """Copy the extra files, then stage model.npz and metrics.json and swap both in (the
    old checkpoint stays whole until the new one is completely written)."""
    files = []
    total = len(EXTRA_FILES) + 1
    for i, name in enumerate(EXTRA_FILES):
        tick(Tick(TICK_TASK, i, total, name))
        if os.path.lexists(Path(ckpt.path) / name):  # a link is refused, not skipped
            copy_file(Path(ckpt.path) / name, out / name)
            files.append(name)
        else:
            (out / name).unlink(missing_ok=True)  # a stale file from an overwritten export
    write_model_card(out, metrics)
    files.append(layout.CARD)
    tick(Tick(TICK_TASK, total - 1, total, layout.MODEL))
    with atomic_open(out / layout.METRICS) as fm, atomic_open(out / layout.MODEL) as fw:
        np.savez(fw, **arrays)
        fm.write((json.dumps(metrics, indent=2) + "\n").encode("utf-8"))
    tick(Tick(TICK_TASK, total, total, "done"))
    return files  # model.npz is renamed into place first, metrics.json right after


def _prepare_out(out: Path, src: Path, overwrite: bool) -> Path:
    """Check ``out`` may receive a checkpoint (an old one is replaced only with
    ``overwrite``, and only once the new one is written)."""
    if out.exists() and not out.is_dir():
        raise ChexminiError("output path exists and is not a directory", out)
    if out.exists() and out.resolve() == src.resolve():
        raise ChexminiError("is the checkpoint being exported; choose another output folder",
                            out)
    refuse_shipped(out, "export into it")
    held = [f for f in (layout.MODEL, layout.METRICS) if (out / f).exists()]
    if held and not overwrite:
        raise ChexminiError(f"already holds a checkpoint ({', '.join(held)}); choose another "
                            "output folder or pass --overwrite", out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ChexminiError(f"cannot prepare the output folder ({exc.strerror or exc})",
                            out) from None
    return out


def _to_published(ckpt: Checkpoint, metrics: dict) -> tuple[dict[str, np.ndarray], dict]:
    arrays = state_to_published(ckpt.model.state_dict())
    arrays["_norm_mean"] = np.asarray(ckpt.mean, np.float64)
    arrays["_norm_std"] = np.asarray(ckpt.std, np.float64)
    return arrays, published_metrics(metrics, ckpt.model.widths, ckpt.resize_filter)


def _to_chexmini(ckpt: Checkpoint, metrics: dict) -> tuple[dict[str, np.ndarray], dict]:
    arrays = ckpt.model.state_dict()
    arrays["_norm_mean"], arrays["_norm_std"] = ckpt.mean, ckpt.std
    config = metrics.get("config") if isinstance(metrics.get("config"), dict) else {}
    widths = ckpt.model.widths
    config = {**config, "image_size": ckpt.image_size,
              "hidden_dims": [int(w) for w in widths[1:-1]], "resize_filter": ckpt.resize_filter}
    return arrays, {**metrics, "config": config}
