"""Many runs at once (``core.runs.status.run_status``, ``core.runs.history``,
``core.runs.listing``):
statuses from the real lock, histories from either file, rows and their sort order, and
damaged or hostile files as one line in the row."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from core.events import EpochEnd, EventLog, RunStarted
from core.runs.folder import claim
from core.runs.history import fold_events, load_history
from core.runs.listing import cells, run_row, scan, sort_rows
from core.runs.status import STATUS_TEXT, log_ended, run_status
from tests.helpers.data import mann_whitney_auc
from tests.helpers.tui import make_checkpoint, write_fixed_events, write_run_log


# -- statuses --------------------------------------------------------------------------------
def test_status_running_interrupted_finished_empty_missing(tmp_path):
    run = tmp_path / "run"
    lock = claim(run)                       # the real lock, as a trainer takes it
    try:
        assert run_status(run) == "running"          # before anything is written
        write_run_log(run, [0.6, 0.7])
        assert run_status(run) == "running"
        make_checkpoint(run)                          # artifacts of an older run stay
        assert run_status(run) == "running"           # while a live process trains here
    finally:
        lock.release()
    assert run_status(run) == "finished"
    (tmp_path / "cut").mkdir()
    write_run_log(tmp_path / "cut", [0.6])
    assert run_status(tmp_path / "cut") == "interrupted"
    (tmp_path / "resume-only").mkdir()
    (tmp_path / "resume-only" / "resume.npz").write_bytes(b"x")
    assert run_status(tmp_path / "resume-only") == "interrupted"
    (tmp_path / "empty").mkdir()
    assert run_status(tmp_path / "empty") == "empty"
    assert run_status(tmp_path / "nope") == "missing"


def test_status_of_a_run_overwriting_an_old_checkpoint(tmp_path):
    """A live trainer started with --overwrite beside an old metrics.json: running, and its
    row is read from its log (not from the old run's metrics.json)."""
    run = make_checkpoint(tmp_path / "run", seed=1, epochs=5)
    lock = claim(run, overwrite=True)
    try:
        assert run_status(run) == "running"
        row = run_row(str(run))
        assert (row.status, row.epochs, row.note) == ("running", None, "no events.jsonl yet")
        write_run_log(run, [0.6, 0.7], planned=10)
        row = run_row(str(run))
        assert (row.status, row.epochs, row.planned, row.best_val_auc) == (
            "running", 2, 10, 0.7)
    finally:
        lock.release()
    assert run_row(str(run)).status == "finished"     # killed now: the old checkpoint


def test_status_incomplete_and_a_log_with_an_end(tmp_path):
    ended = write_fixed_events(tmp_path / "ended")    # a finished run's log, no checkpoint
    assert log_ended(ended / "events.jsonl") and run_status(ended) == "incomplete"
    row = run_row(str(ended))
    assert row.epochs == 6 and row.test_auc is not None and "no metrics.json" in row.note
    (ended / "resume.npz").write_bytes(b"x")          # resumable: interrupted
    assert run_status(ended) == "interrupted"
    cut = write_run_log(tmp_path / "cut", [0.6])
    assert not log_ended(cut / "events.jsonl")
    with open(cut / "events.jsonl", "ab") as fh:      # a line still being written
        fh.write(b'{"event": "finished"')
    assert run_status(cut) == "interrupted"
    parts = make_checkpoint(tmp_path / "parts")
    (parts / "metrics.json").unlink()                 # artifacts without metrics.json
    assert run_status(parts) == "incomplete"
    assert "metrics.json" in run_row(str(parts)).error
    assert list(STATUS_TEXT) == ["running", "interrupted", "finished", "incomplete",
                                 "empty", "missing"]


def test_status_of_a_fifo_log_never_blocks(tmp_path):
    """A FIFO (no writer) as events.jsonl, or as the lock file: answered at once."""
    fifo = tmp_path / "fifo"
    fifo.mkdir()
    os.mkfifo(fifo / "events.jsonl")
    assert not log_ended(fifo / "events.jsonl")
    assert run_status(fifo) == "interrupted"
    row = run_row(str(fifo))
    assert row.status == "interrupted" and "FIFO" in row.error


# -- histories ---------------------------------------------------------------------------------
def test_history_from_events_follows_a_resume():
    cfg = {"epochs": 5}

    def epoch(e: int, auc: float) -> EpochEnd:
        return EpochEnd(e, 5, 1 / e, 0.0, 2 / e, auc, 0.5, 1e-3, False, 1, auc, 0.1)

    events = [RunStarted(cfg, {}, [4, 1], 5, "s", None, 0, 0, False, 2),
              epoch(1, 0.6), epoch(2, 0.7), epoch(3, 0.65),
              # resumed from the state saved after epoch 2: epoch 3 is run again
              RunStarted(cfg, {}, [4, 1], 5, "s", None, 2, 0, True, 2),
              epoch(3, 0.75), epoch(4, 0.8)]
    log = fold_events(events)
    assert log.history["val_auc"] == [0.6, 0.7, 0.75, 0.8]
    assert log.history["val_loss"] == [2 / 1, 2 / 2, 2 / 3, 2 / 4]
    assert log.best_val_auc == 0.8
    # a fresh start (not a resume) in the same log starts the history over
    log = fold_events([*events, RunStarted(cfg, {}, [4, 1], 5, "t", None, 0, 0, False, 2),
                       epoch(1, 0.55)])
    assert log.history["val_auc"] == [0.55] and log.source == "t"


def test_history_from_either_file(tmp_path):
    fin = make_checkpoint(tmp_path / "fin", seed=1, epochs=5)
    e = np.arange(1, 6, dtype=np.float64)
    want = 0.6 + 0.05 * e - 0.004 * e ** 2 + 0.01 * 1   # make_checkpoint's formula
    assert load_history(fin, finished=True)["val_auc"] == pytest.approx(list(want))
    run = write_fixed_events(tmp_path / "run", epochs=6)
    h = load_history(run, finished=False)
    eps = np.arange(1, 7)
    assert h["val_auc"] == pytest.approx(list(0.8 - 0.01 * (eps - 4) ** 2))
    assert h["train_loss"] == pytest.approx(list(0.75 / eps ** 0.3))


# -- rows ----------------------------------------------------------------------------------------
def test_rows_of_a_finished_and_an_interrupted_run(tmp_path):
    fin = make_checkpoint(tmp_path / "fin", seed=1, hidden=(8,), epochs=5)
    row = run_row(str(fin))
    vs, vl = np.load(fin / "val_scores.npy"), np.load(fin / "val_labels.npy")
    ts, tl = np.load(fin / "test_scores.npy"), np.load(fin / "test_labels.npy")
    assert (row.status, row.epochs, row.planned, row.best_epoch) == ("finished", 5, 5, 4)
    assert row.best_val_auc == pytest.approx(mann_whitney_auc(vs, vl))
    assert row.test_auc == pytest.approx(mann_whitney_auc(ts, tl))
    assert row.data == "synthetic:400 (fixture 1)" and row.params["hidden_dims"] == [8]
    assert row.error is None
    text = cells(row)
    assert (text["epochs"], text["auc"]) == ("5/5", f"{mann_whitney_auc(vs, vl):.4f}")

    run = write_run_log(tmp_path / "cut", [0.61, 0.74, 0.70], planned=10, hidden=(32, 8))
    row = run_row(str(run))
    assert (row.status, row.epochs, row.planned) == ("interrupted", 3, 10)
    assert (row.best_val_auc, row.best_epoch, row.test_auc) == (0.74, 2, None)
    assert row.history["val_auc"] == [0.61, 0.74, 0.70]
    assert cells(row)["epochs"] == "3/10" and cells(row)["hidden"] == "32,8"
    assert cells(row)["test_auc"] == "—"


def test_sort_order_follows_the_values(tmp_path):
    aucs = {"a": 0.71, "b": 0.93, "c": 0.55, "d": 0.80}
    epochs = {"a": 3, "b": 1, "c": 4, "d": 2}
    for name, auc in aucs.items():   # the best AUC is the last epoch's (rising curves)
        n = epochs[name]
        write_run_log(tmp_path / name, [auc - 0.01 * (n - k) for k in range(1, n + 1)])
    (tmp_path / "e").mkdir()          # an empty folder: no AUC, no epochs
    rows = scan([str(tmp_path / n) for n in "abcde"])

    by_auc = sort_rows(rows, "auc")
    assert [r.name for r in by_auc] == sorted(aucs, key=aucs.get, reverse=True) + ["e"]
    up = sort_rows(rows, "auc", reverse=True)
    assert [r.name for r in up] == sorted(aucs, key=aucs.get) + ["e"]   # empty still last
    assert [r.epochs for r in sort_rows(rows, "epochs")] == [4, 3, 2, 1, None]
    assert [r.name for r in sort_rows(rows, "name", reverse=True)] == list("edcba")
    assert [r.name for r in sort_rows(rows, "found")] == list("abcde")
    assert [r.status for r in sort_rows(rows, "status")] == ["interrupted"] * 4 + ["empty"]


def test_scan_rereads_only_what_changed(tmp_path):
    write_run_log(tmp_path / "a", [0.6, 0.7])
    write_run_log(tmp_path / "b", [0.5])
    paths = [str(tmp_path / "a"), str(tmp_path / "b")]
    first = scan(paths)
    again = scan(paths, first)
    assert again[0] is first[0] and again[1] is first[1]
    log = EventLog(tmp_path / "b" / "events.jsonl")       # b trains one more epoch
    log.write(EpochEnd(2, 10, 0.5, 0.0, 0.3, 0.66, 0.6, 1e-3, True, 2, 0.66, 0.1))
    log.close()
    later = scan(paths, again)
    assert later[0] is first[0]
    assert later[1].history["val_auc"] == [0.5, 0.66] and later[1].best_val_auc == 0.66


# -- damaged and hostile files: one line in the row -------------------------------------------
def _one_line(text: str | None) -> str:
    assert text and "\n" not in text
    return text


def test_damaged_files_are_one_line_in_the_row(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "metrics.json").write_text("{not json")
    assert "metrics.json" in _one_line(run_row(str(broken)).error)

    hist = make_checkpoint(tmp_path / "hist", seed=0)
    (hist / "history.json").write_text(json.dumps({"val_auc": [0.5, "x"]}))
    row = run_row(str(hist))
    assert "history.json" in _one_line(row.error)
    assert row.best_val_auc is not None      # metrics.json was still read

    fifo = tmp_path / "fifo"
    fifo.mkdir()
    os.mkfifo(fifo / "events.jsonl")         # would block a naive reader forever
    assert "FIFO" in _one_line(run_row(str(fifo)).error)

    noisy = write_run_log(tmp_path / "noisy", [0.6, 0.7])
    with open(noisy / "events.jsonl", "a") as fh:
        fh.write("not json\n{\"event\": \"epoch\"}\n")
    row = run_row(str(noisy))
    assert row.error is None and row.epochs == 2
    assert _one_line(row.note) == "2 bad lines skipped in events.jsonl"

    missing = run_row(str(tmp_path / "gone"))
    assert missing.status == "missing" and "folder not found" in _one_line(missing.error)


def test_a_log_longer_than_one_read_is_read_to_its_end(tmp_path, monkeypatch):
    """Replaying a run (the app's resume and attach), its history and its bad-line note
    read the whole events.jsonl, not only the first ``MAX_READ`` bytes."""
    import core.events
    from chexmini_tui.run_files import replay
    from core.events import read_all_events, read_events
    from core.runs.catalog import events_note
    from core.runs.history import read_log
    from tests.helpers.tui import write_fixed_events

    run_dir = write_fixed_events(tmp_path / "run", epochs=6)
    with open(run_dir / "events.jsonl", "ab") as fh:
        fh.write(b"{not an event}\n")
    whole = read_events(run_dir / "events.jsonl")          # one read of everything
    monkeypatch.setattr(core.events, "MAX_READ", 1500)      # now a few lines per read
    first = read_events(run_dir / "events.jsonl")
    assert 0 < len(first.events) < len(whole.events)
    every = read_all_events(run_dir / "events.jsonl")
    assert [e.to_dict() for e in every.events] == [e.to_dict() for e in whole.events]
    assert every.bad == whole.bad == 1
    assert replay(run_dir).epochs_done == 6
    assert len(read_log(run_dir / "events.jsonl").history["val_auc"]) == 6
    assert events_note(str(run_dir)) == "1 bad lines skipped in events.jsonl"


def test_one_folder_that_cannot_be_looked_at_is_one_row_not_a_failed_listing(
        tmp_path, monkeypatch):
    import core.runs.listing as listing
    from core.runs.listing import list_runs

    write_fixed_events(tmp_path / "a-good")
    (tmp_path / "b-locked").mkdir()
    real = listing.run_status

    def status(path):
        if str(path).endswith("b-locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(listing, "run_status", status)
    rows = {r.name: r for r in list_runs(tmp_path)}
    assert rows["a-good"].error is None and rows["a-good"].epochs == 6
    assert rows["b-locked"].error == f"{tmp_path / 'b-locked'}: Permission denied"


def test_an_over_long_path_says_which_limit_it_broke(tmp_path):
    from core.foundation.errors import os_problem

    long_name = tmp_path / ("y" * 300)
    deep = tmp_path.joinpath(*["x" * 200] * 25)
    for path, said in ((long_name, "a name in the path is too long (300 bytes"),
                       (deep, "the path is too long as a whole")):
        try:
            os.stat(path)
        except OSError as exc:
            assert os_problem(exc).startswith(said)
        row = run_row(str(path))
        assert row.error is None or "\n" not in row.error


def test_a_long_log_folds_in_linear_time():
    """fold_events keeps each history list in place (a copy per epoch was quadratic)."""
    import time

    ev = EpochEnd(1, 10, 0.5, 0.0, 0.5, 0.8, 0.7, 1e-3, True, 1, 0.8, 0.1)
    events = [EpochEnd(**{**ev.__dict__, "epoch": e}) for e in range(1, 40_001)]
    t = time.perf_counter()
    log = fold_events(events)
    assert len(log.history["val_auc"]) == 40_000
    assert time.perf_counter() - t < 5.0


# -- start time ----------------------------------------------------------------------------------
def _log_started(folder, started_at) -> None:
    folder.mkdir(parents=True)
    log = EventLog(folder / "events.jsonl")
    log.write(RunStarted({"epochs": 2}, {}, [4, 1], 5, "s", str(folder), 0, 0, False, 2,
                         started_at=started_at))
    log.close()


def test_newest_first_is_by_start_time_not_by_name(tmp_path):
    """"newest first" (the app's default sort) is by when a run started, whatever its
    folder is called; runs without a start time (older logs, the shipped checkpoint's)
    come last, as found."""
    _log_started(tmp_path / "zz-old", 1_000.0)
    _log_started(tmp_path / "aa-new", 3_000.0)
    _log_started(tmp_path / "mm-mid", 2_000.0)
    _log_started(tmp_path / "no-time", None)
    rows = scan([str(tmp_path / n) for n in ("zz-old", "no-time", "aa-new", "mm-mid")])
    assert [r.started for r in rows] == [1_000.0, None, 3_000.0, 2_000.0]
    names = [r.name for r in sort_rows(rows, "started")]
    assert names == ["aa-new", "mm-mid", "zz-old", "no-time"]
    assert [r.name for r in sort_rows(rows, "started", reverse=True)][:3] == [
        "zz-old", "mm-mid", "aa-new"]


@pytest.mark.parametrize("first_line", [
    b'{"event": "run_started", "started_at": 1e308}',
    b'{"event": "run_started", "started_at": "yesterday"}',
    b'{"event": "run_started", "started_at": true}',
    b'{"event": "run_started", "started_at": -5}',
    b'[1, 2]',
    b'{"event": "run_started", "started_at": ' + b"9" * 400 + b"}",
    b"\xff\xfe not json",
])
def test_a_hostile_start_time_is_no_start_time(tmp_path, first_line):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "events.jsonl").write_bytes(first_line + b"\n")
    row = run_row(str(folder))
    assert row.started is None
    assert sort_rows([row], "started") == [row]


def test_a_training_run_records_when_it_started(tmp_path):
    import time

    from core.data import load_data
    from core.foundation.config import TrainConfig
    from core.training.train import train

    before = time.time()
    cfg = TrainConfig(hidden_dims=[8], epochs=1, batch_size=64)
    for _ in train(cfg, load_data("synthetic:200"), tmp_path / "run"):
        pass
    started = run_row(str(tmp_path / "run")).started
    assert started is not None and before <= started <= time.time()
