"""Choose hyperparameters for the shipped checkpoint on the *validation* split only.

    python scripts/tune_subset.py [--data ../shared/data/nih14_subset] [--epochs 100]

Trains each candidate of a small grid on the seeded patient-grouped train split of the NIH
subset, and reports the best validation AUC (and its epoch) of each. The test split is
never scored here. Prints a Markdown table sorted by validation AUC.
"""

from __future__ import annotations

import argparse
import itertools
import time

from core.config import TrainConfig
from core.data import load_data
from core.train import train


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/nih14_subset")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--split-seed", type=int, default=0)
    args = ap.parse_args()
    data = load_data(args.data, seed=args.split_seed)
    grid = {
        "lr": [1e-3, 1e-4, 2e-5],
        "weight_decay": [1e-4, 1e-2],
        "dropout": [0.3, 0.6],
    }
    rows = []
    for values in itertools.product(*grid.values()):
        kw = dict(zip(grid, values, strict=True))
        cfg = TrainConfig(epochs=args.epochs, **kw)
        t0 = time.time()
        epochs = [e for e in train(cfg, data, step_events=False) if e.kind == "epoch"]
        best = max(epochs, key=lambda e: e.val_auc)
        rows.append((best.val_auc, best.epoch, kw, time.time() - t0))
        print(f"{kw}  best val AUC {best.val_auc:.4f} @ {best.epoch}  "
              f"({time.time() - t0:.0f}s)", flush=True)
    print("\n| lr | weight decay | dropout | best val AUC | best epoch |")
    print("|---|---|---|---|---|")
    for auc, ep, kw, _ in sorted(rows, key=lambda r: -r[0]):
        print(f"| {kw['lr']:g} | {kw['weight_decay']:g} | {kw['dropout']} | {auc:.4f} | {ep} |")


if __name__ == "__main__":
    main()
