"""One concept, one road, through the command line: ``--split validation`` means
``--split val``; every command applies the checkpoint's active threshold (its saved
operating point, else ``metrics.json``'s ``threshold``); a checkpoint's saved scores are
evaluated without data; a chexmini → published → chexmini round trip keeps what the run
recorded. Real files and real commands through :func:`chexmini_cli.main.main`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from chexmini_cli.main import main
from tests.helpers import REPO
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
    shutil.copytree(REPO / "artifacts", run, ignore=shutil.ignore_patterns("events.jsonl"))
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
    head = capsys.readouterr().out.splitlines()[0]
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
