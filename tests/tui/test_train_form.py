"""The Train form (``chexmini_tui.widgets.train_form``) and the CLI's flags come from
one table (``core.foundation.config_fields``): same defaults, same reader, same problems."""

from __future__ import annotations

import asyncio

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Checkbox, Input

from chexmini_cli.main import _parser, main
from chexmini_cli.options import config_from_args
from chexmini_tui.widgets.train_form import TrainForm, read_form
from core.foundation.config import TrainConfig
from core.foundation.config_fields import CONFIG_FIELDS, form_fields
from core.foundation.errors import ChexminiError
from tests.helpers.tui import text_of

pytestmark = pytest.mark.usefixtures("one_blas_thread")

#: (field, bad text, the problem both front ends report, written out)
BAD = [
    ("epochs", "x", "must be a whole number >= 1, got 'x'"),
    ("epochs", "0", "must be a whole number >= 1, got 0"),
    ("lr", "nan", "must be a finite number > 0, got nan"),
    ("lr", "fast", "must be a finite number > 0, got 'fast'"),
    ("batch_size", "2.5", "must be a whole number >= 1, got '2.5'"),
    ("dropout", "1", "must be a finite number in [0, 1), got 1.0"),
    ("weight_decay", "-1", "must be a finite number >= 0, got -1.0"),
    ("label_smoothing", "inf", "must be a finite number in [0, 1), got inf"),
    ("seed", "-3", "must be a whole number >= 0, got -3"),
    ("hidden_dims", "64,x", "must be comma-separated whole numbers >= 1 (e.g. "
                            "1024,256,64; '' for none), got '64,x'"),
]


def default_values() -> dict:
    return {f.name: f.default if f.kind == "bool" else f.format(f.default)
            for f in form_fields()}


def cli_error(argv: list[str], capsys) -> str:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("name, text, problem", BAD)
def test_same_bad_text_same_problem_from_cli_and_form(name, text, problem, capsys):
    f = CONFIG_FIELDS[name]
    err = cli_error(["train", "--data", "synthetic:40", f"{f.flag}={text}"], capsys)
    unreadable = isinstance(problem, str) and problem.endswith(f"got {text!r}")
    # unreadable text: an argparse usage error; a number out of range: the config's check
    assert (f"argument {f.flag}: {problem} (see chexmini train --help)" if unreadable
            else f"error: {f.flag} {problem}\n") in err, err
    with pytest.raises(ChexminiError) as info:
        read_form({**default_values(), name: text})
    assert str(info.value) == f"{f.label} {problem}"


def test_defaults_agree_form_config_cli():
    published = TrainConfig().to_dict()
    assert read_form(default_values())[0].to_dict() == published
    args = _parser().parse_args(["train"])
    assert config_from_args(args).to_dict() == published
    help_text = " ".join(_parser()._subparsers._group_actions[0].choices["train"]
                         .format_help().split())
    for f in CONFIG_FIELDS.values():
        if f.name != "dataset_revision":
            assert f"{f.flag}" in help_text and f"(default: {f.format(f.default)})" in help_text


class FormApp(App):
    def __init__(self) -> None:
        super().__init__()
        self.submitted: list[TrainForm.Submitted] = []

    def compose(self) -> ComposeResult:
        yield TrainForm(id="train-form")

    def on_train_form_submitted(self, message: TrainForm.Submitted) -> None:
        self.submitted.append(message)


def test_form_widget_shows_defaults_submits_config_and_shows_problems():
    async def go():
        app = FormApp()
        async with app.run_test(size=(80, 24)) as pilot:
            form = app.query_one(TrainForm)
            for f in form_fields():
                box = app.query_one(f"#f-{f.name}", Checkbox if f.kind == "bool" else Input)
                assert box.value == (f.default if f.kind == "bool" else f.format(f.default))
            # a bad value: shown inline, named by its label, nothing submitted
            app.query_one("#f-lr", Input).value = "fast"
            app.query_one("#f-lr", Input).focus()
            await pilot.press("enter")
            await pilot.pause()
            assert app.submitted == []
            shown = " ".join(text_of(app.query_one("#form-error")).split())
            assert "lr must be a finite number > 0, got 'fast'" in shown
            # fixed: Enter posts Submitted with the config the texts describe
            app.query_one("#f-lr", Input).value = "0.01"
            app.query_one("#f-hidden_dims", Input).value = "32,16"
            app.query_one("#f-augment", Checkbox).value = False
            app.query_one("#f-data", Input).value = "synthetic:40"
            await pilot.press("enter")
            await pilot.pause()
            assert len(app.submitted) == 1
            msg = app.submitted[0]
            want = TrainConfig(lr=0.01, hidden_dims=[32, 16], augment=False)
            assert msg.config.to_dict() == want.to_dict()
            assert (msg.source, msg.out) == ("synthetic:40", "")
            assert form.values()["lr"] == "0.01"

    asyncio.run(go())


def test_every_training_flag_has_a_place_on_the_form():
    """The form shows a few settings and every other one in its "more settings" section:
    together, every flag of `chexmini train` that is a setting."""
    from core.foundation.config_fields import all_form_fields, flag_fields, more_fields

    assert {f.name for f in all_form_fields()} == {f.name for f in flag_fields()}
    assert not {f.name for f in form_fields()} & {f.name for f in more_fields()}


@pytest.mark.slow
def test_more_settings_reach_the_config(tmp_path):
    import asyncio

    from textual.widgets import Collapsible

    from chexmini_tui.widgets.train_form import TrainForm
    from tests.helpers.tui import make_app

    async def go():
        app = make_app(tmp_path, start="train")
        async with app.run_test(size=(80, 24)) as pilot:
            form = app.screen.query_one(TrainForm)
            more = form.query_one("#form-more", Collapsible)
            assert more.collapsed
            form.set_text("optimizer", "rmsprop")
            form.set_text("lr_schedule", "constant")
            form.query_one("#f-standardize").value = False
            config, _, _ = form.read()
            assert (config.optimizer, config.lr_schedule, config.standardize) == (
                "rmsprop", "constant", False)
            form.set_text("optimizer", "adagrad")          # named by its label, inline
            form.submit()
            await pilot.pause()
            assert "optimizer" in str(form.query_one("#form-error").render())

    asyncio.run(go())
