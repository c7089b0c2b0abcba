"""Where a cache lives, what it was built from, and its manifest.

The *plan* is a hash of everything that decides the cache's pixels: the format, the
decoder version, the image size and every input file (name, relative path, size and
mtime). The images and state files of a build are named after it, and the manifest —
written last, atomically — says which plan is current, so it is the commit point.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core import __version__
from core.foundation import safe_io
from core.foundation.atomic import write_json
from core.foundation.errors import ChexminiError

CACHE_FORMAT = 1
#: Bump whenever :func:`core.data.images.load_gray` changes the pixels it returns.
DECODE_VERSION = 2  # 2: EXIF orientation applied before decoding
CODE_VERSION = f"chexmini {__version__} / decode {DECODE_VERSION}"

MANIFEST = "manifest.json"


def data_home() -> Path:
    """``$CHEXMINI_DATA`` or ``~/.cache/chexmini``: downloads and caches live here."""
    env = os.environ.get("CHEXMINI_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "chexmini"


def cache_dir_for(kind: str, root: str | os.PathLike[str], image_size: int) -> Path:
    """``data_home()/cache/<kind>-<hash of root>-<size>``: one cache per source and size."""
    digest = hashlib.sha1(os.fspath(root).encode()).hexdigest()[:12]
    return data_home() / "cache" / f"{kind}-{digest}-{image_size}"


def _stat_all(paths: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    sizes = np.full(len(paths), -1, dtype=np.int64)
    mtimes = np.full(len(paths), -1, dtype=np.int64)
    for i, p in enumerate(paths):
        try:
            st = os.stat(p)
        except OSError:
            continue
        sizes[i], mtimes[i] = st.st_size, st.st_mtime_ns
    return sizes, mtimes


def _plan_hash(names, rel, sizes, mtimes, image_size) -> str:
    h = hashlib.sha1()
    h.update(f"{CACHE_FORMAT}|{CODE_VERSION}|{image_size}|{len(names)}\n".encode())
    h.update("\0".join(names).encode())
    h.update(b"\1")
    h.update("\0".join(rel).encode())
    h.update(sizes.tobytes())
    h.update(mtimes.tobytes())
    return h.hexdigest()[:16]


def _relpaths(paths: Sequence[str], root: Path | None) -> list[str]:
    """Paths relative to ``root`` (POSIX separators) where they are inside it."""
    if root is None:
        return [os.fspath(p) for p in paths]
    prefix = os.fspath(root).rstrip(os.sep) + os.sep
    cut = len(prefix)
    out = []
    for p in paths:
        p = os.path.normpath(os.fspath(p))
        out.append(p[cut:].replace(os.sep, "/") if p.startswith(prefix) else p)
    return out


def _same_decoder(manifest: dict, image_size: int) -> bool:
    """Were the pixels in ``manifest``'s cache made by this decoder at this size?"""
    return (manifest.get("code_version") == CODE_VERSION
            and manifest.get("image_size") == image_size)


def _read_manifest(directory: Path) -> dict | None:
    try:
        m = safe_io.read_json(directory / MANIFEST)
    except ChexminiError:
        return None
    return m if isinstance(m, dict) and m.get("format") == CACHE_FORMAT else None


def _write_manifest(directory, plan, source, root, names, rel, sizes, mtimes, image_size,
                    images_path, state_path, complete, bad=(), n_ok=0):
    write_json(directory / MANIFEST, {
        "format": CACHE_FORMAT,
        "code_version": CODE_VERSION,
        "plan": plan,
        "complete": complete,
        "source": source,
        "root": None if root is None else str(root),
        "image_size": image_size,
        "n": len(names),
        "n_ok": n_ok,
        "n_bad": len(bad),
        "images_file": images_path.name,
        "state_file": state_path.name,
        "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "bad": [{"name": nm, "problem": pr} for nm, pr in bad],
        "names": list(names),
        "files": list(rel),
        "sizes": sizes.tolist(),
        "mtimes": mtimes.tolist(),
    })
