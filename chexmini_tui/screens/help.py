"""The help screen (``?``): every key of every screen, and what stopping, quitting,
Predict's path box and attaching do — in a user's words."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from chexmini_tui.keymap import GLOBAL_BINDINGS, MODES
from chexmini_tui.screens.base import SCREENS
from chexmini_tui.screens.filters import FiltersScreen
from chexmini_tui.screens.gallery import GalleryScreen

NOTES = """\
[b]Stopping a run[/b]
  [b]x[/b] stop    finish the run early: training stops after the current
          step, the best epoch's weights are kept, the test split is
          scored once and the model, metrics and plots are written.
  [b]p[/b] pause   training waits, using no CPU, until you press p again.
  [b]w[/b] save    write a resume point (RUN/resume.npz) after the current
          step, so the run can go on later even if the machine stops.
  [b]r[/b] resume  continue an interrupted run from its resume point: the
          form's out folder, or else the newest interrupted run under
          runs/. It ends exactly as if it had never stopped.
[b]Quitting while training[/b] (q / ctrl+q) asks first:
  [b]s[/b]   stop cleanly, then quit: finishes the run as x does and
        quits once the results are written (the default).
  [b]a[/b]   quit now: saves a resume point and quits at once; continue
        later with r on Train, or  chexmini train --resume RUN.
  [b]esc[/b] go back and keep training.
[b]Evaluate[/b]
  [b]o[/b] operating point: the threshold chosen by a rule on the
  validation scores, in turn Youden's J → sensitivity ≥ 0.90 →
  specificity ≥ 0.90 (the rule shows beside the threshold; the
  CLI's evaluate --target-sensitivity S --save keeps one for good).
[b]Predict[/b]
  [b]o[/b] opens the path box: ~, .., absolute paths, or paths relative
  to the tree's folder; Tab completes a file or folder name. Enter on
  a file predicts it; on a folder, the tree moves there and every
  image in it is predicted. [b]u[/b] moves the tree up a folder, [b]a[/b]
  predicts the folder under the cursor.
  With a labels.csv, an NIH Data_Entry CSV, or normal/ and abnormal/
  folders beside the images, the true label is shown with ✓ or ✗ and
  a folder's accuracy. "⚠ not X-ray-like" means the image is far
  from the training X-rays (brightness, contrast or texture): its
  probability means little.
[b]Attach (SSH)[/b]
  Start a long run with the CLI (e.g. inside tmux or nohup):
      chexmini train --data … --out runs/big
  then, any time, from any terminal:
      chexmini-tui --attach runs/big
  The Train screen follows that run and only watches it: detaching or
  quitting never stops it. A finished run shows its final state.
  In Inspect, [b]a[/b] attaches to the highlighted run.
[b]Inspect[/b]
  Every run folder in one table; [b]o[/b] sorts by the next column, [b]O[/b]
  reverses. Running means a live process holds the run's lock;
  interrupted, that it stopped before writing its artifacts.
  [b]m[/b] marks any number of runs: their validation AUC and loss
  curves share one pair of charts. [b]c[/b] clears the marks.
[b]Forms[/b]  type into a field; Enter submits; Esc leaves the field so
  the keys work again."""


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
        yield Footer()          # this dialog's own keys, not the screen's below

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
        for key, desc in screen_keys(GalleryScreen):
            table.add_row("Gallery", key, desc)
        for key, desc in screen_keys(FiltersScreen):
            table.add_row("Filters", key, desc)
        table.add_row("help", "esc / ?", Text("close this help"))
        return table

    async def action_dismiss(self, result=None) -> None:
        self.dismiss(result)


def _fmt_key(key: str) -> str:
    names = {"question_mark": "?", "left": "←", "right": "→", "shift+left": "shift+←",
             "shift+right": "shift+→", "enter": "enter", "escape": "esc", "slash": "/",
             "up": "↑", "down": "↓"}
    return " / ".join(names.get(k.strip(), k.strip()) for k in key.split(","))


def _bindings(bindings) -> list[tuple[str, str]]:
    rows = []
    for b in bindings:
        if isinstance(b, Binding):
            rows.append((_fmt_key(b.key), b.tooltip or b.description))
        else:
            rows.append((_fmt_key(b[0]), b[2] if len(b) > 2 else b[1]))
    return rows


def global_keys() -> list[tuple[str, str]]:
    """The app-wide keys, as (key, description) rows (with Textual's command palette)."""
    palette = ("ctrl+p", "command palette: every action by name (start, stop, open a "
                         "checkpoint, attach, export …)")
    return [*_bindings(GLOBAL_BINDINGS), palette]


def screen_keys(cls) -> list[tuple[str, str]]:
    """The keys of one screen class, as (key, description) rows."""
    return _bindings(cls.BINDINGS)
