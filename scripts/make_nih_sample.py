"""Rebuild the embedded real sample (``core/data/nih_sample/``) from the NIH subset.

    python scripts/make_nih_sample.py [--subset ../shared/data/nih14_subset]

Copies ``images64.npz`` and ``labels.csv`` unchanged, and a dozen 256×256 PNGs (six
normal, six abnormal: the first of each class, by file name, among the images that the
shipped checkpoint's seeded patient split puts in its *test* split, so none of them was
trained on) into ``png256/normal/`` and ``png256/abnormal/``.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from core.data.nih_sample import SAMPLE_DIR
from core.data.subset import load_subset

PER_CLASS = 6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--subset", default="../shared/data/nih14_subset", type=Path)
    args = p.parse_args()
    src: Path = args.subset
    for name in ("images64.npz", "labels.csv"):
        shutil.copyfile(src / name, SAMPLE_DIR / name)
    test = load_subset(src / "images64.npz").test
    available = {p.name for p in (src / "png256").glob("*.png")}
    for label, folder in ((0, "normal"), (1, "abnormal")):
        dest = SAMPLE_DIR / "png256" / folder
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        names = sorted(n for n, y in zip(test.names, test.labels, strict=True)
                       if y == label and n in available)[:PER_CLASS]
        for name in names:
            shutil.copyfile(src / "png256" / name, dest / name)
        print(f"{folder}: {', '.join(names)}")


if __name__ == "__main__":
    main()
