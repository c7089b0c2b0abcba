"""The error gallery in the app: opened from Evaluate with ``g`` at Evaluate's threshold,
keyboard-complete (split, cell, browsing, back), images and counts checked against the
saved score files; unreachable data is an inline message. Snapshots at 80×24 and 100×32
of a copy of the shipped checkpoint (its embedded-sample images are fixed files)."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from chexmini_tui.screens.evaluate import EvaluateScreen
from chexmini_tui.screens.gallery import GalleryScreen
from tests.helpers import REPO
from tests.helpers.tui import settle_checkpoint, text_of, wait_for

SIZES = pytest.mark.parametrize("size", [(80, 24), (100, 32)], ids=["80x24", "100x32"])

pytestmark = pytest.mark.usefixtures("one_blas_thread")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("world-gallery")
    shutil.copytree(REPO / "artifacts", root / "artifacts")
    shutil.copytree(REPO / "artifacts", root / "runs" / "moved")
    m = json.loads((root / "runs" / "moved" / "metrics.json").read_text())
    m["data"]["source"] = "npz:/nowhere/images64.npz"
    (root / "runs" / "moved" / "metrics.json").write_text(json.dumps(m))
    return root


def _expected(world: Path, split: str, t: float, cell: str) -> list[int]:
    """The cell by its definition, from the saved files: membership by label and
    score >= t; FP/TP highest score first, TN/FN lowest first."""
    s = np.load(world / "artifacts" / f"{split}_scores.npy")
    y = np.load(world / "artifacts" / f"{split}_labels.npy")
    positive = cell in ("FP", "TP")
    abnormal = cell in ("FN", "TP")
    idx = [i for i in range(len(s)) if (s[i] >= t) == positive and (y[i] == 1) == abnormal]
    return sorted(idx, key=lambda i: (-s[i] if positive else s[i], i))


async def _shown(pilot, scr: GalleryScreen, split: str, cell: str, pos: int) -> None:
    await wait_for(pilot, lambda: scr.errors or (
        scr.item is not None and scr.token == (split, cell, pos)), what="gallery image")


def screen_lines(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


@pytest.mark.slow
def test_gallery_follows_evaluate_threshold_and_keys(app_in, world):
    asyncio.run(_browse(app_in, world))


async def _browse(app_in, world) -> None:
    app = app_in(start="evaluate")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, EvaluateScreen), 10, "Evaluate")
        ev = app.screen
        await pilot.press("right", "right")              # threshold + 0.02
        t = ev.threshold
        await pilot.press("g")
        scr = app.screen
        assert isinstance(scr, GalleryScreen) and scr.threshold == t
        await _shown(pilot, scr, "val", "FP", 0)
        want = _expected(world, "val", t, "FP")
        assert scr.order.tolist() == want
        assert scr.item.index == want[0] and scr.item.label == 0 and scr.item.score >= t
        info = text_of(scr.query_one("#gal-info"))
        assert f"FP 1 / {len(want)}" in info and scr.item.name in info
        assert f"patient {int(scr.item.name[:8])}" in info
        await wait_for(pilot, lambda: any(f"FP 1 / {len(want)}" in line
                                          for line in screen_lines(app)), 10, "the drawn cell")
        lines = screen_lines(app)                        # what is on screen at 80×24
        assert any(f"FP 1 / {len(want)}" in line for line in lines)
        assert any(scr.item.name in line and "true normal" in line for line in lines)
        for words in ("↓ next", "↑ prev", "→ cell →", "← cell ←", "s val/test", "esc back"):
            assert words in lines[-1], lines[-1]         # whole words, nothing cut
        bar = text_of(scr.query_one("#gal-bar"))
        for cell in ("TN", "FP", "FN", "TP"):
            assert f"{cell} {len(_expected(world, 'val', t, cell))}" in bar
        await pilot.press("down", "n", "up")              # 0 → 1 → 2 → 1
        await _shown(pilot, scr, "val", "FP", 1)
        assert scr.item.index == want[1]
        await pilot.press("end")
        await _shown(pilot, scr, "val", "FP", len(want) - 1)
        assert scr.item.index == want[-1]
        await pilot.press("s", "left")                    # test split, cell TN
        await _shown(pilot, scr, "test", "TN", 0)
        assert scr.order.tolist() == _expected(world, "test", t, "TN")
        assert scr.item.score < t and scr.item.label == 0
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, EvaluateScreen), 10, "back")


@pytest.mark.slow
def test_gallery_unreachable_data_is_inline(app_in):
    asyncio.run(_unreachable(app_in))


async def _unreachable(app_in) -> None:
    app = app_in(start="evaluate", checkpoint="runs/moved")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle_checkpoint(pilot)
        await pilot.press("g")          # (pressed while the scores load, it opens after)
        await wait_for(pilot, lambda: isinstance(app.screen, GalleryScreen), 10, "gallery")
        scr = app.screen
        await wait_for(pilot, lambda: "val" in scr.errors, what="the error")
        info = text_of(scr.query_one("#gal-info"))
        assert "runs/moved: the run's data npz:/nowhere/images64.npz is not reachable" in info
        assert scr.item is None


@pytest.mark.slow
def test_palette_opens_the_gallery_from_another_screen(app_in):
    from textual.command import CommandInput, CommandPalette

    async def go():
        app = app_in(start="inspect")
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.2)
            await pilot.press("ctrl+p")
            await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), 5, "palette")
            app.screen.query_one(CommandInput).value = "error gallery"
            await pilot.pause(0.5)
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, GalleryScreen), 5, "gallery")
            scr = app.screen
            assert app.current_mode == "evaluate" and scr.checkpoint == "artifacts"
            await _shown(pilot, scr, "val", "FP", 0)
            assert scr.order.tolist() == _expected(Path.cwd(), "val", scr.threshold, "FP")
            app.set_checkpoint("runs/moved")     # another checkpoint: back to Evaluate
            await wait_for(pilot, lambda: isinstance(app.screen, EvaluateScreen), 5, "back")
            await wait_for(pilot, lambda: app.screen.loaded_for == "runs/moved", 5, "reload")
            await settle_checkpoint(pilot)
            await pilot.press("g", "4")                 # gallery open, then another screen
            app.set_checkpoint("artifacts")
            await pilot.press("3")                      # the gallery of runs/moved is stale
            await wait_for(pilot, lambda: "the active checkpoint is now artifacts" in text_of(
                app.screen.query_one("#gal-info")), 10, "the stale-gallery message")
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, EvaluateScreen), 5, "back")
            await wait_for(pilot, lambda: app.screen.loaded_for == "artifacts", 5, "reload")

    asyncio.run(go())


async def _open_gallery(pilot, *keys: str) -> None:
    await pilot.pause(0.2)
    await settle_checkpoint(pilot)
    await pilot.press("g", *keys)
    scr = pilot.app.screen
    await wait_for(pilot, lambda: scr.errors or (scr.item is not None and scr.token == (
        scr.split, scr.cell, scr.pos)), what="gallery image")
    await pilot.pause(0.3)


@pytest.mark.slow
@SIZES
def test_snapshot_gallery_fp(snap_compare, app_in, size):
    async def settle(pilot):
        await _open_gallery(pilot, "down", "down")

    assert snap_compare(app_in(start="evaluate"), terminal_size=size, run_before=settle)


@pytest.mark.slow
def test_snapshot_gallery_unreachable(snap_compare, app_in):
    async def settle(pilot):
        await _open_gallery(pilot)

    assert snap_compare(app_in(start="evaluate", checkpoint="runs/moved"),
                        terminal_size=(80, 24), run_before=settle)
