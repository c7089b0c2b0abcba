"""README.md's key table against the app's real bindings: every key the app binds (with a
description) has a row where it works, every row names a key that is bound there (or one
Textual's own widgets handle), and the key table is kept in one place only."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pytest
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget

import chexmini_tui.screens
import chexmini_tui.widgets
from chexmini_tui.app import ChexminiApp
from chexmini_tui.keymap import GLOBAL_BINDINGS, MODES
from chexmini_tui.screens.base import SCREENS
from chexmini_tui.screens.filters import FiltersScreen
from chexmini_tui.screens.gallery import GalleryScreen
from chexmini_tui.screens.help import HelpScreen
from chexmini_tui.screens.inspect_dialogs import (
    ConfigDiff,
    ConfirmDelete,
    FilterPrompt,
    SweepView,
)
from chexmini_tui.screens.lr_find import LrFindScreen
from chexmini_tui.screens.quit import QuitScreen
from chexmini_tui.widgets.epoch_table import EpochTable
from chexmini_tui.widgets.path_box import PathBox
from chexmini_tui.widgets.run_table import RunTable
from tests.helpers import REPO

pytestmark = pytest.mark.usefixtures("one_blas_thread")

EVERYWHERE = "everywhere"
#: screen class -> its "where" in the table
SCREEN_PLACES = {**{MODES[mode]: title for mode, _, title in SCREENS},
                 GalleryScreen: "Gallery", FiltersScreen: "Filters", HelpScreen: "help screen",
                 QuitScreen: "quit dialog", LrFindScreen: "lr-find dialog",
                 FilterPrompt: "filter dialog", ConfirmDelete: "delete dialog",
                 ConfigDiff: "diff dialog", SweepView: "sweep dialog"}
#: widget class with keys of its own -> the screen it is on
WIDGET_PLACES = {EpochTable: "Train", PathBox: "Predict", RunTable: "Inspect"}
#: keys a row may name that Textual's own widgets handle (no binding of ours)
BUILT_IN = {
    "forms": {"enter"},                         # Input submits
    "Evaluate": {"down", "pagedown", "end"},    # the page scrolls
    "Inspect": {"up", "down"},                  # the runs table's cursor
    "Predict": {"enter"},                       # the file tree / path box select
}
#: how the README writes a key -> Textual's key name
NAMES = {"←": "left", "→": "right", "↑": "up", "↓": "down", "?": "question_mark",
         "esc": "escape", "/": "slash"}


def key_name(written: str) -> str:
    """`shift+←` -> shift+left, `Esc` -> escape, `O` -> O (one letter keeps its case)."""
    *mods, last = written.split("+")
    if len(last) == 1:
        last = NAMES.get(last, last)
    else:
        last = NAMES.get(last.lower(), last.lower())
    return "+".join([*(m.lower() for m in mods), last])


def readme_rows(text: str) -> list[tuple[str, set[str]]]:
    """(where, {key names}) of each row of the table under README's ``### Keys``."""
    lines = text[text.index("\n### Keys\n"):].splitlines()[1:]
    start = next(i for i, line in enumerate(lines) if line.startswith("| where |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        assert len(cells) == 3, f"README.md key table: not 3 cells: {line}"
        rows.append((cells[0], {key_name(k) for k in re.findall(r"`([^`]+)`", cells[1])}))
    return rows


def bound(bindings) -> list[tuple[str, str]]:
    """(key, description) of every key of ``bindings`` that has a description."""
    out = []
    for b in bindings:
        b = b if isinstance(b, Binding) else Binding(*b)
        out += [(k.strip(), b.description) for k in b.key.split(",") if b.description]
    return out


def global_bindings() -> list[tuple[str, str]]:
    palette = [ChexminiApp.COMMAND_PALETTE_BINDING] if ChexminiApp.ENABLE_COMMAND_PALETTE else []
    return bound([*GLOBAL_BINDINGS, *(Binding(k, "command_palette", "palette") for k in palette)])


def place_bindings() -> dict[str, list[tuple[str, str]]]:
    """where -> (key, description) of everything bound there."""
    places: dict[str, list[tuple[str, str]]] = {EVERYWHERE: global_bindings()}
    for cls, where in [*SCREEN_PLACES.items(), *WIDGET_PLACES.items()]:
        places.setdefault(where, []).extend(bound(cls.__dict__["BINDINGS"]))
    return places


def classes_with_bindings(package, base: type) -> set[type]:
    """Every ``base`` subclass defined in ``package``'s modules with BINDINGS of its own."""
    found = set()
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (cls.__module__ == module.__name__ and issubclass(cls, base)
                    and cls.__dict__.get("BINDINGS")):
                found.add(cls)
    return found


def missing_rows(readme: str) -> list[str]:
    """The app's keys that README's table has no row for, as "where `key` (description)"."""
    rows = readme_rows(readme)
    keys_at: dict[str, set[str]] = {}
    for where, keys in rows:
        keys_at.setdefault(where, set()).update(keys)
    everywhere = dict(global_bindings())
    missing = []
    for where, keys in place_bindings().items():
        for key, desc in keys:
            if key in keys_at.get(where, ()):
                continue
            if key in keys_at.get(EVERYWHERE, ()) and everywhere.get(key) == desc:
                continue        # the same key doing the same as everywhere (Esc: leave field)
            missing.append(f"{where} `{key}` ({desc})")
    return missing


def test_every_screen_and_widget_with_keys_is_checked():
    assert classes_with_bindings(chexmini_tui.screens, Screen) == set(SCREEN_PLACES)
    assert classes_with_bindings(chexmini_tui.widgets, Widget) == set(WIDGET_PLACES)


def test_every_bound_key_has_a_row_in_the_readme_key_table():
    missing = missing_rows((REPO / "README.md").read_text(encoding="utf-8"))
    assert not missing, "README.md's key table has no row for: " + ", ".join(missing)


def test_every_key_in_the_readme_key_table_is_bound_there():
    places = {where: {k for k, _ in keys} for where, keys in place_bindings().items()}
    stale = [f"{where} `{key}`"
             for where, keys in readme_rows((REPO / "README.md").read_text(encoding="utf-8"))
             for key in sorted(keys)
             if key not in places.get(where, set()) | BUILT_IN.get(where, set())]
    assert not stale, "README.md's key table names keys that are not bound: " + ", ".join(stale)


def test_a_deleted_row_is_named():
    """The check is not vacuous: without Inspect's sort row, `o` and `O` are missing."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| Inspect | `o` / `O` |"))
    assert missing_rows(readme.replace(row + "\n", "")) == [
        "Inspect `o` (sort)", "Inspect `O` (reverse sort)"]


def test_the_key_table_is_kept_in_one_place():
    """docs/tui/README.md points to README.md's table instead of keeping a copy."""
    text = (REPO / "docs" / "tui" / "README.md").read_text(encoding="utf-8")
    assert "| where | key |" not in text and "README.md#keys" in text


def _footer_keys(app) -> set[str]:
    """What the footer on show offers: the descriptions of the shown, active bindings."""
    return {b.binding.description for b in app.screen.active_bindings.values()
            if b.binding.show}


@pytest.mark.parametrize("dialog", [HelpScreen, QuitScreen])
def test_dialogs_show_their_own_keys_not_the_screen_below(dialog):
    import asyncio

    from textual.widgets import Footer

    async def go():
        app = ChexminiApp(start="train")
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.3)
            below = _footer_keys(app)
            assert "start" in " ".join(below)          # the Train screen's own keys
            app.push_screen(dialog())
            await pilot.pause(0.3)
            assert isinstance(app.screen, dialog) and app.screen.query(Footer)
            own = {b.description for b in dialog.BINDINGS if b.show}
            assert _footer_keys(app) == own

    asyncio.run(go())


def test_help_lists_the_command_palette():
    rows = dict(global_keys_rows())
    assert "ctrl+p" in rows and "command palette" in rows["ctrl+p"]


def global_keys_rows():
    from chexmini_tui.screens.help import global_keys

    return global_keys()
