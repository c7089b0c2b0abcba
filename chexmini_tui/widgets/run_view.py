"""``RunView``: the live side of the Train screen — status line, epoch and step bars,
loss/AUC plots, epoch table and log (or, when the screen shows it, the health view) —
drawing one :class:`RunDisplayState`.

Events are folded into the state as they arrive (:meth:`RunView.apply`); drawing is
separate and cheap to skip: :meth:`draw` brings the status, bars and log up to date,
:meth:`draw_plots` the plots and the table, only when a new epoch arrived. The owner
decides when to draw (at most a few times a second, and not while hidden).
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Container, Vertical

from chexmini_tui.state import RunDisplayState
from chexmini_tui.widgets.epoch_table import EpochTable
from chexmini_tui.widgets.filter_grid import FilterGrid, GridData
from chexmini_tui.widgets.health_view import HealthView
from chexmini_tui.widgets.run_log import RunLog
from chexmini_tui.widgets.run_progress import RunProgress
from chexmini_tui.widgets.status_line import RunStatusLine
from chexmini_tui.widgets.train_plots import TrainPlots
from core.events import Event


class RunView(Vertical):
    DEFAULT_CSS = """
    RunView { width: 1fr; padding: 0 1; }
    RunView #train-bottom { height: 9; layout: horizontal; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = RunDisplayState()
        self.dirty = False          # events folded in since the last draw()
        self.plots_dirty = False    # epochs (or a new run) since the last draw_plots()

    def compose(self) -> ComposeResult:
        yield RunStatusLine("", id="run-status")
        yield RunProgress(id="run-progress")
        yield TrainPlots(id="train-plots")
        with Container(id="train-bottom"):
            yield EpochTable(id="epoch-table")
            yield RunLog(id="train-log")
        yield HealthView(id="health-view")   # shown instead of the two above by the screen
        yield FilterGrid(id="filter-grid")   # likewise

    def apply(self, events: Sequence[Event]) -> None:
        """Fold ``events`` into the state (drawn by the next :meth:`draw`)."""
        self.state.apply_all(events)
        if any(ev.kind != "step" for ev in events):
            self.plots_dirty = True
        self.dirty = True

    def reset(self, state: RunDisplayState | None = None) -> None:
        """Show ``state`` (a new, empty one by default): clears the log; bars at once,
        the rest at the next draw."""
        self.state = state if state is not None else RunDisplayState()
        self.query_one(RunLog).reset()
        self.plots_dirty = self.dirty = True

    def note(self, line: str) -> None:
        """Add a line of the app's own (an error, an abort) to the run's log (not named
        ``log``: that is Textual's own logger, which Textual itself calls)."""
        self.query_one(RunLog).write(line)

    def draw(self, phase: str) -> None:
        """New log lines and the bars (read-outs for ``phase``, see :class:`RunProgress`)."""
        self.dirty = False
        self.query_one(RunLog).sync(self.state)
        self.draw_bars(phase)

    def draw_bars(self, phase: str) -> None:
        self.query_one(RunProgress).show(self.state, phase)

    def draw_status(self, status: str, detail: str, *, attached: bool, squeezed: bool) -> None:
        """The status line (see :meth:`RunStatusLine.show`)."""
        self.query_one(RunStatusLine).show(self.state, status, detail, attached=attached,
                                           squeezed=squeezed)

    def draw_plots(self) -> None:
        """The plots and the epoch table, if an epoch arrived since they were drawn."""
        if not self.plots_dirty:
            return
        self.plots_dirty = False
        self.query_one(EpochTable).show(self.state)
        self.query_one(TrainPlots).show(self.state)
        health = self.query_one(HealthView)
        if health.display:
            health.show(self.state)
        grid = self.query_one(FilterGrid)
        if grid.display:
            grid.show(live_grid(self.state), NO_LIVE_TEMPLATES)


#: What the filter grid says when the run on screen brought no templates.
NO_LIVE_TEMPLATES = ("fc1's templates are drawn after each epoch of a run trained in this "
                     "app (they are not in events.jsonl); a finished run's: Inspect, f")


def live_grid(state: RunDisplayState) -> GridData | None:
    """The grid of the latest :class:`~core.events.Templates` event, if any."""
    ev = state.templates
    if ev is None:
        return None
    dead = f"{ev.n_dead} dead" if state.hist_health and state.hist_health[-1] else "dead: n/a"
    return GridData(ev.tiles(), ev.units, ev.dead,
                    f"fc1 templates · epoch {ev.epoch} · first {len(ev.units)} of "
                    f"{ev.n_units} by ‖w‖, dead last · {dead}")
