"""Keys that arrive together (a fast typist over SSH, a paste) edit a field in order."""

from __future__ import annotations

import asyncio

import pytest
from textual import events
from textual.app import App, ComposeResult

from chexmini_tui.widgets.ordered_input import OrderedInput
from chexmini_tui.widgets.path_box import PathBox
from chexmini_tui.widgets.train_form import TrainForm

pytestmark = pytest.mark.usefixtures("one_blas_thread")


class _OneField(App):
    def compose(self) -> ComposeResult:
        yield OrderedInput(id="field")


def _key(name: str) -> events.Key:
    return events.Key(name, name if len(name) == 1 else None)


async def _burst(app: App, pilot, keys: list[str]) -> None:
    """Post every key before any is handled: they reach the field as one burst."""
    for name in keys:
        app.post_message(_key(name))
    await pilot.pause()
    await pilot.pause()


@pytest.mark.parametrize("keys, expected", [
    (["b", "a", "backspace", "c"], "bc"),
    (["a", "b", "c", "left", "left", "x", "end", "y"], "axbcy"),
    (["a", "b", "c", "home", "delete", "z"], "zbc"),
    (["1", "2", "backspace", "backspace", "backspace", "3"], "3"),
])
def test_a_burst_of_keys_is_applied_in_the_order_it_was_typed(keys, expected):
    async def typed(together: bool) -> str:
        app = _OneField()
        async with app.run_test() as pilot:
            field = app.query_one(OrderedInput)
            field.focus()
            await pilot.pause()
            if together:
                await _burst(app, pilot, keys)
            else:
                await pilot.press(*keys)
            return field.value

    assert asyncio.run(typed(together=True)) == expected     # in one burst
    assert asyncio.run(typed(together=False)) == expected    # one key at a time


def test_the_apps_text_fields_are_ordered_inputs():
    from textual.widgets import Input

    class Form(App):
        def compose(self) -> ComposeResult:
            yield TrainForm()

    async def go() -> list:
        app = Form()
        async with app.run_test(size=(100, 40)):
            return list(app.query(Input))

    fields = asyncio.run(go())
    assert len(fields) >= 8 and all(isinstance(f, OrderedInput) for f in fields)
    assert issubclass(PathBox, OrderedInput)


def test_keys_typed_after_tab_go_to_the_next_field():
    """``Tab ⌫ 7`` in one burst from the data field edits the epochs field below it."""
    from chexmini_tui.app import ChexminiApp

    async def go() -> tuple[str, str, str | None]:
        app = ChexminiApp(data="synthetic:400")
        async with app.run_test(size=(80, 24)) as pilot:
            while not app.screen.query("#f-data"):
                await pilot.pause()
            app.screen.query_one("#f-data", OrderedInput).focus()
            await pilot.pause()
            await _burst(app, pilot, ["tab", "backspace", "7", "shift+tab", "backspace", "x"])
            return (app.screen.query_one("#f-data", OrderedInput).value,
                    app.screen.query_one("#f-epochs", OrderedInput).value, app.focused.id)

    assert asyncio.run(go()) == ("x", "7", "f-data")
