"""The seam matrix's app columns: every kind of checkpoint (``tests/test_seams.py``
:data:`KINDS`) made the app's active checkpoint, and every screen that reads it.

Each cell starts the app on the kind's folder and checks what the screen shows against
the same truth as the command-line columns (the threshold read from ``metrics.json``
with ``json``, counts of the saved scores taken here, the model card's probability), or
that it refuses in the one line :data:`tests.test_seams.REFUSALS` names.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
import pytest

from chexmini_tui.screens.evaluate import EvaluateScreen
from chexmini_tui.screens.filters import FiltersScreen
from chexmini_tui.screens.gallery import GalleryScreen
from tests.helpers.tui import inspect_ready, make_app, select_run, text_of, wait_for
from tests.test_seams import KINDS, REFUSALS, api, kind_path, truth_of

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_blas_thread")]

SIZE = (100, 32)


def saved_threshold(ck: Path) -> float:
    metrics = json.loads((ck / "metrics.json").read_text())
    op = metrics.get("operating_point")
    return float(op["threshold"] if op else metrics["threshold"])


def counts(ck: Path, split: str, t: float) -> dict[str, int]:
    s, y = np.load(ck / f"{split}_scores.npy"), np.load(ck / f"{split}_labels.npy")
    pred, pos = s >= t, y == 1
    return {"TP": int((pred & pos).sum()), "FP": int((pred & ~pos).sum()),
            "FN": int((~pred & pos).sum()), "TN": int((~pred & ~pos).sum())}


# -- the app's consumers: each drives one screen and asserts what it shows ---------------------
async def inspect(app, pilot, ck: Path, images: list[Path]) -> str | None:
    await pilot.press("4")
    head = app.screen.query_one("#insp-head")
    t = f"threshold {saved_threshold(ck):.4f}"       # the headline's, not "trained with"
    await wait_for(pilot, lambda: t in " ".join(text_of(head).split()), 20,
                   f"Inspect to lead with {t}")
    return None


async def evaluate(app, pilot, ck: Path, images: list[Path]) -> str | None:
    await pilot.press("3")
    scr = app.screen
    assert isinstance(scr, EvaluateScreen)
    await wait_for(pilot, lambda: scr.report is not None, 20, "the scores")
    t = saved_threshold(ck)
    assert scr.threshold == pytest.approx(t, abs=1e-12)
    await pilot.pause()
    shown = " ".join(text_of(scr.query_one("#cm-test")).split())
    for cell, n in counts(ck, "test", t).items():
        assert f"{cell} {n}" in shown, (cell, n, shown)
    return None


async def gradcheck(app, pilot, ck: Path, images: list[Path]) -> str | None:
    await pilot.press("2")
    scr = app.screen
    if scr.source != "checkpoint":
        await pilot.press("m")
    scr.query_one("#gc-samples").value = "2"
    await pilot.press("g")
    await wait_for(pilot, lambda: scr.report is not None or scr.error is not None, 120,
                   "the check")
    assert scr.error is None, scr.error
    assert scr.report.passed
    return None


async def predict(app, pilot, ck: Path, images: list[Path]) -> str | None:
    await pilot.press("5")
    scr = app.screen
    card = api(ck, images)
    for path in images:
        scr.predict(path)
        await wait_for(pilot, lambda p=path: scr.last is not None and scr.last["path"] == str(p),
                       20, "the prediction")
        assert scr.last["prob"] == pytest.approx(card.probs[str(path)], abs=1e-9)
        assert scr.last["label"] == card.labels[str(path)]
        assert f"{scr.last['prob']:.4f}" in text_of(scr.query_one("#pred-result"))
    return None


async def gallery(app, pilot, ck: Path, images: list[Path]) -> str | None:
    await pilot.press("3")
    ev = app.screen
    await wait_for(pilot, lambda: ev.report is not None, 20, "the scores")
    await pilot.press("g")
    gal = app.screen
    assert isinstance(gal, GalleryScreen)
    await wait_for(pilot, lambda: gal.errors or gal.item is not None or
                   (gal.order is not None and len(gal.order) == 0), 60, "the cell")
    if gal.errors:
        return next(iter(gal.errors.values()))
    t = saved_threshold(ck)
    assert gal.threshold == pytest.approx(t, abs=1e-12)
    assert len(gal.order) == counts(ck, gal.split, t)[gal.cell]
    return None


async def filters(app, pilot, ck: Path, images: list[Path]) -> str | None:
    """``f`` on Inspect: every fc1 unit of the checkpoint in the grid."""
    from core.inference import load_checkpoint

    await pilot.press("4")
    await inspect_ready(pilot, app.screen)
    select_run(app.screen, ck)
    await pilot.pause()
    await pilot.press("f")
    scr = app.screen
    assert isinstance(scr, FiltersScreen)
    grid = scr.query_one("#filters-grid")
    await wait_for(pilot, lambda: scr.fc1 is not None or "cannot" in grid.message, 60, "fc1")
    if scr.fc1 is None:
        return grid.message
    assert f"{load_checkpoint(ck).model.widths[1]} units" in grid.data.caption
    return None


#: The app's screens that read the active checkpoint. One line adds a screen.
APP_CONSUMERS: dict[str, Callable[..., Awaitable[str | None]]] = {
    "app Inspect": inspect,
    "app Evaluate": evaluate,
    "app Gradcheck": gradcheck,
    "app Predict": predict,
    "app gallery": gallery,
    "app filters": filters,
}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[Path, list[Path]]:
    from tests.helpers import REPO

    root = tmp_path_factory.mktemp("seams-app")
    shipped = sorted((REPO / "core" / "data" / "nih_sample" / "png256").glob("*/*.png"))[:2]
    return root, shipped


@pytest.mark.parametrize("consumer", list(APP_CONSUMERS))
@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_meets_every_screen(world, kind, consumer):
    root, images = world
    ck = kind_path(root, kind)
    truth_of(ck, images)     # the folder is whole and readable by the reference
    refusal = REFUSALS.get((kind, consumer.removeprefix("app ")))

    async def go():
        app = make_app(root, checkpoint=str(ck), start="inspect", predict_root=str(root))
        async with app.run_test(size=SIZE) as pilot:
            refused = await APP_CONSUMERS[consumer](app, pilot, ck, images)
            if refusal is None:
                assert refused is None, f"{kind} × {consumer} refused: {refused}"
            else:
                assert refused is not None and refusal in refused, refused
                assert "\n" not in refused.strip()

    asyncio.run(go())
