"""The resumable part of a build: per-row status, the images file, reuse of old rows.

Every row of a plan is *pending*, *ok* or *bad* (with a reason). The status is saved
atomically in ``state-<plan>.npz`` after each chunk, so an interrupted build continues
with what is still pending. A new plan starts from the previous one: rows whose file did
not change (same name, relative path, size and mtime) and whose decoder is the same are
copied over instead of decoded again.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.data.cache.plan import _same_decoder
from core.foundation.atomic import write_npz
from core.foundation.errors import ChexminiError
from core.foundation.safe_npz import read_npz

PENDING, OK, BAD = 0, 1, 2


def _read_state(path: Path, n: int) -> tuple[np.ndarray, dict[int, str]] | None:
    try:
        z = read_npz(path, keys=("status", "err_rows", "err_msgs"))
        status = z["status"].astype(np.uint8)
        errors = dict(zip(z["err_rows"].tolist(), z["err_msgs"].astype(str).tolist(),
                          strict=True))
    except (ChexminiError, ValueError, KeyError):
        return None
    return (status, errors) if len(status) == n else None


def _write_state(path: Path, status: np.ndarray, errors: dict[int, str]) -> None:
    rows = np.array(sorted(errors), dtype=np.int64)
    msgs = np.array([errors[r] for r in rows.tolist()], dtype=str) if len(rows) else \
        np.array([], dtype="<U1")
    write_npz(path, {"status": status, "err_rows": rows, "err_msgs": msgs})


def _open_images(path: Path, mode: str = "r") -> np.ndarray:
    try:
        return np.load(path, mmap_mode=mode, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ChexminiError(f"cannot open cached images ({exc}); delete the folder to "
                            "rebuild", path) from None


def _cleanup(directory: Path, keep: set[str]) -> None:
    for p in directory.glob("images-*.npy"):
        if p.name not in keep:
            p.unlink(missing_ok=True)
    for p in directory.glob("state-*.npz"):
        if p.name not in keep:
            p.unlink(missing_ok=True)


def _new_layout(directory, old, names, rel, sizes, mtimes, image_size, images_path,
                state_path, notes, report):
    """Create the images/state files of a new plan, copying rows that did not change."""
    n = len(names)
    status = np.zeros(n, dtype=np.uint8)
    errors: dict[int, str] = {}
    try:
        images = np.lib.format.open_memmap(images_path, mode="w+", dtype=np.uint8,
                                           shape=(n, image_size, image_size))
    except OSError as exc:
        raise ChexminiError(f"cannot create the cache file ({exc.strerror or exc})",
                            images_path) from None
    reused = 0
    if old is not None:
        same_decoder = _same_decoder(old, image_size)
        old_images = directory / str(old.get("images_file", ""))
        old_state = _read_state(directory / str(old.get("state_file", "")),
                                len(old.get("names", [])))
        if not same_decoder:
            notes.append(f"the cache was built by {old.get('code_version')} at "
                         f"{old.get('image_size')} px; rebuilding all {n:,} images")
        elif old_state is not None and old_images.is_file():
            o_status, o_errors = old_state
            key = {(nm, r, int(s), int(m)): i for i, (nm, r, s, m) in enumerate(
                zip(old["names"], old["files"], old["sizes"], old["mtimes"], strict=True))}
            pairs = [(i, key.get((nm, r, int(s), int(m)))) for i, (nm, r, s, m) in
                     enumerate(zip(names, rel, sizes.tolist(), mtimes.tolist(), strict=True))
                     if s >= 0]
            pairs = [(i, j) for i, j in pairs if j is not None and o_status[j] != PENDING]
            if pairs:
                new_idx = np.array([p[0] for p in pairs], dtype=np.int64)
                old_idx = np.array([p[1] for p in pairs], dtype=np.int64)
                src = _open_images(old_images)
                for s in range(0, len(pairs), 4096):
                    oi = old_idx[s : s + 4096]
                    images[new_idx[s : s + 4096]] = src[oi]
                    report(s + len(oi), 0, 0, "reuse", "copying unchanged images")
                del src
                status[new_idx] = o_status[old_idx]
                for i, j in pairs:
                    if j in o_errors:
                        errors[i] = o_errors[j]
                reused = len(pairs)
            changed = n - reused
            notes.append(f"inputs changed since the cache was built: reusing {reused:,} "
                         f"images, decoding {changed:,} new or changed ones")
    images.flush()
    del images
    _write_state(state_path, status, errors)
    return status, errors, reused
