"""``CurvePlot``: a textual-plotext plot that redraws from stored series.

Set the data with :meth:`CurvePlot.set_data`; the plot is rebuilt only when Textual
repaints the widget (so many updates between two frames cost one build).

The legend is drawn by the widget, on the title line (``loss  ━ train  ━ val``), never
inside the canvas: plotext's own legend covers the data on small plots and, with two
y axes, prefixes each entry with side markers (``L``/``⅃``) that read as glyph noise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual_plotext import PlotextPlot

#: plotext colour names that Rich spells differently.
_RICH_COLOR = {"orange": "dark_orange", "gray": "grey50", "grey": "grey50"}


def _rich_color(name: str) -> str:
    name = _RICH_COLOR.get(name, name)
    try:
        Style.parse(name)
    except Exception:  # noqa: BLE001 - an unknown colour only loses its colour
        return ""
    return name


def integer_ticks(xs: list[float], width: int) -> list[int]:
    """2–6 whole-number x ticks spanning ``xs`` (about one per 10 columns of ``width``)."""
    lo, hi = int(min(xs)), int(max(xs))
    n = max(2, min(6, hi - lo + 1, max(width // 10, 2)))
    return sorted({int(round(lo + (hi - lo) * i / (n - 1))) for i in range(n)})


@dataclass
class Series:
    x: Sequence[float]
    y: Sequence[float]
    label: str = ""
    color: str = "cyan"
    yside: str = "left"
    scatter: bool = False
    marker: str = "braille"


class CurvePlot(PlotextPlot):
    DEFAULT_CSS = """
    CurvePlot { height: 1fr; width: 1fr; min-height: 6; }
    """

    def __init__(self, title: str = "", xlabel: str = "", ylabel: str = "",
                 *, int_x: bool = False, log_x: bool = False, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.int_x = int_x  # whole-number x ticks (epochs)
        #: x on a log scale: drawn at log10(x), ticked at the powers of ten (``1e-04``)
        self.log_x = log_x
        self.title = title
        self.xlabel = xlabel
        self.ylabel = ylabel
        self.series: list[Series] = []
        self.xlim: tuple[float, float] | None = None
        self.ylim: tuple[float, float] | None = None
        self.empty_text = "no data yet"
        self.builds = 0  # how many times the plot was built (throttling is tested on it)

    def set_data(self, series: list[Series], *, title: str | None = None,
                 xlim: tuple[float, float] | None = None,
                 ylim: tuple[float, float] | None = None) -> None:
        self.series = series
        if title is not None:
            self.title = title
        self.xlim, self.ylim = xlim, ylim
        self.refresh()

    def legend(self) -> Text:
        """The title line: the title, then one ``━ label`` per labelled series with data
        (``• label`` for points)."""
        has_data = any(len(s.x) for s in self.series)
        line = Text(self.title if has_data else f"{self.title} — {self.empty_text}",
                    style="bold")
        for s in self.series:
            if s.label and len(s.x):
                line.append("  ")
                line.append("•" if s.scatter or len(s.x) == 1 else "━",
                            style=_rich_color(s.color))
                line.append(f" {s.label}")
        if self.size.width:
            line.truncate(self.size.width, overflow="ellipsis")
        return line

    def _decade_ticks(self, plt) -> None:
        """x ticks at the powers of ten the data span (every other one when crowded)."""
        xs = [math.log10(float(v)) for s in self.series for v in s.x if float(v) > 0]
        if not xs:
            return
        ticks = list(range(math.floor(min(xs)), math.ceil(max(xs)) + 1))
        step = max(1, -(-len(ticks) * 7 // max(self.size.width - 8, 7)))
        ticks = ticks[::step]
        plt.xticks(ticks, [f"1e{t:+03d}" for t in ticks])

    def render(self):
        plt = self.plt
        plt.clear_figure()
        has_data = any(len(s.x) for s in self.series)
        if self.xlabel:
            plt.xlabel(self.xlabel)
        if self.ylabel:
            plt.ylabel(self.ylabel)
        for s in self.series:
            if not len(s.x):
                continue
            x, y = list(map(float, s.x)), list(map(float, s.y))
            if self.log_x:
                x = [math.log10(v) if v > 0 else math.nan for v in x]
            if s.scatter or len(x) == 1:
                plt.scatter(x, y, color=s.color, marker="dot"
                            if s.marker == "braille" else s.marker, yside=s.yside)
            else:
                plt.plot(x, y, color=s.color, marker=s.marker, yside=s.yside)
        if self.int_x and has_data:
            ticks = integer_ticks([float(v) for s in self.series for v in s.x], self.size.width)
            plt.xticks(ticks, [str(t) for t in ticks])
        if self.log_x and has_data:
            self._decade_ticks(plt)
        if self.xlim:
            plt.xlim(*self.xlim)
        if self.ylim:
            plt.ylim(*self.ylim)
        self.builds += 1
        width, height = max(self.size.width, 1), max(self.size.height - 1, 1)
        plt.plotsize(width, height)
        plt._set_size(width, height)  # as PlotextPlot.render does (textual-plotext#5)
        plt.theme(self._get_plotext_theme_name(self.app.theme))
        head = self.legend()
        head.align("center", width)
        return Text("\n").join([head, Text.from_ansi(plt.build())])
