"""Filters (``f`` on Inspect): what the first layer of one checkpoint learned — every fc1
unit's template in the grid's order (not dead first, then ‖w‖ largest first; dead last,
marked ``×``), a page at a time. The arrow keys select a unit; ``Enter`` shows it large
beside its saliency on the mean abnormal and normal validation image; ``Esc`` goes back.

fc1 and the checkpoint's validation images are read in a thread worker
(:func:`core.inference.filters.first_layer`), so the UI never waits for the data.
"""

from __future__ import annotations

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding

from chexmini_tui.messages import FirstLayerLoaded
from chexmini_tui.screens.base import BaseScreen
from chexmini_tui.widgets.filter_grid import FilterGrid, GridData
from chexmini_tui.widgets.unit_detail import UnitDetail
from core.evaluation.templates import pool
from core.foundation.errors import ChexminiError
from core.inference.filters import FirstLayer, first_layer

#: The grid's tiles are the templates mean-pooled to this side (64 → 16).
GRID_SIDE = 16


class FiltersScreen(BaseScreen):
    MODE = "inspect"
    DEFAULT_CSS = """
    FiltersScreen #filters-detail { display: none; }
    FiltersScreen.-detail #filters-detail { display: block; }
    FiltersScreen.-detail #filters-grid { display: none; }
    """
    BINDINGS = [
        Binding("right", "move(1)", "next", tooltip="next unit (→), previous (←)"),
        Binding("left", "move(-1)", "prev", show=False),
        Binding("down", "move_row(1)", "row ↓", show=False),
        Binding("up", "move_row(-1)", "row ↑", show=False),
        Binding("pagedown", "page(1)", "page", tooltip="next page (PgDn), previous (PgUp)"),
        Binding("pageup", "page(-1)", "page ↑", show=False),
        Binding("enter", "toggle_detail", "unit large", priority=True,
                tooltip="the selected unit large, beside its saliency on the mean images"),
        Binding("escape", "back", "back", tooltip="back to Inspect"),
    ]

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = str(path)
        self.fc1: FirstLayer | None = None
        self.rank = 0

    def compose_body(self) -> ComposeResult:
        yield FilterGrid(id="filters-grid")
        yield UnitDetail(id="filters-detail")

    @property
    def grid(self) -> FilterGrid:
        return self.query_one(FilterGrid)

    def on_mount(self) -> None:
        self.grid.show(None, f"reading fc1 of {self.path} and its validation images…")
        self._load(self.path)

    @work(thread=True, exclusive=True, group="filters", exit_on_error=False)
    def _load(self, path: str) -> None:
        try:
            layer = first_layer(path)
        except ChexminiError as exc:
            self.post_message(FirstLayerLoaded(path, error=str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - never a traceback in the UI
            self.post_message(FirstLayerLoaded(path, error=f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(FirstLayerLoaded(path, layer))

    def on_first_layer_loaded(self, message: FirstLayerLoaded) -> None:
        if message.error is not None:
            self.grid.show(None, f"cannot show the filters: {message.error}")
            return
        self.fc1 = fc1 = message.layer
        n_dead = int(fc1.dead_in_order().sum())
        rule = "‖w‖, dead last (×)" if fc1.dead is not None else "‖w‖"
        notes = [fc1.no_images] if fc1.no_images else []
        tiles = pool(fc1.ordered_templates().astype(np.float32), fc1.side // GRID_SIDE)
        self.grid.show(GridData(tiles, [int(u) for u in fc1.order],
                                fc1.dead_in_order().tolist(),
                                f"fc1 templates · {len(fc1.order)} units by {rule} · "
                                f"{n_dead} dead · ←→↑↓ select, Enter: large", notes))
        self.grid.select(self.rank)

    # -- keys ----------------------------------------------------------------------------------
    def _select(self, rank: int) -> None:
        if self.fc1 is None:
            return
        self.rank = min(max(rank, 0), len(self.fc1.order) - 1)
        self.grid.select(self.rank)
        if self.has_class("-detail"):
            self.query_one(UnitDetail).show(self.fc1, self.rank)

    def action_move(self, delta: int) -> None:
        self._select(self.rank + delta)

    def action_move_row(self, delta: int) -> None:
        self._select(self.rank + delta * self.grid.page_shape()[1])

    def action_page(self, delta: int) -> None:
        self._select(self.rank + delta * self.grid.page_shape()[0])

    def action_toggle_detail(self) -> None:
        if self.fc1 is None:
            return
        self.toggle_class("-detail")
        if self.has_class("-detail"):
            self.query_one(UnitDetail).show(self.fc1, self.rank)

    def action_back(self) -> None:
        if self.has_class("-detail"):
            self.remove_class("-detail")
        else:
            self.app.pop_screen()
