"""Train: a form for a new run; live progress, plots and log; attach mode.

The screen lays out and wires two widgets: :class:`TrainForm` (its ``Submitted``
message starts a run) and :class:`RunPanel` (the run: live, resumed or followed, and
its status, bars, plots, epoch table and log). Keys act on the panel.

Layout reflows with the width: below ``NARROW_BELOW`` columns with the form shown, the
plots give way (``f`` hides the form and brings them back) and the bars put their
read-outs underneath; the epoch table and the log sit side by side when there is room,
else one of them shows (``t`` swaps).
"""

from __future__ import annotations

import time
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal

from chexmini_tui.messages import TrainStatus
from chexmini_tui.run_files import interrupted_run
from chexmini_tui.runner import TrainRunner
from chexmini_tui.screens.base import BaseScreen
from chexmini_tui.state import RunDisplayState
from chexmini_tui.widgets.run_panel import RunPanel
from chexmini_tui.widgets.train_form import TrainForm
from core.data.sources import DEFAULT_SOURCE
from core.foundation.config import TrainConfig
from core.foundation.errors import ChexminiError
from core.runs import layout
from core.runs.folder import check_can_start

#: Below this width (columns) the form and the plots do not share the screen, and the
#: epoch table and the log take turns (``t``).
NARROW_BELOW = 110


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
        Binding("h", "toggle_health", "health",
                tooltip="training health per layer, warnings, CPU and memory"),
        Binding("g", "toggle_filters", "filters",
                tooltip="fc1's templates: what the first layer learned, redrawn each epoch"),
        Binding("d", "detach", "detach"),
        Binding("escape", "blur", "leave field", show=False),
    ]
    # Screen CSS outranks the widgets' own: how this screen lays its widgets out.
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
    TrainScreen #health-view { display: none; }
    TrainScreen.-health #health-view { display: block; }
    TrainScreen.-health #train-plots, TrainScreen.-health #train-bottom { display: none; }
    TrainScreen #filter-grid { display: none; }
    TrainScreen.-filters #filter-grid { display: block; }
    TrainScreen.-filters #train-plots, TrainScreen.-filters #train-bottom { display: none; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.form = TrainForm(id="train-form")
        self.panel = RunPanel(id="train-live")   # kept: read after the app exits too

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="train-body"):
            yield self.form
            yield self.panel

    def on_mount(self) -> None:
        self.form.set_text("data", self.app.data_source or DEFAULT_SOURCE)
        self.app.train_view = self   # read by __main__ for the exit summary
        self._reflow()
        self.panel.show_status()
        self.take_pending_attach()
        if self.app.autostart and self.follow is None:
            self.app.autostart = False
            self.call_after_refresh(self.action_start)

    def on_resize(self) -> None:
        self._reflow()

    def _reflow(self) -> None:
        narrow = self.size.width < NARROW_BELOW
        self.set_class(narrow, "-narrow")
        self.set_class(narrow and not self.has_class("-hide-form"), "-squeeze")
        self.panel.squeezed = self.has_class("-squeeze")

    def on_screen_resume(self) -> None:
        if self.panel.dirty:
            self.panel.redraw()
        self.take_pending_attach()

    # -- the run on screen (the panel's) -------------------------------------------------------
    @property
    def state(self) -> RunDisplayState:
        return self.panel.state

    @property
    def runner(self) -> TrainRunner | None:
        return self.panel.runner

    @runner.setter
    def runner(self, runner: TrainRunner | None) -> None:
        self.panel.runner = runner

    @property
    def status(self) -> str:
        return self.panel.status

    @status.setter
    def status(self, value: str) -> None:
        self.panel.status = value

    @property
    def status_detail(self) -> str:
        return self.panel.detail

    @status_detail.setter
    def status_detail(self, value: str) -> None:
        self.panel.detail = value
        self.panel.show_status()

    @property
    def running(self) -> bool:
        return self.panel.running

    @property
    def follow(self) -> Path | None:
        return self.panel.follow

    def exit_summary(self, wait: float = 60.0) -> list[str]:
        return self.panel.exit_summary(wait)

    # -- bindings ----------------------------------------------------------------------------
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
        self.panel.plots_dirty = True

    def action_toggle_table(self) -> None:
        self.toggle_class("-show-log")

    def action_toggle_health(self) -> None:
        """The health view (and system pane) in place of the plots, table and log."""
        self._show_pane("-health")

    def action_toggle_filters(self) -> None:
        """fc1's templates (:class:`FilterGrid`) in place of the plots, table and log."""
        self._show_pane("-filters")

    def _show_pane(self, pane: str) -> None:
        """Toggle ``pane`` (``-health`` or ``-filters``): one at a time, without the form."""
        shown = not self.has_class(pane)
        self.remove_class("-health", "-filters")
        self.set_class(shown, pane)
        if shown:
            self.set_form(False)
        self.panel.plots_dirty = True

    def action_pause(self) -> None:
        self.panel.pause()

    def action_stop(self) -> None:
        if self.running:
            self.runner.stop()

    def action_save(self) -> None:
        if self.running:
            self.runner.save_now()
            when = "after you resume" if self.runner.paused else "at the next step"
            self.notify(f"resume state will be written {when}", markup=False)

    # -- starting and resuming -------------------------------------------------------------------
    def action_start(self) -> None:
        if not (self.running or self.follow is not None):
            self.form.submit()      # posts TrainForm.Submitted, or shows the problem

    @on(TrainForm.Submitted)
    def _form_submitted(self, message: TrainForm.Submitted) -> None:
        if self.running or self.follow is not None:
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
        self.notify(why, title="cannot start", severity="error", timeout=8, markup=False)

    def start_run(self, config: TrainConfig, source: str, out_dir: str | Path,
                  data=None) -> TrainRunner:
        """Start a live run (also used by tests and the benchmark, with pre-loaded data)."""
        return self._launched(self.panel.start(config, source, out_dir, data))

    def resume_run(self, run_dir: str | Path) -> TrainRunner:
        """Resume ``run_dir``; its earlier epochs are replayed from ``events.jsonl``."""
        return self._launched(self.panel.resume(run_dir))

    def _launched(self, runner: TrainRunner) -> TrainRunner:
        self.set_form(False)
        self.refresh_bindings()
        return runner

    def action_resume_run(self) -> None:
        """Continue an interrupted run (bit-identical to never having stopped): the form's
        out dir, else the newest interrupted run under the runs folder."""
        if self.running or self.follow is not None:
            return
        out = self.form.text("out")
        run_dir = interrupted_run(out, self.app.runs_dir)
        if run_dir is None:
            self.refuse(f"nothing to resume: no {layout.RESUME} in "
                        f"{out or f'{self.app.runs_dir}/*'}")
            return
        try:
            check_can_start(run_dir, resume=True)
        except ChexminiError as exc:
            self.refuse(str(exc))
            return
        self.form.show_error("")
        self.resume_run(run_dir)

    def on_train_status(self, message: TrainStatus) -> None:
        """After the panel showed it: the keys that now apply; the form after an error."""
        self.refresh_bindings()
        if message.state == "error":
            self.set_form(True)   # so the form can be fixed

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
        self.panel.attach(run_dir)
        self.set_form(False)
        self.refresh_bindings()

    def action_detach(self) -> None:
        if self.follow is None:
            return
        self.panel.detach()
        self.set_form(True)
        self.refresh_bindings()
