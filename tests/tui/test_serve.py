"""``chexmini-tui --serve`` without a browser: the options each tab's app gets, the
warning for a non-local address, one-line errors (textual-serve missing, port taken), and
a served app process — stdin and stdout pipes, as textual-serve starts it — is not refused
for lacking a terminal and exits on the quit a closed tab sends. The page itself is tested
in a real browser in ``tests/browser``."""

from __future__ import annotations

import json
import os
import select
import shlex
import socket
import subprocess
import sys
import threading
import time

import pytest

from chexmini_tui import serve as served
from chexmini_tui.__main__ import _parser, main
from tests.helpers import REPO


def _child_args(argv: list[str]):
    """Parse the command a tab runs back with the app's own parser."""
    words = shlex.split(served.app_command(_parser().parse_args(argv)))
    assert words[:4] == ["exec", sys.executable, "-m", "chexmini_tui"]
    return _parser().parse_args(words[4:])


def test_each_tab_gets_the_app_options_but_not_the_server_ones():
    child = _child_args(["--serve", "--host", "0.0.0.0", "--port", "9001", "--attach",
                         "runs/x y", "--train", "--data", "synthetic:64", "--runs", "r"])
    assert (child.attach, child.train, child.data, child.runs) == ("runs/x y", True,
                                                                   "synthetic:64", "r")
    assert not child.serve and child.port == 8000 and child.image_mode == "halfcell"


def test_a_non_local_address_warns_in_one_line_and_says_how_to_tunnel():
    for host in served.LOCAL_HOSTS:
        assert served.host_warning(host, 8000) is None
    line = served.host_warning("0.0.0.0", 8123)
    assert "\n" not in line and "anyone who can reach" in line
    assert "ssh -L 8123:127.0.0.1:8123" in line


def test_without_textual_serve_one_line_says_what_to_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "textual_serve.server", None)
    assert main(["--serve"]) == 2
    err = capsys.readouterr().err
    assert err == 'chexmini-tui: error: --serve needs textual-serve: pip install ' \
                  '"chexmini[serve]"\n'


def test_a_taken_port_is_one_line_before_anything_is_served(capsys):
    pytest.importorskip("textual_serve")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--serve", "--port", str(port)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(f"chexmini-tui: error: cannot serve on 127.0.0.1:{port}: ")


def _packet(kind: bytes, payload: bytes) -> bytes:
    return kind + len(payload).to_bytes(4, "big") + payload


@pytest.mark.slow
def test_a_served_app_process_draws_over_pipes_and_quits_when_its_tab_closes(tmp_path):
    env = dict(os.environ, TEXTUAL_DRIVER=served.WEB_DRIVER, COLUMNS="100", ROWS="30")
    proc = subprocess.Popen(
        [sys.executable, "-m", "chexmini_tui", "--checkpoint", str(REPO / "artifacts"),
         "--screen", "inspect", "--runs", str(tmp_path)], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    try:
        assert select.select([proc.stdout], [], [], 60)[0], "no output within 60 s"
        assert proc.stdout.readline() == b"__GANGLION__\n"   # textual-serve's handshake
        # the server reads the app's output all the time: so does the test (a full pipe
        # would stop the app mid-draw)
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        time.sleep(0.5)
        proc.stdin.write(_packet(b"M", json.dumps({"type": "quit"}).encode()))
        proc.stdin.flush()
        assert proc.wait(30) == 0
        assert b"Traceback" not in proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()
