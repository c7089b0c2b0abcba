"""One concept, one road, through the command line: ``--split validation`` means
``--split val``; every command applies the checkpoint's active threshold (its saved
operating point, else ``metrics.json``'s ``threshold``); a checkpoint's saved scores are
evaluated without data; a chexmini → published → chexmini round trip keeps what the run
recorded. Real files and real commands through :func:`chexmini_cli.main.main`."""

from __future__ import annotations

import json
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
