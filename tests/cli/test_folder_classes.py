"""``--classes`` on the commands that take a folder; the small-split and given-split
warnings; bootstrap AUC intervals in train's summary and in evaluate (text and JSON)."""

from __future__ import annotations

import json

import pytest

from chexmini_cli.main import main
from tests.helpers.layouts import kaggle

CLASSES = ["--classes", "normal=NORMAL", "abnormal=PNEUMONIA"]


@pytest.fixture(autouse=True)
def _data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("CHEXMINI_DATA", str(tmp_path / "chexmini-data"))


def test_data_info_reads_a_kaggle_folder_with_classes(tmp_path, capsys):
    kaggle(tmp_path / "k", n=3)
    assert main(["data", "info", "--data", str(tmp_path / "k"), "--image-size", "16",
                 *CLASSES, "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "read given splits train/ val/ test/" in out
    assert out.count("patients cannot be") == 1 and out.count("small splits") == 1
    assert main(["data", "info", "--data", str(tmp_path / "k"), "--image-size", "16",
                 *CLASSES, "--workers", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["source"].endswith("?classes=normal=normal;abnormal=pneumonia")
    assert len(report["warnings"]) == 2


@pytest.mark.parametrize("extra, problem", [
    ([], "PNEUMONIA/ is not a known class"),
    (["--classes", "normal=NORMAL"], "both normal and abnormal"),
])
def test_bad_or_missing_classes_are_one_line(tmp_path, capsys, extra, problem):
    kaggle(tmp_path / "k", n=1)
    assert main(["data", "info", "--data", str(tmp_path / "k"), "--image-size", "16",
                 "--workers", "1", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert problem in err and "\n" not in err and "Traceback" not in err


@pytest.mark.slow
def test_train_and_evaluate_show_auc_intervals(tmp_path, capsys):
    kaggle(tmp_path / "k", n=4)
    run = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "k"), *CLASSES, "--image-size", "16",
                 "--hidden-dims", "8", "--epochs", "2", "--batch-size", "8", "--out",
                 str(run), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.count("warning:") == 2 and "95% CI" in out
    assert main(["train", "--resume", str(run), *CLASSES]) == 2     # the run's own data
    assert "drop --classes" in capsys.readouterr().err
    assert main(["evaluate", "--checkpoint", str(run), "--split", "all", "--data",
                 str(tmp_path / "k"), *CLASSES, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    for split in report["splits"].values():
        assert split["auc_lo"] <= split["auc"] <= split["auc_hi"]
    assert main(["evaluate", "--checkpoint", str(run)]) == 0
    assert "auc 95% CI" in capsys.readouterr().out
    assert main(["inspect", str(run), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    for split in ("validation", "test"):
        assert report[split]["auc_lo"] <= report[split]["auc"] <= report[split]["auc_hi"]
    assert main(["inspect", str(run)]) == 0
    assert "auc 95% CI" in capsys.readouterr().out
