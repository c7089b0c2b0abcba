"""``chexmini_tui.messages``: dataclass messages; which ones may replace each other.

A batch of training events waiting in a screen's queue is merged into the next batch
(never dropped: every epoch event arrives, in order); gradcheck progress snapshots
replace each other; lifecycle statuses are never replaced.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widget import Widget

from chexmini_tui.messages import GradcheckProgress, TrainEvents, TrainStatus
from chexmini_tui.state import RunDisplayState
from core.events import read_events
from tests.helpers.tui import write_fixed_events

pytestmark = pytest.mark.usefixtures("one_blas_thread")


def test_train_events_merge_into_the_next_batch_in_order():
    a, b = TrainEvents(["e1", "e2"], 5), TrainEvents(["e3"], 2)
    assert a.can_replace(b)
    assert (b.events, b.steps) == (["e1", "e2", "e3"], 7)
    status = TrainStatus("running")
    assert not TrainEvents(["e4"]).can_replace(status)   # a status is never merged over
    assert not status.can_replace(TrainStatus("paused"))
    assert GradcheckProgress(1, 9).can_replace(GradcheckProgress(2, 9))
    assert not GradcheckProgress(1, 9).can_replace(b)


class Sink(Widget):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list] = []
        self.steps = 0
        self.progress: list[tuple[int, int]] = []

    def on_train_events(self, message: TrainEvents) -> None:
        self.batches.append(list(message.events))
        self.steps += message.steps

    def on_gradcheck_progress(self, message: GradcheckProgress) -> None:
        self.progress.append((message.done, message.total))


class SinkApp(App):
    def compose(self) -> ComposeResult:
        yield Sink()


def test_queued_batches_arrive_merged_with_every_epoch(tmp_path: Path):
    events = read_events(write_fixed_events(tmp_path / "run") / "events.jsonl").events
    batches = [events[i:i + 3] for i in range(0, len(events), 3)]

    async def go():
        app = SinkApp()
        async with app.run_test() as pilot:
            sink = app.query_one(Sink)
            for batch in batches:               # all queued before the sink runs
                sink.post_message(TrainEvents(list(batch), len(batch)))
            for done in range(1, 11):
                sink.post_message(GradcheckProgress(done, 10))
            await pilot.pause()
            return sink

    sink = asyncio.run(go())
    got = [ev for batch in sink.batches for ev in batch]
    assert got == events                                  # nothing lost, nothing twice
    assert len(sink.batches) < len(batches)               # and fewer redraws
    assert sink.steps == len(events)
    assert sink.progress[-1] == (10, 10) and len(sink.progress) < 10
    merged, direct = RunDisplayState(), RunDisplayState()
    for batch in sink.batches:
        merged.apply_all(batch)
    direct.apply_all(events)
    assert merged.hist_epoch == direct.hist_epoch == [1, 2, 3, 4, 5, 6]
    assert merged.hist_val_auc == direct.hist_val_auc and merged.best_epoch == 4


def test_every_message_of_the_app_is_a_dataclass():
    import dataclasses
    import importlib
    import inspect
    import pkgutil

    from textual.message import Message

    import chexmini_tui

    found = []
    for info in pkgutil.walk_packages(chexmini_tui.__path__, "chexmini_tui."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            inner = [c for _, c in inspect.getmembers(cls, inspect.isclass)]
            for c in (cls, *inner):
                if (issubclass(c, Message) and c.__module__ == module.__name__
                        and c is not Message):
                    found.append(c)
    assert len(set(found)) >= 10
    assert [c.__qualname__ for c in set(found) if not dataclasses.is_dataclass(c)] == []
