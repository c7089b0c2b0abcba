"""Benchmarks' handling of OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE.

This machine may set both; they force slower float32 GEMM kernels. A benchmark that
measures the engine's own speed re-runs itself once with both unset *for its own process
only* (tests and CI never change them) and reports what it did.
"""

from __future__ import annotations

import os
import sys

OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_CHILD = "_CHEXMINI_BENCH_CHILD"


def unset_openblas_env(keep: bool) -> str:
    """Re-exec this script without the variables (unless ``keep``); returns a note
    saying whether they were unset, kept, or not set at all."""
    present = {k: os.environ[k] for k in OPENBLAS_VARS if k in os.environ}
    if present and not keep and not os.environ.get(_CHILD):
        env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_VARS}
        env[_CHILD] = ";".join(f"{k}={v}" for k, v in present.items())
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    child = os.environ.get(_CHILD)
    if child:
        return f"unset for this benchmark process only (were: {child})"
    if present:
        return f"kept as set: {present}"
    return "not set"
