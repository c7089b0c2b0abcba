"""The learning-rate range test in the app: ``l`` on the Train screen runs it on the
form's settings in a thread worker, draws the curve and the suggestion, and ``enter``
puts the suggestion into the form's lr box; ``esc`` cancels; nothing is written."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from textual.widgets import Input

from chexmini_tui.screens.lr_find import LrFindScreen
from chexmini_tui.screens.train import TrainScreen
from core.data import load_data
from core.foundation.config import TrainConfig
from core.training.lr_find import LrRange, run_lr_find
from tests.helpers.tui import fill_form, make_app, text_of, wait_for

pytestmark = pytest.mark.usefixtures("one_blas_thread")

FORM = {"data": "synthetic:120", "hidden_dims": "16", "batch_size": "32"}


def small_config() -> TrainConfig:
    return TrainConfig(hidden_dims=[16], batch_size=32)


@pytest.mark.slow
def test_the_suggestion_lands_in_the_form(tmp_path):
    data = load_data("synthetic:120")
    want = run_lr_find(small_config(), data).suggestion.text   # the engine, driven directly

    async def go():
        app = make_app(tmp_path, start="train")
        async with app.run_test(size=(100, 32)) as pilot:
            scr = app.screen
            assert isinstance(scr, TrainScreen)
            fill_form(scr, **FORM)
            await pilot.pause()
            await pilot.press("l")
            await wait_for(pilot, lambda: isinstance(app.screen, LrFindScreen), 10, "lr-find")
            dialog = app.screen
            await wait_for(pilot, lambda: dialog.done is not None, 120, "the range test")
            assert dialog.suggestion == want
            assert f"suggested lr {want}" in text_of(dialog.query_one("#lrf-line"))
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.screen is scr, 10, "the Train screen")
            assert scr.query_one("#f-lr", Input).value == want
            assert scr.form.read()[0].lr == float(want)

    asyncio.run(go())
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.slow
def test_escape_cancels_and_leaves_the_form_alone(tmp_path):
    async def go():
        app = make_app(tmp_path, start="train")
        async with app.run_test(size=(100, 32)) as pilot:
            scr = app.screen
            fill_form(scr, **FORM)
            before = scr.query_one("#f-lr", Input).value
            await pilot.press("l")
            await wait_for(pilot, lambda: isinstance(app.screen, LrFindScreen), 10, "lr-find")
            dialog = app.screen
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is scr, 10, "the Train screen")
            await wait_for(pilot, lambda: not any(w.is_running for w in dialog.workers),
                           60, "the worker to end")
            assert scr.query_one("#f-lr", Input).value == before

    asyncio.run(go())


def test_a_bad_form_value_is_shown_inline_and_nothing_runs(tmp_path):
    async def go():
        app = make_app(tmp_path, start="train")
        async with app.run_test(size=(100, 32)) as pilot:
            scr = app.screen
            fill_form(scr, **{**FORM, "batch_size": "0"})
            await pilot.press("l")
            await pilot.pause(0.2)
            assert app.screen is scr
            assert "batch" in text_of(scr.query_one("#form-error")).lower()

    asyncio.run(go())


@pytest.mark.slow
def test_lr_find_dialog_snapshot(snap_compare, tmp_path, monkeypatch):
    """80×24: a finished test on a fixed result (the engine's, with its time fixed)."""
    data = load_data("synthetic:120")
    done = dataclasses.replace(run_lr_find(small_config(), data, LrRange(steps=120)),
                               seconds=1.5)
    monkeypatch.chdir(tmp_path)

    async def settle(pilot):
        pilot.app.push_screen(LrFindScreen(small_config(), "synthetic:120", result=done))
        await pilot.pause(0.3)
        await pilot.pause()

    assert snap_compare(make_app(tmp_path, runs="runs", artifacts="artifacts", start="train"),
                        terminal_size=(80, 24), run_before=settle)
