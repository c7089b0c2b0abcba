"""Elementwise work split across threads gives the same bits whatever the thread count."""

from __future__ import annotations

import os

import numpy as np
import pytest

import core.foundation.parallel
import core.training.optim
from core.foundation.parallel import n_threads, row_shares, run_shares
from core.nn import MLP
from core.nn.augment import AugmentConfig
from core.nn.batches import BatchMaker
from core.training.optim import Adam


def _cores(monkeypatch, n: int) -> None:
    monkeypatch.setattr(core.foundation.parallel.os, "cpu_count", lambda: n)


@pytest.mark.parametrize("cores,rows", [(1, 256), (2, 256), (3, 100), (4, 7), (2, 0)])
def test_row_shares_cover_every_row_once(monkeypatch, cores, rows):
    _cores(monkeypatch, cores)
    shares = row_shares(rows, min_rows=16)
    covered = [i for sl in shares for i in range(sl.start, sl.stop)]
    assert covered == list(range(rows))
    assert len(shares) <= cores
    assert len(shares) == 1 or all(sl.stop - sl.start >= 16 for sl in shares)


def test_run_shares_runs_every_share_and_raises_errors():
    seen = []
    run_shares(seen.append, [1, 2, 3])
    assert sorted(seen) == [1, 2, 3]

    def boom(share):
        if share == 2:
            raise ValueError("share 2 failed")
    with pytest.raises(ValueError, match="share 2"):
        run_shares(boom, [1, 2])


def _augment(monkeypatch, cores: int) -> np.ndarray:
    _cores(monkeypatch, cores)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (96, 8, 8), dtype=np.uint8)
    before = images.copy()
    maker = BatchMaker(rng.random(64) * 0.5, rng.random(64) + 0.5, noise_rows=32)
    out = maker.augmented(images, np.random.default_rng(1), AugmentConfig(0.5, 0.1, 0.02)).copy()
    np.testing.assert_array_equal(images, before)  # the caller's images are untouched
    return out


def test_augmented_batches_do_not_depend_on_the_thread_count(monkeypatch):
    one = _augment(monkeypatch, 1)
    for cores in (2, 3):
        np.testing.assert_array_equal(_augment(monkeypatch, cores), one)


def _adam_params(monkeypatch, cores: int) -> dict[str, np.ndarray]:
    _cores(monkeypatch, cores)
    monkeypatch.setattr(core.training.optim, "CHUNK", 100)  # many pieces, ragged tails
    model = MLP((50, 30, 7, 1), dropout=0.0, seed=0)
    grads = model.gradients()
    opt = Adam(model.parameters(), grads, weight_decay=1e-2)
    rng = np.random.default_rng(0)
    for _ in range(3):
        for g in grads.values():
            g[...] = rng.standard_normal(g.shape)
        kept = {k: g.copy() for k, g in grads.items()}
        opt.step(1e-2)
        for k, g in grads.items():  # the update never writes into the gradients
            np.testing.assert_array_equal(g, kept[k])
    return {k: v.copy() for k, v in model.parameters().items()}


def test_adam_does_not_depend_on_the_thread_count(monkeypatch):
    one = _adam_params(monkeypatch, 1)
    start = MLP((50, 30, 7, 1), dropout=0.0, seed=0).parameters()
    assert all(not np.array_equal(one[k], start[k]) for k in one)
    for cores in (2, 3):
        got = _adam_params(monkeypatch, cores)
        for k in one:
            np.testing.assert_array_equal(got[k], one[k], err_msg=k)


def test_chexmini_threads_caps_the_elementwise_threads(monkeypatch):
    # a sweep's parallel trial processes run with CHEXMINI_THREADS=1
    monkeypatch.setenv("CHEXMINI_THREADS", "1")
    assert n_threads() == 1 and row_shares(4096) == [slice(0, 4096)]
    monkeypatch.setenv("CHEXMINI_THREADS", "64")
    assert n_threads() == 4
    for bad in ("0", "", "two", "-1"):
        monkeypatch.setenv("CHEXMINI_THREADS", bad)
        assert n_threads() == max(1, min(4, os.cpu_count() or 1))
