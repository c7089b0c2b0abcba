"""Building a cache: :func:`build_cache` ties plan, state, pool and manifest together.

See :mod:`core.data.cache` for what a cache is and what a build guarantees.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.data.cache.plan import (
    _plan_hash,
    _read_manifest,
    _relpaths,
    _stat_all,
    _write_manifest,
)
from core.data.cache.pool import _decode_pending, _lock
from core.data.cache.state import (
    BAD,
    OK,
    PENDING,
    _cleanup,
    _new_layout,
    _open_images,
    _read_state,
    _write_state,
)
from core.foundation.errors import ChexminiError


@dataclass
class BuildProgress:
    """What a progress callback receives: rows resolved so far out of ``total``."""

    done: int
    total: int
    decoded: int = 0
    bad: int = 0
    stage: str = "decode"   # "reuse" (copying unchanged rows), "decode", "done"
    message: str = ""


ProgressFn = Callable[[BuildProgress], None]


@dataclass
class CacheResult:
    """A finished cache: ``images`` is a read-only memmap, row ``i`` = file ``i``."""

    directory: Path
    images_path: Path
    images: np.ndarray
    status: np.ndarray
    bad: list[tuple[str, str]]
    decoded: int = 0
    reused: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    plan: str = ""

    @property
    def ok(self) -> np.ndarray:
        return self.status == OK


# ------------------------------------------------------------------------------ build
def build_cache(
    names: Sequence[str],
    paths: Sequence[str],
    image_size: int,
    directory: str | os.PathLike[str],
    *,
    source: str = "",
    root: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    chunk_size: int | None = None,
    progress: ProgressFn | None = None,
    save_interval: float = 1.0,
) -> CacheResult:
    """Decode ``paths`` (keyed by ``names``) into the cache in ``directory``; see the
    module docstring. ``paths`` may include files that do not exist (reported as bad)."""
    t_start = time.perf_counter()
    names = [str(n) for n in names]
    paths = [os.fspath(p) for p in paths]
    if len(names) != len(paths):
        raise ValueError("names and paths must have the same length")
    n = len(names)
    if n == 0:
        raise ChexminiError("no image files to decode", root)
    directory = Path(directory)
    root_path = Path(root).resolve() if root is not None else None
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ChexminiError(f"cannot create the cache folder ({exc.strerror or exc}); set "
                            "CHEXMINI_DATA to a writable folder", directory) from None
    rel = _relpaths(paths, root_path)
    sizes, mtimes = _stat_all(paths)
    plan = _plan_hash(names, rel, sizes, mtimes, image_size)
    images_path = directory / f"images-{plan}.npy"
    state_path = directory / f"state-{plan}.npz"
    notes: list[str] = []

    def report(done, decoded, bad, stage, message=""):
        if progress is not None:
            progress(BuildProgress(done, n, decoded, bad, stage, message))

    old = _read_manifest(directory)
    if old and old.get("plan") == plan and old.get("complete") and images_path.is_file():
        st = _read_state(state_path, n)
        if st is not None:
            status, errors = st
            images = _open_images(images_path)
            bad = [(names[r], errors.get(r, "unreadable")) for r in np.flatnonzero(status == BAD)]
            report(n, 0, len(bad), "done", "cache up to date")
            return CacheResult(directory, images_path, images, status, bad, 0, n,
                               time.perf_counter() - t_start, ["cache up to date"], plan)

    with _lock(directory):
        old = _read_manifest(directory)  # re-read under the lock
        status = errors = None
        reused = 0
        if old and old.get("plan") == plan and images_path.is_file():
            st = _read_state(state_path, n)
            if st is not None:
                status, errors = st
                reused = int(np.sum(status != PENDING))
                if reused:
                    notes.append(f"resuming an interrupted build: {reused:,} of {n:,} "
                                 "images already done")
        if status is None:
            status, errors, reused = _new_layout(
                directory, old, names, rel, sizes, mtimes, image_size, images_path,
                state_path, notes, report)
            _write_manifest(directory, plan, source, root_path, names, rel, sizes, mtimes,
                            image_size, images_path, state_path, complete=False)
            _cleanup(directory, {images_path.name, state_path.name})
        # Missing files are bad without decoding (re-checked on every build).
        for r in np.flatnonzero((sizes < 0) & (status == PENDING)).tolist():
            status[r] = BAD
            errors[r] = "file not found"
        decoded = _decode_pending(paths, status, errors, images_path, state_path, image_size,
                                  workers, chunk_size, save_interval, report)
        bad = [(names[r], errors.get(r, "unreadable")) for r in np.flatnonzero(status == BAD)]
        _write_state(state_path, status, errors)
        _write_manifest(directory, plan, source, root_path, names, rel, sizes, mtimes,
                        image_size, images_path, state_path, complete=True, bad=bad,
                        n_ok=int(np.sum(status == OK)))
    report(n, decoded, len(bad), "done")
    return CacheResult(directory, images_path, _open_images(images_path), status, bad, decoded,
                       reused, time.perf_counter() - t_start, notes, plan)
