"""When a run writes its resumable state: the save cadence."""

from __future__ import annotations

import time


class SaveClock:
    """When to write the resumable state at an epoch end. ``every`` > 0: every ``every``
    epochs. ``every`` == 0 (the default): when the time since the last save exceeds
    ``RATIO`` × the last save's duration — saving then costs at most ~1/(RATIO + 1) of the
    wall time whatever the model and epoch sizes (the first epoch end always saves)."""

    RATIO = 9.0

    def __init__(self, every: int = 0, clock=time.perf_counter) -> None:
        self.every, self._clock = every, clock
        self.cost: float | None = None     # duration of the last save
        self.last = clock()                # when the last save ended (or the run started)

    def due(self, epoch: int) -> bool:
        if self.every > 0:
            return epoch % self.every == 0
        return self.cost is None or self._clock() - self.last > self.RATIO * self.cost

    def saved(self, started: float) -> None:
        """Record a save that began at ``started`` (a value of the same clock)."""
        self.last = self._clock()
        self.cost = self.last - started
