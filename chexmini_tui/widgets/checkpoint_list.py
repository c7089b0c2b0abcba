"""``CheckpointList``: the checkpoint folders of the Inspect screen, one item each.

Each item shows two marker columns — ``▶`` the active checkpoint, ``A`` the one marked
for comparison — then the folder's full path (wrapped, never cut) and, when it is not a
checkpoint, what it is instead (``training now``, ``unfinished``, ``empty``, ``missing``).
:meth:`CheckpointList.relabel` redraws the markers and statuses in place (no rebuild,
the highlight stays), so the screen can keep them current cheaply.
"""

from __future__ import annotations

from rich.text import Text
from textual.containers import Horizontal
from textual.widgets import Label, ListItem, ListView

from core.catalog import Entry

STATUS_TAG = {"ok": ("", ""), "training": ("training now", "yellow"),
              "unfinished": ("unfinished", "yellow"), "missing": ("missing", "dim"),
              "empty": ("empty", "dim")}
LEGEND = "▶ active  A compared"


def markers(active: bool, marked: bool) -> Text:
    text = Text()
    text.append("▶" if active else " ", style="bold green")
    text.append("A" if marked else " ", style="bold yellow")
    return text


def entry_label(entry: Entry, active: bool) -> Text:
    text = Text(entry.path, style="bold" if active else "")
    tag, style = STATUS_TAG.get(entry.status, (entry.status, "dim"))
    if tag:
        text.append(f" ({tag})", style=style)
    return text


class CheckpointList(ListView):
    DEFAULT_CSS = """
    CheckpointList { height: 1fr; }
    CheckpointList > ListItem > Horizontal { height: auto; }
    CheckpointList .ckpt-markers { width: 3; }
    CheckpointList .ckpt-name { width: 1fr; height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.entries: list[Entry] = []
        self._labels: list[tuple[Label, Label]] = []

    def set_entries(self, entries: list[Entry], active: str, marked: str | None) -> None:
        self.entries = list(entries)
        self.clear()
        self._labels = []
        for e in entries:
            pair = (Label(markers(e.path == active, e.path == marked), classes="ckpt-markers"),
                    Label(entry_label(e, e.path == active), classes="ckpt-name"))
            self._labels.append(pair)
            self.append(ListItem(Horizontal(*pair)))

    def relabel(self, active: str, marked: str | None) -> None:
        for (mk, name), e in zip(self._labels, self.entries, strict=True):
            mk.update(markers(e.path == active, e.path == marked))
            name.update(entry_label(e, e.path == active))

    def rows(self) -> list[str]:
        """Each item as shown: markers and name (what tests read)."""
        return [f"{mk.content}{name.content}" for mk, name in self._labels]
