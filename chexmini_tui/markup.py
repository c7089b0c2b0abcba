"""The one escape for untrusted text shown through markup: paths, recorded sources, file
names and error messages. A folder named ``x[/red]y`` or ``[bold]`` is a legal name, and
is shown as it is, never read as a style."""

from __future__ import annotations

from textual.markup import escape


def esc(text: object) -> str:
    """``text`` (any object, shown with ``str``) safe to put inside Textual markup."""
    return escape(str(text))
