"""Preprocessing benchmark: decoding 1024×1024 PNGs into the 64×64 cache, and the peak
memory of one training epoch read from a 60,000-image uint8 memory-mapped cache.

    python benchmarks/preprocess.py [--images 300] [--workers 1,2] [--rounds 3] [--train 60000]
                                    [--steps N] [--skip-decode] [--skip-epoch]

1. **Decode**: generates ``--images`` 1024×1024 8-bit grayscale PNGs (smooth chest-like
   shapes plus noise, about the size of real NIH PNGs) in a temp dir, then times
   - a plain single-process loop ``Image.open(p).convert('L').resize((64, 64))``
     (Pillow's default filter, no error handling, nothing stored);
   - the same loop through ``core.data.images.load_gray`` (the chexmini pipeline);
   - ``core.data.cache.build_cache`` — the real cache build (chunks, status, manifest,
     memmap) — with each ``--workers`` count, every time from an empty cache.
2. **Epoch RSS**: writes a 60,000 (train) + 8,500 (val) + 10,000 (test) image uint8
   cache (``.npy``), then, in a fresh subprocess, memory-maps it and runs one epoch of
   ``core.training.train.train`` with the published model (4096→1024→256→64→1, batch 256, Adam,
   augmentation) and reports the child's peak RSS (``VmHWM``: unlike ``ru_maxrss`` it
   does not inherit the parent's peak across ``exec``), and the anonymous and
   file-backed (memory-map) pages at the end. ``--steps N`` stops after N steps
   (via ``TrainControl.stop``) when a whole epoch is too slow for the machine.

OPENBLAS_* environment variables are left exactly as they are.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from core.data.cache import build_cache, default_workers  # noqa: E402
from core.data.images import load_gray  # noqa: E402


# ------------------------------------------------------------------------------ decode
def make_pngs(folder: Path, n: int, side: int = 1024, seed: int = 0) -> list[str]:
    from core.data.synthetic import make_images

    folder.mkdir(parents=True, exist_ok=True)
    base, _, _, _ = make_images(min(n, 64), 64, seed)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        small = Image.fromarray(base[i % len(base)], "L")
        big = np.asarray(small.resize((side, side), Image.Resampling.BICUBIC), np.float32)
        big = big + rng.normal(0, 3.0, big.shape)
        p = folder / f"{i // 3 + 1:08d}_{i % 3:03d}.png"
        Image.fromarray(np.clip(big, 0, 255).astype(np.uint8), "L").save(p)
        paths.append(str(p))
    return paths


def bench_decode(n: int, worker_counts: list[int], keep: Path | None,
                 rounds: int = 3) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="chexmini-bench-"))
    src = keep or tmp / "png"
    t0 = time.perf_counter()
    existing = sorted(str(p) for p in src.glob("*.png")) if src.is_dir() else []
    paths = existing[:n] if len(existing) >= n else make_pngs(src, n)
    mb = sum(os.path.getsize(p) for p in paths) / 1e6
    print(f"{len(paths)} PNGs of 1024×1024 ({mb / len(paths):.2f} MB each on average) in "
          f"{src} — generated/listed in {time.perf_counter() - t0:.1f}s")
    # Warm the page cache so every contender reads from memory.
    for p in paths:
        Path(p).read_bytes()
    names = [Path(p).name for p in paths]

    def plain() -> None:
        for p in paths:
            np.asarray(Image.open(p).convert("L").resize((64, 64)))

    def pipeline() -> None:
        for p in paths:
            load_gray(p, 64)

    def cached(w: int):
        def run() -> None:
            cache = tmp / f"cache-{w}"
            res = build_cache(names, paths, 64, cache, root=src, workers=w)
            assert res.decoded == len(paths) and not res.bad
            shutil.rmtree(cache)
        return run

    contenders = {
        "plain loop: Image.open().convert('L').resize() (1 process)": plain,
        "load_gray loop (1 process, chexmini pipeline)": pipeline,
        **{f"build_cache, {w} worker process(es)": cached(w) for w in worker_counts},
    }
    # Interleaved rounds, median per contender: the machine is shared, so single runs
    # are noisy.
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(rounds):
        for k, fn in contenders.items():
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    results = {k: len(paths) / statistics.median(v) for k, v in times.items()}
    spread = {k: (len(paths) / max(v), len(paths) / min(v)) for k, v in times.items()}
    build_cache(names, paths, 64, tmp / "reuse", root=src, workers=max(worker_counts))
    t = time.perf_counter()
    again = build_cache(names, paths, 64, tmp / "reuse", root=src, workers=1)
    reuse_s = time.perf_counter() - t
    assert again.decoded == 0
    plain_rate = next(iter(results.values()))
    print(f"\nmedian of {rounds} interleaved rounds:")
    print(f"{'method':<62} {'images/s':>9} {'(min–max)':>13} {'vs plain':>9}")
    for k, v in results.items():
        lo, hi = spread[k]
        print(f"{k:<62} {v:>9.1f} {f'({lo:.0f}–{hi:.0f})':>13} {v / plain_rate:>8.2f}×")
    print(f"second build with unchanged inputs (reuse): {reuse_s * 1000:.0f} ms for "
          f"{len(paths)} files")
    shutil.rmtree(tmp, ignore_errors=True)
    return {"images": len(paths), "images_per_s": results, "reuse_ms": reuse_s * 1000}


# ------------------------------------------------------------------------- epoch RSS
SPLIT_SIZES = {"train": 60_000, "val": 8_500, "test": 10_000}


def make_cache(folder: Path, sizes: dict[str, int], seed: int = 0) -> None:
    """Chest-like uint8 64×64 images (templates + noise), labels and NIH-style names."""
    from core.data.synthetic import make_images

    folder.mkdir(parents=True, exist_ok=True)
    tmpl, tlab, _, _ = make_images(512, 64, seed)
    rng = np.random.default_rng(seed)
    for k, (name, n) in enumerate(sizes.items()):
        arr = np.lib.format.open_memmap(folder / f"{name}.npy", mode="w+", dtype=np.uint8,
                                        shape=(n, 64, 64))
        idx = rng.integers(0, len(tmpl), n)
        for s in range(0, n, 4096):
            block = tmpl[idx[s : s + 4096]].astype(np.int16)
            block += rng.integers(-6, 7, block.shape, dtype=np.int16)
            arr[s : s + 4096] = np.clip(block, 0, 255).astype(np.uint8)
        arr.flush()
        del arr
        labels = tlab[idx]
        names = np.array([f"{(k * 10**6 + i) // 3 + 1:08d}_{i % 3:03d}.png"
                          for i in range(n)])
        np.savez(folder / f"{name}_meta.npz", labels=labels, names=names)


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def epoch_child(folder: Path, steps: int | None) -> None:
    """Run in a fresh process: memory-map the cache and train one epoch."""
    from core.data.dataset import DataSplits, Split
    from core.foundation.config import TrainConfig
    from core.training.train import TrainControl, train

    parts = {}
    for name in SPLIT_SIZES:
        images = np.load(folder / f"{name}.npy", mmap_mode="r")
        with np.load(folder / f"{name}_meta.npz") as z:
            labels, names = z["labels"], z["names"]
        groups = np.array([int(n[:8]) for n in names], dtype=np.int64)
        parts[name] = Split(images, labels, names, groups)
    data = DataSplits(parts["train"], parts["val"], parts["test"], source="bench:memmap")
    assert isinstance(data.train.images, np.memmap)
    rss_start = _status_kb("VmRSS")
    config = TrainConfig(epochs=1)
    control = TrainControl()
    t0 = time.perf_counter()
    n_steps = 0
    gen = train(config, data, None, control=control, step_events=True)
    for ev in gen:
        if ev.kind == "step":
            n_steps = ev.step
            if steps is not None and ev.step >= steps:
                break
        elif ev.kind == "finished":
            break
    gen.close()
    if steps is not None and n_steps < -(-len(data.train) // config.batch_size):
        # Cut short: still score validation and test once, as the epoch end would.
        from core.nn.batches import BatchMaker
        from core.training.scoring import score_split

        maker = BatchMaker(*control.norm)
        score_split(control.model, data.val, maker)
        score_split(control.model, data.test, maker)
    seconds = time.perf_counter() - t0
    print(json.dumps({
        "steps": n_steps, "steps_per_epoch": -(-SPLIT_SIZES["train"] // config.batch_size),
        "seconds": seconds,
        "peak_rss_mb": _status_kb("VmHWM") / 1024,
        "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_training_mb": rss_start / 1024,
        "end_rss_anon_mb": _status_kb("RssAnon") / 1024,
        "end_rss_file_mb": _status_kb("RssFile") / 1024,
    }))


def bench_epoch(steps: int | None, train_n: int) -> dict:
    sizes = dict(SPLIT_SIZES, train=train_n)
    SPLIT_SIZES.update(sizes)
    tmp = Path(tempfile.mkdtemp(prefix="chexmini-epoch-"))
    try:
        t = time.perf_counter()
        make_cache(tmp, sizes)
        mb = sum(os.path.getsize(tmp / f"{k}.npy") for k in sizes) / 1e6
        print(f"\ncache: {sizes} uint8 64×64 images = {mb:.0f} MB on disk "
              f"(written in {time.perf_counter() - t:.1f}s)")
        cmd = [sys.executable, __file__, "--_epoch-child", str(tmp), "--train", str(train_n)]
        if steps is not None:
            cmd += ["--steps", str(steps)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    what = ("one full epoch" if result["steps"] >= result["steps_per_epoch"] else
            f"{result['steps']} of {result['steps_per_epoch']} steps of the epoch")
    print(f"training, published model, batch 256, {what} + validation ({sizes['val']:,}) "
          f"+ test ({sizes['test']:,}) scoring: {result['seconds']:.1f}s")
    print(f"peak RSS of the training process (VmHWM): {result['peak_rss_mb']:.0f} MB "
          f"(after memory-mapping, before training: {result['rss_before_training_mb']:.0f} MB; "
          f"at the end: {result['end_rss_anon_mb']:.0f} MB anonymous + "
          f"{result['end_rss_file_mb']:.0f} MB file-backed memmap pages)")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=300)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--rounds", type=int, default=3, help="decode rounds (median)")
    ap.add_argument("--png-dir", type=Path, help="reuse/generate the PNGs here")
    ap.add_argument("--train", type=int, default=60_000)
    ap.add_argument("--steps", type=int, help="stop the epoch after this many steps")
    ap.add_argument("--skip-decode", action="store_true")
    ap.add_argument("--skip-epoch", action="store_true")
    ap.add_argument("--_epoch-child", dest="epoch_child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.epoch_child:
        SPLIT_SIZES["train"] = args.train
        epoch_child(args.epoch_child, args.steps)
        return
    cores = default_workers()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPU cores ({cores} usable by this process; shared with "
          f"other work, so numbers vary); Python {sys.version.split()[0]}, NumPy "
          f"{np.__version__}, Pillow {Image.__version__}; load average now {load}")
    if not args.skip_decode:
        bench_decode(args.images, [int(w) for w in args.workers.split(",")], args.png_dir,
                     args.rounds)
    if not args.skip_epoch:
        bench_epoch(args.steps, args.train)
    print("load average at the end: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
