"""Nothing lost: real `chexmini train` processes killed by signals and resumed end
bit-identical to an uninterrupted run; faults during artifact writes keep what was there."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.foundation.errors import ChexminiError
from core.runs import layout
from tests.helpers import run_to_end, synthetic, tiny_config

ARGS = ["--data", "synthetic:500", "--epochs", "30", "--hidden-dims", "128,32",
        "--batch-size", "32", "--quiet"]
COMPARED = ("model.npz", "metrics.json", "history.json", "val_scores.npy", "test_scores.npy",
            "val_labels.npy", "test_labels.npy")


def chexmini(*argv: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "chexmini_cli", "train", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "run"
    proc = chexmini(*ARGS, "--out", str(out))
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return out


def wait_for_step(run: Path, epoch: int, timeout: float = 120) -> None:
    log = run / "events.jsonl"
    t0 = time.time()
    while time.time() - t0 < timeout:
        if log.exists():
            for line in log.read_text().splitlines():
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if ev["event"] == "step" and ev["epoch"] >= epoch and ev["step"] >= 3:
                    return
        time.sleep(0.01)
    raise TimeoutError("training did not reach the expected step")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP],
                         ids=["SIGTERM", "SIGINT", "SIGHUP"])
def test_signal_mid_epoch_then_resume_is_bit_identical(reference, tmp_path, sig):
    run = tmp_path / "run"
    proc = chexmini(*ARGS, "--out", str(run))
    wait_for_step(run, epoch=3)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, err
    assert f"chexmini train --resume {run}" in err and "Traceback" not in err
    assert (run / layout.RESUME).is_file() and not (run / "metrics.json").exists()
    assert not list(run.glob(".*.tmp"))

    resumed = chexmini("--resume", str(run))
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    for name in COMPARED:
        assert (run / name).read_bytes() == (reference / name).read_bytes(), name


@pytest.mark.slow
def test_second_ctrl_c_exits_at_once_without_corrupting_files(tmp_path):
    run = tmp_path / "run"
    proc = chexmini(*ARGS, "--out", str(run))
    wait_for_step(run, epoch=2)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in err
    if (run / layout.RESUME).exists():  # whatever was written is whole and loadable
        with np.load(run / layout.RESUME) as z:
            assert "model/fc1.W" in z.files
    for line in (run / "events.jsonl").read_text().splitlines()[:-1]:
        json.loads(line)


@pytest.mark.slow
def test_fault_while_writing_artifacts_keeps_the_resume_state(tmp_path, monkeypatch):
    """Disk full while the final artifacts are written: a clear error, the resumable state
    is still there, and resuming afterwards completes the run."""
    import core.runs.checkpoint as ck

    data = synthetic(200)
    real = ck.write_npz

    def full_disk(path, arrays):
        if Path(path).name == "model.npz":
            raise ChexminiError("could not write file (No space left on device)", path)
        return real(path, arrays)

    monkeypatch.setattr(ck, "write_npz", full_disk)
    with pytest.raises(ChexminiError, match="No space left"):
        run_to_end(tiny_config(epochs=2), data, tmp_path)
    assert (tmp_path / layout.RESUME).is_file()
    assert not (tmp_path / "model.npz").exists() and not (tmp_path / "metrics.json").exists()
    monkeypatch.setattr(ck, "write_npz", real)
    events = run_to_end(tiny_config(epochs=2), data, tmp_path, resume=True)
    assert events[-1].kind == "finished" and (tmp_path / "metrics.json").is_file()


@pytest.mark.slow
def test_a_folder_holding_a_run_is_not_overwritten_by_accident(tmp_path):
    data = synthetic(200)
    run_to_end(tiny_config(epochs=1), data, tmp_path)
    before = (tmp_path / "model.npz").read_bytes()
    with pytest.raises(ChexminiError, match="already holds a run"):
        run_to_end(tiny_config(epochs=1, seed=3), data, tmp_path)
    assert (tmp_path / "model.npz").read_bytes() == before
    run_to_end(tiny_config(epochs=1, seed=3), data, tmp_path, overwrite=True)
    assert (tmp_path / "model.npz").read_bytes() != before


def test_a_closed_pipe_ends_the_command_quietly():
    """``chexmini evaluate --json | head -c 40``: no "Broken pipe" line, exit 141 (as if
    killed by SIGPIPE), and what was read is the start of the JSON."""
    import fcntl

    from tests.helpers import REPO

    r, w = os.pipe()
    # a 4 KiB pipe: the ~60 KB of JSON cannot all be written before the reader leaves
    fcntl.fcntl(w, getattr(fcntl, "F_SETPIPE_SZ", 1031), 4096)
    proc = subprocess.Popen([sys.executable, "-m", "chexmini_cli", "evaluate", "--split",
                             "all", "--json"], cwd=REPO, stdout=w, stderr=subprocess.PIPE)
    os.close(w)
    with os.fdopen(r, "rb") as reader:
        head = reader.read(40)                 # then the reader goes away
    assert proc.wait(timeout=120) == 141
    assert proc.stderr.read() == b""
    assert head.lstrip().startswith(b'{\n  "checkpoint": "artifacts"')
