"""Small generated fixtures for the data tests (imported by the other ``test_data_*``
files; holds no tests itself)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

FINDINGS = ("Effusion", "Mass|Nodule", "Cardiomegaly", "Infiltration")


def gray_pattern(seed: int, side: int = 128) -> np.ndarray:
    """A smooth uint8 test image (different per seed)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side] / side
    img = 120 + 80 * np.sin(xx * rng.uniform(2, 6) + yy * rng.uniform(1, 4))
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_png(path: Path, kind: str, seed: int, side: int = 128) -> np.ndarray:
    """Write an image of ``kind`` (``gray8``, ``gray16``, ``rgb``); return its 8-bit
    grayscale content (what decoding should see)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    g = gray_pattern(seed, side)
    if kind == "gray8":
        Image.fromarray(g, "L").save(path)
    elif kind == "gray16":
        Image.fromarray(g.astype(np.uint16) * 257).save(path)   # full 16-bit range
    elif kind == "rgb":
        Image.fromarray(np.stack([g, g, g], axis=-1), "RGB").save(path)
    else:
        raise ValueError(kind)
    return g


def make_nih_root(root: Path, layout: str = "images", n_patients: int = 24, seed: int = 0,
                  side: int = 128, csv_name: str = "Data_Entry_2017.csv") -> dict:
    """An NIH-layout folder: ``layout`` = ``images`` (one ``images/``) or ``archives``
    (``images_001/images/`` …). Every 4th patient is in the official test list. Includes
    one truncated PNG and one listed-but-missing PNG. Returns facts for assertions."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    rows, train_val, test = [], [], []
    labels, kinds = {}, {}
    k = 0
    for p in range(1, n_patients + 1):
        for f in range(int(rng.integers(1, 4))):
            name = f"{p:08d}_{f:03d}.png"
            finding = "No Finding" if rng.random() < 0.55 else FINDINGS[k % len(FINDINGS)]
            labels[name] = 0 if finding == "No Finding" else 1
            rows.append(f"{name},{finding},{f},{p},{40 + p % 30},M,PA,{side},{side},0.143,0.143,")
            (test if p % 4 == 0 else train_val).append(name)
            kinds[name] = ("gray8", "gray16", "rgb")[k % 3]
            k += 1
    names = train_val + test
    if layout == "images":
        dirs = [root / "images"]
    else:
        dirs = [root / f"images_{i:03d}" / "images" for i in (1, 2, 3)]
    paths = {}
    for i, name in enumerate(sorted(names)):
        paths[name] = dirs[i * len(dirs) // len(names)] / name
    missing = train_val[1]
    truncated = train_val[2]
    content = {}
    for i, name in enumerate(names):
        if name == missing:
            continue
        content[name] = write_png(paths[name], kinds[name], seed * 1000 + i, side)
    data = paths[truncated].read_bytes()
    paths[truncated].write_bytes(data[: len(data) // 2])
    header = ("Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,"
              "View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],")
    extra = f"99999999_000.png,No Finding,0,99999999,50,F,PA,{side},{side},0.1,0.1,"
    (root / csv_name).write_text("\n".join([header, *rows, extra]) + "\n")
    (root / "train_val_list.txt").write_text("\n".join(train_val) + "\n")
    (root / "test_list.txt").write_text("\n".join(test) + "\n")
    return {"labels": labels, "train_val": train_val, "test": test, "missing": missing,
            "truncated": truncated, "paths": paths, "kinds": kinds, "content": content}


def make_folder(root: Path, presplit: bool = False, n: int = 30, nih_names: bool = True,
                seed: int = 1) -> dict[str, int]:
    """``root/{normal,abnormal}`` (or inside ``train/val/test``) of small PNGs."""
    labels = {}
    rng = np.random.default_rng(seed)
    for i in range(n):
        label = int(rng.random() < 0.4)
        cls = "abnormal" if label else "normal"
        fname = f"{i // 2 + 1:08d}_{i % 2:03d}.png" if nih_names else f"scan{i}.png"
        sub = Path(cls)
        if presplit:
            sub = Path(("train", "train", "train", "val", "test")[i % 5]) / cls
        rel = (sub / fname).as_posix()
        write_png(root / rel, "gray8", seed * 100 + i, 96)
        labels[rel] = label
    return labels


def make_chestmnist(path: Path, side: int = 28, counts=(40, 10, 20), seed: int = 0,
                    channels: int = 0) -> dict[str, np.ndarray]:
    """A ChestMNIST-shaped npz (``*_images`` uint8, ``*_labels`` N×14)."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in zip(("train", "val", "test"), counts, strict=True):
        shape = (n, side, side) + ((channels,) if channels else ())
        arrays[f"{split}_images"] = rng.integers(0, 256, shape, dtype=np.uint8)
        lab = (rng.random((n, 14)) < 0.06).astype(np.uint8)
        arrays[f"{split}_labels"] = lab
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    with zipfile.ZipFile(path) as zf:
        assert "train_images.npy" in zf.namelist()
    return arrays


def mann_whitney_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """P(score of a positive > score of a negative) + ½ P(tie), over all pairs."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)
