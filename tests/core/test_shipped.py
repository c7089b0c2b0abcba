"""The shipped checkpoint (``core/runs/release/shipped.py``): which checkpoint is the
default, and that nothing shipped or installed is ever written; and the model card
(``core/runs/release/card.py``) rendered from ``metrics.json``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from core.evaluation.operating_point import choose_operating_point
from core.foundation.errors import ChexminiError
from core.runs import layout
from core.runs.checkpoint import active_threshold, load_checkpoint, save_operating_point
from core.runs.export import export_checkpoint
from core.runs.folder import check_can_start, claim
from core.runs.release.card import render_card
from core.runs.release.shipped import (
    COPY_HINT,
    GIVEN,
    INSTALLED,
    LOCAL,
    installed_checkpoint,
    is_shipped,
    refuse_shipped,
    resolve_checkpoint,
)
from tests.helpers import REPO, run_to_end, synthetic, tiny_config, writable_shipped
from tests.helpers.files import file_stamps, skip_unless_installed

SHIPPED = REPO / "artifacts"
needs_install = skip_unless_installed()



# -- which checkpoint -----------------------------------------------------------------------
@needs_install
def test_no_local_artifacts_means_the_installed_copy(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    choice = resolve_checkpoint(None)
    assert (choice.source, Path(choice.path)) == (INSTALLED, installed_checkpoint())
    assert (Path(choice.path) / layout.MODEL).is_file()
    assert "installed with chexmini" in choice.describe() and choice.label() == \
        "artifacts (installed)"
    # the name artifacts where no such folder exists is the installed copy too, for the
    # published API's load_checkpoint("artifacts") as well
    assert resolve_checkpoint("artifacts/").source == INSTALLED
    assert Path(load_checkpoint("artifacts").path) == installed_checkpoint()


def test_local_artifacts_win_over_the_installed_copy(tmp_path, monkeypatch):
    (tmp_path / "artifacts").mkdir()
    monkeypatch.chdir(tmp_path)
    choice = resolve_checkpoint(None)
    assert (choice.path, choice.source) == ("artifacts", LOCAL)
    assert choice.describe() == "checkpoint: artifacts (./artifacts in this folder)"


def test_the_checkpoint_given_always_wins(tmp_path, monkeypatch):
    (tmp_path / "artifacts").mkdir()
    monkeypatch.chdir(tmp_path)
    for given in ("mine", "artifacts", str(tmp_path / "nowhere")):
        choice = resolve_checkpoint(given)
        assert (choice.path, choice.source) == (given, GIVEN)
        assert choice.describe() == f"checkpoint: {given}"


# -- never written ----------------------------------------------------------------------------
@needs_install
def test_the_shipped_and_installed_folders_are_shipped_and_a_copy_is_not(tmp_path):
    assert is_shipped(SHIPPED) and is_shipped(SHIPPED / layout.MODEL)
    assert is_shipped(installed_checkpoint())
    assert not is_shipped(writable_shipped(tmp_path / "mine"))
    with pytest.raises(ChexminiError) as err:
        refuse_shipped(SHIPPED, "a test write")
    assert str(err.value) == (f"{SHIPPED}: is the checkpoint shipped with chexmini, which is "
                              f"never written (a test write); make a writable copy first: "
                              f"{COPY_HINT}")


def test_every_writer_refuses_the_shipped_checkpoint_and_writes_nothing(tmp_path):
    before = file_stamps(SHIPPED)
    scored = load_checkpoint(SHIPPED)
    val = (np.load(SHIPPED / layout.VAL_SCORES), np.load(SHIPPED / layout.VAL_LABELS))
    op = choose_operating_point(*val, "sensitivity", 0.9)
    mine = writable_shipped(tmp_path / "mine")
    writes = {
        "save_operating_point": lambda: save_operating_point(SHIPPED, op),
        "export --overwrite into it": lambda: export_checkpoint(mine, SHIPPED, "chexmini",
                                                                overwrite=True),
        "train --overwrite into it": lambda: claim(SHIPPED, overwrite=True),
        "train's early check": lambda: check_can_start(SHIPPED, overwrite=True),
        "resume it": lambda: claim(SHIPPED, resume=True),
    }
    for what, write in writes.items():
        with pytest.raises(ChexminiError, match="never written") as err:
            write()
        assert "\n" not in str(err.value) and COPY_HINT in str(err.value), what
    assert file_stamps(SHIPPED) == before and scored.threshold == load_checkpoint(SHIPPED).threshold


# -- the model card -------------------------------------------------------------------------
def _card_of(folder: Path) -> str:
    metrics = json.loads((folder / layout.METRICS).read_text())
    active = active_threshold(metrics)
    return render_card(metrics, active.value, active.rule, folder.name)


def test_the_shipped_card_is_its_metrics_rendered():
    assert (SHIPPED / layout.CARD).read_text(encoding="utf-8") == _card_of(SHIPPED)


def card_numbers(card: str) -> dict:
    """What the card says, read back: the table, the confusion matrices, the thresholds."""
    rows = dict(re.findall(r"^\| ([^|]+?) \| ([^|]+ \| [^|]+) \|$", card, re.M))
    cms = {s: dict((k.lower(), int(v)) for k, v in re.findall(r"(TN|FP|FN|TP)=(\d+)", line))
           for s, line in re.findall(r"^- confusion matrix, (\w+): (.*)$", card, re.M)}
    return {"rows": {k: tuple(v.split(" | ")) for k, v in rows.items()}, "cm": cms,
            "youden": re.search(r"Youden's J = ([0-9.]+)", card).group(1),
            "active": re.search(r"Operating threshold \*\*([0-9.]+)\*\*", card).group(1)}


def assert_card_agrees(folder: Path) -> None:
    """The card's every number is ``metrics.json``'s (read here with ``json``)."""
    m = json.loads((folder / layout.METRICS).read_text())
    seen = card_numbers((folder / layout.CARD).read_text(encoding="utf-8"))
    keys = {"ROC-AUC": "auc", "accuracy": "accuracy", "balanced accuracy": "balanced_accuracy",
            "precision": "precision", "recall (sensitivity)": "recall",
            "specificity": "specificity", "F1": "f1"}
    for label, key in keys.items():
        assert seen["rows"][label] == (f"{m['validation'][key]:.4f}", f"{m['test'][key]:.4f}")
    assert seen["cm"] == {"validation": m["validation"]["confusion_matrix"],
                          "test": m["test"]["confusion_matrix"]}
    assert seen["youden"] == f"{m['threshold']:.4f}"
    op = m.get("operating_point")
    assert seen["active"] == f"{(op or m)['threshold']:.4f}"


def test_the_card_has_the_hub_page_parts_and_agrees_with_metrics():
    card = (SHIPPED / layout.CARD).read_text(encoding="utf-8")
    front = card.split("---\n")[1]
    assert card.startswith("---\n") and "license: mit" in front
    assert "library_name: numpy" in front and "tags:\n- chest-xray" in front
    for part in ("## Architecture", "**4096 → 1024 → 256 → 64 → 1**", "## Results",
                 "## Threshold", "## Files", "## Usage"):
        assert part in card, part
    assert_card_agrees(SHIPPED)


def test_the_cards_three_lines_run_and_agree_with_load_checkpoint(tmp_path, monkeypatch):
    """The usage block, executed as written (beside the folder, on a real X-ray)."""
    from core.data.nih_sample import sample_pngs

    card = (SHIPPED / layout.CARD).read_text(encoding="utf-8")
    code = card.split("```python\n")[1].split("```")[0]
    assert len(code.strip().splitlines()) == 4     # the import and the three lines
    png = sample_pngs()[0]
    (tmp_path / "xray.png").write_bytes(Path(png).read_bytes())
    (tmp_path / "artifacts").symlink_to(SHIPPED)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(code, scope)  # noqa: S102 - the card's own lines
    from core.inference import predict_files

    ckpt = load_checkpoint(SHIPPED)     # what chexmini predict shows for the same file
    (pred,) = predict_files(ckpt.model, ckpt.mean, ckpt.std, ckpt.threshold, [png],
                            resize=ckpt.resize_filter)
    want = pred.prob
    assert scope["prob"] == pytest.approx(want, abs=1e-9) and scope["threshold"] == ckpt.threshold
    assert scope["label"] == ("abnormal" if want >= ckpt.threshold else "normal")


def test_saving_an_operating_point_renders_the_card_again(tmp_path):
    mine = writable_shipped(tmp_path / "mine")
    val = (np.load(mine / layout.VAL_SCORES), np.load(mine / layout.VAL_LABELS))
    op = choose_operating_point(*val, "sensitivity", 0.9)
    save_operating_point(mine, op)
    card = (mine / layout.CARD).read_text(encoding="utf-8")
    assert card == _card_of(mine) and card != (SHIPPED / layout.CARD).read_text(encoding="utf-8")
    assert f"**{op.threshold:.4f}** ({op.rule})" in card
    assert_card_agrees(mine)


@pytest.mark.parametrize("fmt", ["chexvision-mini", "chexmini"])
def test_an_export_writes_its_card(tmp_path, fmt):
    res = export_checkpoint(SHIPPED, tmp_path / "out", fmt)
    assert layout.CARD in res.files
    assert (res.out / layout.CARD).read_text(encoding="utf-8") == _card_of(res.out)
    assert_card_agrees(res.out)


@pytest.mark.slow
def test_a_finished_run_writes_its_card(tmp_path):
    out = tmp_path / "run"
    run_to_end(tiny_config(epochs=2), synthetic(240), out)
    assert (out / layout.CARD).read_text(encoding="utf-8") == _card_of(out)
    assert_card_agrees(out)
    assert not is_shipped(out)
