"""Small helpers shared by tests (fixtures are in conftest.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.data import load_data
from core.foundation.config import TrainConfig
from core.training.train import train

#: The repository's root folder.
REPO = Path(__file__).resolve().parents[2]


def tiny_config(**kw) -> TrainConfig:
    """A fast config: small hidden layers, few epochs (the maths is the published one)."""
    base = {"hidden_dims": [32, 16], "epochs": 4, "batch_size": 64, "lr": 1e-3}
    base.update(kw)
    return TrainConfig(**base)


def run_to_end(config: TrainConfig, data, out: Path | None = None, **kw) -> list:
    return list(train(config, data, out, **kw))


def synthetic(n: int = 300, seed: int = 0):
    return load_data(f"synthetic:{n}", seed=seed)


def small_batch(n_in=12, b=6, seed=0):
    """A small float64 batch ``(x, y)`` with alternating labels (for layer/gradient checks)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((b, n_in)), (np.arange(b) % 2).astype(float)


def writable_shipped(dst: Path, *ignore: str) -> Path:
    """A copy of the shipped checkpoint (``artifacts/``) that may be written: without its
    shipped mark, as ``chexmini export artifacts DST --format chexmini`` leaves it (the
    other files byte for byte). ``ignore``: more file patterns to leave out."""
    import shutil

    from core.runs import layout

    return Path(shutil.copytree(REPO / "artifacts", dst,
                                ignore=shutil.ignore_patterns(layout.SHIPPED_MARK, *ignore)))
