"""A bad NIH ``Data_Entry`` CSV is one clear line naming the file, through the API and the
CLI (exit 2) — never a traceback, never a silently mislabelled image."""

from __future__ import annotations

import pytest

from chexmini_cli.main import main
from core.data import load_data
from core.foundation.errors import ChexminiError
from tests.helpers.data import make_nih_root


@pytest.fixture()
def nih_root(tmp_path, monkeypatch):
    monkeypatch.setenv("CHEXMINI_DATA", str(tmp_path / "cache"))
    root = tmp_path / "nih"
    make_nih_root(root, n_patients=8, side=64)
    return root


def _rewrite_csv(root, edit):
    csv = next(root.glob("Data_Entry_2017*.csv"))
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join(edit(lines)) + "\n")
    return csv


CASES = [
    ("missing-column",
     lambda lines: [lines[0].replace("Finding Labels", "Findings")] + lines[1:],
     "lacks 'Image Index' / 'Finding Labels'"),
    ("unknown-label",
     lambda lines: [lines[0], lines[1].replace(lines[1].split(",")[1], "Broken Bone", 1),
                    *lines[2:]], "unknown label 'Broken Bone'"),
    ("empty-label",
     lambda lines: [lines[0], ",".join([lines[1].split(",")[0], "", *lines[1].split(",")[2:]]),
                    *lines[2:]], "unknown label ''"),
    ("short-row", lambda lines: [lines[0], "00000001_000.png", *lines[2:]], "too few columns"),
    ("no-rows", lambda lines: [lines[0]], "no rows"),
]


@pytest.mark.parametrize("name, edit, message", CASES, ids=[c[0] for c in CASES])
def test_bad_csv_api_and_cli(nih_root, capsys, name, edit, message):
    csv = _rewrite_csv(nih_root, edit)
    with pytest.raises(ChexminiError, match=message.replace("(", r"\(").replace("|", r"\|")) as err:
        load_data(f"nih:{nih_root}", image_size=64, workers=1)
    assert str(csv) in str(err.value) and "\n" not in str(err.value)
    assert main(["data", "info", "--data", f"nih:{nih_root}", "--workers", "1"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and str(csv) in lines[0]
