"""Reading ``.npz`` / ``.npy`` files without trusting their headers.

Before any array is allocated, each member's ``.npy`` header is read (shape and dtype)
and its declared size is checked against the zip member's uncompressed size, the file's
own size, a byte budget and a plausible compression ratio (a small zip that inflates to
gigabytes is refused). Object arrays (pickles) are never loaded. Every failure is a
one-line :class:`ChexminiError` naming the file (and the array).
"""

from __future__ import annotations

import math
import os
import zipfile
from collections.abc import Iterable
from typing import IO

import numpy as np

from core.foundation.errors import ChexminiError
from core.foundation.safe_io import open_regular

#: Members larger than this that inflate more than ``MAX_RATIO`` times are refused.
RATIO_FLOOR = 16 << 20
MAX_RATIO = 200


def memory_budget() -> int:
    """Bytes one file may declare: half of this machine's physical memory (≥ 1 GiB)."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        total = 16 << 30
    return max(int(total) // 2, 1 << 30)


def _fmt(n: int) -> str:
    return f"{n / (1 << 30):.1f} GiB" if n >= 1 << 30 else f"{n / (1 << 20):.1f} MiB"


def read_header(fh: IO[bytes], name: str, path) -> tuple[tuple[int, ...], np.dtype, int]:
    """``(shape, dtype, nbytes)`` from the ``.npy`` header at ``fh`` (left after it)."""
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as exc:
        msg = " ".join(str(exc).split())[:160]
        raise ChexminiError(f"{name} is not a readable array ({msg})", path) from None
    if dtype.hasobject:
        raise ChexminiError(f"{name} holds Python objects; refused (not loaded)", path)
    if fortran and len(shape) > 1:
        raise ChexminiError(f"{name} is Fortran-ordered; not supported", path)
    if any(not isinstance(d, int) or d < 0 for d in shape):
        raise ChexminiError(f"{name} has an invalid shape {shape}", path)
    return tuple(shape), dtype, math.prod(shape) * dtype.itemsize


def check_size(name: str, nbytes: int, available: int, budget: int, path) -> None:
    if nbytes > budget:
        raise ChexminiError(f"{name} declares {_fmt(nbytes)} of data, more than this "
                            f"machine can hold ({_fmt(budget)}); refused", path)
    if nbytes > available:
        raise ChexminiError(f"{name} declares {nbytes:,} bytes of data but the file holds "
                            f"only {available:,} (truncated or corrupt)", path)


def check_member(info: zipfile.ZipInfo, path) -> None:
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise ChexminiError(f"{info.filename} would inflate {info.compress_size:,} bytes to "
                            f"{info.file_size:,} (a zip bomb?); refused", path)


def _read_body(fh: IO[bytes], shape, dtype, nbytes: int, name: str, path) -> np.ndarray:
    arr = np.empty(shape, dtype=dtype)
    view = memoryview(arr.reshape(-1).view(np.uint8)) if nbytes else memoryview(b"")
    got = 0
    while got < nbytes:
        n = fh.readinto(view[got:])
        if not n:
            raise ChexminiError(f"{name} is truncated ({got:,} of {nbytes:,} bytes)", path)
        got += n
    return arr


def read_npz(path: str | os.PathLike[str], keys: Iterable[str] | None = None,
             budget: int | None = None) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` (only ``keys`` when given; missing ones are left out),
    each checked before it is read; their total is bounded by ``budget`` bytes."""
    left = memory_budget() if budget is None else int(budget)
    wanted = None if keys is None else set(keys)
    out: dict[str, np.ndarray] = {}
    try:
        with open_regular(path) as raw, zipfile.ZipFile(raw) as zf:
            for info in zf.infolist():
                key = info.filename[:-4]
                if not info.filename.endswith(".npy") or (wanted is not None
                                                          and key not in wanted):
                    continue
                check_member(info, path)
                with zf.open(info) as fh:
                    shape, dtype, nbytes = read_header(fh, key, path)
                    check_size(key, nbytes, info.file_size - fh.tell(), left, path)
                    out[key] = _read_body(fh, shape, dtype, nbytes, key, path)
                left -= nbytes
    except ChexminiError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, NotImplementedError,
            RuntimeError) as exc:
        msg = " ".join(str(exc).split())[:160]
        raise ChexminiError(f"not a readable npz file ({msg or type(exc).__name__})",
                            path) from None
    return out


def npz_members(path: str | os.PathLike[str]) -> list[str]:
    """The array names of an ``.npz`` (nothing is read but the zip directory)."""
    try:
        with open_regular(path) as raw, zipfile.ZipFile(raw) as zf:
            return [n[:-4] for n in zf.namelist() if n.endswith(".npy")]
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise ChexminiError(f"not a readable npz file ({exc})", path) from None


def read_npy(path: str | os.PathLike[str], budget: int | None = None) -> np.ndarray:
    """One ``.npy`` file, its header checked against the file size before reading."""
    budget = memory_budget() if budget is None else int(budget)
    name = os.path.basename(os.fspath(path))
    with open_regular(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        try:
            shape, dtype, nbytes = read_header(fh, name, path)
            check_size(name, nbytes, size - fh.tell(), budget, path)
            return _read_body(fh, shape, dtype, nbytes, name, path)
        except OSError as exc:
            raise ChexminiError(f"cannot read the file ({exc.strerror or exc})", path) from None
