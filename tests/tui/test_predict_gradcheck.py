"""Predict, Gradcheck and Help as a user meets them at 80×24: focus after the path box,
a path box that goes anywhere, true labels with folder accuracy, the not-an-X-ray
warning, Gradcheck rows arriving one tensor at a time, help in a user's words."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from chexmini_tui.widgets.path_box import complete, resolve
from core.data.nih_sample import sample_pngs
from tests.helpers import REPO
from tests.helpers.tui import (
    card_prediction,
    make_app,
    make_checkpoint,
    text_of,
    wait_for,
    write_png,
)

SMALL = (80, 24)


pytestmark = pytest.mark.usefixtures("one_blas_thread")


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "artifacts")


def run(coro):
    return asyncio.run(coro)


def other(label: str) -> str:
    return "normal" if label == "abnormal" else "abnormal"


# -- the path box, without the app ------------------------------------------------------------
def test_resolve_and_complete(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "xrays" / "normal").mkdir(parents=True)
    (tmp_path / "xrays" / "notes.txt").write_text("not an image")
    write_png(tmp_path / "xrays" / "chest.png")
    base = tmp_path / "xrays" / "normal"
    assert resolve("~/xrays", base) == tmp_path / "xrays"
    assert resolve("..", base) == tmp_path / "xrays"
    assert resolve("../chest.png", base) == tmp_path / "xrays" / "chest.png"
    assert resolve(str(tmp_path), base) == tmp_path
    assert complete("~/xr", base) == ("~/xrays/", [])
    assert complete("../c", base) == ("../chest.png", [])
    assert complete("../", base) == ("../", ["chest.png", "normal/"])   # no .txt
    assert complete(str(tmp_path / "xr"), base)[0] == str(tmp_path / "xrays") + "/"
    assert complete("zzz", base) == ("zzz", [])


# -- focus ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_focus_returns_after_path_box_and_footer_stays(tmp_path, ckpt):
    img = write_png(tmp_path / "chest.png")

    async def go():
        app = make_app(tmp_path, checkpoint=str(ckpt), start="predict",
                       predict_root=str(tmp_path))
        async with app.run_test(size=SMALL) as pilot:
            scr = app.screen
            await pilot.press("o")
            box = scr.query_one("#pred-path")
            assert app.focused is box
            shown = [b.key for _, b, _, _ in scr.active_bindings.values() if b.show]
            assert "escape" in shown and "tab" in shown     # the footer is not empty
            box.value = str(img)
            await pilot.press("enter")
            await pilot.pause()
            assert app.focused is scr.query_one("#pred-tree")
            assert scr.last["path"] == str(img)
            await pilot.press("t", "o")                  # keys, not text
            assert box.value == str(img)
            assert app.focused is box
            await pilot.press("escape")
            assert app.focused is scr.query_one("#pred-tree")

    run(go())


# -- going anywhere ---------------------------------------------------------------------------
@pytest.mark.slow
def test_path_box_goes_anywhere_and_tree_reroots(tmp_path, ckpt, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "scans" / "more").mkdir(parents=True)
    write_png(tmp_path / "scans" / "chest_a.png", 0)
    write_png(tmp_path / "scans" / "more" / "chest_b.png", 1)

    async def go():
        app = make_app(tmp_path, checkpoint=str(ckpt), start="predict",
                       predict_root=str(tmp_path / "scans" / "more"))
        async with app.run_test(size=SMALL) as pilot:
            scr = app.screen
            box = scr.query_one("#pred-path")
            await pilot.press("o", ".", ".", "/", "c", "tab")    # Tab completes
            assert box.value == "../chest_a.png"
            await pilot.press("enter")
            await pilot.pause()
            assert scr.last["path"] == str(tmp_path / "scans" / "chest_a.png")
            await pilot.press("o")
            box.value = "~/scans/more"                          # a folder: re-root + predict
            await pilot.press("enter")
            await wait_for(pilot, lambda: len(scr.results) == 2, 20, "folder")
            assert scr.tree_folder == tmp_path / "scans" / "more"
            await pilot.press("u")                               # up a folder
            assert scr.tree_folder == tmp_path / "scans"
            await pilot.press("u")
            assert scr.tree_folder == tmp_path
            await pilot.press("o")
            box.value = str(tmp_path / "scans" / "more" / "chest_b.png")   # absolute
            await pilot.press("enter")
            await pilot.pause()
            assert scr.last["path"].endswith("chest_b.png") and scr.error is None
            await pilot.press("o", "s", "tab")                   # relative to the new root
            assert box.value == "scans/"
            await pilot.press("tab")                             # several: listed
            shown = text_of(scr.query_one("#pred-result"))
            assert "chest_a.png" in shown and "more/" in shown

    run(go())


# -- true labels ------------------------------------------------------------------------------
def _labelled_folders(root: Path, ckpt: Path) -> dict[str, Path]:
    """Three folders, each with one correctly and one wrongly labelled image."""
    out = {}
    a = root / "csv"
    a.mkdir(parents=True)
    right, wrong = write_png(a / "r.png", 0), write_png(a / "w.png", 1)
    pr, pw = card_prediction(ckpt, right)[1], card_prediction(ckpt, wrong)[1]
    (a / "labels.csv").write_text(
        f"Image Index,label\nr.png,{int(pr == 'abnormal')}\nw.png,{int(pw != 'abnormal')}\n")
    out["labels.csv"] = a
    b = root / "nih"
    b.mkdir()
    shutil.copy(right, b / "r.png")
    shutil.copy(wrong, b / "w.png")
    finding = {"normal": "No Finding", "abnormal": "Effusion"}
    (b / "Data_Entry_2017_v2020.csv").write_text(
        "Image Index,Finding Labels,Patient ID\n"
        f"r.png,{finding[pr]},1\nw.png,{finding[other(pw)]},2\n")
    out["Data_Entry_2017_v2020.csv"] = b
    c = root / "by_folder"
    (c / pr).mkdir(parents=True)
    (c / other(pw)).mkdir(exist_ok=True)
    shutil.copy(right, c / pr / "r.png")
    shutil.copy(wrong, c / other(pw) / "w.png")
    out["folder name"] = c
    return out


@pytest.mark.slow
def test_true_labels_from_each_source_and_folder_accuracy(tmp_path, ckpt):
    folders = _labelled_folders(tmp_path / "data", ckpt)

    async def go():
        app = make_app(tmp_path, checkpoint=str(ckpt), start="predict",
                       predict_root=str(tmp_path / "data"))
        async with app.run_test(size=SMALL) as pilot:
            scr = app.screen
            box = scr.query_one("#pred-path")
            for source, folder in folders.items():
                if source == "folder name":
                    pngs = sorted(folder.glob("*/*.png"), key=lambda p: p.name)
                else:
                    pngs = [folder / "r.png", folder / "w.png"]
                for png, correct in zip(pngs, (True, False), strict=True):
                    await pilot.press("o")
                    box.value = str(png)
                    await pilot.press("enter")
                    await pilot.pause()
                    truth = scr.last["truth"]
                    assert truth is not None and truth.source == source
                    assert (truth.label == scr.last["label"]) is correct
                    shown = text_of(scr.query_one("#pred-result"))
                    assert ("✓ correct" if correct else "✗ wrong") in shown
                    assert scr.results[-1].correct is correct
            # a whole folder: the running accuracy
            await pilot.press("c", "o")
            box.value = str(folders["labels.csv"])
            await pilot.press("enter")
            await wait_for(pilot, lambda: len(scr.results) == 2, 20, "folder")
            await pilot.pause()
            assert "accuracy 1/2 = 50.0 %" in text_of(scr.query_one("#pred-result"))

    run(go())


# -- out of distribution ----------------------------------------------------------------------
@pytest.mark.slow
def test_loss_curve_is_flagged_and_sample_xrays_are_not(tmp_path):
    shipped = REPO / "artifacts"

    async def go():
        app = make_app(tmp_path, checkpoint=str(shipped), start="predict")
        async with app.run_test(size=SMALL) as pilot:
            scr = app.screen
            box = scr.query_one("#pred-path")
            await pilot.press("o")
            box.value = str(shipped / "loss_curve.png")
            await pilot.press("enter")
            await pilot.pause()
            assert scr.last["ood"].flagged
            shown = text_of(scr.query_one("#pred-result"))
            assert "does not look like a chest X-ray" in shown
            assert f"{scr.last['prob']:.4f}" in shown          # the probability stays
            for png in sample_pngs():
                await pilot.press("o")
                box.value = str(png)
                await pilot.press("enter")
                await pilot.pause()
                assert not scr.last["ood"].flagged, png
                assert "does not look like" not in text_of(scr.query_one("#pred-result"))

    run(go())


# -- gradcheck --------------------------------------------------------------------------------
@pytest.mark.slow
def test_gradcheck_rows_arrive_one_tensor_at_a_time(tmp_path, ckpt):
    async def go():
        app = make_app(tmp_path, checkpoint=str(ckpt), start="gradcheck")
        async with app.run_test(size=SMALL) as pilot:
            scr = app.screen
            dims_row = scr.query_one("#gc-dims-row")
            assert dims_row.display                        # fresh: hidden sizes asked
            await pilot.press("m")
            assert scr.source == "checkpoint" and not dims_row.display
            await pilot.press("m", "m")
            assert scr.source == "fresh" and dims_row.display
            await pilot.press("m")
            seen: list[tuple[int, bool]] = []
            table = scr.query_one("#gc-table")
            original = scr._add_row

            def spy(row):
                before = table.row_count
                original(row)
                if table.row_count > before:
                    seen.append((table.row_count, scr.running))

            scr._add_row = spy
            samples = scr.query_one("#gc-samples")
            samples.value = "3"
            samples.focus()
            await pilot.press("enter")                  # Enter in a field runs the check
            assert app.focused is None                  # and leaves the field: keys work
            await wait_for(pilot, lambda: not scr.running and scr.report is not None, 60)
            n = len(scr.report.rows)
            assert seen == [(i, True) for i in range(1, n + 1)]   # one row per message,
            assert table.row_count == n                           # all while running

    run(go())


def test_help_speaks_to_users():
    from chexmini_tui.screens.help import NOTES

    assert "control.stop" not in NOTES and "generator.close" not in NOTES
    for words in ("stop cleanly, then quit", "quit now", "keep training", "Tab completes",
                  "not X-ray-like"):
        assert words in NOTES
