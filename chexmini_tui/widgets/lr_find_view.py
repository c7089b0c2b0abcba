"""``LrFindView``: the learning-rate range test's curve — smoothed loss against the
learning rate, log x (:class:`~chexmini_tui.widgets.plots.CurvePlot`) — with the suggested
rate marked, and one line saying where the test is and what it suggests."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from chexmini_tui.markup import esc
from chexmini_tui.widgets.plots import CurvePlot, Series

#: How the test ended, in words (``LrFindDone.stopped``).
STOPPED = {"exploded": "the loss exploded (smoothed > {k:g} × its minimum)",
           "not finite": "the loss stopped being a number",
           "completed": "all steps ran; the loss never exploded",
           "cancelled": "cancelled"}


class LrFindView(Vertical):
    """:meth:`show_progress` while running; :meth:`show_done` or :meth:`show_error` after."""

    DEFAULT_CSS = """
    LrFindView { height: 1fr; }
    LrFindView CurvePlot { height: 1fr; }
    LrFindView #lrf-line { height: auto; }
    """

    def compose(self) -> ComposeResult:
        yield CurvePlot("smoothed loss", "learning rate", log_x=True, id="lrf-plot")
        yield Static("loading the data…", id="lrf-line")

    def _draw(self, lrs: list[float], smoothed: list[float], mark: float | None) -> None:
        series = [Series(lrs, smoothed, "", "cyan")]
        if mark is not None and smoothed:
            series.append(Series([mark], [min(smoothed)], "suggested", "red", scatter=True))
        top = max(smoothed[: smoothed.index(min(smoothed)) + 1]) if smoothed else None
        ylim = (min(smoothed), top) if top is not None and top > min(smoothed) else None
        self.query_one(CurvePlot).set_data(series, ylim=ylim)

    def show_progress(self, lrs: list[float], smoothed: list[float], steps: int) -> None:
        self._draw(lrs, smoothed, None)
        last = f" · lr {lrs[-1]:.2e} · loss {smoothed[-1]:.4f}" if lrs else ""
        self.line(f"step {len(lrs)}/{steps}{last}")

    def show_done(self, done) -> None:
        """``done``: a :class:`core.training.lr_find.LrFindDone`."""
        s = done.suggestion
        self._draw(done.lrs, done.smoothed, None if s is None else s.lr)
        how = STOPPED.get(done.stopped, done.stopped).format(k=done.explode)
        if s is None:
            self.line(f"{len(done.lrs)} steps, {done.seconds:.1f} s: {how}; no suggestion")
            return
        warn = ("" if done.below_prior else
                f"\n[yellow]note: the loss never fell below {done.prior_loss:.4f} (the class "
                "prior's): the curve shows stability, not learning — check with a short "
                "run[/]")
        self.query_one("#lrf-line", Static).update(
            f"{len(done.lrs)} steps, {done.seconds:.1f} s: {esc(how)}\n"
            f"[b green]suggested lr {s.text}[/] [dim]({esc(s.rule)})[/]{warn}")

    def show_error(self, problem: str) -> None:
        self.query_one("#lrf-line", Static).update(f"[red]✗ {esc(problem)}[/]")

    def line(self, text: str) -> None:
        self.query_one("#lrf-line", Static).update(esc(text))
