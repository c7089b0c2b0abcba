"""Inspect's dialogs: the run filter (``/``), deleting a run (``D``, asks first), the
settings that differ between the marked runs (``v``) and a sweep's trials (``S``). Each
shows its own keys."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Static

from chexmini_tui.markup import esc
from core.foundation.numbers import is_number, show
from core.sweep.summary import best_row, counts, setting_effects

DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{ width: 76; max-width: 100%; height: auto; max-height: 90%;
                     border: round $accent; background: $surface; padding: 0 1; }}
"""


class FilterPrompt(ModalScreen[str | None]):
    """Dismisses with the filter text ("" clears it) or None (Esc: unchanged)."""

    DEFAULT_CSS = DIALOG_CSS.format(name="FilterPrompt")
    BINDINGS = [Binding("escape", "cancel", "keep the filter")]

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("[b]Filter the runs[/b]: every word must appear in the row (name, "
                         "status, data, settings); empty shows all. Enter applies.")
            yield Input(self.current, placeholder="e.g. adam 0.3 finished", id="filter-text")
        yield Footer()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDelete(ModalScreen[bool]):
    """Asks before deleting ``path`` for good: ``y`` deletes, ``n``/Esc keeps it."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ConfirmDelete")
    BINDINGS = [Binding("y", "answer(True)", "delete it"),
                Binding("n,escape", "answer(False)", "keep it")]

    def __init__(self, path: str, what: str) -> None:
        super().__init__()
        self.path, self.what = path, what

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"[b]Delete {esc(self.path)}?[/b]\n{esc(self.what)}\n"
                         "The folder and every file in it are removed for good.\n"
                         "[b]y[/b] delete   [b]n[/b] / [b]esc[/b] keep it")
        yield Footer()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class ConfigDiff(ModalScreen[None]):
    """The settings that differ between the marked runs (one column per run)."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ConfigDiff").replace("width: 76", "width: 110")
    BINDINGS = [Binding("escape,v,q", "close", "close")]

    def __init__(self, names: list[str], rows: list[tuple[str, list[str]]],
                 unread: list[str]) -> None:
        super().__init__()
        self.names, self.rows, self.unread = names, rows, unread

    def compose(self) -> ComposeResult:
        with Vertical(), VerticalScroll():
            yield Static(self._table())
        yield Footer()

    def _table(self) -> Table | str:
        if not self.rows:
            same = "the same settings" if len(self.names) > 1 else "one run only: mark two"
            return f"{', '.join(map(esc, self.names))}: {same}" + self._unread()
        table = Table(title="settings that differ between the marked runs",
                      caption=self._unread().strip() or None, expand=True)
        table.add_column("setting", style="bold cyan", no_wrap=True)
        for name in self.names:
            table.add_column(Text(name), overflow="fold")
        for key, values in self.rows:                   # read from files: shown as text
            table.add_row(Text(key), *map(Text, values))
        return table

    def _unread(self) -> str:
        return "".join(f"\n{u}" for u in self.unread)

    def action_close(self) -> None:
        self.dismiss(None)


class SweepView(ModalScreen[None]):
    """A sweep's trials, best validation AUC first (the best highlighted; pruned marked),
    and which setting matters (:func:`core.sweep.summary.setting_effects`)."""

    DEFAULT_CSS = DIALOG_CSS.format(name="SweepView").replace("width: 76", "width: 110")
    BINDINGS = [Binding("escape,S,q", "close", "close")]

    def __init__(self, name: str, rows: list[dict]) -> None:
        super().__init__()
        self.sweep, self.rows = name, rows

    def compose(self) -> ComposeResult:
        with Vertical(), VerticalScroll():
            yield Static(self._trials())
            yield Static(self._effects())
        yield Footer()

    def _trials(self) -> Table:
        best = best_row(self.rows)
        settings = list(dict.fromkeys(k for r in self.rows for k in r["params"]))
        said = ", ".join(f"{n} {s}" for s, n in counts(self.rows).items())
        table = Table(title=Text(f"sweep {self.sweep}: {said} — ranked by validation AUC "
                                 "(the test split never chooses)"), expand=True)
        for head in ("trial", "state", "val AUC", *settings):
            table.add_column(Text(head), no_wrap=head != "state")
        ranked = sorted(self.rows, key=lambda r: (r["value"] is None, -(r["value"] or 0)))
        for r in ranked:
            cells = [f"{r['number']:03d}", r["state"], _num(r["value"], ".4f"),
                     *(_num(r["params"].get(k), ".3g") for k in settings)]
            style = "bold reverse green" if r is best else ("dim" if r["state"] == "pruned"
                                                            else "")
            table.add_row(*map(Text, cells), style=style)
        return table

    def _effects(self) -> Text:
        text = Text("\nwhich setting matters (complete trials):\n", style="bold")
        for name, effect in setting_effects(self.rows).items():
            if "spearman" in effect:
                rho = effect["spearman"]
                text.append(f"  {name}: Spearman ρ with val AUC "
                            f"{_num(rho, '+.2f')} over {effect['n']} trials\n")
            else:
                parts = ", ".join(f"{_num(v, '.3g')} → {a:.4f} (n={n})"
                                  for v, a, n in effect["by_value"])
                text.append(f"  {name}: mean val AUC by value: {parts}\n")
        return text

    def action_close(self) -> None:
        self.dismiss(None)


def _num(value, spec: str) -> str:
    """A number as shown, or the value as text (``—`` for None)."""
    if value is None:
        return "—"
    return show(value, spec) if is_number(value) else str(value)
