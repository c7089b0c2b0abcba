"""``TrainPlots``: the Train screen's two curves — train/val loss, and validation AUC
(best epoch marked) with the learning rate on the right axis — side by side."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal

from chexmini_tui.state import RunDisplayState
from chexmini_tui.widgets.plots import CurvePlot, Series


class TrainPlots(Horizontal):
    DEFAULT_CSS = """
    TrainPlots { height: 1fr; min-height: 8; }
    """

    def compose(self) -> ComposeResult:
        yield CurvePlot("loss", "epoch", int_x=True, id="plot-loss")
        yield CurvePlot("val", "epoch", int_x=True, id="plot-auc")

    def show(self, st: RunDisplayState) -> None:
        """Plot the finished epochs of ``st``."""
        self.query_one("#plot-loss", CurvePlot).set_data([
            Series(st.hist_epoch, st.hist_train_loss, "train", "cyan"),
            Series(st.hist_epoch, st.hist_val_loss, "val", "orange"),
        ])
        best = ([st.best_epoch], [st.hist_val_auc[st.hist_epoch.index(st.best_epoch)]]) \
            if st.best_epoch in st.hist_epoch else ([], [])
        self.query_one("#plot-auc", CurvePlot).set_data([
            Series(st.hist_epoch, st.hist_val_auc, "AUC", "green"),
            Series(best[0], best[1], "best", "red", scatter=True),
            Series(st.hist_epoch, st.hist_lr, "lr (right)", "magenta", yside="right"),
        ])
