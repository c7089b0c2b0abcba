"""Text that must fit a width without losing what tells two values apart."""

from __future__ import annotations

ELLIPSIS = "…"


def middle_ellipsis(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, cut in the middle (``/data/…/chest_b.png``)
    so that both its start and its end — for a path, the file name — stay readable.

    The end keeps the larger share: two paths that differ only in their last characters
    stay distinct whenever ``width`` ≥ 2 + their common suffix length … or the name fits."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    if width == 1:
        return ELLIPSIS
    tail = (width - 1) * 2 // 3 or 1
    head = width - 1 - tail
    return text[:head] + ELLIPSIS + text[len(text) - tail:]
