"""The app's one state (``chexmini_tui.app_state``): the active checkpoint, the run's
status and attach/detach live in ``app.state`` only, and the header, the Train status
line and Inspect's ▶ marker all show what it says."""

from __future__ import annotations

import asyncio

import pytest

from chexmini_tui.active import ActiveCheckpoint
from chexmini_tui.app_state import AppState, StateChanged
from core.data import load_data
from core.foundation.config import TrainConfig
from tests.helpers.tui import (
    SIZE,
    inspect_ready,
    make_app,
    make_checkpoint,
    replayed_run,
    select_run,
    settle_checkpoint,
    text_of,
    wait_for,
)

pytestmark = pytest.mark.usefixtures("one_blas_thread")


def run(coro):
    return asyncio.run(coro)


def marked_active(inspect_screen) -> list[str]:
    """The entries of Inspect's list drawn with the ▶ active marker."""
    return [row for row in inspect_screen.query_one("#insp-runs").rows_text() if "▶" in row]


def unloaded(path: str) -> ActiveCheckpoint:
    """An active checkpoint value for ``path`` without reading anything."""
    return ActiveCheckpoint(path, None, "not read", ())


# -- the value itself ------------------------------------------------------------------------
def test_state_value_headline_and_checks():
    st = AppState(unloaded("artifacts"))
    assert st.headline() == "checkpoint: artifacts"
    assert not st.running and not st.paused
    st = st.but(run_status="paused", run_dir="runs/a")
    assert st.running and st.paused
    assert st.headline() == "checkpoint: artifacts · ● paused a"
    att = st.but(run_status="attached", attached=True)
    assert not att.running and "● attached a" in att.headline()
    assert "● attached · finished a" in att.but(run_status="finished").headline()
    assert att.but(active=unloaded("runs/a")).headline() == "checkpoint: runs/a · ● attached"
    with pytest.raises(ValueError):
        st.but(run_status="sleeping")
    with pytest.raises(AttributeError):
        st.run_status = "idle"  # immutable: changed only through the app


def test_state_changed_messages_merge():
    a, b = StateChanged(AppState(unloaded("x"))), StateChanged(AppState(unloaded("y")))
    assert a.can_replace(b) and a.state.active_checkpoint == "x"


# -- through the app ---------------------------------------------------------------------------
@pytest.mark.slow
def test_inspect_enter_sets_the_one_active_checkpoint(tmp_path):
    make_checkpoint(tmp_path / "artifacts", seed=0)
    make_checkpoint(tmp_path / "runs" / "b", seed=1, hidden=(8,))
    b = str(tmp_path / "runs" / "b")

    async def go():
        app = make_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            scr = app.screen
            assert app.state.active_checkpoint == str(tmp_path / "artifacts")
            assert "checkpoint: " + str(tmp_path / "artifacts") in app.sub_title
            await inspect_ready(pilot, scr)
            select_run(scr, b)
            await pilot.pause()
            await pilot.press("enter")
            await pilot.pause()
            assert app.state.active_checkpoint == b == app.checkpoint
            assert app.sub_title == f"checkpoint: {b}"
            assert len(marked_active(scr)) == 1 and b in marked_active(scr)[0]
            # set from elsewhere (as a finished run does): Inspect follows without a rescan key
            app.set_checkpoint(tmp_path / "artifacts")
            await pilot.pause()
            assert str(tmp_path / "artifacts") in marked_active(scr)[0]
            assert app.sub_title == f"checkpoint: {tmp_path / 'artifacts'}"
            await pilot.press("3")
            await wait_for(pilot, lambda: app.current_mode == "evaluate", 5, "evaluate")
            await pilot.pause()
            assert app.screen.loaded_for == app.state.active_checkpoint

    run(go())


@pytest.mark.slow
def test_attach_then_detach_is_idle_everywhere(tmp_path):
    run_dir = tmp_path / "runs" / "demo"

    async def go():
        async with replayed_run(tmp_path, SIZE) as (app, pilot, scr):
            # the followed run has finished: attached, and finished in the state and header
            assert app.state.attached and app.state.run_status == "finished"
            assert app.state.run_dir == str(run_dir) and not app.state.running
            assert app.sub_title.endswith("● attached · finished demo")
            assert "attached · finished" in text_of(scr.query_one("#run-status"))
            await pilot.press("d")
            await pilot.pause()
            assert app.state == AppState(app.state.active)  # idle, nothing else
            assert scr.status == "idle"
            assert "●" not in app.sub_title and "attached" not in app.sub_title
            assert "● idle" in text_of(scr.query_one("#run-status"))

    run(go())


@pytest.mark.slow
def test_a_finished_run_is_finished_everywhere(tmp_path):
    make_checkpoint(tmp_path / "artifacts", seed=0)
    out = tmp_path / "runs" / "short"
    data = load_data("synthetic:200")
    cfg = TrainConfig(hidden_dims=[8], epochs=2, batch_size=32, augment=False)
    seen: list[str] = []

    async def go():
        app = make_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            inspect = app.screen
            await pilot.press("1")
            await wait_for(pilot, lambda: app.current_mode == "train", 5, "train")
            scr = app.screen
            runner = scr.start_run(cfg, "synthetic:200", out, data=data)
            seen.append(app.state.run_status)
            assert app.state.running and app.state.run_dir == str(out)
            assert app.runner() is runner
            await wait_for(pilot, lambda: app.state.run_status == "finished", 90, "finish")
            await pilot.pause(0.2)
            assert scr.status == "finished" and "● finished" in text_of(
                scr.query_one("#run-status"))
            assert app.state.active_checkpoint == str(out)
            assert app.sub_title == f"checkpoint: {out} · ● finished"
            # Inspect (not on screen) was told: the run is listed as the active checkpoint,
            # a finished run now (its folder is scanned again in the background)
            await wait_for(pilot, lambda: any(r.endswith(f"{out} (finished)")
                                              for r in marked_active(inspect)),
                           30, "the run listed as active and finished")
            assert len(marked_active(inspect)) == 1

    run(go())
    assert seen == ["loading"]


def test_a_worker_that_fails_unexpectedly_is_one_inline_line(tmp_path):
    """No worker fails silently: an error it did not handle is notified, and the app
    goes on (the screens' own workers report theirs inline)."""
    make_checkpoint(tmp_path / "artifacts", seed=0)

    def broken() -> None:
        raise ZeroDivisionError("half a bug")

    async def go():
        app = make_app(tmp_path, start="evaluate")
        async with app.run_test(size=(80, 24)) as pilot:
            app.run_worker(broken, thread=True, group="probe", exit_on_error=False)
            said = lambda: " ".join(n.message for n in app._notifications)  # noqa: E731
            await wait_for(pilot, lambda: "probe failed" in said(), 10, "the notice")
            assert "probe failed: ZeroDivisionError: half a bug" in said()
            await pilot.press("4")                   # still running, keys still work
            await wait_for(pilot, lambda: app.current_mode == "inspect", 5, "inspect")

    run(go())


def test_the_active_checkpoint_is_read_off_the_ui_thread(tmp_path):
    """The checkpoint is read in a thread: the app draws at once with "loading…", then
    the loaded value replaces it, and a failed read is the value's error."""
    make_checkpoint(tmp_path / "artifacts", seed=0)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "model.npz").write_bytes(b"not a zip")

    async def go():
        app = make_app(tmp_path, start="evaluate")
        first = app.state.active
        assert first.loading and first.checkpoint is None and "loading" in first.problem
        async with app.run_test(size=(80, 24)) as pilot:
            await settle_checkpoint(pilot)
            assert app.state.active is not first and app.state.active.checkpoint is not None
            app.set_checkpoint(tmp_path / "broken")
            assert app.state.active.loading                 # at once, nothing read yet
            await settle_checkpoint(pilot)
            active = app.state.active
            assert active.checkpoint is None and "model.npz" in active.error
            assert "broken" in text_of(app.screen.query_one("#ev-info"))

    run(go())
