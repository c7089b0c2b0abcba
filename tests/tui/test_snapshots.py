"""Snapshot tests (pytest-textual-snapshot) of every main screen at 100×32.

Everything shown comes from fixed data built in this session (``tests/helpers/tui.py``:
fixed arrays written with ``core.runs.checkpoint``, a fixed ``events.jsonl``), paths are
relative (the app runs inside the fixture folder) and nothing time-based is on screen.
Update after an intended UI change with ``pytest tests/tui/test_snapshots.py
--snapshot-update`` and review the SVGs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.tui import (
    inspect_ready,
    make_checkpoint,
    select_run,
    write_fixed_events,
    write_png,
)

SIZE = (100, 32)


pytestmark = pytest.mark.usefixtures("one_blas_thread")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("world")
    make_checkpoint(root / "artifacts", seed=0)
    make_checkpoint(root / "runs" / "b-small", seed=1, hidden=(8,))
    write_fixed_events(root / "runs" / "demo")
    (root / "images").mkdir()
    write_png(root / "images" / "chest_a.png", 0)
    write_png(root / "images" / "chest_b.png", 1)
    return root


@pytest.mark.slow
def test_snapshot_train_form(snap_compare, app_in):
    assert snap_compare(app_in(start="train"), terminal_size=SIZE)


@pytest.mark.slow
def test_snapshot_train_attached_finished_run(snap_compare, app_in):
    async def settle(pilot):
        scr = pilot.app.screen
        while scr.state.finished is None:
            await pilot.pause(0.05)
        await pilot.pause(0.6)  # one drawing tick (counters, log, plots)

    assert snap_compare(app_in(attach="runs/demo"), terminal_size=SIZE, run_before=settle)


@pytest.mark.slow
def test_snapshot_evaluate_moved_threshold(snap_compare, app_in):
    async def settle(pilot):
        await pilot.press("right", "right", "right")
        await pilot.pause(0.4)  # the curves' operating points follow within 0.15 s

    assert snap_compare(app_in(start="evaluate"), terminal_size=SIZE, run_before=settle)


@pytest.mark.slow
def test_snapshot_inspect(snap_compare, app_in):
    async def settle(pilot):
        await inspect_ready(pilot, pilot.app.screen)
        await pilot.pause(0.2)

    assert snap_compare(app_in(start="inspect"), terminal_size=SIZE, run_before=settle)


@pytest.mark.slow
def test_snapshot_inspect_overlay(snap_compare, app_in):
    async def settle(pilot):
        scr = pilot.app.screen
        await inspect_ready(pilot, scr)
        await pilot.press("m")                       # artifacts
        select_run(scr, Path("runs") / "b-small")
        await pilot.press("m")
        await pilot.pause(0.3)

    assert snap_compare(app_in(start="inspect"), terminal_size=SIZE, run_before=settle)


@pytest.mark.slow
def test_snapshot_gradcheck(snap_compare, app_in):
    # before a run: rel. errors are round-off noise and differ in the last digits
    # between CPUs, so the numbers are tested in test_app.py, not here.
    assert snap_compare(app_in(start="gradcheck"), terminal_size=SIZE)


@pytest.mark.slow
def test_snapshot_predict(snap_compare, app_in):
    async def settle(pilot):
        scr = pilot.app.screen
        tree = scr.query_one("#pred-tree")
        while len(tree.root.children) < 2:
            await pilot.pause(0.05)
        await pilot.press("down", "enter")
        while scr.last is None:
            await pilot.pause(0.05)
        await pilot.pause(0.2)

    assert snap_compare(app_in(start="predict"), terminal_size=SIZE, run_before=settle)


@pytest.mark.slow
def test_snapshot_help(snap_compare, app_in):
    assert snap_compare(app_in(start="train"), press=["question_mark"], terminal_size=SIZE)


@pytest.mark.slow
@pytest.mark.parametrize("keys", [(), ("end",)], ids=["top", "end"])
def test_snapshot_help_80x24(snap_compare, app_in, keys):
    """The help at 80×24: the keys table on top, and End reaches the last note."""
    assert snap_compare(app_in(start="train"), press=["question_mark", *keys],
                        terminal_size=(80, 24))
