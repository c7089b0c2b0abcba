"""Quit confirmation while a run is in progress."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static


class QuitScreen(ModalScreen[str | None]):
    """Dismisses with ``"stop"`` (control.stop: finish cleanly, then quit), ``"abort"``
    (generator.close: resume.npz saved, quit now) or ``None`` (keep training)."""

    BINDINGS = [
        Binding("s,enter", "choose('stop')", "stop cleanly & quit"),
        Binding("a", "choose('abort')", "abort (resumable) & quit"),
        Binding("escape,n", "choose(None)", "keep training"),
    ]

    DEFAULT_CSS = """
    QuitScreen { align: center middle; }
    QuitScreen > Vertical {
        width: 72; max-width: 100%; height: auto; border: thick $warning;
        background: $surface; padding: 1 2;
    }
    QuitScreen Horizontal { height: auto; margin-top: 1; }
    QuitScreen Button { margin-right: 1; }
    """

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                "[b]A training run is in progress.[/b]\n\n"
                "[b]s[/b]  stop cleanly, then quit: the best checkpoint is restored, the test "
                "split scored and all artifacts written.\n"
                "[b]a[/b]  abort now: resume.npz is saved; continue later with "
                "[i]chexmini train --resume RUN[/i] (or r on the Train screen).\n"
                "[b]esc[/b] keep training.", markup=True)
            with Horizontal():
                yield Button("Stop & quit (s)", id="stop", variant="warning")
                yield Button("Abort (a)", id="abort", variant="error")
                yield Button("Cancel (esc)", id="cancel")
        yield Footer()          # this dialog's own keys, not the Train screen's
    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss({"stop": "stop", "abort": "abort"}.get(event.button.id or ""))

    def action_choose(self, choice: str | None) -> None:
        self.dismiss(choice)
