"""The trainer's own use of the machine, per epoch: CPU, memory, throughput.

``cpu_percent`` = (user + system CPU seconds of this process over the epoch) / (wall
seconds of the epoch) × 100 — with two busy cores it can reach 200; ``rss_mb`` is the
resident memory at the epoch end (``/proc/self/statm``; the peak where that file does not
exist), ``peak_rss_mb`` the process's peak (``getrusage``); ``samples_per_s`` the training
images of the epoch divided by the seconds its steps took (validation excluded). The
process is the trainer's: in the app it also holds the user interface.
"""

from __future__ import annotations

import os
import sys
import time

try:
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None

MB = 1 << 20


def cpu_seconds() -> float:
    """User + system CPU seconds used by this process so far (all its threads)."""
    t = os.times()
    return t.user + t.system


def peak_rss_bytes() -> int | None:
    """The process's peak resident set size (``ru_maxrss``: KiB on Linux, bytes on macOS)."""
    if resource is None:  # pragma: no cover
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


def rss_bytes() -> int | None:
    """The current resident set size (``/proc/self/statm``'s second field × page size)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            resident = int(fh.read().split()[1])
        return resident * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return peak_rss_bytes()


def _mb(n: int | None) -> float | None:
    return None if n is None else n / MB


class EpochMeter:
    """``start()`` when an epoch starts, ``read(samples, step_seconds)`` at its end →
    ``{"cpu_percent", "rss_mb", "peak_rss_mb", "samples_per_s"}`` (see the module)."""

    def __init__(self) -> None:
        self.start()

    def start(self) -> None:
        self._wall, self._cpu = time.perf_counter(), cpu_seconds()

    def read(self, samples: int, step_seconds: float) -> dict[str, float | None]:
        wall = time.perf_counter() - self._wall
        cpu = cpu_seconds() - self._cpu
        rss, peak = rss_bytes(), peak_rss_bytes()
        if rss is not None and peak is not None:
            peak = max(peak, rss)  # the kernel's peak may lag the current figure
        return {
            "cpu_percent": 100.0 * cpu / wall if wall > 0 else None,
            "rss_mb": _mb(rss),
            "peak_rss_mb": _mb(peak),
            "samples_per_s": samples / step_seconds if step_seconds > 0 else None,
        }
