"""``chexmini runs [DIR] [--sort KEY] [--reverse] [--json]``: the run table for a shell."""

from __future__ import annotations

import json

import pytest

from chexmini_cli.main import main
from tests.helpers.tui import make_checkpoint, write_run_log


def _world(root):
    write_run_log(root / "20261130-a", [0.62, 0.81, 0.77], planned=8)
    write_run_log(root / "20261130-b", [0.58], planned=4, source="nih-sample")
    make_checkpoint(root / "20261129-fin", seed=1, hidden=(8,), epochs=5)
    (root / "20261129-broken").mkdir()
    (root / "20261129-broken" / "metrics.json").write_text("[1, 2")
    return root


def test_runs_json_sorted_by_best_val_auc(tmp_path, capsys):
    root = _world(tmp_path / "runs")
    assert main(["runs", str(root), "--sort", "auc", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    runs = {r["name"]: r for r in out["runs"]}
    assert runs["20261130-a"]["best_val_auc"] == 0.81 and runs["20261130-a"]["epochs"] == 3
    assert runs["20261130-a"]["planned"] == 8 and runs["20261130-a"]["status"] == "interrupted"
    assert runs["20261130-b"]["data"] == "nih-sample"
    fin_auc = runs["20261129-fin"]["best_val_auc"]
    have = [r for r in out["runs"] if r["best_val_auc"] is not None]
    want = sorted((r["best_val_auc"] for r in have), reverse=True)
    assert [r["best_val_auc"] for r in have] == want and fin_auc in want
    assert out["runs"][-1]["name"] == "20261129-broken"          # no AUC: last
    assert "metrics.json" in out["runs"][-1]["error"]


def test_runs_table_names_every_run_and_the_problem(tmp_path, capsys):
    root = _world(tmp_path / "runs")
    assert main(["runs", str(root), "--sort", "name", "--reverse"]) == 0
    out = capsys.readouterr().out
    order = [n for n in ("20261130-b", "20261130-a", "20261129-fin", "20261129-broken")
             if n in out]
    assert len(order) == 4
    assert sorted(order, key=out.index) == order                   # Z→A
    problem = [line for line in out.splitlines() if line.startswith("20261129-broken:")]
    assert len(problem) == 1 and "metrics.json" in problem[0]


def test_runs_bad_folder_is_one_line(tmp_path, capsys):
    assert main(["runs", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"chexmini: error: {tmp_path / 'nope'}: runs folder not found"
    (tmp_path / "file").write_text("x")
    assert main(["runs", str(tmp_path / "file")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:                        # argparse: one line
        main(["runs", str(tmp_path), "--sort", "speed"])
    assert exc.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_runs_status_words_and_what_they_mean(tmp_path, capsys):
    """The table's status words are core.runs.status's, each one shown explained below;
    a folder a live trainer holds is running even beside an old checkpoint, and a FIFO
    as its log is listed at once (never read)."""
    import os

    from core.runs.folder import claim
    from core.runs.status import STATUS_TEXT

    root = _world(tmp_path / "runs")
    live = make_checkpoint(root / "20261201-over", seed=2)
    (root / "20261201-fifo").mkdir()
    os.mkfifo(root / "20261201-fifo" / "events.jsonl")
    lock = claim(live, overwrite=True)
    try:
        assert main(["runs", str(root), "--json"]) == 0
        status = {r["name"]: r["status"] for r in json.loads(capsys.readouterr().out)["runs"]}
        assert main(["runs", str(root)]) == 0
        out = capsys.readouterr().out
    finally:
        lock.release()
    assert status == {"20261201-over": "running", "20261201-fifo": "interrupted",
                      "20261130-a": "interrupted", "20261130-b": "interrupted",
                      "20261129-fin": "finished", "20261129-broken": "finished"}
    for word in ("running", "interrupted"):
        assert f"{word}: {STATUS_TEXT[word]}" in out
    assert "20261201-fifo:" in out and "FIFO" in out
