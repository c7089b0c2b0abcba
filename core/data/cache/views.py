"""Per-split views of a cached images file.

:func:`gather_rows` copies selected rows of a cached ``.npy`` into a new ``.npy`` with
plain reads (no memory map, so the copy does not count towards resident memory), used to
give every split its own contiguous, memory-mappable file; :func:`split_views` serves
each split as a slice of the base memmap or such a gathered file, kept for reuse.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

import numpy as np

from core.data.cache.state import _open_images
from core.foundation.atomic import atomic_open, write_json
from core.foundation.errors import ChexminiError


def _npy_layout(path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    with open(path, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        if fortran:
            raise ChexminiError("Fortran-ordered arrays are not supported", path)
        return shape, dtype, fh.tell()


def gather_rows(src: str | os.PathLike[str], rows: np.ndarray, dst: str | os.PathLike[str],
                block: int = 2048) -> None:
    """Write ``src[rows]`` (a ``.npy`` on disk) to ``dst`` atomically, with plain reads."""
    src, dst = Path(src), Path(dst)
    shape, dtype, offset = _npy_layout(src)
    rows = np.asarray(rows, dtype=np.int64)
    row_bytes = int(np.prod(shape[1:])) * dtype.itemsize
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
              "shape": (len(rows), *shape[1:])}
    with open(src, "rb") as fin, atomic_open(dst, "wb") as fout:
        np.lib.format.write_array_header_1_0(fout, header)
        fd = fin.fileno()
        for s in range(0, len(rows), block):
            part = rows[s : s + block]
            lo, hi = int(part.min()), int(part.max()) + 1
            if hi - lo <= 4 * len(part):          # dense: one read of the span
                buf = os.pread(fd, (hi - lo) * row_bytes, offset + lo * row_bytes)
                span = np.frombuffer(buf, dtype=np.uint8).reshape(hi - lo, row_bytes)
                out = span[part - lo]
            else:                                   # sparse: one read per row
                out = np.empty((len(part), row_bytes), dtype=np.uint8)
                for i, r in enumerate(part.tolist()):
                    out[i] = np.frombuffer(os.pread(fd, row_bytes, offset + r * row_bytes),
                                           dtype=np.uint8)
            fout.write(out.tobytes())


VIEWS_KEPT = 4


def split_views(images_path: str | os.PathLike[str], rows: dict[str, np.ndarray],
                directory: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """One read-only memmap per split: ``images[rows[name]]`` as its own ``.npy``.

    Rows that form a contiguous ascending run are served as a slice of the base memmap (no
    copy). Other selections are gathered once into ``directory/views/<hash>/<name>.npy``
    and reused while the base file and the rows are the same; only the
    :data:`VIEWS_KEPT` most recently used views are kept.
    """
    images_path = Path(images_path)
    base = _open_images(images_path)
    out: dict[str, np.ndarray] = {}
    todo: dict[str, np.ndarray] = {}
    for name, r in rows.items():
        r = np.asarray(r, dtype=np.int64)
        if len(r) and np.array_equal(r, np.arange(r[0], r[0] + len(r))):
            out[name] = base[int(r[0]) : int(r[0]) + len(r)]
        elif len(r) == 0:
            out[name] = base[0:0]
        else:
            todo[name] = r
    if not todo:
        return out
    h = hashlib.sha1(images_path.name.encode())
    st = images_path.stat()
    h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
    for name in sorted(todo):
        h.update(name.encode())
        h.update(todo[name].tobytes())
    view_dir = Path(directory) / "views" / h.hexdigest()[:16]
    done_mark = view_dir / "view.json"
    if not done_mark.is_file():
        view_dir.mkdir(parents=True, exist_ok=True)
        for name, r in todo.items():
            gather_rows(images_path, r, view_dir / f"{name}.npy")
        write_json(done_mark, {"base": images_path.name,
                               "splits": {k: len(v) for k, v in todo.items()}})
    else:
        with contextlib.suppress(OSError):
            os.utime(done_mark)
    for name in todo:
        out[name] = _open_images(view_dir / f"{name}.npy")
    _prune_views(Path(directory) / "views", keep=view_dir)
    return out


def _prune_views(views: Path, keep: Path) -> None:
    import shutil

    marks = sorted(views.glob("*/view.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for mark in marks[VIEWS_KEPT:]:
        if mark.parent != keep:
            shutil.rmtree(mark.parent, ignore_errors=True)
