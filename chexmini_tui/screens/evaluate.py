"""Evaluate: confusion matrices, metrics, ROC and PR curves of the checkpoint's saved
validation and test scores, at a threshold you move with the arrow keys.

The scores, curves, Brier scores, ECEs and reliability bins come from
:func:`core.runs.scores.score_report`; the metrics at a threshold from
:func:`core.evaluation.metrics.binary_metrics`. The threshold is shared by both splits (it is chosen
on validation — never on test); ``r`` resets it to Youden's J on validation, which is how
the engine chose the checkpoint's threshold, and ``o`` cycles the operating-point rules
of :mod:`core.evaluation.operating_point` (Youden's J → sensitivity ≥ 0.90 → specificity ≥ 0.90).

The scores are the active checkpoint's (``app.state.active``): when another one becomes
active, or its files change on disk (``chexmini evaluate --save`` saves an operating
point), everything is recomputed and the threshold goes back to the saved one; ``l``
reads the folder again.

Everything sits in one scrolling column that has the focus, so at 80×24 the keyboard
reaches all of it: ↑/↓, PageUp/PageDown, Home/End (and Tab gives the focus back).
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static
from textual.worker import get_current_worker

from chexmini_tui.active import ActiveCheckpoint
from chexmini_tui.markup import esc
from chexmini_tui.screens.base import BaseScreen
from chexmini_tui.widgets.confusion import ConfusionMatrix
from chexmini_tui.widgets.curves import Curve, CurveChart
from chexmini_tui.widgets.metrics_table import METRICS, MetricsTable
from chexmini_tui.widgets.reliability import ReliabilityDiagram
from core.evaluation.bootstrap import format_ci
from core.evaluation.metrics import binary_metrics
from core.evaluation.operating_point import choose_operating_point, rule_text
from core.foundation.errors import ChexminiError
from core.runs.scores import SPLITS, ScoreReport, score_report

STEP = 0.01
COLORS = {"val": "cyan", "test": "orange"}
#: below this width the three tables take two rows; below PLOTS_SIDE the curves stack
TABLES_IN_ROW = 104
PLOTS_SIDE = 100
THRESHOLD_KEYS = Binding.Group("threshold ±0.01", compact=True)
#: what ``o`` cycles through, on validation: (metric, target)
RULES = (("youden", None), ("sensitivity", 0.9), ("specificity", 0.9))
MANUAL = "set by hand"


class EvaluateScreen(BaseScreen):
    MODE = "evaluate"
    DEFAULT_CSS = """
    EvaluateScreen #ev-scroll { height: 1fr; }
    EvaluateScreen #ev-scroll:focus { background-tint: $foreground 0%; }
    EvaluateScreen #ev-info { height: auto; padding: 0 1; }
    EvaluateScreen #ev-tables { layout: grid; grid-size: 3; grid-rows: auto; height: auto;
                                grid-gutter: 0 1; }
    EvaluateScreen.-narrow #ev-tables { grid-size: 2; }
    EvaluateScreen #ev-plots { height: auto; margin-top: 1; }
    EvaluateScreen #ev-plots CurveChart { height: 20; }
    EvaluateScreen.-stack #ev-plots { layout: vertical; }
    EvaluateScreen.-stack #ev-plots CurveChart { height: 17; margin-bottom: 1; }
    """
    BINDINGS = [
        Binding("left", "move(-1)", "threshold −0.01", priority=True, group=THRESHOLD_KEYS),
        Binding("right", "move(1)", "threshold +0.01", priority=True, group=THRESHOLD_KEYS),
        Binding("shift+left", "move(-0.1)", "threshold −0.001", priority=True, show=False),
        Binding("shift+right", "move(0.1)", "threshold +0.001", priority=True, show=False),
        Binding("r", "reset", "Youden's J"),
        Binding("o", "operating_point", "op. point"),
        Binding("l", "reload", "reload"),
        Binding("g", "gallery", "gallery",
                tooltip="error gallery: the images of a confusion-matrix cell at this threshold"),
    ]

    def __init__(self) -> None:
        super().__init__()
        #: the active checkpoint the scores shown were read for
        self.shown: ActiveCheckpoint | None = None
        self.report: ScoreReport | None = None
        self.threshold: float | None = None
        #: how the threshold shown was chosen (a rule of core.evaluation.operating_point, or
        #: by hand)
        self.rule: str = ""
        self._rule_index = -1
        self.error: str | None = None
        self._metrics: dict = {}
        self._plots_due = False
        self._shown_rule: str | None = None
        self._gallery_due = False     # g (or the palette) asked while the scores load
        self._reading = False         # the scores of ``shown`` are being read

    @property
    def loaded_for(self) -> str | None:
        return None if self.shown is None else self.shown.path

    # what tests and other code read: the report's parts
    @property
    def data(self) -> dict:
        return self.report.data if self.report else {}

    @property
    def youden(self) -> float | None:
        return self.report.youden if self.report else None

    @property
    def saved_threshold(self) -> float | None:
        return self.report.saved_threshold if self.report else None

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="ev-scroll"):
            yield Static("", id="ev-info")
            with Horizontal(id="ev-tables"):
                yield ConfusionMatrix("validation", id="cm-val")
                yield ConfusionMatrix("test", id="cm-test")
                yield MetricsTable(id="ev-metrics")
            with Horizontal(id="ev-plots"):
                yield CurveChart("ROC", "false positive rate", "true positive rate", id="roc")
                yield CurveChart("precision–recall", "recall", "precision", id="pr")
            yield ReliabilityDiagram(id="reliability")

    def on_mount(self) -> None:
        self.follow_active()
        self.query_one("#ev-scroll").focus()
        # Tables follow every key press; the curves' operating points are redrawn at
        # most ~7×/s, so holding an arrow key stays smooth.
        self.set_interval(0.15, self._draw_plots_if_due)

    def on_resize(self) -> None:
        self.set_class(self.size.width < TABLES_IN_ROW, "-narrow")
        self.set_class(self.size.width < PLOTS_SIDE, "-stack")
        self.query_one(ReliabilityDiagram).set_class(self.size.width < PLOTS_SIDE, "-stack")

    def follow_active(self) -> None:
        """Another checkpoint is active, or it was loaded again: recompute everything."""
        if self.app.state.active is not self.shown:
            self.load()

    # -- data ----------------------------------------------------------------------------------
    def load(self) -> None:
        """Read the active checkpoint's scores in a thread worker ("loading…" meanwhile)."""
        self.shown = active = self.app.state.active
        self.report, self.threshold, self.error = None, None, active.problem
        self._reading, self._gallery_due = True, False
        self.update_view(first=True)
        if not active.loading:
            self._load_worker(active)

    @work(thread=True, exclusive=True, group="evaluate-load", exit_on_error=False)
    def _load_worker(self, active: ActiveCheckpoint) -> None:
        report, error = None, None
        try:
            report = score_report(active.path)
        except ChexminiError as exc:
            error = str(exc)
        except Exception as exc:  # noqa: BLE001 - shown inline, never a traceback
            error = f"{active.path}: cannot evaluate ({type(exc).__name__}: {exc})"
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._loaded, active, report, error)

    def _loaded(self, active: ActiveCheckpoint, report: ScoreReport | None,
                error: str | None) -> None:
        if active is not self.shown:       # another checkpoint became active since
            return
        self._reading = False
        self.report, self.error = report, error
        if report is not None:
            self.threshold = report.saved_threshold
            self.rule, self._rule_index = self._saved_rule(report)
        self.update_view(first=True)
        if self._gallery_due:
            self._gallery_due = False
            self.action_gallery()

    @property
    def reading_scores(self) -> bool:
        """The scores shown are still being read (or the checkpoint is still loading)."""
        return self.shown is None or self._reading

    def action_reload(self) -> None:
        """Read the active checkpoint's folder again (every screen follows)."""
        self.app.reload_checkpoint()
        self.follow_active()

    @staticmethod
    def _saved_rule(report: ScoreReport) -> tuple[str, int]:
        """The saved threshold's rule and its place in :data:`RULES` (-1: none of them),
        from the saved operating point's ``metric`` and ``target``."""
        op = report.operating_point
        if op is not None:
            key = (op.metric, None if op.metric == "youden" else op.target)
            return report.saved_rule, RULES.index(key) if key in RULES else -1
        if report.saved_threshold == report.youden:
            return rule_text("youden"), 0
        return report.saved_rule, -1

    def action_gallery(self) -> None:
        if self.report is None and self.reading_scores:
            self._gallery_due = True         # opened when the scores arrive
            return
        if self.report is None:
            self.notify(f"no scores to browse: {self.error}", severity="warning", markup=False)
            return
        from chexmini_tui.screens.gallery import GalleryScreen

        self.app.push_screen(GalleryScreen(self.shown, self.threshold))

    # -- threshold -----------------------------------------------------------------------------
    def action_move(self, steps: float) -> None:
        if self.threshold is None:
            return
        # steps is ±1 (0.01) or ±0.1 (0.001); round to the step grid to avoid drift
        self.set_threshold(round(self.threshold + STEP * steps, 6))

    def action_reset(self) -> None:
        if self.youden is not None:
            self._rule_index = 0
            self.set_threshold(self.youden, rule_text("youden"))

    def action_operating_point(self) -> None:
        """The next rule of :data:`RULES`, applied to the validation scores."""
        if self.report is None:
            return
        self._rule_index = (self._rule_index + 1) % len(RULES)
        metric, target = RULES[self._rule_index]
        try:
            op = choose_operating_point(*self.data["val"], metric, target)
        except ChexminiError as exc:
            self.rule = f"✗ {exc}"
            self.update_view()
            return
        self.set_threshold(op.threshold, op.rule)

    def set_threshold(self, value: float, rule: str = MANUAL) -> None:
        """Show everything at ``value`` (clamped to [0, 1] when set by hand)."""
        self.threshold = float(min(max(value, 0.0), 1.0)) if rule == MANUAL else float(value)
        self.rule = rule
        self.update_view()

    def _no_report_text(self) -> str:
        """What the head says with no scores: loading, or why not and what to do."""
        head = f"[b]checkpoint[/] {esc(self.loaded_for)}\n"
        if self.reading_scores:
            return head + "[dim]loading…[/]"
        return (head + f"[red]✗ {esc(self.error)}[/]\n[dim]Train a model (1), or pick a "
                "checkpoint in Inspect (4) and press Enter; start the app with "
                "--checkpoint DIR.[/]")

    def metrics_at(self, split: str) -> dict:
        s, y = self.data[split]
        m = binary_metrics(s, y, self.threshold)
        m["auc"] = self.report.auc[split]
        m["auc_ci"] = format_ci(self.report.auc_ci.get(split), 2)   # fits the column at 80
        m.update(self.report.calibration[split])
        return m

    # -- drawing -------------------------------------------------------------------------------
    def update_view(self, first: bool = False) -> None:
        info = self.query_one("#ev-info", Static)
        cm = {"val": self.query_one("#cm-val", ConfusionMatrix),
              "test": self.query_one("#cm-test", ConfusionMatrix)}
        table = self.query_one("#ev-metrics", MetricsTable)
        if self.report is None:
            info.update(self._no_report_text())
            for widget in cm.values():
                widget.show(None)
            table.show({})
            for chart in self.query(CurveChart):
                chart.set_curves([])
            return
        t, r = self.threshold, self.report
        rule = esc(self.rule.replace(">=", " ≥ "))
        shown = f"[red]{rule}[/]" if rule.startswith("✗") else f"[b]{rule}[/]"
        saved_rule = ("" if r.operating_point is None else
                      f" ({esc(r.saved_rule.replace('>=', ' ≥ '))})")
        text = (f"[b]checkpoint[/] {esc(self.loaded_for)}   [b]threshold[/] [reverse] {t:.4f} [/] "
                f"{shown}\n"
                f"[dim]saved {r.saved_threshold:.4f}{saved_rule} · Youden's J (val) "
                f"{r.youden:.4f} · abnormal iff score ≥ threshold\n"
                "matrices: rows true, columns predicted · shift+←/→ ±0.001 · "
                "↓/PgDn/End: more[/]")
        # the text re-wraps only when the rule changes: arrow keys need no re-layout
        info.update(text, layout=first or rule != self._shown_rule)
        self._shown_rule = rule
        metrics = {}
        for split, title in SPLITS:
            metrics[split] = m = self.metrics_at(split)
            n = len(self.data[split][1])
            cm[split].show(m["confusion_matrix"], f"{title} (n={n})", layout=first)
        table.show(metrics, title=f"metrics @ {t:.4f} · CI 95%",
                   rows=(METRICS[0], "auc_ci", *METRICS[1:], "brier", "ece"), layout=first)
        self._metrics = metrics
        self._plots_due = True
        if first:
            self.query_one(ReliabilityDiagram).show(
                {split: r.reliability[split] for split, _ in SPLITS},
                {split: r.calibration[split] for split, _ in SPLITS}, COLORS)
            self._draw_plots_if_due()

    def _draw_plots_if_due(self) -> None:
        if not self._plots_due or self.report is None:
            return
        self._plots_due = False
        roc_curves, pr_curves = [], []
        for split, _ in SPLITS:
            c, color = self.report.curves[split], COLORS[split]
            roc_curves.append(Curve(c["fpr"], c["tpr"],
                                    f"{split} AUC {self.report.auc[split]:.3f}", color))
            pr_curves.append(Curve(c["recall"], c["precision"], split, color))
        for split, _ in SPLITS:
            m = self._metrics[split]
            roc_curves.append(Curve([1 - m["specificity"]], [m["recall"]], "", "red",
                                    points=True))
            pr_curves.append(Curve([m["recall"]], [m["precision"]], "", "red", points=True))
        note = f"threshold {self.threshold:.4f}"
        self.query_one("#roc", CurveChart).set_curves(roc_curves, note=note, xlim=(0, 1),
                                                      ylim=(0, 1))
        self.query_one("#pr", CurveChart).set_curves(pr_curves, note=note, xlim=(0, 1),
                                                     ylim=(0, 1))
