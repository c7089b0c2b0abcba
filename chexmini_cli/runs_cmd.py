"""``chexmini runs``: every run under a runs folder, one row each, sortable (the table
the app's Inspect screen shows, for a shell over SSH)."""

from __future__ import annotations

import argparse

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from chexmini_cli.options import add_quiet_flag
from chexmini_cli.output import json_text, new_console
from core.runs.listing import COLUMNS, SORT_KEYS
from core.runs.status import STATUS_TEXT

DEFAULT_RUNS = "runs"
#: the table's columns (``--json`` has every hyperparameter of :data:`core.runs.listing.KEY_PARAMS`)
SHOWN = ("name", "status", "epochs", "auc", "test_auc", "data", "hidden", "lr", "optimizer",
         "batch")
NUMERIC = ("epochs", "auc", "test_auc", "lr", "batch", "dropout", "wd")
SORT_NAMES = {"found": "newest first", "name": "by name", "status": "by status",
              "epochs": "by epochs", "auc": "by best val AUC", "test_auc": "by test AUC",
              "data": "by data"}


def register(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("runs", help="list the runs under a folder (status, epochs, AUCs, "
                                    "data, hyperparameters)")
    r.add_argument("folder", metavar="DIR", nargs="?", default=DEFAULT_RUNS,
                   help=f"the runs folder (default {DEFAULT_RUNS})")
    r.add_argument("--sort", choices=tuple(SORT_KEYS), default="found",
                   help="order: found (newest first), name, status, epochs, auc (best "
                        "validation AUC, highest first), test_auc, data")
    r.add_argument("--reverse", action="store_true", help="reverse the order")
    r.add_argument("--json", action="store_true")
    add_quiet_flag(r)


def run(args: argparse.Namespace) -> int:
    from core.runs.listing import cells, list_runs, sort_rows

    console = new_console()
    rows = sort_rows(list_runs(args.folder), args.sort, args.reverse)
    if args.json:
        print(json_text({"folder": str(args.folder), "sort": args.sort,
                          "reverse": args.reverse, "runs": [r.to_dict() for r in rows]},
                         indent=2))
        return 0
    if not rows:
        console.print(f"no runs in {args.folder}", highlight=False)
        return 0
    texts = [cells(row) for row in rows]
    title = (f"runs in {args.folder} ({SORT_NAMES[args.sort]}"
             f"{', reversed' if args.reverse else ''})")
    shown = list(SHOWN)
    table = _table(title, shown, texts)
    while _needs(console, table) > console.width and shown[-1] != "data":
        shown.pop()          # a narrow terminal: the hyperparameters go first, said below
        table = _table(title, shown, texts)
    console.print(table, highlight=False)
    if len(shown) < len(SHOWN):
        left = ", ".join(dict((k, h) for k, h, _ in COLUMNS)[k] for k in SHOWN
                         if k not in shown)
        console.print(f"(not shown at this width: {left}; --json has every column)",
                      style="dim", highlight=False)
    shown_status = {r.status for r in rows} - {"finished"}
    for status in (s for s in STATUS_TEXT if s in shown_status):   # what the words mean
        console.print(f"{status}: {STATUS_TEXT[status]}", style="dim", highlight=False)
    for row in rows:   # problems under the table, one line each, never cut
        if row.error or row.note:
            style = "red" if row.error else "yellow"
            console.print(f"{row.name}: {row.error or row.note}", style=style,
                          highlight=False, markup=False, soft_wrap=True)
    return 0


def _needs(console: Console, table: Table) -> int:
    """The width ``table`` takes when nothing is cut."""
    return Measurement.get(console, console.options.update_width(10_000), table).maximum


def _table(title: str, shown: list[str], texts: list[dict[str, str]]) -> Table:
    """The listing with the columns ``shown``; only the data column is ever cut."""
    headings = {key: heading for key, heading, _ in COLUMNS}
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1),
                  show_edge=False)
    for key in shown:
        width = max(len(headings[key]), *(len(t[key]) for t in texts))
        table.add_column(headings[key], justify="right" if key in NUMERIC else "left",
                         no_wrap=True, overflow="ellipsis",
                         min_width=None if key == "data" else width,
                         max_width=22 if key == "data" else None)
    for text in texts:
        table.add_row(*(text[key] for key in shown))
    return table
