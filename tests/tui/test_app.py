"""chexmini-tui: every screen driven through ``App.run_test()`` and the Pilot, on real
engine results (no mocks): the numbers the app shows are compared with what
``core`` computes directly.

Fixtures are built deterministically (fixed arrays written with ``core.runs.checkpoint``
functions, in ``tests/helpers/tui.py``), so the snapshot tests in ``test_snapshots.py``
reuse them.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from chexmini_tui.app import ChexminiApp
from chexmini_tui.state import RunDisplayState
from core.data import load_data
from core.data.nih_sample import sample_pngs
from core.evaluation.gradcheck import gradcheck
from core.evaluation.metrics import binary_metrics, confusion_matrix, youden_threshold
from core.events import EpochEnd, RunStarted
from core.foundation.config import TrainConfig
from core.foundation.errors import ChexminiError
from core.inference import load_checkpoint, predict_label, preprocess_image
from core.training.resume_state import load_resume_state
from core.training.train import train
from tests.helpers.tui import (
    SIZE,
    fill_form,
    inspect_ready,
    make_app,
    make_checkpoint,
    select_run,
    settle_checkpoint,
    text_of,
    wait_for,
    write_fixed_events,
    write_png,
)

# -- fixtures ----------------------------------------------------------------------------
pytestmark = pytest.mark.usefixtures("one_blas_thread")

#: Epochs of a run the test stops itself: a tiny model trains ~100 epochs a second on an
#: idle machine, so a few hundred could finish before the test's keys arrive.
LONG = 1_000_000


@pytest.fixture(scope="session")
def ckpt(tmp_path_factory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "artifacts")


@pytest.fixture(scope="session")
def images_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("images")
    write_png(d / "chest_a.png", 0)
    write_png(d / "chest_b.png", 1)
    (d / "broken.png").write_bytes(b"this is not a png at all")
    return d


def run(coro):
    return asyncio.run(coro)


# -- evaluate -----------------------------------------------------------------------------
@pytest.mark.slow
def test_evaluate_threshold_keys_match_core_metrics(tmp_path, ckpt):
    val_s, val_y = np.load(ckpt / "val_scores.npy"), np.load(ckpt / "val_labels.npy")
    test_s, test_y = np.load(ckpt / "test_scores.npy"), np.load(ckpt / "test_labels.npy")
    saved = json.loads((ckpt / "metrics.json").read_text())["threshold"]

    async def go():
        app = make_app(tmp_path, checkpoint=str(ckpt), start="evaluate")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            scr = app.screen
            assert scr.threshold == pytest.approx(saved)

            def check():
                t = scr.threshold
                assert scr.query_one("#cm-val").counts == confusion_matrix(val_s, val_y, t)
                assert scr.query_one("#cm-test").counts == confusion_matrix(test_s, test_y, t)
                shown = scr.query_one("#ev-metrics").columns
                for k, v in binary_metrics(test_s, test_y, t).items():
                    if k != "confusion_matrix":
                        assert shown["test"][k] == pytest.approx(v)

            check()
            before = dict(scr.query_one("#cm-val").counts)
            for _ in range(10):
                await pilot.press("right")
            await pilot.pause()
            assert scr.threshold == pytest.approx(saved + 0.10, abs=1e-6)
            check()
            assert scr.query_one("#cm-val").counts != before  # moved far enough to matter
            await pilot.press("left", "left", "shift+left")
            await pilot.pause()
            assert scr.threshold == pytest.approx(saved + 0.079, abs=1e-6)
            check()
            await pilot.press("r")
            await pilot.pause()
            assert scr.threshold == youden_threshold(val_s, val_y)
            check()
            # the rendered matrix shows the counts
            text = text_of(scr.query_one("#cm-val"))
            assert f"TN {scr.query_one('#cm-val').counts['tn']}" in text

    run(go())


@pytest.mark.slow
def test_evaluate_threshold_is_clamped(tmp_path, ckpt):
    async def go():
        app = make_app(tmp_path, checkpoint=str(ckpt), start="evaluate")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            scr = app.screen
            scr.set_threshold(0.995)
            await pilot.press("right")
            assert scr.threshold == 1.0
            assert scr.query_one("#cm-val").counts["tp"] + \
                scr.query_one("#cm-val").counts["fp"] == 0

    run(go())


# -- predict ------------------------------------------------------------------------------
@pytest.mark.slow
def test_predict_shows_engine_probability(tmp_path, ckpt, images_dir):
    img = images_dir / "chest_a.png"
    model, mean, std, thr = load_checkpoint(ckpt)
    prob, label = predict_label(model, preprocess_image(img, 64, mean, std), thr)

    async def go():
        app = make_app(tmp_path, checkpoint=str(ckpt), start="predict",
                       predict_root=str(images_dir))
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press("o")
            app.screen.query_one("#pred-path").value = str(img)
            await pilot.press("enter")
            await pilot.pause()
            scr = app.screen
            assert scr.error is None
            assert scr.last["prob"] == pytest.approx(prob, abs=1e-12)
            assert scr.last["label"] == label
            assert f"{prob:.4f}" in text_of(scr.query_one("#pred-result"))
            assert scr.query_one("#img-xray").image is not None
            assert scr.query_one("#img-sal").image is not None
            assert scr.query_one("#pred-table").row_count == 1

    run(go())


@pytest.mark.slow
def test_predict_from_tree_and_bad_file_inline_error(tmp_path, ckpt, images_dir):
    async def go():
        app = make_app(tmp_path, checkpoint=str(ckpt), start="predict",
                       predict_root=str(images_dir))
        async with app.run_test(size=SIZE) as pilot:
            scr = app.screen
            tree = scr.query_one("#pred-tree")
            await wait_for(pilot, lambda: len(tree.root.children) == 3, 10, "tree")
            await pilot.pause()
            # files sorted: broken.png, chest_a.png, chest_b.png; cursor starts at the root
            await pilot.press("down", "enter")      # broken.png
            await pilot.pause()
            assert scr.error is not None and "broken.png" in scr.error
            assert "broken.png" in text_of(scr.query_one("#pred-result"))
            await pilot.press("down", "enter")      # chest_a.png still works afterwards
            await pilot.pause()
            assert scr.error is None and scr.last["path"].endswith("chest_a.png")
            # a path that does not exist, typed in
            await pilot.press("o")
            scr.query_one("#pred-path").value = str(images_dir / "nope.png")
            await pilot.press("enter")
            await pilot.pause()
            assert "not found" in scr.error
            assert app.is_running
            # predict the whole folder in a worker: 2 good files, 1 error
            await pilot.press("escape", "c", "a")
            await wait_for(pilot, lambda: len(scr.results) == 3, 20, "folder predictions")
            assert sum(r[3] is not None for r in scr.results) == 1

    run(go())


# -- train --------------------------------------------------------------------------------
@pytest.mark.slow
def test_train_through_the_form_runs_to_completion(tmp_path):
    out = tmp_path / "runs" / "r1"

    async def go():
        app = make_app(tmp_path, start="train")
        async with app.run_test(size=SIZE) as pilot:
            scr = app.screen
            fill_form(scr, data="synthetic:160", epochs=3, hidden_dims="32,16",
                      batch_size=32, out=str(out), augment=False)
            await pilot.press("s")
            await wait_for(pilot, lambda: scr.status in ("finished", "error"), 90, "finish")
            assert scr.status == "finished", scr.status_detail
            await pilot.pause(0.3)
            st = scr.state
            assert st.epochs_done == 3 and st.finished is not None
            assert st.hist_epoch == [1, 2, 3]
            assert st.global_step == 3 * st.steps_per_epoch
            assert scr.query_one("#plot-loss").series[0].y == st.hist_train_loss
            assert app.checkpoint == str(out)
            assert "s start" not in text_of(scr.query_one("#run-status"))

    run(go())
    for f in ("model.npz", "metrics.json", "history.json", "val_scores.npy", "test_scores.npy",
              "loss_curve.png", "events.jsonl"):
        assert (out / f).is_file(), f
    model, mean, std, thr = load_checkpoint(out)
    assert model.widths == (4096, 32, 16, 1) and 0 <= thr <= 1
    assert json.loads((out / "metrics.json").read_text())["config"]["epochs"] == 3
    # the same settings through the command line: the same run, bit for bit
    from chexmini_cli.main import main as cli

    cli_out = tmp_path / "cli"
    assert cli(["train", "--data", "synthetic:160", "--epochs", "3", "--hidden-dims", "32,16",
                "--batch-size", "32", "--no-augment", "--quiet", "--out", str(cli_out)]) == 0
    for f in ("model.npz", "val_scores.npy", "test_scores.npy"):
        ours, theirs = np.load(out / f), np.load(cli_out / f)
        if f == "model.npz":
            assert sorted(ours.files) == sorted(theirs.files)
            assert all(ours[k].tobytes() == theirs[k].tobytes() for k in ours.files), f
        else:
            assert ours.tobytes() == theirs.tobytes(), f
    assert (json.loads((out / "history.json").read_text())
            == json.loads((cli_out / "history.json").read_text()))


@pytest.mark.slow
def test_form_errors_are_inline(tmp_path):
    async def go():
        app = make_app(tmp_path, start="train")
        async with app.run_test(size=SIZE) as pilot:
            scr = app.screen
            fill_form(scr, lr="fast")
            await pilot.press("s")
            await pilot.pause()
            assert "lr" in text_of(scr.query_one("#form-error"))
            assert scr.runner is None
            fill_form(scr, lr="0.001", dropout="1.5")
            await pilot.press("s")
            await pilot.pause()
            assert "dropout" in text_of(scr.query_one("#form-error"))
            # a bad data source fails in the worker and is shown, the app keeps running
            fill_form(scr, dropout="0.3", data=str(tmp_path / "nowhere"),
                      out=str(tmp_path / "x"))
            await pilot.press("s")
            await wait_for(pilot, lambda: scr.status == "error", 20, "error")
            assert "nowhere" in scr.status_detail
            assert app.is_running

    run(go())


@pytest.mark.slow
def test_pause_stops_steps_save_now_and_stop_writes_artifacts(tmp_path):
    out = tmp_path / "runs" / "long"
    data = load_data("synthetic:400")
    cfg = TrainConfig(hidden_dims=[64, 32], epochs=LONG, batch_size=16, augment=False)

    async def go():
        app = make_app(tmp_path, start="train")
        async with app.run_test(size=SIZE) as pilot:
            scr = app.screen
            runner = scr.start_run(cfg, "synthetic:400", out, data=data)
            await wait_for(pilot, lambda: scr.state.epochs_done >= 1, 60, "first epoch")
            # pause: the step counter stops (in the worker and on screen)
            await pilot.press("p")
            await wait_for(pilot, lambda: scr.status == "paused", 10, "paused")
            await pilot.pause(0.2)
            steps, shown = runner.global_step, scr.state.global_step
            assert shown == steps
            await pilot.pause(0.8)
            assert runner.global_step == steps and scr.state.global_step == steps
            # save now while paused: written at once, at the paused step (the epoch-end
            # copy is removed first, so the file that appears is the one "save now" wrote)
            (out / "resume.npz").unlink(missing_ok=True)
            await pilot.press("w")
            def saved_while_paused() -> bool:   # a resume.npz written at the paused step
                try:
                    return load_resume_state(out / "resume.npz")[1]["global_step"] == steps
                except ChexminiError:
                    return False

            await wait_for(pilot, saved_while_paused, 20, "resume.npz from save-now")
            assert runner.global_step == steps
            await pilot.press("p")
            await wait_for(pilot, lambda: runner.global_step > steps, 20, "steps after resume")
            assert runner.global_step > steps
            # plots are redrawn at most ~4×/s however fast epochs come
            builds0, t0 = scr.query_one("#plot-loss").builds, time.monotonic()
            await pilot.pause(1.0)
            builds = scr.query_one("#plot-loss").builds - builds0
            assert builds <= 4 * (time.monotonic() - t0) + 2
            # stop: a clean finish — best checkpoint, test scores, artifacts
            await pilot.press("x")
            await wait_for(pilot, lambda: scr.status in ("finished", "error"), 60, "finish")
            assert scr.status == "finished", scr.status_detail
            assert runner.result.stopped_early
            assert scr.state.finished is not None

    run(go())
    assert (out / "metrics.json").is_file() and (out / "model.npz").is_file()
    assert not (out / "resume.npz").exists()  # removed by a clean finish
    load_checkpoint(out)


@pytest.mark.slow
def test_quit_while_training_asks_then_stops_cleanly(tmp_path):
    out = tmp_path / "runs" / "q"
    data = load_data("synthetic:200")
    cfg = TrainConfig(hidden_dims=[32], epochs=LONG, batch_size=16, augment=False)

    async def go():
        from chexmini_tui.screens.quit import QuitScreen

        app = make_app(tmp_path, start="train")
        async with app.run_test(size=SIZE) as pilot:
            scr = app.screen
            runner = scr.start_run(cfg, "synthetic:200", out, data=data)
            await wait_for(pilot, lambda: scr.state.epochs_done >= 1, 60, "first epoch")
            await pilot.press("q")
            await wait_for(pilot, lambda: isinstance(app.screen, QuitScreen), 10, "dialog")
            await pilot.press("escape")             # keep training
            await wait_for(pilot, lambda: not isinstance(app.screen, QuitScreen), 10)
            assert runner.active
            await pilot.press("q")
            await wait_for(pilot, lambda: isinstance(app.screen, QuitScreen), 10, "dialog")
            await pilot.press("s")                  # stop cleanly, then quit
            await wait_for(pilot, lambda: app.return_code is not None, 60, "app exit")
            assert runner.result is not None and runner.result.stopped_early

    run(go())
    assert (out / "metrics.json").is_file()


@pytest.mark.slow
def test_abort_keeps_the_run_resumable(tmp_path):
    out = tmp_path / "runs" / "a"
    data = load_data("synthetic:200")
    cfg = TrainConfig(hidden_dims=[32], epochs=LONG, batch_size=16, augment=False)

    async def go():
        app = make_app(tmp_path, start="train")
        async with app.run_test(size=SIZE) as pilot:
            scr = app.screen
            runner = scr.start_run(cfg, "synthetic:200", out, data=data)
            await wait_for(pilot, lambda: runner.global_step > 3, 60, "steps")
            await pilot.press("q")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "QuitScreen", 10)
            await pilot.press("a")
            await wait_for(pilot, lambda: app.return_code is not None, 60, "app exit")
            assert runner.state == "aborted" and runner.result is None

    run(go())
    assert (out / "resume.npz").is_file() and not (out / "metrics.json").exists()


@pytest.mark.slow
def test_resume_key_continues_an_interrupted_run_bit_identically(tmp_path):
    """Interrupt a run (generator closed mid-epoch), press r on the Train screen: the app
    resumes the newest interrupted run under runs/ and ends with the same weights as a
    run that was never interrupted."""
    data = load_data("synthetic:200")
    cfg = dict(hidden_dims=[32], epochs=3, batch_size=32, augment=True)
    full = tmp_path / "full"
    list(train(TrainConfig(**cfg), data, full))
    part = tmp_path / "runs" / "part"
    gen = train(TrainConfig(**cfg), data, part)
    for ev in gen:
        if ev.kind == "step" and ev.epoch == 2 and ev.step == 2:
            break
    gen.close()

    async def go():
        app = make_app(tmp_path, start="train")
        async with app.run_test(size=SIZE) as pilot:
            scr = app.screen
            await pilot.press("r")
            await wait_for(pilot, lambda: scr.runner is not None and scr.runner.result
                           is not None, 60, "resumed run")
            assert scr.runner.resuming and scr.state.epochs_done == 3

    run(go())
    assert (part / "model.npz").read_bytes() == (full / "model.npz").read_bytes()
    assert (part / "history.json").read_bytes() == (full / "history.json").read_bytes()


@pytest.mark.slow
def test_resume_key_with_nothing_to_resume_is_an_inline_error(tmp_path):
    async def go():
        app = make_app(tmp_path, start="train")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("r")
            await pilot.pause()
            text = str(app.screen.query_one("#form-error").render())
            assert "nothing to resume" in text and app.screen.runner is None

    run(go())


# -- attach -------------------------------------------------------------------------------
@pytest.mark.slow
def test_attach_follows_a_run_in_progress(tmp_path):
    run_dir = tmp_path / "runs" / "ext"
    data = load_data("synthetic:160")
    cfg = TrainConfig(hidden_dims=[16], epochs=4, batch_size=32, augment=False)
    first_epoch, go_on, done = threading.Event(), threading.Event(), threading.Event()

    def other_process():                      # a run driven elsewhere (like the CLI)
        for ev in train(cfg, data, run_dir):
            if ev.kind == "epoch" and ev.epoch == 1:
                first_epoch.set()
                go_on.wait(30)
        done.set()

    threading.Thread(target=other_process, daemon=True).start()
    assert first_epoch.wait(60)

    async def go():
        app = make_app(tmp_path, attach=str(run_dir))
        async with app.run_test(size=SIZE) as pilot:
            scr = app.screen
            assert scr.MODE == "train"
            await wait_for(pilot, lambda: scr.state.epochs_done == 1, 10, "first epoch")
            assert scr.state.source == "synthetic:160"
            # the run is live and ours: p, w and x steer it (tests/tui/test_attach_control.py)
            assert scr.check_action("pause", ()) and not scr.check_action("start", ())
            go_on.set()                             # the run goes on and finishes
            await wait_for(pilot, lambda: scr.state.finished is not None, 10, "finished")
            assert scr.state.hist_epoch == [1, 2, 3, 4]
            assert "attached · finished" in text_of(scr.query_one("#run-status"))
            assert scr.state.best_epoch == json.loads(
                (run_dir / "metrics.json").read_text())["best_epoch"]
            await pilot.press("d")                  # detach: back to the form
            await pilot.pause()
            assert scr.follow is None and scr.check_action("start", ())

    run(go())


@pytest.mark.slow
def test_attach_waits_for_missing_file_and_replays_fixed_run(tmp_path):
    run_dir = tmp_path / "later"
    run_dir.mkdir()

    async def go():
        app = make_app(tmp_path, attach=str(run_dir))
        async with app.run_test(size=SIZE) as pilot:
            scr = app.screen
            await pilot.pause()
            assert "waiting for" in scr.status_detail
            write_fixed_events(run_dir)
            await wait_for(pilot, lambda: scr.state.finished is not None, 10, "replay")
            assert scr.state.epochs_done == 6 and scr.state.best_epoch == 4

    run(go())


@pytest.mark.slow
def test_inspect_attach_key_follows_run(tmp_path):
    write_fixed_events(tmp_path / "runs" / "demo")

    async def go():
        app = make_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            scr = app.screen
            assert scr.MODE == "inspect"
            await inspect_ready(pilot, scr)
            select_run(scr, tmp_path / "runs" / "demo")
            await pilot.pause()
            await pilot.press("a")
            await wait_for(pilot, lambda: app.current_mode == "train", 5, "train mode")
            await wait_for(pilot, lambda: app.screen.state.finished is not None, 10, "replay")

    run(go())


def test_runstate_resume_truncates_history():
    st = RunDisplayState()
    cfg = TrainConfig(epochs=5).to_dict()
    st.apply(RunStarted(cfg, {}, [4096, 1], 4097, "s", None, 0, 0, False, 2))
    for ep in (1, 2, 3):
        st.apply(EpochEnd(ep, 5, 1.0, 0, 1.0, 0.5 + ep / 10, 0.5, 1e-3, True, ep,
                          0.5 + ep / 10, 1.0))
    st.apply(RunStarted(cfg, {}, [4096, 1], 4097, "s", None, 2, 0, True, 2))
    assert st.hist_epoch == [1, 2] and st.epochs_done == 2 and st.global_step == 4


# -- gradcheck ----------------------------------------------------------------------------
@pytest.mark.slow
def test_gradcheck_checkpoint_matches_core(tmp_path, ckpt):
    from chexmini_tui.screens.gradcheck import probe_batch

    model = load_checkpoint(ckpt)[0]
    x, y = probe_batch(model.widths[0])
    expected = gradcheck(model, x, y, eps=1e-4, n_samples=4, tol=1e-6)

    async def go():
        app = make_app(tmp_path, checkpoint=str(ckpt), start="gradcheck")
        async with app.run_test(size=SIZE) as pilot:
            await settle_checkpoint(pilot)
            scr = app.screen
            await pilot.press("m")                  # fresh → checkpoint
            assert scr.source == "checkpoint"
            scr.query_one("#gc-samples").value = "4"
            await pilot.press("g")
            await wait_for(pilot, lambda: not scr.running and (scr.report or scr.error),
                           30, "gradcheck")
            assert scr.error is None
            assert [r.name for r in scr.report.rows] == [r.name for r in expected.rows]
            for got, want in zip(scr.report.rows, expected.rows, strict=True):
                assert got.max_rel_error == pytest.approx(want.max_rel_error, rel=1e-6,
                                                          abs=1e-12)
                assert got.passed == want.passed
            assert scr.query_one("#gc-table").row_count == len(expected.rows)
            assert "PASS" in text_of(scr.query_one("#gc-summary"))
            # a bad epsilon is an inline error
            scr.query_one("#gc-eps").value = "zero"
            await pilot.press("g")
            await pilot.pause()
            assert "epsilon" in scr.error

    run(go())


@pytest.mark.slow
def test_gradcheck_fresh_and_live_model(tmp_path):
    out = tmp_path / "runs" / "live"
    data = load_data("synthetic:200")
    cfg = TrainConfig(hidden_dims=[8, 4], epochs=LONG, batch_size=16, augment=False)

    async def go():
        app = make_app(tmp_path, start="gradcheck")
        async with app.run_test(size=SIZE) as pilot:
            scr = app.screen
            scr.query_one("#gc-dims").value = "8,4"
            scr.query_one("#gc-samples").value = "3"
            await pilot.press("g")                  # fresh model
            await wait_for(pilot, lambda: not scr.running and scr.report is not None, 30)
            assert scr.report.passed and "fresh model 4096→8→4→1" in scr.what
            await pilot.press("m", "m")             # → live, with no run: inline error
            assert scr.source == "live"
            await pilot.press("g")
            await wait_for(pilot, lambda: not scr.running and scr.error is not None, 30)
            assert "no training run" in scr.error
            # start a run, pause it, check the live model
            await pilot.press("1")
            train_scr = app.screen
            runner = train_scr.start_run(cfg, "synthetic:200", out, data=data)
            await wait_for(pilot, lambda: runner.global_step > 2, 30, "steps")
            await pilot.press("p")
            await wait_for(pilot, lambda: runner.state == "paused", 10, "paused")
            await pilot.press("2", "g")
            await wait_for(pilot, lambda: not scr.running and (scr.report or scr.error), 30)
            assert scr.error is None and scr.what.startswith("live model")
            assert scr.report.passed
            runner.abort()
            await wait_for(pilot, lambda: not runner.active, 30, "abort")

    run(go())


# -- inspect ------------------------------------------------------------------------------
@pytest.mark.slow
def test_inspect_lists_overlays_and_selects(tmp_path):
    make_checkpoint(tmp_path / "artifacts", seed=0)
    make_checkpoint(tmp_path / "runs" / "b", seed=1, hidden=(8,))
    (tmp_path / "runs" / "empty").mkdir()

    async def go():
        app = make_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            scr = app.screen
            await inspect_ready(pilot, scr)
            paths = [r.path for r in scr.runs]
            assert paths == [str(tmp_path / "artifacts"), str(tmp_path / "runs" / "empty"),
                             str(tmp_path / "runs" / "b")]
            assert scr.selected.path == str(tmp_path / "artifacts")
            text = text_of(scr.query_one("#insp-tables"))
            assert "headline metrics" in text and "model.npz" in text
            await pilot.press("m")                  # mark artifacts
            await pilot.press("down")
            await pilot.pause()
            assert scr.selected.summary is None     # the empty folder: an inline message
            assert "no checkpoint" in text_of(scr.query_one("#insp-head")).lower()
            await pilot.press("down", "m")          # mark b too: both overlaid
            await pilot.pause()
            assert scr.selected.path == str(tmp_path / "runs" / "b")
            overlay = scr.query_one("#insp-overlay")
            assert overlay.display and [r.name for r in overlay.runs] == ["artifacts", "b"]
            await pilot.press("enter")              # make it the active checkpoint
            await pilot.pause()
            assert app.checkpoint == str(tmp_path / "runs" / "b")
            await pilot.press("3")
            await pilot.pause()
            assert app.screen.loaded_for == str(tmp_path / "runs" / "b")
            assert app.screen.data  # evaluate loaded it

    run(go())


@pytest.mark.slow
def test_missing_artifacts_is_graceful(tmp_path):
    async def go():
        app = make_app(tmp_path)
        async with app.run_test(size=(80, 24)) as pilot:
            assert "not found" in text_of(app.screen.query_one("#insp-head"))
            for key, widget in (("3", "#ev-info"), ("5", "#pred-result")):
                await pilot.press(key)
                await pilot.pause()
                assert "not found" in text_of(app.screen.query_one(widget))
            await pilot.press("2")
            assert app.screen.MODE == "gradcheck"
            await pilot.press("question_mark")
            await pilot.pause()
            from chexmini_tui.screens.help import HelpScreen

            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, HelpScreen)
            await pilot.press("q")
            await pilot.pause()
            assert app.return_code is not None

    run(go())


def test_help_lists_every_binding():
    from chexmini_tui.screens.help import global_keys, screen_keys

    keys = {k for k, _ in global_keys()}
    assert {"1", "2", "3", "4", "5", "?", "q"} <= keys
    for cls in ChexminiApp.MODES.values():
        descs = [d for _, d in screen_keys(cls)]
        assert len(descs) == len(cls.BINDINGS)


def test_main_entry_point(tmp_path, capsys):
    from chexmini_tui.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "--attach" in capsys.readouterr().out
    assert main(["--attach", str(tmp_path / "none")]) == 2


# -- the embedded real NIH sample ------------------------------------------------------------
@pytest.mark.slow
def test_real_sample_train_and_predict(tmp_path, ckpt):
    pngs = [sample_pngs()[0], sample_pngs()[-1]]     # real 256×256 X-rays, one of each class
    model, mean, std, thr = load_checkpoint(ckpt)
    out = tmp_path / "runs" / "nih"

    async def go():
        app = make_app(tmp_path, checkpoint=str(ckpt), start="predict")
        async with app.run_test(size=SIZE) as pilot:
            scr = app.screen
            for png in pngs:                    # 64×64 and 256×256 real X-rays
                await pilot.press("o")
                scr.query_one("#pred-path").value = str(png)
                await pilot.press("enter")
                await pilot.pause()
                want = predict_label(model, preprocess_image(png, 64, mean, std), thr)
                assert scr.error is None
                assert (scr.last["prob"], scr.last["label"]) == (pytest.approx(want[0]), want[1])
                await pilot.press("escape")
            await pilot.press("1")
            train_scr = app.screen
            assert train_scr.query_one("#f-data").value == "nih-sample"   # the default
            fill_form(train_scr, epochs=1, hidden_dims="16", batch_size=128,
                      out=str(out))
            await pilot.press("s")
            await wait_for(pilot, lambda: train_scr.status in ("finished", "error"), 120)
            assert train_scr.status == "finished", train_scr.status_detail
            assert train_scr.state.source == "nih-sample"

    run(go())
    load_checkpoint(out)


@pytest.mark.slow
def test_damaged_checkpoints_are_inline_errors(tmp_path, ckpt):
    import shutil

    odd = tmp_path / "runs" / "odd"          # valid JSON, but not what the engine writes
    shutil.copytree(ckpt, odd)
    (odd / "metrics.json").write_text(json.dumps({"threshold": 0.5, "validation": [1],
                                                  "splits": "x", "config": None}))
    bad = tmp_path / "runs" / "bad"          # garbage weights
    shutil.copytree(ckpt, bad)
    (bad / "model.npz").write_bytes(b"garbage")
    (bad / "val_scores.npy").write_bytes(b"garbage")

    async def go():
        app = make_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            scr = app.screen
            await inspect_ready(pilot, scr)
            for path in (odd, bad):
                select_run(scr, path)
                await pilot.pause()
                await pilot.press("m")            # overlay the damaged one too
                await pilot.press("enter")
                await pilot.pause()
                for key in ("3", "5"):
                    await pilot.press(key)
                    await pilot.pause()
                    assert app.is_running
                await pilot.press("4")
                await pilot.pause()
            await pilot.press("3")
            await pilot.pause()
            assert "val_scores.npy" in text_of(app.screen.query_one("#ev-info"))
            await pilot.press("5")
            await pilot.pause()
            assert "model.npz" in text_of(app.screen.query_one("#pred-result"))

    run(go())


@pytest.mark.slow
def test_train_flag_starts_the_published_run_on_the_real_sample(tmp_path, ckpt):
    """``chexmini-tui --train`` (the README's first command): the app opens on Train and
    trains the published model and hyperparameters on the embedded NIH sample at once."""

    async def go():
        app = make_app(tmp_path, checkpoint=str(ckpt), autostart=True)
        async with app.run_test(size=SIZE) as pilot:
            scr = app.screen
            await wait_for(pilot, lambda: scr.state.epochs_done >= 1 or scr.status == "error",
                           120, "the first epoch")
            assert scr.status == "running", scr.status_detail
            assert scr.state.source == "nih-sample"
            assert scr.state.widths == [4096, 1024, 256, 64, 1]
            assert scr.state.config == {**TrainConfig().to_dict(),
                                        "dataset_revision": scr.state.config["dataset_revision"]}
            assert scr.state.splits["train"]["n"] == 1133
            await pilot.press("x")                      # stop cleanly: artifacts written
            await wait_for(pilot, lambda: scr.status in ("finished", "error"), 120)
            assert scr.status == "finished", scr.status_detail
            return scr.state.out_dir

    out = run(go())
    model = load_checkpoint(out)[0]
    assert model.widths == (4096, 1024, 256, 64, 1)
