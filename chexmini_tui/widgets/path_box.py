"""A one-line path box that goes anywhere: ``~``, ``..``, absolute or relative paths
(relative to a base folder the screen sets, e.g. the file tree's folder), and Tab
completion of the last path component (folders and image files).

Tab completes as far as the candidates agree; when several remain they are posted in a
:class:`PathBox.Candidates` message for the screen to show.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from textual.binding import Binding
from textual.message import Message

from chexmini_tui.widgets.ordered_input import OrderedInput
from core.data.images import is_image_file

MAX_CANDIDATES = 50


def resolve(text: str, base: str | os.PathLike[str]) -> Path:
    """The path ``text`` means: ``~`` expanded, relative paths taken from ``base``,
    ``..`` resolved."""
    p = Path(text.strip()).expanduser()
    if not p.is_absolute():
        p = Path(base) / p
    return Path(os.path.normpath(p))


def complete(text: str, base: str | os.PathLike[str]) -> tuple[str, list[str]]:
    """Complete the last component of ``text``: ``(new text, candidate names)``.

    Only folders and image files are offered; a single folder gets a trailing ``/``.
    Hidden entries are offered only when the typed prefix starts with a dot."""
    head, sep, prefix = text.rpartition("/")
    folder_text = head + sep if sep else ""
    if folder_text == "" and text in ("~", ".."):
        return text + "/", []
    folder = resolve(folder_text or ".", base) if folder_text != "/" else Path("/")
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return text, []
    names = []
    for e in entries:
        if not e.name.startswith(prefix) or (e.name.startswith(".") and
                                             not prefix.startswith(".")):
            continue
        try:
            is_dir = e.is_dir()
        except OSError:
            continue
        if is_dir:
            names.append(e.name + "/")
        elif is_image_file(e.name):
            names.append(e.name)
    if not names:
        return text, []
    common = os.path.commonprefix(names)
    new = folder_text + common
    return new, ([] if len(names) == 1 else names[:MAX_CANDIDATES])


class PathBox(OrderedInput):
    """An :class:`OrderedInput` for a path, with Tab completion relative to ``base``."""

    DEFAULT_CSS = """
    PathBox { height: 1; border: none; padding: 0 1; background: $boost; }
    PathBox:focus { background: $primary 30%; }
    """

    BINDINGS = [Binding("tab", "complete", "complete", priority=True),
                 Binding("escape", "screen.blur", "leave box")]

    @dataclass
    class Candidates(Message):
        """Several completions remain (``names``), or none (empty list)."""

        box: PathBox
        names: list[str]

        @property
        def control(self) -> PathBox:
            return self.box

    def __init__(self, *args, base: str | os.PathLike[str] = ".", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.base = str(base)

    def resolved(self) -> Path:
        return resolve(self.value or ".", self.base)

    def action_complete(self) -> None:
        new, names = complete(self.value, self.base)
        if new != self.value:
            self.value = new
            self.cursor_position = len(new)
        self.post_message(self.Candidates(self, names))
