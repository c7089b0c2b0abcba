"""The 2×2 confusion matrix: counts and row rates (of each actual class)."""

from __future__ import annotations

from rich import box
from rich.table import Table
from rich.text import Text
from textual.widgets import Static


class ConfusionMatrix(Static):
    """Rows = true class, columns = predicted class (abnormal iff score ≥ threshold).

    ``counts`` holds the last ``{tn, fp, fn, tp}`` shown (what tests read)."""

    DEFAULT_CSS = """
    ConfusionMatrix { width: auto; height: auto; }
    """

    def __init__(self, title: str = "", *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.title = title
        self.counts: dict[str, int] | None = None

    def show(self, counts: dict[str, int] | None, title: str | None = None,
             layout: bool = True) -> None:
        """``layout=False`` when only the numbers changed (the size is fixed by the
        columns' minimum widths, so the screen needs no re-layout)."""
        self.counts = None if counts is None else dict(counts)
        if title is not None:
            self.title = title
        self.update(self._table(), layout=layout)

    def _table(self) -> Table:
        table = Table(title=self.title, title_style="bold", padding=(0, 1),
                      title_justify="left", box=box.ROUNDED, show_lines=True,
                      show_edge=False)
        table.add_column("", style="bold")
        table.add_column("normal", justify="right", min_width=8)
        table.add_column("abnormal", justify="right", min_width=8)
        c = self.counts
        if c is None:
            table.add_row("—", "", "")
            return table
        neg, pos = c["tn"] + c["fp"], c["fn"] + c["tp"]

        def cell(name: str, n: int, total: int, good: bool) -> Text:
            rate = f"{n / total:.1%}" if total else "—"
            return Text.assemble((f"{name} {n}", "bold green" if good else "bold red"),
                                 f"\n{rate}", justify="right")

        table.add_row("normal", cell("TN", c["tn"], neg, True), cell("FP", c["fp"], neg, False))
        table.add_row("abnormal", cell("FN", c["fn"], pos, False), cell("TP", c["tp"], pos, True))
        return table
