"""``FilterGrid``: fc1's hidden units as a grid of small images (their templates over the
standardised input, :mod:`core.evaluation.templates`), in the engine's order — units that
fire on the validation images first, each group by ‖w‖ largest first, dead units last.

Each template is drawn with Unicode half-blocks (one cell = two pixels, top in the
foreground colour, bottom in the background), in a diverging colour map scaled per
template to its own ``max |w|``: orange where the weight is positive (a bright pixel of
the standardised image raises the unit), blue where negative, black at 0. Under each tile
its unit number; a dead unit's is crossed (``×``). Tiles are 16 pixels when at least
:data:`MIN_BIG` of them fit, else 8 (the 16-pixel ones mean-pooled), so 80×24 shows a
few dozen. Cheap: one Rich ``Text`` of ``N · side²/2`` cells per draw, redrawn only when
an epoch (or a new checkpoint) brings new templates.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from core.evaluation.templates import diverging_rgb, pool

#: Use 16-pixel tiles when at least this many fit; else 8-pixel tiles.
MIN_BIG = 8


@dataclass
class GridData:
    """What the grid shows: ``tiles (N, s, s)`` (any float), ``units (N,)`` fc1 unit
    numbers, ``dead (N,)`` bool, and the caption's text."""

    tiles: np.ndarray
    units: list[int]
    dead: list[bool]
    caption: str
    notes: list[str] = field(default_factory=list)


@functools.lru_cache(maxsize=8192)
def _colour(r: int, g: int, b: int) -> Color:
    """One RGB colour (cached: a grid repeats the colour map's few hundred colours)."""
    return Color.from_rgb(r, g, b)


def halfblocks(rgb: np.ndarray) -> list[Text]:
    """RGB ``(h, w, 3)`` → ``⌈h/2⌉`` lines of ``w`` half-block cells (``▀``: the top
    pixel in the foreground, the bottom one in the background)."""
    if len(rgb) % 2:
        rgb = np.concatenate([rgb, np.zeros_like(rgb[:1])])
    lines = []
    for r in range(0, len(rgb), 2):
        line = Text()
        for top, bottom in zip(rgb[r].tolist(), rgb[r + 1].tolist(), strict=True):
            line.append("▀", Style.from_color(_colour(*top), _colour(*bottom)))
        lines.append(line)
    return lines


def tile_size(n: int, side: int, width: int, height: int) -> int:
    """The tile side to draw at: ``side`` if ``MIN_BIG`` tiles (or all ``n``) fit in
    ``width × height`` cells, else ``side // 2`` (at least 4)."""
    if side <= 8 or fits(side, width, height) >= min(n, MIN_BIG):
        return side
    return max(side // 2, 4)


def fits(side: int, width: int, height: int) -> int:
    """How many ``side``-pixel tiles (+ a label line, 1-column gaps) fit."""
    cols = max((width + 1) // (side + 1), 1)
    rows = max(height // ((side + 1) // 2 + 1), 1)
    return cols * rows


class FilterGrid(Static):
    DEFAULT_CSS = """
    FilterGrid { height: 1fr; width: 1fr; padding: 0 0; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.data: GridData | None = None
        self.selected: int | None = None
        self.message = "no templates yet: they are drawn after each epoch"

    def show(self, data: GridData | None, message: str = "") -> None:
        """Draw ``data`` (``None``: ``message`` instead)."""
        self.data = data
        if message:
            self.message = message
        if data is not None and self.selected is not None:
            self.selected = min(self.selected, len(data.units) - 1)
        self.refresh()

    def select(self, index: int | None) -> None:
        self.selected = index
        self.refresh()

    def page_shape(self) -> tuple[int, int]:
        """``(tiles per page, tiles per row)`` at the current size."""
        if self.data is None:
            return 1, 1
        w, h = self.content_size.width, self.content_size.height - 1 - len(self.data.notes)
        side = tile_size(len(self.data.units), self.data.tiles.shape[-1], w, h)
        return max(fits(side, w, h), 1), max((w + 1) // (side + 1), 1)

    def render(self) -> Text:
        if self.data is None:
            return Text(self.message, style="dim")
        return grid_text(self.data, self.content_size.width, self.content_size.height,
                         self.selected)


def grid_text(data: GridData, width: int, height: int, selected: int | None = None) -> Text:
    """The caption, the notes and as many tiles as fit in ``width × height`` cells: the
    page that holds ``selected`` (the first page without a selection)."""
    out = Text(cut(data.caption, width), style="bold")
    for note in data.notes:
        out.append("\n" + cut(note, width), style="dim")
    h = height - 1 - len(data.notes)
    side0 = data.tiles.shape[-1]
    side = tile_size(len(data.units), side0, width, h)
    cols = max((width + 1) // (side + 1), 1)
    per_page = max(fits(side, width, h), 1)
    first = (selected or 0) // per_page * per_page
    last = min(len(data.units), first + per_page)
    tiles = np.asarray(data.tiles[first:last])
    tiles = pool(tiles, side0 // side) if side != side0 else tiles
    for start in range(first, last, cols):
        row = range(start, min(start + cols, last))
        blocks = [halfblocks(diverging_rgb(tiles[i - first])) for i in row]
        for r in range(len(blocks[0])):
            out.append("\n")
            out.append(Text(" ").join(b[r] for b in blocks))
        out.append("\n")
        out.append(Text(" ").join(_label(data, i, side, i == selected) for i in row))
    return out


def _label(data: GridData, i: int, width: int, selected: bool) -> Text:
    mark = "×" if data.dead[i] else "#"
    text = f"{mark}{data.units[i]}"[:width].ljust(width)
    style = "reverse bold" if selected else ("red" if data.dead[i] else "dim")
    return Text(text, style=style)


def cut(line: str, width: int) -> str:
    """``line`` in at most ``width`` cells (one line each: the layout counts on it)."""
    return line if len(line) <= width else line[:max(width - 1, 0)] + "…"
