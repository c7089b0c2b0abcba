"""``RunLog``: the Train screen's log of a run (``RunDisplayState.log`` lines, appended)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from chexmini_tui.state import RunDisplayState


class RunLog(RichLog):
    """A scrollable log that shows each line of ``RunDisplayState.log`` once."""

    DEFAULT_CSS = """
    RunLog { height: 7; border-top: hkey $primary 40%; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, max_lines=5000, wrap=True, markup=False)
        self.logged = 0     # lines of the run's log written so far

    def sync(self, st: RunDisplayState) -> None:
        """Write the lines of ``st.log`` not written yet, in one write (each write costs
        a re-layout)."""
        new = st.log[self.logged:]
        if new:
            self.write(Text("\n".join(new)))
        self.logged = len(st.log)

    def reset(self) -> None:
        """Empty the log for a new run."""
        self.clear()
        self.logged = 0
