"""The ``chexmini`` command line, end to end (in-process and as a real subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from chexmini_cli.main import main
from core.inference import load_checkpoint

TINY = ["--hidden-dims", "32,16", "--batch-size", "64"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    rc = main(["train", "--data", "synthetic:200", "--epochs", "2", "--out", str(out),
               "--quiet", *TINY])
    assert rc == 0
    return out


@pytest.mark.slow
def test_train_writes_a_loadable_checkpoint_and_events(run_dir):
    model, *_ = load_checkpoint(run_dir)
    assert model.widths == (4096, 32, 16, 1)
    lines = (run_dir / "events.jsonl").read_text().splitlines()
    kinds = [json.loads(line)["event"] for line in lines]
    assert kinds[0] == "run_started" and kinds[-1] == "finished"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["config"]["epochs"] == 2 and metrics["config"]["batch_size"] == 64


def test_predict_table_and_json(run_dir, tmp_path, capsys):
    img = tmp_path / "a.png"
    Image.fromarray(np.full((128, 128), 90, np.uint8)).save(img)
    assert main(["predict", "--checkpoint", str(run_dir), "--image", str(img), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    pred = out["predictions"][0]
    assert 0 <= pred["prob_abnormal"] <= 1
    assert pred["label"] == ("abnormal" if pred["prob_abnormal"] >= out["threshold"] else "normal")
    assert main(["predict", "--checkpoint", str(run_dir), "--image", str(img)]) == 0
    assert "P(abnormal)" in capsys.readouterr().out


def test_predict_bad_file_is_exit_2_with_one_line(run_dir, tmp_path, capsys):
    rc = main(["predict", "--checkpoint", str(run_dir), "--image", str(tmp_path / "no.png")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err == [f"chexmini: error: {tmp_path / 'no.png'}: file not found"]


def test_evaluate_matches_the_saved_test_metrics(run_dir, capsys):
    assert main(["evaluate", "--checkpoint", str(run_dir), "--data", "synthetic:200",
                 "--split", "test", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["splits"]["test"]
    saved = json.loads((run_dir / "metrics.json").read_text())["test"]
    assert report["auc"] == pytest.approx(saved["auc"], abs=1e-6)
    assert report["confusion_matrix"] == saved["confusion_matrix"]


@pytest.mark.slow
def test_gradcheck_passes_fresh_and_on_checkpoint(run_dir, capsys):
    assert main(["gradcheck", "--hidden-dims", "16,8", "--image-size", "8", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] and len(report["rows"]) == 7
    assert main(["gradcheck", "--checkpoint", str(run_dir), "--samples", "5"]) == 0
    assert "fc1.W" in capsys.readouterr().out


def test_gradcheck_exit_1_when_it_fails(capsys):
    # an absurd tolerance makes every tensor fail: the exit code must say so
    assert main(["gradcheck", "--hidden-dims", "8", "--image-size", "8", "--tol", "0"]) == 1


def test_inspect(run_dir, capsys):
    assert main(["inspect", str(run_dir), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["best_epoch"] >= 1 and "model.npz" in info["files"]
    # the dropout it was trained with (the loaded model itself runs without dropout)
    dropout = info["config"]["dropout"]
    assert dropout > 0 and f"dropout {dropout:g} in training" in info["model"]
    assert main(["inspect", str(run_dir)]) == 0
    text = " ".join(capsys.readouterr().out.split())      # as read, whatever the wrapping
    assert f"MLP(4096→32→16→1, dropout {dropout:g} in training" in text


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--data", "nowhere/at/all", "--epochs", "1"], "data source not found"),
        (["train", "--data", "synthetic:abc"], "whole number"),
        (["train", "--data", "synthetic", "--dropout", "2"], "dropout must be"),
        (["train", "--data", "nih-sample?n_train=0"], "n_train must be"),
        (["predict", "--checkpoint", "no/such/dir", "--image", "x.png"],
         "checkpoint folder not found"),
        (["train", "--resume", "no/such/run"], "nothing to resume"),
    ],
)
def test_bad_arguments_exit_2_with_one_clear_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("chexmini: error:") and message in err[0]


@pytest.mark.slow
def test_console_entry_points_run_as_subprocesses(tmp_path):
    for cmd in ([sys.executable, "-m", "chexmini_cli", "--version"],
                [sys.executable, "-m", "chexmini_cli", "--help"]):
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stderr
    res = subprocess.run([sys.executable, "-m", "chexmini_cli", "predict", "--checkpoint",
                          str(tmp_path), "--image", "x.png"], capture_output=True, text=True)
    assert res.returncode == 2 and ("model.npz" in res.stderr or "metrics.json" in res.stderr)
    assert "Traceback" not in res.stderr


@pytest.mark.slow
def test_engine_never_imports_textual_or_rich():
    code = ("import sys, pkgutil, importlib, core\n"
            "for m in pkgutil.walk_packages(core.__path__, 'core.'):\n"
            "    importlib.import_module(m.name)\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')]\n"
            "print(bad); sys.exit(1 if bad else 0)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_training_into_a_used_folder_names_the_way_out(run_dir, capsys):
    assert main(["train", "--data", "synthetic:200", "--out", str(run_dir), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "already holds a run (" in err and "metrics.json" in err and "--overwrite" in err
