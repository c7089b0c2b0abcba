"""Checkpoint loading, image preprocessing and prediction — including bad input."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from core.data.images import load_gray
from core.foundation.errors import ChexminiError
from core.inference import (
    load_checkpoint,
    predict_files,
    predict_label,
    predict_proba,
    preprocess_image,
    saliency,
)
from core.runs import layout
from tests.helpers import run_to_end, synthetic, tiny_config
from tests.helpers.files import png_bytes, rewrite_npz


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    out = tmp_path_factory.mktemp("ckpt")
    run_to_end(tiny_config(epochs=2), synthetic(200), out)
    return out


@pytest.fixture()
def broken_ckpt(ckpt, tmp_path):
    """A writable copy of the checkpoint to damage."""
    dst = tmp_path / "ck"
    shutil.copytree(ckpt, dst)
    return dst


def gradient_image(size=256, mode="L"):
    yy, xx = np.mgrid[0:size, 0:size]
    arr = ((xx + yy) * 255 // (2 * size - 2)).astype(np.uint8)
    img = Image.fromarray(arr, mode="L")
    return img if mode == "L" else img.convert(mode)


@pytest.mark.slow
def test_load_checkpoint_returns_the_published_tuple(ckpt):
    model, mean, std, thr = load_checkpoint(ckpt)
    metrics = json.loads((ckpt / "metrics.json").read_text())
    assert thr == metrics["threshold"]
    assert model.widths == (4096, 32, 16, 1) and mean.shape == std.shape == (4096,)
    assert load_checkpoint(ckpt / "model.npz")[3] == thr  # the file itself works too


def test_predict_label_uses_the_threshold(ckpt, tmp_path):
    model, mean, std, thr = load_checkpoint(ckpt)
    path = tmp_path / "x.png"
    gradient_image().save(path)
    x = preprocess_image(path, 64, mean, std)
    assert x.shape == (4096,) and x.dtype == np.float32
    prob, label = predict_label(model, x, thr)
    assert prob == pytest.approx(float(predict_proba(model, x[None])[0]))
    assert label == ("abnormal" if prob >= thr else "normal")
    assert predict_label(model, x, prob)[1] == "abnormal"
    assert predict_label(model, x, np.nextafter(prob, 2))[1] == "normal"


def test_preprocess_matches_the_training_pipeline(ckpt, tmp_path):
    """A PNG of a training image, preprocessed, equals the standardised training row."""
    from core.nn.batches import standardise_all

    data = synthetic(200)
    _, mean, std, _ = load_checkpoint(ckpt)
    img = data.test.images[0]
    Image.fromarray(img).save(tmp_path / "t.png")
    x = preprocess_image(tmp_path / "t.png", 64, mean, std)
    np.testing.assert_allclose(x, standardise_all(img[None], mean, std)[0], rtol=1e-6)


def test_image_modes_all_become_the_same_grayscale(tmp_path):
    ref = load_gray_saved(gradient_image(), tmp_path / "l.png")
    for mode in ("RGB", "RGBA", "P", "LA"):
        got = load_gray_saved(gradient_image(mode=mode), tmp_path / f"{mode}.png")
        assert np.abs(got.astype(int) - ref).max() <= 2, mode
    cmyk = load_gray_saved(gradient_image(mode="CMYK"), tmp_path / "c.jpg")
    assert np.abs(cmyk.astype(int) - ref).mean() < 8


def load_gray_saved(img, path):
    img.save(path)
    return load_gray(path, 64)


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path):
    arr8 = np.asarray(gradient_image())
    arr16 = arr8.astype(np.uint16) * 257
    Image.fromarray(arr16).save(tmp_path / "16.png")
    assert Image.open(tmp_path / "16.png").mode.startswith("I")
    np.testing.assert_array_equal(load_gray(tmp_path / "16.png", 64),
                                  load_gray_saved(gradient_image(), tmp_path / "8.png"))


def test_area_resize_is_the_box_mean():
    from core.data.images import resize_area

    arr = np.random.default_rng(0).integers(0, 256, (256, 256), dtype=np.uint8)
    out = resize_area(arr, 64)
    expected = arr.reshape(64, 4, 64, 4).mean(axis=(1, 3))
    assert np.abs(out - expected).max() <= 0.5 + 1e-9
    odd = resize_area(arr[:250, :200], 64)
    assert odd.shape == (64, 64)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: None, "file not found"),
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: p.write_bytes(b""), "empty file"),
        (lambda p: p.write_text("not an image at all"), "not an image"),
        (lambda p: p.write_bytes(png_bytes()[:200]), "truncated or corrupt|cannot decode"),
        (lambda p: Image.new("L", (1, 1)).save(p, format="PNG"), r"only 1×1 pixels"),
    ],
    ids=["missing", "directory", "zero-bytes", "text", "truncated", "1x1"],
)
def test_bad_image_files_are_one_line_errors(tmp_path, make, message):
    path = tmp_path / "bad.png"
    make(path)
    with pytest.raises(ChexminiError, match=message) as err:
        load_gray(path, 64)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_decompression_bomb_is_reported(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    Image.new("L", (300, 300)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    with pytest.raises(ChexminiError, match="decompression bomb"):
        load_gray(path, 64)


def test_predict_files_keeps_going_past_bad_files(ckpt, tmp_path):
    model, mean, std, thr = load_checkpoint(ckpt)
    good = tmp_path / "good.png"
    gradient_image().save(good)
    preds = predict_files(model, mean, std, thr, [good, tmp_path / "missing.png", good])
    assert [p.error is None for p in preds] == [True, False, True]
    assert preds[0].prob == pytest.approx(preds[2].prob)
    assert "missing.png: file not found" in preds[1].error


def test_saliency_is_the_input_gradient_of_the_logit(ckpt):
    model, mean, std, thr = load_checkpoint(ckpt)
    x = np.random.default_rng(0).standard_normal(4096).astype(np.float32)
    sal = saliency(model, x)
    m64 = model.astype(np.float64)
    h, idx = 1e-5, [0, 100, 2000]
    for i in idx:
        xp, xm = x.astype(np.float64), x.astype(np.float64)
        xp[i] += h
        xm[i] -= h
        num = (m64.predict_logits(xp[None])[0] - m64.predict_logits(xm[None])[0]) / (2 * h)
        assert abs(abs(num) - sal[i]) < 1e-3 * max(1e-3, abs(num))


# -- damaged checkpoints ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / "model.npz").unlink(), r"model\.npz: file not found"),
        (lambda d: (d / "metrics.json").unlink(), r"metrics\.json: file not found"),
        (lambda d: (d / "metrics.json").write_text("{not json"), "not valid JSON"),
        (lambda d: (d / "metrics.json").write_text('{"best_epoch": 1}'), "threshold"),
        (lambda d: (d / "model.npz").write_bytes(b"garbage"), "not a readable npz"),
        (lambda d: rewrite_npz(d / "model.npz", lambda a: a.pop("_norm_std")),
         "missing key '_norm_std'"),
        (lambda d: rewrite_npz(d / "model.npz",
                                lambda a: a.__setitem__("fc2.W", a["fc2.W"][:5])),
         "inconsistent weights"),
        (lambda d: rewrite_npz(d / "model.npz",
                                lambda a: a["fc1.W"].__setitem__((0, 0), np.nan)),
         "NaN"),
        (lambda d: rewrite_npz(d / "model.npz",
                                lambda a: a.__setitem__("_norm_mean", a["_norm_mean"][:100])),
         "_norm_mean has 100 values"),
    ],
    ids=["no-model", "no-metrics", "bad-json", "no-threshold", "not-npz", "missing-key",
         "wrong-shape", "nan-weights", "norm-length"],
)
def test_damaged_checkpoints_are_one_line_errors(broken_ckpt, damage, message):
    damage(broken_ckpt)
    with pytest.raises(ChexminiError, match=message) as err:
        load_checkpoint(broken_ckpt)
    assert "\n" not in str(err.value) and str(broken_ckpt) in str(err.value)


def test_checkpoint_path_that_is_not_a_folder(tmp_path):
    with pytest.raises(ChexminiError, match="checkpoint folder not found"):
        load_checkpoint(tmp_path / "nope")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(ChexminiError, match="not a checkpoint folder"):
        load_checkpoint(tmp_path / "f.txt")


def test_artifact_set_is_complete(ckpt):
    assert all((ckpt / f).is_file() for f in layout.ARTIFACT_FILES)


# -- the model card's API, literally ---------------------------------------------------------
def test_predict_label_defaults_to_half_and_takes_one_image_either_shape(ckpt, tmp_path):
    model, mean, std, _ = load_checkpoint(ckpt)
    Image.fromarray(np.full((64, 64), 90, np.uint8)).save(tmp_path / "a.png")
    x = preprocess_image(tmp_path / "a.png", image_size=64, mean=mean, std=std)
    prob, label = predict_label(model, x)
    assert label == ("abnormal" if prob >= 0.5 else "normal")
    assert predict_label(model, x[None]) == (prob, label)
    with pytest.raises(ChexminiError, match=r"one image, \(D,\) or \(1, D\)"):
        predict_label(model, np.stack([x, x]))
    # a threshold just above / at the probability flips the label by score >= t
    assert predict_label(model, x, prob)[1] == "abnormal"
    assert predict_label(model, x, np.nextafter(prob, 1.0))[1] == "normal"


def test_forward_takes_the_published_keyword(ckpt):
    model = load_checkpoint(ckpt).model
    x = np.random.default_rng(0).standard_normal((3, model.widths[0])).astype(np.float32)
    np.testing.assert_array_equal(model.forward(x, training=False).copy(),
                                  model.forward(x, train=False).copy())


def test_an_image_scores_the_same_alone_and_in_a_batch(ckpt):
    """float32 GEMMs round a row differently in batches of different sizes; inference
    computes in float64, so predict (batches) and the API (one image) agree to 1e-12."""
    model = load_checkpoint(ckpt).model
    x = np.random.default_rng(1).standard_normal((37, model.widths[0])).astype(np.float32)
    batch = predict_proba(model, x)
    alone = np.array([predict_proba(model, row)[0] for row in x])
    np.testing.assert_allclose(batch, alone, rtol=0, atol=1e-12)
    # and it is the float32 model's own forward pass, to float32 precision
    np.testing.assert_allclose(batch, model.predict_proba(x), rtol=0, atol=1e-5)


def test_the_statistics_carry_the_checkpoints_resize_filter(ckpt, tmp_path):
    """``preprocess_image(path, image_size=64, mean=mean, std=std)`` — no filter named —
    runs the checkpoint's own pipeline; a filter named explicitly still wins."""
    loaded = load_checkpoint(ckpt)
    _, mean, std, _ = loaded
    assert mean.resize_filter == std.resize_filter == loaded.resize_filter == "area"
    img = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(2).integers(0, 255, (200, 200), np.uint8)).save(img)
    np.testing.assert_array_equal(preprocess_image(img, image_size=64, mean=mean, std=std),
                                  loaded.preprocess(img))
    bicubic = preprocess_image(img, image_size=64, mean=mean, std=std, resize="bicubic")
    assert not np.array_equal(bicubic, loaded.preprocess(img))
    assert type(preprocess_image(img, image_size=64, mean=mean, std=std)) is np.ndarray
