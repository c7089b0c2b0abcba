"""The preprocessing cache: reuse, incremental rebuild, resume after an interrupted or
killed build, parallel workers, bad files, locking, views."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from core.data.cache import BAD, OK, build_cache, cache_dir_for, gather_rows, split_views
from core.data.images import load_gray
from core.foundation.errors import ChexminiError
from tests.helpers import REPO
from tests.helpers.data import write_png


@pytest.fixture(autouse=True)
def _data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("CHEXMINI_DATA", str(tmp_path / "chexmini-data"))


def make_files(root: Path, n: int = 40, side: int = 96) -> tuple[list[str], list[str]]:
    names, paths = [], []
    for i in range(n):
        p = root / f"{i:08d}_000.png"
        write_png(p, ("gray8", "gray16", "rgb")[i % 3], i, side)
        names.append(p.name)
        paths.append(str(p))
    return names, paths


@pytest.mark.slow
def test_build_reuse_and_pixels(tmp_path):
    names, paths = make_files(tmp_path / "img")
    events = []
    res = build_cache(names, paths, 32, tmp_path / "c", root=tmp_path / "img", workers=1,
                      progress=events.append)
    assert res.decoded == 40 and res.reused == 0 and not res.bad
    assert isinstance(res.images, np.memmap) and res.images.shape == (40, 32, 32)
    assert res.images.dtype == np.uint8 and not res.images.flags.writeable
    for i in (0, 1, 2, 39):
        np.testing.assert_array_equal(res.images[i], load_gray(paths[i], 32))
    assert events[-1].stage == "done" and events[-1].done == 40
    again = build_cache(names, paths, 32, tmp_path / "c", root=tmp_path / "img", workers=1)
    assert again.decoded == 0 and again.reused == 40 and again.notes == ["cache up to date"]
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert manifest["files"][0] == "00000000_000.png"   # relative to the root
    assert manifest["image_size"] == 32 and "decode" in manifest["code_version"]
    assert manifest["complete"] and len(manifest["sizes"]) == len(manifest["mtimes"]) == 40


def test_changed_added_removed_inputs_decode_only_what_changed(tmp_path):
    names, paths = make_files(tmp_path / "img", n=30)
    build_cache(names, paths, 32, tmp_path / "c", workers=1)
    write_png(Path(paths[5]), "gray8", 999, 96)          # changed content
    os.utime(paths[5], ns=(1, 1_000_000_000))           # … and mtime
    extra = tmp_path / "img" / "00000099_000.png"
    write_png(extra, "gray8", 1234, 96)
    names2 = [*names[:20], *names[21:], extra.name]      # one removed, one added
    paths2 = [*paths[:20], *paths[21:], str(extra)]
    res = build_cache(names2, paths2, 32, tmp_path / "c", workers=1)
    assert res.decoded == 2 and res.reused == 28
    assert any("inputs changed" in n for n in res.notes)
    np.testing.assert_array_equal(res.images[5], load_gray(paths[5], 32))
    np.testing.assert_array_equal(res.images[-1], load_gray(extra, 32))
    np.testing.assert_array_equal(res.images[20], load_gray(paths[21], 32))
    # Old layout files are gone; only the current plan's files remain.
    assert len(list((tmp_path / "c").glob("images-*.npy"))) == 1


@pytest.mark.slow
def test_bad_files_skipped_counted_listed(tmp_path):
    names, paths = make_files(tmp_path / "img", n=12)
    Path(paths[3]).write_bytes(Path(paths[3]).read_bytes()[:200])   # truncated
    Path(paths[4]).write_bytes(b"not an image at all")
    Path(paths[5]).write_bytes(b"")
    paths[6] = str(tmp_path / "img" / "nowhere.png")
    res = build_cache(names, paths, 32, tmp_path / "c", workers=2, chunk_size=3)
    assert res.ok.sum() == 8
    bad = dict(res.bad)
    assert set(bad) == {names[3], names[4], names[5], names[6]}
    assert "truncated" in bad[names[3]] or "cannot decode" in bad[names[3]]
    assert bad[names[6]] == "file not found"
    assert "empty" in bad[names[5]]
    assert not res.images[3].any()                    # bad rows stay zero
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert manifest["n_bad"] == 4 and len(manifest["bad"]) == 4
    # The missing file appears later: only it is decoded.
    write_png(Path(paths[6]), "gray8", 6, 96)
    res2 = build_cache(names, paths, 32, tmp_path / "c", workers=1)
    assert res2.decoded == 1 and res2.status[6] == OK and res2.status[3] == BAD


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_interrupted_build_resumes_remaining_chunks(tmp_path, workers):
    names, paths = make_files(tmp_path / "img", n=48)
    state = {}

    def fault(ev):
        if ev.stage == "decode" and ev.decoded >= 16:
            state["done"] = ev.done
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_cache(names, paths, 32, tmp_path / "c", workers=workers, chunk_size=4,
                    progress=fault, save_interval=0)
    done = state["done"]
    assert 16 <= done < 48
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert manifest["complete"] is False
    res = build_cache(names, paths, 32, tmp_path / "c", workers=workers, chunk_size=4)
    assert res.decoded == 48 - res.reused and res.reused >= done
    assert res.reused < 48 and any("resuming" in n for n in res.notes)
    ref = np.stack([load_gray(p, 32) for p in paths])
    np.testing.assert_array_equal(np.asarray(res.images), ref)


@pytest.mark.slow
def test_killed_build_resumes(tmp_path):
    """SIGKILL in the middle of a build (no cleanup at all), then continue."""
    names, paths = make_files(tmp_path / "img", n=40)
    listing = tmp_path / "paths.json"
    listing.write_text(json.dumps([names, paths]))
    script = textwrap.dedent(f"""
        import json, os, signal
        from core.data.cache import build_cache
        names, paths = json.load(open({str(listing)!r}))
        def cb(ev):
            if ev.stage == "decode" and ev.decoded >= 12:
                print(ev.done, flush=True)
                os.kill(os.getpid(), signal.SIGKILL)
        build_cache(names, paths, 32, {str(tmp_path / "c")!r}, workers=1, chunk_size=4,
                    progress=cb, save_interval=0)
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=120)
    assert proc.returncode == -9, proc.stderr
    done = int(proc.stdout.split()[-1])
    res = build_cache(names, paths, 32, tmp_path / "c", workers=1, chunk_size=4)
    assert res.reused == done and res.decoded == 40 - done
    ref = np.stack([load_gray(p, 32) for p in paths])
    np.testing.assert_array_equal(np.asarray(res.images), ref)


@pytest.mark.slow
def test_other_image_size_is_another_cache_and_decoder_change_rebuilds(tmp_path,
                                                                         monkeypatch):
    names, paths = make_files(tmp_path / "img", n=6)
    a = cache_dir_for("folder", tmp_path / "img", 32)
    b = cache_dir_for("folder", tmp_path / "img", 48)
    assert a != b and str(a).startswith(str(tmp_path / "chexmini-data"))
    build_cache(names, paths, 32, a, workers=1)
    import core.data.cache.plan as cache

    monkeypatch.setattr(cache, "CODE_VERSION", "chexmini test / decode 999")
    res = build_cache(names, paths, 32, a, workers=1)
    assert res.decoded == 6 and any("rebuilding all" in n for n in res.notes)


def test_lock_refuses_a_second_builder(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    names, paths = make_files(tmp_path / "img", n=4)
    (tmp_path / "c").mkdir()
    with open(tmp_path / "c" / ".lock", "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        with pytest.raises(ChexminiError, match="another chexmini process"):
            build_cache(names, paths, 32, tmp_path / "c", workers=1)


def test_gather_rows_and_views(tmp_path):
    arr = np.arange(50 * 4 * 4, dtype=np.uint8).reshape(50, 4, 4)
    np.save(tmp_path / "base.npy", arr)
    for rows in (np.array([3, 4, 5, 9]), np.array([0, 49]), np.array([7, 2, 30])):
        gather_rows(tmp_path / "base.npy", rows, tmp_path / "out.npy", block=2)
        np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), arr[rows])
    views = split_views(tmp_path / "base.npy", {"train": np.arange(10, 20),
                                                "val": np.array([1, 5]),
                                                "test": np.array([], dtype=np.int64)},
                        tmp_path / "cache")
    assert isinstance(views["train"], np.memmap) and views["train"].base is not None
    np.testing.assert_array_equal(views["train"], arr[10:20])
    np.testing.assert_array_equal(views["val"], arr[[1, 5]])
    assert len(views["test"]) == 0
    assert len(list((tmp_path / "cache" / "views").iterdir())) == 1
