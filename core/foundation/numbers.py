"""The one set of checks for numbers read from files (``metrics.json``, ``history.json``,
``splits.json``, ``events.jsonl``, checkpoints), and formatting that cannot raise.

JSON gives Python ``int`` of any length, ``float('inf')``/``nan`` (``Infinity``/``NaN``)
and ``bool`` (``true``, which Python counts as an int). A number from a file is used
only after it passed :func:`is_int` or :func:`is_number`: ``bool`` is not a number,
integers are bounded (:data:`MAX_INT`, so ``float(v)`` and arithmetic cannot overflow)
and floats are finite. Ranges on top (``lo``/``hi``) are the reader's meaning.
"""

from __future__ import annotations

import math
from typing import Any

#: The largest integer magnitude accepted from a file (exact as a float64).
MAX_INT = 2 ** 53


def is_int(v: Any, lo: float | None = None, hi: float | None = None) -> bool:
    """``v`` is an ``int`` (not a bool) of magnitude <= :data:`MAX_INT`, in ``[lo, hi]``."""
    if not isinstance(v, int) or isinstance(v, bool) or not -MAX_INT <= v <= MAX_INT:
        return False
    return (lo is None or v >= lo) and (hi is None or v <= hi)


def is_wide_int(v: Any, lo: int, hi: int) -> bool:
    """``v`` is an ``int`` (not a bool) in ``[lo, hi]``, bounds required: for the few
    integers wider than a float (random generator states)."""
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def is_number(v: Any, lo: float | None = None, hi: float | None = None) -> bool:
    """``v`` is a bounded int (:func:`is_int`) or a finite float, in ``[lo, hi]``."""
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return is_int(v, lo, hi)
    if not isinstance(v, float) or not math.isfinite(v):
        return False
    return (lo is None or v >= lo) and (hi is None or v <= hi)


def is_number_or_none(v: Any, lo: float | None = None, hi: float | None = None) -> bool:
    return v is None or is_number(v, lo, hi)


def all_numbers(values: Any, lo: float | None = None, hi: float | None = None) -> bool:
    """``values`` is a list whose every item passes :func:`is_number`."""
    return isinstance(values, list) and all(is_number(v, lo, hi) for v in values)


def show(v: Any, spec: str = "", width: int = 40) -> str:
    """``format(v, spec)`` when that works, else a short ``repr`` (never raises; an
    over-long value, e.g. a 400-digit integer, is cut to ``width`` characters)."""
    try:
        text = format(v, spec) if is_number(v) else repr(v)
    except (ValueError, TypeError, OverflowError):
        text = object.__repr__(v)
    return text if len(text) <= width else text[:width - 1] + "…"
