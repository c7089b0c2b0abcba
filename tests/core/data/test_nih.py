"""NIH ChestX-ray14 as downloaded: layouts, labels, official split, patients, decoding,
skipped files, subsampling, reproducibility, and the real official lists."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from core.data import load_data, split_args
from core.data.images import resize_area
from core.data.nih import nih_index, nih_split_rows, read_data_entry, read_list
from core.foundation.errors import ChexminiError
from tests.helpers import REPO
from tests.helpers.data import make_nih_root

SHARED_DATA = Path(os.environ.get("CHEXMINI_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def _data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("CHEXMINI_DATA", str(tmp_path / "chexmini-data"))


@pytest.fixture(scope="session")
def nih14_meta() -> Path:
    """``../shared/data/nih14_meta`` (official lists, no images); skips when absent."""
    path = SHARED_DATA / "nih14_meta"
    if not (path / "train_val_list.txt").is_file() or not (path / "test_list.txt").is_file():
        pytest.skip(f"NIH metadata not found at {path}")
    return path


@pytest.fixture(scope="module", params=["images", "archives"])
def nih(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"nih-{request.param}")
    facts = make_nih_root(root, request.param)
    return root, facts


def _all(data):
    return {"train": data.train, "val": data.val, "test": data.test}


@pytest.mark.slow
def test_labels_official_split_and_patients(nih):
    root, facts = nih
    data = load_data(f"nih:{root}", workers=1)
    assert data.source == f"nih:{root.resolve()}"
    seen = set()
    for split in _all(data).values():
        assert isinstance(split.images, np.memmap)
        for nm, lab in zip(split.names, split.labels, strict=True):
            assert facts["labels"][nm] == lab, nm
            assert nm not in seen
            seen.add(nm)
    # Official test list = test split (minus skipped files); train/val from train_val.
    ok = set(facts["labels"]) - {facts["missing"], facts["truncated"]}
    assert set(data.test.names) == set(facts["test"]) & ok
    assert set(data.train.names) | set(data.val.names) == set(facts["train_val"]) & ok
    assert seen == ok
    # No patient in two splits.
    pats = {k: set(s.groups.tolist()) for k, s in _all(data).items()}
    assert not pats["train"] & pats["val"]
    assert not pats["train"] & pats["test"]
    assert not pats["val"] & pats["test"]
    assert len(data.val) > 0 and data.info["val_fraction"] == 0.10


def test_decoding_8bit_16bit_rgb_match(nih):
    root, facts = nih
    data = load_data(str(root), workers=1)  # auto-detected
    rows = {}
    for split in _all(data).values():
        for i, nm in enumerate(split.names):
            rows[nm] = split.images[i]
    kinds_seen = set()
    for nm, g in facts["content"].items():
        if nm == facts["truncated"]:
            continue
        np.testing.assert_array_equal(rows[nm], resize_area(g, 64), err_msg=nm)
        kinds_seen.add(facts["kinds"][nm])
    assert kinds_seen == {"gray8", "gray16", "rgb"}


def test_bad_files_are_reported_not_dropped_silently(nih):
    root, facts = nih
    data = load_data(f"nih:{root}", workers=1)
    info = data.info
    assert info["skipped"] == 2 and info["missing"] == 1 and info["unreadable"] == 1
    text = "\n".join(info["skipped_examples"])
    assert f"{facts['missing']}: file not found" in text
    assert f"{facts['truncated']}: cannot decode image" in text
    import json

    manifest = json.loads((Path(info["cache"]) / "manifest.json").read_text())
    assert {b["name"] for b in manifest["bad"]} == {facts["missing"], facts["truncated"]}
    assert manifest["complete"] and manifest["n_bad"] == 2


@pytest.mark.slow
def test_subsampling_sizes_stratified_and_reproducible(tmp_path):
    root = tmp_path / "nih"
    make_nih_root(root, "images", n_patients=120, side=64)
    full = load_data(f"nih:{root}", workers=1, seed=3)
    data = load_data(f"nih:{root}", workers=1, seed=3, n_train=60, n_test=30)
    assert len(data.train) == 60 and len(data.test) == 30 and len(data.val) == len(full.val)
    assert set(data.train.names) <= set(full.train.names)
    for part, whole in ((data.train, full.train), (data.test, full.test)):
        rate = whole.labels.mean()
        assert abs(part.labels.sum() - rate * len(part)) <= 1.0   # stratified
    assert data.source.endswith("?n_test=30&n_train=60")
    again = load_data(data.source, **split_args(data.info))
    assert again.fingerprint() == data.fingerprint()
    assert again.source == data.source
    # Options in the source string work the same as keyword arguments.
    q = load_data(f"nih:{root}?n_train=60&n_test=30", seed=3, workers=1)
    assert q.fingerprint() == data.fingerprint()
    other = load_data(f"nih:{root}", workers=1, seed=4, n_train=60, n_test=30)
    assert other.fingerprint() != data.fingerprint()
    with pytest.raises(ChexminiError, match="n_train=100,000"):
        load_data(f"nih:{root}", workers=1, n_train=100_000)


def test_v2020_csv_preferred_and_errors(tmp_path):
    root = tmp_path / "nih"
    facts = make_nih_root(root, "images", n_patients=8, side=32,
                          csv_name="Data_Entry_2017_v2020.csv")
    idx = nih_index(root)
    assert idx.csv.name == "Data_Entry_2017_v2020.csv"
    assert len(idx.names) == len(facts["labels"])
    (root / "test_list.txt").write_text("\n".join(facts["test"] + facts["train_val"][:1]))
    with pytest.raises(ChexminiError, match="in both official lists"):
        nih_index(root)
    (root / "test_list.txt").unlink()
    with pytest.raises(ChexminiError, match="test_list.txt"):
        nih_index(root)


@pytest.mark.slow
def test_real_official_lists(nih14_meta, tmp_path):
    """The split code on the real lists: 86,524 train_val / 25,596 test, disjoint, no
    patient in two splits; labels from the CheXNet label files (all 112,120 images)."""
    tv = read_list(nih14_meta / "train_val_list.txt")
    te = read_list(nih14_meta / "test_list.txt")
    assert len(tv) == 86_524 and len(te) == 25_596
    assert len(set(tv)) == len(tv) and not set(tv) & set(te)
    root = tmp_path / "nih"
    root.mkdir()
    for name in ("train_val_list.txt", "test_list.txt"):
        (root / name).symlink_to(nih14_meta / name)
    lines = ["Image Index,Finding Labels,Follow-up #,Patient ID"]
    chexnet = nih14_meta / "chexnet_split_labels"
    for part in ("train_list.txt", "val_list.txt", "test_list.txt"):
        for ln in (chexnet / part).read_text().split("\n"):
            if ln.strip():
                nm, *labs = ln.split()
                finding = "Effusion" if any(v == "1" for v in labs) else "No Finding"
                lines.append(f"{nm},{finding},{int(nm[9:12])},{int(nm[:8])}")
    (root / "Data_Entry_2017.csv").write_text("\n".join(lines) + "\n")
    idx = nih_index(root, require_images=False)
    assert len(idx.names) == 112_120
    assert int(idx.is_test.sum()) == 25_596
    assert idx.n_missing == 112_120  # no images here: all would be reported missing
    rows = nih_split_rows(idx.is_test, idx.groups, idx.labels, np.ones(len(idx.names), bool),
                          0.10, seed=0)
    assert set(idx.names[rows["test"]]) == set(te)
    assert set(idx.names[rows["train"]]) | set(idx.names[rows["val"]]) == set(tv)
    g = {k: set(idx.groups[r].tolist()) for k, r in rows.items()}
    assert not g["train"] & g["val"] and not g["train"] & g["test"] and not g["val"] & g["test"]
    assert len(g["train"]) + len(g["val"]) == 28_008 and len(g["test"]) == 2_797
    assert abs(len(rows["val"]) / len(tv) - 0.10) < 0.005
    rate = idx.labels[rows["train"]].mean()
    assert abs(idx.labels[rows["val"]].mean() - rate) < 0.01


def test_real_partial_data_entry_csv(nih14_meta):
    entries = read_data_entry(nih14_meta / "Data_Entry_partial_first40000rows.csv")
    assert len(entries) == 40_000
    assert entries["00000001_000.png"] == (1, 1)
    assert max(p for _, p in entries.values()) == 10_447
    normal = sum(1 for lab, _ in entries.values() if lab == 0)
    assert 0.4 < normal / len(entries) < 0.7
