"""An image folder: ``ROOT/normal/*`` and ``ROOT/abnormal/*`` (label 0 / 1), or already
split as ``ROOT/{train,val,test}/{normal,abnormal}/*``.

Any image Pillow reads (PNG, JPEG, …; sub-folders of a class folder are included) is
decoded once into the preprocessing cache. Unsplit folders get a seeded split: grouped
by patient when file names follow the NIH pattern ``PPPPPPPP_FFF.png`` (other names:
each image is its own group, i.e. a plain stratified split). Pre-split folders keep
their split; a missing ``val/`` is carved from ``train/`` the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from core.data.assemble import Indexed, unique_groups
from core.data.cache import ProgressFn, build_cache, cache_dir_for
from core.data.dataset import patient_id
from core.data.images import is_image_file
from core.data.split import assign_groups, train_val_test_split
from core.foundation.errors import ChexminiError

CLASSES = (("normal", 0), ("abnormal", 1))
SPLIT_DIRS = ("train", "val", "test")


def _has_classes(d: Path) -> bool:
    return any((d / c).is_dir() for c, _ in CLASSES)


def is_image_folder(path: Path) -> bool:
    return path.is_dir() and (_has_classes(path) or
                              any(_has_classes(path / s) for s in SPLIT_DIRS))


def _scan(root: Path, base: Path) -> tuple[list[str], list[str], list[int]]:
    names, paths, labels = [], [], []
    for cls, label in CLASSES:
        d = base / cls
        if not d.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(d):
            dirnames.sort()
            for fn in sorted(filenames):
                if fn.startswith(".") or not is_image_file(fn):
                    continue
                p = Path(dirpath) / fn
                names.append(p.relative_to(root).as_posix())
                paths.append(os.fspath(p))
                labels.append(label)
    return names, paths, labels


def load_folder(root: str | os.PathLike[str], *, image_size: int = 64, seed: int = 0,
                val_fraction: float = 0.15, test_fraction: float = 0.15,
                workers: int | None = None, progress: ProgressFn | None = None) -> Indexed:
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise ChexminiError("image folder not found" if not root.exists() else
                            "not a folder", root)
    presplit = [s for s in SPLIT_DIRS if _has_classes(root / s)]
    if presplit and _has_classes(root):
        raise ChexminiError("both normal/abnormal and train/val/test sub-folders found; "
                            "use one layout", root)
    names: list[str] = []
    paths: list[str] = []
    labels: list[int] = []
    part_of: list[int] = []
    if presplit:
        if "train" not in presplit or "test" not in presplit:
            raise ChexminiError("a pre-split folder needs train/ and test/ (val/ is "
                                "optional)", root)
        for k, s in enumerate(SPLIT_DIRS):
            nm, pa, la = _scan(root, root / s)
            names += nm
            paths += pa
            labels += la
            part_of += [k] * len(nm)
    elif _has_classes(root):
        names, paths, labels = _scan(root, root)
    else:
        raise ChexminiError("not an image folder: expected normal/ and abnormal/ "
                            "(optionally inside train/, val/, test/)", root)
    if not names:
        raise ChexminiError("no image files in the normal/ and abnormal/ folders", root)
    names_arr = np.asarray(names)
    labels_arr = np.asarray(labels, dtype=np.uint8)
    pids = np.array([patient_id(nm) for nm in names], dtype=np.int64)
    groups = unique_groups(names_arr, pids)
    grouped = bool(np.all(pids >= 0))
    cache = build_cache(names, paths, image_size, cache_dir_for("folder", root, image_size),
                        source=f"folder:{root}", root=root, workers=workers,
                        progress=progress)
    ok = cache.ok
    if presplit:
        part = np.asarray(part_of)
        rows = {s: np.flatnonzero((part == k) & ok) for k, s in enumerate(SPLIT_DIRS)}
        if "val" not in presplit or len(rows["val"]) == 0:
            tr = rows["train"]
            sub = assign_groups(groups[tr], labels_arr[tr], [1 - val_fraction, val_fraction],
                                seed)
            rows["train"], rows["val"] = tr[sub == 0], tr[sub == 1]
            how = "given train/test folders; validation carved from train"
        else:
            how = "given train/val/test folders"
    else:
        usable = np.flatnonzero(ok)
        tr, va, te = train_val_test_split(groups[usable], labels_arr[usable], val_fraction,
                                          test_fraction, seed)
        rows = {"train": usable[tr], "val": usable[va], "test": usable[te]}
        how = ("patient-grouped stratified (NIH-style names)" if grouped else
               "stratified (names carry no patient ID: one group per image)")
    info = {
        "scheme": "folder",
        "root": str(root),
        "split": how,
        "skipped": len(cache.bad),
        "skipped_examples": [f"{nm}: {pr}" for nm, pr in cache.bad[:10]],
        "cache": str(cache.directory),
        "cache_decoded": cache.decoded,
        "notes": list(cache.notes),
    }
    if not grouped:
        info["patients"] = "unknown (file names carry no patient ID)"
    return Indexed(cache.images_path, cache.directory, names_arr, labels_arr, groups, rows,
                   f"folder:{root}", info)
