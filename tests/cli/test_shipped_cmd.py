"""The commands and the shipped checkpoint: the checkpoint used is said first, the
installed copy is the default outside a clone, and no command writes what was shipped —
the README's own commands included."""

from __future__ import annotations

import re
import shlex

import pytest

from chexmini_cli.main import main
from core.runs import layout
from core.runs.release.shipped import COPY_HINT, installed_checkpoint
from tests.helpers import REPO, writable_shipped
from tests.helpers.files import file_stamps, skip_unless_installed

SHIPPED = REPO / "artifacts"
needs_install = skip_unless_installed()



def one_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("chexmini: error: ") and "\n" not in err and "Traceback" not in err
    return err


@needs_install
def test_outside_a_clone_the_installed_checkpoint_is_used_and_said(tmp_path, monkeypatch,
                                                                     capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["predict", "--samples"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == (f"checkpoint: {installed_checkpoint()} (the shipped one, installed with "
                     "chexmini; no ./artifacts here)")
    for argv in (["inspect"], ["evaluate"], ["gallery", "--top", "1"]):
        assert main(argv) == 0, argv
        assert capsys.readouterr().out.splitlines()[0] == first, argv


def test_in_a_clone_local_artifacts_are_used_and_the_flag_wins(tmp_path, monkeypatch, capsys):
    writable_shipped(tmp_path / "mine")
    (tmp_path / "artifacts").symlink_to(SHIPPED)
    monkeypatch.chdir(tmp_path)
    assert main(["predict", "--samples"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == \
        "checkpoint: artifacts (./artifacts in this folder)"
    assert main(["predict", "--samples", "--checkpoint", "mine"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "checkpoint: mine"


def test_json_output_stays_json(tmp_path, monkeypatch, capsys):
    import json

    monkeypatch.chdir(tmp_path)
    assert main(["inspect", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["path"]


def test_save_without_a_named_checkpoint_is_refused_before_any_work(tmp_path, monkeypatch,
                                                                     capsys):
    (tmp_path / "artifacts").symlink_to(SHIPPED)
    monkeypatch.chdir(tmp_path)
    before = file_stamps(SHIPPED)
    assert main(["evaluate", "--target-sensitivity", "0.9", "--save"]) == 2
    err = one_error(capsys)
    assert "--save writes into a checkpoint: name it with --checkpoint" in err
    assert COPY_HINT in err and file_stamps(SHIPPED) == before


@pytest.mark.parametrize("where", ["artifacts", "repository", "installed"])
def test_every_writing_command_refuses_the_shipped_checkpoint(tmp_path, monkeypatch, capsys,
                                                               where):
    if where == "installed" and installed_checkpoint() is None:
        pytest.skip("chexmini is not installed")
    monkeypatch.chdir(tmp_path)   # no ./artifacts: the name means the installed copy
    ck = {"artifacts": "artifacts", "repository": str(SHIPPED),
          "installed": str(installed_checkpoint())}[where]
    mine = writable_shipped(tmp_path / "mine")
    before = file_stamps(SHIPPED)
    writes = [["evaluate", "--checkpoint", ck, "--target-sensitivity", "0.9", "--save"]]
    if where != "artifacts":   # an output folder's name is a new folder here, not resolved
        writes += [["export", mine, ck, "--format", "chexmini", "--overwrite"],
                   ["train", "--data", "synthetic:120", "--epochs", "1", "--out", ck,
                    "--overwrite"]]
    for argv in writes:
        assert main([str(a) for a in argv]) == 2, argv
        err = one_error(capsys)
        assert "is the checkpoint shipped with chexmini, which is never written" in err, argv
        assert err.endswith(f"make a writable copy first: {COPY_HINT}"), argv
    assert file_stamps(SHIPPED) == before


def test_the_copy_the_refusal_names_can_be_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(shlex.split(COPY_HINT)[1:]) == 0
    assert main(["evaluate", "--checkpoint", "runs/mine", "--target-sensitivity", "0.9",
                 "--save"]) == 0
    out = capsys.readouterr().out
    assert "saved → " in out and (tmp_path / "runs" / "mine" / layout.CARD).is_file()


def readme_commands() -> list[list[str]]:
    """The ``chexmini`` lines of README's Command line block that use a checkpoint (not
    training, cross-validation, the range test or a sweep: minutes each), optional parts
    ``[…]`` left out and the made-up image names replaced by the bundled X-rays."""
    from core.data.nih_sample import sample_pngs

    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("## Command line\n\n```bash\n")[1].split("```")[0]
    out = []
    for line in block.splitlines():
        cmd = re.sub(r"\[[^\]]*\]", "", line.split("#")[0]).split()
        if cmd and cmd[1] not in ("train", "cv", "runs", "lr-find", "sweep"):
            pngs = [str(p) for p in sample_pngs()[:2]]
            out.append([pngs.pop(0) if a.startswith("chest") else a for a in cmd[1:]])
    return out


@pytest.mark.slow
@pytest.mark.parametrize("clone", [True, False], ids=["in-a-clone", "elsewhere"])
def test_the_readme_commands_leave_the_shipped_checkpoint_untouched(tmp_path, monkeypatch,
                                                                     capsys, clone):
    commands = readme_commands()
    assert len(commands) >= 10 and any("--save" in c for c in commands)
    if clone:
        (tmp_path / "artifacts").symlink_to(SHIPPED)
    elif installed_checkpoint() is None:
        pytest.skip("chexmini is not installed")
    monkeypatch.chdir(tmp_path)
    before = file_stamps(SHIPPED)
    for argv in commands:
        assert main(argv) == 0, (argv, capsys.readouterr().err)
        out = capsys.readouterr().out
        assert out.startswith("checkpoint: ") or argv[0] == "gradcheck" or "--json" in argv
    assert file_stamps(SHIPPED) == before
    assert (tmp_path / "runs" / "published" / layout.CARD).is_file()
