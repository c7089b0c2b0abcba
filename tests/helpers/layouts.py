"""Image folders as people have them (Kaggle-style ``train/val/test × NORMAL/PNEUMONIA``,
differently cased class folders) for the folder-layout tests."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.data import write_png


def make_layout(root: Path, splits: dict[str, dict[str, int]], side: int = 24,
                seed: int = 0) -> dict[str, int]:
    """``root/SPLIT/CLASS/imgK.png`` with ``splits[SPLIT][CLASS]`` images each (``SPLIT``
    ``""``: class folders at the root); returns ``{relative name: class folder}``."""
    made: dict[str, str] = {}
    k = seed * 10_000
    for split, classes in splits.items():
        for cls, n in classes.items():
            for _ in range(n):
                rel = Path(split, cls, f"img{k}.png").as_posix()
                write_png(root / rel, "gray8", k, side)
                made[rel] = cls
                k += 1
    return made


def kaggle(root: Path, n: int = 3, val: str = "val", side: int = 24) -> dict[str, str]:
    """The common public chest X-ray layout: train/val/test × NORMAL/PNEUMONIA."""
    return make_layout(root, {s: {"NORMAL": n, "PNEUMONIA": n} for s in ("train", val, "test")},
                       side)
