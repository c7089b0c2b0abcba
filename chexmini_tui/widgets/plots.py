"""``CurvePlot``: a textual-plotext plot that redraws from stored series.

Set the data with :meth:`CurvePlot.set_data`; the plot is rebuilt only when Textual
repaints the widget (so many updates between two frames cost one build).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual_plotext import PlotextPlot


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
                 *, int_x: bool = False, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.int_x = int_x  # whole-number x ticks (epochs)
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

    def render(self):
        plt = self.plt
        plt.clear_figure()
        has_data = any(len(s.x) for s in self.series)
        plt.title(self.title if has_data else f"{self.title} — {self.empty_text}")
        if self.xlabel:
            plt.xlabel(self.xlabel)
        if self.ylabel:
            plt.ylabel(self.ylabel)
        for s in self.series:
            if not len(s.x):
                continue
            x, y = list(map(float, s.x)), list(map(float, s.y))
            if s.scatter or len(x) == 1:
                plt.scatter(x, y, label=s.label or None, color=s.color, marker="dot"
                            if s.marker == "braille" else s.marker, yside=s.yside)
            else:
                plt.plot(x, y, label=s.label or None, color=s.color, marker=s.marker,
                         yside=s.yside)
        if self.int_x and has_data:
            xs = [float(v) for s in self.series for v in s.x]
            lo, hi = int(min(xs)), int(max(xs))
            n = max(2, min(6, hi - lo + 1, max(self.size.width // 10, 2)))
            ticks = sorted({int(round(lo + (hi - lo) * i / (n - 1))) for i in range(n)})
            plt.xticks(ticks, [str(t) for t in ticks])
        if self.xlim:
            plt.xlim(*self.xlim)
        if self.ylim:
            plt.ylim(*self.ylim)
        self.builds += 1
        return super().render()
