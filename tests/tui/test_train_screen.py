"""The Train screen at 80×24 over SSH (issue 14): layout reflow, honest bars, no stale
view, the epoch table, refusals seen with the form hidden, the exit summary.

Pilot tests on fixed ``events.jsonl`` files (``tests.helpers.tui.write_fixed_events``)
and, where a live run matters (pause, the quit dialog), tiny synthetic runs.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.widgets import Label

from chexmini_tui.screens.quit import QuitScreen
from chexmini_tui.state import RunDisplayState
from chexmini_tui.widgets.epoch_table import EpochTable
from chexmini_tui.widgets.plots import CurvePlot, Series
from chexmini_tui.widgets.run_progress import RunProgress
from core.data import load_data
from core.events import read_events
from core.foundation.config import TrainConfig
from tests.helpers.tui import (
    fill_form,
    make_app,
    replayed_run,
    text_of,
    wait_for,
    write_fixed_events,
)

SMALL = (80, 24)


pytestmark = pytest.mark.usefixtures("one_blas_thread")


def run(coro):
    return asyncio.run(coro)


def write_unfinished(run_dir: Path, epochs_done: int = 3) -> Path:
    """A fixed run cut after ``epochs_done`` epochs (still going, as far as a reader
    of its events.jsonl can tell)."""
    write_fixed_events(run_dir)
    log = run_dir / "events.jsonl"
    keep, n_epochs = [], 0
    for line in log.read_text().splitlines():
        keep.append(line)
        if line.startswith('{"event": "epoch"'):
            n_epochs += 1
            if n_epochs == epochs_done:
                break
    log.write_text("\n".join(keep) + "\n")
    return run_dir


def infos(scr) -> tuple[str, str]:
    return (str(scr.query_one("#eta-epoch", Label).render()),
            str(scr.query_one("#eta-step", Label).render()))


def notes(app) -> str:
    return " ".join(n.message for n in app._notifications)


# -- reflow at 80×24 ---------------------------------------------------------------------
@pytest.mark.slow
def test_80x24_form_shown_bars_keep_their_width_and_plots_give_way(tmp_path):
    async def go():
        async with replayed_run(tmp_path, SMALL) as (app, pilot, scr):
            await pilot.pause(0.6)
            loss, auc = scr.query_one("#plot-loss"), scr.query_one("#plot-auc")
            assert loss.size.width >= 30 and auc.size.width >= 30   # form hidden
            assert auc.size.height >= 6
            await pilot.press("d")                                   # form comes back
            await pilot.pause(0.3)
            plots = scr.query_one("#train-plots")
            assert scr.has_class("-squeeze") and not plots.display   # plots give way
            bar = scr.query_one("#bar-epoch")
            assert bar.size.width >= 30, bar.size                   # never one cell
            assert scr.query_one("#run-progress", RunProgress).has_class("-compact")
            assert infos(scr)[0].startswith("6/6")                   # read-out under it
            await pilot.press("f")                                   # form away: plots
            await pilot.pause(0.3)
            assert plots.display and auc.size.width >= 30

    run(go())


def test_plot_legend_is_a_title_line_without_side_markers():
    plot = CurvePlot("val", "epoch")
    plot.series = [Series([1, 2], [0.7, 0.8], "AUC", "green"),
                   Series([2], [0.8], "best", "red", scatter=True),
                   Series([1, 2], [1e-3, 5e-4], "lr (right)", "magenta", yside="right")]
    text = plot.legend().plain
    assert text == "val  ━ AUC  • best  ━ lr (right)"
    assert "L " not in text and "⅃" not in text


@pytest.mark.slow
def test_plot_canvas_has_no_plotext_legend(tmp_path):
    async def go():
        async with replayed_run(tmp_path, SMALL) as (app, pilot, scr):
            await pilot.pause(0.6)
            drawn = scr.query_one("#plot-auc", CurvePlot).render().plain
            first, *canvas = drawn.splitlines()
            assert "━ AUC" in first and "• best" in first
            assert not any("⢕⢕" in row or "⅃" in row for row in canvas)

    run(go())


# -- honest bars ---------------------------------------------------------------------------
def test_bar_readouts_by_phase():
    st = RunDisplayState()
    for ev in read_events(write_unfinished(Path(__import__("tempfile").mkdtemp())) /
                          "events.jsonl").events:
        st.apply(ev)
    assert "ETA" in RunProgress.texts(st, "live")[0]
    for phase, word in (("paused", "paused"), ("detached", "detached"),
                        ("stopped", "stopped")):
        epoch, step = RunProgress.texts(st, phase)
        assert "ETA" not in epoch + step and epoch == f"3/6 · {word}", (phase, epoch)


@pytest.mark.slow
def test_detach_leaves_no_live_eta(tmp_path):
    run_dir = write_unfinished(tmp_path / "runs" / "ext")

    async def go():
        app = make_app(tmp_path, attach=str(run_dir))
        async with app.run_test(size=SMALL) as pilot:
            scr = app.screen
            await wait_for(pilot, lambda: scr.state.epochs_done == 3, 10, "3 epochs")
            await pilot.pause(0.6)
            assert "ETA" in infos(scr)[0]
            await pilot.press("d")
            await pilot.pause(0.3)
            epoch, step = infos(scr)
            assert "ETA" not in epoch + step and "detached" in epoch
            assert "idle" in text_of(scr.query_one("#run-status"))

    run(go())


@pytest.mark.slow
def test_pause_shows_paused_not_a_growing_eta_and_quit_dialog_keeps_drawing(tmp_path):
    data = load_data("synthetic:160")
    # long enough never to finish during the test (an epoch is a few ms); aborted at the end
    cfg = TrainConfig(hidden_dims=[16], epochs=100_000, batch_size=32, augment=False)

    async def go():
        app = make_app(tmp_path, start="train")
        async with app.run_test(size=SMALL) as pilot:
            scr = app.screen
            runner = scr.start_run(cfg, "synthetic:160", tmp_path / "runs" / "live", data=data)
            await wait_for(pilot, lambda: scr.state.epochs_done >= 2, 60, "2 epochs")
            await pilot.press("p")
            await wait_for(pilot, lambda: scr.status == "paused", 10, "paused")
            await pilot.pause(0.6)
            epoch, step = infos(scr)
            assert "paused" in epoch and "ETA" not in epoch + step
            await pilot.press("p")                                  # go on
            await wait_for(pilot, lambda: scr.status == "running", 10, "running")
            await pilot.press("q")                                  # the quit question
            await wait_for(pilot, lambda: isinstance(app.screen, QuitScreen), 5, "dialog")
            shown = infos(scr)[0]
            done = scr.state.epochs_done
            try:
                await wait_for(pilot, lambda: scr.state.epochs_done >= done + 2, 120, "epochs")
            except AssertionError:
                raise AssertionError(f"from {done}: runner {runner.state} at step "
                                     f"{runner.global_step}, state {scr.state.epochs_done}, "
                                     f"paused {runner.paused}, result {runner.result}") from None
            await pilot.pause(1.5)                                  # ≥ one drawing tick
            assert isinstance(app.screen, QuitScreen)
            assert infos(scr)[0] != shown                           # not frozen
            assert int(infos(scr)[0].split("/")[0]) >= done + 2
            await pilot.press("escape")
            runner.abort()
            await wait_for(pilot, lambda: not runner.active, 30, "aborted")

    run(go())


# -- no stale or wiped view ---------------------------------------------------------------
@pytest.mark.slow
def test_failed_start_keeps_the_previous_run_on_screen(tmp_path):
    async def go():
        async with replayed_run(tmp_path, SMALL) as (app, pilot, scr):
            await pilot.press("d")
            fill_form(scr, data="folder:" + str(tmp_path / "nowhere"),
                      out=str(tmp_path / "runs" / "new"))
            await pilot.press("s")
            await wait_for(pilot, lambda: scr.status == "error", 30, "error")
            await pilot.pause(0.6)
            assert scr.state.hist_epoch == [1, 2, 3, 4, 5, 6]
            assert scr.query_one("#plot-loss", CurvePlot).series[0].y
            assert scr.query_one("#epoch-table", EpochTable).row_count == 6
            assert "nowhere" in scr.status_detail

    run(go())


@pytest.mark.slow
def test_app_errors_go_to_the_run_log_and_log_stays_textuals(tmp_path):
    async def go():
        async with replayed_run(tmp_path, (120, 40)) as (app, pilot, scr):
            await pilot.press("d")
            fill_form(scr, data="folder:" + str(tmp_path / "nowhere"),
                      out=str(tmp_path / "runs" / "new"))
            await pilot.press("s")
            await wait_for(pilot, lambda: scr.status == "error", 30, "error")
            log = scr.query_one("#train-log")
            await wait_for(pilot, lambda: any(
                strip.text.startswith("error: ") for strip in log.lines), 5, "the log line")
            assert "nowhere" in " ".join(strip.text for strip in log.lines)
            # written through RunView.note: the panel's ``log`` is still Textual's
            # logger, which Textual itself calls (``self.log.warning``) from timers
            scr.panel.log.warning("Textual's own logger")

    run(go())


@pytest.mark.slow
def test_finished_live_run_status_and_exit_summary(tmp_path):
    out = tmp_path / "runs" / "r1"

    async def go():
        app = make_app(tmp_path, start="train")
        async with app.run_test(size=SMALL) as pilot:
            scr = app.screen
            fill_form(scr, data="synthetic:160", epochs=2, hidden_dims="16",
                      batch_size=32, out=str(out), augment=False)
            await pilot.press("s")
            await wait_for(pilot, lambda: scr.status in ("finished", "error"), 90, "finish")
            await pilot.pause(0.6)
            assert scr.status == "finished", scr.status_detail
            assert "● finished" in text_of(scr.query_one("#run-status"))
            assert all("done" in t for t in infos(scr))
        return app

    app = run(go())
    lines = app.train_view.exit_summary()
    assert lines[0].startswith(f"run finished: artifacts in {out}")


# -- epoch table and log -------------------------------------------------------------------
@pytest.mark.slow
def test_epoch_table_rows_best_mark_keyboard_and_quiet_log(tmp_path):
    async def go():
        async with replayed_run(tmp_path, SMALL) as (app, pilot, scr):
            await pilot.pause(0.6)
            table = scr.query_one("#epoch-table", EpochTable)
            assert table.row_count == 6
            assert [str(c) for c in table.get_row("4")][-1] == "★"
            assert all(str(table.get_row(str(e))[-1]) == "" for e in (1, 2, 3, 5, 6))
            assert str(table.get_row("2")[3]) == f"{scr.state.hist_val_auc[1]:.4f}"
            while app.focused is not table:                       # reachable with Tab
                await pilot.press("tab")
            await pilot.press("home")
            assert table.cursor_row == 0
            await pilot.press("end")
            assert table.cursor_row == 5
            await pilot.press("up", "up")
            assert table.cursor_row == 3
            assert not any("resume state saved" in line for line in scr.state.log)
            assert "resume state saved at epoch" not in text_of(scr.query_one("#run-status"))
            await pilot.press("escape", "t")                      # the log takes its turn
            await pilot.pause()
            assert scr.query_one("#train-log").display and not table.display

    run(go())


# -- refusals are seen with the form hidden ------------------------------------------------
@pytest.mark.slow
def test_nothing_to_resume_is_seen_with_the_form_hidden(tmp_path):
    async def go():
        app = make_app(tmp_path, start="train")
        async with app.run_test(size=SMALL) as pilot:
            scr = app.screen
            await pilot.press("f")
            assert not scr.query_one("#train-form").display
            await pilot.press("r")
            await pilot.pause()
            assert "nothing to resume" in notes(app)
            assert "nothing to resume" in text_of(scr.query_one("#form-error"))

    run(go())


@pytest.mark.slow
def test_already_holds_a_run_is_shown_in_full(tmp_path):
    write_fixed_events(tmp_path / "runs" / "demo")

    async def go():
        app = make_app(tmp_path, start="train")
        async with app.run_test(size=SMALL) as pilot:
            scr = app.screen
            fill_form(scr, out=str(tmp_path / "runs" / "demo"))
            await pilot.press("s")
            await pilot.pause()
            error = scr.query_one("#form-error")
            text = text_of(error)
            assert "already holds a run" in text and text.rstrip().endswith("output folder")
            assert error.size.height >= 2                          # wrapped, not cut
            assert "output folder" in notes(app)

    run(go())


# -- footer --------------------------------------------------------------------------------
@pytest.mark.slow
def test_footer_fits_80_columns_in_every_state(tmp_path):
    write_fixed_events(tmp_path / "runs" / "demo")

    def width(scr) -> int:
        shown = [b for b in scr.active_bindings.values() if b.binding.show]
        keys = {}
        for b in shown:
            keys.setdefault(b.binding.description, b.binding.key_display or b.binding.key)
        return sum(len(k) + len(d) + 3 for d, k in keys.items())

    async def go():
        app = make_app(tmp_path, start="train")
        async with app.run_test(size=SMALL) as pilot:
            scr = app.screen
            assert width(scr) <= 80
            scr.runner = type("Live", (), {"active": True, "paused": False})()
            scr.refresh_bindings()
            await pilot.pause()
            assert width(scr) <= 80
            scr.runner = None
            app.attach(str(tmp_path / "runs" / "demo"))
            await pilot.pause()
            assert width(scr) <= 80

    run(go())


# -- exit summary --------------------------------------------------------------------------
@pytest.mark.slow
def test_exit_summary_for_an_attached_run_still_going_and_an_interrupted_run(tmp_path):
    run_dir = write_unfinished(tmp_path / "runs" / "ext")

    async def attached():
        app = make_app(tmp_path, attach=str(run_dir))
        async with app.run_test(size=SMALL) as pilot:
            await wait_for(pilot, lambda: app.screen.state.epochs_done == 3, 10, "3 epochs")
        return app

    lines = run(attached()).train_view.exit_summary()
    assert "still going" in lines[0] and "epoch 3/6" in lines[0]
    assert lines[1].strip() == f"follow it again: chexmini-tui --attach {run_dir}"

    data = load_data("synthetic:160")
    cfg = TrainConfig(hidden_dims=[16], epochs=100_000, batch_size=32, augment=False)
    out = tmp_path / "runs" / "live"

    async def interrupted():
        app = make_app(tmp_path, start="train")
        async with app.run_test(size=SMALL) as pilot:
            runner = app.screen.start_run(cfg, "synthetic:160", out, data=data)
            await wait_for(pilot, lambda: app.screen.state.epochs_done >= 1, 60, "epoch")
            runner.abort()
            await wait_for(pilot, lambda: not runner.active, 30, "aborted")
        return app

    lines = run(interrupted()).train_view.exit_summary()
    assert lines[0].startswith(f"run {out} interrupted at epoch ")
    assert lines[1].strip() == f"continue it: chexmini train --resume {out}"


def test_main_prints_the_summary(monkeypatch, capsys):
    import chexmini_tui.__main__ as entry
    import chexmini_tui.app as app_module

    class FakeView:
        def exit_summary(self):
            return ["run runs/x interrupted at epoch 2/5",
                    "  continue it: chexmini train --resume runs/x"]

    class FakeApp:
        return_code = 0

        def __init__(self, **kw):
            self.train_view = FakeView()

        def run(self):
            return None

    monkeypatch.setattr(app_module, "ChexminiApp", FakeApp)
    monkeypatch.setattr(entry, "terminal_problem", lambda: None)
    assert entry.main([]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["chexmini-tui: run runs/x interrupted at epoch 2/5",
                   "chexmini-tui:   continue it: chexmini train --resume runs/x"]


# -- long run names ------------------------------------------------------------------------
@pytest.mark.slow
def test_title_names_the_run_folder_and_status_wraps_its_path(tmp_path):
    out = tmp_path / "runs" / "20261129-225415-a-rather-long-run-name"

    async def go():
        app = make_app(tmp_path, start="train")
        async with app.run_test(size=SMALL) as pilot:
            scr = app.screen
            scr.start_run(TrainConfig(hidden_dims=[8], epochs=1), "folder:" +
                          str(tmp_path / "nowhere"), out)
            assert app.sub_title.endswith(out.name)         # the folder name, from the app state
            assert str(out) not in app.sub_title
            await wait_for(pilot, lambda: scr.status == "error", 30, "error")
            await pilot.pause()
            status = scr.query_one("#run-status")
            assert "nowhere" in text_of(status) and status.size.height >= 2

    run(go())


@pytest.mark.parametrize(("test", "shown"), [({"auc": 0.5753}, "0.5753"), ({}, "—"),
                                             ({"auc": "x[/b]"}, "—"), ({"auc": 1e400}, "—")])
def test_a_finished_run_shows_its_test_auc_beside_done(test, shown):
    from core.events import Finished

    st = RunDisplayState()
    for ev in read_events(write_unfinished(Path(__import__("tempfile").mkdtemp())) /
                          "events.jsonl").events:
        st.apply(ev)
    st.apply(Finished(None, 3, 3, 0.5, {"auc": 0.6}, test, False, 1.0))
    epoch, _ = RunProgress.texts(st, "finished")
    assert epoch == f"3/6 · done · test AUC {shown}"
