"""Evaluate: confusion matrices, metrics, ROC and PR curves of the checkpoint's saved
validation and test scores, at a threshold you move with the arrow keys.

Everything is computed by :mod:`core.metrics` from ``val_scores.npy``/``val_labels.npy``
and ``test_scores.npy``/``test_labels.npy``. The threshold is shared by both splits (it
is chosen on validation — never on test); ``r`` resets it to Youden's J on validation,
which is how the engine chose the checkpoint's threshold.
"""

from __future__ import annotations

import numpy as np
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static

from chexmini_tui.screens.base import BaseScreen
from chexmini_tui.widgets.confusion import ConfusionMatrix
from chexmini_tui.widgets.metrics_table import MetricsTable
from chexmini_tui.widgets.plots import CurvePlot, Series
from core.checkpoint import checkpoint_dir, read_metrics
from core.errors import ChexminiError
from core.metrics import binary_metrics, pr_curve, roc_auc, roc_curve, youden_threshold
from core.scores import load_scores

STEP = 0.01
FINE_STEP = 0.001
SPLITS = (("val", "validation"), ("test", "test"))


class EvaluateScreen(BaseScreen):
    MODE = "evaluate"
    BINDINGS = [
        Binding("left", "move(-1)", "threshold −0.01", priority=True),
        Binding("right", "move(1)", "threshold +0.01", priority=True),
        Binding("shift+left", "move(-0.1)", "threshold −0.001", priority=True),
        Binding("shift+right", "move(0.1)", "threshold +0.001", priority=True),
        Binding("r", "reset", "reset (Youden's J)"),
        Binding("l", "reload", "reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.loaded_for: str | None = None
        self.data: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.saved_threshold: float | None = None
        self.youden: float | None = None
        self.threshold: float | None = None
        self.auc: dict[str, float] = {}
        self.curves: dict[str, dict] = {}
        self.error: str | None = None
        self._metrics: dict = {}
        self._plots_due = False

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="ev-scroll", can_focus=False):
            yield Static("", id="ev-info")
            with Horizontal(id="ev-tables"):
                yield ConfusionMatrix("validation", id="cm-val")
                yield ConfusionMatrix("test", id="cm-test")
                yield MetricsTable(id="ev-metrics")
            with Horizontal(id="ev-plots"):
                yield CurvePlot("ROC", "false positive rate", "true positive rate", id="roc")
                yield CurvePlot("precision–recall", "recall", "precision", id="pr")

    def on_mount(self) -> None:
        self.load()
        # Tables follow every key press; the curves' operating points are redrawn at
        # most ~7×/s, so holding an arrow key stays smooth.
        self.set_interval(0.15, self._draw_plots_if_due)

    def on_resize(self) -> None:
        self.set_class(self.size.width < 99, "-narrow")

    def on_screen_resume(self) -> None:
        if self.loaded_for != str(self.app.checkpoint):
            self.load()

    # -- data ----------------------------------------------------------------------------------
    def load(self) -> None:
        path = str(self.app.checkpoint)
        self.loaded_for = path
        self.data, self.curves, self.auc = {}, {}, {}
        self.threshold = self.youden = self.saved_threshold = None
        try:
            self.data = load_scores(path)
            self.saved_threshold = float(read_metrics(checkpoint_dir(path))["threshold"])
            vs, vl = self.data["val"]
            self.youden = youden_threshold(vs, vl)
            for split, (s, y) in self.data.items():
                self.auc[split] = roc_auc(s, y)
                fpr, tpr, _ = roc_curve(s, y)
                prec, rec, _ = pr_curve(s, y)
                self.curves[split] = {"fpr": fpr, "tpr": tpr, "precision": prec, "recall": rec}
            self.threshold = self.saved_threshold
            self.error = None
        except ChexminiError as exc:
            self.data = {}
            self.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - shown inline, never a traceback
            self.data = {}
            self.error = f"{path}: cannot evaluate ({type(exc).__name__}: {exc})"
        self.update_view(first=True)

    def action_reload(self) -> None:
        self.load()

    # -- threshold -----------------------------------------------------------------------------
    def action_move(self, steps: float) -> None:
        if self.threshold is None:
            return
        # steps is ±1 (0.01) or ±0.1 (0.001); round to the step grid to avoid drift
        delta = STEP * steps
        self.set_threshold(round(self.threshold + delta, 6))

    def action_reset(self) -> None:
        if self.youden is not None:
            self.set_threshold(self.youden)

    def set_threshold(self, value: float) -> None:
        self.threshold = float(min(max(value, 0.0), 1.0))
        self.update_view()

    def metrics_at(self, split: str) -> dict:
        s, y = self.data[split]
        m = binary_metrics(s, y, self.threshold)
        m["auc"] = self.auc[split]
        return m

    # -- drawing -------------------------------------------------------------------------------
    def update_view(self, first: bool = False) -> None:
        info = self.query_one("#ev-info", Static)
        cm_val = self.query_one("#cm-val", ConfusionMatrix)
        cm_test = self.query_one("#cm-test", ConfusionMatrix)
        table = self.query_one("#ev-metrics", MetricsTable)
        if not self.data:
            roc = self.query_one("#roc", CurvePlot)
            pr = self.query_one("#pr", CurvePlot)
            info.update(f"[b]checkpoint[/] {self.app.checkpoint}\n[red]✗ {self.error}[/]\n"
                        "[dim]Train a model (1), or pick a checkpoint in Inspect (4) and press "
                        "Enter; start the app with --checkpoint DIR.[/]")
            cm_val.show(None)
            cm_test.show(None)
            table.show({})
            roc.set_data([])
            pr.set_data([])
            return
        t = self.threshold
        info.update(
            f"[b]checkpoint[/] {self.loaded_for}   [b]threshold[/] [reverse] {t:.4f} [/]"
            f"  [dim]saved {self.saved_threshold:.4f} · Youden's J (val) "
            f"{self.youden:.4f}[/]\n[dim]abnormal iff P(abnormal) ≥ threshold · matrices: rows "
            "true, columns predicted · ←/→ ±0.01 · shift+←/→ ±0.001 · r reset[/]",
            layout=first)
        metrics = {}
        for split, title in SPLITS:
            m = self.metrics_at(split)
            metrics[split] = m
            n = len(self.data[split][1])
            widget = cm_val if split == "val" else cm_test
            widget.show(m["confusion_matrix"], f"{title} (n={n})", layout=first)
        table.show(metrics, title=f"metrics @ {t:.4f}", layout=first)
        self._metrics = metrics
        self._plots_due = True
        if first:
            self._draw_plots_if_due()

    def _draw_plots_if_due(self) -> None:
        if not self._plots_due or not self.data:
            return
        self._plots_due = False
        metrics = self._metrics
        roc = self.query_one("#roc", CurvePlot)
        pr = self.query_one("#pr", CurvePlot)
        colors = {"val": "cyan", "test": "orange"}
        roc_series, pr_series = [], []
        for split, _ in SPLITS:
            c, m = self.curves[split], metrics[split]
            roc_series.append(Series(c["fpr"], c["tpr"],
                                     f"{split} AUC {self.auc[split]:.3f}", colors[split]))
            pr_series.append(Series(c["recall"], c["precision"], split, colors[split]))
        for split, _ in SPLITS:
            m = metrics[split]
            roc_series.append(Series([1 - m["specificity"]], [m["recall"]], "", "red",
                                     scatter=True))
            pr_series.append(Series([m["recall"]], [m["precision"]], "", "red", scatter=True))
        roc.set_data(roc_series, xlim=(0, 1), ylim=(0, 1))
        pr.set_data(pr_series, xlim=(0, 1), ylim=(0, 1))
