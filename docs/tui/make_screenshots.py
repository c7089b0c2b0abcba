"""Regenerate the README screenshots of chexmini-tui (SVG + plain text) in docs/tui/.

    python docs/tui/make_screenshots.py [--data synthetic:2000] [--epochs 12]

Runs a real (short) training run through the app, headless at 100×32, then saves the
Train screen (finished run) and the Evaluate screen of that run (threshold moved two
steps from Youden's J, so the saved and current thresholds both show).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from rich.console import Console  # noqa: E402

from chexmini_tui.app import ChexminiApp  # noqa: E402
from core.config import TrainConfig  # noqa: E402
from core.data import load_data  # noqa: E402


def screen_text(app) -> str:
    w, h = app.size
    console = Console(width=w, height=h, file=io.StringIO(), force_terminal=True,
                      color_system=None, record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens))
    return console.export_text()


def save(app, name: str) -> None:
    app.save_screenshot(filename=f"{name}.svg", path=str(HERE))
    (HERE / f"{name}.txt").write_text(screen_text(app), encoding="utf-8")
    print(f"wrote docs/tui/{name}.svg and .txt")


async def main(source: str, epochs: int) -> None:
    data = load_data(source)
    with tempfile.TemporaryDirectory() as tmp:
        import os

        os.chdir(tmp)
        app = ChexminiApp(runs="runs", artifacts="artifacts", start="train",
                          image_mode="halfcell")
        async with app.run_test(size=(100, 32)) as pilot:
            await pilot.pause(0.5)
            runner = app.screen.start_run(TrainConfig(epochs=epochs), source,
                                          Path("runs") / "demo", data=data)
            while runner.state not in ("finished", "error", "aborted"):
                await asyncio.sleep(0.3)
            await pilot.pause(1.0)
            save(app, "train")
            await pilot.press("3")
            await pilot.pause(0.3)
            await pilot.press("right", "right")
            await pilot.pause(0.5)
            save(app, "evaluate")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="synthetic:2000")
    ap.add_argument("--epochs", type=int, default=12)
    args = ap.parse_args()
    asyncio.run(main(args.data, args.epochs))
