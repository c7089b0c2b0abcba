"""Atomic file writes: temp file in the same directory, flush, fsync, rename.

A process killed at any moment leaves either the previous good file or the new one,
never a truncated one. ``OSError`` (disk full, permissions) becomes a
:class:`ChexminiError` naming the file, and the temp file is removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from core.foundation.errors import ChexminiError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temp file beside ``path``; on clean exit fsync it and rename it over ``path``."""
    path = Path(path)
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_open mode must be 'wb' or 'w', not {mode!r}")
    tmp_name = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.chmod(tmp_name, 0o666 & ~_umask())
        with os.fdopen(fd, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, path)
        tmp_name = None
        _fsync_dir(path.parent)
    except OSError as exc:
        raise ChexminiError(f"could not write file ({exc.strerror or exc})", path) from exc
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Atomically write ``data`` to ``path``."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Atomically write ``obj`` as indented JSON."""
    write_bytes(path, (json.dumps(obj, indent=2) + "\n").encode("utf-8"))


def write_npy(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Atomically write one array as ``.npy``."""
    with atomic_open(path, "wb") as fh:
        np.save(fh, np.asarray(array), allow_pickle=False)


def write_npz(path: str | os.PathLike[str], arrays: dict[str, np.ndarray]) -> None:
    """Atomically write named arrays as an uncompressed ``.npz``."""
    with atomic_open(path, "wb") as fh:
        np.savez(fh, **arrays)
