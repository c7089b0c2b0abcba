"""``chexmini-tui --serve`` in a real headless Chromium: the page draws the app, keys
switch screens, a tiny synthetic run started in the page streams epochs; two tabs are two
app processes with a run each; closing a tab mid-run interrupts that run cleanly
(``resume.npz`` written, lock released) and leaves the other tab's run going; Ctrl+C
stops the server and every app process, each writing its run's resume state; a run
started with the CLI and attached in a tab goes on when the tab closes.

On a failed wait the screenshot and screen text are saved under ``test-artifacts/``.
Set ``CHEXMINI_SERVE_SHOTS=DIR`` to also keep screenshots of Evaluate and of Train
mid-run there."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.runs import layout
from core.runs.folder import owner_pid
from tests.browser.browser import Browser, Server, browser_problem, wait_until
from tests.helpers import REPO

if (_problem := browser_problem()) is not None:
    pytest.skip(f"browser tests need a headless Chromium: {_problem}", allow_module_level=True)

from selenium.webdriver.common.keys import Keys  # noqa: E402

pytestmark = pytest.mark.slow
DATA = "synthetic:600"
EPOCH = re.compile(r"epoch [━╸╺ ]+(\d+)/(\d+)")
SHOTS = os.environ.get("CHEXMINI_SERVE_SHOTS")


def epochs_done(screen: str) -> int:
    """Epochs shown done on the Train screen's progress bar (0 before the first)."""
    found = EPOCH.search(screen)
    return int(found.group(1)) if found else 0


def start_run(b: Browser, epochs: int, out: str) -> None:
    """Fill the Train form (epochs, one hidden layer of 64, ``out``) by keys and start the
    run; wait until the first epoch arrives. (No Escape: a key right after it can be read
    as Alt+key.)"""
    b.wait_for("New run", 60, name="form")
    # Tab into a box selects its text: typing replaces it
    b.keys(Keys.TAB, Keys.TAB, str(epochs), Keys.TAB, Keys.TAB, Keys.TAB, "64",
           *[Keys.TAB] * 5, out, Keys.ENTER)                # Enter in a box starts the run
    b.wait_for("running", 60, name="running")
    if not wait_until(lambda: epochs_done(b.screen()) >= 1, 60):
        b.wait_for("no epoch arrived", 0, name="first-epoch")


def run_status(folder: Path, out: str) -> str:
    """The run's status as ``chexmini runs --json`` reports it."""
    done = subprocess.run([sys.executable, "-m", "chexmini_cli", "runs", "--json"],
                          cwd=folder, capture_output=True, text=True, timeout=60)
    runs = {r["path"]: r for r in json.loads(done.stdout)["runs"]}
    return runs[str(Path("runs", out))]["status"]


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return "zombie"


def shot(b: Browser, name: str) -> None:
    if SHOTS:
        b.save(name, Path(SHOTS))


def test_keys_switch_screens_and_a_run_streams_epochs(browser, tmp_path):
    server = Server(tmp_path, "--checkpoint", str(REPO / "artifacts"), "--data", DATA,
                    terminal=True)
    try:
        browser.open(server.url)
        browser.wait_for("New run", 60, name="first-page")
        print(f"first page drawn {time.monotonic() - server.started:.2f} s after --serve")
        browser.keys("3")
        browser.wait_for("validation", 60, name="evaluate")
        assert "New run" not in browser.screen()
        browser.wait_for("metrics @", 60, name="evaluate-scored")
        shot(browser, "evaluate")
        browser.keys("?")
        browser.wait_for("chexmini-tui — keys", 30, name="help")
        browser.keys("?")                                    # closes help
        browser.wait_for("metrics @", 30, name="help-closed")   # back on Evaluate
        browser.keys("1")
        start_run(browser, 60, "runs/one")
        shot(browser, "train-mid-run")
        browser.wait_for("60/60 · done", 120, name="finished")
        (app,) = server.app_pids()
    finally:
        code = server.stop()                                 # Ctrl+C in its terminal
    assert code == 0, server.output()
    assert not alive(app)
    assert (tmp_path / "runs/one" / layout.MODEL).is_file()
    assert "run finished: artifacts in runs/one" in server.output()


def test_two_tabs_closing_one_mid_run_and_ctrl_c(browser, tmp_path):
    server = Server(tmp_path, "--data", DATA)
    try:
        a = browser.open(server.url)
        start_run(browser, 400, "runs/a")
        browser.keys("p")                                    # hold run a mid-way
        browser.wait_for("paused", 30, name="a-paused")
        b = browser.open(server.url, new_tab=True)
        start_run(browser, 400, "runs/b")
        apps = server.app_pids()
        assert len(apps) == 2, server.output()
        assert {owner_pid(tmp_path / "runs/a"), owner_pid(tmp_path / "runs/b")} == set(apps)

        browser.close_tab(a)                                 # tab a goes away mid-run
        assert wait_until(lambda: len(server.app_pids()) == 1, 60), server.output()
        assert (tmp_path / "runs/a" / layout.RESUME).is_file()
        assert owner_pid(tmp_path / "runs/a") is None
        assert run_status(tmp_path, "a") == "interrupted"
        assert "continue it: chexmini train --resume runs/a" in server.output()

        browser.use(b)                                       # tab b's run goes on
        now = epochs_done(browser.screen())
        assert wait_until(lambda: epochs_done(browser.screen()) > now + 2, 60)
        assert run_status(tmp_path, "b") == "running"
        (last,) = server.app_pids()
    finally:
        code = server.stop()                                 # SIGINT to the server alone
    assert code == 0, server.output()
    assert not alive(last)
    assert (tmp_path / "runs/b" / layout.RESUME).is_file()
    assert owner_pid(tmp_path / "runs/b") is None
    assert run_status(tmp_path, "b") == "interrupted"
    assert "continue it: chexmini train --resume runs/b" in server.output()


def test_a_cli_run_attached_in_a_tab_outlives_the_tab(browser, tmp_path):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    cli = subprocess.Popen([sys.executable, "-m", "chexmini_cli", "train", "--data", DATA,
                            "--epochs", "2000", "--hidden-dims", "64", "--out", "runs/cli"],
                           cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
    try:
        assert wait_until(lambda: (tmp_path / "runs/cli" / layout.EVENTS).is_file(), 60)
        server = Server(tmp_path, "--attach", "runs/cli")
        try:
            tab = browser.open(server.url)
            browser.wait_for("runs/cli", 60, name="attached")
            now = wait_until(lambda: epochs_done(browser.screen()), 60)
            assert now and wait_until(lambda: epochs_done(browser.screen()) > now, 60)
            browser.open("about:blank", new_tab=True)        # keeps the browser open
            browser.close_tab(tab)
            assert wait_until(lambda: not server.app_pids(), 60), server.output()
        finally:
            assert server.stop() == 0, server.output()
        assert cli.poll() is None                            # the run goes on
        assert owner_pid(tmp_path / "runs/cli") == cli.pid
    finally:
        cli.send_signal(signal.SIGINT)
        assert cli.wait(60) == 130, cli.stderr.read()
    assert run_status(tmp_path, "cli") == "interrupted"
