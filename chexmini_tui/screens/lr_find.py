"""The learning-rate range test over the Train screen (``l``): the form's settings and
data, run in a thread worker (:mod:`core.training.lr_find`; nothing is written, no run
folder is touched), the curve drawn as it grows, and the suggestion — which ``enter``
puts into the form's lr box."""

from __future__ import annotations

import time

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static
from textual.worker import get_current_worker

from chexmini_tui.markup import esc
from chexmini_tui.messages import LrFindFinished, LrFindProgress
from chexmini_tui.widgets.lr_find_view import LrFindView
from core.foundation.config import TrainConfig
from core.foundation.errors import ChexminiError

#: Seconds between two progress messages from the worker.
PROGRESS_EVERY = 0.1


class LrFindScreen(ModalScreen[str | None]):
    """Dismisses with the suggested learning rate as the form writes it, or ``None``."""

    BINDINGS = [
        Binding("enter,u", "use", "use suggestion"),
        Binding("escape", "close", "cancel / close"),
    ]

    DEFAULT_CSS = """
    LrFindScreen { align: center middle; }
    LrFindScreen > Vertical {
        width: 100%; max-width: 100; height: 100%; max-height: 30;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    LrFindScreen #lrf-title { height: auto; }
    """

    def __init__(self, config: TrainConfig, source: str, data=None, result=None) -> None:
        """``data``: pre-loaded splits (else ``source`` is loaded in the worker);
        ``result``: a finished :class:`~core.training.lr_find.LrFindDone` to show instead
        of running (a test's fixed picture)."""
        super().__init__()
        self.config, self.source, self.data, self.result = config, source, data, result
        self.done = None
        self.suggestion: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"[b]lr-find[/b] on {esc(self.source)} [dim]— the form's model and "
                         "settings, from its initial weights; nothing is saved[/]",
                         id="lrf-title", markup=True)
            yield LrFindView(id="lrf-view")
        yield Footer()

    def on_mount(self) -> None:
        if self.result is not None:
            self.post_message(LrFindFinished(self.result))
        else:
            self._worker(self.config, self.source, self.data)

    @work(thread=True, exclusive=True, group="lr-find", exit_on_error=False)
    def _worker(self, config: TrainConfig, source: str, data) -> None:
        from core.data import load_data
        from core.training.lr_find import LrFindControl, LrFindDone, LrStep, lr_find

        worker, control = get_current_worker(), LrFindControl()
        lrs: list[float] = []
        smoothed: list[float] = []
        last = 0.0
        try:
            if data is None:
                data = load_data(source, image_size=config.image_size)
            for ev in lr_find(config, data, control=control):
                if worker.is_cancelled:
                    control.stop()
                if isinstance(ev, LrStep):
                    lrs.append(ev.lr)
                    smoothed.append(ev.smoothed)
                    if time.monotonic() - last > PROGRESS_EVERY:
                        last = time.monotonic()
                        self.post_message(LrFindProgress(list(lrs), list(smoothed), ev.steps))
                elif isinstance(ev, LrFindDone):
                    self.post_message(LrFindFinished(ev))
        except ChexminiError as exc:
            self.post_message(LrFindFinished(error=str(exc)))
        except Exception as exc:  # noqa: BLE001 - shown inline, never a traceback
            self.post_message(LrFindFinished(error=f"{type(exc).__name__}: {exc}"))

    def on_lr_find_progress(self, message: LrFindProgress) -> None:
        if self.done is None:
            self.query_one(LrFindView).show_progress(message.lrs, message.smoothed,
                                                     message.steps)

    def on_lr_find_finished(self, message: LrFindFinished) -> None:
        view = self.query_one(LrFindView)
        if message.error:
            view.show_error(message.error)
            return
        self.done = message.done
        view.show_done(self.done)
        if self.done.suggestion is not None and self.done.stopped != "cancelled":
            self.suggestion = self.done.suggestion.text
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "use":
            return self.suggestion is not None
        return True

    def action_use(self) -> None:
        if self.suggestion is not None:
            self.dismiss(self.suggestion)

    def action_close(self) -> None:
        self.workers.cancel_group(self, "lr-find")
        self.dismiss(None)
