"""The shipped checkpoint in artifacts/ is complete and self-consistent, its split is the
embedded sample's, and (with the real data beside the repository) its test scores are
reproduced from the subset's 64×64 PNGs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.data import load_data
from core.evaluation.metrics import confusion_matrix, roc_auc, split_report, youden_threshold
from core.inference import load_checkpoint, predict_files
from core.runs import layout
from tests.helpers import REPO

ART = REPO / "artifacts"


@pytest.fixture(scope="module")
def metrics() -> dict:
    return json.loads((ART / "metrics.json").read_text())


def test_the_full_artifact_set_is_shipped():
    for name in layout.ARTIFACT_FILES:
        assert (ART / name).is_file(), name
    assert not (ART / "resume.npz").exists()


@pytest.mark.slow
def test_load_checkpoint_gives_the_published_architecture(metrics):
    model, mean, std, thr = load_checkpoint(ART)
    assert model.widths == (4096, 1024, 256, 64, 1)
    assert mean.shape == std.shape == (4096,) and np.all(std > 0)
    assert thr == metrics["threshold"]
    assert metrics["config"]["hidden_dims"] == [1024, 256, 64]


def test_metrics_recomputed_from_the_shipped_scores(metrics):
    vs, vl = np.load(ART / "val_scores.npy"), np.load(ART / "val_labels.npy")
    ts, tl = np.load(ART / "test_scores.npy"), np.load(ART / "test_labels.npy")
    assert youden_threshold(vs, vl) == metrics["threshold"]  # chosen on validation only
    assert roc_auc(vs, vl) == pytest.approx(metrics["validation"]["auc"], abs=1e-12)
    assert roc_auc(ts, tl) == pytest.approx(metrics["test"]["auc"], abs=1e-12)
    assert confusion_matrix(ts, tl, metrics["threshold"]) == metrics["test"]["confusion_matrix"]
    assert split_report(ts, tl, metrics["threshold"]) == metrics["test"]
    assert split_report(vs, vl, metrics["threshold"]) == metrics["validation"]
    for split, labels in (("val", vl), ("test", tl)):
        assert metrics["splits"][split]["n"] == len(labels)
        assert metrics["splits"][split]["pos"] == int(labels.sum())


def test_history_matches_the_best_epoch(metrics):
    history = json.loads((ART / "history.json").read_text())
    assert len(history["val_auc"]) == metrics["config"]["epochs"]
    assert metrics["best_epoch"] == int(np.argmax(history["val_auc"])) + 1
    assert max(history["val_auc"]) == pytest.approx(metrics["validation"]["auc"], abs=1e-9)


def test_the_split_is_reproducible_from_the_embedded_sample(metrics):
    info = metrics["data"]
    assert info["source"] == "nih-sample"
    data = load_data(info["source"], seed=info["split_seed"],
                     val_fraction=info["val_fraction"], test_fraction=info["test_fraction"])
    assert data.fingerprint() == metrics["config"]["dataset_revision"]
    np.testing.assert_array_equal(data.test.labels, np.load(ART / "test_labels.npy"))


def test_predicting_the_test_pngs_reproduces_the_shipped_scores(shared_data, metrics):
    info = metrics["data"]
    data = load_data(info["source"], seed=info["split_seed"],
                     val_fraction=info["val_fraction"], test_fraction=info["test_fraction"])
    scores = np.load(ART / "test_scores.npy")
    png_dir = shared_data / "nih14_subset" / "png"
    rows = [(i, png_dir / name) for i, name in enumerate(data.test.names)
            if (png_dir / name).is_file()]
    assert len(rows) >= 20  # the 64×64 PNGs are pixel-identical to the npz rows
    model, mean, std, thr = load_checkpoint(ART)
    preds = predict_files(model, mean, std, thr, [p for _, p in rows])
    got = np.array([p.prob for p in preds])
    np.testing.assert_allclose(got, scores[[i for i, _ in rows]], rtol=1e-5, atol=1e-7)
    assert [p.label for p in preds] == [
        "abnormal" if s >= thr else "normal" for s in scores[[i for i, _ in rows]]]
