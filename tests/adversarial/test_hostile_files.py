"""The hostile matrix: every file a run folder can hold (``core.runs.layout``) × a hostile
form of it × every command that reads a run folder.

Each cell must end with exit 0 or a one-line ``chexmini: error:`` (exit 2), never a
traceback or a hang, and must never write outside the run folder (a symbolic link's
target keeps its bytes and mode, and an export never carries a linked secret).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
from pathlib import Path

import pytest

from chexmini_cli.main import main
from core.runs import layout

FAST = ["--data", "synthetic:200", "--epochs", "1", "--hidden-dims", "8", "--quiet"]
SECRET = b"do not copy me\n"
#: every file a run folder can hold
FILES = (*layout.RUN_FILES, layout.LOCK)
FORMS = ("symlink_out", "dangling_symlink", "fifo", "directory", "huge_sparse")
#: command line of each reader; RUN is the run folder, PARENT its parent, OUT a new folder
READERS = {
    "runs": ["runs", "PARENT"],
    "inspect": ["inspect", "RUN"],
    "evaluate": ["evaluate", "--checkpoint", "RUN"],
    "predict": ["predict", "--checkpoint", "RUN", "--samples"],
    "export": ["export", "RUN", "OUT"],
    "gallery": ["gallery", "RUN"],
    "train_overwrite": ["train", *FAST, "--out", "RUN", "--overwrite"],
    "train_resume": ["train", "--resume", "RUN", "--quiet"],
}
#: readers that train are slow: they run in the full suite only
SLOW_READERS = {"train_overwrite", "train_resume"}
TIMEOUT_S = 60


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("ref") / "run"
    assert main(["train", *FAST, "--out", str(run)]) in (0, None)
    return run


def make_hostile(path: Path, form: str, outside: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
    if form == "symlink_out":
        path.symlink_to(outside)
    elif form == "dangling_symlink":
        path.symlink_to(outside.parent / "nowhere")
    elif form == "fifo":
        os.mkfifo(path)
    elif form == "directory":
        path.mkdir()
    elif form == "huge_sparse":
        with open(path, "wb") as fh:
            fh.truncate(1 << 30)


class Hung(Exception):
    pass


def _alarm(signum, frame):
    raise Hung(f"no answer within {TIMEOUT_S} s")


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIMEOUT_S)
    try:
        try:
            rc = main(argv)
        except SystemExit as exc:
            rc = exc.code
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    out, err = capsys.readouterr()
    return int(rc or 0), out, err


def _cells():
    for reader in READERS:
        marks = [pytest.mark.slow] if reader in SLOW_READERS else []
        for name in FILES:
            for form in FORMS:
                yield pytest.param(reader, name, form, marks=marks,
                                   id=f"{reader}-{name}-{form}")


@pytest.mark.parametrize(("reader", "name", "form"), list(_cells()))
def test_hostile_file(reader, name, form, reference, tmp_path, capsys):
    run = tmp_path / "runs" / "run"
    shutil.copytree(reference, run)
    outside = tmp_path / "secret"
    outside.write_bytes(SECRET)
    outside.chmod(0o600)
    make_hostile(run / name, form, outside)
    subs = {"RUN": str(run), "PARENT": str(run.parent), "OUT": str(tmp_path / "exported")}
    argv = [subs.get(a, a) for a in READERS[reader]]

    rc, out, err = run_cli(argv, capsys)

    assert "Traceback" not in out + err
    assert rc in (0, 2), err
    if rc == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("chexmini: error: "), err
    assert outside.read_bytes() == SECRET
    assert stat.S_IMODE(outside.stat().st_mode) == 0o600
    exported = tmp_path / "exported"
    if exported.is_dir():
        for f in exported.rglob("*"):
            with contextlib.suppress(OSError):
                assert not (f.is_file() and f.read_bytes() == SECRET), f


# -- writers: one discipline for export ---------------------------------------------------
def test_export_into_a_folder_a_live_trainer_owns_is_refused(reference, tmp_path, capsys):
    from core.runs.folder import RunLock

    dest = tmp_path / "live"
    dest.mkdir()
    lock = RunLock.acquire(dest)
    try:
        rc, _, err = run_cli(["export", str(reference), str(dest)], capsys)
    finally:
        lock.release()
    assert rc == 2 and err.startswith("chexmini: error: ") and "in use" in err, err
    assert not (dest / layout.MODEL).exists()


def test_a_failed_export_overwrite_keeps_the_old_checkpoint(reference, tmp_path, capsys,
                                                           monkeypatch):
    import errno

    import numpy as np

    from core.inference import load_checkpoint

    dest = tmp_path / "exp"
    assert run_cli(["export", str(reference), str(dest)], capsys)[0] == 0
    before = {f: (dest / f).read_bytes() for f in (layout.MODEL, layout.METRICS)}

    def disk_full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    rc, _, err = run_cli(["export", "--overwrite", str(reference), str(dest)], capsys)
    monkeypatch.undo()
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert {f: (dest / f).read_bytes() for f in before} == before
    load_checkpoint(dest)
    assert not [p.name for p in dest.iterdir() if p.name.endswith(".tmp")]


def test_export_copies_keep_the_source_permissions(reference, tmp_path, capsys):
    src = tmp_path / "src"
    shutil.copytree(reference, src)
    (src / layout.HISTORY).chmod(0o600)
    assert run_cli(["export", str(src), str(tmp_path / "exp")], capsys)[0] == 0
    assert stat.S_IMODE((tmp_path / "exp" / layout.HISTORY).stat().st_mode) == 0o600


def test_export_removes_the_temp_files_of_dead_writers_only(reference, tmp_path, capsys):
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    dest = tmp_path / "exp"
    dest.mkdir()
    stale = dest / f".model.npz.{dead}.abcdefgh.tmp"
    live = dest / ".model.npz.1.abcdefgh.tmp"  # PID 1 is alive: not ours to remove
    stale.write_bytes(b"half")
    live.write_bytes(b"half")
    assert run_cli(["export", str(reference), str(dest)], capsys)[0] == 0
    assert not stale.exists() and live.exists()


# -- read-modify-write with identity -------------------------------------------------------
def test_evaluate_save_refuses_when_the_model_changed_while_it_was_scored(
        reference, tmp_path, capsys, monkeypatch):
    import core.evaluation.operating_point as op_mod

    run = tmp_path / "run"
    shutil.copytree(reference, run)
    before = (run / layout.METRICS).read_bytes()
    choose = op_mod.choose_operating_point

    def a_run_finishes_meanwhile(*a, **k):  # a new model lands after the scores were read
        os.replace(run / layout.MODEL, run / "m.npz")
        shutil.copy2(run / "m.npz", run / layout.MODEL)
        return choose(*a, **k)

    monkeypatch.setattr(op_mod, "choose_operating_point", a_run_finishes_meanwhile)
    rc, _, err = run_cli(["evaluate", "--checkpoint", str(run), "--target-sensitivity",
                          "0.9", "--save"], capsys)
    assert rc == 2 and "changed while it was being evaluated" in err, err
    assert len(err.strip().splitlines()) == 1
    assert (run / layout.METRICS).read_bytes() == before


# -- unreadable (mode 000): a child without root's permission bypass -----------------------
UNREADABLE_FILES = (layout.LOCK, layout.METRICS, layout.MODEL, layout.EVENTS)


@pytest.mark.slow
@pytest.mark.parametrize("name", UNREADABLE_FILES)
@pytest.mark.parametrize("reader", ["runs", "inspect", "train_overwrite"])
def test_unreadable_file(reader, name, reference, tmp_path):
    from tests.helpers.files import run_without_permission_bypass

    run = tmp_path / "runs" / "run"
    shutil.copytree(reference, run)
    (run / name).touch()
    (run / name).chmod(0)
    subs = {"RUN": str(run), "PARENT": str(run.parent), "OUT": str(tmp_path / "exported")}
    argv = [subs.get(a, a) for a in READERS[reader]]
    try:
        res = run_without_permission_bypass(["-m", "chexmini_cli", *argv])
    except (OSError, ValueError) as exc:  # pragma: no cover - no way to drop the bypass
        pytest.skip(f"cannot run a process without the root file-permission bypass: {exc}")
    assert "Traceback" not in res.stdout + res.stderr
    assert res.returncode in (0, 2), res.stderr
    if res.returncode == 2:
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("chexmini: error: "), res.stderr
    if name == layout.LOCK and reader != "inspect":  # never taken for "no lock"
        assert "permission denied" in res.stdout + res.stderr
