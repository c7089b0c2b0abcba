"""``RunStatusLine``: the Train screen's one- or two-line run status.

First line: the lifecycle state (``● running``, coloured), the data source and run
folder, the best validation AUC and its epoch, the live loss and learning rate, when the
resume state was last saved, the heads of the data warnings, and skipped bad log lines.
Second line (dim, or red for an error): what is happening or what to do next.
"""

from __future__ import annotations

from textual.widgets import Static

from chexmini_tui.markup import esc
from chexmini_tui.state import RunDisplayState

STATE_STYLE = {"idle": "dim", "loading": "yellow", "running": "green", "paused": "yellow",
               "stopping": "yellow", "finished": "bold green", "aborted": "yellow",
               "error": "bold red", "attached": "cyan"}
#: The second line of an idle screen with nothing else to say.
IDLE_HINT = "fill in the form; Enter or s starts the run (? for help)"
SQUEEZE_HINT = "; f hides the form and shows the plots"


def status_parts(st: RunDisplayState, status: str, attached: bool) -> list[str]:
    """The first line's parts (Rich markup) for ``st`` in lifecycle state ``status``."""
    shown = status
    if attached:
        shown = "attached · finished" if st.finished else (
            "attached · paused" if st.paused else "attached")
    elif st.finished is not None and status not in ("loading", "error", "idle"):
        shown = "finished"
    parts = [f"[{STATE_STYLE.get(status, '')}]● {shown}[/]"]
    if st.source:
        parts.append(esc(f"{st.source} → {st.out_dir}" if st.out_dir else st.source))
    if st.best_auc is not None:
        parts.append(f"best val AUC [b]{st.best_auc:.4f}[/] @ epoch {st.best_epoch}")
    if st.loss is not None and not st.finished:
        parts.append(f"loss {st.loss:.4f}")
    if st.lr is not None and not st.finished:
        parts.append(f"lr {st.lr:.2e}")
    if st.last_save and not st.finished:
        parts.append(f"[dim]resume state saved at {st.last_save}[/]")
    if st.warnings:
        heads = " · ".join(w.split(": ", 1)[0] for w in st.warnings)
        parts.append(f"[yellow]⚠ {esc(heads)} (log: t)[/]")
    if st.bad_lines:
        parts.append(f"[yellow]{st.bad_lines} bad lines skipped[/]")
    return parts


class RunStatusLine(Static):
    DEFAULT_CSS = """
    RunStatusLine { height: auto; max-height: 6; }
    """

    def show(self, st: RunDisplayState, status: str, detail: str, *, attached: bool,
             squeezed: bool) -> None:
        """Draw ``st``; ``detail`` is the second line (an idle hint when empty;
        ``squeezed``: the form hides the plots, so the hint says how to see them)."""
        text = "  ".join(status_parts(st, status, attached))
        if status == "idle" and not attached and not detail:
            detail = IDLE_HINT + (SQUEEZE_HINT if squeezed else "")
        if detail:
            color = "red" if status == "error" else "dim"
            text += f"\n[{color}]{esc(detail)}[/]"
        self.update(text)
