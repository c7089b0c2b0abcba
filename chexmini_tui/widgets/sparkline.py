"""``sparkline(values, width)``: a one-line trend of numbers in block characters.

Pure text (no Textual), so the health view and the system pane share it and tests read
it. All the values are drawn, oldest left: when there are more than ``width`` they are
averaged in ``width`` consecutive groups (as even as possible). Each maps linearly (or
on a log10 scale) from ``lo`` (▁) to ``hi`` (█) — by default the smallest and largest
drawn; a missing value (``None``, not finite, or ≤ 0 on a log scale) is a space, and a
group with no value too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

BLOCKS = "▁▂▃▄▅▆▇█"


def _level(v: float, lo: float, hi: float) -> str:
    if hi - lo <= 0:
        return BLOCKS[len(BLOCKS) // 2 - 1]
    i = int((v - lo) / (hi - lo) * (len(BLOCKS) - 1) + 0.5)
    return BLOCKS[min(max(i, 0), len(BLOCKS) - 1)]


def _groups(values: list[float | None], width: int) -> list[float | None]:
    """``values`` averaged in ``min(width, len)`` consecutive groups (missing skipped)."""
    n = len(values)
    if n <= width:
        return values
    out: list[float | None] = []
    for i in range(width):
        part = [v for v in values[i * n // width : (i + 1) * n // width] if v is not None]
        out.append(sum(part) / len(part) if part else None)
    return out


def sparkline(values: Sequence[float | None], width: int, log: bool = False,
              lo: float | None = None, hi: float | None = None) -> str:
    """``values`` as at most ``width`` block characters (see the module)."""
    if width <= 0:
        return ""
    mapped: list[float | None] = []
    for v in values:
        ok = v is not None and math.isfinite(v) and (v > 0 or not log)
        mapped.append((math.log10(v) if log else float(v)) if ok else None)
    shown = _groups(mapped, width)
    present = [v for v in shown if v is not None]
    if not present:
        return " " * len(shown)
    lo = min(present) if lo is None else lo
    hi = max(present) if hi is None else hi
    return "".join(" " if v is None else _level(v, lo, hi) for v in shown)
