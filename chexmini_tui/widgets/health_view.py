"""``HealthView``: the training-health figures of a run — a table of the latest epoch's
per-layer figures with two trends over the epochs, the warnings in plain words, and the
trainer's system pane.

Columns: ``‖W‖`` weight norm; ``‖∇W‖`` the last step's loss gradient (weight decay not
included); ``ΔW/W`` that step's update ratio ‖ΔW‖/‖W‖ (healthy ≈ 1e-3); ``mean``/``std``
of the layer's output on the probe batch (the validation images, evaluation mode: after
the ReLU for hidden layers, the logit for the last); ``dead`` the share of units that
never fire on it (hidden) or, for the last layer, ``sat`` the share of saturated logits
(|z| ≥ 6). The trends are ΔW/W (log scale, its own range) and dead/sat (0 % ▁ to
100 % █) over all the epochs so far, oldest left (averaged in groups when there are
more epochs than columns).
Everything comes from the run's ``EpochEnd`` events (:mod:`core.training.health`), so a followed
run (attach) shows the same. A focusable scroll view: ↑/↓ scroll it when it is taller
than the screen.
"""

from __future__ import annotations

import math

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from chexmini_tui.state import RunDisplayState
from chexmini_tui.widgets.sparkline import sparkline
from chexmini_tui.widgets.system_pane import SystemPane
from core.training.health import warnings

#: (header, width) of the figure columns; each cell is right-aligned.
COLUMNS = (("layer", 5), ("‖W‖", 7), ("‖∇W‖", 7), ("ΔW/W", 8), ("mean", 6), ("std", 6),
           ("dead", 9))
FIXED_W = sum(w for _, w in COLUMNS)


def three_digits(v: float | None) -> str:
    """``v`` in at most 6 characters: 3 significant digits in [0.01, 1000) (``46.1``,
    ``0.484``, ``1.20``), else ``1.2e-05``-style; ``—`` when missing."""
    if v is None or not math.isfinite(v):
        return "—"
    if v == 0:
        return "0"
    if 0.01 <= abs(v) < 1000:
        return f"{v:.{max(0, 2 - math.floor(math.log10(abs(v))))}f}"
    return f"{v:.0e}"


def _num(v: float | None, fmt: str) -> str:
    return "—" if v is None or not math.isfinite(v) else format(v, fmt)


def _cells(fig: dict) -> list[str]:
    if "dead" in fig:
        share = _num(fig["dead"], ".0%")
    else:
        share = "sat " + _num(fig.get("saturated"), ".0%")
    return [three_digits(fig.get("w_norm")), three_digits(fig.get("grad_norm")),
            _num(fig.get("update_ratio"), ".1e"), _num(fig.get("act_mean"), ".2f"),
            _num(fig.get("act_std"), ".2f"), share]


def _row(cells: list[str]) -> str:
    """The first cell left-aligned, the others right-aligned, in :data:`COLUMNS` widths."""
    return "".join(f"{c:>{w}}" if i else f"{c:<{w}}"
                   for i, (c, (_, w)) in enumerate(zip(cells, COLUMNS, strict=True)))


def table_text(st: RunDisplayState, width: int) -> Text:
    """The figures table for ``st`` at ``width`` columns (trends fill what is left)."""
    out = Text()
    history = [h for h in st.hist_health if h]
    if not history:
        out.append("no health figures yet", style="bold")
        out.append(" — they arrive with each epoch (a log written before they were "
                   "recorded has none)", style="dim")
        return out
    epoch = st.hist_epoch[len(st.hist_health) - 1 - st.hist_health[::-1].index(history[-1])]
    out.append(f"health · epoch {epoch}", style="bold")
    out.append("  (last step; activations on the validation images)", style="dim")
    trend_w = max((width - FIXED_W - 4) // 2, 0)
    head = _row([h for h, _ in COLUMNS])
    if trend_w >= 6:
        span = f"{st.hist_epoch[0]}–{epoch}" if st.hist_epoch else ""
        for title in ("ΔW/W ", "dead "):
            head += f"  {(title + span)[:trend_w]:<{trend_w}}"
    out.append("\n" + head, style="bold dim")
    for name, fig in history[-1].items():
        cells = [name, *_cells(fig)]
        out.append("\n" + _row(cells))
        if trend_w >= 6:
            key = "dead" if "dead" in fig else "saturated"
            out.append("  " + sparkline([h.get(name, {}).get("update_ratio") for h in history],
                                        trend_w, log=True).ljust(trend_w), style="cyan")
            out.append("  " + sparkline([h.get(name, {}).get(key) for h in history],
                                        trend_w, lo=0.0, hi=1.0), style="magenta")
    return out


def warnings_text(st: RunDisplayState) -> Text:
    """The warnings of the latest epoch, or a line saying there are none."""
    found = warnings(st.hist_health)
    if not any(st.hist_health):
        return Text("")
    if not found:
        return Text("✓ no known training problem in the latest epoch", style="green")
    out = Text()
    for i, w in enumerate(found):
        out.append(("\n" if i else "") + "⚠ " + w, style="yellow")
    return out


class HealthView(VerticalScroll):
    DEFAULT_CSS = """
    HealthView { height: 1fr; padding: 0 1; scrollbar-size-vertical: 1; }
    HealthView:focus { background: $boost; }
    HealthView #hv-table { height: auto; }
    HealthView #hv-warnings { height: auto; margin: 1 0; }
    HealthView SystemPane { padding: 0; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._state: RunDisplayState | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="hv-table")
        yield Static("", id="hv-warnings")
        yield SystemPane(id="hv-system")

    def show(self, st: RunDisplayState) -> None:
        """Bring the view up to date with ``st`` (cheap: a few lines of text)."""
        self._state = st
        width = self.scrollable_content_region.width or 78
        self.query_one("#hv-table", Static).update(table_text(st, width))
        self.query_one("#hv-warnings", Static).update(warnings_text(st))
        self.query_one("#hv-system", SystemPane).show(st)

    def on_resize(self) -> None:
        if self._state is not None:
            self.show(self._state)
