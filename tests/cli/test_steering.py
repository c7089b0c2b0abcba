"""Steering a run from another process (``core.training.steering``): a real
``chexmini train`` paused, saved, resumed and stopped through :func:`send` — the function
the attached app calls — and every refusal (no live owner, another user, a folder that is
not writable, hostile request files)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.events import ControlDone, read_all_events
from core.foundation.errors import ChexminiError
from core.runs import layout
from core.runs.folder import RunLock
from core.training.resume_state import load_resume_state
from core.training.steering import Steering, control_problem, send, steered
from core.training.train import TrainControl, train
from tests.adversarial.test_hostile_files import FORMS, make_hostile
from tests.helpers import synthetic, tiny_config

LONG = ["--data", "synthetic:400", "--epochs", "100000", "--hidden-dims", "32",
        "--batch-size", "16", "--quiet"]


def chexmini_train(*argv: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "chexmini_cli", "train", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def events(run: Path) -> list[dict]:
    out = []
    for line in (run / layout.EVENTS).read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass   # a line being written
    return out


def wait_until(cond, timeout: float = 60.0, what: str = "condition"):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        got = cond()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def answer(run: Path, request_id: str) -> dict | None:
    return next((e for e in events(run) if e["event"] == "control"
                 and e["request"] == request_id), None)


def steps(run: Path) -> int:
    return sum(e["event"] == "step" for e in events(run))


@pytest.mark.slow
def test_a_cli_run_is_paused_saved_resumed_and_stopped_from_another_process(tmp_path):
    run = tmp_path / "run"
    proc = chexmini_train(*LONG, "--out", str(run))
    try:
        wait_until(lambda: (run / layout.EVENTS).exists() and steps(run) >= 3, 120, "steps")
        req = send(run, "pause")
        got = wait_until(lambda: answer(run, req.id), 10, "pause answered")
        assert got["ok"] and got["by"] == f"pid {os.getpid()}" and got["detail"] == "paused"
        paused_at = steps(run)
        time.sleep(1.0)
        assert steps(run) == paused_at                       # nothing pulled while paused
        req = send(run, "save")                              # written now, while paused
        got = wait_until(lambda: answer(run, req.id), 10, "save answered")
        assert got["ok"] and got["detail"].startswith("resume state saved")
        meta = load_resume_state(run / layout.RESUME)[1]
        assert meta["global_step"] == got["global_step"] == paused_at
        req = send(run, "resume")
        assert wait_until(lambda: answer(run, req.id), 10, "resume answered")["ok"]
        wait_until(lambda: steps(run) > paused_at + 2, 30, "steps after resuming")
        wait_until(lambda: any(e["event"] == "epoch" for e in events(run)), 120, "an epoch")
        req = send(run, "stop")
        assert wait_until(lambda: answer(run, req.id), 10, "stop answered")["ok"]
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in out + err
    assert f"paused at step {paused_at} (asked by pid {os.getpid()})" in out
    assert "stopping: best checkpoint, test scores, artifacts" in out
    last = events(run)[-1]
    assert last["event"] == "finished" and last["stopped_early"]
    assert (run / layout.METRICS).is_file() and not (run / layout.RESUME).exists()
    assert not (run / layout.CONTROL).exists() and not (run / layout.LOCK).exists()
    # the run is over: a request says so instead of waiting for an answer
    with pytest.raises(ChexminiError, match="has finished"):
        send(run, "stop")


@pytest.mark.slow
def test_a_run_killed_mid_way_is_not_running_and_says_how_to_continue(tmp_path):
    run = tmp_path / "run"
    proc = chexmini_train(*LONG, "--out", str(run))
    try:
        wait_until(lambda: (run / layout.EVENTS).exists() and steps(run) >= 3, 120, "steps")
        proc.terminate()
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    with pytest.raises(ChexminiError, match="not running") as exc:
        send(run, "pause")
    assert f"chexmini train --resume {run}" in str(exc.value)


def test_an_empty_or_missing_folder_cannot_be_steered(tmp_path):
    assert control_problem(tmp_path / "nowhere") == "run folder not found"
    assert control_problem(tmp_path).startswith("not running")
    with pytest.raises(ChexminiError, match="unknown request"):
        send(tmp_path, "explode")


@pytest.mark.skipif(os.getuid() != 0, reason="changing a file's owner needs root")
def test_a_run_of_another_user_is_refused(tmp_path):
    lock = RunLock.acquire(tmp_path)
    try:
        os.chown(tmp_path / layout.LOCK, 12345, -1)
        with pytest.raises(ChexminiError, match=r"another user \(uid 12345\)"):
            send(tmp_path, "stop")
        assert not (tmp_path / layout.CONTROL).exists()
    finally:
        lock.release()


@pytest.mark.skipif(os.getuid() == 0, reason="root writes into read-only folders")
def test_a_folder_that_is_not_writable_is_refused(tmp_path):
    lock = RunLock.acquire(tmp_path)
    try:
        tmp_path.chmod(0o555)
        with pytest.raises(ChexminiError, match="not writable"):
            send(tmp_path, "stop")
    finally:
        tmp_path.chmod(0o755)
        lock.release()


def test_the_driver_answers_requests_between_steps_in_process(tmp_path):
    """The one road in-process: a stop sent while the generator holds the folder is
    honoured at the next check and answered in the event log."""
    run = tmp_path / "run"
    control = TrainControl()
    steering = Steering(control, run, poll_every=0.0)
    gen = train(tiny_config(epochs=500), synthetic(), run, control=control)
    early = sent = None
    seen = []
    for ev in steered(gen, steering):
        seen.append(ev)
        if ev.kind == "step" and early is None:    # too early: nothing to stop with yet
            early = send(run, "stop")
        if ev.kind == "epoch" and sent is None:
            sent = send(run, "stop")
    answers = [ev for ev in seen if isinstance(ev, ControlDone)]
    assert [(a.action, a.request, a.ok) for a in answers] == [("stop", early.id, False),
                                                               ("stop", sent.id, True)]
    assert "no epoch has finished yet" in answers[0].detail
    logged = [ev for ev in read_all_events(run / layout.EVENTS).events
              if isinstance(ev, ControlDone)]
    assert logged == answers
    assert seen[-1].kind == "finished" and seen[-1].stopped_early
    assert seen[-1].epochs_run < 500


@pytest.mark.parametrize("form", [*FORMS, "bad_json", "not_a_request", "other_uid"])
def test_a_hostile_request_file_is_refused_once_and_never_followed(form, tmp_path):
    control = TrainControl()
    steering = Steering(control, tmp_path, poll_every=0.0)
    path = tmp_path / layout.CONTROL
    outside = tmp_path / "secret"
    outside.write_text(json.dumps({"action": "stop", "id": "x", "uid": os.getuid(),
                                   "pid": 1}))
    if form == "bad_json":
        path.write_text("{not json")
    elif form == "not_a_request":
        path.write_text(json.dumps({"action": "explode"}))
    elif form == "other_uid":
        path.write_text(json.dumps({"action": "stop", "id": "x", "uid": os.getuid() + 1,
                                    "pid": 1}))
    else:
        make_hostile(path, form, outside)
    t0 = time.monotonic()
    first = steering.check()
    assert time.monotonic() - t0 < 5                       # a FIFO never blocks
    assert len(first) == 1 and not first[0].ok and first[0].detail.startswith("request ignored")
    assert steering.check() == []                           # answered once
    assert not control.stop_requested and not steering.paused


@pytest.mark.slow
def test_a_paused_cli_run_still_saves_and_exits_on_sigterm(tmp_path):
    import signal

    run = tmp_path / "run"
    proc = chexmini_train(*LONG, "--out", str(run))
    try:
        wait_until(lambda: (run / layout.EVENTS).exists() and steps(run) >= 3, 120, "steps")
        req = send(run, "pause")
        wait_until(lambda: answer(run, req.id), 10, "pause answered")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert f"chexmini train --resume {run}" in err and "Traceback" not in err
    assert (run / layout.RESUME).is_file() and not (run / layout.CONTROL).exists()
