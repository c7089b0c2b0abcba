"""Messages the background workers post to the UI thread.

Workers never touch widgets: they ``post_message`` one of these to a screen (posting
is thread-safe and non-blocking, so the training loop never waits for the UI).

While a message waits in the queue, Textual asks it whether the next pending message
may replace it (``can_replace``; if so the waiting one is dropped). Progress snapshots
replace each other; a batch of training events is never dropped — it is merged into
the next batch, in order, so no epoch event is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from core.events import Event


@dataclass
class TrainEvents(Message):
    """A batch of training events, in order.

    The worker posts at most ~10 batches a second; runs of consecutive step events are
    collapsed to the latest one (``steps`` counts the steps the batch stands for).
    """

    events: list[Event]
    steps: int = 0

    def can_replace(self, message: Message) -> bool:
        """Merge into the next pending batch: ``message`` then carries this batch's
        events before its own (so every event is applied once, in order)."""
        if not isinstance(message, TrainEvents):
            return False
        message.events = [*self.events, *message.events]
        message.steps += self.steps
        return True


@dataclass
class TrainStatus(Message):
    """The run's lifecycle state changed (``loading``, ``running``, ``paused``,
    ``stopping``, ``finished``, ``aborted``, ``error``); ``detail`` is a one-line note.
    Never replaced: every transition is handled."""

    state: str
    detail: str = ""


@dataclass
class GradcheckProgress(Message):
    """``done`` of ``total`` finite-difference checks made by check ``run``; a newer one
    replaces it."""

    done: int
    total: int
    run: int = 0

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, GradcheckProgress)


@dataclass
class GradcheckDone(Message):
    """``report`` is a :class:`core.evaluation.gradcheck.GradcheckReport`, or ``error`` a
    message."""

    report: object = None
    error: str | None = None
    what: str = ""
    run: int = 0        # which check (the Gradcheck screen numbers them)


@dataclass
class GallerySplitLoaded(Message):
    """The gallery's images of one split of the active checkpoint ``source`` (a
    :class:`chexmini_tui.active.ActiveCheckpoint`) were found (``run``: a
    :class:`core.runs.images.RunSplit`), or ``error`` says why not."""

    split: str
    run: Any = None
    error: str | None = None
    source: Any = None


@dataclass
class GalleryItemReady(Message):
    """One gallery image with its saliency (``item``: :class:`core.inference.gallery.GalleryItem`)
    for the view ``token`` = ``(split, cell, position)``, or ``error``, computed with the
    active checkpoint ``source``."""

    token: tuple
    item: Any = None
    error: str | None = None
    source: Any = None


@dataclass
class FirstLayerLoaded(Message):
    """fc1 of the checkpoint ``path`` was read for the filter grid (``layer``: a
    :class:`core.inference.filters.FirstLayer`), or ``error`` says why not."""

    path: str
    layer: Any = None
    error: str | None = None
