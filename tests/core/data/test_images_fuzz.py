"""Property-based tests: the image loader either works or raises the project's own error,
never anything else, whatever bytes or pixels it is given."""

from __future__ import annotations

import io
import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from core.data.images import load_gray
from core.foundation.errors import ChexminiError

SETTINGS = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _try_load(data: bytes, suffix: str = ".png"):
    fd, path = tempfile.mkstemp(suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            out = load_gray(path, 64)
        except ChexminiError as exc:
            assert path in str(exc) and "\n" not in str(exc)
            return None
        assert out.shape == (64, 64) and out.dtype == np.uint8
        return out
    finally:
        os.unlink(path)


def _png(arr: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr, mode=mode).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.slow
@SETTINGS
@given(st.binary(max_size=4096))
def test_random_bytes(data):
    _try_load(data)


@pytest.mark.slow
@SETTINGS
@given(st.binary(min_size=1, max_size=2048), st.integers(0, 4000))
def test_corrupted_real_png(noise, cut):
    good = _png(np.random.default_rng(len(noise)).integers(0, 256, (80, 80), np.uint8))
    mutated = bytearray(good[:cut] if cut < len(good) else good)
    for i, b in enumerate(noise[:64]):
        if mutated:
            mutated[(i * 997) % len(mutated)] = b
    _try_load(bytes(mutated))


@pytest.mark.slow
@SETTINGS
@given(
    st.integers(1, 90), st.integers(1, 90),
    st.sampled_from(["uint8", "uint16", "rgb", "rgba", "bool"]),
    st.integers(0, 2**32 - 1),
)
def test_random_small_arrays(h, w, kind, seed):
    rng = np.random.default_rng(seed)
    if kind == "uint8":
        arr = rng.integers(0, 256, (h, w), np.uint8)
    elif kind == "uint16":
        arr = rng.integers(0, 65536, (h, w), np.uint16)
    elif kind == "rgb":
        arr = rng.integers(0, 256, (h, w, 3), np.uint8)
    elif kind == "rgba":
        arr = rng.integers(0, 256, (h, w, 4), np.uint8)
    else:
        arr = rng.random((h, w)) > 0.5
    out = _try_load(_png(arr))
    assert (out is None) == (min(h, w) < 16)
