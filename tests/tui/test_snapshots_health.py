"""Snapshots of the Train screen's health view (``h``) at 80×24 and 100×32: a finished
run followed from its fixed ``events.jsonl`` (``write_fixed_events(health=True)``: fc2's
dead share passes one half at epoch 4, so the warning shows). Update after an intended
change with ``--snapshot-update`` on these test ids and review the SVGs."""

from __future__ import annotations

import pytest

from chexmini_tui.app import ChexminiApp
from tests.helpers.tui import write_fixed_events

pytestmark = pytest.mark.usefixtures("one_blas_thread")

SIZES = {"80x24": (80, 24), "100x32": (100, 32)}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("healthworld")
    write_fixed_events(root / "runs" / "demo", health=True)
    return root


async def _health_shown(pilot) -> None:
    scr = pilot.app.screen
    while scr.state.finished is None:
        await pilot.pause(0.05)
    await pilot.press("h")
    await pilot.pause(0.6)     # one drawing tick
    await pilot.pause()


@pytest.mark.slow
@pytest.mark.parametrize("size", SIZES)
def test_train_health_view(snap_compare, world, monkeypatch, size):
    monkeypatch.chdir(world)
    app = ChexminiApp(artifacts="artifacts", runs="runs", image_mode="halfcell",
                      attach="runs/demo")
    assert snap_compare(app, terminal_size=SIZES[size], run_before=_health_shown)
