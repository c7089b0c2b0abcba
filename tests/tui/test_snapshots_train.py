"""Snapshots of the Train screen at 80×24 and 100×32 in its main states: the form,
a run in progress (attached to a fixed, unfinished ``events.jsonl``), paused, finished,
attached to a finished run, and a failed start (the previous run kept on screen).

Everything shown comes from fixed ``events.jsonl`` files (``write_fixed_events``), the
app runs inside the fixture folder (relative paths), and the live states are the
screen's own drawing of a fixed :class:`RunDisplayState` with a stand-in runner, so nothing
time-based is on screen. Update after an intended change with ``pytest
tests/tui/test_snapshots_train.py --snapshot-update`` and review the SVGs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chexmini_tui.state import RunDisplayState
from core.events import read_events
from tests.helpers.tui import write_fixed_events
from tests.tui.test_train_screen import write_unfinished

SIZES = {"80x24": (80, 24), "100x32": (100, 32)}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("trainworld")
    write_fixed_events(root / "runs" / "demo")
    write_unfinished(root / "runs" / "ext")
    return root


class StandIn:
    """What the screen reads of a runner, fixed."""

    def __init__(self, active: bool, paused: bool = False) -> None:
        self.active, self.paused = active, paused
        self.out_dir = Path("runs/demo")


def fixed_state(run_dir: str) -> RunDisplayState:
    st = RunDisplayState()
    st.apply_all(read_events(Path(run_dir) / "events.jsonl").events)
    return st


def showing(run_dir: str, status: str, detail: str, runner: StandIn | None,
            form: bool = False):
    async def settle(pilot):
        scr = pilot.app.screen
        await pilot.pause()
        scr.runner = runner
        scr.set_form(form)
        scr.panel.reset(fixed_state(run_dir))
        scr.status, scr.status_detail = status, detail
        scr.refresh_bindings()
        await pilot.pause(0.6)     # one drawing tick: counters, table, plots
        await pilot.pause()

    return settle


def attached_settle(finished: bool):
    async def settle(pilot):
        scr = pilot.app.screen
        while scr.state.epochs_done < (6 if finished else 3):
            await pilot.pause(0.05)
        await pilot.pause(0.6)
        await pilot.pause()

    return settle


@pytest.mark.slow
@pytest.mark.parametrize("size", SIZES)
def test_train_form(snap_compare, app_in, size):
    assert snap_compare(app_in(start="train"), terminal_size=SIZES[size])


@pytest.mark.slow
@pytest.mark.parametrize("size", SIZES)
def test_train_running(snap_compare, app_in, size):
    assert snap_compare(app_in(attach="runs/ext"), terminal_size=SIZES[size],
                        run_before=attached_settle(finished=False))


@pytest.mark.slow
@pytest.mark.parametrize("size", SIZES)
def test_train_paused(snap_compare, app_in, size):
    settle = showing("runs/ext", "paused", "paused at step 12", StandIn(True, True))
    assert snap_compare(app_in(start="train"), terminal_size=SIZES[size], run_before=settle)


@pytest.mark.slow
@pytest.mark.parametrize("size", SIZES)
def test_train_finished(snap_compare, app_in, size):
    settle = showing("runs/demo", "finished", "artifacts in runs/demo", StandIn(False))
    assert snap_compare(app_in(start="train"), terminal_size=SIZES[size], run_before=settle)


@pytest.mark.slow
@pytest.mark.parametrize("size", SIZES)
def test_train_attached_finished(snap_compare, app_in, size):
    assert snap_compare(app_in(attach="runs/demo"), terminal_size=SIZES[size],
                        run_before=attached_settle(finished=True))


@pytest.mark.slow
@pytest.mark.parametrize("size", SIZES)
def test_train_error_keeps_previous_run(snap_compare, app_in, size):
    settle = showing("runs/demo", "error",
                     "data source folder:nowhere: folder not found", StandIn(False),
                     form=True)
    assert snap_compare(app_in(start="train"), terminal_size=SIZES[size], run_before=settle)
