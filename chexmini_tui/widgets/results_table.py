"""The Predict screen's results: one row per file — P(abnormal), the predicted label,
the true label when one was found beside the image (✓ / ✗), and a warning mark for
inputs that do not look like the training X-rays."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual.widgets import DataTable

from core.data.true_labels import TrueLabel
from core.inference.ood import OODResult


@dataclass(frozen=True)
class ResultRow:
    path: str
    prob: float | None
    label: str | None
    error: str | None = None
    truth: TrueLabel | None = None
    ood: OODResult | None = None

    @property
    def correct(self) -> bool | None:
        if self.error is not None or self.truth is None:
            return None
        return self.label == self.truth.label

    # (path, prob, label, error) unpacking, as the screen's results list used to hold
    def __getitem__(self, i):
        return (self.path, self.prob, self.label, self.error, self.truth, self.ood)[i]


def folder_summary(rows: list[ResultRow]) -> str:
    """``12 files: 7 abnormal, 5 normal · 1 not X-ray-like`` and, when true labels were
    found, a second line ``accuracy 10/12 = 83.3 %``."""
    ok = [r for r in rows if r.error is None]
    n_abn = sum(r.label == "abnormal" for r in ok)
    parts = [f"{len(ok)} files: {n_abn} abnormal, {len(ok) - n_abn} normal"]
    judged = [r.correct for r in ok if r.correct is not None]
    accuracy = ""
    if judged:
        right = sum(judged)
        accuracy = f"\naccuracy {right}/{len(judged)} = {100 * right / len(judged):.1f} %"
        if len(judged) < len(ok):
            accuracy += f" ({len(ok) - len(judged)} without a true label)"
    n_ood = sum(r.ood is not None and r.ood.flagged for r in ok)
    if n_ood:
        parts.append(f"[yellow]⚠ {n_ood} not X-ray-like[/]")
    n_err = len(rows) - len(ok)
    if n_err:
        parts.append(f"[red]{n_err} unreadable[/]")
    return " · ".join(parts) + accuracy


class ResultsTable(DataTable):
    DEFAULT_CSS = """
    ResultsTable { height: 8; }
    """

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for key, label in (("file", "file"), ("prob", "P(abn)"), ("label", "label"),
                           ("true", "true"), ("note", "note")):
            self.add_column(label, key=key)

    def add_result(self, r: ResultRow) -> None:
        name = Path(r.path).name
        if r.error is not None:
            why = r.error.rsplit(": ", 1)[-1]     # the full message is on the result line
            self.add_row(name, Text("error", style="red"), "", "", Text(why, style="red"))
        else:
            style = "bold red" if r.label == "abnormal" else "bold green"
            true = Text(r.truth.label if r.truth is not None else "—")
            if r.correct is not None:
                true.append(" ✓" if r.correct else " ✗",
                            style="green" if r.correct else "bold red")
            note = (Text("⚠ not X-ray-like", style="yellow")
                    if r.ood is not None and r.ood.flagged else "")
            self.add_row(name, f"{r.prob:.4f}", Text(r.label, style=style), true, note)
        self.move_cursor(row=self.row_count - 1)
