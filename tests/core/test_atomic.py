"""Atomic writes: a failure mid-write leaves the previous file intact and no temp files."""

from __future__ import annotations

import errno

import numpy as np
import pytest

from core.foundation.atomic import atomic_open, write_json, write_npz
from core.foundation.errors import ChexminiError


def test_failure_mid_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / "metrics.json"
    write_json(target, {"v": 1})
    with pytest.raises(RuntimeError), atomic_open(target) as fh:
        fh.write(b'{"v": 2, "partial')
        raise RuntimeError("killed mid-write")
    assert target.read_text().strip() == '{\n  "v": 1\n}'
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_disk_full_is_a_clear_error_and_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "model.npz"
    write_npz(target, {"a": np.arange(3)})

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("core.foundation.atomic.os.fsync", full)
    with pytest.raises(ChexminiError, match="model.npz: could not write file .No space left"):
        write_npz(target, {"a": np.arange(5)})
    with np.load(target) as z:
        assert z["a"].tolist() == [0, 1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_written_files_get_normal_permissions(tmp_path):
    write_json(tmp_path / "x.json", {})
    assert (tmp_path / "x.json").stat().st_mode & 0o044  # readable by others per umask
