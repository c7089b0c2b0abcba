"""Training throughput with the app running vs the plain generator loop (the CLI).

    python benchmarks/tui_throughput.py [--reps 9] [--epochs 2] [--data synthetic:3000]

Same data, same config (the published MLP 4096→1024→256→64→1, batch 256, augmentation,
Adam, step events on, events.jsonl written), run alternately:

- **cli**: ``for ev in train(config, data, out): ...`` — what ``chexmini train`` does;
- **app**: ``chexmini-tui`` headless (``App.run_test``) at 100×32 with the Train screen
  showing: the worker thread drives the same generator and posts batched messages, the
  UI thread draws progress bars, log and plots while training runs.

Throughput = training samples (epochs × train images) / wall time from ``RunStarted``
to the last ``EpochEnd`` as seen by the loop that pulls the events. The order alternates
every repetition (cli/app, app/cli, …) so drifting machine load hits both; the median of
the per-repetition ratios app/cli is printed. The app must keep ≥ 90 % of the CLI's rate.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chexmini_tui.app import ChexminiApp  # noqa: E402
from core.data import load_data  # noqa: E402
from core.foundation.config import TrainConfig  # noqa: E402
from core.training.train import train  # noqa: E402

TARGET = 0.90


def run_cli(config: TrainConfig, data, out: Path) -> float:
    t0 = t_last = None
    for ev in train(config, data, out):
        if ev.kind == "run_started":
            t0 = time.perf_counter()
        elif ev.kind == "epoch":
            t_last = time.perf_counter()
    return config.epochs * len(data.train) / (t_last - t0)


def run_app(config: TrainConfig, data, out: Path, root: Path) -> float:
    async def go() -> float:
        app = ChexminiApp(runs=str(root / "runs"), artifacts=str(root / "none"),
                          start="train", image_mode="halfcell")
        async with app.run_test(size=(100, 32)) as pilot:
            await pilot.pause(0.5)   # the app is up and drawn, as when a user presses s
            runner = app.screen.start_run(config, data.source, out, data=data)
            while runner.state not in ("finished", "aborted", "error"):
                await asyncio.sleep(0.2)   # not pilot.pause: the harness must not add load
            if runner.state != "finished":
                raise SystemExit(f"app run ended with {runner.state}: {runner.error}")
            return config.epochs * len(data.train) / (runner.t_last_epoch - runner.t_started)

    return asyncio.run(go())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="synthetic:3000")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--reps", type=int, default=9)
    args = ap.parse_args(argv)

    data = load_data(args.data)
    config = TrainConfig(epochs=args.epochs)           # the published run, shortened
    print(f"data {data.source}: train {len(data.train)} images; MLP "
          f"{'→'.join(map(str, config.widths))}, batch {config.batch_size}, "
          f"{args.epochs} epochs × {-(-len(data.train) // config.batch_size)} steps, "
          f"{args.reps} repetitions (alternating order)")
    ratios, cli_rates, app_rates = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for rep in range(args.reps):
            order = ("cli", "app") if rep % 2 == 0 else ("app", "cli")
            rate = {}
            for kind in order:
                out = root / f"{kind}{rep}"
                rate[kind] = (run_cli(config, data, out) if kind == "cli"
                              else run_app(config, data, out, root))
            cli_rates.append(rate["cli"])
            app_rates.append(rate["app"])
            ratios.append(rate["app"] / rate["cli"])
            print(f"  rep {rep + 1} ({order[0]} first): cli {rate['cli']:7.1f} samples/s   "
                  f"app {rate['app']:7.1f} samples/s   app/cli {ratios[-1]:.3f}", flush=True)
    med = statistics.median(ratios)
    print(f"median: cli {statistics.median(cli_rates):.1f} samples/s, app "
          f"{statistics.median(app_rates):.1f} samples/s — app/cli = {med:.3f} "
          f"({'OK' if med >= TARGET else 'BELOW'} the {TARGET:.0%} target)")
    return 0 if med >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
