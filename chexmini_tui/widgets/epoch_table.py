"""``EpochTable``: one row per finished epoch (train/val loss, val AUC, lr, time), the
best epoch marked ``★``; ``train``/``val`` are the losses, ``AUC`` the validation AUC.
A focusable ``DataTable``: ↑/↓, PageUp/PageDown, Home/End scroll it; it follows the
newest epoch unless the cursor was moved up.
"""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from chexmini_tui.state import RunDisplayState

#: (header, width); no cell padding — each column is right-aligned with a leading space,
#: so the table fits beside the form at 80 columns.
COLUMNS = (("epoch", 5), ("train", 7), ("val", 7), ("AUC", 7), ("lr", 9), ("time", 5),
           ("best", 5))


class EpochTable(DataTable):
    # Home/End go to the first/last epoch (DataTable's own scroll sideways).
    BINDINGS = [Binding("home", "first_row", "first epoch", show=False),
                Binding("end", "last_row", "last epoch", show=False)]
    DEFAULT_CSS = """
    EpochTable { height: 1fr; min-height: 4; scrollbar-size-vertical: 1; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True,
                         cell_padding=0)
        self.shown: list[int] = []      # the epochs in the table, in order
        self.best_shown = 0

    def on_mount(self) -> None:
        for label, width in COLUMNS:
            self.add_column(Text(label, justify="right"), width=width, key=label)

    def action_first_row(self) -> None:
        self.move_cursor(row=0, animate=False)

    def action_last_row(self) -> None:
        self.move_cursor(row=max(self.row_count - 1, 0), animate=False)

    def show(self, st: RunDisplayState) -> None:
        """Bring the table up to date with ``st`` (adds only the new rows)."""
        if st.hist_epoch[:len(self.shown)] != self.shown:   # a new run, or a resume
            self.clear()
            self.shown, self.best_shown = [], 0
        follow = self.row_count == 0 or self.cursor_row >= self.row_count - 1
        for i in range(len(self.shown), len(st.hist_epoch)):
            ep = st.hist_epoch[i]
            cells = (str(ep), f"{st.hist_train_loss[i]:.4f}", f"{st.hist_val_loss[i]:.4f}",
                     f"{st.hist_val_auc[i]:.4f}", f"{st.hist_lr[i]:.2e}",
                     f"{st.epoch_seconds[i]:.1f}s", "")
            self.add_row(*(Text(c, justify="right") for c in cells), key=str(ep))
            self.shown.append(ep)
        if st.best_epoch != self.best_shown and st.best_epoch in self.shown:
            if self.best_shown in self.shown:
                self.update_cell(str(self.best_shown), "best", Text(""))
            self.update_cell(str(st.best_epoch), "best", Text("★", style="bold yellow",
                                                                   justify="right"))
            self.best_shown = st.best_epoch
        if follow and self.row_count:
            self.move_cursor(row=self.row_count - 1, animate=False)
