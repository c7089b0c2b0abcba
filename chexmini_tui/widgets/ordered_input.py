"""A text field whose editing keys apply in the order they were typed.

Textual inserts a printable key in :class:`~textual.widgets.Input`'s own key handler but
runs a *bound* key (backspace, delete, ←/→, home/end, ctrl+…) only after the key event has
bubbled up to the app. When several keys arrive in one read — fast typing over a slow SSH
link, a paste, a keyboard macro — the characters behind a bound key are inserted before
it runs: ``a b ⌫ c`` becomes ``a b c ⌫`` = ``ab`` instead of ``ac`` (Textualize/textual
issue 6605). :class:`OrderedInput` runs the field's own non-priority bindings inline, in
its key handler, so every edit happens in arrival order. Priority bindings (checked by
the app before the field sees the key) and keys bound further up are unchanged.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class OrderedInput(Input):
    """:class:`Input` that applies its editing keys in the order they arrive."""

    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable:
            for binding in self._bindings.key_to_bindings.get(event.key, ()):
                if not binding.priority:
                    event.stop()
                    event.prevent_default()
                    self._restart_blink()
                    await self.run_action(binding.action)
                    return
        await super()._on_key(event)
