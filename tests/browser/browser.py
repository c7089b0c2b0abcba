"""Drive ``chexmini-tui --serve`` in a real headless Chromium (Debian's ``chromium`` and
``chromium-driver``, through Selenium; nothing is downloaded).

The page draws the app on a canvas, so the screen is read from xterm.js's own buffer: a
script added before the page loads keeps a reference to the page's terminal when the
page's script creates it (test-only; the served page is unchanged)."""

from __future__ import annotations

import fcntl
import os
import pty
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

CHROMIUM = os.environ.get("CHEXMINI_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHEXMINI_CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
         "--disable-backgrounding-occluded-windows", "--window-size=1280,760")
# Runs before the page's scripts: the page's terminal object sets ``fitAddon`` on itself
# right after creating its xterm.js Terminal; a setter on Object.prototype catches that.
GRAB_TERMINAL = """
Object.defineProperty(Object.prototype, "fitAddon", {configurable: true,
  set(value) {
    Object.defineProperty(this, "fitAddon", {value: value, writable: true});
    window.__chexminiTerminal = this.terminal;
  }});
"""
READ_SCREEN = """
const t = window.__chexminiTerminal;
if (!t) return "";
const b = t.buffer.active, out = [];
for (let i = 0; i < b.length; i++) out.push(b.getLine(i).translateToString(true));
return out.join("\\n");
"""
ARTIFACTS = Path(os.environ.get("CHEXMINI_TEST_ARTIFACTS",
                                Path(__file__).resolve().parents[2] / "test-artifacts"))


def browser_problem() -> str | None:
    """Why the browser tests cannot run here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            return f"no {path} (Debian: apt-get install chromium chromium-driver)"
    for module, extra in (("selenium", "selenium"), ("textual_serve", "chexmini[serve]")):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed (pip install \"{extra}\")"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout: float, step: float = 0.1):
    """``check()``'s first truthy value within ``timeout`` s, else None."""
    until = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > until:
            return value
        time.sleep(step)


def _terminal_session() -> None:
    """In the child: a new session whose controlling terminal is stdin (a pty), so Ctrl+C
    typed there reaches the whole foreground process group, as in a shell."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Server:
    """``chexmini-tui --serve --port P ARGS`` started in ``folder``; its output goes to
    ``folder/server.log``. With ``terminal=True`` it runs in a pseudo-terminal and
    ``stop()`` types Ctrl+C there (SIGINT to the server and every app process it started);
    otherwise ``stop()`` sends SIGINT to the server process alone (``kill -INT``)."""

    def __init__(self, folder: Path, *args: str, terminal: bool = False) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = folder / "server.log"
        self.started = time.monotonic()
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
                   MKL_NUM_THREADS="1", COLUMNS="200")
        argv = [sys.executable, "-m", "chexmini_tui", "--serve", "--port", str(self.port),
                *args]
        self.terminal = None
        if terminal:
            self.terminal, tty = pty.openpty()
            self.proc = subprocess.Popen(argv, cwd=folder, stdin=tty, stdout=tty, stderr=tty,
                                         env=env, preexec_fn=_terminal_session)
            os.close(tty)
            threading.Thread(target=self._copy_terminal, daemon=True).start()
        else:
            with open(self.log, "wb") as log:
                self.proc = subprocess.Popen(argv, cwd=folder, stdout=log,
                                             stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, env=env)
        if not wait_until(self._listening, 30):
            self.stop()
            raise AssertionError(f"the server did not listen within 30 s:\n{self.output()}")

    def _listening(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"the server exited {self.proc.returncode}:\n{self.output()}")
        try:
            socket.create_connection(("127.0.0.1", self.port), 0.2).close()
            return True
        except OSError:
            return False

    def _copy_terminal(self) -> None:
        with open(self.log, "ab", buffering=0) as log:
            while True:
                try:
                    chunk = os.read(self.terminal, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                log.write(chunk)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def app_pids(self) -> list[int]:
        """The app processes the server started (its children)."""
        pids = []
        for entry in Path("/proc").iterdir():
            try:
                stat = (entry / "stat").read_text()
            except (OSError, NotADirectoryError):
                continue
            fields = stat.rpartition(")")[2].split()
            if entry.name.isdigit() and len(fields) > 1 and int(fields[1]) == self.proc.pid:
                pids.append(int(entry.name))
        return pids

    def stop(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            if self.terminal is not None:
                os.write(self.terminal, b"\x03")             # Ctrl+C typed in the terminal
            else:
                self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.terminal is not None:
            time.sleep(0.2)                                  # the last output is copied
        return self.proc.returncode


class Browser:
    """One headless Chromium; each tab (window handle) shows one app session."""

    def __init__(self) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        self.profile = tempfile.mkdtemp(prefix="chexmini-chromium-")
        options.add_argument(f"--user-data-dir={self.profile}")
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                    {"source": GRAB_TERMINAL})

    def open(self, url: str, new_tab: bool = False) -> str:
        """Open ``url`` (in a new tab if asked); return the tab's handle."""
        if new_tab:
            self.driver.switch_to.new_window("tab")
            self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                        {"source": GRAB_TERMINAL})
        self.driver.get(url)
        return self.driver.current_window_handle

    def use(self, tab: str) -> None:
        self.driver.switch_to.window(tab)

    def close_tab(self, tab: str) -> None:
        self.use(tab)
        self.driver.close()
        rest = self.driver.window_handles
        if rest:
            self.use(rest[0])

    def screen(self) -> str:
        """The app's screen as text, one line per terminal row."""
        return self.driver.execute_script(READ_SCREEN) or ""

    def keys(self, *keys: str) -> None:
        """Type ``keys`` into the app (the terminal's input box), in order: a pause after
        each item (a key or a string typed into one field), as a person types."""
        from selenium.webdriver.common.by import By

        box = self.driver.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea")
        for key in keys:
            box.send_keys(key)
            time.sleep(0.1)

    def wait_for(self, text: str, timeout: float = 30, name: str = "wait") -> str:
        """Wait until the screen shows ``text``; return the screen. On a timeout save a
        screenshot and the screen text under ``test-artifacts/`` and fail naming them."""
        screen = wait_until(lambda: text in (s := self.screen()) and s, timeout)
        if not screen:
            where = self.save(name)
            raise AssertionError(f"{text!r} not shown within {timeout} s; screen saved to "
                                 f"{where}:\n{self.screen()}")
        return screen

    def save(self, name: str, folder: Path = ARTIFACTS) -> Path:
        """Screenshot ``folder/name.png`` and the screen text ``folder/name.txt``."""
        folder.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(folder / f"{name}.png"))
        (folder / f"{name}.txt").write_text(self.screen())
        return folder / f"{name}.png"

    def quit(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)
