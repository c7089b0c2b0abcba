"""``ReliabilityDiagram``: how well P(abnormal) is calibrated, per split.

Each non-empty bin of :func:`core.evaluation.calibration.reliability_bins` (15 equal-width bins over
[0, 1]) is a point at (mean P(abnormal) in the bin, fraction abnormal in the bin); a
calibrated model's points lie on the diagonal. The legend gives each split's Brier score
and ECE; a note beside the chart says what they are. The maths is the engine's: this
widget only draws.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from chexmini_tui.widgets.curves import Curve, CurveChart
from core.evaluation.calibration import ECE_BINS, ReliabilityBins

NOTE = (f"[b]calibration[/]\n{ECE_BINS} equal-width bins of P(abnormal); a calibrated "
        "model's points lie on the grey diagonal.\n"
        "[b]Brier[/] = mean (p − y)²\n"
        "[b]ECE[/] = Σ (n_bin / n) · |fraction abnormal − mean p| over the bins")


class ReliabilityDiagram(Horizontal):
    """The reliability chart and its note; ``show`` draws one curve per split."""

    DEFAULT_CSS = """
    ReliabilityDiagram { height: auto; margin-top: 1; }
    ReliabilityDiagram > CurveChart { height: 20; width: 1fr; }
    ReliabilityDiagram > .reliability-note { width: 1fr; height: auto; padding: 1 1 0 2; }
    ReliabilityDiagram.-stack { layout: vertical; }
    ReliabilityDiagram.-stack > CurveChart { height: 17; width: 100%; }
    ReliabilityDiagram.-stack > .reliability-note { width: 100%; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.numbers: dict[str, dict[str, float]] = {}

    def compose(self) -> ComposeResult:
        yield CurveChart("reliability", "mean P(abnormal) in bin", "fraction abnormal")
        yield Static(NOTE, classes="reliability-note")

    def show(self, bins: dict[str, ReliabilityBins], numbers: dict[str, dict[str, float]],
             colors: dict[str, str]) -> None:
        """``bins`` and ``numbers`` (``brier``, ``ece``) per split; ``{}`` clears."""
        self.numbers = numbers
        curves = [Curve([0.0, 1.0], [0.0, 1.0], "", "gray")] if bins else []
        for split, b in bins.items():
            k = b.filled
            n = numbers[split]
            curves.append(Curve(b.mean_score[k], b.mean_label[k],
                                f"{split} Brier {n['brier']:.3f} ECE {n['ece']:.3f}",
                                colors.get(split, "cyan"), points=True))
        self.query_one(CurveChart).set_curves(curves, xlim=(0, 1), ylim=(0, 1))

    def legend_text(self) -> str:
        """The chart's title/legend line as plain text (what tests read)."""
        return self.query_one(CurveChart).legend_text()
