"""No lost run: one writer per run folder (real concurrent processes), nothing deleted
without --overwrite, artifacts written before any final resume state, and run-folder
creation errors as one line naming the path."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import core.training.train as train_mod
from chexmini_cli.main import main
from core.foundation.errors import ChexminiError
from core.inference import load_checkpoint
from core.runs import layout
from core.runs.folder import RunFolderBusy, owner_pid
from core.training.save_clock import SaveClock
from core.training.train import TrainControl, train
from tests.helpers import run_to_end, synthetic, tiny_config

ARGS = ["--data", "synthetic:500", "--epochs", "30", "--hidden-dims", "128,32",
        "--batch-size", "32", "--quiet"]
#: A run that is certainly still training when it is signalled (it is never let finish).
LONG = [*ARGS[:2], "--epochs", "100000", *ARGS[4:]]
FAST = ["--data", "synthetic:200", "--epochs", "1", "--hidden-dims", "8", "--quiet"]
COMPARED = ("model.npz", "metrics.json", "history.json", "val_scores.npy", "test_scores.npy")


def chexmini(*argv: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "chexmini_cli", "train", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def finish(proc: subprocess.Popen, timeout: float = 300) -> tuple[int, str]:
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


def wait_for_event(run: Path, pred, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Wait until a line of ``run/events.jsonl`` satisfies ``pred`` (the run still live)."""
    log, t0 = run / "events.jsonl", time.monotonic()
    while time.monotonic() - t0 < timeout:
        assert proc.poll() is None, proc.communicate()[1]
        if log.exists():
            for line in log.read_text().splitlines():
                try:
                    if pred(json.loads(line)):
                        return
                except ValueError:
                    continue
        time.sleep(0.02)
    raise TimeoutError("the run did not reach the expected event")


def saved_once(ev: dict) -> bool:
    return ev["event"] == "checkpoint" and ev["what"] == "resume"


def mid_epoch_2(ev: dict) -> bool:
    return ev["event"] == "step" and ev["epoch"] >= 2


def one_line_error(err: str, path) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chexmini: error: "), err
    assert str(path) in lines[0] and "Traceback" not in err
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "run"
    rc, err = finish(chexmini(*ARGS, "--out", str(out)))
    assert rc == 0, err
    return out


# -- one writer: real concurrent processes ------------------------------------------------
@pytest.mark.slow
def test_second_cli_run_into_a_live_folder_is_refused_and_the_first_finishes(
        reference, tmp_path):
    run = tmp_path / "run"
    first = chexmini(*ARGS, "--out", str(run))
    wait_for_event(run, mid_epoch_2, first)
    assert owner_pid(run) == first.pid
    for extra in ([], ["--overwrite"]):
        rc, err = finish(chexmini(*ARGS, "--out", str(run), *extra), 120)
        assert rc == 2
        assert f"PID {first.pid}" in one_line_error(err, run)
    rc, err = finish(first)
    assert rc == 0, err
    for name in COMPARED:  # the first run is whole: exactly the uninterrupted result
        assert (run / name).read_bytes() == (reference / name).read_bytes(), name
    starts = [ln for ln in (run / "events.jsonl").read_text().splitlines()
              if '"run_started"' in ln]
    assert len(starts) == 1
    assert not (run / layout.LOCK).exists() and owner_pid(run) is None


@pytest.mark.slow
def test_resume_of_a_live_run_is_refused_and_touches_nothing(tmp_path):
    run = tmp_path / "run"
    live = chexmini(*ARGS[:2], "--epochs", "60", *ARGS[4:], "--out", str(run))
    wait_for_event(run, saved_once, live)
    log_before = (run / "events.jsonl").stat().st_size
    rc, err = finish(chexmini("--resume", str(run)), 120)
    assert rc == 2 and f"PID {live.pid}" in one_line_error(err, run)
    assert (run / "events.jsonl").stat().st_size >= log_before
    live.send_signal(signal.SIGTERM)
    rc, err = finish(live, 120)
    assert rc == 128 + signal.SIGTERM, err
    events = [json.loads(ln) for ln in (run / "events.jsonl").read_text().splitlines()]
    assert sum(ev["event"] == "run_started" for ev in events) == 1  # nothing interleaved
    rc, err = finish(chexmini("--resume", str(run)))  # now free: it resumes and finishes
    assert rc == 0, err
    load_checkpoint(run)


@pytest.mark.slow
def test_a_stale_lock_of_a_killed_trainer_is_taken_over_and_the_run_resumes(
        reference, tmp_path):
    run = tmp_path / "run"
    proc = chexmini(*ARGS, "--out", str(run))
    wait_for_event(run, lambda ev: saved_once(ev) and ev["epoch"] >= 1, proc)
    wait_for_event(run, mid_epoch_2, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(60)
    assert (run / layout.LOCK).read_text().strip() == str(proc.pid)  # left behind…
    assert owner_pid(run) is None                                   # …but not held
    rc, err = finish(chexmini("--resume", str(run)))
    assert rc == 0, err
    for name in COMPARED:  # resumed from the last saved state: bit-identical
        assert (run / name).read_bytes() == (reference / name).read_bytes(), name


@pytest.mark.slow
def test_the_app_refuses_to_start_or_resume_a_run_a_live_cli_is_training(tmp_path):
    from tests.helpers.tui import SIZE, fill_form, make_app, text_of, wait_for

    run = tmp_path / "runs" / "live"
    live = chexmini(*LONG, "--out", str(run))
    wait_for_event(run, saved_once, live)

    async def go():
        app = make_app(tmp_path, start="train")
        async with app.run_test(size=SIZE) as pilot:
            scr = app.screen
            await pilot.press("r")                      # newest resume.npz: the live run
            await wait_for(pilot, lambda: "PID" in text_of(scr.query_one("#form-error")),
                           10, "inline refusal")
            text = text_of(scr.query_one("#form-error"))
            assert f"PID {live.pid}" in text and str(run) in text
            assert scr.runner is None and app.is_running
            fill_form(scr, data="synthetic:200", epochs=1, hidden_dims="8", out=str(run))
            await pilot.press("s")                      # a new run into the live folder
            await pilot.pause(0.2)
            assert f"PID {live.pid}" in text_of(scr.query_one("#form-error"))
            assert scr.runner is None

    asyncio.run(go())
    assert live.poll() is None  # the live run was never disturbed
    live.send_signal(signal.SIGTERM)
    rc, err = finish(live, 120)
    assert rc == 128 + signal.SIGTERM, err
    assert (run / layout.RESUME).is_file()


@pytest.mark.slow
def test_two_trainers_in_one_process_are_refused_too(tmp_path):
    data = synthetic(200)
    first = train(tiny_config(epochs=3), data, tmp_path)
    for ev in first:
        if ev.kind == "step" and ev.global_step == 2:
            break
    with pytest.raises(RunFolderBusy, match=f"PID {os.getpid()}"):
        run_to_end(tiny_config(epochs=3), data, tmp_path, overwrite=True)
    with pytest.raises(RunFolderBusy):
        run_to_end(tiny_config(epochs=3), data, tmp_path, resume=True)
    first.close()  # closing releases the lock: the folder can be resumed
    assert (tmp_path / layout.RESUME).is_file() and not (tmp_path / layout.LOCK).exists()
    assert run_to_end(tiny_config(epochs=3), data, tmp_path, resume=True)[-1].kind == "finished"


# -- starting never deletes what it should not --------------------------------------------
@pytest.mark.parametrize("files", [("model.npz", "history.json"), ("events.jsonl",),
                                   ("resume.npz",), ("loss_curve.png",)])
def test_a_folder_holding_any_part_of_a_run_is_refused_without_overwrite(
        tmp_path, capsys, files):
    out = tmp_path / "run"
    out.mkdir()
    for f in files:
        (out / f).write_bytes(b"user data " + f.encode())
    before = snapshot(out)
    assert main(["train", *FAST, "--out", str(out)]) == 2
    line = one_line_error(capsys.readouterr().err, out)
    assert "already holds a run" in line and "--overwrite" in line
    assert ("--resume" in line) == ("resume.npz" in files)
    assert snapshot(out) == before
    with pytest.raises(ChexminiError, match="already holds a run"):  # the engine too
        run_to_end(tiny_config(epochs=1), synthetic(200), out)
    assert snapshot(out) == before


@pytest.mark.slow
def test_an_interrupted_overwrite_keeps_the_previous_checkpoint_loadable(tmp_path):
    data = synthetic(200)
    out, fresh = tmp_path / "run", tmp_path / "fresh"
    run_to_end(tiny_config(epochs=2), data, out)
    old = snapshot(out)
    gen = train(tiny_config(epochs=3, seed=3), data, out, overwrite=True)
    for ev in gen:
        if ev.kind == "step" and ev.epoch == 2:
            break
    gen.close()
    for name in ("model.npz", "metrics.json", "history.json"):
        assert (out / name).read_bytes() == old[name], name
    load_checkpoint(out)
    assert (out / layout.RESUME).is_file()
    run_to_end(tiny_config(epochs=3, seed=3), data, out, resume=True)
    run_to_end(tiny_config(epochs=3, seed=3), data, fresh)
    for name in COMPARED:  # replaced by the new run's, exactly
        assert (out / name).read_bytes() == (fresh / name).read_bytes(), name


@pytest.mark.slow
def test_resume_with_another_out_or_data_is_refused(tmp_path, capsys):
    run = tmp_path / "run"
    gen = train(tiny_config(epochs=3), synthetic(200), run)
    for ev in gen:
        if ev.kind == "epoch":
            break
    gen.close()
    before = snapshot(run)
    for extra, named in ((["--out", str(tmp_path / "other")], tmp_path / "other"),
                         (["--data", "synthetic:300"], run), (["--n-train", "50"], run),
                         (["--overwrite"], run)):
        assert main(["train", "--resume", str(run), *extra]) == 2
        line = one_line_error(capsys.readouterr().err, named)
        assert "--resume" in line and extra[0] in line
    assert snapshot(run) == before
    assert main(["train", "--resume", str(run), "--out", str(run), "--quiet"]) == 0
    assert (run / "metrics.json").is_file()


# -- finishing: artifacts first, state saved by cost --------------------------------------
@pytest.mark.slow
def test_a_failing_final_resume_save_cannot_cost_the_artifacts(tmp_path, monkeypatch):
    """Little disk left: a resume state written after the last epoch would fail. The
    artifacts come first, and no resume state is written at the end of a run."""
    real = train_mod.save_resume_state
    cfg = tiny_config(epochs=3)

    def no_room_at_the_end(path, arrays, meta):
        if meta["epoch"] >= cfg.epochs:
            raise ChexminiError("could not write file (No space left on device)", path)
        real(path, arrays, meta)

    monkeypatch.setattr(train_mod, "save_resume_state", no_room_at_the_end)
    events = run_to_end(cfg, synthetic(200), tmp_path)
    assert events[-1].kind == "finished"
    assert all(e.epoch < cfg.epochs for e in events if e.kind == "checkpoint"
               and e.what == "resume")
    load_checkpoint(tmp_path)
    assert not (tmp_path / layout.RESUME).exists()


@pytest.mark.slow
def test_checkpoint_every_is_an_explicit_override(tmp_path):
    events = run_to_end(tiny_config(epochs=5, checkpoint_every=2), synthetic(200), tmp_path)
    saved = [e.epoch for e in events if e.kind == "checkpoint" and e.what == "resume"]
    assert saved == [2, 4]  # not after the last epoch: the artifacts follow at once


@pytest.mark.slow
def test_by_default_the_first_epoch_saves_and_the_run_stays_resumable(tmp_path):
    control = TrainControl()
    gen = train(tiny_config(epochs=6), synthetic(200), tmp_path, control=control)
    saved = [ev for ev in gen if ev.kind == "checkpoint" and ev.what == "resume"]
    assert saved and saved[0].epoch == 1 and all(e.epoch < 6 for e in saved)


def test_the_save_clock_bounds_the_time_spent_saving():
    now = [0.0]
    clock = SaveClock(clock=lambda: now[0])
    assert clock.due(1)                 # no cost known yet: save and measure it
    now[0] = 10.0
    clock.saved(started=8.0)            # a 2 s save
    now[0] = 27.0
    assert not clock.due(2)             # 17 s since: less than 9 × 2 s
    now[0] = 28.5
    assert clock.due(3)                 # 18.5 s > 18 s
    every = SaveClock(every=3, clock=lambda: now[0])
    assert [e for e in range(1, 10) if every.due(e)] == [3, 6, 9]


# -- creating the run folder: one line naming the path ------------------------------------
def _unwritable_parent(tmp_path: Path) -> Path:
    if os.geteuid() == 0:  # root ignores permission bits; /sys refuses new folders
        return Path("/sys/chexmini-test-no-such-dir")
    parent = tmp_path / "readonly"
    parent.mkdir()
    parent.chmod(0o555)
    return parent


@pytest.mark.parametrize("case", ["file-component", "name-too-long", "dangling-symlink",
                                  "unwritable-parent", "out-is-a-file"])
def test_run_folder_creation_errors_are_one_line(tmp_path, capsys, case):
    (tmp_path / "afile").write_text("not a folder")
    if case == "file-component":
        out, hint = tmp_path / "afile" / "sub", "is a file"
    elif case == "name-too-long":
        out, hint = tmp_path / ("n" * 300), "too long"
    elif case == "dangling-symlink":
        out, hint = tmp_path / "link", "missing target"
        out.symlink_to(tmp_path / "gone")
    elif case == "unwritable-parent":
        out, hint = _unwritable_parent(tmp_path) / "run", "cannot create"
    else:
        out, hint = tmp_path / "afile", "not a directory"
    try:
        assert main(["train", *FAST, "--out", str(out)]) == 2
        assert hint in one_line_error(capsys.readouterr().err, out)
        with pytest.raises(ChexminiError, match=hint):
            run_to_end(tiny_config(epochs=1), synthetic(200), out)
    finally:
        if case == "unwritable-parent" and os.geteuid() != 0:
            out.parent.chmod(0o755)
    assert (tmp_path / "afile").read_text() == "not a folder"
    assert not (tmp_path / "gone").exists()
