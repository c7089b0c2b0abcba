"""``RunOverlay``: the validation-AUC and validation-loss curves of any number of marked
runs on one pair of charts, one colour per run, with one legend line naming them.

Colours: the first eight are named (distinct on dark and light themes); past eight,
each run gets its own hue (golden-angle steps), so no two marked runs share one. A run
keeps its colour while it stays marked (:func:`run_color` is indexed by the mark's slot,
not its position). The charts are :class:`~chexmini_tui.widgets.curves.CurveChart`
(whole-number epoch ticks, :func:`~chexmini_tui.widgets.plots.integer_ticks`).
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from chexmini_tui.curve_view import AS_RECORDED, CurveView
from chexmini_tui.widgets.curves import Curve, CurveChart

#: (plotext colour, Rich colour) of the first runs
PALETTE = (("cyan", "cyan"), ("orange", "dark_orange"), ("green", "green"),
           ("magenta", "magenta"), ("red", "red"), ("blue", "blue"),
           ("yellow", "yellow"), ("gray", "grey50"))


def run_color(slot: int) -> tuple[str | tuple[int, int, int], str]:
    """The ``(plotext, Rich)`` colour of mark slot ``slot`` (0, 1, …)."""
    if slot < len(PALETTE):
        return PALETTE[slot]
    hue = ((slot - len(PALETTE)) * 0.618033988749895 + 0.1) % 1.0
    r, g, b = (int(round(255 * c)) for c in colorsys.hsv_to_rgb(hue, 0.75, 0.95))
    return (r, g, b), f"rgb({r},{g},{b})"


@dataclass
class OverlayRun:
    """One marked run as given to :meth:`RunOverlay.set_runs`."""

    name: str
    slot: int                               # its colour (see :func:`run_color`)
    history: dict[str, list[float]] | None  # None: nothing to plot (``problem`` says why)
    problem: str = ""


class RunOverlay(Vertical):
    DEFAULT_CSS = """
    RunOverlay { height: auto; }
    RunOverlay > .overlay-legend { height: auto; }
    RunOverlay > Horizontal { height: 14; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.runs: list[OverlayRun] = []

    def compose(self) -> ComposeResult:
        yield Static("", classes="overlay-legend")
        with Horizontal():
            yield CurveChart("val AUC", "epoch", "AUC", int_x=True, id="overlay-auc")
            yield CurveChart("val loss", "epoch", "loss", int_x=True, id="overlay-loss")

    def set_runs(self, runs: list[OverlayRun], view: CurveView = AS_RECORDED) -> None:
        """Plot each run's ``val_auc`` and ``val_loss`` against epochs 1…n, as ``view``
        says (smoothing, log loss, the last epochs)."""
        self.runs = list(runs)
        auc, loss = [], []
        for run in self.runs:
            h = run.history
            if not h or not h.get("val_auc"):
                continue
            colour = run_color(run.slot)[0]
            epochs = list(range(1, len(h["val_auc"]) + 1))
            x, (a,) = view.curves(epochs, [h["val_auc"]])
            xl, (v,) = view.curves(epochs[:len(h["val_loss"])], [h["val_loss"]], loss=True)
            auc.append(Curve(x, a, "", colour))
            loss.append(Curve(xl, v, "", colour))
        self.query_one("#overlay-auc", CurveChart).title = view.title("val AUC")
        self.query_one("#overlay-loss", CurveChart).title = view.title("val loss", loss=True)
        self.query_one("#overlay-auc", CurveChart).set_curves(auc)
        self.query_one("#overlay-loss", CurveChart).set_curves(loss)
        self.query_one(".overlay-legend", Static).update(self.legend())

    def legend(self) -> Text:
        """``3 marked (c clears):  ━ run-a  ━ run-b  · run-c (no history: …)``."""
        text = Text(f"{len(self.runs)} marked (c clears): ", style="bold")
        for run in self.runs:
            plotted = bool(run.history and run.history.get("val_auc"))
            text.append("  ")
            text.append("━ " if plotted else "· ", style=run_color(run.slot)[1])
            text.append(run.name)
            if not plotted:
                why = run.problem or "no epochs yet"
                text.append(f" (not plotted: {why})", style="dim")
        return text
