"""The preprocessing cache: decode every image once into a memory-mappable uint8 array.

:func:`build_cache` takes a list of image files (``names`` + ``paths``) and produces
``images-<plan>.npy`` — uint8 ``(N, S, S)``, row ``i`` is file ``i`` decoded by
:func:`core.data.images.load_gray` (the one pipeline shared with inference) — plus a
``manifest.json`` (source, root, file list, sizes, mtimes, image size, code version,
skipped files with their reasons).

- **Parallel**: chunks of files are decoded by ``workers`` processes (default: all
  cores); the parent alone writes into the array.
- **Resumable**: after each chunk the per-row status is saved (``state-<plan>.npz``,
  atomically); a killed or interrupted build continues with the chunks not yet done.
- **Reused**: a second build with the same files (same relative paths, sizes and
  mtimes), image size and decoder version returns at once. When some inputs changed
  (or were added/removed), unchanged rows are copied over and only the changed ones are
  decoded; a different image size or decoder version is a different cache / a full
  rebuild, with a note saying why.
- **Never silent**: a missing, unreadable or truncated file gets status *bad*; it is
  counted, listed (name and reason) in the manifest and returned in
  :attr:`CacheResult.bad` — the loaders drop it from the splits and report it.

The manifest is the commit point: it names the images/state files of the current plan,
so a process killed at any moment leaves a consistent cache.

:func:`gather_rows` copies selected rows of a cached ``.npy`` into a new ``.npy`` with
plain reads (no memory map, so the copy does not count towards resident memory), used to
give every split its own contiguous, memory-mappable file.

The package is split by job:

- :mod:`~core.data.cache.plan` — where caches live, the plan hash of the inputs, the
  manifest (the commit point) and the format/decoder version;
- :mod:`~core.data.cache.state` — the resumable per-row status, the images file of a
  plan and reuse of unchanged rows from the previous plan;
- :mod:`~core.data.cache.pool` — the file lock and the decoding process pool (Ctrl-C,
  dead workers);
- :mod:`~core.data.cache.views` — row gathering and per-split memory-mappable views;
- :mod:`~core.data.cache.build` — :func:`build_cache`, which ties them together.
"""

from core.data.cache.build import BuildProgress, CacheResult, ProgressFn, build_cache
from core.data.cache.plan import (
    CACHE_FORMAT,
    CODE_VERSION,
    DECODE_VERSION,
    MANIFEST,
    cache_dir_for,
    data_home,
)
from core.data.cache.pool import decode_chunk, default_workers
from core.data.cache.state import BAD, OK, PENDING
from core.data.cache.views import VIEWS_KEPT, gather_rows, split_views

__all__ = [
    "BAD",
    "CACHE_FORMAT",
    "CODE_VERSION",
    "DECODE_VERSION",
    "MANIFEST",
    "OK",
    "PENDING",
    "VIEWS_KEPT",
    "BuildProgress",
    "CacheResult",
    "ProgressFn",
    "build_cache",
    "cache_dir_for",
    "data_home",
    "decode_chunk",
    "default_workers",
    "gather_rows",
    "split_views",
]
