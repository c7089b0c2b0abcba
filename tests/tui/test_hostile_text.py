"""Untrusted text in the app: a checkpoint and runs folder named like markup
(``x[/red]y``, ``[bold]``) is shown as it is on every screen, and making it active
(a notification naming it) works — no markup error, no crash."""

from __future__ import annotations

import asyncio

import pytest

from tests.helpers.tui import inspect_ready, make_app, make_checkpoint, select_run

SIZE = (120, 40)


def screen_text(app) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


@pytest.mark.parametrize("name", ["x[/red]y", pytest.param("[bold]", marks=pytest.mark.slow),
                                  pytest.param("[/]", marks=pytest.mark.slow)])
def test_screens_show_hostile_names(tmp_path, name):
    runs = tmp_path / name
    runs.mkdir(parents=True)
    ckpt = make_checkpoint(runs / "[b]ck")

    async def go():
        app = make_app(tmp_path, checkpoint=str(ckpt), runs=str(runs), start="inspect")
        async with app.run_test(size=SIZE) as pilot:
            await inspect_ready(pilot, app.screen)
            assert "[b]ck" in screen_text(app)
            select_run(app.screen, ckpt)
            await pilot.press("enter")                 # make active: a notification
            await pilot.pause(0.3)
            for key in ("3", "5", "2", "1", "4"):
                await pilot.press(key)
                await pilot.pause(0.5)
                assert app.return_code is None, key      # still running
            await pilot.press("3")
            for _ in range(100):
                if "threshold" in screen_text(app):
                    break
                await pilot.pause(0.1)
            assert "[b]ck" in screen_text(app)
        return app

    app = asyncio.run(go())
    assert not app._exception
