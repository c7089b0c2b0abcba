"""The published CheXVision-mini checkpoint layout, beside chexmini's own.

Both are a folder with ``model.npz`` and ``metrics.json``; they differ in the weight keys:

- chexmini: ``fc1.W``, ``fc1.b``, … ``fcK.W``, ``fcK.b`` (float32 as trained).
- published: the parameters of a ``Sequential`` of ``Linear, ReLU, Dropout, Linear, …``
  keyed by layer index, so Linear ``k`` (0-based) is ``"{3k}.W"`` ``(in, out)`` and
  ``"{3k}.b"`` ``(out,)``; float64.

Both hold ``_norm_mean`` and ``_norm_std`` (one value per pixel). The published code
resized images with Pillow's default (bicubic) filter, chexmini with an area filter; the
filter is recorded as ``config["resize_filter"]`` in ``metrics.json``, and a checkpoint
without it gets its layout's filter (:data:`DEFAULT_RESIZE`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from core.data.images import RESIZE_FILTERS
from core.foundation.errors import ChexminiError

CHEXMINI = "chexmini"
PUBLISHED = "chexvision-mini"
LAYOUT_NAMES = {CHEXMINI: "chexmini", PUBLISHED: "chexvision-mini (published layout)"}
DEFAULT_RESIZE = {CHEXMINI: "area", PUBLISHED: "bicubic"}
STEP = 3  # Linear, ReLU, Dropout per block
PUBLISHED_CONFIG_KEYS = ("image_size", "hidden_dims", "dropout", "optimizer", "lr",
                         "lr_schedule", "weight_decay", "l1", "label_smoothing", "batch_size",
                         "epochs", "augment", "standardize", "dataset_revision")
METRICS_KEYS = ("best_epoch", "threshold", "label_map", "config", "splits", "validation",
                "test")

#: Anything shaped like a layer key (any digits, Unicode ones included, leading zeros):
#: enough to tell the layout; :func:`layer_key` then accepts only the canonical form.
_PUB_KEY = re.compile(r"(\d+)\.(W|b)")
_OWN_KEY = re.compile(r"fc(\d+)\.(W|b)")
_CANONICAL = re.compile(r"0|[1-9][0-9]{0,5}")
#: The largest layer index accepted (far beyond any real network).
MAX_INDEX = 99_999


def layer_key(key: str, path: Path, own: bool = False) -> tuple[int, str] | None:
    """``(index, "W" | "b")`` of a layer key (``"3.W"``, or ``"fc2.W"`` when ``own``); None
    when ``key`` is not shaped like one. The one parser of layer indices: ASCII digits in
    canonical form (no leading zeros, no other digits), at most :data:`MAX_INDEX`;
    anything else shaped like a layer key is a one-line ChexminiError."""
    m = (_OWN_KEY if own else _PUB_KEY).fullmatch(key)
    if m is None:
        return None
    digits = m.group(1)
    if not _CANONICAL.fullmatch(digits) or int(digits) > MAX_INDEX:
        raise ChexminiError(f"key {key[:40]!r}: a layer index must be written in ASCII "
                            f"digits without leading zeros (at most {MAX_INDEX})", path)
    return int(digits), m.group(2)


def detect_layout(keys: Iterable[str], path: Path) -> str:
    """:data:`CHEXMINI` or :data:`PUBLISHED` from the ``model.npz`` keys (mixed → error).

    A file with neither kind of key counts as chexmini (its reader names the missing key)."""
    keys = list(keys)
    own = [k for k in keys if _OWN_KEY.fullmatch(k)]
    pub = [k for k in keys if _PUB_KEY.fullmatch(k)]
    if own and pub:
        raise ChexminiError(f"mixed layouts: chexmini keys ({own[0]!r}) and published-layout "
                            f"keys ({pub[0]!r}) in one file", path)
    return PUBLISHED if pub else CHEXMINI


def published_to_state(weights: dict[str, np.ndarray], path: Path) -> dict[str, np.ndarray]:
    """Published ``{"0.W", "0.b", "3.W", …}`` → chexmini ``{"fc1.W", "fc1.b", …}``, checked:
    indices 0, 3, 6, … with none missing, each W with its b, shapes that chain."""
    found: dict[int, set[str]] = {}
    for key in weights:
        parsed = layer_key(key, path)
        if parsed is None:
            raise ChexminiError(f"unexpected key {key[:40]!r} in a published-layout checkpoint "
                                "(expected '0.W', '0.b', '3.W', …, '_norm_mean', '_norm_std')",
                                path)
        found.setdefault(parsed[0], set()).add(parsed[1])
    for idx in sorted(found):
        if idx % STEP:
            raise ChexminiError(f"key '{idx}.{min(found[idx])}' is not a Linear layer index "
                                f"(expected multiples of {STEP}: 0, 3, 6, …)", path)
    n = max(found) // STEP + 1
    for k in range(n):
        idx = k * STEP
        if idx not in found:
            have = ", ".join(str(i) for i in sorted(found))
            raise ChexminiError(f"missing layer '{idx}' (found layers {have}; Linear layers "
                                "are keyed 0, 3, 6, …)", path)
        for a, b in (("W", "b"), ("b", "W")):
            if a in found[idx] and b not in found[idx]:
                raise ChexminiError(f"'{idx}.{a}' without '{idx}.{b}'", path)
    _check_chain([weights[f"{k * STEP}.W"] for k in range(n)],
                 [weights[f"{k * STEP}.b"] for k in range(n)], path)
    state = {}
    for k in range(n):
        state[f"fc{k + 1}.W"] = weights[f"{k * STEP}.W"]
        state[f"fc{k + 1}.b"] = weights[f"{k * STEP}.b"]
    return state


def _check_chain(ws: Sequence[np.ndarray], bs: Sequence[np.ndarray], path: Path) -> None:
    """``W_k: (in_k, out_k)``, ``b_k: (out_k,)`` and ``in_{k+1} = out_k``."""
    for k, (w, b) in enumerate(zip(ws, bs, strict=True)):
        key = k * STEP
        if w.ndim != 2:
            raise ChexminiError(f"'{key}.W' has shape {w.shape}, expected (in, out)", path)
        if b.shape != (w.shape[1],):
            raise ChexminiError(f"'{key}.b' has shape {b.shape}, expected ({w.shape[1]},) "
                                f"to match '{key}.W' {w.shape}", path)
        if k and w.shape[0] != ws[k - 1].shape[1]:
            raise ChexminiError(f"shapes do not chain: '{key}.W' is {w.shape} but "
                                f"'{key - STEP}.W' gives {ws[k - 1].shape[1]} outputs", path)


def state_to_published(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """chexmini ``{"fc1.W", …}`` → published ``{"0.W", …}`` as float64 (values unchanged)."""
    out = {}
    for key, value in state.items():
        m = _OWN_KEY.fullmatch(key)
        if m is None or not _CANONICAL.fullmatch(m.group(1)) or m.group(1) == "0":
            raise ValueError(f"not a chexmini parameter name: {key!r}")
        out[f"{(int(m.group(1)) - 1) * STEP}.{m.group(2)}"] = np.asarray(value, np.float64)
    return out


def resize_filter(metrics: dict, layout: str, path: Path) -> str:
    """The checkpoint's resize filter: ``config["resize_filter"]`` or its layout's default."""
    config = metrics.get("config")
    value = config.get("resize_filter") if isinstance(config, dict) else None
    if value is None:
        return DEFAULT_RESIZE[layout]
    if value not in RESIZE_FILTERS:
        raise ChexminiError(f"config resize_filter is {value!r}, expected one of "
                            f"{', '.join(RESIZE_FILTERS)}", path)
    return value


def check_config(metrics: dict, widths: Sequence[int], path: Path) -> None:
    """The ``config`` must agree with the weights: ``image_size² = widths[0]`` and
    ``hidden_dims = widths[1:-1]`` (each checked only when present)."""
    config = metrics.get("config")
    if config is None:
        return
    if not isinstance(config, dict):
        raise ChexminiError("'config' is not a JSON object", path)
    size, dims = config.get("image_size"), config.get("hidden_dims")
    if size is not None and (not isinstance(size, int) or size * size != widths[0]):
        raise ChexminiError(f"config image_size {size!r} disagrees with the weights, which "
                            f"take {widths[0]} inputs", path)
    if dims is not None and (not isinstance(dims, list) or list(dims) != list(widths[1:-1])):
        raise ChexminiError(f"config hidden_dims {dims!r} disagrees with the weights "
                            f"({list(widths[1:-1])})", path)


def published_metrics(metrics: dict, widths: Sequence[int], resize: str) -> dict:
    """``metrics.json`` in the published style: the published keys first, a config with the
    published keys (``image_size``/``hidden_dims`` from the weights) plus ``resize_filter``.

    chexmini's own keys follow them — ``data`` (the run's data source and split, so the
    images behind the scores can be found again), ``engine``, ``operating_point`` and the
    rest of the config (``seed``, ``lr_min``, …) — so a chexmini → published → chexmini
    round trip loses nothing. The published loader reads only the keys it knows (its
    threshold is ``threshold``, the training-time one)."""
    out = {k: metrics[k] for k in METRICS_KEYS if k in metrics}
    config = metrics.get("config") if isinstance(metrics.get("config"), dict) else {}
    cfg = {k: config[k] for k in PUBLISHED_CONFIG_KEYS if k in config}
    cfg["image_size"] = int(round(np.sqrt(widths[0])))
    cfg["hidden_dims"] = [int(w) for w in widths[1:-1]]
    cfg["resize_filter"] = resize
    published = (*PUBLISHED_CONFIG_KEYS, "resize_filter")
    out["config"] = {**{k: cfg[k] for k in published if k in cfg},
                     **{k: v for k, v in config.items() if k not in published}}
    out.update({k: v for k, v in metrics.items() if k not in out})
    return out
