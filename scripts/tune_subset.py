"""Choose the shipped checkpoint's hyperparameters on *validation* data only.

    python scripts/tune_subset.py [--data nih-sample] [--folds 5]

A single 243-image validation split is too noisy to rank candidates (its AUC has a
standard error of about 0.04), so each candidate is trained on the training part of each
of the 5 patient-grouped CV folds and ranked by its mean best *validation* AUC across the
folds. The test folds are scored by the same runs (that is how ``core.training.cv`` works) and
printed for completeness, but the ranking never looks at them. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from core.data import load_data
from core.foundation.config import TrainConfig
from core.training.cv import concat_splits, cross_validate

CANDIDATES = {
    "published (lr 1e-3, wd 1e-4, dropout 0.3, 200 ep)": {},
    "lr 1e-4, wd 1e-3, dropout 0.5, 100 ep": dict(lr=1e-4, weight_decay=1e-3, dropout=0.5,
                                                  epochs=100),
    "lr 3e-5, wd 1e-2, dropout 0.5, 100 ep, balanced": dict(lr=3e-5, weight_decay=1e-2,
                                                            dropout=0.5, epochs=100,
                                                            class_weight="balanced"),
    "lr 1e-4, wd 1e-2, dropout 0.6, 60 ep, balanced": dict(lr=1e-4, weight_decay=1e-2,
                                                           dropout=0.6, epochs=60,
                                                           class_weight="balanced"),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="nih-sample")
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args()
    full = concat_splits(load_data(args.data))
    rows = []
    for name, kw in CANDIDATES.items():
        t0 = time.time()
        res = cross_validate(full, {"mlp": TrainConfig(**kw)}, k=args.folds)
        val = np.array([r.val_auc for r in res])
        test = np.array([r.test_auc for r in res])
        rows.append((val.mean(), val.std(ddof=1), test.mean(), test.std(ddof=1), name,
                     time.time() - t0))
        print(f"{name}: val AUC {val.mean():.4f} ± {val.std(ddof=1):.4f}  "
              f"({time.time() - t0:.0f}s)", flush=True)
    print("\n| candidate | mean val AUC (± sd) | mean test AUC (± sd, not used) | time |")
    print("|---|---|---|---|")
    for v, vs, t, ts, name, sec in sorted(rows, key=lambda r: -r[0]):
        print(f"| {name} | {v:.4f} ± {vs:.4f} | {t:.4f} ± {ts:.4f} | {sec:.0f}s |")


if __name__ == "__main__":
    main()
