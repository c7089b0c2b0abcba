"""The command palette (``ctrl+p``, ``chexmini_tui.commands``) and the footer at 80×24."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.command import CommandInput, CommandList, CommandPalette
from textual.widgets import Footer, Input

from chexmini_tui.commands import app_commands, export_target
from core.inference import load_checkpoint
from tests.helpers.tui import (
    SIZE,
    fill_form,
    make_app,
    make_checkpoint,
    wait_for,
    write_fixed_events,
)

pytestmark = pytest.mark.usefixtures("one_blas_thread")


def run(coro):
    return asyncio.run(coro)


def world(tmp_path):
    make_checkpoint(tmp_path / "artifacts", seed=0)
    make_checkpoint(tmp_path / "runs" / "b", seed=1, hidden=(8,))
    write_fixed_events(tmp_path / "runs" / "demo")


def shown(app) -> list[str]:
    """The palette's rows as text (each: the command, then its help line)."""
    cl = app.screen.query_one(CommandList)
    return [str(cl.get_option_at_index(i).prompt) for i in range(cl.option_count)]


async def palette(pilot, query: str = "") -> None:
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CommandPalette), 5, "palette")
    if query:  # as if typed (one search rather than one per key: quicker while training)
        pilot.app.screen.query_one(CommandInput).value = query
    await pilot.pause(0.5)


async def choose(pilot, query: str) -> None:
    await palette(pilot, query)
    await wait_for(pilot, lambda: any(query in r for r in shown(pilot.app)), 5, query)
    await pilot.press("enter")
    await wait_for(pilot, lambda: not isinstance(pilot.app.screen, CommandPalette), 5, "close")
    await pilot.pause(0.2)


def titles(app) -> list[str]:
    return [c.title for c in app_commands(app) if c.run is not None]


# -- what it lists ---------------------------------------------------------------------------
@pytest.mark.slow
def test_palette_offers_no_checkpoint_of_a_running_folder(tmp_path):
    """A run started with --overwrite beside an old checkpoint is running (as in Inspect and
    chexmini runs): its old checkpoint is not offered, attaching to it says so."""
    from core.runs.folder import claim

    world(tmp_path)
    live = tmp_path / "runs" / "b"
    lock = claim(live, overwrite=True)
    write_fixed_events(live)

    async def go():
        app = make_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            cmds = {c.title: c for c in app_commands(app)}
            opened = cmds[f"open checkpoint {live}"]
            assert opened.run is None and opened.why_not.startswith("running: training now")
            assert cmds[f"attach to {live}"].help.endswith("(running)")
            assert cmds[f"attach to {tmp_path / 'runs' / 'demo'}"].help.endswith(
                "(incomplete)")

    try:
        run(go())
    finally:
        lock.release()


@pytest.mark.slow
def test_palette_lists_the_actions_that_apply(tmp_path):
    world(tmp_path)

    async def go():
        app = make_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            t = titles(app)
            for want in ("start a run", "resume an interrupted run", "show Train",
                         "show Gradcheck", "show Evaluate", "show Inspect", "show Predict",
                         f"open checkpoint {tmp_path / 'runs' / 'b'}",
                         f"attach to {tmp_path / 'runs' / 'demo'}", "threshold +0.01",
                         "threshold −0.01", "threshold reset", "help", "quit",
                         "reload the active checkpoint",
                         "export active checkpoint (chexvision-mini)",
                         "export active checkpoint (chexmini)"):
                assert want in t, want
            # nothing to pause, stop, save or detach; the active checkpoint is not offered
            for off in ("pause the run", "stop the run", "save now", "detach",
                        f"open checkpoint {tmp_path / 'artifacts'}"):
                assert off not in t, off
            await palette(pilot)
            rows = " ".join(shown(app))
            assert "start a run" in rows and "show Evaluate" in rows
            assert "pause the run" not in rows
            await pilot.press("escape")
            await palette(pilot, "pause the run")   # typed: offered, saying why not
            assert any("not now: no run in progress" in r for r in shown(app))
            await pilot.press("enter")
            await pilot.pause(0.2)
            assert app.current_mode == "inspect" and app.state.run_status == "idle"

    run(go())


# -- running commands --------------------------------------------------------------------------
@pytest.mark.slow
def test_palette_switches_screens_opens_checkpoints_and_attaches(tmp_path):
    world(tmp_path)
    b = str(tmp_path / "runs" / "b")

    async def go():
        app = make_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await choose(pilot, "show Evaluate")
            assert app.current_mode == "evaluate"
            await choose(pilot, f"open checkpoint {b}")
            assert app.state.active_checkpoint == b and b in app.sub_title
            await choose(pilot, "threshold +0.01")
            assert app.current_mode == "evaluate" and app.screen.loaded_for == b
            moved = app.screen.threshold
            await choose(pilot, "threshold reset")
            assert app.screen.threshold != moved
            await choose(pilot, f"attach to {tmp_path / 'runs' / 'demo'}")
            await wait_for(pilot, lambda: app.current_mode == "train", 5, "train")
            await wait_for(pilot, lambda: app.screen.state.finished is not None, 10, "replay")
            assert app.state.attached and "detach" in titles(app)
            await choose(pilot, "detach")
            assert not app.state.attached and app.state.run_status == "idle"

    run(go())


@pytest.mark.slow
def test_palette_starts_a_short_run_to_the_end(tmp_path):
    out = tmp_path / "runs" / "short"

    async def go():
        app = make_app(tmp_path, start="train")
        async with app.run_test(size=SIZE) as pilot:
            fill_form(app.screen, data="synthetic:200", epochs=2, hidden_dims="8",
                      batch_size=32, out=str(out), augment=False)
            await choose(pilot, "start a run")
            await wait_for(pilot, lambda: app.state.run_status == "finished", 60, "finished")
            assert app.state.active_checkpoint == str(out) == app.state.run_dir
            assert "start a run" in titles(app)

    run(go())
    assert (out / "metrics.json").is_file()


@pytest.mark.slow
def test_palette_starts_pauses_and_stops_a_short_run(tmp_path):
    out = tmp_path / "runs" / "p"

    async def go():
        app = make_app(tmp_path, start="train")
        async with app.run_test(size=SIZE) as pilot:
            fill_form(app.screen, data="synthetic:400", epochs=5000, hidden_dims="64,32",
                      batch_size=16, out=str(out), augment=False)
            await choose(pilot, "show Inspect")              # run controls work anywhere
            await choose(pilot, "start a run")
            assert app.current_mode == "train"
            await wait_for(pilot, lambda: app.state.run_status == "running", 30, "running")
            assert "start a run" not in titles(app) and "pause the run" in titles(app)
            await choose(pilot, "pause the run")
            await wait_for(pilot, lambda: app.state.paused, 10, "paused")
            assert "continue the paused run" in titles(app)
            await choose(pilot, "show Predict")
            await choose(pilot, "stop the run")
            await wait_for(pilot, lambda: app.state.run_status == "finished", 60, "finished")
            assert app.state.active_checkpoint == str(out)
            assert app.current_mode == "predict"

    run(go())
    assert (out / "metrics.json").is_file()


@pytest.mark.slow
def test_palette_exports_the_active_checkpoint(tmp_path):
    world(tmp_path)
    target = export_target(str(tmp_path / "artifacts"), "chexvision-mini")

    async def go():
        app = make_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await choose(pilot, "export active checkpoint (chexvision-mini)")
            await wait_for(pilot, lambda: (target / "metrics.json").is_file(), 20, "export")
            await app.workers.wait_for_complete()

    run(go())
    assert target == tmp_path / "artifacts-chexvision-mini"
    ours, theirs = load_checkpoint(tmp_path / "artifacts"), load_checkpoint(target)
    assert ours.threshold == theirs.threshold


# -- the footer -------------------------------------------------------------------------------
@pytest.mark.slow
def test_footer_stays_with_a_focused_field_at_80x24(tmp_path):
    async def go():
        app = make_app(tmp_path, start="train")
        async with app.run_test(size=(80, 24)) as pilot:
            scr = app.screen
            scr.query_one("#f-data", Input).focus()
            await pilot.pause(0.3)
            assert isinstance(app.focused, Input)
            footer = scr.query_one(Footer)
            assert footer.display and footer.region.height == 1
            assert footer.region.y == 23
            keys = " ".join(str(k.render()) for k in footer.children)
            assert "palette" in keys
            await pilot.press("escape")
            await pilot.pause(0.3)
            assert app.focused is None
            keys = " ".join(str(k.render()) for k in footer.children)
            assert "start" in keys and "palette" in keys

    run(go())


@pytest.mark.slow
def test_palette_export_never_overwrites_a_folder_holding_a_checkpoint(tmp_path):
    world(tmp_path)
    target = export_target(str(tmp_path / "artifacts"), "chexmini")
    target.mkdir()
    (target / "metrics.json").write_text('{"another": "run"}')

    async def go():
        app = make_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await choose(pilot, "export active checkpoint (chexmini)")
            await app.workers.wait_for_complete()
            await pilot.pause()

    run(go())
    assert (target / "metrics.json").read_text() == '{"another": "run"}'
    assert not (target / "model.npz").exists()


@pytest.mark.parametrize("given", [".", "..", "/", "./artifacts/", "odd[/red]name"])
def test_palette_lists_its_commands_whatever_the_checkpoint_path(tmp_path, monkeypatch, given):
    """`--checkpoint .` (or `..`, `/`, markup in the name) once emptied the palette: the
    export target could not be named. Every command is still listed; an export target
    is a sibling folder named after the one meant, or refused for `/`."""
    world(tmp_path)
    (tmp_path / "artifacts" / "sub").mkdir()
    (tmp_path / "odd[").mkdir()
    monkeypatch.chdir(tmp_path / "artifacts" / "sub" if given == ".." else tmp_path)

    async def go():
        app = make_app(tmp_path, checkpoint=given, start="evaluate")
        async with app.run_test(size=SIZE) as pilot:
            await palette(pilot, "export active")
            rows = shown(app)
            assert any("export active checkpoint (chexmini)" in r for r in rows), rows
            every = titles(app)
            assert "show Evaluate" in every and "help" in every
            exports = [c for c in app_commands(app) if c.title.startswith("export active")]
            target = export_target(given, "chexmini")
            if given == "/":
                assert target is None and all(c.run is None for c in exports)
                assert all("root folder" in c.why_not for c in exports)
            else:
                named = Path(given).resolve().name
                assert target.name == f"{named}-chexmini"
                assert target.resolve().parent == Path(given).resolve().parent
                assert all(c.run is not None for c in exports)

    run(go())
