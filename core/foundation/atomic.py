"""Atomic file writes: temp file in the same directory, flush, fsync, rename.

A process killed at any moment leaves either the previous good file or the new one,
never a truncated one. ``OSError`` (disk full, permissions) becomes a
:class:`ChexminiError` naming the file, and the temp file is removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from core.foundation import safe_io
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


#: a temp file is ``.NAME.PID.RANDOM.tmp``: its writer's PID tells a stale one (dead writer)
TEMP_SUFFIX = ".tmp"
_TEMP = re.compile(r"^\..+?\.(?:(\d+)\.)?[^.]+\.tmp$")


def temp_prefix(name: str) -> str:
    return f".{name}.{os.getpid()}."


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, not ours to signal
    return True


def remove_stale_temps(folder: str | os.PathLike[str]) -> list[str]:
    """Remove the temp files of writers that died mid-write (recognised by name and by
    their writer's PID being gone; a legacy name without a PID counts as stale). Only
    regular files are removed; the names removed are returned."""
    removed = []
    with os.scandir(folder) as entries:
        for e in entries:
            m = _TEMP.match(e.name)
            if not m or not e.is_file(follow_symlinks=False):
                continue
            if m.group(1) and (int(m.group(1)) == os.getpid() or _alive(int(m.group(1)))):
                continue
            with contextlib.suppress(FileNotFoundError):
                os.unlink(e.path)
                removed.append(e.name)
    return removed


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "wb", *,
                perms: int | None = None) -> Iterator[IO[Any]]:
    """Open a temp file beside ``path``; on clean exit fsync it and rename it over ``path``.
    ``perms`` narrows the new file's mode (never widens what the umask allows)."""
    path = Path(path)
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_open mode must be 'wb' or 'w', not {mode!r}")
    tmp_name = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=temp_prefix(path.name), suffix=TEMP_SUFFIX,
                                        dir=path.parent)
        os.chmod(tmp_name, 0o666 & ~_umask() & (0o666 if perms is None else perms))
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


#: bound of :func:`copy_file` (a run's extra files are kilobytes to a few megabytes)
MAX_COPY_BYTES = 64 << 20
_CHUNK = 1 << 20


def copy_file(src: str | os.PathLike[str], dst: str | os.PathLike[str],
              limit: int = MAX_COPY_BYTES) -> None:
    """Atomically copy the regular file ``src`` to ``dst``: a symbolic link, FIFO,
    directory or device is refused (never followed), a file above ``limit`` bytes is
    refused before it is read, the bytes are streamed, and the copy's permissions are
    never wider than the source's."""
    with safe_io.open_regular(src, follow=False) as fh:
        st = os.fstat(fh.fileno())
        if st.st_size > limit:
            raise ChexminiError(f"file is larger than {limit:,} bytes; refused", src)
        with atomic_open(dst, "wb", perms=st.st_mode & 0o666) as out:
            copied = 0
            while chunk := _read_chunk(fh, src):
                copied += len(chunk)
                if copied > limit:
                    raise ChexminiError(f"file is larger than {limit:,} bytes; refused", src)
                out.write(chunk)


def _read_chunk(fh: IO[bytes], src: str | os.PathLike[str]) -> bytes:
    try:
        return fh.read(_CHUNK)
    except OSError as exc:
        raise ChexminiError(f"cannot read the file ({exc.strerror or exc})", src) from None
