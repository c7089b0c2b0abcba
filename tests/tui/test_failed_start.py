"""A start that fails shows the failed attempt — its own data, no folder that was never
created — in the status line and the title; a later, different error replaces it; and
quitting never reports a run folder that does not exist."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.helpers.tui import fill_form, make_app, text_of, wait_for

SIZE = (80, 24)


def status_text(scr) -> str:
    return text_of(scr.query_one("#run-status"))


async def failed_start(pilot, scr, data: str) -> None:
    fill_form(scr, data=data, out="")
    await pilot.pause(1.1)          # a new default folder name (one per second)
    scr.action_start()
    await wait_for(pilot, lambda: scr.status == "error" and not scr.running, 60, "error")
    await pilot.pause(0.1)


def never_created(app, scr) -> Path:
    return Path(scr.runner.out_dir)


@pytest.mark.slow
def test_a_failed_start_shows_its_own_data_and_a_later_error_replaces_it(tmp_path):
    async def go():
        app = make_app(tmp_path, start="train")
        async with app.run_test(size=SIZE) as pilot:
            scr = app.screen
            await failed_start(pilot, scr, "abc")
            out = never_created(app, scr)
            assert not out.exists()
            line = status_text(scr)
            assert line.splitlines()[0].strip() == "● error  abc"
            assert "abc: data source not found" in line
            assert out.name not in app.sub_title and app.sub_title.endswith("● error")
            assert app.state.run_dir is None
            # a later, different error (a bad form value) replaces it
            fill_form(scr, epochs="many")
            scr.action_start()
            await wait_for(pilot, lambda: "epochs" in status_text(scr), 10, "new error")
            assert "data source not found" not in status_text(scr)
            # and a later failure in the worker too
            fill_form(scr, epochs="2")
            await failed_start(pilot, scr, "folder:/nowhere/myxrays")
            line = status_text(scr)
            assert line.splitlines()[0].strip() == "● error  folder:/nowhere/myxrays"
            assert "image folder not found" in line and "abc" not in line
            last = never_created(app, scr)
        assert not last.exists()
        summary = scr.exit_summary(5)
        assert summary == ["the run did not start: /nowhere/myxrays: image folder not "
                           "found (no run folder was created)"]
        assert str(last) not in "\n".join(summary)

    asyncio.run(go())


@pytest.mark.slow
def test_a_failed_start_after_a_finished_run_does_not_show_that_run(tmp_path):
    async def go():
        app = make_app(tmp_path, start="train")
        async with app.run_test(size=SIZE) as pilot:
            scr = app.screen
            fill_form(scr, data="synthetic:200", epochs="1", hidden_dims="8")
            scr.action_start()
            await wait_for(pilot, lambda: scr.status == "finished", 60, "first run")
            first = str(scr.runner.out_dir)
            await failed_start(pilot, scr, "abc")
            line = status_text(scr)
            assert first not in line and "synthetic:200" not in line
            assert "best val AUC" not in line
            assert line.splitlines()[0].strip() == "● error  abc"
            assert Path(first).name not in app.sub_title.split("●")[1]
            # the finished run is still the active checkpoint (named once, in the title)
            assert app.state.active_checkpoint == first

    asyncio.run(go())
