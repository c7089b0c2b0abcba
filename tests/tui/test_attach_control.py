"""An attached app steers a run it does not drive: ``chexmini-tui --attach RUN`` pressing
p, w and x against a live ``chexmini train`` process and against a second app instance;
the footer shows which of them work, and why not."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from core.data import load_data
from core.foundation.config import TrainConfig
from core.runs import layout
from core.training.resume_state import load_resume_state
from tests.cli.test_steering import LONG, answer, chexmini_train, events, wait_until
from tests.helpers.tui import make_app, text_of, wait_for

SIZE = (80, 24)


def footer_keys(app) -> dict[str, bool]:
    """The screen's p/w/x bindings: key → enabled (absent when hidden)."""
    out = {}
    for key, active in app.screen.active_bindings.items():
        if key in ("p", "w", "x"):
            out[key] = active.enabled
    return out


def last_control(run, action: str) -> dict | None:
    found = [e for e in events(run) if e["event"] == "control" and e["action"] == action]
    return found[-1] if found else None


@pytest.mark.slow
def test_attached_app_pauses_saves_and_stops_a_cli_run(tmp_path):
    run = tmp_path / "run"
    proc = chexmini_train(*LONG, "--out", str(run))
    try:
        wait_until(lambda: (run / layout.EVENTS).exists()
                   and any(e["event"] == "epoch" for e in events(run)), 120, "an epoch")

        async def go():
            app = make_app(tmp_path, attach=str(run))
            async with app.run_test(size=SIZE) as pilot:
                scr = app.screen
                await wait_for(pilot, lambda: scr.panel.state.epochs_done >= 1, 30, "attach")
                await wait_for(pilot, lambda: footer_keys(app).get("x") is True, 10, "keys")
                assert footer_keys(app) == {"p": True, "w": True, "x": True}
                await pilot.press("p")
                await wait_for(pilot, lambda: scr.panel.state.paused, 20, "paused shown")
                assert "attached · paused" in text_of(scr.query_one("#run-status"))
                paused = last_control(run, "pause")
                assert paused["ok"] and paused["by"] == f"pid {os.getpid()}"
                await pilot.press("w")
                await wait_for(pilot, lambda: last_control(run, "save") is not None, 20, "save")
                meta = load_resume_state(run / layout.RESUME)[1]
                assert meta["global_step"] == paused["global_step"]
                await pilot.press("p")           # resume
                await wait_for(pilot, lambda: not scr.panel.state.paused, 20, "resumed")
                await pilot.press("x")
                await wait_for(pilot, lambda: scr.panel.state.finished is not None, 60, "end")
                assert scr.panel.state.finished.stopped_early
                await wait_for(pilot, lambda: footer_keys(app).get("x") is False, 10, "dimmed")
                assert "has finished" in scr.panel.steer_problem
                assert "stopping: best checkpoint" in "\n".join(scr.panel.state.log)

        import asyncio
        asyncio.run(go())
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert (run / layout.METRICS).is_file()


@pytest.mark.slow
def test_an_attached_app_says_why_a_dead_run_cannot_be_steered(tmp_path):
    run = tmp_path / "run"
    proc = chexmini_train(*LONG, "--out", str(run))
    try:
        wait_until(lambda: (run / layout.EVENTS).exists()
                   and any(e["event"] == "step" for e in events(run)), 120, "a step")
        proc.terminate()
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()

    async def go():
        app = make_app(tmp_path, attach=str(run))
        async with app.run_test(size=SIZE) as pilot:
            scr = app.screen
            await wait_for(pilot, lambda: scr.panel.steer_problem is not None, 10, "problem")
            assert footer_keys(app) == {"p": False, "w": False, "x": False}
            status = text_of(scr.query_one("#run-status"))
            assert "p w x off: not running" in status
            await pilot.press("x")                     # dimmed: nothing is sent
            await pilot.pause(0.3)
            assert not (run / layout.CONTROL).exists()

    import asyncio
    asyncio.run(go())


@pytest.mark.slow
def test_a_second_app_steers_the_run_of_the_first(tmp_path):
    """Two app instances: the first drives a run in its worker, the second (attached)
    pauses and stops it; the first shows who asked."""
    run = tmp_path / "runs" / "two"
    data = load_data("synthetic:400")
    cfg = TrainConfig(hidden_dims=[32], epochs=100000, batch_size=16, augment=False)

    async def go():
        first = make_app(tmp_path, start="train")
        async with first.run_test(size=SIZE) as p1:
            scr1 = first.screen
            runner = scr1.start_run(cfg, "synthetic:400", run, data=data)
            await wait_for(p1, lambda: scr1.state.epochs_done >= 1, 60, "first epoch")
            helper = subprocess.run(  # the second app's road, from another process
                [sys.executable, "-c", "import sys; from core.training.steering import send;"
                 f"print(send({str(run)!r}, 'pause').id)"],
                capture_output=True, text=True, timeout=60, check=True)
            rid = helper.stdout.strip()
            await wait_for(p1, lambda: scr1.status == "paused", 20, "paused by the other")
            assert answer(run, rid)["ok"]
            assert "asked by pid" in scr1.status_detail
            second = make_app(tmp_path / "b", attach=str(run))
            async with second.run_test(size=SIZE) as p2:
                scr2 = second.screen
                await wait_for(p2, lambda: footer_keys(second).get("x") is True, 20, "keys")
                await p2.press("x")
                await wait_for(p1, lambda: runner.result is not None, 60, "finished")
                assert runner.result.stopped_early
                await wait_for(p2, lambda: scr2.panel.state.finished is not None, 20, "seen")

    import asyncio
    asyncio.run(go())
