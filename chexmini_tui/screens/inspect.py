"""Inspect: every run folder (``artifacts/``, ``runs/*`` and folders given on the command
line) in one sortable table; the highlighted one in full below; any number of marked
runs overlaid (validation AUC and loss per epoch); make one the active checkpoint;
attach to a run.

The folders are read in a thread worker (:func:`core.runs.listing.scan`), so a runs folder
with many runs never blocks the keys; every two seconds the worker checks again and
re-reads only the folders whose files changed (a running run's rows and curves follow).
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from chexmini_tui.markup import esc
from chexmini_tui.screens.base import CURVE_BINDINGS, BaseScreen
from chexmini_tui.screens.inspect_dialogs import (
    ConfigDiff,
    ConfirmDelete,
    FilterPrompt,
    SweepView,
)
from chexmini_tui.widgets.run_detail import RunDetail
from chexmini_tui.widgets.run_overlay import OverlayRun, RunOverlay, run_color
from chexmini_tui.widgets.run_table import RunTable
from core.foundation.errors import ChexminiError
from core.runs import layout
from core.runs.catalog import Info, folders, load_info
from core.runs.folder import delete_run, why_not_deletable
from core.runs.listing import RunRow, cells, config_diff, run_config, scan
from core.runs.status import run_status
from core.sweep.summary import note_trials, rows_from_folders, sweep_of, trial_folders

#: below this width the two history plots of the detail go one under the other
STACK = 100
#: seconds between two checks of the folders
POLL = 2.0


class InspectScreen(BaseScreen):
    MODE = "inspect"
    DEFAULT_CSS = """
    InspectScreen #insp-body { height: 1fr; }
    InspectScreen #insp-status { height: auto; max-height: 6; color: $text-muted; padding: 0 1; }
    InspectScreen #insp-detail { height: 1fr; padding: 0 1; }
    """
    BINDINGS = [
        Binding("enter", "use", "make active", priority=True),
        Binding("m", "mark", "mark"),
        Binding("c", "clear_marks", "clear marks"),
        Binding("o", "sort", "sort"),
        Binding("O", "reverse_sort", "reverse sort", show=False),
        Binding("a", "attach", "attach"),
        Binding("f", "filters", "filters",
                tooltip="the highlighted checkpoint's fc1 templates: what the first layer learned"),
        Binding("l", "rescan", "rescan"),
        Binding("slash", "filter", "filter", tooltip="show only the runs whose row has "
                "every word typed (name, status, data, settings)"),
        Binding("v", "diff", "diff", show=False,
                tooltip="the settings that differ between the marked runs"),
        Binding("S", "sweep", "sweep", show=False,
                tooltip="the highlighted trial's sweep: its trials by validation AUC, the "
                "best highlighted, and which setting matters"),
        Binding("D", "delete", "delete", show=False,
                tooltip="delete the highlighted run folder (asks first; not a running run, "
                "not the active checkpoint, only folders in the runs folder)"),
        *CURVE_BINDINGS,
    ]

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[RunRow] = []
        self.selected: Info | None = None
        self.marks: dict[str, int] = {}     # marked path -> colour slot (run_overlay)
        self.scanning = False
        self.failed: list[str] = []          # one line per folder the last scan could not read
        self.scans = 0                      # scans whose rows were shown
        self.scanned_in: int | None = None  # the thread the last scan ran in (tests)
        self._keep: str | None = None
        self._active = None                 # the app's active checkpoint last seen
        self._curves = None                 # the curve view the overlay was drawn with

    def compose_body(self) -> ComposeResult:
        with Vertical(id="insp-body"):
            yield RunTable(id="insp-runs")
            yield Static("scanning…", id="insp-status")
            with VerticalScroll(id="insp-detail"):
                yield RunOverlay(id="insp-overlay")
                yield RunDetail(id="insp-info")

    def on_mount(self) -> None:
        self.query_one(RunOverlay).display = False
        self.rescan(keep=self.app.state.active_checkpoint)
        self.set_interval(POLL, self.poll)
        self.query_one(RunTable).focus()

    def on_resize(self) -> None:
        self.query_one(RunDetail).set_class(self.size.width < STACK, "-stack")

    def on_screen_resume(self) -> None:
        self.poll()   # statuses may have changed while another screen was shown

    def on_state_changed(self, message) -> None:
        """Keep the ▶ active marker and the overlay's curves in step with the app's state."""
        if message.state.curves is not self._curves:
            self._curves = message.state.curves
            self._overlay()
        active = message.state.active_checkpoint
        if active not in {r.path for r in self.runs}:
            self.rescan()
        else:
            self._remark()

    def follow_active(self) -> None:
        """The active checkpoint was loaded again (its files changed): redraw its detail
        when it is the one shown (the folder scan catches up with its row)."""
        active = self.app.state.active
        if active is self._active:
            return
        self._active = active
        if self.selected is not None and self.selected.path == active.path:
            self._show_highlighted(force=True)

    # -- scanning (thread worker) -------------------------------------------------------------
    def rescan(self, keep: str | None = None, *, reread: bool = True) -> None:
        """List the folders again (all re-read, or with ``reread=False`` only the changed
        ones) in a thread; the cursor goes to ``keep`` (default: where it is)."""
        app = self.app
        where = (app.artifacts_dir, app.runs_dir, list(app.extra_dirs),
                 getattr(app, "sweeps_dir", "sweeps"))
        known = None if reread else list(self.runs)
        self._keep = keep or self._keep
        self.scanning = True
        self._status()
        self.run_worker(lambda: self._scan(where, known), thread=True, exclusive=True,
                        group="inspect-scan", exit_on_error=False)

    def _scan(self, where: tuple[str, str, list[str], str],
              known: list[RunRow] | None) -> None:
        self.scanned_in = threading.get_ident()
        rows, failed = [], []
        artifacts, runs, extra, sweeps = where
        try:
            paths = folders(artifacts, runs, extra, trial_folders(sweeps))
        except Exception as exc:  # noqa: BLE001 — any failure is one line, not a hang
            paths, failed = [], [f"{where[1]}: {_one_line(exc)}"]
        for path in paths:        # one unreadable folder does not hide the others
            try:
                rows += scan([path], known)
            except Exception as exc:  # noqa: BLE001
                failed.append(f"{path}: {_one_line(exc)}")
        note_trials(rows)
        self.failed = failed
        same = known is not None and len(rows) == len(known) and all(
            a is b for a, b in zip(rows, known, strict=True))
        if get_current_worker().is_cancelled:
            return
        with contextlib.suppress(RuntimeError):   # the app is closing
            self.app.call_from_thread(self._scanned, None if same else rows)

    def _scanned(self, rows: list[RunRow] | None) -> None:
        self.scanning = False
        if rows is not None:
            self.scans += 1
            self.runs = rows
            paths = {r.path for r in rows}
            self.marks = {p: s for p, s in self.marks.items() if p in paths}
            table = self.query_one(RunTable)
            table.set_runs(rows, self.app.state.active_checkpoint, self._mark_colours())
            if self._keep and table.select_path(self._keep):
                self._keep = None
            self._show_highlighted(force=True)
            self._overlay()
        self._status()

    def poll(self) -> None:
        """Re-read the folders whose files changed (nothing is redrawn when none did).
        Off screen, only a training run's status is checked (a lock probe: its log is
        not re-read while it trains), and the folders are read again when it changes."""
        if self.scanning:
            return
        if self.is_current or any(run_status(r.path) != r.status
                                  for r in self.runs if r.status == "running"):
            self.rescan(reread=False)

    # -- the highlighted run ------------------------------------------------------------------
    @on(DataTable.RowHighlighted, "#insp-runs")
    def _highlighted(self) -> None:
        self._show_highlighted()

    def _show_highlighted(self, force: bool = False) -> None:
        row = self.query_one(RunTable).highlighted()
        if row is None:
            self.selected = None
        elif force or self.selected is None or self.selected.path != row.path:
            self.selected = load_info(row.path)
        else:
            return
        self.query_one(RunDetail).show(self.selected, self._help_text())

    # -- actions ------------------------------------------------------------------------------
    def action_use(self) -> None:
        if self.selected is None:
            return
        if self.selected.summary is None:
            self.notify(f"{self.selected.path} has no usable checkpoint", severity="error",
                        markup=False)
            return
        self.app.set_checkpoint(self.selected.path)
        self.notify(f"active checkpoint: {self.selected.path}", markup=False)

    def action_mark(self) -> None:
        """Mark the highlighted run for the overlay, or unmark it."""
        row = self.query_one(RunTable).highlighted()
        if row is None:
            return
        if row.path in self.marks:
            del self.marks[row.path]
        else:   # the lowest free colour: the others keep theirs
            self.marks[row.path] = min(set(range(len(self.marks) + 1)) -
                                       set(self.marks.values()))
        self._remark()
        self._overlay()

    def action_clear_marks(self) -> None:
        self.marks.clear()
        self._remark()
        self._overlay()

    def action_sort(self) -> None:
        self.query_one(RunTable).cycle_sort()
        self._status()

    def action_reverse_sort(self) -> None:
        self.query_one(RunTable).flip_sort()
        self._status()

    def action_filter(self) -> None:
        table = self.query_one(RunTable)

        def chosen(text: str | None) -> None:
            if text is not None:
                table.set_filter(text)
                self._show_highlighted()
                self._overlay()
                self._status()

        self.app.push_screen(FilterPrompt(table.filter_text), chosen)

    def action_diff(self) -> None:
        """The settings that differ between the marked runs (:class:`ConfigDiff`)."""
        marked = [r for r in self.query_one(RunTable).shown if r.path in self.marks]
        if not marked:
            self.notify("mark two or more runs (m) to compare their settings",
                        severity="warning", markup=False)
            return
        configs, unread = {}, []
        for r in marked:
            try:
                configs[r.name] = run_config(r.path)
            except ChexminiError as exc:
                unread.append(f"{r.name}: {exc}")
        self.app.push_screen(ConfigDiff(list(configs), config_diff(configs), unread))

    def action_sweep(self) -> None:
        """The sweep of the highlighted trial (:class:`SweepView`)."""
        row = self.query_one(RunTable).highlighted()
        sweep = None if row is None else sweep_of(row.path)
        if sweep is None:
            self.notify("highlight a sweep's trial (a row named SWEEP/NNN) to see its sweep",
                        severity="warning", markup=False)
            return
        self.app.push_screen(SweepView(sweep.name, rows_from_folders(sweep)))

    def action_delete(self) -> None:
        row = self.query_one(RunTable).highlighted()
        if row is None:
            return
        why = self._why_not_delete(row)
        if why:
            self.notify(f"{row.path} is not deleted: {why}", severity="error", markup=False)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete_worker(row.path)

        what = f"{row.status}, {cells(row)['epochs']} epochs, val AUC {cells(row)['auc']}"
        self.app.push_screen(ConfirmDelete(row.path, what), answered)

    def _why_not_delete(self, row: RunRow) -> str:
        """Why ``row`` may not be deleted from here ("" when it may)."""
        if row.path == self.app.state.active_checkpoint:
            return "it is the active checkpoint (make another one active first)"
        if row.status == "running":
            return "a live process is training in it (stop it first)"
        return why_not_deletable(row.path, self.app.runs_dir)

    @work(thread=True, group="inspect-delete", exit_on_error=False)
    def _delete_worker(self, path: str) -> None:
        try:
            delete_run(path, self.app.runs_dir)
        except ChexminiError as exc:
            self.app.call_from_thread(self.notify, f"not deleted: {exc}", severity="error",
                                      markup=False)
            return
        self.marks.pop(path, None)
        self.app.call_from_thread(self.notify, f"deleted {path}", markup=False)
        self.app.call_from_thread(self.rescan)

    def action_filters(self) -> None:
        """The highlighted checkpoint's filter grid (:class:`FiltersScreen`)."""
        from chexmini_tui.screens.filters import FiltersScreen

        if self.selected is None or self.selected.summary is None:
            self.notify("no checkpoint highlighted: its filters need its model.npz",
                        severity="error", markup=False)
            return
        self.app.push_screen(FiltersScreen(self.selected.path))

    def action_attach(self) -> None:
        if self.selected is None:
            return
        p = Path(self.selected.path)
        if not (p / layout.EVENTS).is_file():
            self.notify(f"{p} has no events.jsonl to follow", severity="error", markup=False)
            return
        self.app.attach(str(p))

    def action_rescan(self) -> None:
        self.rescan()

    # -- drawing ------------------------------------------------------------------------------
    def _mark_colours(self) -> dict[str, str]:
        return {p: run_color(s)[1] for p, s in self.marks.items()}

    def _remark(self) -> None:
        self.query_one(RunTable).set_marks(self.app.state.active_checkpoint,
                                           self._mark_colours())
        self._status()

    def _overlay(self) -> None:
        """Redraw the overlay from the marked runs' rows (in the table's order)."""
        overlay = self.query_one(RunOverlay)
        marked = [r for r in self.query_one(RunTable).shown if r.path in self.marks]
        overlay.set_runs([OverlayRun(r.name, self.marks[r.path], r.history, r.error or "")
                          for r in marked], self.app.state.curves)
        overlay.display = bool(marked)

    def _status(self) -> None:
        text = self._status_line()
        if self.failed and not self.scanning:
            text += "".join(f"\n[red]✗ could not read {esc(line)}[/]" for line in self.failed)
        self.query_one("#insp-status", Static).update(text)

    def _status_line(self) -> str:
        table = self.query_one(RunTable)
        parts = [f"{len(self.runs)} folders", f"{table.sort_text()} (o/O)"]
        if table.filter_text:
            parts[0] = (f"{len(table.shown)} of {len(self.runs)} folders match "
                        f"“{esc(table.filter_text)}” (/)")
        if self.marks:
            parts.append(f"{len(self.marks)} marked")
        parts.append("▶ active ● marked")
        if self.scanning and not self.scans:
            parts = ["scanning the run folders…"]
        return " · ".join(parts)

    def _help_text(self) -> str:
        return (f"No checkpoint to show here. The app looks in {self.app.artifacts_dir}/ (the "
                f"shipped checkpoint) and {self.app.runs_dir}/*; train one on the Train screen "
                "(1), or start with --checkpoint DIR. Gradient checks on a fresh model (2) and "
                "everything else keep working.")


def _one_line(exc: BaseException) -> str:
    """An exception as one line: its message (or its type when it has none)."""
    return " ".join((getattr(exc, "strerror", None) or str(exc)).split()) or type(exc).__name__
