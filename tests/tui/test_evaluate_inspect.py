"""Evaluate and Inspect at 80×24 (and wider): everything reachable by keyboard, axis
labels in their places at every width, Inspect's list markers and statuses current.

What is *on screen* is read from the compositor (``screen_lines``): the lines a user
sees, not the widgets' contents, so "reachable" means "was shown after these keys".
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from chexmini_tui.widgets.curves import CurveCanvas, CurveChart
from chexmini_tui.widgets.run_table import RunTable
from tests.helpers.tui import (
    inspect_ready,
    make_app,
    make_checkpoint,
    select_run,
    text_of,
    wait_for,
    write_fixed_events,
    write_run_log,
)

SMALL = (80, 24)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "artifacts")


def run(coro):
    return asyncio.run(coro)


def screen_lines(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


async def settle(pilot) -> list[str]:
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()
    return screen_lines(pilot.app)


# -- evaluate ---------------------------------------------------------------------------
@pytest.mark.slow
def test_evaluate_keyboard_reaches_everything_at_80x24(tmp_path, ckpt):
    async def go():
        app = make_app(tmp_path, checkpoint=str(ckpt), start="evaluate")
        async with app.run_test(size=SMALL) as pilot:
            scr = app.screen
            scroll = scr.query_one("#ev-scroll")
            lines = await settle(pilot)
            assert app.focused is scroll                 # the scrolling column has focus
            footer = lines[-1]
            for words in ("←→ threshold ±0.01", "r Youden's J", "o op. point", "l reload",
                          "^p palette"):   # ? help and q quit are on the switcher line
                assert words in footer, footer           # whole words, nothing cut
            assert not any("│ F1 " in line for line in lines)   # below the fold at first
            await pilot.press("tab")
            assert app.focused is scroll                 # Tab keeps the scrollable focused
            await pilot.press("pagedown")
            lines = await settle(pilot)
            assert any("│ F1 " in line for line in lines), "\n".join(lines)
            await pilot.press("home")
            await settle(pilot)
            assert scroll.scroll_y == 0
            # ↓ line by line: the whole ROC chart (y label to x label) is shown at once
            for _ in range(80):
                shown = "\n".join(await settle(pilot))
                if "↑ true positive rate" in shown and "false positive rate →" in shown:
                    break
                await pilot.press("down")
            else:
                pytest.fail("the ROC chart was never shown whole")
            await pilot.press("end")
            shown = "\n".join(await settle(pilot))
            assert scroll.scroll_y == scroll.max_scroll_y > 0
            assert "mean P(abnormal) in bin →" in shown    # the reliability diagram is last
            for _ in range(80):                             # ↑ back to the whole PR chart
                if "↑ precision" in shown and "recall →" in shown:
                    break
                await pilot.press("up")
                shown = "\n".join(await settle(pilot))
            else:
                pytest.fail("the precision-recall chart was never shown whole")
            await pilot.press(*["pageup"] * 8)
            await settle(pilot)
            assert scroll.scroll_y == 0
            # the threshold keys still work while the column has the focus
            t = scr.threshold
            await pilot.press("right", "shift+right")
            assert scr.threshold == pytest.approx(t + 0.011, abs=1e-9)
            assert scroll.scroll_x == 0

    run(go())


@pytest.mark.slow
@pytest.mark.parametrize("size", [SMALL, (100, 32), (200, 50)])
def test_curve_axis_labels_in_place_at_every_width(tmp_path, ckpt, size):
    async def go():
        app = make_app(tmp_path, checkpoint=str(ckpt), start="evaluate")
        async with app.run_test(size=size) as pilot:
            await pilot.pause(0.3)
            for cid, xlabel, ylabel in (("#roc", "false positive rate", "true positive rate"),
                                        ("#pr", "recall", "precision")):
                chart = app.screen.query_one(cid, CurveChart)
                y = chart.query_one(".chart-ylabel")
                canvas = chart.query_one(CurveCanvas)
                x = chart.query_one(".chart-xlabel")
                assert text_of(y) == f"↑ {ylabel}"
                assert text_of(x) == f"{xlabel} →"
                # y label above the plot, x label below it, both wide enough to show
                assert y.region.y < canvas.region.y < x.region.y
                assert x.region.width >= len(xlabel) + 2 and y.region.width >= len(ylabel)
                # the plot itself holds no labels and no legend (nothing covers the data)
                plot = canvas.render().plain
                assert "rate" not in plot and "AUC" not in plot and "precision" not in plot
                legend = chart.legend_text()
                assert "━ val" in legend and "━ test" in legend and "• threshold" in legend

    run(go())


@pytest.mark.slow
def test_evaluate_missing_score_file_is_an_inline_error(tmp_path, ckpt):
    broken = tmp_path / "no-scores"
    shutil.copytree(ckpt, broken)
    (broken / "test_scores.npy").unlink()

    async def go():
        app = make_app(tmp_path, checkpoint=str(broken), start="evaluate")
        async with app.run_test(size=SMALL) as pilot:
            await pilot.pause()
            scr = app.screen
            info = text_of(scr.query_one("#ev-info"))
            assert "test_scores.npy" in info and "file not found" in info
            assert scr.threshold is None and not scr.data
            await pilot.press("right", "r")              # nothing to move: no crash
            assert scr.threshold is None
            assert "no data" in scr.query_one("#roc", CurveChart).legend_text()

    run(go())


# -- inspect ----------------------------------------------------------------------------
LONG = "20261129-225415-a-rather-long-run-name-hidden-64-32"


@pytest.mark.slow
def test_inspect_long_names_markers_and_statuses_at_80x24(tmp_path):
    make_checkpoint(tmp_path / "artifacts", seed=0)
    make_checkpoint(tmp_path / "runs" / LONG, seed=1, hidden=(8,))
    write_run_log(tmp_path / "runs" / "demo", [0.6, 0.7])     # a run with no end yet

    async def go():
        app = make_app(tmp_path)
        async with app.run_test(size=SMALL) as pilot:
            scr = app.screen
            await inspect_ready(pilot, scr)
            table = scr.query_one("#insp-runs", RunTable)
            lines = await settle(pilot)
            # the long name is cut in its cell (…) and shown whole in the detail
            assert any(LONG[:23] + "…" in line for line in lines), "\n".join(lines)
            select_run(scr, tmp_path / "runs" / LONG)
            await pilot.pause()
            assert str(tmp_path / "runs" / LONG) in text_of(scr.query_one("#insp-head"))
            # one ▶, on the active checkpoint; the detail does not repeat it
            rows = table.rows_text()
            assert [r for r in rows if r.startswith("▶")] == [rows[0]]
            assert "active" not in text_of(scr.query_one("#insp-head"))
            assert any(r.endswith("runs/demo (interrupted)") for r in rows)
            # the run finishes while the app is open: finished after a visit away
            make_checkpoint(tmp_path / "runs" / "demo", seed=2)
            await pilot.press("3")
            await pilot.press("4")
            await wait_for(pilot, lambda: any(r.endswith("runs/demo (finished)")
                                              for r in table.rows_text()), 10, "finished")
            # m marks, Enter makes another one active: still exactly one ▶
            select_run(scr, tmp_path / "artifacts")
            await pilot.press("m")
            select_run(scr, tmp_path / "runs" / LONG)
            await pilot.pause()
            await pilot.press("enter")
            await pilot.pause()
            rows = table.rows_text()
            assert app.checkpoint == str(tmp_path / "runs" / LONG)
            assert [r for r in rows if r.startswith("▶")] == [
                f"▶ {tmp_path / 'runs' / LONG} (finished)"]
            assert [r for r in rows if r[1] == "●"] == [
                f" ●{tmp_path / 'artifacts'} (finished)"]
            # l rescans: a new folder appears
            (tmp_path / "runs" / "zz-new").mkdir()
            await pilot.press("l")
            await wait_for(pilot, lambda: any(r.endswith("zz-new (empty)")
                                              for r in table.rows_text()), 10, "rescan")

    run(go())


@pytest.mark.slow
def test_inspect_detail_scrolls_by_keyboard_and_damaged_checkpoint(tmp_path):
    make_checkpoint(tmp_path / "artifacts", seed=0)
    (tmp_path / "runs" / "broken").mkdir(parents=True)
    (tmp_path / "runs" / "broken" / "metrics.json").write_text("{not json")

    async def go():
        app = make_app(tmp_path)
        async with app.run_test(size=SMALL) as pilot:
            scr = app.screen
            await inspect_ready(pilot, scr)
            lines = await settle(pilot)
            assert not any("files:" in line for line in lines)
            await pilot.press("tab")
            detail = scr.query_one("#insp-detail")
            assert app.focused is detail
            await pilot.press("end")
            lines = await settle(pilot)
            assert detail.scroll_y == detail.max_scroll_y > 0
            assert any("files:" in line for line in lines)
            await pilot.press("shift+tab", "down")       # back to the table, next run
            await pilot.pause()
            assert scr.selected.path == str(tmp_path / "runs" / "broken")
            head = text_of(scr.query_one("#insp-head"))
            assert head.startswith("✗") and "metrics.json" in head
            await pilot.press("enter")                   # not usable: stays as it was
            await pilot.pause()
            assert app.checkpoint == str(tmp_path / "artifacts")

    run(go())


# -- the engine parts the two screens draw from -------------------------------------------
def test_score_report_matches_core_metrics(ckpt):
    import numpy as np

    from core.evaluation.metrics import roc_auc, youden_threshold
    from core.runs.scores import score_report

    r = score_report(ckpt)
    vs, vl = np.load(ckpt / "val_scores.npy"), np.load(ckpt / "val_labels.npy")
    ts, tl = np.load(ckpt / "test_scores.npy"), np.load(ckpt / "test_labels.npy")
    assert r.youden == youden_threshold(vs, vl)
    assert r.auc == {"val": roc_auc(vs, vl), "test": roc_auc(ts, tl)}
    assert set(r.curves["test"]) == {"fpr", "tpr", "precision", "recall"}


def test_catalog_statuses(tmp_path):
    """The folders the app offers carry the one run status (core.runs.status)."""
    from core.runs.catalog import discover, load_info
    from core.runs.folder import claim

    run_dir = tmp_path / "runs" / "run"
    write_fixed_events(run_dir)                      # a finished run's log, no checkpoint
    (run_dir / "resume.npz").write_bytes(b"x")       # … and its resume state
    make_checkpoint(tmp_path / "artifacts")
    live = tmp_path / "runs" / "live"
    make_checkpoint(live)                            # an old checkpoint …
    lock = claim(live, overwrite=True)               # … under a run started with --overwrite
    try:
        write_fixed_events(live)
        status = {Path(e.path).name: e.status for e in discover(
            str(tmp_path / "artifacts"), str(tmp_path / "runs"), [str(tmp_path / "nope")])}
        info = load_info(str(live))
        assert info.summary is None and "running" in info.error   # not the old checkpoint
    finally:
        lock.release()
    assert status == {"artifacts": "finished", "run": "interrupted", "live": "running",
                      "nope": "missing"}
    assert load_info(str(live)).summary is not None             # its owner gone: finished
    (run_dir / "resume.npz").unlink()
    assert [e.status for e in discover(str(run_dir), str(tmp_path / "none"), [])] == ["incomplete"]
    assert "incomplete" in load_info(str(run_dir)).error
