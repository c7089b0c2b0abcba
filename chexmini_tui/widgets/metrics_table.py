"""A compact metrics table: one row per metric, one column per split (or checkpoint)."""

from __future__ import annotations

from rich import box
from rich.table import Table
from textual.widgets import Static

METRICS = ("auc", "accuracy", "balanced_accuracy", "precision", "recall", "specificity", "f1")
NAMES = {"auc": "AUC", "accuracy": "accuracy", "balanced_accuracy": "bal. acc",
         "precision": "precision", "recall": "recall", "specificity": "specificity",
         "f1": "F1", "brier": "Brier", "ece": "ECE", "auc_ci": "AUC CI"}


def fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


class MetricsTable(Static):
    """``show({"val": {...}, "test": {...}})`` with the metric dicts of
    :func:`core.evaluation.metrics.binary_metrics` / ``split_report`` (missing keys show "—")."""

    DEFAULT_CSS = """
    MetricsTable { width: auto; height: auto; }
    """

    def __init__(self, title: str = "", *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.title = title
        self.columns: dict[str, dict] = {}

    def show(self, columns: dict[str, dict], title: str | None = None,
             rows: tuple[str, ...] = METRICS, extra: dict[str, list[str]] | None = None,
             layout: bool = True) -> None:
        self.columns = columns
        if title is not None:
            self.title = title
        table = Table(title=self.title or None, title_style="bold", title_justify="left",
                      padding=(0, 1), box=box.ROUNDED)
        table.add_column("metric")
        for name in columns:
            table.add_column(name, justify="right")
        for key in rows:
            table.add_row(NAMES.get(key, key), *(fmt(col.get(key)) for col in columns.values()))
        for label, values in (extra or {}).items():
            table.add_row(label, *values)
        self.update(table, layout=layout)
