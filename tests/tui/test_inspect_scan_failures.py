"""A folder Inspect cannot read does not hide the others: the scan shows the rows it
could read and one line for each folder it could not (never "scanning…" forever)."""

from __future__ import annotations

import asyncio

import chexmini_tui.screens.inspect as inspect_screen
from tests.helpers.tui import inspect_ready, make_app, make_checkpoint, text_of


def test_unreadable_folder_is_one_line_and_the_rest_are_listed(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    good = make_checkpoint(runs / "good")
    bad = runs / "bad"
    bad.mkdir()
    real = inspect_screen.scan

    def scan(paths, known=None):
        if any(p.endswith("bad") for p in paths):
            raise PermissionError(13, "Permission denied")
        return real(paths, known)

    monkeypatch.setattr(inspect_screen, "scan", scan)

    async def go():
        app = make_app(tmp_path, checkpoint=str(good), start="inspect")
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.screen
            await inspect_ready(pilot, screen)
            await pilot.pause(0.2)
            status = text_of(screen.query_one("#insp-status"))
            paths = [r.path for r in screen.runs]
            return status, paths

    status, paths = asyncio.run(go())
    assert str(good) in paths
    assert f"could not read {bad}: Permission denied" in status
    assert "scanning" not in status
