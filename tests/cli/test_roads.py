"""One concept, one road, through the command line: ``--split validation`` means
``--split val``; every command applies the checkpoint's active threshold (its saved
operating point, else ``metrics.json``'s ``threshold``); a checkpoint's saved scores are
evaluated without data; a chexmini → published → chexmini round trip keeps what the run
recorded. Real files and real commands through :func:`chexmini_cli.main.main`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from chexmini_cli.main import main
from core.evaluation.metrics import confusion_matrix
from core.evaluation.operating_point import choose_operating_point
from core.inference import load_checkpoint
from tests.core.test_published_layout import make_published
from tests.helpers import REPO, writable_shipped
from tests.helpers.tui import make_checkpoint

DATA = "synthetic:200"


def run_json(capsys, *argv) -> dict:
    rc = main([str(a) for a in argv])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    return json.loads(captured.out)


def one_line_error(capsys, *argv) -> str:
    rc = main([str(a) for a in argv])
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and lines[0].startswith("chexmini: error: "), captured
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("roads") / "c")


# -- --split validation ------------------------------------------------------------------
def test_evaluate_split_validation_is_split_val(ckpt, capsys):
    val = run_json(capsys, "evaluate", "--checkpoint", ckpt, "--data", DATA, "--split", "val",
                   "--json")
    validation = run_json(capsys, "evaluate", "--checkpoint", ckpt, "--data", DATA,
                          "--split", "validation", "--json")
    assert validation == val and set(val["splits"]) == {"val"}


def test_gallery_split_validation_is_split_val(capsys):
    args = ["gallery", REPO / "artifacts", "--cell", "TP", "--top", "0", "--json"]
    val = run_json(capsys, *args, "--split", "val")
    validation = run_json(capsys, *args, "--split", "validation")
    assert validation == val and val["split"] == "val" and val["n_cell"] > 0


@pytest.mark.parametrize("command", ["evaluate", "gallery"])
def test_help_shows_split_validation(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--split {val,validation,test}" in out or "--split {train,val,validation," in out


# -- the active threshold ----------------------------------------------------------------
@pytest.fixture(scope="module")
def operated(tmp_path_factory) -> Path:
    """The shipped run with an operating point saved by ``evaluate --target-sensitivity
    0.9 --save`` (chosen on its validation split of the embedded NIH sample)."""
    run = tmp_path_factory.mktemp("op") / "run"
    writable_shipped(run, "events.jsonl")
    assert main(["evaluate", "--checkpoint", str(run), "--target-sensitivity", "0.9",
                 "--save", "--json"]) == 0
    return run


def saved(run: Path) -> tuple[float, float, str]:
    """``(metrics.json threshold, operating threshold, its rule)``."""
    m = json.loads((run / "metrics.json").read_text())
    return m["threshold"], m["operating_point"]["threshold"], m["operating_point"]["rule"]


def test_every_command_applies_the_saved_operating_point(operated, capsys, tmp_path):
    youden, t, rule = saved(operated)
    assert t != youden and rule == "sensitivity>=0.9 on validation"
    gallery = run_json(capsys, "gallery", operated, "--cell", "FP", "--top", "0", "--json")
    assert gallery["threshold"] == t and gallery["rule"] == rule
    ev = run_json(capsys, "evaluate", "--checkpoint", operated, "--json")
    assert ev["threshold"] == t and ev["rule"] == rule
    # the gallery's cell is the evaluated confusion-matrix cell at the same threshold
    assert gallery["n_cell"] == ev["splits"]["test"]["confusion_matrix"]["fp"]
    pred = run_json(capsys, "predict", "--checkpoint", operated, "--samples", "--json")
    assert pred["threshold"] == t and pred["rule"] == rule
    insp = run_json(capsys, "inspect", operated, "--json")
    assert insp["active_threshold"] == t and insp["active_rule"] == rule


def test_gallery_text_names_the_active_threshold_and_rule(operated, capsys):
    _, t, rule = saved(operated)
    assert main(["gallery", str(operated), "--top", "1"]) == 0
    head = capsys.readouterr().out.splitlines()[1]   # after the checkpoint's line
    assert f"at threshold {t:.4f} ({rule})" in head


def test_inspect_leads_with_the_active_threshold(operated, capsys):
    youden, t, rule = saved(operated)
    assert main(["inspect", str(operated)]) == 0
    out = capsys.readouterr().out
    first = out.index(f"threshold {t:.4f} ({rule})")
    assert f"{youden:.4f}" not in out[:first]           # the operating one comes first
    assert f"training threshold (Youden's J) {youden:.4f}" in out
    assert main(["inspect", str(REPO / "artifacts")]) == 0
    plain = json.loads((REPO / "artifacts" / "metrics.json").read_text())["threshold"]
    assert f"threshold {plain:.4f} (saved threshold)" in capsys.readouterr().out


# -- evaluate: saved scores need no data -------------------------------------------------
def write_scores(folder: Path, seed: int = 0, n: int = 90) -> dict[str, tuple]:
    """Score files for ``folder`` (as a run writes them); returns them."""
    rng = np.random.default_rng(seed)
    out = {}
    for split in ("val", "test"):
        labels = (np.arange(n) % 3 == 0).astype(np.float64)
        scores = np.round(1 / (1 + np.exp(-rng.normal(1.2 * labels - 0.4, 1.0))), 6)
        np.save(folder / f"{split}_scores.npy", scores)
        np.save(folder / f"{split}_labels.npy", labels)
        out[split] = (scores, labels)
    return out


@pytest.fixture()
def published(tmp_path) -> tuple[Path, dict]:
    """A bicubic published-layout checkpoint (16 px) with its saved scores."""
    folder = make_published(tmp_path / "pub")
    return folder, write_scores(folder)


def test_evaluate_a_published_checkpoint_without_data(published, capsys):
    folder, scores = published
    out = run_json(capsys, "evaluate", "--checkpoint", folder, "--split", "validation",
                   "--json")
    assert out["data"] == "its saved scores" and out["threshold"] == 0.5
    assert out["splits"]["val"]["confusion_matrix"] == confusion_matrix(*scores["val"], 0.5)
    assert main(["evaluate", "--checkpoint", str(folder)]) == 0        # the table too
    assert "on its saved scores" in " ".join(capsys.readouterr().out.split())  # any wrap
    # a target chosen on the saved validation scores, and saved
    out = run_json(capsys, "evaluate", "--checkpoint", folder, "--target-specificity", "0.8",
                   "--save", "--json")
    op = choose_operating_point(*scores["val"], "specificity", 0.8)
    assert out["threshold"] == op.threshold and load_checkpoint(folder).threshold == op.threshold


def test_evaluate_without_data_matches_the_saved_metrics(ckpt, capsys):
    out = run_json(capsys, "evaluate", "--checkpoint", ckpt, "--json")
    m = json.loads((ckpt / "metrics.json").read_text())
    assert out["data"] == "its saved scores"
    assert out["splits"]["test"]["confusion_matrix"] == m["test"]["confusion_matrix"]
    assert out["splits"]["test"]["auc"] == pytest.approx(m["test"]["auc"], abs=1e-12)


def test_what_needs_images_still_scores_data(ckpt, capsys):
    # --split train is not saved, and a data flag asks for data: both re-score images
    out = run_json(capsys, "evaluate", "--checkpoint", ckpt, "--split", "train", "--data",
                   DATA, "--json")
    assert out["data"].startswith("synthetic") and set(out["splits"]) == {"train"}
    out = run_json(capsys, "evaluate", "--checkpoint", ckpt, "--n-test", "40", "--json")
    assert out["data"].startswith("nih-sample") and out["splits"]["test"]["n_val"] == 40


def test_evaluate_without_scores_or_data_is_one_line(tmp_path, capsys):
    folder = make_published(tmp_path / "bare")              # model.npz and metrics.json only
    line = one_line_error(capsys, "evaluate", "--checkpoint", folder)
    assert "nih-sample" in line and "image_size is 16" in line


def test_a_damaged_score_file_is_one_line_naming_it(published, capsys):
    folder, _ = published
    (folder / "test_labels.npy").unlink()
    line = one_line_error(capsys, "evaluate", "--checkpoint", folder)
    assert str(folder / "test_labels.npy") in line and "file not found" in line


# -- export: the round trip keeps what the run recorded ----------------------------------
def test_round_trip_through_the_published_layout_keeps_metrics_and_gallery(operated,
                                                                           tmp_path, capsys):
    pub, back = tmp_path / "pub", tmp_path / "back"
    assert main(["export", str(operated), str(pub)]) == 0
    out = capsys.readouterr().out
    youden, t, rule = saved(operated)
    assert (f"published code applies metrics.json's threshold {youden:.4f}; chexmini applies "
            f"the saved operating threshold {t:.4f} ({rule})") in " ".join(out.split())
    assert main(["export", str(pub), str(back), "--format", "chexmini"]) == 0
    capsys.readouterr()
    original = json.loads((operated / "metrics.json").read_text())
    published_json = json.loads((pub / "metrics.json").read_text())
    assert json.loads((back / "metrics.json").read_text()) == original
    # the published keys come first, in the published order; chexmini's follow
    assert list(published_json)[:7] == ["best_epoch", "threshold", "label_map", "config",
                                        "splits", "validation", "test"]
    assert list(published_json["config"])[:2] == ["image_size", "hidden_dims"]
    args = ["--cell", "FN", "--top", "0", "--json"]
    want = run_json(capsys, "gallery", operated, *args)
    for folder in (pub, back):
        got = run_json(capsys, "gallery", folder, *args)
        assert got["threshold"] == t and got["images"] == want["images"]
        assert load_checkpoint(folder).threshold == t


def test_gallery_on_a_folder_without_a_data_record_is_one_line(published, capsys):
    folder, _ = published             # the published layout records no data source
    line = one_line_error(capsys, "gallery", folder)
    assert str(folder / "metrics.json") in line and "records no data source" in line


def test_inspect_json_of_a_metrics_file_with_only_a_threshold(tmp_path, capsys):
    folder = make_published(tmp_path / "pub")
    (folder / "metrics.json").write_text(json.dumps({"threshold": 0.4}))   # schema: enough
    out = run_json(capsys, "inspect", folder, "--json")
    assert out["active_threshold"] == 0.4 and "validation" not in out


@pytest.mark.parametrize("labels, split, words", [
    (np.zeros(90), "test", "only one class present"),
    (np.r_[2.0, np.zeros(44), np.ones(45)], "test", "labels must all be 0 or 1"),
    (np.zeros(90), "val", "cannot choose the threshold"),
])
def test_bad_saved_labels_are_one_line_naming_the_file(published, capsys, labels, split,
                                                       words):
    folder, _ = published
    np.save(folder / f"{split}_labels.npy", labels)
    line = one_line_error(capsys, "evaluate", "--checkpoint", folder,
                          "--target-sensitivity", "0.9")
    assert line.startswith(f"chexmini: error: {folder / f'{split}_labels.npy'}: ")
    assert words in line
