"""Regenerate the README screenshots of chexmini-tui (SVG + plain text) in docs/tui/.

    python docs/tui/make_screenshots.py [--data synthetic:2000] [--epochs 12]

Trains two short comparison runs with the engine, then a real (short) training run
through the app, headless at 100×32, and saves (each as SVG and plain text):

- ``train``: the Train screen of the finished run; ``train_health``: the same with ``h``
  (training health per layer, warnings, the trainer's CPU and memory);
- ``evaluate``: the Evaluate screen of that run, threshold moved two steps from Youden's
  J (so the saved and current thresholds both show); ``gallery``: ``g`` there, the error
  gallery's first false positive;
- ``inspect``: the Inspect screen with the three runs marked, their curves overlaid.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import re
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from rich.console import Console  # noqa: E402

from chexmini_tui.app import ChexminiApp  # noqa: E402
from core.data import load_data  # noqa: E402
from core.foundation.config import TrainConfig  # noqa: E402
from core.training.train import train  # noqa: E402

#: the comparison runs trained before the app starts: (folder under runs/, settings)
OTHERS = (("lr-3e-4", {"lr": 3e-4}), ("small", {"hidden_dims": [256, 64]}))


def screen_text(app) -> str:
    w, h = app.size
    console = Console(width=w, height=h, file=io.StringIO(), force_terminal=True,
                      color_system=None, record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens))
    return console.export_text()


def compact_svg(svg: str) -> str:
    """The same picture in fewer bytes: Textual's per-screenshot id prefix
    (``terminal-1056647712-``) shortened to ``t-``, and ``shape-rendering`` said once
    in the style sheet instead of on every background rectangle (the gallery's X-rays
    are a few thousand of them)."""
    svg = re.sub(r"terminal-\d+", "t", svg)
    svg = svg.replace(' shape-rendering="crispEdges"', "")
    return svg.replace("<style>", "<style>\n    rect { shape-rendering: crispEdges; }", 1)


def save(app, name: str) -> None:
    svg = HERE / f"{name}.svg"
    app.save_screenshot(filename=svg.name, path=str(HERE))
    svg.write_text(compact_svg(svg.read_text(encoding="utf-8")), encoding="utf-8")
    (HERE / f"{name}.txt").write_text(screen_text(app), encoding="utf-8")
    print(f"wrote docs/tui/{name}.svg and .txt")


async def until(pilot, ready, what: str, timeout: float = 60.0) -> None:
    """Let the app run until ``ready()`` is true (an error naming ``what`` after ``timeout`` s)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not ready():
        if loop.time() > end:
            raise SystemExit(f"make_screenshots: timed out waiting for {what}")
        await pilot.pause(0.2)


async def shoot_evaluate(app, pilot) -> None:
    """Evaluate with the threshold two steps up, then its error gallery (``g``)."""
    await pilot.press("3")
    await pilot.pause(0.3)
    await pilot.press("right", "right")
    await pilot.pause(0.5)
    save(app, "evaluate")
    await pilot.press("g")
    scr = app.screen
    await until(pilot, lambda: scr.errors or scr.item is not None, "the gallery's image")
    await pilot.pause(0.5)
    save(app, "gallery")
    await pilot.press("escape")


async def shoot_inspect(app, pilot) -> None:
    """Inspect (the shipped checkpoint and the three runs trained here) with the three
    runs marked: their curves overlaid; the run trained in the app highlighted."""
    await pilot.press("4")
    scr = app.screen
    mine = [str(Path("runs") / name) for name, _ in (*OTHERS, ("demo", None))]
    await until(pilot, lambda: scr.scans > 0 and len(scr.runs) > len(OTHERS), "the runs table")
    table = scr.query_one("#insp-runs")
    for row in scr.runs:
        if any(row.path.endswith(p) for p in mine):
            table.select_path(row.path)
            await pilot.pause(0.1)
            await pilot.press("m")
    table.select_path(next(r.path for r in scr.runs if r.path.endswith(mine[-1])))
    await pilot.pause(0.8)
    save(app, "inspect")


async def main(source: str, epochs: int) -> None:
    data = load_data(source)
    with tempfile.TemporaryDirectory() as tmp:
        import os

        os.chdir(tmp)
        for name, settings in OTHERS:
            for _ in train(TrainConfig(epochs=epochs, **settings), data, Path("runs") / name):
                pass
            print(f"trained runs/{name}")
        app = ChexminiApp(runs="runs", artifacts=str(REPO / "artifacts"), start="train",
                          image_mode="halfcell")
        async with app.run_test(size=(100, 32)) as pilot:
            await pilot.pause(0.5)
            runner = app.screen.start_run(TrainConfig(epochs=epochs), source,
                                          Path("runs") / "demo", data=data)
            while runner.state not in ("finished", "error", "aborted"):
                await asyncio.sleep(0.3)
            await pilot.pause(1.0)
            save(app, "train")
            await pilot.press("h")
            await pilot.pause(0.5)
            save(app, "train_health")
            await pilot.press("h")
            await shoot_evaluate(app, pilot)
            await shoot_inspect(app, pilot)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="synthetic:2000")
    ap.add_argument("--epochs", type=int, default=12)
    args = ap.parse_args()
    asyncio.run(main(args.data, args.epochs))
