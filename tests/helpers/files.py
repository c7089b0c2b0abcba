"""Builders of (good and damaged) files shared by the inference and CLI tests."""

from __future__ import annotations

import ctypes
import io
import os
import subprocess
import sys

import numpy as np
from PIL import Image

from tests.helpers import REPO


def png_bytes() -> bytes:
    """A valid 128×128 grayscale PNG (random pixels, fixed seed)."""
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (128, 128), np.uint8)).save(
        buf, format="PNG")
    return buf.getvalue()


def rewrite_npz(path, mutate) -> None:
    """Load the arrays of ``path``, let ``mutate`` change the dict, save them back."""
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    mutate(arrays)
    np.savez(path, **arrays)


PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2


def _drop_file_permission_bypass() -> None:  # runs in the child before exec
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
            if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def run_without_permission_bypass(args: list[str]) -> subprocess.CompletedProcess:
    """``python ARGS`` in a child whose capability bounding set lacks CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH, so file modes apply to it even when the tests run as root."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "400"}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                          env=env, timeout=120, preexec_fn=_drop_file_permission_bypass)


def file_stamps(folder) -> dict[str, tuple[str, int]]:
    """SHA-1 and mtime of every file of ``folder`` (a write changes one or the other):
    compared before and after, it proves a folder was not written."""
    import hashlib
    from pathlib import Path

    return {p.name: (hashlib.sha1(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(Path(folder).iterdir()) if p.is_file()}


def skip_unless_installed():
    """Skip a test unless chexmini is installed (its shipped checkpoint installed with it)."""
    import pytest

    from core.runs.release.shipped import installed_checkpoint

    return pytest.mark.skipif(installed_checkpoint() is None,
                              reason="chexmini is not installed (pip install -e .)")
