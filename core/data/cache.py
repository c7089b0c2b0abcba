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
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core import __version__, safe_io
from core.atomic import atomic_open, write_json, write_npz
from core.data.images import load_gray
from core.errors import ChexminiError
from core.safe_npz import read_npz

try:  # advisory lock so two builds of one cache do not interleave (POSIX only)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

CACHE_FORMAT = 1
#: Bump whenever :func:`core.data.images.load_gray` changes the pixels it returns.
DECODE_VERSION = 2  # 2: EXIF orientation applied before decoding
CODE_VERSION = f"chexmini {__version__} / decode {DECODE_VERSION}"

PENDING, OK, BAD = 0, 1, 2
MANIFEST = "manifest.json"


def data_home() -> Path:
    """``$CHEXMINI_DATA`` or ``~/.cache/chexmini``: downloads and caches live here."""
    env = os.environ.get("CHEXMINI_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "chexmini"


def cache_dir_for(kind: str, root: str | os.PathLike[str], image_size: int) -> Path:
    """``data_home()/cache/<kind>-<hash of root>-<size>``: one cache per source and size."""
    digest = hashlib.sha1(os.fspath(root).encode()).hexdigest()[:12]
    return data_home() / "cache" / f"{kind}-{digest}-{image_size}"


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


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


# ---------------------------------------------------------------------------- workers
def _worker_init() -> None:
    # Ctrl-C goes to the whole process group; the parent alone decides what to do.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _mp_context():
    """``fork`` on POSIX: workers start instantly and — unlike ``spawn``/``forkserver`` —
    the caller's ``__main__`` is never re-run (scripts without a main guard, notebooks and
    piped scripts work). The workers only decode images: they touch no lock, stream or
    thread pool of the parent. Elsewhere ``spawn``."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def decode_chunk(task: tuple[int, Sequence[str], int]) -> tuple[int, np.ndarray, list]:
    """Decode one chunk ``(chunk_id, paths, size)`` → ``(chunk_id, images, errors)``;
    ``errors`` is ``[(position, problem)]`` and those rows stay zero."""
    chunk_id, paths, size = task
    out = np.zeros((len(paths), size, size), dtype=np.uint8)
    errors: list[tuple[int, str]] = []
    for i, p in enumerate(paths):
        try:
            out[i] = load_gray(p, size)
        except ChexminiError as exc:
            errors.append((i, exc.problem))
        except Exception as exc:  # noqa: BLE001 - a bad file must never stop the build
            errors.append((i, f"cannot decode image: {type(exc).__name__}: {exc}"))
    return chunk_id, out, errors


# --------------------------------------------------------------------------- helpers
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


def _read_manifest(directory: Path) -> dict | None:
    try:
        m = safe_io.read_json(directory / MANIFEST)
    except ChexminiError:
        return None
    return m if isinstance(m, dict) and m.get("format") == CACHE_FORMAT else None


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


@contextlib.contextmanager
def _lock(directory: Path):
    if fcntl is None:
        yield
        return
    fh = open(directory / ".lock", "a+")  # noqa: SIM115
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ChexminiError("another chexmini process is building this cache right now; "
                                "wait for it to finish (or stop it) and run again",
                                directory) from None
        yield
    finally:
        fh.close()


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


def _kill_pool(executor) -> None:
    procs = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        with contextlib.suppress(Exception):
            p.terminate()
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(timeout=5)


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
        same_decoder = (old.get("code_version") == CODE_VERSION
                        and old.get("image_size") == image_size)
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


def _decode_pending(paths, status, errors, images_path, state_path, image_size, workers,
                    chunk_size, save_interval, report) -> int:
    pending = np.flatnonzero(status == PENDING)
    n = len(status)
    if len(pending) == 0:
        return 0
    workers = default_workers() if workers is None else max(1, int(workers))
    if chunk_size is None:
        chunk_size = int(min(256, max(8, math.ceil(len(pending) / (workers * 8)))))
    chunks = [pending[s : s + chunk_size] for s in range(0, len(pending), chunk_size)]
    images = _open_images(images_path, "r+")
    done = int(np.sum(status != PENDING))
    bad = int(np.sum(status == BAD))
    decoded = 0
    last_save = time.monotonic()
    report(done, 0, bad, "decode")

    def absorb(chunk_id: int, arr: np.ndarray, errs: list) -> None:
        nonlocal done, bad, decoded, last_save
        rows = chunks[chunk_id]
        images[rows] = arr
        chunk_status = np.full(len(rows), OK, dtype=np.uint8)
        for pos, problem in errs:
            chunk_status[pos] = BAD
            errors[int(rows[pos])] = problem
        status[rows] = chunk_status
        done += len(rows)
        decoded += len(rows)
        bad += len(errs)
        if time.monotonic() - last_save >= save_interval:
            images.flush()
            _write_state(state_path, status, errors)
            last_save = time.monotonic()
        report(done, decoded, bad, "decode")

    tasks = [(k, [paths[r] for r in rows.tolist()], image_size) for k, rows in enumerate(chunks)]
    try:
        if workers == 1 or len(chunks) == 1:
            for task in tasks:
                absorb(*decode_chunk(task))
        else:
            from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
            from concurrent.futures.process import BrokenProcessPool

            ctx = _mp_context()
            ex = ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=ctx,
                                     initializer=_worker_init)
            try:
                # Keep a bounded number of chunks in flight so results arrive in order of
                # completion and an interrupt loses little work.
                queue = list(tasks)
                running = set()
                limit = 2 * min(workers, len(chunks))
                while queue or running:
                    while queue and len(running) < limit:
                        running.add(ex.submit(decode_chunk, queue.pop(0)))
                    finished, running = wait(running, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        absorb(*fut.result())
            except BrokenProcessPool:
                raise ChexminiError(
                    f"a decoding worker process died (out of memory?) after {done:,} of "
                    f"{n:,} images; progress is saved — run again to continue, perhaps with "
                    "fewer --workers", images_path.parent) from None
            finally:
                _kill_pool(ex)
    finally:
        images.flush()
        images = None  # unmap
        _write_state(state_path, status, errors)
    return decoded


# ------------------------------------------------------------------------------ views
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
