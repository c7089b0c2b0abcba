"""Inspect with many runs: the table is filled by a thread worker (50 folders), sorts by
its columns, shows each run's status (a real lock for "running"), and any number of
marked runs are overlaid — the plotted data checked against the runs' own numbers."""

from __future__ import annotations

import asyncio
import os
import threading

import numpy as np
import pytest

from chexmini_tui.widgets.curves import CurveChart
from chexmini_tui.widgets.run_overlay import PALETTE, RunOverlay, run_color
from chexmini_tui.widgets.run_table import RunTable
from core.events import EpochEnd, EventLog
from core.runs.folder import RunLock
from tests.helpers.data import mann_whitney_auc
from tests.helpers.tui import (
    SIZE,
    inspect_ready,
    make_app,
    make_checkpoint,
    select_run,
    wait_for,
    write_run_log,
)

pytestmark = pytest.mark.usefixtures("one_blas_thread")
N_RUNS = 50


def run(coro):
    return asyncio.run(coro)


def aucs_of(i: int) -> list[float]:
    """Run ``i``'s validation AUC per epoch: ``1 + i % 5`` epochs rising to 0.5 + i/200."""
    n = 1 + i % 5
    return [0.5 + i / 200 - 0.01 * (n - e) for e in range(1, n + 1)]


@pytest.fixture
def many(tmp_path):
    make_checkpoint(tmp_path / "artifacts", seed=0)
    for i in range(N_RUNS):
        write_run_log(tmp_path / "runs" / f"run-{i:02d}", aucs_of(i), planned=5)
    return tmp_path


@pytest.mark.slow
def test_fifty_runs_scanned_in_a_thread_and_sorted(many):
    async def go():
        app = make_app(many)
        async with app.run_test(size=SIZE) as pilot:
            scr = app.screen
            await inspect_ready(pilot, scr)
            assert scr.scanned_in is not None and scr.scanned_in != threading.get_ident()
            table = scr.query_one("#insp-runs", RunTable)
            assert table.row_count == N_RUNS + 1
            # the found order: artifacts, then runs newest (highest name) first
            assert [r.name for r in table.shown[1:4]] == ["run-49", "run-48", "run-47"]
            while table.sort_key != "auc":
                await pilot.press("o")
            best = {f"run-{i:02d}": max(aucs_of(i)) for i in range(N_RUNS)}
            art = many / "artifacts"
            best["artifacts"] = mann_whitney_auc(np.load(art / "val_scores.npy"),
                                                 np.load(art / "val_labels.npy"))
            want = sorted(best.values(), reverse=True)
            assert [r.best_val_auc for r in table.shown] == pytest.approx(want)
            assert "sorted by val AUC ↓" in str(scr.query_one("#insp-status").render())
            await pilot.press("O")                       # reversed: lowest first
            assert [r.best_val_auc for r in table.shown] == pytest.approx(want[::-1])
            while table.sort_key != "epochs":
                await pilot.press("o")
            epochs = [len(aucs_of(i)) for i in range(N_RUNS)] + [5]   # + artifacts' 5
            assert [r.epochs for r in table.shown] == sorted(epochs, reverse=True)
            # the cursor stays on its run through a re-sort
            select_run(scr, many / "runs" / "run-07")
            await pilot.press("o")
            assert table.highlighted().name == "run-07" and scr.selected.path.endswith(
                "run-07")

    run(go())


def _plotted(overlay: RunOverlay, chart: str) -> list[tuple[list, list, object]]:
    return [(list(c.x), list(c.y), c.color)
            for c in overlay.query_one(f"#overlay-{chart}", CurveChart).curves]


@pytest.mark.slow
def test_marked_runs_are_overlaid_and_follow_a_live_run(many):
    runs = many / "runs"
    lock = RunLock.acquire(runs / "run-10")     # the lock a live trainer holds

    async def go():
        app = make_app(many)
        async with app.run_test(size=SIZE) as pilot:
            scr = app.screen
            await inspect_ready(pilot, scr)
            table = scr.query_one("#insp-runs", RunTable)
            status = {r.name: r.status for r in table.shown}
            assert status["run-10"] == "running" and status["run-11"] == "interrupted"
            assert status["artifacts"] == "finished"
            overlay = scr.query_one("#insp-overlay", RunOverlay)
            assert not overlay.display
            for name in ("run-10", "run-03", "run-24"):
                select_run(scr, runs / name)
                await pilot.press("m")
            await pilot.pause()
            assert overlay.display
            assert {r.name for r in overlay.runs} == {"run-10", "run-03", "run-24"}
            auc, loss = _plotted(overlay, "auc"), _plotted(overlay, "loss")
            for i in (10, 3, 24):
                n = len(aucs_of(i))
                epochs = list(range(1, n + 1))
                assert (epochs, pytest.approx(aucs_of(i))) in [(x, y) for x, y, _ in auc]
                assert (epochs, pytest.approx([1 / (e + 1) for e in epochs])) in [
                    (x, y) for x, y, _ in loss]
            colours = [c for _, _, c in auc]
            assert len(set(colours)) == 3 and set(colours) == {p for p, _ in PALETTE[:3]}
            legend = overlay.legend().plain
            assert all(name in legend for name in ("run-10", "run-03", "run-24"))
            # unmarking one keeps the others' colours
            slot24 = scr.marks[str(runs / "run-24")]
            select_run(scr, runs / "run-03")
            await pilot.press("m")
            assert {r.name for r in overlay.runs} == {"run-10", "run-24"}
            assert scr.marks[str(runs / "run-24")] == slot24
            # the live run finishes one more epoch: its curve follows (polled)
            log = EventLog(runs / "run-10" / "events.jsonl")
            log.write(EpochEnd(2, 5, 0.5, 0.0, 1 / 3, 0.9, 0.6, 1e-3, True, 2, 0.9, 0.1))
            log.close()
            await wait_for(pilot, lambda: [1, 2] in [x for x, _, _ in _plotted(
                overlay, "auc")], 15, "the live run's new epoch")
            assert ([1, 2], pytest.approx([aucs_of(10)[0], 0.9])) in [
                (x, y) for x, y, _ in _plotted(overlay, "auc")]
            await pilot.press("c")                       # clear: no overlay, no ●
            assert not overlay.display and not scr.marks
            assert not any("●" in r for r in table.rows_text())

    try:
        run(go())
    finally:
        lock.release()


@pytest.mark.slow
def test_hostile_run_is_one_line_in_its_row(tmp_path):
    make_checkpoint(tmp_path / "artifacts", seed=0)
    (tmp_path / "runs" / "fifo").mkdir(parents=True)
    os.mkfifo(tmp_path / "runs" / "fifo" / "events.jsonl")
    write_run_log(tmp_path / "runs" / "ok", [0.6, 0.7])

    async def go():
        app = make_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            scr = app.screen
            await inspect_ready(pilot, scr)
            table = scr.query_one("#insp-runs", RunTable)
            row = next(r for r in table.shown if r.name == "fifo")
            assert row.error and "FIFO" in row.error and "\n" not in row.error
            cell = table.get_cell(row.path, "note")
            assert cell.plain == row.error
            select_run(scr, tmp_path / "runs" / "fifo")
            await pilot.press("m")                       # marked: listed, not plotted
            overlay = scr.query_one("#insp-overlay", RunOverlay)
            assert "fifo (not plotted:" in overlay.legend().plain
            assert _plotted(overlay, "auc") == []

    run(go())


def test_colours_stay_distinct_past_the_palette():
    colours = [run_color(i)[0] for i in range(40)]
    assert len(set(colours)) == 40
    assert all(isinstance(run_color(i)[1], str) for i in range(40))
