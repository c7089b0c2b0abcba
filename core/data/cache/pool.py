"""Decoding the pending rows: the build lock and the worker process pool.

One build per cache at a time (an advisory ``flock`` on ``.lock``; POSIX only). Chunks of
files are decoded by ``workers`` processes and only the parent writes into the images
memmap and saves the state. Workers ignore Ctrl-C — the parent decides; on an interrupt or
a dead worker the pool is torn down and the progress so far is saved.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import signal
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.data.cache.state import BAD, OK, PENDING, _open_images, _write_state
from core.data.images import load_gray
from core.foundation.errors import ChexminiError

try:  # advisory lock so two builds of one cache do not interleave (POSIX only)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


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


def _kill_pool(executor) -> None:
    procs = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        with contextlib.suppress(Exception):
            p.terminate()
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(timeout=5)


# ----------------------------------------------------------------------------- decode
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
