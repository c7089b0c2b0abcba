"""The out-of-distribution measurement: the formula, and the calibration numbers quoted
in ``core/inference/ood.py`` (the embedded sample through the shipped checkpoint's μ, σ)."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.nih_sample import SAMPLE_NPZ, sample_pngs
from core.inference import load_checkpoint
from core.inference.ood import DETAIL_MIN, DISTANCE_CUTOFF, assess, fine_detail, z_distance
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
    assert dist.max() == pytest.approx(10.70, abs=0.01)
    assert np.percentile(dist, 99.9) < DISTANCE_CUTOFF < np.sort(dist)[-2]
    results = [assess(_standardise(im, ckpt), ckpt.mean, ckpt.std) for im in d["images"]]
    flagged = sorted(r.distance for r in results if r.flagged)
    assert flagged == pytest.approx([6.12, 10.70], abs=0.01)   # 2 of 1,619, by distance
    assert all(len(r.reasons) == 1 for r in results if r.flagged)
    detail = np.array([r.detail for r in results])
    assert detail.min() == pytest.approx(0.0377, abs=1e-4) and detail.min() > DETAIL_MIN


def test_bundled_pngs_are_not_flagged(ckpt):
    for png in sample_pngs():
        r = assess(ckpt.preprocess(png), ckpt.mean, ckpt.std)
        assert not r.flagged, (png, r)
        assert 0.4 < r.distance < 1.5


def test_fine_detail_is_the_laplacian_energy_over_the_variance():
    rng = np.random.default_rng(2)
    img = rng.uniform(0, 1, (6, 6))
    lap = [4 * img[r, c] - img[r - 1, c] - img[r + 1, c] - img[r, c - 1] - img[r, c + 1]
           for r in range(1, 5) for c in range(1, 5)]
    by_hand = sum(v * v for v in lap) / 16 / float(np.var(img))
    assert fine_detail(img.reshape(-1)) == pytest.approx(by_hand, rel=1e-12)
    yy, xx = np.mgrid[0:64, 0:64]
    assert fine_detail((0.3 * xx + 0.7 * yy).reshape(-1)) == pytest.approx(0, abs=1e-20)
    assert fine_detail(np.full(64 * 64, 0.4)) == 0.0
    # above 64×64 it is measured on 64×64 block means: a 128-px image scores as its blocks
    big = rng.uniform(0, 1, (128, 128))
    blocks = big.reshape(64, 2, 64, 2).mean(axis=(1, 3))
    assert fine_detail(big.reshape(-1)) == pytest.approx(fine_detail(blocks.reshape(-1)))


def test_non_xrays_are_flagged(ckpt):
    loss = assess(ckpt.preprocess(REPO / "artifacts" / "loss_curve.png"), ckpt.mean, ckpt.std)
    assert loss.flagged and loss.distance == pytest.approx(7.22, abs=0.01)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:64, 0:64].astype(float)
    radius = np.hypot(xx - 32, yy - 32)
    cases = {"black": (np.zeros((64, 64)), "almost flat"),
             "white": (np.full((64, 64), 255.0), "almost flat"),
             "grey": (np.full((64, 64), 128.0), "almost flat"),
             "noise": (rng.integers(0, 256, (64, 64)).astype(float), "noise-like"),
             "checkerboard": (((xx // 8 + yy // 8) % 2) * 255.0, "distance"),
             "ramp horizontal": (xx * 4.0, "too smooth"),
             "ramp horizontal reversed": (255 - xx * 4.0, "too smooth"),
             "ramp vertical": (yy * 4.0, "too smooth"),
             "ramp diagonal": ((xx + yy) * 2.0, "too smooth"),
             "ramp mid-grey": (64 + xx * 2.0, "too smooth"),
             "radial gradient": (np.clip(255 - 4 * radius, 0, 255), "too smooth"),
             "sine stripes": (128 + 100 * np.sin(xx / 4), "too smooth"),
             "mean image": (np.asarray(ckpt.mean).reshape(64, 64) * 255, "too smooth"),
             "inverted X-ray": (255.0 - np.load(SAMPLE_NPZ)["images"][0], "distance")}
    for name, (img, why) in cases.items():
        r = assess(_standardise(img, ckpt), ckpt.mean, ckpt.std)
        assert r.flagged and any(why in reason for reason in r.reasons), (name, r)
    ramp = assess(_standardise(xx * 4.0, ckpt), ckpt.mean, ckpt.std)
    assert ramp.distance == pytest.approx(3.81, abs=0.01) and ramp.detail < 1e-20
    assert ramp.to_dict()["detail"] == ramp.detail


def test_bundled_pngs_have_detail_at_full_size_too():
    from PIL import Image

    for png in sample_pngs():
        pixels = np.asarray(Image.open(png).convert("L"), np.float64) / 255
        assert pixels.shape[0] > 64 and fine_detail(pixels.reshape(-1)) > DETAIL_MIN, png


def test_synthetic_checkpoints_use_distance_only(tmp_path, ckpt):
    from core.inference.ood import xray_rules_apply
    from tests.helpers.tui import make_checkpoint, write_png

    synth = make_checkpoint(tmp_path / "synth")
    assert xray_rules_apply(REPO / "artifacts") and not xray_rules_apply(synth)
    c = load_checkpoint(synth)
    x = c.preprocess(write_png(tmp_path / "s.png", 1))
    assert assess(x, c.mean, c.std).flagged            # noise-like to the X-ray rules
    assert not assess(x, c.mean, c.std, xray_rules=False).flagged
