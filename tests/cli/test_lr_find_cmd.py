"""``chexmini lr-find``: the suggestion printed (text and JSON), the plot written, bad
flags refused in one line — and nothing else written, no run folder created or touched."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from chexmini_cli.main import main
from core.training.lr_find import RULE

SMALL = ["--data", "synthetic:120", "--hidden-dims", "16", "--batch-size", "32",
         "--steps", "40", "--end-lr", "100"]


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root``: its size and modification time (ns)."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*")}


@pytest.mark.slow
def test_json_plot_and_nothing_else_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "runs" / "old"          # a run folder already there: left untouched
    run.mkdir(parents=True)
    (run / "metrics.json").write_text("{}")
    before = _tree(tmp_path)
    assert main(["lr-find", *SMALL, "--json", "--plot", "curve.png"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rule"] == RULE
    assert out["below_prior_loss"] == (out["min_smoothed_loss"] < out["prior_loss"])
    assert out["suggestion"] == pytest.approx(out["lr_at_min"] / 10)
    n = out["steps_run"]
    assert 1 <= n <= 40 and all(len(v) == n for v in out["curve"].values())
    i = out["curve"]["smoothed"].index(min(out["curve"]["smoothed"]))
    assert out["curve"]["lr"][i] == out["lr_at_min"]
    assert out["curve"]["lr"] == sorted(out["curve"]["lr"])
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    after = _tree(tmp_path)
    assert set(after) - set(before) == {"curve.png"}
    assert {k: after[k] for k in before} == before
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_text_report_states_the_rule_and_the_train_flag(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["lr-find", *SMALL]) == 0
    out = capsys.readouterr().out
    assert "suggested lr " in out and RULE in out
    lr = out.split("suggested lr ")[1].split()[0]
    assert f"chexmini train --lr {lr}" in out
    assert float(lr) > 0
    assert os.listdir(tmp_path) == []   # no run folder, no file


@pytest.mark.parametrize(("flags", "named"), [
    (["--steps", "1"], "--steps"),
    (["--start-lr", "0"], "--start-lr"),
    (["--end-lr", "1e-9"], "--end-lr"),
    (["--smoothing", "1"], "--smoothing"),
    (["--explode", "0.5"], "--explode"),
    (["--lr", "-1"], "--lr"),
])
def test_bad_flags_are_one_line(flags, named, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["lr-find", *SMALL, *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("chexmini: error: ") and named in err and "\n" not in err


def test_a_plot_into_a_missing_folder_is_refused_before_any_work(tmp_path, capsys):
    assert main(["lr-find", *SMALL, "--plot", str(tmp_path / "no" / "p.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--plot" in err and "does not exist" in err and "\n" not in err


def test_a_curve_that_shows_no_learning_is_flagged(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["lr-find", *SMALL, "--start-lr", "1e-12", "--end-lr", "1e-11"]) == 0
    out = capsys.readouterr().out
    assert "note: the smoothed loss never fell below" in " ".join(out.split())
