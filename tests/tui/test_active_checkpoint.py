"""The active checkpoint is one state (``app.state.active``: path, loaded checkpoint,
fingerprint of its files), and no screen shows a result computed by another model or
threshold: making another checkpoint active, or rewriting the active one's files while
the app is open (``chexmini evaluate --save`` in another terminal), clears or recomputes
what Predict, Evaluate, the gallery, Gradcheck and Inspect show. Real checkpoints, the
real app driven through the Pilot; nothing of the engine is mocked."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

from chexmini_tui.active import fingerprint, load_active
from chexmini_tui.commands import app_commands
from chexmini_tui.screens.evaluate import EvaluateScreen
from chexmini_tui.screens.gallery import GalleryScreen
from core.evaluation.metrics import label_of
from core.evaluation.operating_point import OperatingPoint, choose_operating_point
from core.inference import load_checkpoint
from core.inference.gallery import select
from core.runs.checkpoint import save_operating_point
from core.runs.scores import load_scores
from tests.helpers import writable_shipped
from tests.helpers.tui import (
    card_prediction,
    inspect_ready,
    make_app,
    make_checkpoint,
    select_run,
    settle_checkpoint,
    text_of,
    wait_for,
    write_png,
)

SMALL = (80, 24)

pytestmark = pytest.mark.usefixtures("one_blas_thread")


def run(coro):
    return asyncio.run(coro)


def youden_of(ckpt: Path) -> float:
    return float(json.loads((ckpt / "metrics.json").read_text())["threshold"])


@pytest.fixture
def two(tmp_path) -> tuple[Path, Path, Path]:
    """Checkpoints A (``artifacts``) and B (``runs/b``, another model), and an image."""
    a = make_checkpoint(tmp_path / "artifacts", seed=0)
    b = make_checkpoint(tmp_path / "runs" / "b", seed=1, hidden=(8,))
    (tmp_path / "images").mkdir()
    return a, b, write_png(tmp_path / "images" / "chest.png")


# -- the value ---------------------------------------------------------------------------------
def test_load_active_and_fingerprint(tmp_path):
    a = make_checkpoint(tmp_path / "a", seed=0)
    first = load_active(a)
    assert first.error is None and first.checkpoint is not None
    assert first.path == str(a) and first.threshold == load_checkpoint(a).threshold
    assert first.rule == "saved threshold" and not first.changed_on_disk()
    assert load_active(a) != first                  # each load is a new value
    missing = load_active(tmp_path / "nowhere")     # a problem is a value, not a raise
    assert missing.checkpoint is None and "not found" in missing.error
    assert missing.threshold is None and all(f is None for f in missing.fingerprint)
    save_operating_point(a, choose_operating_point(*load_scores(a)["val"], "sensitivity",
                                                   0.9))
    assert first.changed_on_disk() and fingerprint(a) != first.fingerprint
    again = load_active(a)
    assert again.rule == "sensitivity>=0.9 on validation" and not again.changed_on_disk()


# -- another checkpoint made active --------------------------------------------------------
@pytest.mark.slow
def test_predict_never_shows_the_old_models_probability(tmp_path, two):
    a, b, png = two
    pa, pb = card_prediction(a, png)[0], card_prediction(b, png)[0]
    assert f"{pa:.4f}" != f"{pb:.4f}"                   # the two models disagree

    async def go():
        app = make_app(tmp_path, start="predict", predict_root=str(png.parent))
        async with app.run_test(size=SMALL) as pilot:
            scr = app.screen
            scr.predict(png)
            await pilot.pause()
            shown = text_of(scr.query_one("#pred-result"))
            assert f"{pa:.4f}" in shown and scr.last["prob"] == pytest.approx(pa)
            scr.predict_folder(png.parent)               # a folder's rows, by A
            await wait_for(pilot, lambda: len(scr.results) == 2, 20, "the folder's rows")
            await pilot.press("4")                       # B made active in Inspect
            insp = app.screen
            await inspect_ready(pilot, insp)
            select_run(insp, b)
            await pilot.pause()
            await pilot.press("enter")
            await pilot.pause()
            assert app.state.active.path == str(b)
            # Predict (not on show) has already dropped A's results
            assert scr.loaded_for == str(b) and scr.results == [] and scr.last is None
            await pilot.press("5")
            await pilot.pause()
            shown = text_of(scr.query_one("#pred-result"))
            assert str(b) in shown and f"{pa:.4f}" not in shown
            assert f"{pb:.4f}" not in shown              # nothing predicted by B yet
            scr.predict(png)
            await pilot.pause()
            shown = text_of(scr.query_one("#pred-result"))
            assert f"{pb:.4f}" in shown and f"{pa:.4f}" not in shown
            assert [r.prob for r in scr.results] == [pytest.approx(pb)]
            # from the palette's road (app.set_checkpoint), on show: recomputed at once
            app.set_checkpoint(a)
            await settle_checkpoint(pilot)
            shown = text_of(scr.query_one("#pred-result"))
            assert f"{pa:.4f}" in shown and f"{pb:.4f}" not in shown
            assert [r.prob for r in scr.results] == [pytest.approx(pa)]

    run(go())


@pytest.mark.slow
def test_gradcheck_of_the_old_checkpoint_is_cleared(tmp_path, two):
    a, b, _ = two

    async def go():
        app = make_app(tmp_path, start="gradcheck")
        async with app.run_test(size=SMALL) as pilot:
            await settle_checkpoint(pilot)
            scr = app.screen
            await pilot.press("m")                       # model source: checkpoint
            assert scr.source == "checkpoint"
            assert str(a) in text_of(scr.query_one("#gc-summary"))
            scr.query_one("#gc-samples").value = "2"
            await pilot.press("g")
            await wait_for(pilot, lambda: scr.report is not None, 60, "the check")
            assert f"checkpoint {a}" in text_of(scr.query_one("#gc-summary"))
            app.set_checkpoint(b)
            await settle_checkpoint(pilot)
            summary = text_of(scr.query_one("#gc-summary"))
            assert scr.report is None and scr.query_one("#gc-table").row_count == 0
            assert str(b) in summary and "cleared" in summary and str(a) not in summary
            await pilot.press("g")                       # B's own check
            await wait_for(pilot, lambda: scr.report is not None, 60, "the check of B")
            assert f"checkpoint {b}" in text_of(scr.query_one("#gc-summary"))
            assert scr.report.rows[0].shape == load_checkpoint(b).model.parameters()[
                scr.report.rows[0].name].shape
            # a check still running when another checkpoint becomes active: stopped, and
            # nothing it found is shown
            scr.query_one("#gc-samples").value = "1000000"    # minutes: never done here
            scr.action_run()
            assert scr.running
            app.set_checkpoint(a)
            await settle_checkpoint(pilot)
            summary = text_of(scr.query_one("#gc-summary"))
            assert "cleared" in summary and "running" not in summary and str(a) in summary
            await wait_for(pilot, lambda: not scr.running, 30, "the check to stop")
            assert scr.report is None and scr.error is None
            assert scr.query_one("#gc-table").row_count == 0

    run(go())


# -- the active checkpoint's files rewritten while the app is open ---------------------------
@pytest.mark.slow
def test_saved_operating_point_reaches_every_screen(tmp_path, two):
    a, _, png = two
    pa = card_prediction(a, png)[0]
    # an operating point on the other side of the image's probability: its label flips
    old_label = label_of(pa, youden_of(a))
    t_new = float(np.nextafter(pa, 1.0)) if old_label == "abnormal" else pa * 0.5
    op = OperatingPoint(t_new, "specificity", 0.8, youden_of(a))

    async def go():
        app = make_app(tmp_path, start="evaluate", predict_root=str(png.parent))
        async with app.run_test(size=SMALL) as pilot:
            await settle_checkpoint(pilot)
            ev = app.screen
            assert ev.threshold == youden_of(a)
            await pilot.press("right", "right")          # moved by hand
            await pilot.press("5")
            pred = app.screen
            pred.predict(png)
            await pilot.pause()
            assert pred.last["label"] == old_label
            before = app.state.active
            save_operating_point(a, op)                  # as `chexmini evaluate --save` does
            await wait_for(pilot, lambda: app.state.active is not before, 5,
                           "the periodic check of the files")
            assert app.state.active.threshold == t_new
            await pilot.pause()
            shown = text_of(pred.query_one("#pred-result"))
            assert f"threshold {t_new:.4f}" in shown and "specificity ≥ 0.8" in shown
            assert pred.last["threshold"] == t_new and pred.last["label"] != old_label
            assert [r.label for r in pred.results] == [pred.last["label"]]
            await pilot.press("3")                       # Evaluate: back to the saved one
            await settle_checkpoint(pilot)
            assert ev.threshold == t_new and ev.rule == "specificity>=0.8 on validation"
            assert ev._rule_index == -1                  # not one of the `o` rules
            info = text_of(ev.query_one("#ev-info"))
            assert f"{t_new:.4f}" in info.splitlines()[0]
            assert f"saved {t_new:.4f} (specificity ≥ 0.8 on validation)" in info
            await pilot.press("4")                       # Inspect leads with it
            insp = app.screen
            await inspect_ready(pilot, insp)
            select_run(insp, a)
            await wait_for(pilot, lambda: "specificity ≥ 0.8" in text_of(
                insp.query_one("#insp-head")), 10, "the rule in Inspect")
            head = " ".join(text_of(insp.query_one("#insp-head")).split())
            assert f"threshold {t_new:.4f} threshold rule specificity ≥ 0.8" in head

    run(go())


@pytest.mark.slow
def test_evaluate_reload_key_and_screen_resume_pick_up_the_files(tmp_path, two):
    a, _, _ = two
    vs, vl = load_scores(a)["val"]
    op = choose_operating_point(vs, vl, "sensitivity", 0.9)

    async def go():
        app = make_app(tmp_path, start="evaluate")
        async with app.run_test(size=SMALL) as pilot:
            await settle_checkpoint(pilot)
            ev = app.screen
            assert ev._rule_index == 0                    # J, the training rule
            save_operating_point(a, op)
            await pilot.press("l")                        # at once, before the timer
            await settle_checkpoint(pilot)
            assert ev.threshold == op.threshold and app.state.active.threshold == op.threshold
            assert ev._rule_index == 1                    # from the saved metric/target
            await pilot.press("o")                        # so `o` goes on to specificity
            assert ev.rule.startswith("specificity>=0.9")
            # rewritten while another screen shows: seen when Evaluate shows again
            await pilot.press("2")
            metrics = json.loads((a / "metrics.json").read_text())
            del metrics["operating_point"]
            (a / "metrics.json").write_text(json.dumps(metrics))
            await pilot.press("3")
            await settle_checkpoint(pilot)
            assert ev.threshold == youden_of(a) and app.state.active.rule == "saved threshold"
            # the palette's reload reads the folder again at once, whatever the timer does
            before = app.state.active
            reload = next(c for c in app_commands(app)
                          if c.title == "reload the active checkpoint")
            reload.run()
            await settle_checkpoint(pilot)
            assert app.state.active is not before and app.state.active.path == str(a)
            assert ev.shown is app.state.active

    run(go())


@pytest.fixture(scope="module")
def shipped(tmp_path_factory) -> Path:
    """A writable copy of the shipped checkpoint (its sample images are found again: the
    gallery)."""
    root = tmp_path_factory.mktemp("shipped")
    writable_shipped(root / "artifacts")
    return root


@pytest.mark.slow
def test_gallery_follows_a_new_operating_point(shipped):
    ckpt = shipped / "artifacts"
    vs, vl = load_scores(ckpt)["val"]
    op = choose_operating_point(vs, vl, "sensitivity", 0.9)

    async def go():
        app = make_app(shipped, checkpoint=str(ckpt), start="evaluate")
        async with app.run_test(size=SMALL) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, EvaluateScreen), 10, "Eval")
            await settle_checkpoint(pilot)
            t0 = app.screen.threshold
            assert t0 != op.threshold
            await pilot.press("g")
            gal = app.screen
            assert isinstance(gal, GalleryScreen) and gal.threshold == t0
            await wait_for(pilot, lambda: gal.errors or gal.item is not None, 60, "an image")
            assert gal.order.tolist() == select(vs, vl, t0, "FP").tolist()
            before = app.state.active
            save_operating_point(ckpt, op)
            await wait_for(pilot, lambda: gal.active is not before, 5, "the gallery reloads")
            assert gal.active is app.state.active and gal.threshold == op.threshold
            await wait_for(pilot, lambda: gal.errors or gal.item is not None, 60, "an image")
            assert not gal.errors
            assert gal.order.tolist() == select(vs, vl, op.threshold, "FP").tolist()
            assert f"{op.threshold:.4f}" in text_of(gal.query_one("#gal-bar"))
            await pilot.press("escape")
            ev = app.screen
            await settle_checkpoint(pilot)
            assert isinstance(ev, EvaluateScreen) and ev.threshold == op.threshold

    run(go())
