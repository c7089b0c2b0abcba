"""Snapshot tests of Evaluate and Inspect at 80×24 and 100×32: default, moved threshold,
operating point (``o``), reliability diagram, missing score file; run table, three marked
runs overlaid, damaged checkpoint.

Built from fixed data (``tests/helpers/tui.py``) with relative paths, like
``test_snapshots.py``. Update after an intended change with ``pytest
tests/tui/test_snapshots_eval.py --snapshot-update`` and review the SVGs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.tui import (
    inspect_ready,
    make_checkpoint,
    select_run,
    settle_checkpoint,
    write_fixed_events,
)

SIZES = pytest.mark.parametrize("size", [(80, 24), (100, 32)], ids=["80x24", "100x32"])


pytestmark = pytest.mark.usefixtures("one_blas_thread")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("world-eval")
    make_checkpoint(root / "artifacts", seed=0)
    make_checkpoint(root / "runs" / "20261129-225415-long-run-name-h64-32", seed=1, hidden=(8,))
    make_checkpoint(root / "runs" / "no-scores", seed=2)
    (root / "runs" / "no-scores" / "test_scores.npy").unlink()
    (root / "runs" / "broken").mkdir()
    (root / "runs" / "broken" / "metrics.json").write_text("{not json")
    write_fixed_events(root / "runs" / "demo")
    return root


async def _plots_drawn(pilot):
    await pilot.pause(0.4)  # the curves' operating points follow within 0.15 s


@pytest.mark.slow
@SIZES
def test_snapshot_evaluate_default(snap_compare, app_in, size):
    assert snap_compare(app_in(start="evaluate"), terminal_size=size, run_before=_plots_drawn)


@pytest.mark.slow
@SIZES
def test_snapshot_evaluate_moved_threshold_scrolled(snap_compare, app_in, size):
    async def settle(pilot):
        await settle_checkpoint(pilot)
        await pilot.press("right", "right", "right", "shift+left", "pagedown")
        await pilot.wait_for_scheduled_animations()
        await _plots_drawn(pilot)

    assert snap_compare(app_in(start="evaluate"), terminal_size=size, run_before=settle)


@pytest.mark.slow
@SIZES
def test_snapshot_evaluate_operating_point(snap_compare, app_in, size):
    async def settle(pilot):
        await settle_checkpoint(pilot)
        await pilot.press("o")                  # Youden's J -> sensitivity >= 0.90
        await _plots_drawn(pilot)

    assert snap_compare(app_in(start="evaluate"), terminal_size=size, run_before=settle)


@pytest.mark.slow
@SIZES
def test_snapshot_evaluate_reliability(snap_compare, app_in, size):
    async def settle(pilot):
        await settle_checkpoint(pilot)
        await pilot.press("end")
        await pilot.wait_for_scheduled_animations()
        await _plots_drawn(pilot)

    assert snap_compare(app_in(start="evaluate"), terminal_size=size, run_before=settle)


@pytest.mark.slow
@SIZES
def test_snapshot_evaluate_missing_scores(snap_compare, app_in, size):
    assert snap_compare(app_in(start="evaluate", checkpoint="runs/no-scores"),
                        terminal_size=size, run_before=_plots_drawn)


def _select(path: str):
    async def settle(pilot):
        await settle_checkpoint(pilot)
        scr = pilot.app.screen
        await inspect_ready(pilot, scr)
        select_run(scr, path)
        await pilot.pause(0.2)
    return settle


async def _scanned(pilot):
    await inspect_ready(pilot, pilot.app.screen)
    await pilot.pause(0.2)


@pytest.mark.slow
@SIZES
def test_snapshot_inspect_list(snap_compare, app_in, size):
    assert snap_compare(app_in(start="inspect"), terminal_size=size, run_before=_scanned)


@pytest.mark.slow
@SIZES
def test_snapshot_inspect_overlay(snap_compare, app_in, size):
    """Three marked runs (a checkpoint, another, a run without artifacts) overlaid."""
    async def settle(pilot):
        await settle_checkpoint(pilot)
        scr = pilot.app.screen
        await inspect_ready(pilot, scr)
        for path in ("artifacts", str(Path("runs") / "20261129-225415-long-run-name-h64-32"),
                     str(Path("runs") / "demo")):
            select_run(scr, path)
            await pilot.press("m")
        await pilot.pause(0.3)

    assert snap_compare(app_in(start="inspect"), terminal_size=size, run_before=settle)


@pytest.mark.slow
@SIZES
def test_snapshot_inspect_damaged_checkpoint(snap_compare, app_in, size):
    assert snap_compare(app_in(start="inspect"), terminal_size=size,
                        run_before=_select(str(Path("runs") / "broken")))
