"""Every bad input through the command line: one line naming the file, exit code 2,
no traceback, nothing half-written."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from chexmini_cli.main import main
from tests.helpers import REPO, run_to_end, synthetic, tiny_config
from tests.helpers.files import png_bytes, rewrite_npz


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    out = tmp_path_factory.mktemp("ckpt")
    run_to_end(tiny_config(epochs=1), synthetic(200), out)
    return out


def cli_error(argv, capsys) -> str:
    rc = main([str(a) for a in argv])
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert rc == 2, captured
    assert len(lines) == 1 and lines[0].startswith("chexmini: error: "), lines
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


def _cmyk(p):
    Image.new("CMYK", (64, 64), (0, 0, 0, 0)).save(p, format="JPEG")


BAD_IMAGES = [
    ("missing", lambda p: None, "file not found"),
    ("directory", lambda p: p.mkdir(), "is a directory"),
    ("zero-bytes", lambda p: p.write_bytes(b""), "empty file"),
    ("text", lambda p: p.write_text("hello"), "not an image"),
    ("truncated", lambda p: p.write_bytes(png_bytes()[:300]), "truncated or corrupt"),
    ("1x1", lambda p: Image.new("L", (1, 1)).save(p, format="PNG"), "only 1×1 pixels"),
]


@pytest.mark.slow
@pytest.mark.parametrize("name, make, message", BAD_IMAGES, ids=[b[0] for b in BAD_IMAGES])
def test_predict_bad_images(ckpt, tmp_path, capsys, name, make, message):
    path = tmp_path / "img.png"
    make(path)
    line = cli_error(["predict", "--checkpoint", ckpt, "--image", path], capsys)
    assert str(path) in line and message in line


@pytest.mark.parametrize("mode", ["I;16", "RGBA", "P", "CMYK", "LA"])
def test_predict_unusual_but_valid_images(ckpt, tmp_path, capsys, mode):
    path = tmp_path / ("img.jpg" if mode == "CMYK" else "img.png")
    if mode == "CMYK":
        _cmyk(path)
    elif mode == "I;16":
        Image.fromarray((np.arange(128 * 128).reshape(128, 128) * 3).astype(np.uint16)).save(path)
    else:
        Image.new("L", (128, 128), 77).convert(mode).save(path)
    assert main(["predict", "--checkpoint", str(ckpt), "--image", str(path), "--json"]) == 0


def test_predict_decompression_bomb(ckpt, tmp_path, capsys, monkeypatch):
    path = tmp_path / "bomb.png"
    Image.new("L", (400, 400)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 20_000)
    assert "decompression bomb" in cli_error(
        ["predict", "--checkpoint", ckpt, "--image", path], capsys)


DAMAGE = [
    ("no-model", lambda d: (d / "model.npz").unlink(), "model.npz: file not found"),
    ("no-metrics", lambda d: (d / "metrics.json").unlink(), "metrics.json: file not found"),
    ("bad-json", lambda d: (d / "metrics.json").write_text("{"), "not valid JSON"),
    ("no-threshold", lambda d: (d / "metrics.json").write_text("{}"), "threshold"),
    ("wrong-shape", lambda d: rewrite_npz(d / "model.npz",
                                           lambda a: a.__setitem__("fc1.W", a["fc1.W"][:, :3])),
     "inconsistent weights"),
    ("missing-key", lambda d: rewrite_npz(d / "model.npz", lambda a: a.pop("fc1.b")),
     "missing key 'fc1.b'"),
    ("nan", lambda d: rewrite_npz(d / "model.npz",
                                   lambda a: a["fc2.b"].__setitem__(0, np.inf)), "NaN or inf"),
    ("norm-length", lambda d: rewrite_npz(d / "model.npz",
                                           lambda a: a.__setitem__("_norm_std", np.ones(7))),
     "_norm_std has 7 values"),
]


@pytest.mark.parametrize("name, damage, message", DAMAGE, ids=[d[0] for d in DAMAGE])
@pytest.mark.parametrize("command", ["predict", "evaluate", "inspect", "gradcheck"])
def test_damaged_checkpoints(ckpt, tmp_path, capsys, name, damage, message, command):
    bad = tmp_path / "ck"
    shutil.copytree(ckpt, bad)
    damage(bad)
    img = tmp_path / "x.png"
    Image.new("L", (64, 64), 50).save(img)
    argv = {"predict": ["predict", "--checkpoint", bad, "--image", img],
            "evaluate": ["evaluate", "--checkpoint", bad, "--data", "synthetic:200"],
            "inspect": ["inspect", bad],
            "gradcheck": ["gradcheck", "--checkpoint", bad]}[command]
    line = cli_error(argv, capsys)
    assert message in line and str(bad) in line


BAD_NPZ = [
    ("missing-arrays", {"images": np.zeros((4, 64, 64), np.uint8)}, "missing array"),
    ("bad-labels", {"images": np.zeros((4, 64, 64), np.uint8),
                    "names": np.array([f"0000000{i}_000.png" for i in range(4)]),
                    "labels": np.array([0, 1, 2, 1], np.uint8)}, "labels must be 0 or 1"),
    ("float-images", {"images": np.zeros((4, 64, 64)), "names": np.array(["a"] * 4),
                      "labels": np.zeros(4, np.uint8)}, "uint8"),
]


@pytest.mark.parametrize("name, arrays, message", BAD_NPZ, ids=[b[0] for b in BAD_NPZ])
def test_train_on_bad_npz(tmp_path, capsys, name, arrays, message):
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    line = cli_error(["train", "--data", path, "--out", tmp_path / "run", "--epochs", "1"],
                     capsys)
    assert message in line and str(path) in line
    assert not (tmp_path / "run").exists()  # nothing half-written


def test_usage_errors_are_one_line(capsys):
    for argv in (["evaluate", "--split", "nope"], ["predict"], ["train", "--epochs", "x"], []):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "error:" in err and "--help" in err


@pytest.mark.slow
def test_control_characters_in_file_names_stay_on_one_line(tmp_path, capsys):
    import os

    for name in ("a\nb.png", "tab\there.png", os.fsdecode(b"\xff\xfe.png")):
        art = REPO / "artifacts"
        assert main(["predict", "--checkpoint", str(art), "--image",
                     str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "file not found" in err
