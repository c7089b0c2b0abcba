"""Train: a form for a new run; live progress, plots and log; attach mode.

A live run is driven by :class:`chexmini_tui.runner.TrainRunner` in a thread worker;
attach mode follows ``RUN_DIR/events.jsonl`` with a timer (``read_events`` offsets).
Both feed the same :class:`chexmini_tui.state.RunState`, so they look the same.
UI cost is bounded: step messages arrive batched (≤ 10/s) and the plots are rebuilt
at most 4 times a second, and only when a new epoch arrived.

Layout reflows with the width: below ``NARROW_BELOW`` columns with the form shown, the
plots give way (``f`` hides the form and brings them back) and the bars put their
read-outs underneath; the epoch table and the log sit side by side when there is room,
else one of them shows (``t`` swaps).
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Checkbox, Input, Label, RichLog, Static

from chexmini_tui.messages import TrainEvents, TrainStatus
from chexmini_tui.runner import TrainRunner
from chexmini_tui.screens.base import BaseScreen
from chexmini_tui.state import RunState
from chexmini_tui.widgets.epoch_table import EpochTable
from chexmini_tui.widgets.health_view import HealthView
from chexmini_tui.widgets.plots import CurvePlot, Series
from chexmini_tui.widgets.run_progress import RunProgress
from core.checkpoint import RESUME_FILE
from core.checks import ConfigError
from core.config import TrainConfig, parse_hidden_dims
from core.data.sources import DEFAULT_SOURCE
from core.errors import ChexminiError
from core.events import read_events
from core.runfolder import check_can_start, owner_pid

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

# (field, label, kind); defaults come from TrainConfig() = the published run
FORM_FIELDS = (
    ("data", "data", "str"),
    ("epochs", "epochs", "int"),
    ("lr", "lr", "float"),
    ("batch_size", "batch size", "int"),
    ("hidden_dims", "hidden dims", "dims"),
    ("dropout", "dropout", "float"),
    ("weight_decay", "weight decay", "float"),
    ("label_smoothing", "label smooth", "float"),
    ("seed", "seed", "int"),
    ("out", "out dir", "str"),
)

STATE_STYLE = {"idle": "dim", "loading": "yellow", "running": "green", "paused": "yellow",
               "stopping": "yellow", "finished": "bold green", "aborted": "yellow",
               "error": "bold red", "attached": "cyan"}


def _default_text(name: str) -> str:
    d = TrainConfig()
    if name == "hidden_dims":
        return ",".join(map(str, d.hidden_dims))
    if name in ("data", "out"):
        return ""
    return f"{getattr(d, name):g}" if isinstance(getattr(d, name), float) else str(
        getattr(d, name))


def parse_form(values: dict[str, str], augment: bool) -> tuple[TrainConfig, str, str]:
    """``(config, data source, out dir)`` from the form's texts; ChexminiError if invalid."""
    cfg = TrainConfig()
    for name, label, kind in FORM_FIELDS:
        text = values.get(name, "").strip()
        if name in ("data", "out"):
            continue
        if not text:
            raise ChexminiError(f"{label}: a value is required")
        if kind == "dims":
            value = parse_hidden_dims(text)
            if not value:
                raise ChexminiError(f"{label}: a value is required")
            setattr(cfg, name, value)
            continue
        try:
            value = int(text) if kind == "int" else float(text)
        except ValueError:
            want = "a whole number" if kind == "int" else "a number"
            raise ChexminiError(f"{label}: expected {want}, got {text!r}") from None
        setattr(cfg, name, value)
    cfg.augment = bool(augment)
    try:
        cfg.validate()
    except ConfigError as exc:  # name the field by its form label, as the CLI names flags
        labels = {name: label for name, label, _ in FORM_FIELDS}
        if exc.field in labels:
            raise exc.named(labels[exc.field]) from None
        raise
    data = values.get("data", "").strip() or DEFAULT_SOURCE
    return cfg, data, values.get("out", "").strip()


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
        Binding("d", "detach", "detach"),
        Binding("escape", "blur", "leave field", show=False),
    ]
    # Screen CSS outranks the app's stylesheet: these rules replace its Train section.
    CSS = """
    TrainScreen #run-status { height: auto; max-height: 6; }
    TrainScreen #train-plots { height: 1fr; min-height: 8; }
    TrainScreen #train-bottom { height: 9; layout: horizontal; }
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
    """

    def __init__(self) -> None:
        super().__init__()
        self.state = RunState()
        self.runner: TrainRunner | None = None
        self.status_detail = ""
        self.follow: Path | None = None     # events.jsonl followed in attach mode
        self.read_offset = 0
        self.last_event_time = 0.0
        self._logged = 0
        self._plots_dirty = False
        self._ui_dirty = False
        self._detached = False
        self._ticks = 0
        #: the state a starting run will show once its RunStarted event arrives (until
        #: then the previous run stays on screen: a failed start does not wipe it)
        self._next_state: RunState | None = None

    # -- layout ------------------------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        with Horizontal(id="train-body"):
            with VerticalScroll(id="train-form"):
                yield Static("[b]New run[/b] [dim](defaults = published run)[/]", markup=True)
                for name, label, _ in FORM_FIELDS:
                    with Horizontal(classes="form-row"):
                        yield Label(label, classes="form-label")
                        yield Input(value=_default_text(name), id=f"f-{name}",
                                    placeholder="runs/<time>" if name == "out" else "")
                with Horizontal(classes="form-row"):
                    yield Label("augment", classes="form-label")
                    yield Checkbox("flip/brightness/noise", value=TrainConfig().augment,
                                   id="f-augment")
                yield Button("Start (s)", id="start", variant="success")
                yield Static("", id="form-error")
            with Vertical(id="train-live"):
                yield Static("", id="run-status")
                yield RunProgress(id="run-progress")
                with Horizontal(id="train-plots"):
                    yield CurvePlot("loss", "epoch", int_x=True, id="plot-loss")
                    yield CurvePlot("val", "epoch", int_x=True, id="plot-auc")
                with Container(id="train-bottom"):
                    yield EpochTable(id="epoch-table")
                    yield RichLog(id="train-log", max_lines=5000, wrap=True, markup=False)
                yield HealthView(id="health-view")

    def on_mount(self) -> None:
        data = self.query_one("#f-data", Input)
        data.value = self.app.data_source or DEFAULT_SOURCE
        self.app.train_view = self   # read by __main__ for the exit summary
        self._reflow()
        self.set_interval(PLOT_INTERVAL, self._tick)
        self.set_interval(POLL_INTERVAL, self._poll)
        self._show_status()
        self._update_bars()
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

    def on_screen_resume(self) -> None:
        if self._ui_dirty:
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
        self._plots_dirty = True

    def action_toggle_table(self) -> None:
        self.toggle_class("-show-log")

    def action_toggle_health(self) -> None:
        """The health view (and system pane) in place of the plots, table and log."""
        self.toggle_class("-health")
        if self.has_class("-health"):
            self.set_form(False)
        self._plots_dirty = True

    # -- starting a run ----------------------------------------------------------------------
    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.input.id and event.input.id.startswith("f-"):
            self.action_start()

    @on(Button.Pressed, "#start")
    def _start_pressed(self) -> None:
        self.action_start()

    def form_values(self) -> dict[str, str]:
        return {name: self.query_one(f"#f-{name}", Input).value for name, _, _ in FORM_FIELDS}

    def action_start(self) -> None:
        if self.running or self.follow is not None:
            return
        error = self.query_one("#form-error", Static)
        try:
            config, source, out = parse_form(self.form_values(),
                                             self.query_one("#f-augment", Checkbox).value)
        except ChexminiError as exc:
            error.update(f"[red]✗ {exc}[/]")
            self.app.bell()
            return
        out_dir = Path(out) if out else Path(self.app.runs_dir) / time.strftime("%Y%m%d-%H%M%S")
        try:  # the engine checks again under its lock; this fails before loading data
            check_can_start(out_dir)
        except ChexminiError as exc:
            self.refuse(str(exc))
            return
        error.update("")
        self.start_run(config, source, out_dir)

    def refuse(self, why: str) -> None:
        """Say why a start or resume was refused where it is seen whether the form is
        shown or not: in the form (wrapped, in full) and as a notification."""
        self.query_one("#form-error", Static).update(f"[red]✗ {_escape(why)}[/]")
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

    def interrupted_run(self) -> Path | None:
        """The run to resume: the form's out dir if it holds ``resume.npz``, else the newest
        interrupted run under the runs folder that no live process is training (if every
        one is live, the newest — refused by the caller, naming its owner)."""
        out = self.form_values().get("out", "").strip()
        if out:
            return Path(out) if (Path(out) / RESUME_FILE).is_file() else None
        runs = sorted((p.parent for p in Path(self.app.runs_dir).glob(f"*/{RESUME_FILE}")),
                      key=lambda d: (d / RESUME_FILE).stat().st_mtime, reverse=True)
        free = [d for d in runs if owner_pid(d) is None]
        return (free or runs or [None])[0]

    def action_resume_run(self) -> None:
        """Continue an interrupted run (bit-identical to never having stopped)."""
        if self.running or self.follow is not None:
            return
        run_dir = self.interrupted_run()
        if run_dir is None:
            where = self.form_values().get("out", "").strip() or f"{self.app.runs_dir}/*"
            self.refuse(f"nothing to resume: no {RESUME_FILE} in {where}")
            return
        try:
            check_can_start(run_dir, resume=True)
        except ChexminiError as exc:
            self.refuse(str(exc))
            return
        self.query_one("#form-error", Static).update("")
        self.resume_run(run_dir)

    def resume_run(self, run_dir: str | Path) -> TrainRunner:
        """Resume ``run_dir``; its earlier epochs are replayed from ``events.jsonl``."""
        run_dir = Path(run_dir)
        self._next_state = earlier = RunState()
        log = run_dir / "events.jsonl"
        if log.is_file():
            try:
                read = read_events(log)
                earlier.apply_all(read.events)
                earlier.bad_lines += read.bad
            except (OSError, ChexminiError):
                pass
        runner = TrainRunner(None, "", run_dir, self, resume=True)
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
        self.state.apply_all(message.events)
        if any(ev.kind != "step" for ev in message.events):
            self._plots_dirty = True
        self._ui_dirty = True       # drawn by the next tick (≤ 1/PLOT_INTERVAL per second)

    def on_train_status(self, message: TrainStatus) -> None:
        self.status, self.status_detail = message.state, message.detail
        self._show_status()
        self.refresh_bindings()
        if message.state in ("finished", "aborted", "error"):
            self._next_state = None      # a failed start keeps the previous run on screen
            self._ui_dirty = True
            log = self.query_one("#train-log", RichLog)
            if message.state == "error":
                log.write(f"error: {message.detail}")
                self.set_form(True)   # so the form can be fixed
            elif message.state == "aborted":
                log.write(f"aborted: {message.detail}")
            if message.state == "finished" and self.runner is not None:
                self.app.set_checkpoint(str(self.runner.out_dir))
                self.notify(f"run finished — {self.runner.out_dir} is now the active checkpoint")
            self.app.run_finished()

    # -- after the app exits ------------------------------------------------------------------
    def exit_summary(self, wait: float = 60.0) -> list[str]:
        """Lines for the shell once the app has exited: where this screen's run is and
        whether it finished, was interrupted (with the command that continues it),
        failed, or — attached — is still going in another process."""
        st = self.state
        where = f"epoch {st.epochs_done}/{st.epochs}" if st.epochs else "before epoch 1"
        if self.follow is not None:
            run_dir = self.follow.parent
            if st.finished is not None:
                return [f"run {run_dir} finished (followed from here)"]
            return [f"run {run_dir} was still going in another process at {where}",
                    f"  follow it again: chexmini-tui --attach {run_dir}"]
        runner = self.runner
        if runner is None:
            return []
        runner.wait(wait)   # a cancelled run writes its resume state on the way out
        out = runner.out_dir
        if runner.result is not None:
            best = f" — best val AUC {st.best_auc:.4f} @ epoch {st.best_epoch}" \
                if st.best_auc is not None else ""
            return [f"run finished: artifacts in {out}{best}"]
        if runner.error:
            return [f"run {out} failed: {runner.error}"]
        if runner.active:
            return [f"run {out} was still stopping at {where}"]
        if (out / RESUME_FILE).is_file():
            return [f"run {out} interrupted at {where}",
                    f"  continue it: chexmini train --resume {out}"]
        return [f"run {out} stopped at {where}; nothing saved to resume"]

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
        p = Path(run_dir)
        self._reset_view()
        self._detached = False
        self.follow = p if p.name == "events.jsonl" else p / "events.jsonl"
        self.app.train_follow = self.follow
        self.read_offset = 0
        self.last_event_time = time.monotonic()
        self.status, self.status_detail = "attached", f"following {self.follow}"
        self.set_form(False)
        self.app.set_attached(self.follow.parent)
        self.refresh_bindings()
        self._poll()

    def action_detach(self) -> None:
        if self.follow is None:
            return
        self.follow = None
        self.app.train_follow = None
        self._detached = True
        self.status, self.status_detail = "idle", "detached (the run itself is not affected)"
        self.set_form(True)
        self.app.set_attached(None)
        self.refresh_bindings()
        self._show_status()
        self._update_bars()

    def _poll(self) -> None:
        if self.follow is None:
            return
        try:
            size = self.follow.stat().st_size
        except OSError:
            self.status_detail = f"waiting for {self.follow} …"
            self._show_status()
            return
        if size < self.read_offset:  # the run was restarted from scratch: start over
            self._reset_view()
            self.read_offset = 0
        try:
            events, self.read_offset, bad = read_events(self.follow, self.read_offset)
        except OSError as exc:
            self.status_detail = f"cannot read {self.follow}: {exc.strerror or exc}"
            self._show_status()
            return
        except ChexminiError as exc:
            self.status_detail = f"cannot follow: {exc}"
            self._show_status()
            return
        self.state.bad_lines += bad
        now = time.monotonic()
        if events:
            self.last_event_time = now
            self.state.apply_all(events)
            self.status = "finished" if self.state.finished is not None else "attached"
            self._plots_dirty = True
            self._after_events()
            self.status_detail = f"following {self.follow}"
        elif self.state.finished is None and now - self.last_event_time > STALE_AFTER:
            self.status_detail = (f"no new events for {int(now - self.last_event_time)} s — "
                                  f"if the run stopped: chexmini train --resume "
                                  f"{self.follow.parent}")
        self._show_status()

    # -- drawing -----------------------------------------------------------------------------
    def _reset_view(self, state: RunState | None = None) -> None:
        self.state = state if state is not None else RunState()
        self._logged = 0
        self.query_one("#train-log", RichLog).clear()
        self._plots_dirty = True
        self._ui_dirty = True
        self._update_bars()

    @property
    def visible(self) -> bool:
        """On screen: the active screen, or the one under a dialog of its own mode."""
        return self.is_active or (self.is_attached and self in self.app.screen_stack)

    def _after_events(self) -> None:
        # Hidden (another screen): fold events only, draw on resume. Under a dialog the
        # tick draws at a lower rate (each repaint re-renders the dimmed background).
        if not self.visible:
            self._ui_dirty = True
            return
        self._ui_dirty = False
        new = self.state.log[self._logged:]
        if new:  # one write per tick: every RichLog write costs a re-layout
            self.query_one("#train-log", RichLog).write(Text("\n".join(new)))
        self._logged = len(self.state.log)
        self._update_bars()
        self._show_status()

    def phase(self) -> str:
        """What the bars' read-outs describe: ``live``, ``paused``, ``attached``,
        ``stalled``, ``finished``, ``detached``, ``stopped`` or ``idle``."""
        if self.state.finished is not None:
            return "finished"
        if self.follow is not None:
            quiet = time.monotonic() - self.last_event_time > STALE_AFTER
            return "stalled" if quiet else "attached"
        if self.running:
            return "paused" if self.status == "paused" else "live"
        if self._detached:
            return "detached"
        return "stopped" if self.state.epochs else "idle"

    def _update_bars(self) -> None:
        self.query_one("#run-progress", RunProgress).show(self.state, self.phase())

    def _status_parts(self) -> list[str]:
        st = self.state
        shown = self.status
        if self.follow is not None:
            shown = "attached · finished" if st.finished else "attached"
        elif st.finished is not None and self.status not in ("loading", "error", "idle"):
            shown = "finished"
        style = STATE_STYLE.get(self.status, "")
        parts = [f"[{style}]● {shown}[/]"]
        if st.source:
            parts.append(_escape(f"{st.source} → {st.out_dir}" if st.out_dir else st.source))
        if st.best_auc is not None:
            parts.append(f"best val AUC [b]{st.best_auc:.4f}[/] @ epoch {st.best_epoch}")
        if st.loss is not None and not st.finished:
            parts.append(f"loss {st.loss:.4f}")
        if st.lr is not None and not st.finished:
            parts.append(f"lr {st.lr:.2e}")
        if st.last_save and not st.finished:
            parts.append(f"[dim]resume state saved at {st.last_save}[/]")
        if st.bad_lines:
            parts.append(f"[yellow]{st.bad_lines} bad lines skipped[/]")
        return parts

    def _show_status(self) -> None:
        if not self.visible:
            self._ui_dirty = True
            return
        lines = "  ".join(self._status_parts())
        detail = self.status_detail
        if self.status == "idle" and self.follow is None and not detail:
            detail = "fill in the form; Enter or s starts the run (? for help)"
            if self.has_class("-squeeze"):
                detail += "; f hides the form and shows the plots"
        if detail:
            color = "red" if self.status == "error" else "dim"
            lines += f"\n[{color}]{_escape(detail)}[/]"
        self.query_one("#run-status", Static).update(lines)

    def _tick(self) -> None:
        """Draw what changed since the last tick: counters, bars, log lines, plots."""
        if not self.visible:
            return
        self._ticks += 1
        if not self.is_active and self._ticks % UNDER_DIALOG_EVERY:
            return
        if self._ui_dirty:
            self._after_events()
        self._redraw_plots()

    def _redraw_plots(self) -> None:
        if not self._plots_dirty or not self.visible:
            return
        self._plots_dirty = False
        st = self.state
        if self.has_class("-health"):
            self.query_one(HealthView).show(st)
        self.query_one("#epoch-table", EpochTable).show(st)
        self.query_one("#plot-loss", CurvePlot).set_data([
            Series(st.hist_epoch, st.hist_train_loss, "train", "cyan"),
            Series(st.hist_epoch, st.hist_val_loss, "val", "orange"),
        ])
        best = ([st.best_epoch], [st.hist_val_auc[st.hist_epoch.index(st.best_epoch)]]) \
            if st.best_epoch in st.hist_epoch else ([], [])
        self.query_one("#plot-auc", CurvePlot).set_data([
            Series(st.hist_epoch, st.hist_val_auc, "AUC", "green"),
            Series(best[0], best[1], "best", "red", scatter=True),
            Series(st.hist_epoch, st.hist_lr, "lr (right)", "magenta", yside="right"),
        ])


def _escape(text: str) -> str:
    return text.replace("[", r"\[")
