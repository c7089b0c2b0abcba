"""``--data`` forms: image folders, ChestMNIST, auto-detection, options, and the existing
npz / synthetic sources unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from core.data import load_data, split_args
from core.data.images import resize_area
from core.data.sources import detect_scheme, parse_source_options
from core.data.synthetic import make_images
from core.foundation.errors import ChexminiError
from tests.helpers.data import make_chestmnist, make_folder


@pytest.fixture(autouse=True)
def _data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("CHEXMINI_DATA", str(tmp_path / "chexmini-data"))


def _names(data):
    return [set(map(str, s.names)) for s in (data.train, data.val, data.test)]


def test_folder_flat_grouped_split(tmp_path):
    labels = make_folder(tmp_path / "f", n=40)
    data = load_data(str(tmp_path / "f"), workers=1)          # auto-detected
    assert data.source == f"folder:{(tmp_path / 'f').resolve()}"
    tr, va, te = _names(data)
    assert tr | va | te == set(labels) and not (tr & va or tr & te or va & te)
    for s in (data.train, data.val, data.test):
        assert isinstance(s.images, np.memmap)
        assert all(labels[n] == lab for n, lab in zip(s.names, s.labels, strict=True))
    g = [set(s.groups.tolist()) for s in (data.train, data.val, data.test)]
    assert not (g[0] & g[1] or g[0] & g[2] or g[1] & g[2])
    assert "patient-grouped" in data.info["split"]
    again = load_data(data.source, **split_args(data.info))
    assert again.fingerprint() == data.fingerprint()


@pytest.mark.slow
def test_folder_presplit_and_plain_names(tmp_path):
    labels = make_folder(tmp_path / "p", presplit=True, n=40, nih_names=False)
    data = load_data(f"folder:{tmp_path / 'p'}", workers=1)
    tr, va, te = _names(data)
    assert all(n.startswith("train/") for n in tr)
    assert all(n.startswith("val/") for n in va) and all(n.startswith("test/") for n in te)
    assert tr | va | te == set(labels)
    assert data.info["patients"].startswith("unknown")
    (tmp_path / "p" / "val").rename(tmp_path / "p" / "unused")
    carved = load_data(f"folder:{tmp_path / 'p'}", workers=1, val_fraction=0.25)
    assert len(carved.val) > 0 and "carved" in carved.info["split"]


def test_folder_errors(tmp_path):
    (tmp_path / "empty" / "normal").mkdir(parents=True)
    with pytest.raises(ChexminiError, match="no image files"):
        load_data(f"folder:{tmp_path / 'empty'}")
    (tmp_path / "x").mkdir()
    with pytest.raises(ChexminiError, match="unrecognised data source"):
        load_data(str(tmp_path / "x"))
    with pytest.raises(ChexminiError, match="not found"):
        load_data(str(tmp_path / "nothing-here"))


@pytest.mark.parametrize("side", [64, 128])
def test_chestmnist_keeps_split_any_finding_resizes(tmp_path, side):
    arrays = make_chestmnist(tmp_path / f"chestmnist_{side}.npz", side=side)
    data = load_data(str(tmp_path / f"chestmnist_{side}.npz"))     # auto-detected
    assert data.source.startswith("chestmnist:")
    for split, name in ((data.train, "train"), (data.val, "val"), (data.test, "test")):
        assert len(split) == len(arrays[f"{name}_images"])
        np.testing.assert_array_equal(split.labels, arrays[f"{name}_labels"].any(axis=1))
        assert isinstance(split.images, np.memmap)
        want = arrays[f"{name}_images"][3]
        np.testing.assert_array_equal(split.images[3], resize_area(want, 64))
    assert data.info["patients"].startswith("unknown")
    assert data.summary()["train"]["n"] == 40
    sub = load_data(data.source, n_train=20, n_test=10)
    assert len(sub.train) == 20 and len(sub.test) == 10
    again = load_data(sub.source, **split_args(sub.info))
    assert again.fingerprint() == sub.fingerprint()


def test_chestmnist_28_refused_for_64_and_channels(tmp_path):
    make_chestmnist(tmp_path / "chestmnist.npz", side=28)
    with pytest.raises(ChexminiError, match="28×28 images but the model needs 64×64"):
        load_data(f"chestmnist:{tmp_path / 'chestmnist.npz'}")
    d28 = load_data(f"chestmnist:{tmp_path / 'chestmnist.npz'}", image_size=28)
    assert d28.image_size == 28
    arrays = make_chestmnist(tmp_path / "rgb.npz", side=64, channels=3)
    data = load_data(f"chestmnist:{tmp_path / 'rgb.npz'}")
    assert data.train.images.shape[1:] == (64, 64)
    rgb = arrays["train_images"][0]
    from PIL import Image

    np.testing.assert_array_equal(data.train.images[0],
                                  np.asarray(Image.fromarray(rgb, "RGB").convert("L")))


def test_chestmnist_default_path_and_missing(tmp_path):
    with pytest.raises(ChexminiError, match="data download chestmnist --size 64"):
        load_data("chestmnist")
    make_chestmnist(tmp_path / "chexmini-data" / "chestmnist_64.npz", side=64)
    data = load_data("chestmnist")
    assert len(data.train) == 40


@pytest.mark.slow
def test_existing_npz_and_synthetic_unchanged(tmp_path):
    images, labels, names, groups = make_images(120, 64, seed=0)
    np.savez(tmp_path / "images64.npz", images=images, labels=labels, names=names)
    a = load_data(str(tmp_path))
    b = load_data(f"npz:{tmp_path / 'images64.npz'}")
    assert a.source == b.source == f"npz:{(tmp_path / 'images64.npz').resolve()}"
    assert a.fingerprint() == b.fingerprint()
    assert detect_scheme(tmp_path / "images64.npz") == "npz"
    s = load_data("synthetic:100")
    assert s.source == "synthetic:100" and s.info["val_fraction"] == 0.15
    assert load_data("synthetic").source == "synthetic:600"
    sub = load_data("synthetic:200", n_train=50)
    assert len(sub.train) == 50 and sub.source == "synthetic:200?n_train=50"
    assert load_data(sub.source, **split_args(sub.info)).fingerprint() == sub.fingerprint()


def test_source_options():
    assert parse_source_options("nih:/x?n_train=5&val_fraction=0.2") == (
        "nih:/x", {"n_train": 5, "val_fraction": 0.2})
    assert parse_source_options("folder:/a?b") == ("folder:/a?b", {})
    with pytest.raises(ChexminiError, match="unknown data option"):
        parse_source_options("nih:/x?bogus=1")
    with pytest.raises(ChexminiError, match="needs a number"):
        parse_source_options("nih:/x?n_train=many")
    data = load_data("synthetic:100?val_fraction=0.3", val_fraction=0.15)
    assert data.info["val_fraction"] == 0.3
    assert data.source == "synthetic:100?val_fraction=0.3"
