"""``AppState``: the one place the app keeps what every screen must agree on.

The active checkpoint (loaded: :class:`chexmini_tui.active.ActiveCheckpoint`), the run's
status, the run folder and whether that run is followed (attached) or driven here live
only in :attr:`ChexminiApp.state`, an
immutable value replaced as a whole (``app.update_state(...)``), so a screen never
sees half an update. The header's sub-title is derived from it, and every main
screen receives a :class:`StateChanged` message after each change (merged when
several are pending: only the latest state matters), so none can show a stale value.

Screens read ``self.app.state.active`` (path, loaded checkpoint, threshold),
``self.app.state.run_status`` … and change it through the app: ``set_checkpoint``,
``reload_checkpoint``, ``set_run_status``, ``set_runner``, ``set_attached``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from textual.message import Message

from chexmini_tui.active import ActiveCheckpoint
from chexmini_tui.curve_view import AS_RECORDED, CurveView

RunStatus = Literal["idle", "loading", "running", "paused", "stopping", "finished",
                    "aborted", "error", "attached"]

#: Statuses of a run still in progress in this app (quitting asks first).
ACTIVE = frozenset({"loading", "running", "paused", "stopping"})
#: Statuses a run ends in.
FINAL = frozenset({"finished", "aborted", "error"})
STATUSES = frozenset({"idle", "attached"}) | ACTIVE | FINAL


@dataclass(frozen=True)
class AppState:
    #: the active checkpoint, loaded (a new value at each load: compared by identity)
    active: ActiveCheckpoint
    run_status: RunStatus = "idle"
    #: The run folder being trained here, or followed when ``attached``; ``None`` if none.
    #: A followed run is ``attached`` while it goes on and ``finished`` once it has.
    run_dir: str | None = None
    attached: bool = False
    #: how the epoch curves are drawn (Train's plots and Inspect's overlays alike)
    curves: CurveView = AS_RECORDED

    def __post_init__(self) -> None:
        if self.run_status not in STATUSES:
            raise ValueError(f"unknown run status {self.run_status!r}")

    @property
    def active_checkpoint(self) -> str:
        """The active checkpoint's folder."""
        return self.active.path

    @property
    def paused(self) -> bool:
        return self.run_status == "paused"

    @property
    def running(self) -> bool:
        """A run is in progress in this app (loading, running, paused or stopping)."""
        return self.run_status in ACTIVE and not self.attached

    def but(self, **changes) -> AppState:
        """A copy with ``changes`` applied."""
        return replace(self, **changes)

    def headline(self) -> str:
        """The header's sub-title: the active checkpoint, then the run (if any), named by
        its folder's name (the whole path when it is the active checkpoint is said once),
        so that it fits an 80-column header."""
        parts = [f"checkpoint: {self.active.label}"]
        if self.attached or self.run_status != "idle":
            name = ""
            if self.run_dir and self.run_dir != self.active_checkpoint:
                name = f" {Path(self.run_dir).name}"
            if self.attached:
                done = " · finished" if self.run_status == "finished" else ""
                parts.append(f"● attached{done}{name}")
            else:
                parts.append(f"● {self.run_status}{name}")
        return " · ".join(parts)


@dataclass
class StateChanged(Message):
    """Posted to every main screen after :attr:`ChexminiApp.state` changed.

    Only the newest state is carried: a screen compares it with what it shows. Several
    pending ones are merged into the latest (``can_replace``)."""

    state: AppState

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StateChanged)
