"""The filter grid: live on the Train screen (``g``, from the engine's Templates events)
and for a checkpoint (``f`` on Inspect: select a unit, Enter shows it large beside its
saliency on the mean images); snapshots at 80×24."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from chexmini_tui.screens.filters import FiltersScreen
from chexmini_tui.widgets.filter_grid import FilterGrid, fits, grid_text, tile_size
from chexmini_tui.widgets.run_view import NO_LIVE_TEMPLATES
from chexmini_tui.widgets.unit_detail import UnitDetail
from core.events import Templates
from tests.helpers.tui import (
    inspect_ready,
    make_app,
    make_checkpoint,
    replayed_run,
    select_run,
    wait_for,
    write_fixed_events,
)

pytestmark = pytest.mark.usefixtures("one_blas_thread")


def fixed_templates(epoch: int = 3, n: int = 32) -> Templates:
    """A Templates event with fixed tiles (a seeded pattern; the last two units dead)."""
    rng = np.random.default_rng(epoch)
    yy, xx = np.mgrid[0:16, 0:16] / 15.0
    tiles = np.stack([np.sin(3 * xx + k) * np.cos(2 * yy - k) + 0.1 * rng.standard_normal(
        (16, 16)) for k in range(n)])
    dead = np.arange(n) >= n - 2
    return Templates.encode(epoch, 64, 2, np.arange(100, 100 + n), np.linspace(2, 1, n),
                            dead, tiles)


def test_the_page_holds_the_selection_and_marks_dead_units():
    from chexmini_tui.widgets.filter_grid import GridData

    ev = fixed_templates()
    data = GridData(ev.tiles(), ev.units, ev.dead, "caption")
    width, height = 40, 12
    side = tile_size(32, 16, width, height - 1)
    per_page = fits(side, width, height - 1)
    assert side == 8 and per_page == 8          # 16-pixel tiles would show only 2
    text = grid_text(data, width, height, selected=per_page * 3 + 1).plain
    shown = [u for u in ev.units if f"#{u}" in text or f"×{u}" in text]
    assert shown == ev.units[per_page * 3: per_page * 4]
    assert "×131" in text and "#131" not in text       # dead: crossed


def test_train_screen_shows_the_latest_templates_live(tmp_path):
    async def go():
        async with replayed_run(tmp_path, (80, 24)) as (app, pilot, scr):
            await pilot.press("g")
            grid = scr.query_one(FilterGrid)
            await pilot.pause(0.6)
            assert grid.display and grid.data is None and grid.message == NO_LIVE_TEMPLATES
            scr.panel.apply([fixed_templates(3)])
            await wait_for(pilot, lambda: grid.data is not None, 5, "the grid")
            assert "epoch 3" in grid.data.caption and grid.data.units[0] == 100
            scr.panel.apply([fixed_templates(4)])
            await wait_for(pilot, lambda: "epoch 4" in grid.data.caption, 5, "epoch 4")
            await pilot.press("h")            # one pane at a time
            assert scr.has_class("-health") and not scr.has_class("-filters")
            await pilot.press("g")
            assert scr.has_class("-filters") and not scr.has_class("-health")

    asyncio.run(go())


def test_inspect_opens_a_checkpoints_filters_and_a_unit_large(tmp_path):
    ck = make_checkpoint(tmp_path / "runs" / "ck")

    async def go():
        app = make_app(tmp_path, start="inspect")
        async with app.run_test(size=(80, 24)) as pilot:
            await inspect_ready(pilot, app.screen)
            select_run(app.screen, ck)
            await pilot.pause()
            await pilot.press("f")
            scr = app.screen
            assert isinstance(scr, FiltersScreen)
            await wait_for(pilot, lambda: scr.fc1 is not None, 30, "fc1")
            grid = scr.query_one(FilterGrid)
            assert "16 units" in grid.data.caption
            assert grid.data.notes and "dead units not marked" in grid.data.notes[0]
            await pilot.press("right", "right")
            assert scr.rank == 2 and grid.selected == 2
            await pilot.press("enter")
            detail = scr.query_one(UnitDetail)
            assert scr.has_class("-detail") and detail.rank == 2
            assert f"unit #{int(scr.fc1.order[2])}" in detail.render().plain
            await pilot.press("escape")
            assert not scr.has_class("-detail")
            await pilot.press("escape")
            assert not isinstance(app.screen, FiltersScreen)

    asyncio.run(go())


# -- snapshots at 80×24 ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("filtersworld")
    write_fixed_events(root / "runs" / "demo")
    make_checkpoint(root / "runs" / "ck")
    return root


async def _live_grid(pilot) -> None:
    scr = pilot.app.screen
    while scr.state.finished is None:
        await pilot.pause(0.05)
    scr.panel.apply([fixed_templates(3)])
    await pilot.press("g")
    await pilot.pause(0.6)     # one drawing tick
    await pilot.pause()


@pytest.mark.slow
def test_snapshot_train_filter_grid(snap_compare, world, monkeypatch):
    from chexmini_tui.app import ChexminiApp

    monkeypatch.chdir(world)
    app = ChexminiApp(artifacts="artifacts", runs="runs", image_mode="halfcell",
                      attach="runs/demo")
    assert snap_compare(app, terminal_size=(80, 24), run_before=_live_grid)


async def _unit_large(pilot) -> None:
    scr = pilot.app.screen
    await inspect_ready(pilot, scr)
    select_run(scr, "runs/ck")
    await pilot.pause()
    await pilot.press("f")
    fs = pilot.app.screen
    while fs.fc1 is None:
        await pilot.pause(0.05)
    await pilot.press("right", "enter")
    await pilot.pause()


@pytest.mark.slow
def test_snapshot_inspect_unit_large(snap_compare, world, monkeypatch):
    from chexmini_tui.app import ChexminiApp

    monkeypatch.chdir(world)
    app = ChexminiApp(artifacts="artifacts", runs="runs", image_mode="halfcell",
                      start="inspect")
    assert snap_compare(app, terminal_size=(80, 24), run_before=_unit_large)
