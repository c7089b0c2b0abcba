"""``chexmini-tui --serve`` in headless Chromium: time to the first drawn page and memory
per connected tab.

    python benchmarks/serve_browser.py [--reps 3] [--tabs 3] [--shots DIR]

Needs what the browser tests need (Debian's ``chromium`` + ``chromium-driver``, Selenium,
``chexmini[serve]``). Chromium is started first and not counted. For each of ``--reps``
servers (``--data synthetic:600`` in a fresh folder):

1. **first page** — seconds from starting ``chexmini-tui --serve`` to (a) the port
   accepting connections and (b) the browser showing the app's Train screen (the page
   loaded, the tab's app process started and its first frame drawn by the page).
2. **memory per tab** — with 1 … ``--tabs`` tabs open, each app idle on its Train screen:
   the proportional set size (PSS, shared library pages split between processes) and RSS
   of every app process and of the server, from ``/proc/PID/smaps_rollup``; then one tab
   training the tiny run to show what a live run adds.

``--shots DIR`` also saves PNGs of the Train screen mid-run and of Evaluate.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser.browser import Browser, Server, browser_problem, wait_until  # noqa: E402


def memory_mib(pid: int) -> tuple[float, float]:
    """(PSS, RSS) of ``pid`` in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0]) / 1024
    return fields["Pss"], fields["Rss"]


def first_page(b: Browser, folder: Path) -> tuple[float, float, Server]:
    server = Server(folder, "--data", "synthetic:600", "--checkpoint",
                    str(REPO / "artifacts"))
    listening = time.monotonic() - server.started
    b.open(server.url)
    b.wait_for("New run", 60, name="bench-first-page")
    return listening, time.monotonic() - server.started, server


def tabs_memory(b: Browser, server: Server, tabs: int) -> None:
    for n in range(1, tabs + 1):
        if n > 1:
            b.open(server.url, new_tab=True)
            b.wait_for("New run", 60, name="bench-tab")
        time.sleep(2)
        _print_memory(server)


def _print_memory(server: Server) -> None:
    apps = server.app_pids()
    mem = [memory_mib(pid) for pid in apps]
    srv = memory_mib(server.proc.pid)
    print(f"{len(apps)} tab(s): app processes PSS "
          f"{', '.join(f'{p:.0f}' for p, _ in mem)} MiB (RSS "
          f"{', '.join(f'{r:.0f}' for _, r in mem)} MiB); server PSS {srv[0]:.0f} MiB, "
          f"RSS {srv[1]:.0f} MiB")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--tabs", type=int, default=3)
    p.add_argument("--shots", type=Path)
    args = p.parse_args()
    problem = browser_problem()
    if problem:
        print(f"cannot run: {problem}")
        return 2
    b = Browser()
    try:
        times = []
        for _ in range(args.reps):
            folder = Path(tempfile.mkdtemp(prefix="chexmini-serve-bench-"))
            listening, drawn, server = first_page(b, folder)
            times.append(drawn)
            print(f"--serve → listening {listening:.2f} s, → first drawn page {drawn:.2f} s")
            if len(times) < args.reps:
                server.stop()
                continue
            tabs_memory(b, server, args.tabs)
            live_run(b, server, args.shots)
            server.stop()
        print(f"load average while measuring: {Path('/proc/loadavg').read_text().split()[:3]}"
              f" on {os.cpu_count()} cores")
        print(f"first drawn page: median {statistics.median(times):.2f} s "
              f"(min {min(times):.2f}, max {max(times):.2f}) over {len(times)} starts")
    finally:
        b.quit()
    return 0


def live_run(b: Browser, server: Server, shots: Path | None) -> None:
    from tests.browser.test_serve_browser import epochs_done, start_run

    start_run(b, 400, "runs/bench")
    wait_until(lambda: epochs_done(b.screen()) >= 20, 60)
    if shots:
        b.save("train-mid-run", shots)
    pid = max(server.app_pids(), key=lambda p: memory_mib(p)[1])
    pss, rss = memory_mib(pid)
    print(f"the tab training (MLP 4096→64→1, synthetic:600): PSS {pss:.0f} MiB, "
          f"RSS {rss:.0f} MiB")
    b.keys("3")
    b.wait_for("metrics @", 60, name="bench-evaluate")
    if shots:
        time.sleep(1)
        b.save("evaluate", shots)


if __name__ == "__main__":
    raise SystemExit(main())
