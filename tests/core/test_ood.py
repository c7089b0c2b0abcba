"""The out-of-distribution measurement: the formula, and the calibration numbers quoted
in ``core/ood.py`` (the embedded sample through the shipped checkpoint's μ, σ)."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.nih_sample import SAMPLE_NPZ, sample_pngs
from core.inference import load_checkpoint
from core.ood import DISTANCE_CUTOFF, assess, z_distance
from tests.helpers import REPO


@pytest.fixture(scope="module")
def ckpt():
    return load_checkpoint(REPO / "artifacts")


def _standardise(gray, ckpt) -> np.ndarray:
    p = np.asarray(gray, np.float64).reshape(-1) / 255.0
    return (p - np.asarray(ckpt.mean, np.float64).reshape(-1)) / np.asarray(
        ckpt.std, np.float64).reshape(-1)


def test_distance_is_the_mean_squared_z_score():
    rng = np.random.default_rng(1)
    mean, std = rng.uniform(0.2, 0.8, 16), rng.uniform(0.05, 0.3, 16)
    pixels = rng.uniform(0, 1, 16)
    x = (pixels - mean) / std
    by_hand = sum(((pixels[i] - mean[i]) / std[i]) ** 2 for i in range(16)) / 16
    assert z_distance(x) == pytest.approx(by_hand, rel=1e-12)
    r = assess(x, mean, std)
    assert r.distance == pytest.approx(by_hand, rel=1e-12)
    assert r.contrast == pytest.approx(float(np.std(pixels)), rel=1e-9)


def test_training_like_inputs_have_distance_near_one(ckpt):
    d = np.load(SAMPLE_NPZ)
    dist = np.array([z_distance(_standardise(im, ckpt)) for im in d["images"]])
    assert dist.mean() == pytest.approx(1.0, abs=0.05)
    assert np.percentile(dist, 99.9) == pytest.approx(5.64, abs=0.01)
    assert DISTANCE_CUTOFF > np.percentile(dist, 99.9)
    flagged = sum(assess(_standardise(im, ckpt), ckpt.mean, ckpt.std).flagged
                  for im in d["images"])
    assert flagged <= 2          # of 1,619: at most the one or two farthest outliers


def test_bundled_pngs_are_not_flagged(ckpt):
    for png in sample_pngs():
        r = assess(ckpt.preprocess(png), ckpt.mean, ckpt.std)
        assert not r.flagged, (png, r)
        assert 0.4 < r.distance < 1.5


def test_non_xrays_are_flagged(ckpt):
    loss = assess(ckpt.preprocess(REPO / "artifacts" / "loss_curve.png"), ckpt.mean, ckpt.std)
    assert loss.flagged and loss.distance == pytest.approx(7.22, abs=0.01)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:64, 0:64]
    cases = {"black": np.zeros((64, 64)), "white": np.full((64, 64), 255.0),
             "grey": np.full((64, 64), 128.0),
             "noise": rng.integers(0, 256, (64, 64)).astype(float)}
    for name, img in cases.items():
        assert assess(_standardise(img, ckpt), ckpt.mean, ckpt.std).flagged, name
    ramp = assess(_standardise(xx * 4.0, ckpt), ckpt.mean, ckpt.std)
    assert not ramp.flagged           # the documented blind spot: a smooth ramp


def test_synthetic_checkpoints_use_distance_only(tmp_path, ckpt):
    from core.ood import xray_rules_apply
    from tests.helpers.tui import make_checkpoint, write_png

    synth = make_checkpoint(tmp_path / "synth")
    assert xray_rules_apply(REPO / "artifacts") and not xray_rules_apply(synth)
    c = load_checkpoint(synth)
    x = c.preprocess(write_png(tmp_path / "s.png", 1))
    assert assess(x, c.mean, c.std).flagged            # noise-like to the X-ray rules
    assert not assess(x, c.mean, c.std, xray_rules=False).flagged
