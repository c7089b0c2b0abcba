"""The terminal matrix for the app: started without a usable terminal (stdin from
/dev/null, stdin closed, stdout closed, pipes instead of a terminal, ``TERM=dumb``) it
refuses in one line and exit code 2, without a traceback or a hang; SIGTERM and SIGHUP
while it draws leave the terminal as it was (main screen, cursor shown). Real processes
under a pseudo-terminal, with timeouts."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import shlex
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest

from tests.helpers import REPO

APP = f"{shlex.quote(sys.executable)} -m chexmini_tui --checkpoint {REPO / 'artifacts'}"
REFUSAL = b"chexmini-tui: error: chexmini-tui needs a terminal"


def _env(**extra) -> dict:
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="80", LINES="24")
    env.update(extra)
    return env


def _read(fd: int, until: float, stop=lambda out: False) -> bytes:
    out = b""
    while time.monotonic() < until and not stop(out):
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:          # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
    return out


def in_pty(shell: str, env: dict, timeout: float = 60.0, signum: int | None = None):
    """Run ``sh -c shell`` on a new 80×24 pseudo-terminal; with ``signum``, send it once
    the app has drawn. Returns (exit status, everything written to the terminal)."""
    pid, fd = pty.fork()
    if pid == 0:                                          # the child
        os.execvpe("sh", ["sh", "-c", shell], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    until = time.monotonic() + timeout
    out = b""
    try:
        if signum is not None:
            out = _read(fd, until, lambda o: b"\x1b[?1049h" in o)
            out += _read(fd, time.monotonic() + 3.0)      # let it draw for a while
            os.kill(pid, signum)
        out += _read(fd, until)
        for _ in range(50):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status), out
            time.sleep(0.1)
        raise AssertionError(f"still running after {timeout:.0f} s: {out[-300:]!r}")
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)


def assert_refused(code: int, out: bytes) -> None:
    assert code == 2, out[-500:]
    assert REFUSAL in out and b"Traceback" not in out, out[-500:]
    assert b"\x1b[?1049h" not in out                     # never entered full screen


@pytest.mark.slow
@pytest.mark.parametrize("redirect", ["</dev/null", "<&-", ">&-", "</dev/null >/dev/null"],
                         ids=["stdin-devnull", "stdin-closed", "stdout-closed", "no-tty"])
def test_no_usable_terminal_is_one_line(redirect):
    # stderr stays on the terminal, where the refusal is read
    assert_refused(*in_pty(f"exec {APP} {redirect}", _env()))


@pytest.mark.slow
def test_pipes_only_is_one_line():
    done = subprocess.run(shlex.split(APP), env=_env(), capture_output=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and done.stderr.startswith(REFUSAL), done
    assert done.stdout == b"" and len(done.stderr.splitlines()) == 1


@pytest.mark.slow
def test_term_dumb_is_one_line():
    assert_refused(*in_pty(f"exec {APP}", _env(TERM="dumb")))


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_signal_while_drawing_restores_the_terminal(signum):
    code, out = in_pty(f"exec {APP}", _env(), signum=signum)
    assert b"\x1b[?1049h" in out, out[-500:]
    tail = out[out.rindex(b"\x1b[?1049h"):]
    assert b"\x1b[?1049l" in tail and b"\x1b[?25h" in tail, tail[-500:]
    assert b"Traceback" not in out
    assert code == 128 + signum


#: the app, with an unexpected error injected into one screen's drawing (as a bug would)
CRASHING = (
    "import sys; import chexmini_tui.screens.evaluate as ev\n"
    "def boom(self): raise RuntimeError('injected for the test')\n"
    "ev.EvaluateScreen.on_mount = boom\n"
    "from chexmini_tui.__main__ import main\n"
    f"sys.exit(main(['--checkpoint', {str(REPO / 'artifacts')!r}, '--screen', 'evaluate']))"
)


@pytest.mark.slow
def test_an_unexpected_error_is_one_line_a_report_and_a_non_zero_exit(tmp_path):
    script = tmp_path / "crash.py"
    script.write_text(CRASHING)
    code, out = in_pty(f"exec {shlex.quote(sys.executable)} {script}",
                       _env(TMPDIR=str(tmp_path), PYTHONPATH=str(REPO)))
    text = out.decode("utf-8", "replace")
    assert code == 2, text[-500:]
    assert "Traceback" not in text and "injected for the test" not in text, text[-800:]
    tail = out[out.rindex(b"\x1b[?1049l"):]                # after leaving the full screen
    assert b"\x1b[?25h" in tail
    lines = [ln for ln in tail.decode("utf-8", "replace").splitlines() if "chexmini-tui" in ln]
    assert len(lines) == 1 and "unexpected error; details in " in lines[0], text[-500:]
    reports = list(tmp_path.glob("chexmini-tui-crash-*.txt"))
    assert len(reports) == 1 and reports[0].name in lines[0]
    assert oct(reports[0].stat().st_mode & 0o777) == "0o600"
    assert "injected for the test" in reports[0].read_text()


def test_version_needs_no_terminal():
    from core import __version__

    done = subprocess.run([sys.executable, "-m", "chexmini_tui", "--version"], env=_env(),
                          capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0 and done.stdout.decode().strip() == f"chexmini-tui {__version__}"
