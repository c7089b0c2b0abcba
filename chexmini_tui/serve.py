"""``chexmini-tui --serve``: the same app in a browser, through Textualize's
``textual-serve`` (optional: ``pip install "chexmini[serve]"``).

Each browser tab (one websocket) gets its own app process: ``python -m chexmini_tui``
with the command line's app options, drawn by Textual's web driver over pipes instead of
a terminal. Closing a tab sends that process Textual's quit, which exits the app as ``q``
would without asking: a run started in that tab is interrupted cleanly — the engine
writes ``RUN_DIR/resume.npz`` and releases the run lock — and the server's log shows the
line that continues it (``chexmini train --resume RUN_DIR``). A run started with the CLI
and shown with ``--serve --attach RUN`` is only followed: tabs come and go, it keeps going.
Ctrl+C (or SIGTERM) stops the server; every app process it started is then stopped the
same way and waited for.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shlex
import signal
import socket
import sys
import time
from pathlib import Path

# textual-serve starts each app process with Textual's web driver selected by this variable.
WEB_DRIVER = "textual.drivers.web_driver:WebDriver"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
PAGE = Path(__file__).with_name("serve_page")
INSTALL_HINT = '--serve needs textual-serve: pip install "chexmini[serve]"'
CHILD_WAIT = 90.0   # seconds an app process gets to write its run's resume state


def served_child() -> bool:
    """True in an app process started by ``--serve`` (it draws over pipes, not a tty)."""
    return os.environ.get("TEXTUAL_DRIVER", "") == WEB_DRIVER


def app_command(args: argparse.Namespace) -> str:
    """The shell command each tab runs: this Python, ``-m chexmini_tui`` and the app options
    of ``args`` (``--serve``/``--host``/``--port`` dropped; images as half-blocks, which
    the browser terminal draws)."""
    argv = [sys.executable, "-m", "chexmini_tui", "--image-mode", "halfcell",
            "--runs", args.runs, "--sweeps", args.sweeps]
    for flag, value in (("--checkpoint", args.checkpoint), ("--data", args.data),
                        ("--attach", args.attach), ("--images", args.images),
                        ("--screen", args.screen)):
        if value is not None:
            argv += [flag, value]
    if args.train:
        argv.append("--train")
    return "exec " + shlex.join(argv)


def host_warning(host: str, port: int) -> str | None:
    """One line when ``host`` is reachable from other machines, else None."""
    if host in LOCAL_HOSTS:
        return None
    return (f"chexmini-tui: warning: serving on {host}:{port} — anyone who can reach this "
            f"port can drive the app (and start and stop runs); safer: keep the default "
            f"--host 127.0.0.1 and tunnel over SSH (ssh -L {port}:127.0.0.1:{port} "
            f"YOUR_SERVER), then open http://127.0.0.1:{port}")


def bind_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on ``host:port`` (unknown name, port taken or out of
    range), or None — checked before the server starts, so its banner is not printed."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except (OSError, OverflowError) as error:
        return getattr(error, "strerror", None) or str(error)
    return None


def _children() -> list[int]:
    """Process ids whose parent is this process (Linux ``/proc``; elsewhere none)."""
    me, found = os.getpid(), []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            stat = Path("/proc", entry, "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid …" — comm may hold spaces and parentheses
        fields = stat.rpartition(")")[2].split()
        if len(fields) > 1 and int(fields[1]) == me:
            found.append(int(entry))
    return found


def stop_children(wait: float = CHILD_WAIT) -> list[int]:
    """SIGTERM every app process still running (each exits as ``q`` does, writing its run's
    resume state), wait up to ``wait`` s, SIGKILL what is left; return the killed ids."""
    pids = _children()
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if not _reaped(pid)]
        if pids:
            time.sleep(0.1)
    for pid in pids:
        _signal(pid, signal.SIGKILL)
        _reaped(pid, block=True)
    return pids


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _reaped(pid: int, block: bool = False) -> bool:
    """Whether child ``pid`` has exited (collecting it)."""
    try:
        done, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid


def _server_class():
    """textual-serve's ``Server`` with chexmini's page (no web fonts or other outside
    requests) and a one-line banner; None when textual-serve is not installed."""
    try:
        from textual_serve.server import Server
    except ImportError:
        return None

    from aiohttp.web_runner import GracefulExit

    class ChexminiServer(Server):
        stopping = False

        def initialize_logging(self) -> None:
            super().initialize_logging()
            logging.getLogger("aiohttp.access").setLevel(logging.WARNING)

        async def on_startup(self, app) -> None:
            print(f"chexmini-tui: serving the app on http://{_url_host(self.host)}:"
                  f"{self.port} — each browser tab runs its own app; Ctrl+C stops the "
                  f"server and every app it started", flush=True)

        def request_exit(self) -> None:
            """Ctrl+C/SIGTERM: stop the app processes while the server still relays their
            last lines (where each run is), then the server; a second Ctrl+C: at once."""
            if self.stopping:
                raise GracefulExit()
            self.stopping = True
            asyncio.get_running_loop().create_task(self._stop_apps())

        async def _stop_apps(self) -> None:
            loop = asyncio.get_running_loop()
            pids = _children()
            if pids:
                print(f"chexmini-tui: stopping {len(pids)} app process(es)…", flush=True)
            for pid in pids:
                _signal(pid, signal.SIGTERM)
            deadline = loop.time() + CHILD_WAIT
            while _children() and loop.time() < deadline:
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.3)   # their relays print what the apps said on exit
            loop.call_soon(_graceful_exit)

    def _graceful_exit() -> None:
        raise GracefulExit()

    return ChexminiServer


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def serve(args: argparse.Namespace) -> int:
    """Serve the app on ``args.host:args.port`` until Ctrl+C/SIGTERM; 2 on a usage error."""
    server_class = _server_class()
    if server_class is None:
        print(f"chexmini-tui: error: {INSTALL_HINT}", file=sys.stderr)
        return 2
    problem = bind_problem(args.host, args.port)
    if problem is not None:
        print(f"chexmini-tui: error: cannot serve on {args.host}:{args.port}: {problem}",
              file=sys.stderr)
        return 2
    warning = host_warning(args.host, args.port)
    if warning:
        print(warning, file=sys.stderr)
    server = server_class(app_command(args), host=args.host, port=args.port,
                          title="chexmini", templates_path=PAGE)
    try:
        server.serve()
    except OSError as error:
        print(f"chexmini-tui: error: cannot serve on {args.host}:{args.port}: "
              f"{error.strerror or error}", file=sys.stderr)
        return 2
    finally:
        stop_children()
    return 0
