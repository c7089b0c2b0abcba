"""What the training-health figures cost per epoch (:mod:`core.training.health`).

    python benchmarks/health_cost.py [--epochs 8] [--reps 3] [--parts 40] [--keep-openblas-env]

On the published MLP (4096→1024→256→64→1, batch 256, the published hyperparameters) and
the embedded real sample (1,133 training / 243 validation images, 5 steps an epoch):

1. **side by side** — ``train(..., health=True)`` and ``health=False`` in one process,
   epoch by epoch in turn (who goes first alternates), ``--reps`` pairs of runs of
   ``--epochs`` epochs; the median epoch time of each (``EpochEnd.seconds``; the first
   epoch of every run left out: warm-up) and their ratio. On a shared 2-core machine the
   difference is within the epoch-to-epoch noise, so also:
2. **by part** — the three things health adds to an epoch, each timed against the same
   work without it, interleaved ``--parts`` times; the *fastest* time of each (the run
   least disturbed by other processes — medians swing by more than the difference on a
   busy machine): the optimiser's update measuring ‖ΔW‖ vs a plain one (the only
   difference in the epoch's last step, timed alone so the GEMMs' noise stays out); the
   validation pass with the activation probe vs without; and
   :func:`core.training.health.layer_health` (gradient norms; ‖W‖² is computed for ``reg_loss``
   anyway). Their sum is the cost per epoch, printed as a percentage of the fastest and
   of the median epoch time without health from 1.

This machine may set OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (they force slower float32
kernels); unless ``--keep-openblas-env`` is given, this script re-runs itself once with
both unset *for its own process only* and says so (as ``benchmarks/train_step.py``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from openblas_env import unset_openblas_env  # noqa: E402


def _next_epoch(run) -> float | None:
    """Drive a training generator to its next ``EpochEnd``: its seconds (None at the end)."""
    for ev in run:
        if ev.kind == "epoch":
            return ev.seconds
    return None


def side_by_side(config, data, reps: int) -> tuple[float, float, float]:
    """Median epoch seconds ``(with health, without)`` and the fastest epoch without: two
    runs advanced epoch by epoch in turn, so a change in the machine's load hits both.
    Which run is created first alternates too: in an A/A check (both without health) the
    run created first was ~1.5 % faster, as large as the effect measured here."""
    from core.training.train import train

    times: dict[bool, list[float]] = {True: [], False: []}
    for rep in range(reps):
        order = (True, False) if rep % 2 == 0 else (False, True)
        runs = {h: train(config, data, None, step_events=False, health=h) for h in order}
        for e in range(config.epochs):
            for h in ((True, False) if e % 2 == 0 else (False, True)):
                sec = _next_epoch(runs[h])
                if e > 0 and sec is not None:
                    times[h].append(sec)
        for run in runs.values():
            for _ in run:   # the finish: best model, test split, no files
                pass
    return statistics.median(times[True]), statistics.median(times[False]), min(times[False])


def _fastest_pair(a, b, n: int) -> tuple[float, float]:
    """Fewest seconds of ``a()`` and of ``b()``, called alternately ``n`` times."""
    ta, tb = [], []
    for _ in range(n):
        for f, out in ((a, ta), (b, tb)):
            t0 = time.perf_counter()
            f()
            out.append(time.perf_counter() - t0)
    return min(ta), min(tb)


def by_part(config, data, n: int) -> dict[str, float]:
    """Extra seconds per epoch of each part of the health figures (see the module)."""
    import numpy as np

    from core.nn.batches import BatchMaker
    from core.training.health import ActivationProbe, layer_health
    from core.training.optim import lr_schedule, weight_sq_norms
    from core.training.run_state import TrainingState
    from core.training.scoring import validate
    from core.training.step import TrainStep

    run = TrainingState(config, data)
    maker = BatchMaker(run.mean, run.std, noise_seed=run.noise_seed)
    step = TrainStep(run.model, run.opt, maker, None, config.label_smoothing)
    images, labels = data.train.images[:256], data.train.labels[:256].astype(np.float64)
    lr = lr_schedule(config).lr_at(0)
    for _ in range(3):
        step(images, labels, run.aug_rng, lr=lr)  # warm up

    def measured_update() -> None:
        run.opt.measure_update = True
        run.opt.step(lr)
        run.opt.measure_update = False

    t_meas, t_plain = _fastest_pair(measured_update, lambda: run.opt.step(lr), n)
    probe = ActivationProbe()

    def probed_val() -> None:
        probe.reset()
        validate(run.model, data.val, maker, config.label_smoothing, probe)

    t_probe, t_val = _fastest_pair(
        probed_val, lambda: validate(run.model, data.val, maker, config.label_smoothing), n)
    params, grads, sq = run.model.parameters(), run.model.gradients(), run.opt.last_update_sq
    w_sq = weight_sq_norms(params)   # computed for the weight decay's reg_loss anyway
    t_norms, _ = _fastest_pair(lambda: layer_health(params, grads, sq, probe.summary(), w_sq),
                              lambda: None, n)
    return {"Adam update also measures ‖ΔW‖": t_meas - t_plain,
            "activation probe on validation": t_probe - t_val,
            "gradient norms and figures": t_norms}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--parts", type=int, default=60)
    ap.add_argument("--keep-openblas-env", action="store_true")
    args = ap.parse_args(argv)
    blas_note = unset_openblas_env(args.keep_openblas_env)

    import core  # noqa: F401  (before NumPy: sets OPENBLAS_THREAD_TIMEOUT)
    from core.data import load_data
    from core.foundation.config import TrainConfig

    data = load_data("nih-sample")
    config = TrainConfig(epochs=args.epochs)
    print(f"OPENBLAS_CORETYPE/L2_SIZE: {blas_note}")
    print(f"published MLP on nih-sample: {len(data.train)} train / {len(data.val)} val images, "
          f"{args.epochs} epochs × {args.reps} runs each way")
    t_on, t_off, t_fast = side_by_side(config, data, args.reps)
    print(f"side by side: median epoch {t_on * 1e3:.1f} ms with health, "
          f"{t_off * 1e3:.1f} ms without (ratio {t_on / t_off:.3f}); fastest epoch "
          f"without {t_fast * 1e3:.1f} ms")
    parts = by_part(config, data, args.parts)
    for name, sec in parts.items():
        print(f"  {name:36s} {sec * 1e3:+7.2f} ms")
    total = sum(parts.values())
    print(f"by part: {total * 1e3:.2f} ms per epoch = {100 * total / t_fast:.2f} % of the "
          f"fastest epoch without health, {100 * total / t_off:.2f} % of the median "
          f"(budget 2 %)")


if __name__ == "__main__":
    main()
