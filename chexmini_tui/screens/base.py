"""What every main screen shares: header, the screen switcher line, footer, and following
the app's active checkpoint (:meth:`BaseScreen.follow_active`)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

#: (mode, key, title) of the main screens, in switcher order.
SCREENS = (
    ("train", "1", "Train"),
    ("gradcheck", "2", "Gradcheck"),
    ("evaluate", "3", "Evaluate"),
    ("inspect", "4", "Inspect"),
    ("predict", "5", "Predict"),
)


class NavBar(Static):
    """`1 Train  2 Gradcheck …` with the current screen highlighted."""

    DEFAULT_CSS = """
    NavBar { height: 1; background: $panel; color: $text-muted; }
    """

    def __init__(self, current: str) -> None:
        parts = []
        for mode, key, title in SCREENS:
            if mode == current:
                parts.append(f"[reverse b] {key} {title} [/]")
            else:
                parts.append(f" [b]{key}[/] {title} ")
        parts.append("  [b]?[/] help  [b]q[/] quit")
        super().__init__("".join(parts), markup=True)


#: the keys of the epoch curves (Train and Inspect): one :class:`CurveView` in the app state
#: (not in the footer, which is full at 80 columns: in the help and the palette)
CURVE_BINDINGS = [
    Binding("e", "curve_smoothing(1)", "smooth curves", show=False,
            tooltip="curves: more EMA smoothing (0 → 0.6 → 0.8 → 0.9 → 0.95 → 0)"),
    Binding("E", "curve_smoothing(-1)", "less smoothing", show=False,
            tooltip="curves: less EMA smoothing"),
    Binding("y", "curve_log", "log loss", show=False,
            tooltip="curves: loss on a log10 axis (again: linear)"),
    Binding("z", "curve_zoom", "zoom", show=False,
            tooltip="curves: the last 50 → 20 → 10 epochs → all"),
]


class BaseScreen(Screen):
    """A main screen: header, switcher, ``compose_body()``, footer.

    Whenever the app's state changes, and whenever the screen shows (after the app has
    checked the active checkpoint's files), :meth:`follow_active` is called: a screen
    that shows anything computed from the active checkpoint redraws or clears it there
    when ``app.state.active`` is not the one it drew from."""

    MODE = ""

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="✚")
        yield NavBar(self.MODE)
        with Container(classes="body"):
            yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_screen_resume(self) -> None:
        self.app.check_checkpoint_files()
        self.follow_active()

    def on_state_changed(self) -> None:
        self.follow_active()

    # -- the epoch curves' view (bound on the screens with curves: CURVE_BINDINGS) -------------
    def action_curve_smoothing(self, step: int) -> None:
        self._set_curves(self.app.state.curves.smoother(step))

    def action_curve_log(self) -> None:
        self._set_curves(self.app.state.curves.log_toggled())

    def action_curve_zoom(self) -> None:
        self._set_curves(self.app.state.curves.zoomed())

    def _set_curves(self, view) -> None:
        self.app.update_state(curves=view)
        self.notify(f"curves: {view.describe() or 'as recorded, all epochs'}", timeout=2,
                    markup=False)

    def follow_active(self) -> None:
        """Bring what the screen shows in step with ``app.state.active`` (see above)."""
