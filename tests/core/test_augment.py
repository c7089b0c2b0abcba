"""Augmentation and batch standardisation."""

from __future__ import annotations

import numpy as np
import pytest

from core.nn.augment import AugmentConfig, augment_batch
from core.nn.batches import BatchMaker, standardise_all
from core.nn.standardize import feature_stats
from core.reference import augment as ref_aug


def test_flip_only_mirrors_the_chosen_images():
    x = np.random.default_rng(0).random((200, 8, 8)).astype(np.float32)
    y = augment_batch(x.copy(), np.random.default_rng(1), AugmentConfig(0.5, 0.0, 0.0))
    flipped = [np.array_equal(y[i], x[i, :, ::-1]) for i in range(200)]
    same = [np.array_equal(y[i], x[i]) for i in range(200)]
    assert all(f or s for f, s in zip(flipped, same, strict=True))
    assert 70 < sum(flipped) < 130


def test_brightness_and_noise_have_the_configured_size():
    x = np.zeros((500, 16, 16), np.float32)
    y = augment_batch(x.copy(), np.random.default_rng(0), AugmentConfig(0.0, 0.1, 0.0))
    shifts = y[:, 0, 0]
    assert np.all(np.abs(shifts) <= 0.1)
    assert shifts.std() == pytest.approx(0.1 / np.sqrt(3), rel=0.1)
    assert np.all(y == shifts[:, None, None])  # one shift per image
    z = augment_batch(x.copy(), np.random.default_rng(0), AugmentConfig(0.0, 0.0, 0.02))
    assert z.std() == pytest.approx(0.02, rel=0.02) and abs(z.mean()) < 1e-3


def test_augmentation_is_reproducible_from_the_rng():
    x = np.random.default_rng(0).random((10, 8, 8)).astype(np.float32)
    a = augment_batch(x.copy(), np.random.default_rng(3), AugmentConfig())
    b = augment_batch(x.copy(), np.random.default_rng(3), AugmentConfig())
    assert np.array_equal(a, b)


def test_feature_stats_match_a_float_computation_and_guard_zero_std():
    imgs = np.random.default_rng(0).integers(0, 256, (300, 4, 4), dtype=np.uint8)
    imgs[:, 0, 0] = 7  # a constant pixel
    mean, std = feature_stats(imgs, chunk=64)
    xf = imgs.reshape(300, -1) / 255.0
    np.testing.assert_allclose(mean, xf.mean(0), rtol=1e-6)
    np.testing.assert_allclose(std[1:], xf.std(0)[1:], rtol=1e-5)
    assert std[0] == 1.0


def test_fused_augmentation_equals_the_reference_definition():
    """BatchMaker.augmented (flip in uint8, brightness and noise folded into the
    standardisation, noise from the bank) equals core.reference.augment — flip, shift and
    noise in [0, 1] units, then (x − μ)/σ — with the same draws, noise included."""
    imgs = np.random.default_rng(0).integers(0, 256, (64, 8, 8), dtype=np.uint8)
    mean, std = feature_stats(imgs)
    cfg = AugmentConfig(0.5, 0.1, 0.02)
    maker = BatchMaker(mean, std, noise_rows=100, noise_seed=4)
    fused = maker.augmented(imgs, np.random.default_rng(7), cfg).copy()
    bank = ref_aug.noise_bank(4, 100 + 64, mean.size)
    draws = ref_aug.draw(np.random.default_rng(7), 64, cfg, bank)
    assert draws.flip.any() and np.abs(draws.noise).max() > 0.05
    ref = ref_aug.standardise(ref_aug.augment(imgs / 255.0, draws), mean, std)
    np.testing.assert_allclose(fused, ref, rtol=1e-5, atol=2e-5)
    no_noise = ref_aug.standardise(ref_aug.augment(
        imgs / 255.0, ref_aug.Draws(draws.flip, draws.shift, None)), mean, std)
    assert np.abs(fused - no_noise).max() > 0.1  # the noise really was compared
    before = imgs.copy()
    maker.augmented(imgs, np.random.default_rng(7), AugmentConfig())
    assert np.array_equal(imgs, before)  # the caller's images are never modified


def test_noise_bank_has_the_configured_distribution():
    imgs = np.full((256, 8, 8), 100, np.uint8)
    mean, std = np.full(64, 0.3, np.float32), np.full(64, 0.2, np.float32)
    maker = BatchMaker(mean, std)
    plain = maker.standardise(imgs).copy()
    noisy = maker.augmented(imgs, np.random.default_rng(0), AugmentConfig(0.0, 0.0, 0.02))
    eps = (noisy - plain) * 0.2  # back to [0, 1] pixel units
    assert eps.std() == pytest.approx(0.02, rel=0.03) and abs(eps.mean()) < 5e-4
    a = maker.augmented(imgs, np.random.default_rng(1), AugmentConfig(0, 0, 0.02)).copy()
    b = maker.augmented(imgs, np.random.default_rng(2), AugmentConfig(0, 0, 0.02)).copy()
    assert not np.array_equal(a, b)  # a different block of the bank per batch


def test_standardise_and_augmented_with_zero_strength_agree():
    imgs = np.random.default_rng(0).integers(0, 256, (32, 8, 8), dtype=np.uint8)
    mean, std = feature_stats(imgs)
    maker = BatchMaker(mean, std)
    plain = maker.standardise(imgs).copy()
    expected = (imgs.reshape(32, -1) / 255.0 - mean) / std
    np.testing.assert_allclose(plain, expected, rtol=1e-5, atol=1e-5)
    aug = maker.augmented(imgs, np.random.default_rng(0), AugmentConfig(0.0, 0.0, 0.0))
    np.testing.assert_allclose(aug, plain, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(standardise_all(imgs, mean, std), plain, rtol=1e-6)
