"""Error gallery (``g`` on Evaluate): the images of one confusion-matrix cell of the
validation or test split at Evaluate's threshold, most confident first, each with its
saliency map, score, true label, NIH file name and patient ID.

The engine finds the images again from what the run recorded and checks they are the
ones scored (:mod:`core.runs.images`), picks and orders the cell (:mod:`core.inference.gallery`);
both run in thread workers, so the UI never waits for data. ``Esc`` goes back.

The gallery shows the active checkpoint it was opened for (``app.state.active``), with
its model for the saliency maps. When that checkpoint's files change on disk, the cell
is chosen again from the new scores at the new active threshold; when another
checkpoint becomes active, the gallery goes back to Evaluate (or, when it is not on
show, says so when it is shown again)."""

from __future__ import annotations

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding

from chexmini_tui.active import ActiveCheckpoint
from chexmini_tui.messages import GalleryItemReady, GallerySplitLoaded
from chexmini_tui.screens.base import BaseScreen
from chexmini_tui.widgets.gallery_view import SPLIT_NAMES, GalleryView
from core.foundation.errors import ChexminiError
from core.inference.gallery import CELLS, cell_counts, gallery_item, select
from core.runs.images import locate


def _message(exc: Exception) -> str:
    return str(exc) if isinstance(exc, ChexminiError) else f"{type(exc).__name__}: {exc}"


class GalleryScreen(BaseScreen):
    MODE = "evaluate"
    BINDINGS = [
        Binding("down,n", "step(1)", "next", tooltip="next image of the cell (↓ or n)"),
        Binding("up,p", "step(-1)", "prev", tooltip="previous image (↑ or p)"),
        Binding("home", "jump(0)", "first", show=False, tooltip="first (most confident)"),
        Binding("end", "jump(-1)", "last", show=False, tooltip="last (least confident)"),
        Binding("right", "cell(1)", "cell →", tooltip="next cell: TN → FP → FN → TP"),
        Binding("left", "cell(-1)", "cell ←", tooltip="previous cell"),
        Binding("s", "toggle_split", "val/test", tooltip="validation or test split"),
        Binding("escape", "back", "back", tooltip="back to Evaluate"),
    ]

    def __init__(self, active: ActiveCheckpoint, threshold: float, split: str = "val",
                 cell: str = "FP") -> None:
        super().__init__()
        #: the active checkpoint shown (its scores, and its model for the saliency maps)
        self.active = active
        self.threshold = float(threshold)
        self.split, self.cell = split, cell
        self.runs: dict = {}             # split -> core.runs.images.RunSplit
        self.errors: dict[str, str] = {}
        self.pending: set[str] = set()
        self.order = np.zeros(0, dtype=np.int64)
        self.pos = 0
        self.token: tuple | None = None
        self.item = None                 # the core.inference.gallery.GalleryItem on show
        #: the active checkpoint's path in the last state this screen was told of
        self._told = active.path

    @property
    def checkpoint(self) -> str:
        return self.active.path

    def compose_body(self) -> ComposeResult:
        yield GalleryView(self.app.image_mode, id="gal-view")

    @property
    def view(self) -> GalleryView:
        return self.query_one("#gal-view", GalleryView)

    def on_mount(self) -> None:
        self.refresh_cell()

    def on_state_changed(self) -> None:
        """Another checkpoint became active while this shows: back to Evaluate, which
        loads its scores. (Made active elsewhere, it is said when this shows again.)"""
        now, told = self.app.state.active_checkpoint, self._told
        self._told = now
        if now != told and now != self.checkpoint and self.is_current:
            self.app.pop_screen()

    def follow_active(self) -> None:
        """The active checkpoint was loaded again (its files changed): the cell anew from
        its scores, at its active threshold. Another one became active: say so."""
        now = self.app.state.active
        if now is self.active:
            return
        if now.path != self.active.path:
            self.refresh_cell()          # the stale note (or Evaluate, when on show)
            return
        self.active = now
        if now.threshold is not None:
            self.threshold = float(now.threshold)
        self.workers.cancel_group(self, "gallery-split")
        self.workers.cancel_group(self, "gallery-item")
        self.runs, self.errors, self.pending = {}, {}, set()
        self.refresh_cell()

    def _show_stale(self) -> bool:
        """The active checkpoint changed on another screen: say so, and browse no more."""
        active = self.app.state.active_checkpoint
        if active == self.checkpoint:
            return False
        self.view.show_note(f"the active checkpoint is now {active}; Esc goes back to "
                            f"Evaluate for its scores (this gallery was {self.checkpoint})")
        return True

    # -- keys ----------------------------------------------------------------------------------
    def action_step(self, delta: int) -> None:
        if len(self.order):
            self.show_position(min(max(self.pos + delta, 0), len(self.order) - 1))

    def action_jump(self, pos: int) -> None:
        if len(self.order):
            self.show_position(pos % len(self.order))

    def action_cell(self, delta: int) -> None:
        self.cell = CELLS[(CELLS.index(self.cell) + delta) % len(CELLS)]
        self.refresh_cell()

    def action_toggle_split(self) -> None:
        self.split = "test" if self.split == "val" else "val"
        self.refresh_cell()

    def action_back(self) -> None:
        self.app.pop_screen()

    # -- what is shown -------------------------------------------------------------------------
    def refresh_cell(self) -> None:
        """Select and order the current cell (loading the split's images first if needed)."""
        run = self.runs.get(self.split)
        counts = None if run is None else cell_counts(run.scores, run.labels, self.threshold)
        self.view.show_selector(self.split, self.cell, counts, self.threshold)
        self.order, self.pos, self.token, self.item = np.zeros(0, np.int64), 0, None, None
        if self._show_stale():
            return
        if self.split in self.errors:
            self.view.show_note(self.errors[self.split], error=True)
        elif run is None:
            self.view.show_note(f"finding the images of the {SPLIT_NAMES[self.split]} "
                                f"split of {self.checkpoint} …")
            if self.split not in self.pending:
                self.pending.add(self.split)
                self._load_split(self.split)
        else:
            self.order = select(run.scores, run.labels, self.threshold, self.cell)
            if len(self.order) == 0:
                self.view.show_note(f"no {self.cell} images in the {SPLIT_NAMES[self.split]}"
                                    f" split at threshold {self.threshold:.4f}")
            else:
                self.show_position(0)

    def show_position(self, pos: int) -> None:
        self.pos = pos
        self.token = (self.split, self.cell, pos)
        self._load_item(self.token, self.runs[self.split], int(self.order[pos]))

    # -- workers -------------------------------------------------------------------------------
    def _load_split(self, split: str) -> None:
        self._split_worker(split, self.active)

    @work(thread=True, group="gallery-split", exit_on_error=False)
    def _split_worker(self, split: str, active: ActiveCheckpoint) -> None:
        try:
            if active.checkpoint is None:
                raise ChexminiError(active.problem)
            run = locate(active.path, split)
        except Exception as exc:  # noqa: BLE001 - shown inline, never a traceback
            self.post_message(GallerySplitLoaded(split, error=_message(exc), source=active))
            return
        self.post_message(GallerySplitLoaded(split, run, source=active))

    def _load_item(self, token: tuple, run, index: int) -> None:
        self._item_worker(token, run, index, self.active)

    @work(thread=True, exclusive=True, group="gallery-item", exit_on_error=False)
    def _item_worker(self, token: tuple, run, index: int, active: ActiveCheckpoint) -> None:
        try:
            with active.lock:   # one forward/backward at a time through the model
                item = gallery_item(run, index, active.checkpoint)
        except Exception as exc:  # noqa: BLE001
            self.post_message(GalleryItemReady(token, error=_message(exc), source=active))
            return
        self.post_message(GalleryItemReady(token, item, source=active))

    def on_gallery_split_loaded(self, message: GallerySplitLoaded) -> None:
        if message.source is not self.active:
            return   # read for a checkpoint since loaded again
        self.pending.discard(message.split)
        if message.error is not None:
            self.errors[message.split] = message.error
        else:
            self.runs[message.split] = message.run
        if message.split == self.split:
            self.refresh_cell()

    def on_gallery_item_ready(self, message: GalleryItemReady) -> None:
        if message.token != self.token or message.source is not self.active:
            return   # the view moved on while this image was prepared
        if message.error is not None:
            self.view.show_note(message.error, error=True)
            return
        self.item = message.item
        self.view.show_item(message.item, self.cell, self.pos, len(self.order))
