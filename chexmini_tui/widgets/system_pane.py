"""``SystemPane``: the trainer process's CPU use, resident memory and samples/s, the latest
epoch's figure and a sparkline over the epochs.

The figures come from the run's ``EpochEnd`` events (``system``, recorded by the trainer:
:mod:`core.training.system_stats`), so a run followed from another process (attach) shows the
trainer's figures, not the viewer's.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from chexmini_tui.state import RunDisplayState
from chexmini_tui.widgets.sparkline import sparkline

#: (key in EpochEnd.system, label, how the latest value is written)
ROWS = (
    ("cpu_percent", "CPU", lambda v: f"{v:5.0f} %"),
    ("rss_mb", "memory", lambda v: f"{v:5.0f} MB"),
    ("samples_per_s", "samples/s", lambda v: f"{v:8,.0f}"),
)
#: Columns taken by the label and the value (the sparkline gets the rest).
LABEL_W, VALUE_W = 10, 9


def system_lines(st: RunDisplayState, width: int) -> Text:
    """The pane's text for ``st`` at ``width`` columns."""
    out = Text()
    out.append("trainer process", style="bold")
    out.append("  per epoch, from the run's events", style="dim")
    history = st.hist_system
    if not any(history):
        out.append("\nno system figures yet (or the run's log predates them)", style="dim")
        return out
    latest = next(h for h in reversed(history) if h)
    spark_w = max(width - LABEL_W - VALUE_W - 14, 0)
    for key, label, fmt in ROWS:
        value = latest.get(key)
        shown = "—" if value is None else fmt(value)
        out.append(f"\n{label:<{LABEL_W}}{shown:>{VALUE_W}}  ")
        out.append(sparkline([h.get(key) for h in history], spark_w), style="cyan")
        if key == "rss_mb" and latest.get("peak_rss_mb") is not None:
            out.append(f" peak {latest['peak_rss_mb']:.0f}", style="dim")
    return out


class SystemPane(Static):
    DEFAULT_CSS = """
    SystemPane { height: auto; padding: 0 1; border-top: hkey $primary 40%; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes)
        self._state: RunDisplayState | None = None

    def show(self, st: RunDisplayState) -> None:
        self._state = st
        self.update(system_lines(st, self.content_size.width or 78))

    def on_resize(self) -> None:
        if self._state is not None:
            self.show(self._state)
