"""``chexmini predict``: the not-an-X-ray check and true labels, in the table and --json."""

from __future__ import annotations

import json

from chexmini_cli.main import main
from core.data.nih_sample import sample_pngs
from tests.helpers import REPO


def test_json_has_ood_and_true_label(capsys):
    png = sample_pngs()[0]
    loss = REPO / "artifacts" / "loss_curve.png"
    assert main(["predict", "--checkpoint", str(REPO / "artifacts"), "--json",
                 "--image", str(loss), str(png)]) == 0
    rows = json.loads(capsys.readouterr().out)["predictions"]
    assert rows[0]["ood"]["flagged"] and rows[0]["true_label"] is None
    # a plot: far from the training images (7.22 vs ≈ 1) and almost flat (spread < 0.10)
    assert rows[0]["ood"]["distance"] > 7 and rows[0]["ood"]["contrast"] < 0.10
    assert any("almost flat" in why for why in rows[0]["ood"]["reasons"])
    assert not rows[1]["ood"]["flagged"] and rows[1]["true_label"] == "normal"


def test_table_warns_and_reports_accuracy(capsys):
    assert main(["predict", "--checkpoint", str(REPO / "artifacts"), "--samples"]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "/12 =" in out
    assert "not X-ray-like" not in out
