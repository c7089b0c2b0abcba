"""Messages the background workers post to the UI thread.

Workers never touch widgets: they ``post_message`` one of these to a screen (posting
is thread-safe and non-blocking, so the training loop never waits for the UI).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from core.events import Event


class TrainEvents(Message):
    """A batch of training events, in order.

    The worker posts at most ~10 batches a second; runs of consecutive step events are
    collapsed to the latest one (``steps`` counts the steps the batch stands for).
    """

    def __init__(self, events: list[Event], steps: int = 0) -> None:
        super().__init__()
        self.events = events
        self.steps = steps


class TrainStatus(Message):
    """The run's lifecycle state changed (``loading``, ``running``, ``paused``,
    ``stopping``, ``finished``, ``aborted``, ``error``); ``detail`` is a one-line note."""

    def __init__(self, state: str, detail: str = "") -> None:
        super().__init__()
        self.state = state
        self.detail = detail


class GradcheckProgress(Message):
    def __init__(self, done: int, total: int) -> None:
        super().__init__()
        self.done = done
        self.total = total


class GradcheckDone(Message):
    """``report`` is a :class:`core.gradcheck.GradcheckReport`, or ``error`` a message."""

    def __init__(self, report=None, error: str | None = None, what: str = "") -> None:
        super().__init__()
        self.report = report
        self.error = error
        self.what = what


class PredictionsReady(Message):
    """Results of predicting several files (``core.inference.Prediction`` list)."""

    def __init__(self, predictions: list, error: str | None = None) -> None:
        super().__init__()
        self.predictions = predictions
        self.error = error


class CheckpointChanged(Message):
    """The app's active checkpoint changed (posted to the app)."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path


@dataclass
class GallerySplitLoaded(Message):
    """The gallery's images of one split were found (``run``: a
    :class:`core.run_images.RunSplit`, plus the loaded ``checkpoint`` for saliency), or
    ``error`` says why not."""

    split: str
    run: Any = None
    checkpoint: Any = None
    error: str | None = None


@dataclass
class GalleryItemReady(Message):
    """One gallery image with its saliency (``item``: :class:`core.gallery.GalleryItem`)
    for the view ``token`` = ``(split, cell, position)``, or ``error``."""

    token: tuple
    item: Any = None
    error: str | None = None
