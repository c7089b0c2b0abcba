"""``RunTable``: every run folder in one table — status, epochs, best validation AUC,
test AUC, data and key hyperparameters — sortable, with the marks of the Inspect screen.

The first column holds two markers: ``▶`` the active checkpoint and ``●`` (in the run's
overlay colour) a marked run. The rows and their text come from the engine
(:mod:`core.runs.listing`, the same as ``chexmini runs``). :meth:`RunTable.cycle_sort` moves
the sort to the next sortable column (numbers high first, text A→Z),
:meth:`RunTable.flip_sort` reverses it; clicking a heading sorts by it. The cursor stays
on the same run through every re-sort and refresh.
"""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from core.runs.listing import COLUMNS, SORT_KEYS, RunRow, cells, matches, sort_rows

#: sort key -> its name in the status line
SORT_NAMES = {"found": "as found", "started": "start time", "name": "name", "status": "status",
              "epochs": "epochs", "auc": "val AUC", "test_auc": "test AUC", "data": "data"}
STATUS_STYLE = {"running": "bold yellow", "interrupted": "magenta", "finished": "green",
                "incomplete": "red", "empty": "dim", "missing": "dim"}
NUMERIC = ("epochs", "auc", "test_auc", "lr", "batch", "dropout", "wd")
#: longest run name / data text shown in a cell (the detail below shows them whole)
CELL_MAX = {"name": 24, "data": 22}


def _cut(text: str, limit: int | None) -> str:
    return text if limit is None or len(text) <= limit else text[:limit - 1] + "…"


class RunTable(DataTable):
    DEFAULT_CSS = """
    RunTable { height: auto; max-height: 45%; }
    """
    #: ← → move half a screen of columns (not one column) across the wide table
    BINDINGS = [
        Binding("right", "columns(1)", "more columns", show=False),
        Binding("left", "columns(-1)", "earlier columns", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.runs: list[RunRow] = []        # as given (the "found" order)
        self.shown: list[RunRow] = []       # as drawn
        self.sort_key = "started"
        self.reverse = False
        self.active = ""
        self.marks: dict[str, str] = {}     # marked path -> its Rich colour
        self.filter_text = ""                # only the rows matching it are shown (``/``)

    # -- data ----------------------------------------------------------------------------
    def set_runs(self, runs: list[RunRow], active: str, marks: dict[str, str]) -> None:
        """Show ``runs`` (sorted as chosen); the cursor stays on the same run."""
        self.runs, self.active, self.marks = list(runs), active, dict(marks)
        self._rebuild()

    def set_marks(self, active: str, marks: dict[str, str]) -> None:
        """Redraw the marker column only (no rebuild: the cursor and scroll stay)."""
        self.active, self.marks = active, dict(marks)
        for row in self.shown:
            self.update_cell(row.path, "mark", self._markers(row.path))

    def highlighted(self) -> RunRow | None:
        """The run under the cursor."""
        if not self.shown or self.cursor_row < 0 or self.cursor_row >= len(self.shown):
            return None
        return self.shown[self.cursor_row]

    def select_path(self, path: str) -> bool:
        """Put the cursor on ``path``'s row; False when it is not listed."""
        paths = [r.path for r in self.shown]
        if path not in paths:
            return False
        self.move_cursor(row=paths.index(path))
        return True

    def rows_text(self) -> list[str]:
        """Each row: its markers as drawn, its path and status (what tests read)."""
        return [f"{self._markers(r.path).plain}{r.path} ({r.status})" for r in self.shown]

    def action_columns(self, direction: int) -> None:
        """Scroll sideways by half the visible width (the run names stay in view on the
        way back with ←)."""
        step = max(self.scrollable_content_region.width // 2, 8)
        self.scroll_to(x=max(self.scroll_x + direction * step, 0), animate=False)

    # -- sorting -------------------------------------------------------------------------
    def cycle_sort(self) -> None:
        """Sort by the next sortable column, in its natural direction."""
        keys = list(SORT_KEYS)
        self.sort_key = keys[(keys.index(self.sort_key) + 1) % len(keys)]
        self.reverse = False
        self._rebuild()

    def flip_sort(self) -> None:
        self.reverse = not self.reverse
        self._rebuild()

    def sort_by(self, key: str) -> None:
        """Sort by ``key``; the same key again reverses the direction."""
        self.reverse = not self.reverse if key == self.sort_key else False
        self.sort_key = key
        self._rebuild()

    def set_filter(self, text: str) -> None:
        """Show only the runs matching ``text`` (:func:`core.runs.listing.matches`)."""
        self.filter_text = text
        self._rebuild()

    def sort_text(self) -> str:
        """``sorted by val AUC ↓`` (↓ = the natural direction, ↑ = reversed)."""
        if self.sort_key == "started":
            return "newest first" if not self.reverse else "oldest first"
        if self.sort_key == "found":
            return "as found" if not self.reverse else "as found, reversed"
        return f"sorted by {SORT_NAMES[self.sort_key]} {'↑' if self.reverse else '↓'}"

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        sort = dict((k, s) for k, _, s in COLUMNS).get(str(event.column_key.value), "")
        if sort:
            event.stop()
            self.sort_by(sort)

    # -- drawing -------------------------------------------------------------------------
    def _markers(self, path: str) -> Text:
        text = Text("▶" if path == self.active else " ", style="bold green")
        colour = self.marks.get(path)
        text.append("●" if colour else " ", style=f"bold {colour}" if colour else "")
        return text

    def _heading(self, heading: str, sort: str) -> Text:
        if sort and sort == self.sort_key:
            return Text(f"{heading} {'↑' if self.reverse else '↓'}", style="bold")
        return Text(heading)

    def _row(self, row: RunRow) -> list[Text]:
        text = cells(row)
        out = [self._markers(row.path)]
        for key, _, _ in COLUMNS:
            value = _cut(text[key], CELL_MAX.get(key))
            if key == "status":
                style = "bold red" if row.error else STATUS_STYLE.get(row.status, "")
                out.append(Text(value + (" ✗" if row.error else ""), style=style))
            elif key == "note":
                out.append(Text(value, style="red" if row.error else "yellow"))
            else:
                out.append(Text(value, justify="right" if key in NUMERIC else "left"))
        return out

    def _rebuild(self) -> None:
        keep, x = self.highlighted(), self.scroll_x   # a refresh keeps the view where it was
        self.shown = [r for r in sort_rows(self.runs, self.sort_key, self.reverse)
                      if matches(r, self.filter_text)]
        self.clear(columns=True)
        self.add_column("", key="mark")
        for key, heading, sort in COLUMNS:
            self.add_column(self._heading(heading, sort), key=key)
        for row in self.shown:
            self.add_row(*self._row(row), key=row.path)
        if keep is not None:
            self.select_path(keep.path)
        if x:
            self.call_after_refresh(self.scroll_to, x=x, animate=False)
