"""``TrainPlots``: the Train screen's two curves — train/val loss, and validation AUC
(best epoch marked) with the learning rate on the right axis — side by side."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal

from chexmini_tui.curve_view import AS_RECORDED, CurveView
from chexmini_tui.state import RunDisplayState
from chexmini_tui.widgets.plots import CurvePlot, Series


class TrainPlots(Horizontal):
    DEFAULT_CSS = """
    TrainPlots { height: 1fr; min-height: 8; }
    """

    def compose(self) -> ComposeResult:
        yield CurvePlot("loss", "epoch", int_x=True, id="plot-loss")
        yield CurvePlot("val", "epoch", int_x=True, id="plot-auc")

    def show(self, st: RunDisplayState, view: CurveView = AS_RECORDED) -> None:
        """Plot the finished epochs of ``st`` as ``view`` says (smoothing, log loss, the
        last epochs); the best epoch is marked at its recorded AUC, the lr never smoothed."""
        x, (train, val) = view.curves(st.hist_epoch, [st.hist_train_loss, st.hist_val_loss],
                                      loss=True)
        self.query_one("#plot-loss", CurvePlot).set_data([
            Series(x, train, "train", "cyan"), Series(x, val, "val", "orange"),
        ], title=view.title("loss", loss=True))
        _, (auc,) = view.curves(st.hist_epoch, [st.hist_val_auc])
        _, (lr,) = CurveView(last=view.last).curves(st.hist_epoch, [st.hist_lr])
        best = ([st.best_epoch], [st.hist_val_auc[st.hist_epoch.index(st.best_epoch)]]) \
            if st.best_epoch in x else ([], [])
        self.query_one("#plot-auc", CurvePlot).set_data([
            Series(x, auc, "AUC", "green"),
            Series(best[0], best[1], "best", "red", scatter=True),
            Series(x, lr, "lr (right)", "magenta", yside="right"),
        ], title=view.title("val"))
