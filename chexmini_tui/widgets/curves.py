"""``CurveChart``: a titled x–y chart whose axis labels and legend are drawn by Textual,
outside the plot area, so they are right at every width.

plotext places axis labels itself and, below about 200 columns, drops the x label and
moves the y label under the x axis; its legend is drawn over the data. Here the plot
(:class:`CurveCanvas`) draws only curves and ticks, and the chart around it shows::

    ROC   ━ val AUC 0.801   ━ test AUC 0.669   • threshold      <- title and legend
    ↑ true positive rate                                        <- y label (top left)
    1.00┤ ...plot...
    0.00┤
        └┬──────┬──────┬
       0.00   0.50   1.00
                              false positive rate →            <- x label (bottom right)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static
from textual_plotext import PlotextPlot

from chexmini_tui.widgets.plots import integer_ticks

#: plotext colour -> the Rich colour of the same hue (for the legend line)
RICH_COLOR = {"orange": "dark_orange", "cyan": "cyan", "red": "red", "blue": "blue",
              "green": "green", "magenta": "magenta"}


@dataclass
class Curve:
    x: Sequence[float]
    y: Sequence[float]
    label: str = ""          # shown in the legend line; "" = not listed
    color: str = "cyan"
    points: bool = False     # draw as separate dots (an operating point)


class CurveCanvas(PlotextPlot):
    """The plot area: curves and ticks only (no title, labels or legend)."""

    DEFAULT_CSS = """
    CurveCanvas { width: 1fr; height: 1fr; }
    """

    def __init__(self, *, int_x: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.int_x = int_x  # whole-number x ticks (epochs)
        self.curves: list[Curve] = []
        self.xlim: tuple[float, float] | None = None
        self.ylim: tuple[float, float] | None = None

    def render(self):
        plt = self.plt
        plt.clear_figure()
        for c in self.curves:
            if not len(c.x):
                continue
            x, y = list(map(float, c.x)), list(map(float, c.y))
            if c.points or len(x) == 1:
                plt.scatter(x, y, color=c.color, marker="dot")
            else:
                plt.plot(x, y, color=c.color, marker="braille")
        xs = [float(v) for c in self.curves for v in c.x]
        if self.int_x and xs:
            ticks = integer_ticks(xs, self.size.width)
            plt.xticks(ticks, [str(t) for t in ticks])
        if self.xlim:
            plt.xlim(*self.xlim)
        if self.ylim:
            plt.ylim(*self.ylim)
        return super().render()


class CurveChart(Vertical):
    """Title + legend line, y label, the plot, x label. ``set_curves`` redraws."""

    DEFAULT_CSS = """
    CurveChart { height: 16; width: 1fr; min-width: 30; }
    CurveChart > .chart-head { height: auto; }
    CurveChart > .chart-ylabel { height: 1; color: $text-muted; }
    CurveChart > .chart-xlabel { height: 1; width: 1fr; text-align: right;
                                 color: $text-muted; padding-right: 1; }
    """

    def __init__(self, title: str, xlabel: str, ylabel: str, *, int_x: bool = False,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.int_x = int_x
        self.title = title
        self.xlabel = xlabel
        self.ylabel = ylabel
        self.curves: list[Curve] = []
        self.note = ""
        self.builds = 0

    def compose(self) -> ComposeResult:
        yield Static(self._head(), classes="chart-head")
        yield Static(f"↑ {self.ylabel}", classes="chart-ylabel")
        yield CurveCanvas(int_x=self.int_x)
        yield Static(f"{self.xlabel} →", classes="chart-xlabel")

    def set_curves(self, curves: list[Curve], *, note: str = "",
                   xlim: tuple[float, float] | None = None,
                   ylim: tuple[float, float] | None = None) -> None:
        """Draw ``curves``; ``note`` says what the dots (``points`` curves) are."""
        self.curves, self.note = curves, note
        canvas = self.query_one(CurveCanvas)
        canvas.curves, canvas.xlim, canvas.ylim = curves, xlim, ylim
        canvas.refresh()
        self.builds += 1
        self.query_one(".chart-head", Static).update(self._head())

    def on_resize(self) -> None:
        self.query_one(".chart-head", Static).update(self._head())

    def _head(self) -> Text:
        """Title and legend entries, wrapped between entries only (never inside one)."""
        parts = [Text(self.title, style="bold")]
        if not any(len(c.x) for c in self.curves):
            parts[0].append(" — no data", style="dim")
            return parts[0]
        for c in self.curves:
            if c.label and len(c.x):
                parts.append(Text.assemble(("• " if c.points else "━ ",
                                            RICH_COLOR.get(c.color, c.color)), c.label))
        dots = [c for c in self.curves if c.points and len(c.x)]
        if self.note and dots:
            parts.append(Text.assemble(("• ", RICH_COLOR.get(dots[0].color, dots[0].color)),
                                       self.note))
        width = self.size.width or 10_000
        text, used = Text(), 0
        for part in parts:
            if used and used + 3 + part.cell_len > width:
                text.append("\n")
                used = 0
            elif used:
                text.append("   ")
                used += 3
            text.append_text(part)
            used += part.cell_len
        return text

    def legend_text(self) -> str:
        """The title/legend line as plain text (what tests read)."""
        return self._head().plain
