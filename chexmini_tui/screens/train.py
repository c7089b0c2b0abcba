"""Train: a form for a new run; live progress, plots and log; attach mode.

The screen lays out and wires widgets: :class:`TrainForm` (posts ``Submitted``),
:class:`RunStatusLine`, :class:`RunProgress`, :class:`TrainPlots`, :class:`EpochTable`
and :class:`RunLog`. A live run is driven by :class:`chexmini_tui.runner.TrainRunner` in
a thread worker; attach mode follows ``RUN_DIR/events.jsonl`` with a timer
(:class:`chexmini_tui.run_files.EventFollower`). Both feed the same
:class:`chexmini_tui.state.RunState`, so they look the same. UI cost is bounded: step
messages arrive batched (≤ 10/s) and the plots are rebuilt at most 4 times a second, and
only when a new epoch arrived.

Layout reflows with the width: below ``NARROW_BELOW`` columns with the form shown, the
plots give way (``f`` hides the form and brings them back) and the bars put their
read-outs underneath; the epoch table and the log sit side by side when there is room,
else one of them shows (``t`` swaps).
"""

from __future__ import annotations

import time
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal

from chexmini_tui.exit_summary import exit_summary
from chexmini_tui.messages import TrainEvents, TrainStatus
from chexmini_tui.run_files import EventFollower, interrupted_run, replay
from chexmini_tui.runner import TrainRunner
from chexmini_tui.screens.base import BaseScreen
from chexmini_tui.state import RunState
from chexmini_tui.widgets.run_view import RunView
from chexmini_tui.widgets.train_form import TrainForm
from core.checkpoint import RESUME_FILE
from core.config import TrainConfig
from core.data.sources import DEFAULT_SOURCE
from core.errors import ChexminiError
from core.runfolder import check_can_start

#: Seconds between two polls of a followed events.jsonl, and between two redraws
#: (counters, bars and log at most 4×/s; plots only when an epoch arrived).
POLL_INTERVAL = 0.5
PLOT_INTERVAL = 0.25
#: An attached run with no new event for this long is reported as possibly stopped.
STALE_AFTER = 120.0
#: Below this width (columns) the form and the plots do not share the screen, and the
#: epoch table and the log take turns (``t``).
NARROW_BELOW = 110
#: Under a dialog (e.g. the quit question) the screen is redrawn once every this many
#: ticks: it keeps up with the run without re-rendering the dimmed background 4×/s.
UNDER_DIALOG_EVERY = 4


class TrainScreen(BaseScreen):
    MODE = "train"
    AUTO_FOCUS = None  # keys work at once; Tab enters the form
    BINDINGS = [
        Binding("s", "start", "start"),
        Binding("p", "pause", "pause"),
        Binding("x", "stop", "stop"),
        Binding("w", "save", "save"),
        Binding("r", "resume_run", "resume"),
        Binding("f", "toggle_form", "form"),
        Binding("t", "toggle_table", "table/log"),
        Binding("d", "detach", "detach"),
        Binding("escape", "blur", "leave field", show=False),
    ]
    # Screen CSS outranks the widgets' own: the layout of this screen's widgets.
    CSS = """
    TrainScreen #train-body { height: 1fr; }
    TrainScreen.-hide-form #train-form { display: none; }
    TrainScreen #epoch-table { width: 50; height: 1fr; }
    TrainScreen.-narrow #train-form { width: 32; }
    TrainScreen #train-log { width: 1fr; height: 1fr; border-top: none;
                             border-left: vkey $primary 40%; }
    TrainScreen.-narrow #epoch-table { width: 1fr; }
    TrainScreen.-narrow #train-log { display: none; border-left: none; }
    TrainScreen.-narrow.-show-log #train-log { display: block; }
    TrainScreen.-narrow.-show-log #epoch-table { display: none; }
    TrainScreen.-squeeze #train-plots { display: none; }
    TrainScreen.-squeeze #train-bottom { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.form = TrainForm(id="train-form")
        self.view = RunView(id="train-live")
        self.runner: TrainRunner | None = None
        self.status_detail = ""
        self.follower: EventFollower | None = None     # attach mode
        self._detached = False
        self._ticks = 0
        #: the state a starting run will show once its RunStarted event arrives (until
        #: then the previous run stays on screen: a failed start does not wipe it)
        self._next_state: RunState | None = None

    # -- layout ------------------------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        with Horizontal(id="train-body"):
            yield self.form
            yield self.view

    @property
    def state(self) -> RunState:
        """The run on screen (live, attached or finished; read after the app exits too)."""
        return self.view.state

    @property
    def follow(self) -> Path | None:
        """The followed ``events.jsonl`` in attach mode, else ``None``."""
        return self.follower.path if self.follower is not None else None

    def on_mount(self) -> None:
        self.form.set_text("data", self.app.data_source or DEFAULT_SOURCE)
        self.app.train_view = self   # read by __main__ for the exit summary
        self._reflow()
        self.set_interval(PLOT_INTERVAL, self._tick)
        self.set_interval(POLL_INTERVAL, self._poll)
        self._show_status()
        self.view.draw_bars(self.phase())
        self.take_pending_attach()
        if self.app.autostart and self.follower is None:
            self.app.autostart = False
            self.call_after_refresh(self.action_start)

    def on_resize(self) -> None:
        self._reflow()

    def _reflow(self) -> None:
        narrow = self.size.width < NARROW_BELOW
        self.set_class(narrow, "-narrow")
        self.set_class(narrow and not self.has_class("-hide-form"), "-squeeze")

    def on_screen_resume(self) -> None:
        if self.view.dirty:
            self._after_events()
        self.take_pending_attach()

    # -- bindings ----------------------------------------------------------------------------
    @property
    def status(self) -> str:
        """The run status lives in the app's state (``app.state.run_status``)."""
        return self.app.state.run_status

    @status.setter
    def status(self, value: str) -> None:
        self.app.set_run_status(value)

    @property
    def running(self) -> bool:
        return self.runner is not None and self.runner.active

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        attached = self.follow is not None
        if action in ("start", "resume_run"):
            return not (self.running or attached)
        if action in ("pause", "stop", "save"):
            return self.running
        if action == "detach":
            return attached
        if action == "toggle_form":
            return not attached
        return True

    def action_blur(self) -> None:
        self.set_focus(None)

    def action_toggle_form(self) -> None:
        self.set_form(self.has_class("-hide-form"))

    def set_form(self, shown: bool) -> None:
        self.set_class(not shown, "-hide-form")
        self._reflow()
        self.view.plots_dirty = True

    def action_toggle_table(self) -> None:
        self.toggle_class("-show-log")

    # -- starting a run ----------------------------------------------------------------------
    def action_start(self) -> None:
        if not (self.running or self.follower is not None):
            self.form.submit()      # posts TrainForm.Submitted, or shows the problem

    @on(TrainForm.Submitted)
    def _form_submitted(self, message: TrainForm.Submitted) -> None:
        if self.running or self.follower is not None:
            return
        out = message.out
        out_dir = Path(out) if out else Path(self.app.runs_dir) / time.strftime("%Y%m%d-%H%M%S")
        try:  # the engine checks again under its lock; this fails before loading data
            check_can_start(out_dir)
        except ChexminiError as exc:
            self.refuse(str(exc))
            return
        self.form.show_error("")
        self.start_run(message.config, message.source, out_dir)

    def refuse(self, why: str) -> None:
        """Say why a start or resume was refused where it is seen whether the form is
        shown or not: in the form (wrapped, in full) and as a notification."""
        self.form.show_error(why)
        self.notify(why, title="cannot start", severity="error", timeout=8)

    def start_run(self, config: TrainConfig, source: str, out_dir: str | Path,
                  data=None) -> TrainRunner:
        """Start a live run (also used by tests and the benchmark, with pre-loaded data)."""
        self._next_state = RunState()
        runner = TrainRunner(config, source, out_dir, self, data=data)
        return self._launch(runner, f"loading data: {source}")

    def _launch(self, runner: TrainRunner, detail: str) -> TrainRunner:
        """Show ``runner`` as the live run and start its worker thread (the title names
        its folder, from the app state)."""
        self.runner = runner
        self.app.set_runner(runner)
        self._detached = False
        self.status, self.status_detail = "loading", detail
        self.set_form(False)
        self._show_status()
        self.refresh_bindings()
        self._train_worker(runner)
        return runner

    def action_resume_run(self) -> None:
        """Continue an interrupted run (bit-identical to never having stopped): the form's
        out dir, else the newest interrupted run under the runs folder."""
        if self.running or self.follower is not None:
            return
        out = self.form.text("out")
        run_dir = interrupted_run(out, self.app.runs_dir)
        if run_dir is None:
            self.refuse(f"nothing to resume: no {RESUME_FILE} in "
                        f"{out or f'{self.app.runs_dir}/*'}")
            return
        try:
            check_can_start(run_dir, resume=True)
        except ChexminiError as exc:
            self.refuse(str(exc))
            return
        self.form.show_error("")
        self.resume_run(run_dir)

    def resume_run(self, run_dir: str | Path) -> TrainRunner:
        """Resume ``run_dir``; its earlier epochs are replayed from ``events.jsonl``."""
        self._next_state = replay(run_dir)
        runner = TrainRunner(None, "", Path(run_dir), self, resume=True)
        return self._launch(runner, f"resuming {run_dir}")

    @work(thread=True, exclusive=True, group="train", exit_on_error=False)
    def _train_worker(self, runner: TrainRunner) -> None:
        runner.run()

    # -- run controls ------------------------------------------------------------------------
    def action_pause(self) -> None:
        if not self.running:
            return
        if self.runner.paused:
            self.runner.resume()
        else:
            self.runner.pause()
            self.status, self.status_detail = "paused", "pausing after this step…"
            self._show_status()

    def action_stop(self) -> None:
        if self.running:
            self.runner.stop()

    def action_save(self) -> None:
        if self.running:
            self.runner.save_now()
            when = "after you resume" if self.runner.paused else "at the next step"
            self.notify(f"resume state will be written {when}")

    # -- messages from the worker --------------------------------------------------------------
    def on_train_events(self, message: TrainEvents) -> None:
        if self._next_state is not None and any(
                ev.kind == "run_started" for ev in message.events):
            self._reset_view(self._next_state)   # the new run really started
            self._next_state = None
        self.view.apply(message.events)   # drawn by the next tick (≤ 1/PLOT_INTERVAL a second)

    def on_train_status(self, message: TrainStatus) -> None:
        self.status, self.status_detail = message.state, message.detail
        self._show_status()
        self.refresh_bindings()
        if message.state in ("finished", "aborted", "error"):
            self._next_state = None      # a failed start keeps the previous run on screen
            self.view.dirty = True
            if message.state == "error":
                self.view.log(f"error: {message.detail}")
                self.set_form(True)   # so the form can be fixed
            elif message.state == "aborted":
                self.view.log(f"aborted: {message.detail}")
            if message.state == "finished" and self.runner is not None:
                self.app.set_checkpoint(str(self.runner.out_dir))
                self.notify(f"run finished — {self.runner.out_dir} is now the active checkpoint")
            self.app.run_finished()

    # -- after the app exits ------------------------------------------------------------------
    def exit_summary(self, wait: float = 60.0) -> list[str]:
        """Lines for the shell once the app has exited (see
        :func:`chexmini_tui.exit_summary.exit_summary`)."""
        followed = self.follower.run_dir if self.follower is not None else None
        return exit_summary(self.state, self.runner, followed, wait)

    # -- attach mode -------------------------------------------------------------------------
    def take_pending_attach(self) -> None:
        path = getattr(self.app, "pending_attach", None)
        if not path:
            return
        self.app.pending_attach = None
        if self.running:
            self.notify("a run is in progress in this app; stop it before attaching",
                        severity="error")
            return
        self.attach_to(path)

    def attach_to(self, run_dir: str | Path) -> None:
        self._reset_view()
        self._detached = False
        self.follower = EventFollower(run_dir)
        self.status, self.status_detail = "attached", f"following {self.follow}"
        self.set_form(False)
        self.app.set_attached(self.follower.run_dir)
        self.refresh_bindings()
        self._poll()

    def action_detach(self) -> None:
        if self.follower is None:
            return
        self.follower = None
        self._detached = True
        self.status, self.status_detail = "idle", "detached (the run itself is not affected)"
        self.set_form(True)
        self.app.set_attached(None)
        self.refresh_bindings()
        self._show_status()
        self.view.draw_bars(self.phase())

    def _poll(self) -> None:
        follower = self.follower
        if follower is None:
            return
        got = follower.poll()
        if got.restarted:   # the run was restarted from scratch: start over
            self._reset_view()
        if got.problem:
            self.status_detail = got.problem
            self._show_status()
            return
        self.state.bad_lines += got.bad
        if got.events:
            self.view.apply(got.events)
            self.view.plots_dirty = True
            self.status = "finished" if self.state.finished is not None else "attached"
            self._after_events()
            self.status_detail = f"following {follower.path}"
        elif self.state.finished is None and follower.quiet_for() > STALE_AFTER:
            self.status_detail = (f"no new events for {int(follower.quiet_for())} s — if the "
                                  f"run stopped: chexmini train --resume {follower.run_dir}")
        self._show_status()

    # -- drawing -----------------------------------------------------------------------------
    def _reset_view(self, state: RunState | None = None) -> None:
        self.view.reset(state)
        self.view.draw_bars(self.phase())

    @property
    def visible(self) -> bool:
        """On screen: the active screen, or the one under a dialog of its own mode."""
        return self.is_active or (self.is_attached and self in self.app.screen_stack)

    def _after_events(self) -> None:
        # Hidden (another screen): fold events only, draw on resume. Under a dialog the
        # tick draws at a lower rate (each repaint re-renders the dimmed background).
        if not self.visible:
            self.view.dirty = True
            return
        self.view.draw(self.phase())
        self._show_status()

    def phase(self) -> str:
        """What the bars' read-outs describe: ``live``, ``paused``, ``attached``,
        ``stalled``, ``finished``, ``detached``, ``stopped`` or ``idle``."""
        if self.state.finished is not None:
            return "finished"
        if self.follower is not None:
            return "stalled" if self.follower.quiet_for() > STALE_AFTER else "attached"
        if self.running:
            return "paused" if self.status == "paused" else "live"
        if self._detached:
            return "detached"
        return "stopped" if self.state.epochs else "idle"

    def _show_status(self) -> None:
        if not self.visible:
            self.view.dirty = True
            return
        self.view.draw_status(self.status, self.status_detail,
                              attached=self.follower is not None,
                              squeezed=self.has_class("-squeeze"))

    def _tick(self) -> None:
        """Draw what changed since the last tick: counters, bars, log lines, plots."""
        if not self.visible:
            return
        self._ticks += 1
        if not self.is_active and self._ticks % UNDER_DIALOG_EVERY:
            return
        if self.view.dirty:
            self._after_events()
        self.view.draw_plots()
