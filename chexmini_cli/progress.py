"""The preprocessing-cache progress bar shared by ``chexmini train`` and ``chexmini data``.

It lives in its own module so that :mod:`chexmini_cli.options` (which loads data for
every command) and the command modules can all use it without importing each other.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


@contextlib.contextmanager
def cache_progress(console: Console, disable: bool = False) -> Iterator:
    """A progress callback for :func:`core.data.load_data` drawing a rich bar."""
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn(),
        console=console, disable=disable, transient=False)
    task = None

    def update(ev) -> None:
        nonlocal task
        if ev.stage == "done" and task is None:
            return  # nothing was decoded: no bar
        if task is None:
            task = progress.add_task("decoding", total=ev.total, info="")
        desc = {"reuse": "reusing", "decode": "decoding", "done": "decoded"}.get(ev.stage,
                                                                                ev.stage)
        info = f"{ev.bad:,} skipped" if ev.bad else ""
        progress.update(task, completed=ev.done, total=ev.total, description=desc, info=info)

    with progress:
        yield update
