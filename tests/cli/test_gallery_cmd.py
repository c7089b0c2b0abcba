"""``chexmini gallery``: one cell of a run, most confident first, checked against the saved
score files; data that cannot be found is one line and exit code 2."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from chexmini_cli.main import main
from core.data import load_data
from tests.helpers import REPO


@pytest.mark.parametrize("cell", ["TP", "FN"])
def test_gallery_json_lists_the_cell_in_confidence_order(capsys, cell):
    t = 0.55
    assert main(["gallery", str(REPO / "artifacts"), "--split", "val", "--cell", cell.lower(),
                 "--threshold", str(t), "--top", "0", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    scores = np.load(REPO / "artifacts" / "val_scores.npy")
    labels = np.load(REPO / "artifacts" / "val_labels.npy")
    if cell == "TP":   # abnormal and score >= t, highest score first
        want = sorted((i for i in range(len(scores)) if labels[i] == 1 and scores[i] >= t),
                      key=lambda i: (-scores[i], i))
    else:              # abnormal and score < t, lowest score first
        want = sorted((i for i in range(len(scores)) if labels[i] == 1 and scores[i] < t),
                      key=lambda i: (scores[i], i))
    assert [r["index"] for r in out["images"]] == want and out["n_cell"] == len(want)
    names = load_data("nih-sample").val.names       # the published split, seed 0
    assert [r["file"] for r in out["images"]] == [str(names[i]) for i in want]
    assert all(r["patient"] == int(r["file"][:8]) and r["true_label"] == "abnormal"
               for r in out["images"])
    assert [r["score"] for r in out["images"]] == [float(scores[i]) for i in want]


def test_gallery_text_lines_and_top(capsys):
    assert main(["gallery", str(REPO / "artifacts"), "--cell", "FP", "--top", "3"]) == 0
    first, *lines = capsys.readouterr().out.splitlines()
    assert first == f"checkpoint: {REPO / 'artifacts'}"   # which checkpoint, said first
    assert "43 images" in lines[0]      # test FP at the saved threshold (README: FP 43)
    assert len(lines) == 4 and lines[1].split()[0] == "1" and "true normal" in lines[1]


def test_gallery_unreachable_data_is_one_line(tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(REPO / "artifacts", run)
    m = json.loads((run / "metrics.json").read_text())
    m["data"]["source"] = f"folder:{tmp_path / 'gone'}"
    (run / "metrics.json").write_text(json.dumps(m))
    assert main(["gallery", str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"chexmini: error: {run}: the run's data folder:")
    assert "not reachable here" in err and "\n" not in err
