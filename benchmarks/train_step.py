"""Training-step benchmark: the engine's real step vs NumPy's own GEMM rate vs PyTorch.

    python benchmarks/train_step.py [--steps 50] [--rounds 5] [--keep-openblas-env]

Times ``core.training.step.TrainStep`` — the code path ``core.training.train`` runs — on the
published MLP
(4096→1024→256→64→1, batch 256, float32, dropout 0.3, Adam + weight decay, augmentation
and per-batch standardisation included) and prints samples/s, achieved GFLOP/s
(6 × weights × batch per step), the time split by phase, the step as a fraction of the
machine's float32 GEMM rate for the same shapes, and — if PyTorch is importable — the
ratio ours / PyTorch for the equivalent ``torch.nn`` step, interleaved round by round
(median of the rounds). Also: inference on one 1024×1024 PNG and batch scoring of 10,000
64×64 images. PyTorch is never a dependency of chexmini.

This machine sets OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (they force slower float32
kernels); unless ``--keep-openblas-env`` is given, this script re-runs itself once with
both unset *for its own process only* and says so.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402  (after the re-exec decision, before BLAS starts)
from openblas_env import unset_openblas_env  # noqa: E402

import core  # noqa: E402,F401,I001  (before NumPy: sets OPENBLAS_THREAD_TIMEOUT)
from core.foundation.blas_env import THREAD_TIMEOUT  # noqa: E402
from core.nn.augment import AugmentConfig  # noqa: E402
from core.nn.batches import BatchMaker  # noqa: E402
from core.nn.model import MLP  # noqa: E402
from core.nn.standardize import feature_stats  # noqa: E402
from core.training.optim import Adam  # noqa: E402
from core.training.step import StepTimer, TrainStep  # noqa: E402

WIDTHS = (4096, 1024, 256, 64, 1)
BATCH = 256


def blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed (pip install threadpoolctl to see the kernel)"
    parts = [f"{i.get('internal_api')} {i.get('version')} kernel={i.get('architecture')} "
             f"threads={i.get('num_threads')}" for i in threadpool_info()]
    return "; ".join(parts) or "no BLAS found"


def make_data(n=4096, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 64, 64), dtype=np.uint8)
    labels = (rng.random(n) < 0.4).astype(np.float64)
    return images, labels


class Ours:
    def __init__(self, images, labels):
        self.images, self.labels = images, labels
        self.model = MLP(WIDTHS, dropout=0.3, seed=0)
        self.opt = Adam(self.model.parameters(), self.model.gradients(), weight_decay=1e-4)
        mean, std = feature_stats(images)
        self.step = TrainStep(self.model, self.opt, BatchMaker(mean, std), AugmentConfig(), 0.05)
        self.rng = np.random.default_rng(1)
        self.perm = np.random.default_rng(2).permutation(len(images))
        self.i = 0

    def batch(self):
        n = len(self.images)
        s = (self.i * BATCH) % (n - BATCH)
        self.i += 1
        idx = self.perm[s : s + BATCH]
        return self.images[idx], self.labels[idx]

    def run(self, steps, timer=None):
        t0 = time.perf_counter()
        for _ in range(steps):
            x, y = self.batch()
            self.step(x, y, self.rng, lr=1e-3, timer=timer)
        return time.perf_counter() - t0


class Torch:
    """The equivalent torch.nn step: same shapes, same augmentation and standardisation
    done with torch ops, BCE-with-logits with label smoothing, Adam(weight_decay) — which,
    like ours, decays biases too unless told otherwise, so weight decay is given to weights
    only through parameter groups, as in chexmini."""

    def __init__(self, torch, images, labels):
        self.torch = torch
        nn = torch.nn
        torch.manual_seed(0)
        layers = []
        for i in range(len(WIDTHS) - 1):
            layers.append(nn.Linear(WIDTHS[i], WIDTHS[i + 1]))
            if i < len(WIDTHS) - 2:
                layers += [nn.ReLU(), nn.Dropout(0.3)]
        self.model = nn.Sequential(*layers)
        weights = [p for n, p in self.model.named_parameters() if n.endswith("weight")]
        biases = [p for n, p in self.model.named_parameters() if n.endswith("bias")]
        self.opt = torch.optim.Adam([{"params": weights, "weight_decay": 1e-4},
                                     {"params": biases, "weight_decay": 0.0}], lr=1e-3)
        self.images = torch.from_numpy(images)
        self.labels = torch.from_numpy(labels.astype(np.float32))
        mean, std = feature_stats(images)
        self.mean, self.inv_std = torch.from_numpy(mean), torch.from_numpy(1 / std)
        self.perm = torch.from_numpy(np.random.default_rng(2).permutation(len(images)))
        self.i = 0

    def run(self, steps):
        torch = self.torch
        t0 = time.perf_counter()
        for _ in range(steps):
            n = len(self.images)
            s = (self.i * BATCH) % (n - BATCH)
            self.i += 1
            idx = self.perm[s : s + BATCH]
            x = self.images[idx].float().mul_(1 / 255)
            flip = torch.rand(BATCH) < 0.5
            x[flip] = x[flip].flip(-1)
            x += (torch.rand(BATCH, 1, 1) * 0.2 - 0.1)
            x += torch.randn_like(x) * 0.02
            x = (x.reshape(BATCH, -1) - self.mean) * self.inv_std
            y = self.labels[idx] * 0.95 + 0.025
            logits = self.model(x)[:, 0]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y)
            self.opt.zero_grad(set_to_none=False)
            loss.backward()
            self.opt.step()
        return time.perf_counter() - t0


def gemm_time(reps=20):
    """Seconds per step for the step's GEMMs alone (np.matmul into preallocated outputs):
    forward x·W for each layer; backward xᵀ·g for each layer and g·Wᵀ for layers 2…4."""
    rng = np.random.default_rng(0)
    acts = [rng.standard_normal((BATCH, w), dtype=np.float32) for w in WIDTHS]
    ws = [rng.standard_normal((WIDTHS[i], WIDTHS[i + 1]), dtype=np.float32)
          for i in range(len(WIDTHS) - 1)]
    outs_f = [np.empty((BATCH, WIDTHS[i + 1]), np.float32) for i in range(len(ws))]
    outs_w = [np.empty_like(w) for w in ws]
    outs_x = [np.empty((BATCH, WIDTHS[i]), np.float32) for i in range(len(ws))]

    def once():
        for i, w in enumerate(ws):
            np.matmul(acts[i], w, out=outs_f[i])
        for i, w in enumerate(ws):
            np.matmul(acts[i].T, acts[i + 1], out=outs_w[i])
            if i > 0:
                np.matmul(acts[i + 1], w.T, out=outs_x[i])

    once()
    t0 = time.perf_counter()
    for _ in range(reps):
        once()
    return (time.perf_counter() - t0) / reps


def adam_floor(n_params: int, reps: int = 100) -> dict:
    """What the Adam update could cost at best with NumPy on this machine.

    compute: the real update (:meth:`core.training.optim.Adam.step`) on one chunk of
    ``core.training.optim.CHUNK`` parameters, repeated so the chunk stays in cache — its ufunc
    passes at in-cache speed, in ns per parameter on one core —
    times ``n_params`` spread perfectly over all cores. memory: the 28 bytes per parameter
    it must move (read θ, g, m̃, ṽ; write θ, m̃, ṽ; float32) at the bandwidth all cores
    get streaming ``a ← b + c`` over 3 × 128 MB. The floor is the larger of the two (it
    assumes memory traffic and arithmetic overlap perfectly, which chunked NumPy does not).
    """
    from core.foundation.parallel import n_threads, row_shares, run_shares
    from core.training.optim import CHUNK

    n = CHUNK
    p = {"x.W": np.zeros(n, np.float32)}
    g = {"x.W": np.random.default_rng(0).standard_normal(n, dtype=np.float32)}
    opt = Adam(p, g, weight_decay=1e-4)
    opt.step(1e-3)
    t0 = time.perf_counter()
    for _ in range(reps):
        opt.step(1e-3)
    ns_per_param = (time.perf_counter() - t0) / reps / n * 1e9
    cores = n_threads()
    compute_ms = ns_per_param * n_params / cores / 1e6

    size = 32 << 20
    a, b, c = (np.ones(size, np.float32) for _ in range(3))
    shares = row_shares(size, min_rows=1)
    times = []
    for _ in range(7):
        t0 = time.perf_counter()
        run_shares(lambda sl: np.add(b[sl], c[sl], out=a[sl]), shares)
        times.append(time.perf_counter() - t0)
    gb_per_s = 3 * a.nbytes / min(times) / 1e9
    memory_ms = 28 * n_params / gb_per_s / 1e6
    return {"ns_per_param_core": ns_per_param, "cores": cores, "compute_ms": compute_ms,
            "bandwidth_gb_s": gb_per_s, "memory_ms": memory_ms,
            "floor_ms": max(compute_ms, memory_ms)}


def inference_figures(ours: Ours):
    from PIL import Image

    from core.inference import predict_label, preprocess_image

    mean, std = ours.step.maker.mean, 1 / ours.step.maker.inv_std
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        path = Path(tmp) / "big.png"
        Image.fromarray(rng.integers(0, 256, (1024, 1024), np.uint8)).save(path)
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            x = preprocess_image(path, 64, mean, std)
            predict_label(ours.model, x, 0.5)
            times.append(time.perf_counter() - t0)
    from core.nn.batches import standardise_all

    imgs = np.random.default_rng(1).integers(0, 256, (10_000, 64, 64), np.uint8)
    t0 = time.perf_counter()
    ours.model.predict_proba(standardise_all(imgs, mean, std))
    batch_s = time.perf_counter() - t0
    return statistics.median(times), batch_s


def main() -> None:
    ap = argparse.ArgumentParser(description="chexmini training-step benchmark")
    ap.add_argument("--steps", type=int, default=50, help="timed steps per round")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median)")
    ap.add_argument("--keep-openblas-env", action="store_true")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args()
    env_note = unset_openblas_env(args.keep_openblas_env)

    flops = 6 * sum(WIDTHS[i] * WIDTHS[i + 1] for i in range(len(WIDTHS) - 1)) * BATCH
    print(f"machine: {os.cpu_count()} cores; numpy {np.__version__}; BLAS: {blas_info()}")
    print(f"OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE: {env_note}")
    timeout = os.environ.get("OPENBLAS_THREAD_TIMEOUT")
    print(f"OPENBLAS_THREAD_TIMEOUT={timeout} (chexmini sets {THREAD_TIMEOUT} unless already set: "
          "OpenBLAS workers sleep between GEMMs, see core/foundation/blas_env.py)")
    print(f"model {'→'.join(map(str, WIDTHS))}, batch {BATCH}, float32, "
          f"{flops / 1e9:.2f} GFLOP per step (6 × weights × batch)\n")

    images, labels = make_data()
    ours = Ours(images, labels)
    ours.run(5)  # warm-up (buffers, BLAS threads)
    try:
        import torch

        torch.set_num_threads(os.cpu_count() or 1)
        theirs = Torch(torch, images, labels)
        theirs.run(5)
        torch_note = f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    except ImportError:
        theirs, torch_note = None, "PyTorch not importable: comparison skipped"

    ours_sps, torch_sps, ratios = [], [], []
    for r in range(args.rounds):
        # Alternate who goes first, and let the other library's threads go idle (OpenMP and
        # OpenBLAS workers spin for a while after a run) with a pause and 3 untimed steps.
        order = [("ours", ours), ("torch", theirs)] if r % 2 == 0 else [("torch", theirs),
                                                                         ("ours", ours)]
        times = {}
        for name, engine in order:
            if engine is None:
                continue
            time.sleep(0.25)
            engine.run(3)
            times[name] = engine.run(args.steps)
        ours_sps.append(args.steps * BATCH / times["ours"])
        if theirs is not None:
            torch_sps.append(args.steps * BATCH / times["torch"])
            ratios.append(times["torch"] / times["ours"])
        print(f"round {r + 1}: ours {ours_sps[-1]:,.0f} samples/s"
              + (f", torch {torch_sps[-1]:,.0f} samples/s, ratio {ratios[-1]:.3f}"
                 if theirs is not None else ""), flush=True)

    timer = StepTimer()
    ours.run(args.steps, timer)
    total = sum(timer.seconds.values())
    gemm = gemm_time()
    step_s = BATCH / statistics.median(ours_sps)
    print(f"\nours: {statistics.median(ours_sps):,.0f} samples/s (median of {args.rounds} "
          f"rounds of {args.steps} steps) = {flops / step_s / 1e9:.1f} GFLOP/s")
    print(f"GEMMs alone (np.matmul, same shapes): {gemm * 1e3:.1f} ms/step = "
          f"{flops / gemm / 1e9:.1f} GFLOP/s; the full step runs at "
          f"{gemm / step_s:.0%} of that rate")
    if theirs is not None:
        print(f"{torch_note}: {statistics.median(torch_sps):,.0f} samples/s; "
              f"ours/PyTorch = {statistics.median(ratios):.3f} (median of {len(ratios)} "
              f"interleaved rounds; per round {', '.join(f'{r:.3f}' for r in ratios)})")
    else:
        print(torch_note)

    groups = {
        "forward GEMMs (Linear)": ["forward Linear"],
        "backward GEMMs (Linear)": ["backward Linear"],
        "elementwise (ReLU, dropout, loss)": ["forward ReLU", "forward Dropout",
                                              "backward ReLU", "backward Dropout", "loss"],
        "optimiser (Adam)": ["optimiser"],
        "data (augment + standardise)": ["data (augment + standardise)"],
    }
    print(f"\ntime split over {timer.steps} steps ({total / timer.steps * 1e3:.1f} ms/step):")
    split = {}
    for label, keys in groups.items():
        s = sum(timer.seconds.get(k, 0.0) for k in keys)
        split[label] = s / total
        print(f"  {label:<36} {s / timer.steps * 1e3:7.2f} ms  {s / total:6.1%}")
    non_gemm = 1 - split["forward GEMMs (Linear)"] - split["backward GEMMs (Linear)"]
    print(f"  non-GEMM share of the step: {non_gemm:.1%}")

    n_params = ours.model.n_parameters()
    floor = adam_floor(n_params)
    step_ms = total / timer.steps * 1e3
    adam_ms = timer.seconds["optimiser"] / timer.steps * 1e3
    best = (step_ms * non_gemm - adam_ms + floor["floor_ms"]) / (step_ms - adam_ms
                                                                  + floor["floor_ms"])
    print(f"\nAdam floor for {n_params / 1e6:.2f} M parameters with NumPy here: in-cache "
          f"{floor['ns_per_param_core']:.2f} ns/parameter/core over {floor['cores']} cores = "
          f"{floor['compute_ms']:.1f} ms; memory 28 B/parameter at "
          f"{floor['bandwidth_gb_s']:.0f} GB/s = {floor['memory_ms']:.1f} ms; "
          f"measured {adam_ms:.1f} ms.\nWith Adam at its floor and the rest as measured, "
          f"the non-GEMM share would be {best:.1%}.")

    one, batch = inference_figures(ours)
    print(f"\ninference: one 1024×1024 PNG → P(abnormal) in {one * 1e3:.1f} ms (decode + "
          f"resize + forward); 10,000 64×64 images scored in {batch:.2f} s "
          f"({10_000 / batch:,.0f} images/s)")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {rss:.0f} MB")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "ours_samples_per_s": statistics.median(ours_sps),
            "torch_samples_per_s": statistics.median(torch_sps) if torch_sps else None,
            "ratio_ours_over_torch": statistics.median(ratios) if ratios else None,
            "ratios": ratios, "gemm_fraction": gemm / step_s, "split": split,
            "non_gemm_share": non_gemm, "adam_floor": floor,
            "non_gemm_share_with_adam_at_floor": best,
            "blas": blas_info(), "openblas_env": env_note,
            "predict_one_png_s": one, "score_10k_s": batch}, indent=2))


if __name__ == "__main__":
    main()
