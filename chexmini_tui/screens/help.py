"""The help screen (``?``): every key of every screen, and what stop/quit/attach do."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from chexmini_tui.keymap import GLOBAL_BINDINGS, MODES
from chexmini_tui.screens.base import SCREENS

NOTES = """\
[b]Stopping a run[/b]
  [b]x[/b] stop    control.stop(): the engine finishes at the next step — best checkpoint
          restored, test split scored once, all artifacts written to the run folder.
  [b]p[/b] pause   the worker simply stops pulling the training generator (no CPU used).
  [b]w[/b] save    control.save_now(): RUN/resume.npz is written at the next step
          (while paused: right after you resume).
  [b]r[/b] resume  continue an interrupted run (RUN/resume.npz): the form's out dir, or
          the newest interrupted run under runs/ — ends bit-identical to an
          uninterrupted run; its earlier epochs are replayed from events.jsonl.
[b]Quitting while training[/b] (q / ctrl+q) asks first:
  [b]s[/b] stop cleanly, then quit — control.stop(); the app exits once the artifacts
          are written (this is the default).
  [b]a[/b] abort now — generator.close(): the engine saves RUN/resume.npz and stops at
          once; continue later with  r  (Train) or  chexmini train --resume RUN.
  [b]esc[/b] keep training.
[b]Attach (SSH)[/b]
  Start a long run with the CLI (e.g. inside tmux/nohup):
      chexmini train --data … --out runs/big
  then, any time, from any terminal:  chexmini-tui --attach runs/big
  The Train screen follows runs/big/events.jsonl read-only (polled twice a second);
  detaching or quitting never touches the run. A finished run shows its final state.
  In Inspect, [b]a[/b] attaches to the highlighted run.
[b]Forms[/b]  type into a field; Enter submits; Esc leaves the field so keys work again."""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "close help")]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 92; max-width: 100%; height: 90%; border: round $accent;
        background: $surface; padding: 0 1;
    }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self._keys_table())
            yield Static(NOTES, markup=True)

    def _keys_table(self) -> Table:
        table = Table(title="chexmini-tui — keys", title_style="bold", expand=True,
                      padding=(0, 1))
        table.add_column("where", style="bold cyan", no_wrap=True)
        table.add_column("key", style="bold", no_wrap=True)
        table.add_column("action")
        for key, desc in global_keys():
            table.add_row("everywhere", key, desc)
        for mode, _, title in SCREENS:
            for key, desc in screen_keys(MODES[mode]):
                table.add_row(title, key, desc)
        table.add_row("help", "esc / ?", Text("close this help"))
        return table

    async def action_dismiss(self, result=None) -> None:
        self.dismiss(result)


def _fmt_key(key: str) -> str:
    names = {"question_mark": "?", "left": "←", "right": "→", "shift+left": "shift+←",
             "shift+right": "shift+→", "enter": "enter", "escape": "esc", "slash": "/"}
    return " / ".join(names.get(k.strip(), k.strip()) for k in key.split(","))


def _bindings(bindings) -> list[tuple[str, str]]:
    rows = []
    for b in bindings:
        if isinstance(b, Binding):
            rows.append((_fmt_key(b.key), b.description))
        else:
            rows.append((_fmt_key(b[0]), b[2] if len(b) > 2 else b[1]))
    return rows


def global_keys() -> list[tuple[str, str]]:
    """The app-wide keys, as (key, description) rows."""
    return _bindings(GLOBAL_BINDINGS)


def screen_keys(cls) -> list[tuple[str, str]]:
    """The keys of one screen class, as (key, description) rows."""
    return _bindings(cls.BINDINGS)
