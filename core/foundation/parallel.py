"""A tiny thread pool for splitting elementwise NumPy work across the cores.

NumPy releases the GIL inside ufunc loops, so two threads each running ufuncs over their
own share of an array run in parallel. :func:`run_shares` runs ``work(share)`` for every
share, the first on the calling thread and the rest on the pool: one hand-off per call,
not one per piece. Used by the Adam update (:mod:`core.training.optim`) and the batch maker
(:mod:`core.nn.batches`); the arithmetic on each element is the same whatever the split, so
results do not depend on the number of threads.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

_POOL: ThreadPoolExecutor | None = None


def n_threads() -> int:
    """Threads used for elementwise work: the core count, at most 4 — or
    ``CHEXMINI_THREADS`` when set (a sweep's parallel trials take one each)."""
    given = os.environ.get("CHEXMINI_THREADS", "")
    if given.isdigit() and int(given) >= 1:
        return min(4, int(given))
    return max(1, min(4, os.cpu_count() or 1))


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=max(1, n_threads() - 1),
                                   thread_name_prefix="chexmini-elementwise")
    return _POOL


def run_shares(work: Callable[[T], None], shares: Sequence[T]) -> None:
    """``work(share)`` for every share: share 0 on the calling thread, the rest on the pool.
    Waits for all of them; an exception in any share is raised here."""
    futures = [_pool().submit(work, share) for share in shares[1:]]
    try:
        if shares:
            work(shares[0])
    finally:
        for f in futures:
            f.result()


def row_shares(n_rows: int, min_rows: int = 32) -> list[slice]:
    """Split ``range(n_rows)`` into up to :func:`n_threads` contiguous slices of at least
    ``min_rows`` rows (one slice when the batch is small)."""
    k = max(1, min(n_threads(), n_rows // max(1, min_rows)))
    cuts = [n_rows * i // k for i in range(k + 1)]
    return [slice(cuts[i], cuts[i + 1]) for i in range(k)]
