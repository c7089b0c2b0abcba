"""Untrusted text is printed as it is, never read as markup: every command that prints a
path, a recorded source or a file name runs with folders named like Rich markup
(``x[/red]y``, ``[bold]``) and prints those names literally."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from chexmini_cli.main import main
from tests.helpers.data import make_folder
from tests.helpers.tui import make_checkpoint, write_png

HOSTILE = ("x[/red]y", "[bold]", "[/]")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    for name in HOSTILE:
        (root / name).mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture(autouse=True)
def wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # no wrapping inside the names looked for


def ok(capsys, *argv) -> str:
    rc = main([str(a) for a in argv])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "Traceback" not in captured.out + captured.err
    return captured.out


@pytest.mark.parametrize("name", HOSTILE)
def test_checkpoint_commands_print_hostile_paths(hostile, name, capsys):
    ckpt = make_checkpoint(hostile / name / "[red]ckpt")
    png = write_png(hostile / name / "[b]scan].png")
    for argv in (("inspect", ckpt), ("evaluate", "--checkpoint", ckpt),
                 ("predict", "--checkpoint", ckpt, "--image", png),
                 ("gradcheck", "--checkpoint", ckpt, "--samples", "2"),
                 ("runs", hostile / name)):
        out = ok(capsys, *argv)
        assert "[red]ckpt" in out or argv[0] in ("gradcheck", "predict"), argv
    out = ok(capsys, "predict", "--checkpoint", ckpt, "--image", png)
    assert "[b]scan].png" in out
    shutil.rmtree(hostile / name / "[red]exported", ignore_errors=True)
    ok(capsys, "export", ckpt, hostile / name / "[red]exported")
    assert (hostile / name / "[red]exported").is_dir()


def test_data_info_and_train_with_hostile_folder(hostile, capsys):
    data = hostile / "x[/red]y" / "[bold]images"
    make_folder(data, n=30)
    out = ok(capsys, "data", "info", "--data", data)
    assert "x[/red]y/[bold]ima" in out  # the table title wraps at the table width
    out = ok(capsys, "train", "--data", data, "--out", hostile / "[/]" / "[bold]run",
             "--epochs", "1", "--image-size", "16", "--hidden-dims", "8", "--quiet")
    assert "[bold]run" in out
