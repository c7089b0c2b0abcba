"""Inspect's run management: the filter (``/``), the settings that differ between the
marked runs (``v``) and deleting a run folder (``D``, asked first) — with the engine's
rules under them (``core.runs.listing.matches`` and ``config_diff``,
``core.runs.folder.delete_run``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import pytest

from chexmini_tui.screens.inspect_dialogs import ConfigDiff, ConfirmDelete, FilterPrompt
from core.foundation.errors import ChexminiError
from core.runs.folder import RunLock, delete_run
from core.runs.listing import config_diff, matches, run_row
from tests.helpers.tui import inspect_ready, make_app, make_checkpoint, select_run, wait_for

pytestmark = pytest.mark.usefixtures("one_blas_thread")


def _with_config(ckpt: Path, **changes) -> Path:
    m = json.loads((ckpt / "metrics.json").read_text())
    m.setdefault("config", {}).update(changes)
    (ckpt / "metrics.json").write_text(json.dumps(m))
    return ckpt


def _world(tmp_path: Path) -> dict[str, Path]:
    make_checkpoint(tmp_path / "artifacts", seed=0)
    runs = tmp_path / "runs"
    return {
        "a": _with_config(make_checkpoint(runs / "a-adam", seed=1), optimizer="adam", lr=1e-3),
        "b": _with_config(make_checkpoint(runs / "b-sgd", seed=2), optimizer="sgd", lr=1e-2),
        "c": _with_config(make_checkpoint(runs / "c-adam", seed=3), optimizer="adam", lr=1e-3),
    }


# -- the engine's rules -------------------------------------------------------------------
def test_matches_needs_every_word_anywhere_in_the_row(tmp_path):
    w = _world(tmp_path)
    row = run_row(str(w["b"]))
    assert matches(row, "") and matches(row, "SGD") and matches(row, "b-sgd finished")
    assert not matches(row, "adam") and not matches(row, "sgd nowhere")


def test_config_diff_lists_only_what_differs():
    diff = config_diff({"r1": {"lr": 0.001, "optimizer": "adam", "epochs": 5},
                        "r2": {"lr": 0.01, "optimizer": "adam", "epochs": 5, "l1": 0.1},
                        "r3": {"lr": 0.001, "optimizer": "adam", "epochs": 5}})
    assert diff == [("l1", ["—", "0.1", "—"]), ("lr", ["0.001", "0.01", "0.001"])]
    assert config_diff({"x": {"a": "y[/red]" * 10}, "y": {"a": 1}})[0][1][0].endswith("…")


def test_delete_run_refuses_what_it_must_not_touch(tmp_path):
    w = _world(tmp_path)
    root = tmp_path / "runs"
    outside = make_checkpoint(tmp_path / "elsewhere" / "r", seed=4)
    with pytest.raises(ChexminiError, match="only a run folder directly in"):
        delete_run(outside, root)
    (root / "link").symlink_to(w["a"], target_is_directory=True)
    with pytest.raises(ChexminiError, match="symbolic link"):
        delete_run(root / "link", root)
    (root / "plain").mkdir()
    (root / "plain" / "notes.txt").write_text("mine")
    with pytest.raises(ChexminiError, match="no run files"):
        delete_run(root / "plain", root)
    lock = RunLock.acquire(w["a"])                 # a live trainer holds it
    try:
        with pytest.raises(ChexminiError, match="busy|in use|running|lock|train"):
            delete_run(w["a"], root)
    finally:
        lock.release()
    assert w["a"].is_dir() and (root / "plain" / "notes.txt").is_file()
    assert outside.is_dir() and (root / "link").is_symlink()
    delete_run(w["b"], root)
    assert not w["b"].exists() and not list(root.glob(".deleting-*"))
    assert w["a"].is_dir() and w["c"].is_dir()         # the link's target is untouched


# -- the app ------------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def inspect_app(tmp_path: Path, size: tuple[int, int]):
    """The app on Inspect with its folder scan drawn: ``(app, pilot, screen, table)``."""
    app = make_app(tmp_path, start="inspect")
    async with app.run_test(size=size) as pilot:
        scr = app.screen
        await inspect_ready(pilot, scr)
        yield app, pilot, scr, scr.query_one("#insp-runs")


def test_inspect_filters_diffs_and_deletes(tmp_path, monkeypatch):
    w = _world(tmp_path)
    monkeypatch.chdir(tmp_path)

    async def go():
        async with inspect_app(tmp_path, (100, 32)) as (app, pilot, scr, table):
            await pilot.press("slash")
            await wait_for(pilot, lambda: isinstance(app.screen, FilterPrompt), 5, "filter")
            await pilot.press(*"-adam", "enter")
            await wait_for(pilot, lambda: table.filter_text == "-adam", 5, "filtered")
            names = {Path(r.path).name for r in table.shown}
            assert names == {"a-adam", "c-adam"}
            assert "2 of 4 folders match" in str(scr.query_one("#insp-status").render())
            for key in ("a", "c"):                       # mark both, compare settings
                select_run(scr, w[key])
                await pilot.press("m")
            await pilot.press("v")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfigDiff), 5, "diff")
            keys = [k for k, _ in app.screen.rows]
            assert "optimizer" not in keys and "lr" not in keys   # the same in a and c
            await pilot.press("escape")
            await pilot.press("slash")
            await wait_for(pilot, lambda: isinstance(app.screen, FilterPrompt), 5, "filter")
            app.screen.query_one("#filter-text").value = ""
            await pilot.press("enter")
            await wait_for(pilot, lambda: len(table.shown) == 4, 5, "unfiltered")
            # the active checkpoint is refused; another run is deleted after asking
            select_run(scr, tmp_path / "artifacts")
            await pilot.press("D")
            await pilot.pause(0.2)
            assert not isinstance(app.screen, ConfirmDelete)
            assert (tmp_path / "artifacts").is_dir()
            select_run(scr, w["b"])
            await pilot.press("D")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDelete), 5, "ask")
            await pilot.press("n")                         # kept
            await pilot.pause(0.2)
            assert w["b"].is_dir()
            await pilot.press("D")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDelete), 5, "ask")
            await pilot.press("y")
            await wait_for(pilot, lambda: not w["b"].exists(), 10, "deleted")
            await wait_for(pilot, lambda: all(Path(r.path).name != "b-sgd"
                                              for r in table.shown), 10, "rescan")

    asyncio.run(go())


# -- sweeps -----------------------------------------------------------------------------------
def _sweep(root: Path) -> Path:
    """A sweep folder as `chexmini sweep` leaves it: trials/NNN run folders with trial.json."""
    sweep = root / "sweeps" / "demo"
    outcomes = [("complete", 0.61, {"lr": 1e-3, "dropout": 0.1}),
                ("pruned", 0.52, {"lr": 3e-2, "dropout": 0.4}),
                ("complete", 0.66, {"lr": 3e-4, "dropout": 0.3})]
    for i, (state, value, params) in enumerate(outcomes):
        folder = make_checkpoint(sweep / "trials" / f"{i:03d}", seed=i + 5)
        (folder / "trial.json").write_text(json.dumps(
            {"state": state, "value": value, "epochs": 5, "best_epoch": 4, "params": params}))
    return sweep


def test_a_sweeps_trials_are_read_without_its_study(tmp_path):
    from core.sweep.summary import best_row, rows_from_folders, sweep_of

    sweep = _sweep(tmp_path)
    rows = rows_from_folders(sweep)
    assert [(r["number"], r["state"]) for r in rows] == [(0, "complete"), (1, "pruned"),
                                                         (2, "complete")]
    assert best_row(rows)["number"] == 2
    assert sweep_of(sweep / "trials" / "001") == sweep and sweep_of(tmp_path) is None
    assert run_row(str(sweep / "trials" / "001")).name == "demo/001"


def test_inspect_lists_a_sweeps_trials_and_shows_the_sweep(tmp_path, monkeypatch):
    from chexmini_tui.screens.inspect_dialogs import SweepView

    make_checkpoint(tmp_path / "artifacts", seed=0)
    _sweep(tmp_path)
    monkeypatch.chdir(tmp_path)

    async def go():
        async with inspect_app(tmp_path, (100, 32)) as (app, pilot, scr, _):
            rows = {r.name: r for r in scr.query_one("#insp-runs").shown}
            assert {"demo/000", "demo/001", "demo/002"} <= set(rows)
            assert rows["demo/001"].note.startswith("sweep: pruned")
            select_run(scr, Path("sweeps/demo/trials/001"))   # as listed, from --sweeps
            await pilot.press("S")
            await wait_for(pilot, lambda: isinstance(app.screen, SweepView), 5, "sweep")
            view = app.screen
            table = view._trials()
            assert [c.plain for c in table.columns[0]._cells] == ["002", "000", "001"]
            assert "lr" in str(view._effects()) and "dropout" in str(view._effects())

    asyncio.run(go())


def test_arrows_move_the_run_table_by_half_a_screen_of_columns(tmp_path, monkeypatch):
    from chexmini_tui.widgets.run_table import RunTable

    bound = {b.key: b.action for b in RunTable.BINDINGS}
    assert bound == {"right": "columns(1)", "left": "columns(-1)"}
    _world(tmp_path)
    monkeypatch.chdir(tmp_path)

    async def go():
        async with inspect_app(tmp_path, (80, 24)) as (_, pilot, _, table):
            assert table.max_scroll_x > 0 and table.scroll_x == 0   # wider than 80 columns
            table.action_columns(1)                 # what → does on the focused table
            # half a screen, not one column (a column is at most ~25 cells here)
            far = min(0.45 * table.size.width, table.max_scroll_x)
            await wait_for(pilot, lambda: table.scroll_x >= far, 15, "half a screen right")
            table.runs = list(table.runs)
            table._rebuild()                        # a rescan's redraw keeps the view
            await pilot.pause()
            await wait_for(pilot, lambda: table.scroll_x >= far, 15, "kept after a redraw")
            table.action_columns(-1)
            await wait_for(pilot, lambda: table.scroll_x == 0, 15, "back to the names")

    asyncio.run(go())
