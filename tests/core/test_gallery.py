"""The error gallery: cell selection and order checked against the definition written out
here, and the images behind a run's scores checked by scoring them again."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.data import load_data
from core.evaluation.metrics import confusion_matrix
from core.foundation.errors import ChexminiError
from core.inference import load_checkpoint, predict_proba
from core.inference.gallery import CELLS, cell_counts, gallery_item, select
from core.runs import layout
from core.runs.images import locate
from core.runs.splits import read_splits
from tests.helpers import REPO, run_to_end, tiny_config


def _by_definition(scores, labels, t, cell):
    """Cell membership and order written out element by element."""
    members = []
    for i, (s, y) in enumerate(zip(scores, labels, strict=True)):
        predicted_abnormal = s >= t
        truly_abnormal = y == 1
        in_cell = {"TN": not truly_abnormal and not predicted_abnormal,
                   "FP": not truly_abnormal and predicted_abnormal,
                   "FN": truly_abnormal and not predicted_abnormal,
                   "TP": truly_abnormal and predicted_abnormal}[cell]
        if in_cell:
            members.append(i)
    if cell in ("FP", "TP"):     # predicted abnormal: highest score first
        return sorted(members, key=lambda i: (-scores[i], i))
    return sorted(members, key=lambda i: (scores[i], i))   # predicted normal: lowest first


def test_select_matches_the_definition_with_ties_and_a_score_on_the_threshold():
    rng = np.random.default_rng(7)
    scores = np.round(rng.random(200), 2)          # two decimals: many exact ties
    labels = (rng.random(200) < 0.4).astype(np.float64)
    t = 0.5
    scores[[3, 4]] = t                             # exactly on the threshold: abnormal
    for cell in CELLS:
        got = select(scores, labels, t, cell).tolist()
        assert got == _by_definition(scores.tolist(), labels.tolist(), t, cell)
    assert 3 in select(scores, labels, t, "FP").tolist() + select(scores, labels, t,
                                                                  "TP").tolist()
    together = np.sort(np.concatenate([select(scores, labels, t, c) for c in CELLS]))
    assert together.tolist() == list(range(200))   # every image in exactly one cell
    cm = confusion_matrix(scores, labels, t)
    assert cell_counts(scores, labels, t) == {c: cm[c.lower()] for c in CELLS}


def test_select_orders_a_small_hand_made_case():
    scores = np.array([0.9, 0.2, 0.7, 0.1, 0.6, 0.3, 0.7])
    labels = np.array([0, 0, 0, 1, 1, 1, 0])
    assert select(scores, labels, 0.5, "FP").tolist() == [0, 2, 6]   # 0.9, 0.7, 0.7 (tie)
    assert select(scores, labels, 0.5, "TN").tolist() == [1]
    assert select(scores, labels, 0.5, "FN").tolist() == [3, 5]      # 0.1 before 0.3
    assert select(scores, labels, 0.5, "tp").tolist() == [4]         # case-insensitive


def test_unknown_cell_is_one_line():
    with pytest.raises(ChexminiError, match="unknown cell 'XX'"):
        select(np.zeros(3), np.zeros(3), 0.5, "XX")


# -- the shipped checkpoint: no splits.json, split recomputed and fingerprint-checked ----------
@pytest.mark.parametrize("split", ["val", "test"])
def test_shipped_checkpoint_images_score_to_the_saved_scores(split):
    run = locate(REPO / "artifacts", split)
    ckpt = load_checkpoint(REPO / "artifacts")
    saved = np.load(REPO / "artifacts" / f"{split}_scores.npy")
    x = (run.images.reshape(len(run), -1).astype(np.float32) / 255 - ckpt.mean) / ckpt.std
    rescored = predict_proba(ckpt.model, x)
    assert np.max(np.abs(rescored - saved)) < 1e-6     # image i is the image of score i
    assert np.array_equal(run.labels, np.load(REPO / "artifacts" / f"{split}_labels.npy"))
    assert all(p == int(n[:8]) for n, p in zip(run.names, run.patients, strict=True))
    metrics = json.loads((REPO / "artifacts" / "metrics.json").read_text())
    block = metrics["validation" if split == "val" else "test"]
    counts = cell_counts(run.scores, run.labels, metrics["threshold"])
    assert counts == {c: block["confusion_matrix"][c.lower()] for c in CELLS}


# -- a run trained now: splits.json written and used ---------------------------------------------
@pytest.fixture(scope="module")
def linear_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "linear"
    data = load_data("synthetic:200", seed=1)
    run_to_end(tiny_config(hidden_dims=[], epochs=2, batch_size=64), data, out)
    return out


def test_training_records_names_and_patients_in_score_order(linear_run):
    rec = read_splits(linear_run / layout.SPLITS)
    data = load_data("synthetic:200", seed=1)
    assert rec["source"] == data.source == "synthetic:200"
    for split in ("val", "test"):
        part = getattr(data, split)
        assert rec[split]["names"] == [str(n) for n in part.names]
        assert rec[split]["patients"] == [int(g) for g in part.groups]
        assert np.array_equal(np.load(linear_run / f"{split}_labels.npy"), part.labels)


def test_gallery_item_of_a_linear_model_has_saliency_abs_w(linear_run):
    """For logit = w·x + b, ∂logit/∂x = w for every image: saliency = |w|."""
    ckpt = load_checkpoint(linear_run)
    run = locate(linear_run, "test")
    w = np.load(linear_run / "model.npz")["fc1.W"][:, 0]
    t = ckpt.threshold
    for cell in CELLS:
        for i in select(run.scores, run.labels, t, cell)[:2]:
            item = gallery_item(run, int(i), ckpt)
            assert item.score == run.scores[i] and item.name == run.names[i]
            assert (item.score >= t) == (cell[1] == "P")
            assert item.label == (1 if cell in ("FN", "TP") else 0)
            np.testing.assert_allclose(item.saliency, np.abs(w), rtol=1e-6)
            assert item.patient == int(item.name[:8])


# -- unreachable or mismatching data: one clear line ---------------------------------------------
def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _edit_metrics(run: Path, edit) -> None:
    m = json.loads((run / "metrics.json").read_text())
    edit(m)
    (run / "metrics.json").write_text(json.dumps(m))


def test_changed_labels_say_the_data_does_not_match(linear_run, tmp_path):
    run = _copy(linear_run, tmp_path / "r")
    y = np.load(run / "val_labels.npy")
    y[0] = 1 - y[0]
    np.save(run / "val_labels.npy", y)
    with pytest.raises(ChexminiError, match=r"does not match the run \(validation labels "
                                            r"differ from val_labels.npy\)") as err:
        locate(run, "val")
    assert "\n" not in str(err.value) and str(run) in str(err.value)


def test_changed_names_in_the_record_say_the_data_does_not_match(linear_run, tmp_path):
    run = _copy(linear_run, tmp_path / "r")
    rec = json.loads((run / layout.SPLITS).read_text())
    rec["test"]["names"][0] = "99999999_000.png"
    (run / layout.SPLITS).write_text(json.dumps(rec))
    with pytest.raises(ChexminiError, match="test file names differ from splits.json"):
        locate(run, "test")


def test_old_run_checks_the_fingerprint(linear_run, tmp_path):
    run = _copy(linear_run, tmp_path / "r")
    (run / layout.SPLITS).unlink()
    assert len(locate(run, "val")) == len(np.load(run / "val_scores.npy"))  # fingerprint ok
    _edit_metrics(run, lambda m: m["config"].update(dataset_revision="0" * 40))
    with pytest.raises(ChexminiError, match="fingerprint differs from config.dataset_revision"):
        locate(run, "val")


def test_unreachable_source_names_it(linear_run, tmp_path):
    run = _copy(linear_run, tmp_path / "r")
    gone = tmp_path / "elsewhere" / "images64.npz"
    _edit_metrics(run, lambda m: m["data"].update(source=f"npz:{gone}"))
    with pytest.raises(ChexminiError, match=r"the run's data npz:.*images64.npz is not "
                                            r"reachable here \(.*file not found\)"):
        locate(run, "test")
    _edit_metrics(run, lambda m: m.pop("data"))
    with pytest.raises(ChexminiError, match="records no data source"):
        locate(run, "test")


@pytest.mark.parametrize("text, problem", [
    ("{", "not valid JSON"),
    ("[]", "expected a JSON object"),
    ('{"version": 2, "source": "x"}', "unknown version 2"),
    ('{"version": 1, "source": "x", "val": {"names": [1], "patients": [1]}}',
     "'val.names': expected a list of strings"),
    ('{"version": 1, "source": "x", "val": {"names": ["a"], "patients": [true]}}',
     "'val.patients': expected a list of whole numbers"),
    ('{"version": 1, "source": "x", "val": {"names": ["a"], "patients": []}}',
     "1 names but 0 patients"),
])
def test_hostile_splits_json_is_one_line(linear_run, tmp_path, text, problem):
    run = _copy(linear_run, tmp_path / "r")
    (run / layout.SPLITS).write_text(text)
    with pytest.raises(ChexminiError, match=problem) as err:
        locate(run, "val")
    assert str(err.value).startswith(str(run / layout.SPLITS)) and "\n" not in str(err.value)


def test_export_keeps_the_record_and_the_gallery_works_on_the_copy(linear_run, tmp_path):
    from core.runs.export import export_checkpoint

    out = tmp_path / "exported"
    export_checkpoint(linear_run, out, "chexmini")
    assert (out / layout.SPLITS).read_bytes() == (linear_run / layout.SPLITS).read_bytes()
    a, b = locate(linear_run, "val"), locate(out, "val")
    assert b.names.tolist() == a.names.tolist() and np.array_equal(b.images, a.images)


# -- sources decoded through the preprocessing cache: NIH as downloaded, image folders -----------
@pytest.mark.slow
@pytest.mark.parametrize("kind", ["nih", "folder"])
def test_cached_sources_pair_each_score_with_its_image(tmp_path, monkeypatch, kind):
    from tests.helpers.data import make_folder, make_nih_root

    monkeypatch.setenv("CHEXMINI_DATA", str(tmp_path / "cache"))
    root = tmp_path / kind
    if kind == "nih":
        make_nih_root(root, n_patients=60, side=64)
    else:
        make_folder(root, n=80)
    data = load_data(f"{kind}:{root}", seed=0, workers=1)
    out = tmp_path / "run"
    run_to_end(tiny_config(hidden_dims=[8], epochs=1, batch_size=32), data, out)
    ckpt = load_checkpoint(out)
    for split in ("val", "test"):
        run = locate(out, split)
        part = getattr(data, split)
        assert run.names.tolist() == [str(n) for n in part.names]
        x = (run.images.reshape(len(run), -1).astype(np.float32) / 255 - ckpt.mean) / ckpt.std
        np.testing.assert_allclose(predict_proba(ckpt.model, x), run.scores, atol=1e-6)
        want = [int(Path(n).name[:8]) if Path(n).name[:8].isdigit() else -1
                for n in run.names]
        assert run.patients.tolist() == want


def test_an_image_replaced_under_its_name_is_refused(tmp_path):
    """splits.json pins the names, not the pixels: a test image swapped for another
    under the same file name must not be shown beside the old image's saved score."""
    from tests.helpers.data import make_folder, write_png

    root = tmp_path / "imgs"
    make_folder(root, n=40)
    run = tmp_path / "run"
    run_to_end(tiny_config(hidden_dims=[], epochs=1, batch_size=64, image_size=32),
               load_data(f"folder:{root}", image_size=32), run)
    assert len(locate(run, "test")) > 0
    name = read_splits(run / layout.SPLITS)["test"]["names"][0]
    target = next(root.rglob(name))
    write_png(target, "gray8", 999, 96)                  # new pixels, same name
    with pytest.raises(ChexminiError, match="its images differ from the ones the run "
                                            "scored") as err:
        locate(run, "test")
    assert "\n" not in str(err.value)
