"""Issue 12, cause 6: sizes are bounded before anything is allocated.

Files that *declare* absurd sizes (npy headers, zip members), absurd counts and widths,
and an 88-megapixel image are refused with one line naming the file, quickly and
without allocating what they claim.
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from chexmini_cli.main import main
from core.data.chestmnist import load_chestmnist
from core.data.images import MAX_PIXELS, load_gray
from core.data.subset import load_npz_arrays
from core.foundation.errors import ChexminiError
from core.foundation.safe_npz import read_npy, read_npz
from core.nn.model import MLP
from core.runs import layout
from core.runs.checkpoint import read_model, save_artifacts
from tests.helpers import REPO

HUGE = (4096, 10**9)


def npy_bytes(shape, dtype="<f4", body: bytes = b"\0" * 64) -> bytes:
    """An .npy whose header declares ``shape`` but whose body is only ``body``."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": dtype, "fortran_order": False, "shape": tuple(shape)})
    return buf.getvalue() + body


def write_zip(path: Path, members: dict[str, bytes], deflate: bool = False) -> Path:
    mode = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", mode) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def one_line(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for n in needles:
        assert n in lines[0], lines[0]


@pytest.fixture()
def ckpt(tmp_path) -> Path:
    """A small valid artifact folder."""
    out = tmp_path / "ckpt"
    rng = np.random.default_rng(0)
    s, y = rng.random(40), np.arange(40) % 2
    from core.runs.checkpoint import build_metrics
    metrics = build_metrics(config={"hidden_dims": [8]}, splits={}, best_epoch=1,
                            threshold=0.5, val_scores=s, val_labels=y, test_scores=s,
                            test_labels=y)
    hist = {k: [0.5] for k in ("train_loss", "reg_loss", "val_loss", "val_acc", "val_auc",
                               "lr")}
    model = MLP((256, 8, 1), seed=0)
    save_artifacts(out, model=model, mean=np.zeros(256), std=np.ones(256), metrics=metrics,
                   history=hist, val_scores=s, val_labels=y, test_scores=s, test_labels=y)
    return out


@pytest.mark.slow
def test_model_npz_header_claiming_4096_by_1e9_is_refused(ckpt, capsys):
    write_zip(ckpt / "model.npz", {"fc1.W.npy": npy_bytes(HUGE)})
    t0 = time.perf_counter()
    code = main(["inspect", str(ckpt)])
    err = capsys.readouterr().err
    assert code == 2 and time.perf_counter() - t0 < 5
    one_line(err, str(ckpt / "model.npz"), "fc1.W")


@pytest.mark.slow
def test_model_npz_header_larger_than_its_member_is_refused(ckpt):
    write_zip(ckpt / "model.npz", {"fc1.W.npy": npy_bytes((256, 8))})  # 64 of 8192 bytes
    with pytest.raises(ChexminiError, match=r"fc1\.W declares 8,192 bytes .*truncated"):
        read_model(ckpt)


def test_resume_npz_with_a_huge_header_is_refused(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    write_zip(run / layout.RESUME, {"model/fc1.W.npy": npy_bytes(HUGE), "_meta.npy":
                                  npy_bytes((2,), "|u1", b"{}")})
    code = main(["train", "--resume", str(run), "--quiet"])
    assert code == 2
    one_line(capsys.readouterr().err, str(run / layout.RESUME), "model/fc1.W")


def test_data_npz_with_a_huge_header_is_refused(tmp_path, capsys):
    path = write_zip(tmp_path / "images64.npz", {
        "images.npy": npy_bytes((10**9, 64, 64), "|u1"),
        "names.npy": npy_bytes((1,), "<U5", "a".encode("utf-32-le") * 5),
        "labels.npy": npy_bytes((1,), "|u1", b"\0")})
    code = main(["train", "--data", f"npz:{path}", "--out", str(tmp_path / "o"),
                 "--hidden-dims", "8", "--epochs", "1", "--quiet"])
    assert code == 2
    one_line(capsys.readouterr().err, str(path), "images")
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_zip_bomb_is_refused_before_inflating(tmp_path):
    """A member that inflates >200× (64 MiB of zeros from ~65 KB) stands in for a 4 MB
    file inflating to GBs: refused from the zip directory, before inflating."""
    n = 64 << 20
    header = npy_bytes((n // 4096, 64, 64), "|u1", b"")
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("images.npy", header + bytes(n))
        zf.writestr("names.npy", npy_bytes((1,), "<U1", "a".encode("utf-32-le")))
        zf.writestr("labels.npy", npy_bytes((1,), "|u1", b"\0"))
    assert path.stat().st_size < (1 << 20)
    with pytest.raises(ChexminiError, match="zip bomb") as exc:
        load_npz_arrays(path)
    assert str(path) in str(exc.value)


def test_chestmnist_with_a_huge_declared_split_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("CHEXMINI_DATA", str(tmp_path / "home"))
    small = npy_bytes((2, 28, 28), "|u1", bytes(2 * 28 * 28))
    labels = npy_bytes((2, 14), "|u1", bytes(28))
    members = {f"{s}_{k}.npy": (small if k == "images" else labels)
               for s in ("train", "val", "test") for k in ("images", "labels")}
    members["train_images.npy"] = npy_bytes((10**12, 28, 28), "|u1", bytes(64))
    path = write_zip(tmp_path / "chestmnist.npz", members)
    with pytest.raises(ChexminiError, match="train_images") as exc:
        load_chestmnist(path, image_size=28)
    assert str(path) in str(exc.value)


@pytest.mark.slow
def test_score_npy_with_a_huge_header_is_refused(ckpt):
    from core.runs.scores import load_scores
    (ckpt / "val_scores.npy").write_bytes(npy_bytes((10**12,), "<f8"))
    with pytest.raises(ChexminiError, match="val_scores.npy") as exc:
        load_scores(ckpt)
    assert "\n" not in str(exc.value)


def test_object_arrays_are_never_unpickled(tmp_path):
    path = tmp_path / "x.npy"
    path.write_bytes(npy_bytes((1,), "|O", b"\x80\x04N."))
    with pytest.raises(ChexminiError, match="Python objects"):
        read_npy(path)


@pytest.mark.parametrize("argv, needle", [
    (["train", "--data", "synthetic:99999999999", "--quiet"], "synthetic"),
    (["train", "--data", "synthetic:200", "--hidden-dims", "1000000000", "--quiet"],
     "parameters"),
    (["train", "--data", "synthetic:200", "--image-size", "100000", "--quiet"],
     "--image-size"),
    (["train", "--data", "synthetic:200", "--image-size", "1024", "--hidden-dims", "50000",
      "--quiet"], "parameters"),
    (["gradcheck", "--hidden-dims", "1000000000"], "parameters"),
])
def test_absurd_counts_and_widths_are_refused_quickly(argv, needle, tmp_path, capsys,
                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)
    t0 = time.perf_counter()
    assert main(argv) == 2
    assert time.perf_counter() - t0 < 5
    one_line(capsys.readouterr().err, needle)
    assert not (tmp_path / "runs").exists()


def png_claiming(path: Path, width: int, height: int) -> Path:
    """A small PNG file whose header claims ``width × height`` 16-bit pixels."""
    buf = io.BytesIO()
    Image.new("I;16", (16, 16)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 17]))
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.slow
def test_88_megapixel_png_is_refused_before_decoding(tmp_path, ckpt, capsys):
    img = png_claiming(tmp_path / "huge.png", 10_000, 8_800)
    assert 10_000 * 8_800 > MAX_PIXELS
    with pytest.raises(ChexminiError, match="megapixels"):
        load_gray(img)
    assert main(["predict", "--checkpoint", str(ckpt), "--image", str(img)]) == 2
    one_line(capsys.readouterr().err, str(img), "megapixels")


@pytest.mark.slow
def test_memory_error_is_one_line_in_the_cli(tmp_path):
    """Under a 1.5 GB address-space limit a model just below the parameter cap cannot
    be allocated: the CLI prints one line and exits 2."""
    resource = pytest.importorskip("resource")
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, "
            "1536 << 20)); from chexmini_cli.main import main; "
            "sys.exit(main(['gradcheck', '--hidden-dims', '8000,8000', '--samples', '1']))")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=env)
    del resource
    assert proc.returncode == 2, proc.stderr[-2000:]
    one_line(proc.stderr, "out of memory")


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(arrays=st.dictionaries(
    st.text("abcdefgh/._", min_size=1, max_size=8),
    hnp.arrays(st.sampled_from([np.uint8, np.int64, np.float32, np.float64, np.bool_]),
               hnp.array_shapes(min_dims=0, max_dims=3, max_side=5)), max_size=4))
def test_read_npz_matches_numpy_for_valid_files(arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "a.npz"
        path.write_bytes(buf.getvalue())
        got = read_npz(path)
        with np.load(path, allow_pickle=False) as z:
            assert set(got) == set(z.files)
            for k in z.files:
                assert got[k].dtype == z[k].dtype and got[k].shape == z[k].shape
                assert np.array_equal(got[k], z[k], equal_nan=got[k].dtype.kind == "f")
