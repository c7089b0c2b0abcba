"""Train: a form for a new run; live progress, plots and log; attach mode.

A live run is driven by :class:`chexmini_tui.runner.TrainRunner` in a thread worker;
attach mode follows ``RUN_DIR/events.jsonl`` with a timer (``read_events`` offsets).
Both feed the same :class:`chexmini_tui.state.RunState`, so they look the same.
UI cost is bounded: step messages arrive batched (≤ 10/s) and the plots are rebuilt
at most 4 times a second, and only when a new epoch arrived.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Checkbox, Input, Label, ProgressBar, RichLog, Static

from chexmini_tui.messages import TrainEvents, TrainStatus
from chexmini_tui.runner import TrainRunner
from chexmini_tui.screens.base import BaseScreen
from chexmini_tui.state import RunState, fmt_duration
from chexmini_tui.widgets.plots import CurvePlot, Series
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
        Binding("p", "pause", "pause/resume"),
        Binding("x", "stop", "stop (clean finish)"),
        Binding("w", "save", "save now"),
        Binding("r", "resume_run", "resume run"),
        Binding("f", "toggle_form", "form"),
        Binding("d", "detach", "detach"),
        Binding("escape", "blur", "leave field", show=False),
    ]

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
                with Horizontal(classes="bar-row"):
                    yield Label("epoch", classes="bar-label")
                    yield ProgressBar(total=1, show_eta=False, show_percentage=False,
                                      id="bar-epoch")
                    yield Label("", id="eta-epoch", classes="bar-info")
                with Horizontal(classes="bar-row"):
                    yield Label("step", classes="bar-label")
                    yield ProgressBar(total=1, show_eta=False, show_percentage=False,
                                      id="bar-step")
                    yield Label("", id="eta-step", classes="bar-info")
                with Horizontal(id="train-plots"):
                    yield CurvePlot("loss", "epoch", int_x=True, id="plot-loss")
                    yield CurvePlot("val AUC · lr", "epoch", int_x=True, id="plot-auc")
                yield RichLog(id="train-log", max_lines=5000, wrap=False, markup=False)

    def on_mount(self) -> None:
        data = self.query_one("#f-data", Input)
        data.value = self.app.data_source or DEFAULT_SOURCE
        self.set_interval(PLOT_INTERVAL, self._tick)
        self.set_interval(POLL_INTERVAL, self._poll)
        self._show_status()
        self._update_bars()
        self.take_pending_attach()
        if self.app.autostart and self.follow is None:
            self.app.autostart = False
            self.call_after_refresh(self.action_start)

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
        self.toggle_class("-hide-form")

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
            error.update(f"[red]✗ {_escape(str(exc))}[/]")
            self.app.bell()
            return
        error.update("")
        self.start_run(config, source, out_dir)

    def start_run(self, config: TrainConfig, source: str, out_dir: str | Path,
                  data=None) -> TrainRunner:
        """Start a live run (also used by tests and the benchmark, with pre-loaded data)."""
        self._reset_view()
        runner = TrainRunner(config, source, out_dir, self, data=data)
        return self._launch(runner, f"loading data: {source}", f"training → {out_dir}")

    def _launch(self, runner: TrainRunner, detail: str, note: str) -> TrainRunner:
        """Show ``runner`` as the live run and start its worker thread."""
        self.runner = runner
        self.app.set_runner(runner)
        self.status, self.status_detail = "loading", detail
        self.add_class("-hide-form")
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
        error = self.query_one("#form-error", Static)
        run_dir = self.interrupted_run()
        if run_dir is None:
            where = self.form_values().get("out", "").strip() or f"{self.app.runs_dir}/*"
            error.update(f"[red]✗ nothing to resume: no {RESUME_FILE} in {where}[/]")
            self.app.bell()
            return
        try:
            check_can_start(run_dir, resume=True)
        except ChexminiError as exc:
            error.update(f"[red]✗ {_escape(str(exc))}[/]")
            self.app.bell()
            return
        error.update("")
        self.resume_run(run_dir)

    def resume_run(self, run_dir: str | Path) -> TrainRunner:
        """Resume ``run_dir``; its earlier epochs are replayed from ``events.jsonl``."""
        run_dir = Path(run_dir)
        self._reset_view()
        log = run_dir / "events.jsonl"
        if log.is_file():
            try:
                read = read_events(log)
                self.state.apply_all(read.events)
                self.state.bad_lines += read.bad
            except (OSError, ChexminiError):
                pass
        runner = TrainRunner(None, "", run_dir, self, resume=True)
        return self._launch(runner, f"resuming {run_dir}", f"training → {run_dir} (resumed)")

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
        self.state.apply_all(message.events)
        if any(ev.kind != "step" for ev in message.events):
            self._plots_dirty = True
        self._ui_dirty = True       # drawn by the next tick (≤ 1/PLOT_INTERVAL per second)

    def on_train_status(self, message: TrainStatus) -> None:
        self.status, self.status_detail = message.state, message.detail
        self._show_status()
        self.refresh_bindings()
        if message.state in ("finished", "aborted", "error"):
            log = self.query_one("#train-log", RichLog)
            if message.state == "error":
                log.write(f"error: {message.detail}")
                self.remove_class("-hide-form")   # so the form can be fixed
            elif message.state == "aborted":
                log.write(f"aborted: {message.detail}")
            if message.state == "finished" and self.runner is not None:
                self.app.set_checkpoint(str(self.runner.out_dir))
                self.notify(f"run finished — {self.runner.out_dir} is now the active checkpoint")
            self.app.run_finished()

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
        self.follow = p if p.name == "events.jsonl" else p / "events.jsonl"
        self.read_offset = 0
        self.last_event_time = time.monotonic()
        self.status, self.status_detail = "attached", f"following {self.follow}"
        self.add_class("-hide-form")
        self.app.set_attached(self.follow.parent)
        self.refresh_bindings()
        self._poll()

    def action_detach(self) -> None:
        if self.follow is None:
            return
        self.follow = None
        self.status, self.status_detail = "idle", "detached (the run itself is not affected)"
        self.remove_class("-hide-form")
        self.app.set_attached(None)
        self.refresh_bindings()
        self._show_status()

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
    def _reset_view(self) -> None:
        self.state = RunState()
        self._logged = 0
        self.query_one("#train-log", RichLog).clear()
        self._plots_dirty = True
        self._update_bars()

    def _after_events(self) -> None:
        # Hidden (another screen, or a dialog on top): fold events only, draw on resume —
        # repainting under a modal re-renders the whole dimmed background every time.
        if not self.is_active:
            self._ui_dirty = True
            return
        self._ui_dirty = False
        new = self.state.log[self._logged:]
        if new:  # one write per tick: every RichLog write costs a re-layout
            self.query_one("#train-log", RichLog).write(Text("\n".join(new)))
        self._logged = len(self.state.log)
        self._update_bars()
        self._show_status()

    def _update_bars(self) -> None:
        st = self.state
        epochs = max(st.epochs, 1)
        spe = max(st.steps_per_epoch, 1)
        self.query_one("#bar-epoch", ProgressBar).update(total=epochs, progress=st.epochs_done)
        self.query_one("#bar-step", ProgressBar).update(total=spe, progress=min(st.step, spe))
        sps = f"{st.samples_per_s:,.0f} samples/s" if st.samples_per_s else "— samples/s"
        # fixed-size widgets: update without a re-layout (which would cost ~100 ms a time)
        self.query_one("#eta-epoch", Label).update(
            f"{st.epochs_done}/{st.epochs} · ETA {fmt_duration(st.eta_run())}", layout=False)
        self.query_one("#eta-step", Label).update(
            f"{st.step}/{st.steps_per_epoch} · {sps} · ETA {fmt_duration(st.eta_epoch())}",
            layout=False)

    def _show_status(self) -> None:
        if not self.is_active:
            self._ui_dirty = True
            return
        st = self.state
        shown = self.status
        if self.follow is not None:
            shown = "attached · finished" if st.finished else "attached"
        style = STATE_STYLE.get(self.status, "")
        parts = [f"[{style}]● {shown}[/]"]
        if st.source:
            parts.append(f"{st.source} → {st.out_dir}" if st.out_dir else st.source)
        if st.best_auc is not None:
            parts.append(f"best val AUC [b]{st.best_auc:.4f}[/] @ epoch {st.best_epoch}")
        if st.loss is not None and not st.finished:
            parts.append(f"loss {st.loss:.4f}")
        if st.lr is not None and not st.finished:
            parts.append(f"lr {st.lr:.2e}")
        if st.bad_lines:
            parts.append(f"[yellow]{st.bad_lines} bad lines skipped[/]")
        lines = "  ".join(parts)
        detail = self.status_detail
        if self.status == "idle" and self.follow is None and not detail:
            detail = "fill in the form; Enter or s starts the run (? for help)"
        if detail:
            color = "red" if self.status == "error" else "dim"
            lines += f"\n[{color}]{_escape(detail)}[/]"
        self.query_one("#run-status", Static).update(lines, layout=False)

    def _tick(self) -> None:
        """Draw what changed since the last tick: counters, bars, log lines, plots."""
        if not self.is_active:
            return
        if self._ui_dirty:
            self._after_events()
        self._redraw_plots()

    def _redraw_plots(self) -> None:
        if not self._plots_dirty or not self.is_active:
            return
        self._plots_dirty = False
        st = self.state
        self.query_one("#plot-loss", CurvePlot).set_data([
            Series(st.hist_epoch, st.hist_train_loss, "train", "cyan"),
            Series(st.hist_epoch, st.hist_val_loss, "val", "orange"),
        ])
        best = ([st.best_epoch], [st.hist_val_auc[st.hist_epoch.index(st.best_epoch)]]) \
            if st.best_epoch in st.hist_epoch else ([], [])
        self.query_one("#plot-auc", CurvePlot).set_data([
            Series(st.hist_epoch, st.hist_val_auc, "val AUC", "green"),
            Series(best[0], best[1], "best", "red", scatter=True),
            Series(st.hist_epoch, st.hist_lr, "lr →", "magenta", yside="right"),
        ])


def _escape(text: str) -> str:
    return text.replace("[", r"\[")
