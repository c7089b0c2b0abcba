"""Gradient check: the engine's finite-difference check of the hand-written backward
pass, on a fresh model, the active checkpoint, or the live model of a run in progress
(copied by the training thread between two steps).

The checkpoint is the app's active one, as loaded (``app.state.active``); a check of a
checkpoint that is no longer the active one (another was made active, or its files
changed) is cleared rather than shown under the new one."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import (
    Button,
    DataTable,
    Input,
    Label,
    ProgressBar,
    RadioButton,
    RadioSet,
    Static,
)
from textual.worker import get_current_worker

from chexmini_tui.active import ActiveCheckpoint
from chexmini_tui.markup import esc
from chexmini_tui.messages import GradcheckDone, GradcheckProgress
from chexmini_tui.screens.base import BaseScreen
from chexmini_tui.widgets.ordered_input import OrderedInput
from core.evaluation.gradcheck import TensorCheck, check_args, gradcheck
from core.foundation.checks import ConfigError
from core.foundation.config import parse_hidden_dims
from core.foundation.errors import ChexminiError
from core.nn.model import MLP

SOURCES = (("fresh", "fresh model"), ("checkpoint", "checkpoint"), ("live", "live model"))
BATCH = 8          # same probe batch as `chexmini gradcheck`
TOL = 1e-6


def probe_batch(n_in: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The batch the check runs on: standard-normal inputs (≈ standardised images) and
    alternating labels — exactly what the CLI uses, so results agree."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((BATCH, n_in)), (np.arange(BATCH) % 2).astype(float)


@dataclass
class GradcheckRow(Message):
    """One tensor's check has finished (posted by the worker of check ``run`` as it
    happens)."""

    row: TensorCheck
    run: int = 0


class GradcheckScreen(BaseScreen):
    MODE = "gradcheck"
    AUTO_FOCUS = None  # keys work at once; Tab enters the form
    BINDINGS = [
        Binding("g", "run", "run check"),
        Binding("m", "cycle_source", "model source"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.source = "fresh"
        self.report = None
        self.error: str | None = None
        self.running = False
        self._last_progress = 0.0
        self.what = ""
        self.rows_done: list[TensorCheck] = []
        #: the active checkpoint being checked, or whose check is shown (None: another
        #: source)
        self.checked: ActiveCheckpoint | None = None
        self.note = ""
        #: the number of the check shown: messages of an older (cleared) one are ignored
        self.run_id = 0

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="gc-top"):
            with Vertical(id="gc-form"):
                with RadioSet(id="gc-source"):
                    for key, label in SOURCES:
                        yield RadioButton(label, value=key == "fresh", id=f"src-{key}")
            with Vertical(id="gc-params"):
                with Horizontal(classes="form-row"):
                    yield Label("epsilon h", classes="form-label")
                    yield OrderedInput("1e-4", id="gc-eps")
                with Horizontal(classes="form-row"):
                    yield Label("samples/tensor", classes="form-label")
                    yield OrderedInput("20", id="gc-samples")
                with Horizontal(classes="form-row", id="gc-dims-row"):
                    yield Label("hidden layers", classes="form-label")
                    yield OrderedInput("1024,256,64", id="gc-dims")
                yield Button("Run (g)", id="gc-run", variant="primary")
        yield Static("", id="gc-summary")
        yield ProgressBar(total=1, show_eta=False, id="gc-progress")
        yield DataTable(id="gc-table", cursor_type="row", zebra_stripes=True)

    def _show_dims(self) -> None:
        """The hidden-layer sizes only matter for a fresh model."""
        self.query_one("#gc-dims-row").display = self.source == "fresh"

    def on_mount(self) -> None:
        table = self.query_one("#gc-table", DataTable)
        for col in ("tensor", "shape", "checked", "kinks", "max rel error", "max abs error",
                    "result"):
            table.add_column(col, key=col)
        self._summary()

    # -- inputs ------------------------------------------------------------------------------
    @on(RadioSet.Changed, "#gc-source")
    def _source_changed(self, event: RadioSet.Changed) -> None:
        self.source = (event.pressed.id or "src-fresh").removeprefix("src-")
        self.note = ""
        self._show_dims()
        self._summary()

    def action_cycle_source(self) -> None:
        keys = [k for k, _ in SOURCES]
        nxt = keys[(keys.index(self.source) + 1) % len(keys)]
        self.query_one(f"#src-{nxt}", RadioButton).value = True
        self.source = nxt
        self.note = ""
        self._show_dims()
        self._summary()

    @on(Input.Submitted)
    @on(Button.Pressed, "#gc-run")
    def _go(self) -> None:
        self.set_focus(None)    # out of the form, so the footer's keys work again
        self.action_run()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "run":
            return not self.running
        return True

    def params(self) -> tuple[float, int, list[int]]:
        """``(eps, samples, hidden dims)`` from the form, checked by the engine's rules
        (:func:`core.evaluation.gradcheck.check_args`, as ``chexmini gradcheck`` does)."""
        eps_t = self.query_one("#gc-eps", Input).value.strip()
        n_t = self.query_one("#gc-samples", Input).value.strip()
        try:
            eps = float(eps_t)
        except ValueError:
            raise ChexminiError(f"epsilon: expected a number, got {eps_t!r}") from None
        try:
            n = int(n_t)
        except ValueError:
            raise ChexminiError(f"samples: expected a whole number, got {n_t!r}") from None
        try:
            check_args(eps, n, TOL)
        except ConfigError as exc:
            raise exc.named({"eps": "epsilon", "samples": "samples"}.get(
                exc.field, exc.field)) from None
        return eps, n, parse_hidden_dims(self.query_one("#gc-dims", Input).value)

    # -- running -----------------------------------------------------------------------------
    def action_run(self) -> None:
        if self.running:
            return
        if self.source == "checkpoint" and self.app.state.active.loading:
            self.note = "the checkpoint is still loading: press g again in a moment"
            self._summary()
            return
        try:
            eps, n, dims = self.params()
        except ChexminiError as exc:
            self.error, self.report = str(exc), None
            self._summary()
            return
        self.running, self.error, self.report, self.note = True, None, None, ""
        self.run_id += 1
        active = self.app.state.active
        self.checked = active if self.source == "checkpoint" else None
        self.rows_done: list[TensorCheck] = []
        self.query_one("#gc-progress", ProgressBar).update(total=1, progress=0)
        self.query_one("#gc-table", DataTable).clear()
        self._summary()
        self.refresh_bindings()
        self._worker(self.source, eps, n, dims, active, self.app.runner(), self.run_id)

    def follow_active(self) -> None:
        """The check shown (or running) is of a checkpoint that is no longer the active
        one: clear it."""
        if self.checked is None or self.checked is self.app.state.active:
            self._summary()     # the checkpoint's name in the head
            return
        self.checked = None
        if self.running:       # stop it; anything it still sends is ignored
            self.workers.cancel_group(self, "gradcheck")
            self.run_id += 1
            self.running = False
            self.refresh_bindings()
        self.report, self.error, self.rows_done = None, None, []
        self.query_one("#gc-table", DataTable).clear()
        self.query_one("#gc-progress", ProgressBar).update(total=1, progress=0)
        self.note = "the active checkpoint changed: its check was cleared (g checks it)"
        self._summary()

    @work(thread=True, exclusive=True, group="gradcheck", exit_on_error=False)
    def _worker(self, source: str, eps: float, n: int, dims: list[int],
                active: ActiveCheckpoint, runner, run: int) -> None:
        worker = get_current_worker()
        try:
            if source == "fresh":
                model = MLP((64 * 64, *dims, 1), dropout=0.3, seed=0)
                what = f"fresh model {'→'.join(map(str, model.widths))}"
            elif source == "checkpoint":
                if active.checkpoint is None:
                    raise ChexminiError(active.problem)
                with active.lock:     # a copy: the other screens' passes go on
                    model = active.checkpoint.model.copy()
                what = f"checkpoint {active.path}"
            else:
                snap = runner.live_model_copy() if runner is not None else None
                if snap is None:
                    raise ChexminiError("no training run in progress: start one on the Train "
                                        "screen (1) to check the live model")
                model = snap[0]
                what = f"live model (step {runner.global_step})"
            x, y = probe_batch(model.widths[0])

            def progress(done: int, total: int) -> None:
                now = time.monotonic()
                if done == total or now - self._last_progress > 0.05:
                    self._last_progress = now
                    self.post_message(GradcheckProgress(done, total, run))
                if worker.is_cancelled:
                    raise ChexminiError("cancelled")

            report = gradcheck(model, x, y, eps=eps, n_samples=n, tol=TOL, progress=progress,
                               on_row=lambda row: self.post_message(GradcheckRow(row, run)))
            self.post_message(GradcheckDone(report, what=what, run=run))
        except ChexminiError as exc:
            self.post_message(GradcheckDone(error=str(exc), run=run))
        except Exception as exc:  # noqa: BLE001 - shown inline, never a traceback
            self.post_message(GradcheckDone(error=f"{type(exc).__name__}: {exc}", run=run))

    def on_gradcheck_progress(self, message: GradcheckProgress) -> None:
        if message.run != self.run_id:
            return
        self.query_one("#gc-progress", ProgressBar).update(total=message.total,
                                                           progress=message.done)

    def on_gradcheck_row(self, message: GradcheckRow) -> None:
        if message.run != self.run_id:
            return
        self.rows_done.append(message.row)
        self._add_row(message.row)
        self._summary()

    def _add_row(self, r: TensorCheck) -> None:
        table = self.query_one("#gc-table", DataTable)
        if r.name in table.rows:
            return
        ok = (Text("pass", style="bold green") if r.passed
              else Text("FAIL" if r.n_checked else "nothing checked", style="bold red"))
        err_style = "green" if r.passed else "red"
        table.add_row(r.name, "×".join(map(str, r.shape)), str(r.n_checked),
                      str(r.n_kinks), Text(f"{r.max_rel_error:.2e}", style=err_style),
                      f"{r.max_abs_error:.2e}", ok, key=r.name)

    def on_gradcheck_done(self, message: GradcheckDone) -> None:
        if message.run != self.run_id:
            return               # a check that was cleared (not the active checkpoint's)
        self.running = False
        self.refresh_bindings()
        self.report, self.error, self.what = message.report, message.error, message.what
        if self.report is not None:
            for r in self.report.rows:   # any row whose message has not arrived yet
                self._add_row(r)
        self._summary()

    def _summary(self) -> None:
        label = dict(SOURCES)[self.source]
        if self.source == "checkpoint":
            label += f" {esc(self.app.state.active_checkpoint)}"
        head = (f"[b]model:[/] {label}   [dim]float64 copy, dropout off, probe batch of "
                f"{BATCH}, centred differences, pass if max rel error < {TOL:g}[/]")
        if self.running:
            body = f"[yellow]running… {len(self.rows_done)} tensors checked[/]"
            if self.rows_done:
                worst = max(r.max_rel_error for r in self.rows_done)
                n_fail = sum(not r.passed for r in self.rows_done)
                body += f"  max rel error so far {worst:.2e}" + (
                    f"  [bold red]{n_fail} failed[/]" if n_fail else "")
        elif self.error:
            body = f"[red]✗ {esc(self.error)}[/]"
        elif self.report is not None:
            r = self.report
            verdict = "[bold green]PASS[/]" if r.passed else "[bold red]FAIL[/]"
            body = (f"{verdict}  {self.what}: {len(r.rows)} tensors, max rel error "
                    f"{r.max_rel_error:.2e} (h={r.eps:g})")
        elif self.note:
            body = f"[yellow]{esc(self.note)}[/]"
        else:
            body = "[dim]press g to run[/]"
        self.query_one("#gc-summary", Static).update(f"{head}\n{body}")
