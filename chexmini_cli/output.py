"""What every command prints with: the console on stdout and the metrics table shared by
``evaluate`` and ``inspect``."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text


def new_console() -> Console:
    """The console a command prints its results on (stdout).

    Markup is off: paths, recorded sources, file names and error messages are printed as
    they are (a folder named ``[bold]`` is a legal name, not a style). The few styled
    words are :class:`rich.text.Text` pieces (:func:`styled`).
    """
    return Console(stderr=False, markup=False)


def styled(text: str, style: str) -> Text:
    """One styled piece of output, for :meth:`rich.text.Text.assemble` or a table cell."""
    return Text(text, style=style)


def metric_table(title: str, reports: dict[str, dict]) -> Table:
    """Headline metrics (with the AUC's bootstrap interval where a report has
    ``auc_lo``/``auc_hi``), confusion counts, n and positive rate, one column per split."""
    from core.evaluation.bootstrap import format_ci

    table = Table(title=title)
    table.add_column("metric")
    for name in reports:
        table.add_column(name, justify="right")
    keys = ["auc", "accuracy", "balanced_accuracy", "precision", "recall", "specificity", "f1"]
    keys += [k for k in ("brier", "ece") if all(k in r for r in reports.values())]
    for key in keys:
        table.add_row(key, *(f"{r[key]:.4f}" for r in reports.values()))
        if key == "auc" and any("auc_lo" in r for r in reports.values()):
            table.add_row("auc 95% CI", *(format_ci((r.get("auc_lo"), r.get("auc_hi")))
                                          for r in reports.values()))
    for key in ("tn", "fp", "fn", "tp"):
        table.add_row(key.upper(), *(str(r["confusion_matrix"][key]) for r in reports.values()))
    table.add_row("n", *(str(r["n_val"]) for r in reports.values()))
    table.add_row("positive rate", *(f"{r['positive_rate']:.4f}" for r in reports.values()))
    return table


def json_text(obj: object, **kw) -> str:
    """``json.dumps(obj, **kw)`` as strict JSON: a NaN or infinity anywhere is a
    ChexminiError, never ``NaN`` in the output (which is not JSON)."""
    import json

    from core.foundation.errors import ChexminiError

    try:
        return json.dumps(obj, allow_nan=False, **kw)
    except ValueError:
        raise ChexminiError("the result holds a number that is not finite; no JSON "
                            "written") from None
