"""``TrainForm``: the Train screen's form for a new run, generated from
:mod:`core.foundation.config_fields` (the table the CLI's flags come from).

One text box per form field (defaults = :class:`~core.foundation.config.TrainConfig` = the published
run), the data source and the output folder, a checkbox per true/false field, a Start
button and an inline error line. Enter in a box or the button posts
:class:`TrainForm.Submitted` with the parsed config; a bad value is shown inline, named
by its label, with the same problem the CLI reports for its flag.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Checkbox, Collapsible, Input, Label, Static

from chexmini_tui.markup import esc
from chexmini_tui.widgets.ordered_input import OrderedInput
from core.data.sources import source_from_text
from core.foundation.checks import ConfigError
from core.foundation.config import TrainConfig
from core.foundation.config_fields import all_form_fields, form_fields, more_fields
from core.foundation.errors import ChexminiError

#: The form's text boxes that are not config fields: (name, label, placeholder).
DATA_ROW = ("data", "data", "")
OUT_ROW = ("out", "out dir", "runs/<time>")


class TrainForm(VerticalScroll):
    """The form; ``read()`` → ``(config, data source, out dir)`` or a ChexminiError."""

    DEFAULT_CSS = """
    TrainForm { width: 36; border-right: vkey $primary 40%; padding: 0 1; }
    TrainForm Button { margin-top: 1; min-width: 12; height: 3; }
    """

    @dataclass
    class Submitted(Message):
        """The form was submitted with valid values (``out`` is ``""`` for the default)."""

        config: TrainConfig
        source: str
        out: str

    @dataclass
    class Refused(Message):
        """The form was submitted with a bad value (``problem``: one line, shown inline)."""

        problem: str

    def compose(self) -> ComposeResult:
        yield Static("[b]New run[/b] [dim](defaults = published run)[/]", markup=True)
        fields = form_fields()
        yield from self._text_row(*DATA_ROW, "")
        for f in fields:
            if f.kind != "bool":
                yield from self._text_row(f.name, f.label, "", f.format(f.default))
        yield from self._text_row(*OUT_ROW, "")
        yield from self._checkboxes(fields)
        more = more_fields()
        with Collapsible(title=f"more settings ({len(more)})", collapsed=True, id="form-more"):
            for f in more:
                if f.kind != "bool":
                    yield from self._text_row(f.name, f.label, "", f.format(f.default))
            yield from self._checkboxes(more)
        yield Button("Start (s)", id="start", variant="success")
        yield Static("", id="form-error")

    @staticmethod
    def _checkboxes(fields) -> ComposeResult:
        for f in fields:
            if f.kind == "bool":
                with Horizontal(classes="form-row"):
                    yield Label(f.label, classes="form-label")
                    yield Checkbox(f.note or f.label, value=f.default, id=f"f-{f.name}")

    @staticmethod
    def _text_row(name: str, label: str, placeholder: str, value: str) -> ComposeResult:
        with Horizontal(classes="form-row"):
            yield Label(label, classes="form-label")
            yield OrderedInput(value=value, id=f"f-{name}", placeholder=placeholder)

    # -- values -------------------------------------------------------------------------------
    def text(self, name: str) -> str:
        """The text of box ``name`` (a form field, ``data`` or ``out``), stripped."""
        return self.query_one(f"#f-{name}", Input).value.strip()

    def set_text(self, name: str, value: str) -> None:
        self.query_one(f"#f-{name}", Input).value = value

    def values(self) -> dict[str, str | bool]:
        """Every box's text and every checkbox's state, by field name."""
        out: dict[str, str | bool] = {name: self.text(name) for name in ("data", "out")}
        for f in all_form_fields():
            out[f.name] = (self.query_one(f"#f-{f.name}", Checkbox).value if f.kind == "bool"
                           else self.text(f.name))
        return out

    def read(self) -> tuple[TrainConfig, str, str]:
        """``(config, data source, out dir)``; a one-line ChexminiError naming the label."""
        return read_form(self.values())

    # -- errors and submitting ------------------------------------------------------------------
    def show_error(self, problem: str) -> None:
        """Show ``problem`` under the Start button (wrapped, in full); ``""`` clears it."""
        self.query_one("#form-error", Static).update(
            f"[red]✗ {esc(problem)}[/]" if problem else "")

    def submit(self) -> None:
        """Read the form: post :class:`Submitted`, or show the problem and ring the bell."""
        try:
            config, source, out = self.read()
        except ChexminiError as exc:
            self.show_error(str(exc))
            self.app.bell()
            self.post_message(self.Refused(str(exc)))
            return
        self.post_message(self.Submitted(config, source, out))

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit()

    @on(Button.Pressed, "#start")
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.submit()


def read_form(values: dict[str, str | bool]) -> tuple[TrainConfig, str, str]:
    """``(config, data source, out dir)`` from the form's values (texts by field name,
    booleans for checkboxes); each text is read by :meth:`ConfigField.parse`, the reader
    of the CLI's flags, and a bad one is one line naming the field by its form label."""
    cfg = TrainConfig()
    fields = all_form_fields()
    for f in fields:
        value = values.get(f.name, f.default)
        try:
            setattr(cfg, f.name, bool(value) if f.kind == "bool" else f.parse(str(value)))
        except ConfigError as exc:
            raise exc.named(f.label) from None
    try:
        cfg.validate()
    except ConfigError as exc:   # e.g. the model size, lr_min vs lr
        labels = {f.name: f.label for f in fields}
        if exc.field in labels:
            raise exc.named(labels[exc.field]) from None
        raise
    try:
        source = source_from_text(str(values.get("data", "")))
    except ChexminiError as exc:
        raise ChexminiError(f"data: {exc.problem}") from None
    return cfg, source, str(values.get("out", "")).strip()
