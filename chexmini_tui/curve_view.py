"""How every epoch curve of the app is drawn: smoothing, a log-scale loss axis and a zoom
on the last epochs — one :class:`CurveView` in the app state, so the Train screen's plots
and Inspect's overlays always agree (``e``/``E``, ``y`` and ``z`` change it anywhere).

Smoothing is the debiased exponential moving average TensorBoard uses:
``s_t = w·s_{t−1} + (1−w)·v_t`` with ``s_0 = 0``, shown as ``s_t / (1 − w^t)`` so that the
first points are not pulled towards zero. A non-finite value is skipped (the curve keeps
its last value there). The log axis draws ``log10(loss)`` (losses ≤ 0 are left out).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

#: the smoothing weights ``e`` steps through (``E`` steps back)
SMOOTHING = (0.0, 0.6, 0.8, 0.9, 0.95)
#: the zooms ``z`` steps through: all epochs, then the last N
ZOOMS: tuple[int | None, ...] = (None, 50, 20, 10)


def ema(values: Sequence[float], weight: float) -> list[float]:
    """The debiased EMA of ``values`` with ``weight`` w ∈ [0, 1) (0: the values as they
    are); a NaN or infinite value is skipped and the previous smoothed value repeated."""
    if weight <= 0:
        return [float(v) for v in values]
    out: list[float] = []
    s, n = 0.0, 0
    for v in values:
        v = float(v)
        if math.isfinite(v):
            s, n = weight * s + (1 - weight) * v, n + 1
        out.append(s / (1 - weight ** n) if n else math.nan)
    return out


def last_epochs(x: Sequence[float], ys: Sequence[Sequence[float]],
                last: int | None) -> tuple[list[float], list[list[float]]]:
    """The points of ``x`` (epochs) within the last ``last`` epochs, and the same points of
    each series in ``ys`` (all of them when ``last`` is None)."""
    x = [float(v) for v in x]
    if last is None or not x:
        return x, [[float(v) for v in y] for y in ys]
    keep = [i for i, v in enumerate(x) if v > max(x) - last]
    return [x[i] for i in keep], [[float(y[i]) for i in keep] for y in ys]


def log10_values(values: Sequence[float]) -> list[float]:
    """``log10`` of each value (NaN for one ≤ 0 or not finite: not drawn)."""
    return [math.log10(v) if math.isfinite(v) and v > 0 else math.nan
            for v in map(float, values)]


@dataclass(frozen=True)
class CurveView:
    """The drawing settings of the app's epoch curves."""

    smoothing: float = 0.0
    log_loss: bool = False
    last: int | None = None

    def smoother(self, step: int = 1) -> CurveView:
        """The next (``step`` 1) or previous (−1) smoothing of :data:`SMOOTHING`."""
        i = SMOOTHING.index(self.smoothing) if self.smoothing in SMOOTHING else 0
        return replace(self, smoothing=SMOOTHING[(i + step) % len(SMOOTHING)])

    def zoomed(self) -> CurveView:
        """The next zoom of :data:`ZOOMS`."""
        i = ZOOMS.index(self.last) if self.last in ZOOMS else 0
        return replace(self, last=ZOOMS[(i + 1) % len(ZOOMS)])

    def log_toggled(self) -> CurveView:
        return replace(self, log_loss=not self.log_loss)

    def describe(self) -> str:
        """``EMA 0.8 · log loss · last 20`` (empty for the plain view)."""
        parts = []
        if self.smoothing:
            parts.append(f"EMA {self.smoothing:g}")
        if self.log_loss:
            parts.append("log loss")
        if self.last:
            parts.append(f"last {self.last}")
        return " · ".join(parts)

    def curves(self, x: Sequence[float], ys: Sequence[Sequence[float]], *,
               loss: bool = False) -> tuple[list[float], list[list[float]]]:
        """``x`` and each of ``ys`` as drawn: smoothed over all epochs, then cut to the last
        epochs, then (``loss`` curves, with :attr:`log_loss`) on a log10 scale."""
        smoothed = [ema(y, self.smoothing) for y in ys]
        x, cut = last_epochs(x, smoothed, self.last)
        if loss and self.log_loss:
            cut = [log10_values(y) for y in cut]
        return x, cut

    def title(self, name: str, *, loss: bool = False) -> str:
        """A plot's title with the view said: ``loss (log10; EMA 0.8; last 20)``."""
        parts = []
        if loss and self.log_loss:
            parts.append("log10")
        if self.smoothing:
            parts.append(f"EMA {self.smoothing:g}")
        if self.last:
            parts.append(f"last {self.last}")
        return f"{name} ({'; '.join(parts)})" if parts else name


#: the plain view: every epoch, as recorded
AS_RECORDED = CurveView()
