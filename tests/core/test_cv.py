"""Cross-validation: grouped folds, same folds for every model, honest summary."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chexmini_cli.main import main
from core.data.nih_sample import SAMPLE_NPZ
from core.data.sources import portable_source
from core.data.split import grouped_kfold
from core.training.cv import concat_splits, cross_validate, fold_splits, summarise
from tests.helpers import synthetic, tiny_config


@pytest.fixture(scope="module")
def full():
    return concat_splits(synthetic(300))


def test_folds_are_patient_grouped_and_cover_everything(full):
    splits = fold_splits(full, 5, 0, 0.15)
    all_test = np.concatenate([s.test.names for s in splits])
    assert sorted(all_test) == sorted(full.names)  # every image is tested exactly once
    for s in splits:
        parts = [set(s.train.groups), set(s.val.groups), set(s.test.groups)]
        assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
        assert len(s.train) + len(s.val) + len(s.test) == len(full)
    sizes = np.bincount(grouped_kfold(full.groups, full.labels, 5, 0))
    assert sizes.max() - sizes.min() <= 6


@pytest.mark.slow
def test_constant_baseline_is_exactly_chance_and_models_share_folds(full):
    results = cross_validate(full, {"mlp": tiny_config(epochs=2), "constant": None}, k=3)
    assert [(r.model, r.fold) for r in results] == [
        ("mlp", 1), ("constant", 1), ("mlp", 2), ("constant", 2), ("mlp", 3), ("constant", 3)]
    for r in results:
        if r.model == "constant":
            assert r.test_auc == 0.5 and r.test_balanced_accuracy == 0.5
    by_fold = {}
    for r in results:
        by_fold.setdefault(r.fold, set()).add((r.n_train, r.n_val, r.n_test))
    assert all(len(v) == 1 for v in by_fold.values())  # same data for both models
    s = summarise(results)
    mlp = [r.test_auc for r in results if r.model == "mlp"]
    assert s["mlp"]["auc_mean"] == pytest.approx(np.mean(mlp))
    assert s["mlp"]["auc_sd"] == pytest.approx(np.std(mlp, ddof=1))
    assert s["constant"]["auc_sd"] == 0.0


@pytest.mark.slow
def test_cv_command_writes_json(tmp_path, capsys):
    out = tmp_path / "cv.json"
    rc = main(["cv", "--data", "synthetic:200", "--folds", "2", "--epochs", "2",
               "--hidden-dims", "16", "--models", "mlp,linear,constant", "--out", str(out)])
    assert rc == 0
    payload = json.loads(out.read_text())
    assert set(payload["summary"]) == {"mlp", "linear", "constant"}
    assert len(payload["results"]) == 6
    assert main(["cv", "--data", "synthetic:200", "--models", "svm"]) == 2


def test_cv_results_name_the_data_without_this_machines_paths(tmp_path, monkeypatch):
    out = tmp_path / "cv.json"
    npz = tmp_path / "data" / "images64.npz"
    npz.parent.mkdir()
    npz.write_bytes(SAMPLE_NPZ.read_bytes())
    monkeypatch.chdir(tmp_path)
    flags = ["--folds", "2", "--epochs", "1", "--hidden-dims", "8", "--models", "constant",
             "--out", str(out)]
    assert main(["cv", *flags]) == 0
    sample = json.loads(out.read_text())
    assert sample["data"] == "nih-sample" and len(sample["data_fingerprint"]) == 40
    assert main(["cv", "--data", str(npz), *flags]) == 0
    copy = json.loads(out.read_text())
    assert copy["data"] == "npz:data/images64.npz" and str(tmp_path) not in out.read_text()
    assert copy["data_fingerprint"] == sample["data_fingerprint"]  # the same images


@pytest.mark.parametrize("source, portable", [
    ("nih-sample", "nih-sample"),
    ("nih-sample?n_train=100", "nih-sample?n_train=100"),
    ("synthetic:200", "synthetic:200"),
    ("chestmnist", "chestmnist"),
    ("npz:/here/runs/data/images64.npz", "npz:runs/data/images64.npz"),
    ("npz:/elsewhere/nih14_subset/images64.npz?n_val=50", "npz:images64.npz?n_val=50"),
    ("nih:/data/NIH", "nih:NIH"),
    ("folder:/here/xrays", "folder:xrays"),
    ("npz:relative/images64.npz", "npz:relative/images64.npz"),
])
def test_portable_source(source, portable):
    assert portable_source(source, cwd="/here") == portable
