"""The one progress road of the CLI: engine ticks → a Rich progress line on stderr.

Every long command wraps its work in :func:`progress_line` and hands the callback it
yields to the engine: ``tick=`` of :func:`core.training.cv.cross_validate`,
:func:`core.training.scoring.score_split`, :func:`core.inference.predict.predict_files` and
:func:`core.runs.export.export_checkpoint`; :func:`cache_ticks` adapts the preprocessing
cache's :class:`core.data.cache.build.BuildProgress`, and ``gradcheck``'s
``progress(done, total)`` becomes one tick each. A new long command (a sweep) does the same::

    with progress_line(args.quiet, console) as tick:
        result = work(..., tick=tick)   # one core.foundation.progress.Tick per unit of work

(one line per ``Tick.task``; add ``--quiet`` with :func:`chexmini_cli.options.add_quiet_flag`).

The line is drawn only when stderr is a terminal and ``--quiet`` is not given; otherwise
the callback does nothing, so piped output is byte for byte what it would be without it.
Results always go to stdout; pass the command's results console so that, when stdout is a
terminal too, lines printed while the progress line is live appear above it (a piped stdout
is never touched).
"""

from __future__ import annotations

import contextlib
import sys
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

from core.foundation.progress import Tick, TickFn, tick_or_nothing


def progress_console() -> Console:
    """The console progress is drawn on: stderr, no markup (task texts may be file names)."""
    return Console(stderr=True, markup=False, highlight=False)


def shows_progress(quiet: bool, console: Console | None = None) -> bool:
    """Whether a progress line is drawn: stderr is a terminal and ``--quiet`` was not given."""
    console = console or progress_console()
    return not quiet and console.is_terminal and not console.is_dumb_terminal


def _stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):  # replaced or closed stdout
        return False


@contextlib.contextmanager
def progress_line(quiet: bool = False, console: Console | None = None) -> Iterator[TickFn]:
    """Yield a :data:`~core.foundation.progress.TickFn` drawing one line per task (text,
    bar, done/total, info, elapsed, remaining) when stderr is a terminal; a no-op otherwise
    or with ``quiet``.

    ``console`` is the command's results console (stdout). When it is a terminal too, the
    line is drawn on it, so results printed meanwhile appear above the line (Rich moves
    them only for the console that draws); when stdout is piped, the line goes to stderr
    and the pipe receives exactly the results."""
    err = progress_console()
    if not shows_progress(quiet, err):
        yield tick_or_nothing(None)
        return
    on_stdout = console is not None and console.is_terminal
    progress = Progress(
        TextColumn("{task.description}", style="bold", markup=False), BarColumn(),
        MofNCompleteColumn(), TextColumn("{task.fields[info]}", markup=False),
        TimeElapsedColumn(), TimeRemainingColumn(), console=console if on_stdout else err,
        transient=False, redirect_stdout=on_stdout or _stdout_is_terminal(),
        redirect_stderr=True)
    tasks: dict[str, int] = {}

    def tick(t: Tick) -> None:
        if t.task not in tasks:
            tasks[t.task] = progress.add_task(t.task, total=t.total, completed=t.done,
                                              info=t.info)
        else:
            progress.update(tasks[t.task], total=t.total, completed=t.done, info=t.info)

    with progress:
        yield tick


#: The task text of the preprocessing cache's line, and the words for its stages.
CACHE_TASK = "preprocessing cache"
CACHE_STAGES = {"reuse": "reusing", "decode": "decoding", "done": "decoded"}


def cache_ticks(tick: TickFn):
    """A :func:`core.data.load_data` ``progress`` callback feeding ``tick`` (no line when
    nothing had to be decoded)."""
    started = False

    def update(ev) -> None:
        nonlocal started
        if ev.stage == "done" and not started:
            return  # the cache was complete: nothing to show
        started = True
        info = CACHE_STAGES.get(ev.stage, ev.stage)
        if ev.bad:
            info += f", {ev.bad:,} skipped"
        tick(Tick(CACHE_TASK, ev.done, ev.total, info))

    return update
