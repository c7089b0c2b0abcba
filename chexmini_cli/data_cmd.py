"""``chexmini data …``: data-set utilities (filled in by the data-sources work)."""

from __future__ import annotations

import argparse

from rich.console import Console


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``data`` sub-command and its own sub-commands."""
    d = sub.add_parser("data", help="data-set utilities")
    d.add_subparsers(dest="data_command", metavar="DATA_COMMAND")


def run(args: argparse.Namespace, console: Console) -> int:
    raise NotImplementedError("chexmini data: nothing here yet")
