"""Reusable widgets: plots (textual-plotext), confusion matrix, metrics table, images."""

from chexmini_tui.widgets.confusion import ConfusionMatrix
from chexmini_tui.widgets.metrics_table import MetricsTable
from chexmini_tui.widgets.plots import CurvePlot

__all__ = ["ConfusionMatrix", "CurvePlot", "MetricsTable"]
