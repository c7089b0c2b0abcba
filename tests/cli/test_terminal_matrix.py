"""The terminal matrix for the command line: with an ASCII-only stdout (``LC_ALL=C``,
no UTF-8 mode) every command finishes, printing what ASCII cannot show as ``?``, with
no encoding error. Real subprocesses, with timeouts."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import REPO

CKPT = REPO / "artifacts"
COMMANDS = {
    "inspect": ["inspect", CKPT],
    "evaluate": ["evaluate", "--checkpoint", CKPT, "--data", "synthetic:100"],
    "predict": ["predict", "--checkpoint", CKPT, "--samples"],
    "gradcheck": ["gradcheck", "--samples", "2"],
    "data info": ["data", "info", "--data", "synthetic:100"],
    "runs": ["runs", REPO],
    "export": ["export", CKPT, "{tmp}/exported"],
    "train": ["train", "--data", "synthetic:100", "--epochs", "1", "--out", "{tmp}/run",
              "--quiet"],
    "lr-find": ["lr-find", "--data", "synthetic:100", "--hidden-dims", "16", "--steps", "20"],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", COMMANDS)
def test_ascii_only_stdout(name, tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONIOENCODING", "PYTHONUTF8", "LANG", "LC_CTYPE")}
    env.update(LC_ALL="C", PYTHONUTF8="0", COLUMNS="100")
    argv = [str(a).format(tmp=tmp_path) for a in COMMANDS[name]]
    done = subprocess.run([sys.executable, "-m", "chexmini_cli", *argv], env=env,
                          cwd=tmp_path, capture_output=True, timeout=240)
    err = done.stderr.decode("ascii", "replace")
    assert done.returncode == 0, err
    assert "UnicodeEncodeError" not in err and "Traceback" not in err
    assert done.stdout.decode("ascii")  # something printed, all of it ASCII
