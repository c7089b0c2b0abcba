"""Snapshots of Predict and Gradcheck at 80×24 and 100×32 (pytest-textual-snapshot).

Predict: a result with its true label (from a ``labels.csv``), the not-an-X-ray
warning (``artifacts/loss_curve.png``), an unreadable file. Gradcheck: running (three
tensors in) and finished — from fixed rows posted as the worker would, since real
relative errors are round-off noise that differs between CPUs.
Update after an intended change with ``--snapshot-update`` and review the SVGs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from chexmini_tui.messages import GradcheckDone, GradcheckProgress
from chexmini_tui.screens.gradcheck import GradcheckRow
from core.evaluation.gradcheck import GradcheckReport, TensorCheck
from tests.helpers import REPO
from tests.helpers.tui import make_checkpoint, write_png

SIZES = {"80x24": (80, 24), "100x32": (100, 32)}

ROWS = [TensorCheck("fc1.W", (4096, 16), 20, 0, 3.1e-10, 2.0e-13, True),
        TensorCheck("fc1.b", (16,), 16, 0, 1.2e-10, 4.0e-14, True),
        TensorCheck("fc2.W", (16, 8), 20, 1, 8.7e-11, 1.1e-13, True),
        TensorCheck("fc2.b", (8,), 8, 0, 5.0e-11, 3.0e-14, True),
        TensorCheck("fc3.W", (8, 1), 8, 0, 2.2e-11, 6.0e-14, True),
        TensorCheck("fc3.b", (1,), 1, 0, 1.0e-12, 1.0e-15, True),
        TensorCheck("input", (8, 4096), 20, 0, 4.4e-10, 9.0e-14, True)]


pytestmark = pytest.mark.usefixtures("one_blas_thread")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("world")
    make_checkpoint(root / "artifacts", seed=0)
    (root / "images").mkdir()
    write_png(root / "images" / "chest_a.png", 0)
    write_png(root / "images" / "chest_b.png", 1)
    (root / "images" / "labels.csv").write_text(
        "Image Index,Finding Labels\nchest_a.png,No Finding\nchest_b.png,Effusion\n")
    shutil.copy(REPO / "artifacts" / "loss_curve.png", root / "images" / "plot.png")
    (root / "images" / "broken.png").write_bytes(b"not a png")
    return root


def _predict(name: str):
    async def settle(pilot):
        scr = pilot.app.screen
        await pilot.press("o", *name, "enter")
        while scr.error is None and (scr.last is None or not scr.last["path"].endswith(name)):
            await pilot.pause(0.05)
        await pilot.pause(0.2)

    return settle


@pytest.mark.slow
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("case", ["chest_a.png", "plot.png", "broken.png"])
def test_snapshot_predict_states(snap_compare, app_in, size, case):
    assert snap_compare(app_in(start="predict"), terminal_size=SIZES[size],
                        run_before=_predict(case))


def _gradcheck(finished: bool):
    async def settle(pilot):
        scr = pilot.app.screen
        await pilot.press("m")                       # the checkpoint: no hidden-sizes field
        scr.running = True
        scr.rows_done = []
        total = sum(r.n_checked + r.n_kinks for r in ROWS)
        rows = ROWS if finished else ROWS[:3]
        scr.post_message(GradcheckProgress(sum(r.n_checked + r.n_kinks for r in rows), total))
        for r in rows:
            scr.post_message(GradcheckRow(r))
        if finished:
            scr.post_message(GradcheckDone(GradcheckReport(ROWS, 1e-4, 1e-6),
                                           what="checkpoint artifacts"))
        await pilot.pause(0.3)

    return settle


@pytest.mark.slow
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("finished", [False, True], ids=["running", "finished"])
def test_snapshot_gradcheck_states(snap_compare, app_in, size, finished):
    assert snap_compare(app_in(start="gradcheck"), terminal_size=SIZES[size],
                        run_before=_gradcheck(finished))
