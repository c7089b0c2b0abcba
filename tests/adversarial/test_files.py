"""Issue 12, cause 7: only regular files are read where a file is expected; appends in a
run folder do not follow symbolic links; a full disk is one line and loses nothing.

FIFO cases run in a subprocess with a timeout, so a regression fails instead of hanging.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.data import load_data
from core.events import EventLog, read_events
from core.foundation.config import TrainConfig
from core.foundation.errors import ChexminiError
from core.foundation.safe_io import read_json
from core.runs import layout
from core.training.resume_state import load_resume
from core.training.train import TrainControl, train
from tests.helpers import REPO

TIMEOUT = 60


def chexmini(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``chexmini ARGV`` in a subprocess that must finish (SIGTERM ignored, as a stuck
    reader would be)."""
    code = ("import signal, sys; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "from chexmini_cli.main import main; sys.exit(main(sys.argv[1:]))")
    env = {**os.environ, "PYTHONPATH": str(REPO), "CHEXMINI_DATA": str(cwd or REPO)}
    return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True,
                          text=True, timeout=TIMEOUT, env=env, cwd=cwd)


def assert_one_line(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def tiny() -> TrainConfig:
    return TrainConfig(hidden_dims=[16, 8], epochs=3, batch_size=32)


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("r") / "run"
    gen = train(tiny(), load_data("synthetic:200"), run)
    for ev in gen:
        if ev.kind == "step" and ev.epoch == 2:
            break
    gen.close()
    return run


def copy_run(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


@pytest.mark.slow
def test_fifo_as_events_jsonl_on_resume(interrupted, tmp_path):
    run = copy_run(interrupted, tmp_path / "run")
    (run / "events.jsonl").unlink()
    os.mkfifo(run / "events.jsonl")
    before = (run / layout.RESUME).read_bytes()
    proc = chexmini("train", "--resume", str(run), "--quiet")
    assert_one_line(proc, str(run / "events.jsonl"))
    assert (run / layout.RESUME).read_bytes() == before


def test_fifo_as_events_jsonl_for_the_reader(tmp_path):
    os.mkfifo(tmp_path / "events.jsonl")
    code = ("import sys; from core.events import read_events; from core.foundation.errors import "
            "ChexminiError\ntry:\n    read_events(sys.argv[1])\nexcept ChexminiError as e:\n"
            "    print(e); sys.exit(2)")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "events.jsonl")],
                          capture_output=True, text=True, timeout=TIMEOUT,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 2 and "FIFO" in proc.stdout


def test_dev_zero_and_a_symlink_to_it_are_not_read(tmp_path):
    link = tmp_path / "events.jsonl"
    link.symlink_to("/dev/zero")
    for path in ("/dev/zero", link):
        with pytest.raises(ChexminiError, match="character device"):
            read_events(path)
        with pytest.raises(ChexminiError, match="not a regular file"):
            read_json(path)


@pytest.mark.slow
def test_events_symlink_is_not_followed_on_resume(interrupted, tmp_path):
    run = copy_run(interrupted, tmp_path / "run")
    target = tmp_path / "elsewhere.txt"
    target.write_text("precious\n")
    (run / "events.jsonl").unlink()
    (run / "events.jsonl").symlink_to(target)
    proc = chexmini("train", "--resume", str(run), "--quiet")
    assert_one_line(proc, str(run / "events.jsonl"), "symbolic link")
    assert target.read_text() == "precious\n"
    assert (run / layout.RESUME).is_file()


def test_event_log_refuses_symlinks_and_devices(tmp_path):
    (tmp_path / "a.jsonl").symlink_to(tmp_path / "b.jsonl")
    with pytest.raises(ChexminiError, match="symbolic link"):
        EventLog(tmp_path / "a.jsonl")
    assert not (tmp_path / "b.jsonl").exists()
    with pytest.raises(ChexminiError, match="character device"):
        EventLog("/dev/null")


def nih_root(root: Path) -> Path:
    root.mkdir()
    (root / "Data_Entry_2017.csv").write_text(
        "Image Index,Finding Labels,Patient ID\n00000001_000.png,No Finding,1\n")
    (root / "test_list.txt").write_text("00000001_000.png\n")
    os.mkfifo(root / "train_val_list.txt")
    return root


@pytest.mark.slow
def test_fifo_as_train_val_list(tmp_path):
    root = nih_root(tmp_path / "nih")
    proc = chexmini("train", "--data", f"nih:{root}", "--out", str(tmp_path / "o"),
                    "--quiet", cwd=tmp_path)
    assert_one_line(proc, str(root / "train_val_list.txt"), "FIFO")


@pytest.mark.slow
def test_fifo_as_image_and_as_metrics_json(tmp_path):
    os.mkfifo(tmp_path / "x.png")
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    os.mkfifo(ckpt / "metrics.json")
    proc = chexmini("inspect", str(ckpt))
    assert_one_line(proc, str(ckpt / "metrics.json"), "FIFO")
    from core.data.images import load_gray
    with pytest.raises(ChexminiError, match="FIFO"):
        load_gray(tmp_path / "x.png")


@pytest.mark.slow
def test_fifo_inside_an_image_folder_is_skipped_not_hung(tmp_path):
    for cls in ("normal", "abnormal"):
        d = tmp_path / "f" / cls
        d.mkdir(parents=True)
        for i in range(12):
            Image.fromarray(np.full((32, 32), 40 * i % 255, np.uint8)).save(d / f"{i}.png")
    os.mkfifo(tmp_path / "f" / "normal" / "pipe.png")
    code = ("import sys; from core.data.folder import load_folder; "
            "ix = load_folder(sys.argv[1], image_size=16, workers=1); "
            "print(ix.info['skipped'], ix.info['skipped_examples'][0])")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "f")],
                          capture_output=True, text=True, timeout=TIMEOUT,
                          env={**os.environ, "PYTHONPATH": str(REPO),
                               "CHEXMINI_DATA": str(tmp_path / "home")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("1 ") and "FIFO" in proc.stdout


@pytest.fixture()
def tiny_disk(tmp_path):
    """A 2 MB tmpfs (root only; skipped where mounting is not permitted)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)],
                       capture_output=True, timeout=TIMEOUT)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=TIMEOUT)


@pytest.mark.slow
def test_full_disk_while_appending_events_loses_nothing(tiny_disk):
    data = load_data("synthetic:200")
    cfg = TrainConfig(hidden_dims=[8], epochs=12, batch_size=32, checkpoint_every=12)
    run = tiny_disk / "run"
    control = TrainControl()
    gen = train(cfg, data, run, control=control)
    for ev in gen:
        if ev.kind == "epoch":
            control.save_now()                   # one resume state, then only events
        if ev.kind == "checkpoint":
            break
    saved = (run / layout.RESUME).read_bytes()
    filler = tiny_disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)   # fill the disk to the last byte
    try:
        while os.write(fd, b"\0" * 512):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    try:
        with pytest.raises(ChexminiError) as exc:
            for _ in gen:
                pass
    finally:
        gen.close()
    msg = str(exc.value)
    assert "\n" not in msg and "no space left" in msg.lower()
    assert str(run / "events.jsonl") in msg
    assert (run / layout.RESUME).read_bytes() == saved          # the resume state is intact
    filler.unlink()
    load_resume(run / layout.RESUME)
    list(train(cfg, data, run, resume=True))                  # and resumes to the end
    assert (run / "metrics.json").is_file()
    assert read_events(run / "events.jsonl").bad <= 1         # at most the torn line


def test_a_number_too_long_to_read_is_one_line(tmp_path):
    """Python refuses to convert integers of more than 4,300 digits (a ValueError that is
    not a JSONDecodeError): still one line naming the file."""
    from core.foundation.safe_io import read_json

    path = tmp_path / "metrics.json"
    path.write_text('{"threshold": ' + "9" * 5000 + "}")
    with pytest.raises(ChexminiError, match="number too long to read") as err:
        read_json(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
