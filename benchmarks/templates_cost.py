"""What the Train screen's filter grid costs per epoch: the engine's ``Templates`` event
(:meth:`core.training.train._Training.templates`: ‖w_j‖ of every fc1 unit, the grid's
order, the first 32 templates 4×4-pooled and quantised to int8).

    python benchmarks/templates_cost.py [--reps 50] [--top 32]

On the published fc1 (4096×1024, float32, dead units from a probe): the fastest and the
median time of ``--reps`` calls, and the event's size in bytes (it is not logged).
For scale, an epoch of the published run on the embedded sample takes ~0.3 s on 2 cores.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.evaluation.templates import grid_tiles  # noqa: E402
from core.events import Templates  # noqa: E402
from core.training.train import TEMPLATE_SIDE  # noqa: E402


def one_event(w1: np.ndarray, dead: np.ndarray, top: int) -> Templates:
    units, norms, tiles = grid_tiles(w1, dead, top, 64 // TEMPLATE_SIDE)
    return Templates.encode(1, w1.shape[1], int(dead.sum()), units, norms, dead[units], tiles)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--top", type=int, default=32)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    w1 = (rng.standard_normal((4096, 1024)) * np.sqrt(2 / 4096)).astype(np.float32)
    dead = rng.random(1024) < 0.05
    times = []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        ev = one_event(w1, dead, args.top)
        times.append(time.perf_counter() - t0)
    print(f"Templates event, fc1 4096×1024, first {args.top} units: "
          f"fastest {min(times) * 1e3:.2f} ms, median {statistics.median(times) * 1e3:.2f} ms "
          f"per epoch; {len(ev.data)} bytes of base64 tiles")


if __name__ == "__main__":
    main()
