"""Range checks for user-supplied numbers (config fields, command-line flags, form fields).

Each failure is a :class:`ConfigError` that knows which setting was wrong (``field``) and
the accepted range (``rule``), so every front end can name the setting its own way — the
CLI as ``--adam-eps``, the app by its form label — with the same wording. NaN and ±inf
are refused wherever a finite number is expected.
"""

from __future__ import annotations

import math
import numbers

from core.foundation.errors import ChexminiError


class ConfigError(ChexminiError, ValueError):
    """An out-of-range setting: ``str(err)`` is ``<prefix><field> <rule>, got <value>``
    (also a :class:`ValueError`, as a bad argument value is)."""

    def __init__(self, field: str, rule: str, value: object, prefix: str = "") -> None:
        self.field, self.rule, self.value = field, rule, value
        super().__init__(f"{prefix}{field} {self.detail}")

    @property
    def detail(self) -> str:
        """The problem without the setting's name: ``must be …, got …``."""
        return f"{self.rule}, got {self.value!r}"

    def named(self, name: str) -> ChexminiError:
        """The same error naming the setting as ``name`` (e.g. a flag or a form label)."""
        return ChexminiError(f"{name} {self.detail}")


def _interval(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    if lo is not None and hi is not None:
        return f"in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    if lo is not None:
        return f"{'>' if lo_open else '>='} {lo:g}"
    if hi is not None:
        return f"{'<' if hi_open else '<='} {hi:g}"
    return ""


def check_number(field: str, value: object, *, lo: float | None = None,
                 hi: float | None = None, lo_open: bool = False, hi_open: bool = False,
                 integer: bool = False, prefix: str = "") -> None:
    """Raise :class:`ConfigError` unless ``value`` is a finite (whole) number in range."""
    kind = "a whole number" if integer else "a finite number"
    bounds = _interval(lo, hi, lo_open, hi_open)
    rule = f"must be {kind}" + (f" {bounds}" if bounds else "")
    numeric = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if integer:
        numeric = numeric and isinstance(value, numbers.Integral)
    ok = numeric and math.isfinite(float(value))  # type: ignore[arg-type]
    if ok and lo is not None:
        ok = value > lo if lo_open else value >= lo  # type: ignore[operator]
    if ok and hi is not None:
        ok = value < hi if hi_open else value <= hi  # type: ignore[operator]
    if not ok:
        raise ConfigError(field, rule, value, prefix)


def check_choice(field: str, value: object, choices: tuple[str, ...], prefix: str = "") -> None:
    """Raise :class:`ConfigError` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ConfigError(field, f"must be {' or '.join(choices)}", value, prefix)
