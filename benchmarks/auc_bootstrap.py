"""What a bootstrap AUC interval costs (:func:`core.evaluation.bootstrap.auc_ci`).

    python benchmarks/auc_bootstrap.py [--n 10000] [--replicates 1000] [--reps 5]

Scores of ``--n`` images (30 % positive, binormal, rounded to 2 decimals so there are
ties); the fastest and median of ``--reps`` calls of ``auc_ci`` with ``--replicates``
stratified replicates. Target: well under a second for 10,000 scores and B = 1000.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from core.evaluation.bootstrap import auc_ci  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--replicates", type=int, default=1000)
    p.add_argument("--reps", type=int, default=5)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    labels = (rng.random(args.n) < 0.3).astype(np.int64)
    scores = np.round(rng.normal(size=args.n) + labels, 2)
    times = []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        ci = auc_ci(scores, labels, replicates=args.replicates)
        times.append(time.perf_counter() - t0)
    print(f"auc_ci: n={args.n:,}, B={args.replicates}: fastest {min(times):.3f} s, median "
          f"{statistics.median(times):.3f} s; interval {ci[0]:.4f}–{ci[1]:.4f}")


if __name__ == "__main__":
    main()
