"""``chexmini data prepare`` / ``chexmini data info``."""

from __future__ import annotations

import json

import pytest

import core.data.cache.pool as cache
from chexmini_cli.main import main
from tests.helpers.data import make_nih_root


@pytest.fixture(autouse=True)
def _data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("CHEXMINI_DATA", str(tmp_path / "chexmini-data"))


@pytest.mark.slow
def test_prepare_then_info(tmp_path, capsys):
    root = tmp_path / "nih"
    facts = make_nih_root(root, "archives", n_patients=30, side=64)
    assert main(["data", "prepare", "--data", f"nih:{root}", "--workers", "2"]) == 0
    out = capsys.readouterr().out
    for word in ("train", "val", "test", "positive rate", "patients", "skipped 2 image(s)",
                 facts["truncated"], "file not found", "chexmini train --data"):
        assert word in out, word
    assert main(["data", "info", "--data", str(root), "--json", "--n-train", "20"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["source"].endswith("?n_train=20")
    assert report["splits"]["train"]["n"] == 20
    assert report["info"]["cache_decoded"] == 0                 # reused, nothing decoded
    s = report["splits"]["test"]
    assert s["n"] == s["pos"] + s["neg"] and s["patients"] > 0


@pytest.mark.slow
def test_prepare_interrupted_then_continued(tmp_path, capsys, monkeypatch):
    root = tmp_path / "nih"
    make_nih_root(root, "images", n_patients=30, side=64)
    real = cache.decode_chunk
    calls = {"n": 0}

    def flaky(task):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(cache, "decode_chunk", flaky)
    monkeypatch.setattr(cache, "default_workers", lambda: 1)
    code = main(["data", "prepare", "--data", str(root), "--workers", "1"])
    assert code == 130
    assert "run the same command again to continue" in capsys.readouterr().err
    monkeypatch.setattr(cache, "decode_chunk", real)
    assert main(["data", "info", "--data", str(root), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)["info"]
    assert 0 < info["cache_decoded"] < info["listed"] - 1
    assert any("resuming" in n for n in info["notes"])


def test_info_bad_source_is_one_line(tmp_path, capsys):
    assert main(["data", "info", "--data", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("chexmini: error:") and len(err.strip().splitlines()) == 1
