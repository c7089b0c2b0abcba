"""Validation of ``resume.npz`` before any of it is used.

:func:`load_resume` reads the file (size-checked by :mod:`core.foundation.safe_npz`) and checks
everything that does not depend on the data: the ``_meta`` JSON (config via
:meth:`TrainConfig.validate`, counters and their ranges, history lengths, random-number
generator states) and every array (exact key set, shape, dtype, finite values) against
the shapes the saved config implies. :func:`check_against_data` then checks what depends
on the training split (steps per epoch, the step counters, the permutation). Every
problem is one line naming the file and the key; a valid state is returned unchanged,
so a resumed run stays bit-identical.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.foundation import safe_io
from core.foundation.atomic import write_npz
from core.foundation.config import TrainConfig
from core.foundation.errors import ChexminiError
from core.foundation.numbers import is_int, is_number, is_wide_int
from core.foundation.safe_npz import read_npz
from core.runs.checkpoint import HISTORY_KEYS
from core.training.optim import Adam, RMSProp

FORMAT = 1
RNG_STREAMS = ("shuffle", "augment", "dropout")
INT_INFO = ("split_seed", "n_train", "n_val", "n_test")
FRACTION_INFO = ("val_fraction", "test_fraction")


def save_resume_state(path: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """``resume.npz``: named arrays plus a JSON ``_meta`` blob, written atomically."""
    payload = dict(arrays)
    payload["_meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    write_npz(path, payload)


def load_resume_state(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """The raw arrays and ``_meta`` dict of ``resume.npz`` (size-checked, not validated:
    :func:`core.training.resume_state.load_resume` validates them)."""
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


@dataclass
class ResumeState:
    """The validated contents of a ``resume.npz``."""

    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]
    config: TrainConfig


def _bad(path: Path, key: str, problem: str) -> ChexminiError:
    return ChexminiError(f"invalid resume checkpoint: key {key!r}: {problem}", path)


def _int(meta: dict, key: str, lo: int, hi: int | None, path: Path) -> int:
    v = meta.get(key)
    if not is_int(v) or v < lo or (hi is not None and v > hi):
        rng = f"{lo} … {hi}" if hi is not None else f">= {lo}"
        raise _bad(path, key, f"expected a whole number in {rng}, got {v!r:.40}")
    return v


def _real(meta: dict, key: str, path: Path, lo: float = 0.0, hi: float = math.inf) -> float:
    v = meta.get(key)
    if not is_number(v) or not math.isfinite(v) or not lo <= v <= hi:
        raise _bad(path, key, f"expected a finite number in [{lo:g}, {hi:g}], got {v!r:.40}")
    return float(v)


def _config(meta: dict, path: Path) -> TrainConfig:
    cfg = meta.get("config")
    if not isinstance(cfg, dict):
        raise _bad(path, "config", "expected a JSON object")
    try:
        return TrainConfig.from_dict(cfg).validate()
    except ChexminiError as exc:
        raise _bad(path, "config", exc.problem) from None
    except TypeError as exc:
        raise _bad(path, "config", str(exc)) from None


def _data_info(meta: dict, path: Path) -> None:
    for key in ("source", "data_fingerprint"):
        if not isinstance(meta.get(key), str) or not meta[key]:
            raise _bad(path, key, "expected a non-empty string")
    info = meta.get("data_info", {})
    if not isinstance(info, dict):
        raise _bad(path, "data_info", "expected a JSON object")
    for k in INT_INFO:
        if info.get(k) is not None and not (is_int(info[k]) and info[k] >= 0):
            raise _bad(path, f"data_info.{k}", "expected a whole number >= 0")
    for k in FRACTION_INFO:
        if k in info and not (is_number(info[k]) and 0 <= info[k] < 1):
            raise _bad(path, f"data_info.{k}", "expected a fraction in [0, 1)")


def _rng(meta: dict, path: Path) -> None:
    states = meta.get("rng")
    if not isinstance(states, dict):
        raise _bad(path, "rng", "expected a JSON object")
    for name in RNG_STREAMS:
        st = states.get(name)
        inner = st.get("state") if isinstance(st, dict) else None
        ok = (isinstance(inner, dict) and st.get("bit_generator") == "PCG64"
              and all(is_wide_int(inner.get(k), 0, 2**128 - 1) for k in ("state", "inc"))
              and st.get("has_uint32") in (0, 1) and is_int(st.get("uinteger"), 0, 2**32 - 1))
        if ok:
            try:
                np.random.PCG64().state = st
            except (ValueError, TypeError, KeyError, OverflowError):
                ok = False
        if not ok:
            raise _bad(path, f"rng.{name}", "not a valid PCG64 generator state")


def _history(meta: dict, epoch: int, path: Path) -> None:
    hist = meta.get("history")
    if not isinstance(hist, dict):
        raise _bad(path, "history", "expected a JSON object")
    for k in HISTORY_KEYS:
        v = hist.get(k)
        if not isinstance(v, list) or len(v) != epoch:
            raise _bad(path, f"history.{k}", f"expected a list of {epoch} numbers (one per "
                                             "finished epoch)")
        if not all(is_number(x) and math.isfinite(x) for x in v):
            raise _bad(path, f"history.{k}", "holds a value that is not a finite number")


def _validate_meta(meta: dict, path: Path) -> TrainConfig:
    if meta.get("format") != FORMAT:
        raise _bad(path, "format", f"expected {FORMAT}, got {meta.get('format')!r:.40}")
    config = _config(meta, path)
    _data_info(meta, path)
    epoch = _int(meta, "epoch", 0, config.epochs, path)
    step = _int(meta, "step", 0, None, path)
    if epoch == config.epochs and step:
        raise _bad(path, "step", "must be 0 once every epoch is done")
    _int(meta, "global_step", 0, None, path)
    _int(meta, "seen", 0, None, path)
    _real(meta, "loss_sum", path)
    _real(meta, "elapsed", path)
    best_epoch = _int(meta, "best_epoch", 0, epoch, path)
    if (meta.get("best_auc") is None) != (best_epoch == 0):
        raise _bad(path, "best_auc", "must be null exactly when best_epoch is 0")
    if best_epoch:
        _real(meta, "best_auc", path, 0.0, 1.0)
    _history(meta, epoch, path)
    _rng(meta, path)
    return config


def optimizer_slots(config: TrainConfig, arrays: dict | None = None) -> tuple[str, ...]:
    """The optimiser's per-parameter arrays: ``velocity`` (SGD), ``sq_avg`` (RMSProp), or
    Adam's scaled moments — ``m_scaled``/``v_scaled``, or ``m``/``v`` in states saved before
    they were renamed (same values; see :class:`core.training.optim.Adam`)."""
    if config.optimizer == "rmsprop":
        return RMSProp.SLOTS
    if config.optimizer != "adam":
        return ("velocity",)
    if arrays is not None and any(k.startswith("opt/m/") for k in arrays) \
            and not any(k.startswith("opt/m_scaled/") for k in arrays):
        return Adam.LEGACY_SLOTS
    return Adam.SLOTS


def expected_arrays(config: TrainConfig, slots: tuple[str, ...] | None = None
                    ) -> dict[str, tuple[tuple[int, ...], type]]:
    """``{key: (shape, dtype)}`` of every array a resume state of ``config`` holds
    (``perm`` aside); ``slots`` defaults to what this version writes."""
    w = config.widths
    params: dict[str, tuple[int, ...]] = {}
    for i in range(1, len(w)):
        params[f"fc{i}.W"], params[f"fc{i}.b"] = (w[i - 1], w[i]), (w[i],)
    slots = optimizer_slots(config) if slots is None else slots
    out: dict[str, tuple[tuple[int, ...], type]] = {}
    for prefix in ("model", "best", *(f"opt/{s}" for s in slots)):
        out.update({f"{prefix}/{k}": (shape, np.float32) for k, shape in params.items()})
    out["opt/t"] = ((), np.int64)
    out["norm/mean"] = out["norm/std"] = ((w[0],), np.float32)
    return out


def _validate_arrays(arrays: dict[str, np.ndarray], meta: dict, config: TrainConfig,
                     path: Path) -> None:
    spec = expected_arrays(config, optimizer_slots(config, arrays))
    missing = [k for k in spec if k not in arrays]
    extra = [k for k in arrays if k not in spec and k != "perm"]
    if missing:
        raise _bad(path, missing[0], "missing")
    if extra:
        raise _bad(path, extra[0], "unexpected array (not part of this run's state)")
    for key, (shape, dtype) in spec.items():
        a = arrays[key]
        if a.shape != shape:
            raise _bad(path, key, f"shape {a.shape}, expected {shape}")
        if a.dtype != dtype:
            raise _bad(path, key, f"dtype {a.dtype}, expected {np.dtype(dtype)}")
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise _bad(path, key, "contains NaN or infinite values")
    if int(arrays["opt/t"]) != meta["global_step"]:
        raise _bad(path, "opt/t", f"{int(arrays['opt/t'])} optimizer steps but global_step "
                                  f"is {meta['global_step']}")
    if (arrays["norm/std"] <= 0).any():
        raise _bad(path, "norm/std", "has values <= 0")
    for key in spec:
        if key.startswith(("opt/v/", "opt/v_scaled/", "opt/sq_avg/")) and (arrays[key] < 0).any():
            raise _bad(path, key, "the average of squared gradients has negative values")


def load_resume(path: str | Path) -> ResumeState:
    """Read ``resume.npz`` and validate everything that does not depend on the data."""
    path = Path(path)
    arrays, meta = load_resume_state(path)
    config = _validate_meta(meta, path)
    _validate_arrays(arrays, meta, config, path)
    return ResumeState(arrays, meta, config)


def check_against_data(state: ResumeState, n_train: int, path: str | Path) -> None:
    """Check the step counters and the permutation against a training split of
    ``n_train`` images (the same data the run started with)."""
    path, meta = Path(path), state.meta
    spe = -(-n_train // state.config.batch_size)
    step = _int(meta, "step", 0, spe, path)
    if meta["global_step"] != meta["epoch"] * spe + step:
        raise _bad(path, "global_step", f"{meta['global_step']} is not epoch × "
                                        f"{spe} steps per epoch + step ({meta['epoch']}, {step})")
    _int(meta, "seen", 0, n_train, path)
    perm = state.arrays.get("perm")
    if perm is None:
        if step:
            raise _bad(path, "perm", "missing (needed to continue the epoch in progress)")
        return
    if perm.shape != (n_train,) or perm.dtype.kind not in "iu":
        raise _bad(path, "perm", f"{perm.dtype} {perm.shape}, expected a permutation of "
                                 f"the {n_train} training images")
    if not np.array_equal(np.sort(perm), np.arange(n_train)):
        raise _bad(path, "perm", f"not a permutation of 0 … {n_train - 1}")
