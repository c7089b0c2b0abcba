"""Progress of long engine work, as plain values for any front end.

A long engine function (cross-validation, a gradient check, scoring a large split, an
export, a sweep) takes an optional ``tick`` callback and calls it with a :class:`Tick`
as its work advances: ``done`` of ``total`` units of the named ``task``. The engine draws
nothing; the CLI turns ticks into one Rich progress line on a terminal
(:func:`chexmini_cli.progress.progress_line`), the app into its own widgets, and a test
into a list. Several tasks may be live at once (an outer "folds" and an inner "epochs");
each is keyed by its ``task`` text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Tick:
    """``done`` of ``total`` units of ``task`` (``0 <= done <= total``; ``total`` None while
    unknown); ``info`` is a short note shown beside it (a loss, a stage), or ``""``."""

    task: str
    done: int
    total: int | None
    info: str = ""


#: What a long engine function accepts as its ``tick`` argument.
TickFn = Callable[[Tick], None]


def tick_or_nothing(tick: TickFn | None) -> TickFn:
    """``tick``, or a callback that does nothing, so engine code calls it unconditionally."""
    return tick if tick is not None else _nothing


def _nothing(_: Tick) -> None:
    return None
