"""Progress and ``--quiet``: a Rich progress line on a terminal stderr, nothing extra when
piped, the same results either way; ``--quiet`` on every command; ``evaluate --brief``.

The terminal is a real pseudo-terminal (:mod:`pty`) given to the command as its stderr,
while stdout stays a pipe, so the result bytes can be compared with a piped run."""

from __future__ import annotations

import argparse
import json
import os
import pty
import re
import subprocess
import sys
import threading

import pytest

from chexmini_cli import main as cli_main
from chexmini_cli.main import COMMANDS, _parser, main
from core.foundation.progress import Tick
from core.runs.export import EXTRA_FILES, export_checkpoint
from core.training.cv import TICK_EPOCHS, TICK_FITS, concat_splits, cross_validate
from tests.helpers import REPO, synthetic, tiny_config

CKPT = REPO / "artifacts"
GRADCHECK = ["gradcheck", "--hidden-dims", "8", "--image-size", "8", "--samples", "3"]
CV = ["cv", "--data", "synthetic:160", "--folds", "2", "--epochs", "2", "--hidden-dims", "8",
      "--batch-size", "32", "--models", "mlp,constant"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE",
                        "COLUMNS", "LINES", "CI")}
    env.update(TERM="xterm-256color", COLUMNS="100", PYTHONIOENCODING="utf-8")
    return env


def _piped(argv: list[str], cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chexmini_cli", *map(str, argv)],
                          env=_env(), cwd=cwd, capture_output=True, timeout=300,
                          stdin=subprocess.DEVNULL)


def _stderr_on_a_terminal(argv: list[str], cwd) -> tuple[int, bytes, bytes]:
    """Run with stderr on a pseudo-terminal, stdout on a pipe: (code, stdout, terminal)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "chexmini_cli", *map(str, argv)],
                            env=_env(), cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    seen: list[bytes] = []

    def read() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the terminal's last writer is gone
                return
            if not chunk:
                return
            seen.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    out, _ = proc.communicate(timeout=300)
    reader.join(timeout=30)
    os.close(master)
    return proc.returncode, out, b"".join(seen)


def _leaves(parser: argparse.ArgumentParser, name: str = "chexmini"):
    """Every runnable (sub-)command parser, by its command line."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield name, parser
        return
    for sub_name, sub in subs[0].choices.items():
        yield from _leaves(sub, f"{name} {sub_name}")


# -- --quiet everywhere ------------------------------------------------------------------
def test_every_command_in_COMMANDS_accepts_quiet():
    leaves = dict(_leaves(_parser()))
    tops = {name.split()[1] for name in leaves}
    assert len(tops) == len(COMMANDS)  # every module registered at least one command
    for name, parser in leaves.items():
        assert "--quiet" in parser._option_string_actions, name
        assert parser._option_string_actions["--quiet"].dest == "quiet", name


@pytest.mark.slow
@pytest.mark.parametrize("argv", [
    GRADCHECK, ["evaluate", "--checkpoint", CKPT, "--data", "synthetic:100"],
    ["data", "info", "--data", "synthetic:100"], ["inspect", CKPT], ["runs", REPO],
    ["gallery", CKPT], ["predict", "--checkpoint", CKPT, "--samples"],
    ["export", CKPT, "{tmp}/exported"],
], ids=lambda a: a[0] if a[0] != "data" else "data info")
def test_piped_runs_show_no_progress_and_quiet_keeps_the_results(argv, tmp_path):
    argv = [str(a).format(tmp=tmp_path) for a in argv]
    plain = _piped(argv, tmp_path)
    if argv[0] == "export":
        argv[2] += "-quiet"
    quiet = _piped([*argv, "--quiet"], tmp_path)
    assert plain.returncode == quiet.returncode == 0, plain.stderr + quiet.stderr
    for run in (plain, quiet):  # progress is only ever drawn on stderr
        assert run.stderr == b"" and b"\x1b[" not in run.stdout
    if argv[0] == "export":  # the result line stays, the notes go
        assert quiet.stdout.decode().startswith("exported ")
        assert len(quiet.stdout.splitlines()) == 1 < len(plain.stdout.splitlines())
    else:
        assert quiet.stdout == plain.stdout


# -- a terminal gets a progress line; the results are the same bytes -----------------------
@pytest.mark.slow
@pytest.mark.parametrize("argv, task", [(GRADCHECK, "finite differences"),
                                        (CV, "cross-validation")], ids=["gradcheck", "cv"])
def test_a_terminal_shows_progress_and_the_results_do_not_change(argv, task, tmp_path):
    code, out, terminal = _stderr_on_a_terminal(argv, tmp_path)
    piped = _piped(argv, tmp_path)
    assert code == piped.returncode == 0, terminal.decode(errors="replace")
    shown = terminal.decode(errors="replace")
    assert task in shown and re.search(r"(?<!\d)(\d+)/\1(?!\d)", shown)  # a line, run to its end
    assert out == piped.stdout          # the results, byte for byte
    assert piped.stderr == b""          # and nothing extra when piped
    q_code, q_out, q_terminal = _stderr_on_a_terminal([*argv, "--quiet"], tmp_path)
    assert q_code == 0 and q_terminal == b""  # --quiet: no line even on a terminal
    if argv[0] == "gradcheck":
        assert q_out == out
    else:  # cv --quiet drops the per-fold lines and keeps the summary table
        assert q_out.splitlines() == [ln for ln in out.splitlines()
                                      if not ln.startswith(b"fold ")]


# -- the engine's ticks ------------------------------------------------------------------
def test_cross_validate_ticks_every_epoch_and_fit():
    data = synthetic(160)
    ticks: list[Tick] = []
    cfg = tiny_config(epochs=2, hidden_dims=[8], batch_size=32)
    results = cross_validate(concat_splits(data), {"mlp": cfg, "constant": None}, 2, 0, 0.15,
                             tick=ticks.append)
    fits = [t for t in ticks if t.task == TICK_FITS]
    assert [(t.done, t.total) for t in fits] == [(i, 4) for i in range(5)]
    epochs = [t for t in ticks if t.task == TICK_EPOCHS]
    assert [(t.done, t.total) for t in epochs] == [(1, 2), (2, 2)] * 2
    assert epochs[0].info.startswith("fold 1/2 mlp")
    assert len(results) == 4
    # the ticks change nothing: the same folds without them give the same numbers
    again = cross_validate(concat_splits(data), {"mlp": cfg, "constant": None}, 2, 0, 0.15)
    assert again == results


def test_export_ticks_each_file(tmp_path):
    ticks: list[Tick] = []
    export_checkpoint(CKPT, tmp_path / "out", "chexvision-mini", tick=ticks.append)
    total = len(EXTRA_FILES) + 1
    assert [t.done for t in ticks] == list(range(total + 1))
    assert {t.total for t in ticks} == {total} and ticks[-1].info == "done"


def test_predict_ticks_each_file_and_scores_the_same(tmp_path):
    from core.data.nih_sample import sample_pngs
    from core.inference import load_checkpoint, predict_files

    ckpt = load_checkpoint(CKPT)
    paths = [*sample_pngs(), tmp_path / "missing.png"]
    ticks: list[Tick] = []
    args = (ckpt.model, ckpt.mean, ckpt.std, ckpt.threshold, paths)
    with_ticks = predict_files(*args, resize=ckpt.resize_filter, tick=ticks.append)
    assert [(t.done, t.total) for t in ticks][-1] == (len(paths), len(paths))
    assert [t.done for t in ticks] == list(range(len(paths) + 1))
    assert with_ticks == predict_files(*args, resize=ckpt.resize_filter)


# -- evaluate --brief --------------------------------------------------------------------
@pytest.mark.parametrize("extra", [[], ["--split", "all", "--data", "synthetic:120"],
                                   ["--split", "val", "--target-sensitivity", "0.8"]])
def test_evaluate_brief_json_is_a_small_subset_of_the_full_json(extra, capsys):
    argv = ["evaluate", "--checkpoint", str(CKPT), "--json", *extra]
    assert main(argv) == 0
    full_text = capsys.readouterr().out
    assert main([*argv, "--brief"]) == 0
    brief_text = capsys.readouterr().out
    full, brief = json.loads(full_text), json.loads(brief_text)  # both strict JSON

    def subset(small, big):
        if isinstance(small, dict):
            return isinstance(big, dict) and all(k in big and subset(v, big[k])
                                                 for k, v in small.items())
        return small == big

    assert subset(brief, full)
    assert set(brief) == {"checkpoint", "data", "threshold", "rule", "saved_to", "splits"}
    assert set(brief["splits"]) == set(full["splits"])
    for split in brief["splits"].values():
        assert set(split) == {"auc", "recall", "specificity", "balanced_accuracy", "n_val"}
    assert len(brief_text.splitlines()) <= 10 + 8 * len(brief["splits"])
    assert len(brief_text) * 5 < len(full_text)


def test_evaluate_brief_text_is_one_line_per_split(capsys):
    assert main(["evaluate", "--checkpoint", str(CKPT), "--split", "all", "--data",
                 "synthetic:120", "--brief"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split(":")[0] for ln in lines[:3]] == ["train", "val", "test"]
    assert all("AUC" in ln and "sensitivity" in ln and "specificity" in ln
               for ln in lines[:3])
    assert lines[3].startswith("threshold ")


def test_the_cli_module_keeps_one_progress_road():
    """Commands draw progress only through chexmini_cli.progress (no Progress of their own)."""
    import inspect

    for module in COMMANDS:
        source = inspect.getsource(module)
        assert "rich.progress" not in source, module.__name__
    assert cli_main.COMMANDS is COMMANDS
