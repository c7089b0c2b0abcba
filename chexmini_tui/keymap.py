"""The app's tables: the main screens by mode, and the keys that work everywhere.

:class:`chexmini_tui.app.ChexminiApp` is built from them and the help screen lists them,
so the help screen needs no import of the app (nor the app a second copy of its keys).
"""

from __future__ import annotations

from textual.binding import Binding

from chexmini_tui.screens.base import SCREENS
from chexmini_tui.screens.evaluate import EvaluateScreen
from chexmini_tui.screens.gradcheck import GradcheckScreen
from chexmini_tui.screens.inspect import InspectScreen
from chexmini_tui.screens.predict import PredictScreen
from chexmini_tui.screens.train import TrainScreen

#: mode -> screen class of each main screen (each mode has its own screen stack).
MODES = {
    "train": TrainScreen,
    "gradcheck": GradcheckScreen,
    "evaluate": EvaluateScreen,
    "inspect": InspectScreen,
    "predict": PredictScreen,
}

#: The app-wide keys: 1–5 switch screens, ? / f1 open the help, q / ctrl+q quit,
#: ctrl+p the command palette (Textual's own binding). The switcher line above every
#: screen already shows 1–5, ? and q, so the footer keeps its width for the screen's
#: keys (at 80 columns) and shows only what that line cannot: ``esc`` to leave a text
#: field while one has focus (then q, ? and 1–5 type into it) and ^p, docked right.
GLOBAL_BINDINGS = [
    *(Binding(key, f"show('{mode}')", f"{title} screen", show=False)
      for mode, key, title in SCREENS),
    Binding("question_mark", "help", "help", show=False),
    Binding("f1", "help", "help", show=False),
    Binding("q", "request_quit", "quit", show=False),
    Binding("ctrl+q", "request_quit", "quit", show=False),
    Binding("escape", "leave_field", "leave field"),
    # Tab in a text field moves the focus before the next key is routed, so a burst
    # ("Tab 5 0" arriving in one read over SSH) types into the field it was meant for
    # (see chexmini_tui/widgets/ordered_input.py for the same problem inside a field).
    Binding("tab", "field_tab(1)", "next field", show=False, priority=True),
    Binding("shift+tab", "field_tab(-1)", "previous field", show=False, priority=True),
]
