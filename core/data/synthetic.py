"""A small procedural *synthetic* chest-X-ray-like data set (clearly not real data).

Each image is a bright thorax ellipse with two darker lung fields, a spine, ribs and
noise; "abnormal" images add a soft opacity (a Gaussian blob) inside a lung field.
It exists so the whole pipeline — training, checkpoints, the app, the tests — runs with
no data at all. It is learnable (AUC well above 0.5 after a few epochs) but not trivial.
Names follow the NIH pattern ``PPPPPPPP_FFF.png`` with 1–3 images per patient.
"""

from __future__ import annotations

import numpy as np

from core.data.dataset import DataSplits, Split
from core.data.split import train_val_test_split


def make_images(n: int, size: int = 64, seed: int = 0, positive_rate: float = 0.4):
    """``(images uint8 (n, size, size), labels uint8 (n,), names, groups)``."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / (size - 1)
    labels = (rng.random(n) < positive_rate).astype(np.uint8)
    images = np.empty((n, size, size), dtype=np.uint8)
    groups = np.empty(n, dtype=np.int64)
    names = []
    patient, follow = 1, 0
    for i in range(n):
        cx = 0.5 + rng.normal(0, 0.03)
        body = np.exp(-(((xx - cx) / 0.42) ** 2 + ((yy - 0.55) / 0.55) ** 2) ** 2)
        lungs = sum(
            np.exp(-(((xx - (cx + s * 0.17)) / 0.12) ** 2 + ((yy - 0.48) / 0.26) ** 2))
            for s in (-1, 1)
        )
        ribs = 0.05 * np.sin(yy * 40 + rng.uniform(0, 6.28)) * lungs
        spine = np.exp(-(((xx - cx) / 0.03) ** 2))
        img = 0.25 + 0.5 * body - 0.35 * lungs + ribs + 0.2 * spine
        if labels[i]:
            side = rng.choice((-1, 1))
            bx = cx + side * 0.17 + rng.normal(0, 0.04)
            by = 0.5 + rng.normal(0, 0.1)
            r = rng.uniform(0.05, 0.12)
            img = img + rng.uniform(0.15, 0.3) * np.exp(-((xx - bx) ** 2 + (yy - by) ** 2) / r**2)
        img = img * rng.uniform(0.85, 1.15) + rng.normal(0, 0.05, img.shape)
        images[i] = np.clip(img * 255, 0, 255).astype(np.uint8)
        names.append(f"{patient:08d}_{follow:03d}.png")
        groups[i] = patient
        if follow >= 2 or rng.random() < 0.5:
            patient, follow = patient + 1, 0
        else:
            follow += 1
    return images, labels, np.array(names), groups


def load_synthetic(
    n: int = 600,
    size: int = 64,
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
) -> DataSplits:
    """``n`` synthetic images split by patient into train/val/test."""
    images, labels, names, groups = make_images(n, size, seed)
    full = Split(images, labels, names, groups)
    tr, va, te = train_val_test_split(groups, labels, val_fraction, test_fraction, seed)
    return DataSplits(full.subset(tr), full.subset(va), full.subset(te),
                      source=f"synthetic:{n}",
                      info={"synthetic": True, "split": "patient-grouped stratified"})
