"""An image folder: class folders ``ROOT/normal/*`` and ``ROOT/abnormal/*`` (label 0 / 1),
or already split as ``ROOT/{train,val,test}/{normal,abnormal}/*``.

Folder names are matched case-insensitively (``Normal/``, ``TRAIN/``); the validation
folder may be called ``val``, ``valid`` or ``validation``. A class mapping (``--classes
normal=NORMAL abnormal=PNEUMONIA,COVID``, or ``?classes=…`` after the source) names the
folders of each class, so the common public layout ``train/ val/ test/`` ×
``NORMAL/ PNEUMONIA/`` reads as it is. A folder at a class level that the mapping does
not name is refused (naming it), never silently dropped.

Any image Pillow reads (PNG, JPEG, …; sub-folders of a class folder are included) is
decoded once into the preprocessing cache. Unsplit folders get a seeded split: grouped
by patient when file names follow the NIH pattern ``PPPPPPPP_FFF.png`` (other names:
each image is its own group, i.e. a plain stratified split). Pre-split folders keep
their split (patients cannot be grouped across given splits: ``info["warnings"]`` says
so);
a missing ``val/`` is carved from ``train/`` the same way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.data.assemble import Indexed, unique_groups
from core.data.cache import ProgressFn, build_cache, cache_dir_for
from core.data.dataset import patient_id
from core.data.images import is_image_file
from core.data.split import assign_groups, train_val_test_split
from core.foundation.errors import ChexminiError

CLASS_NAMES = ("normal", "abnormal")          # label 0, label 1
DEFAULT_CLASSES: dict[str, int] = {"normal": 0, "abnormal": 1}
SPLIT_DIRS = ("train", "val", "test")
#: Folder names (lower case) of each split.
SPLIT_ALIASES = {"train": "train", "val": "val", "valid": "val", "validation": "val",
                 "test": "test"}
CLASSES_FORMAT = "normal=DIR[,DIR…] abnormal=DIR[,DIR…]"
GIVEN_SPLITS_NOTE = ("given splits kept: patients cannot be grouped across the train/val/test "
                     "folders (check no patient is in two)")


def parse_classes(text: str) -> dict[str, int]:
    """``"normal=NORMAL abnormal=PNEUMONIA,COVID"`` (pairs separated by spaces or ``;``)
    → ``{"normal": 0, "pneumonia": 1, "covid": 1}`` (folder names lower-cased)."""
    pairs = [p for chunk in str(text).replace(";", " ").split() for p in [chunk.strip()] if p]
    mapping: dict[str, int] = {}
    seen: set[str] = set()
    for pair in pairs:
        cls, sep, dirs = pair.partition("=")
        cls = cls.strip().lower()
        if not sep or cls not in CLASS_NAMES or not dirs.strip(", "):
            raise ChexminiError(f"cannot read the classes {text!r} (expected {CLASSES_FORMAT})")
        if cls in seen:
            raise ChexminiError(f"classes: {cls} is given twice in {text!r}")
        seen.add(cls)
        for d in (d.strip().lower() for d in dirs.split(",")):
            if not d:
                continue
            if d in mapping:
                raise ChexminiError(f"classes: the folder {d!r} is named twice in {text!r}")
            mapping[d] = CLASS_NAMES.index(cls)
    if seen != set(CLASS_NAMES):
        raise ChexminiError(f"classes: name the folders of both normal and abnormal (expected "
                            f"{CLASSES_FORMAT}), got {text!r}")
    return mapping


def classes_text(mapping: dict[str, int]) -> str:
    """The canonical text of ``mapping`` (``normal=a,b;abnormal=c``), read back by
    :func:`parse_classes`."""
    return ";".join(f"{cls}={','.join(sorted(d for d, v in mapping.items() if v == k))}"
                    for k, cls in enumerate(CLASS_NAMES))


def class_of(folder_name: str, mapping: dict[str, int] | None = None) -> int | None:
    """The label of a class folder called ``folder_name`` (case-insensitive), or None."""
    return (mapping or DEFAULT_CLASSES).get(folder_name.lower())


def _subdirs(d: Path) -> list[Path]:
    try:
        return sorted(p for p in d.iterdir() if p.is_dir() and not p.name.startswith((".", "__")))
    except OSError:
        return []


@dataclass
class Layout:
    """What a folder holds: ``kind`` ``"flat"`` or ``"split"``; ``bases`` maps each given
    split (``"all"`` for flat) to its folder; ``notes`` says what was read."""

    kind: str
    bases: dict[str, Path]
    notes: list[str] = field(default_factory=list)


def _split_dirs(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for d in _subdirs(root):
        split = SPLIT_ALIASES.get(d.name.lower())
        if split is None:
            continue
        if split in found:
            raise ChexminiError(f"both {found[split].name}/ and {d.name}/ look like the {split} "
                                "split; keep one", root)
        found[split] = d
    return found


def detect_layout(root: Path, mapping: dict[str, int] | None = None) -> Layout:
    """Flat class folders or ``train/ [val/] test/`` × class folders (see module doc)."""
    splits = _split_dirs(root)
    flat = [d for d in _subdirs(root) if class_of(d.name, mapping) is not None]
    if splits and flat:
        raise ChexminiError("both class folders and train/val/test folders found; use one "
                            "layout", root)
    if flat:
        return Layout("flat", {"all": root}, [f"read class folders {_names(flat)}"])
    if not splits:
        raise ChexminiError(_expected(root, mapping), root)
    if "train" not in splits or "test" not in splits:
        raise ChexminiError("a pre-split folder needs train/ and test/ (val/ is optional)",
                            root)
    shown = " ".join(f"{splits[s].name}/" for s in SPLIT_DIRS if s in splits)
    notes = [f"read given splits {shown}"]
    other = [d for d in _subdirs(root) if d.name.lower() not in SPLIT_ALIASES]
    if other:
        notes.append(f"ignored folders {_names(other)}")
    return Layout("split", splits, notes)


def _names(dirs: list[Path]) -> str:
    return " ".join(f"{d.name}/" for d in dirs)


def _expected(root: Path, mapping: dict[str, int] | None) -> str:
    subs = _subdirs(root)
    found = f" (found {_names(subs[:8])})" if subs else ""
    return (f"not an image folder: expected class folders {_mapping_hint(mapping)}, "
            f"optionally inside train/, val/, test/{found}; name other class folders with "
            "--classes normal=DIR abnormal=DIR")


def _mapping_hint(mapping: dict[str, int] | None) -> str:
    m = mapping or DEFAULT_CLASSES
    return " and ".join("/".join(f"{d}/" for d in sorted(m) if m[d] == k) for k in (0, 1))


def _class_dirs(base: Path, root: Path, mapping: dict[str, int] | None) -> list[tuple[Path, int]]:
    """The class folders of ``base`` with their labels; an unmapped folder is refused."""
    subs = _subdirs(base)
    unknown = [d for d in subs if class_of(d.name, mapping) is None]
    if unknown:
        d = unknown[0]
        raise ChexminiError(
            f"the folder {d.relative_to(root).as_posix()}/ is not a known class (expected "
            f"{_mapping_hint(mapping)}); name the class folders, e.g. "
            f"{_suggest(subs, mapping)}", root)
    return [(d, class_of(d.name, mapping)) for d in subs]  # type: ignore[misc]


def _suggest(subs: list[Path], mapping: dict[str, int] | None) -> str:
    """A ``--classes`` guess for class folders ``subs``: the known ones as they map, the
    unknown ones as abnormal (findings) — or placeholders when no folder is known."""
    normal = [d.name for d in subs if class_of(d.name, mapping) == 0]
    if not normal:
        return (f"--classes normal=DIR abnormal=DIR,DIR (found {_names(subs)}) or "
                "?classes=… after the source")
    abnormal = [d.name for d in subs if class_of(d.name, mapping) != 0]
    pairs = f"normal={','.join(normal)} abnormal={','.join(abnormal)}"
    return f"--classes {pairs} (or ?classes={pairs.replace(' ', ';')} after the source)"


def is_image_folder(path: Path) -> bool:
    """True if ``path`` holds class folders or train/test folders (case-insensitive)."""
    if not path.is_dir():
        return False
    if any(class_of(d.name) is not None for d in _subdirs(path)):
        return True
    splits = _split_dirs_quiet(path)
    return "train" in splits and "test" in splits and bool(_subdirs(splits["train"]))


def _split_dirs_quiet(path: Path) -> dict[str, Path]:
    try:
        return _split_dirs(path)
    except ChexminiError:
        return {}


def _scan(root: Path, base: Path, mapping: dict[str, int] | None
          ) -> tuple[list[str], list[str], list[int]]:
    names, paths, labels = [], [], []
    for d, label in _class_dirs(base, root, mapping):
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


def _scan_layout(root: Path, lay: Layout, mapping: dict[str, int] | None
                 ) -> tuple[list[str], list[str], list[int], list[int]]:
    """Names, paths, labels and the given split of every image (-1: not given)."""
    names: list[str] = []
    paths: list[str] = []
    labels: list[int] = []
    part_of: list[int] = []
    for key, base in lay.bases.items():
        nm, pa, la = _scan(root, base, mapping)
        names += nm
        paths += pa
        labels += la
        part_of += [SPLIT_DIRS.index(key) if key in SPLIT_DIRS else -1] * len(nm)
    if not names:
        raise ChexminiError(f"no image files in the class folders ({_mapping_hint(mapping)})",
                            root)
    return names, paths, labels, part_of


def load_folder(root: str | os.PathLike[str], *, image_size: int = 64, seed: int = 0,
                val_fraction: float = 0.15, test_fraction: float = 0.15,
                workers: int | None = None, progress: ProgressFn | None = None,
                classes: dict[str, int] | None = None) -> Indexed:
    """The images of ``root`` and their split (see the module docstring); ``classes``
    maps lower-case folder names to labels (default: normal → 0, abnormal → 1)."""
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise ChexminiError("image folder not found" if not root.exists() else
                            "not a folder", root)
    lay = detect_layout(root, classes)
    names, paths, labels, part_of = _scan_layout(root, lay, classes)
    names_arr = np.asarray(names)
    labels_arr = np.asarray(labels, dtype=np.uint8)
    pids = np.array([patient_id(nm) for nm in names], dtype=np.int64)
    groups = unique_groups(names_arr, pids)
    grouped = bool(np.all(pids >= 0))
    cache = build_cache(names, paths, image_size, cache_dir_for("folder", root, image_size),
                        source=f"folder:{root}", root=root, workers=workers,
                        progress=progress)
    if lay.kind == "split":
        rows, how = _given_rows(np.asarray(part_of), cache.ok, groups, labels_arr,
                                val_fraction, seed)
    else:
        usable = np.flatnonzero(cache.ok)
        tr, va, te = train_val_test_split(groups[usable], labels_arr[usable], val_fraction,
                                          test_fraction, seed)
        rows = {"train": usable[tr], "val": usable[va], "test": usable[te]}
        how = ("patient-grouped stratified (NIH-style names)" if grouped else
               "stratified (names carry no patient ID: one group per image)")
    info = {
        "scheme": "folder",
        "root": str(root),
        "layout": lay.kind,
        "split": how,
        "skipped": len(cache.bad),
        "skipped_examples": [f"{nm}: {pr}" for nm, pr in cache.bad[:10]],
        "cache": str(cache.directory),
        "cache_decoded": cache.decoded,
        "notes": lay.notes + list(cache.notes),
        "warnings": [GIVEN_SPLITS_NOTE] if lay.kind == "split" else [],
    }
    if classes is not None:
        info["classes"] = classes_text(classes)
    if not grouped:
        info["patients"] = "unknown (file names carry no patient ID)"
    return Indexed(cache.images_path, cache.directory, names_arr, labels_arr, groups, rows,
                   f"folder:{root}", info)


def _given_rows(part: np.ndarray, ok: np.ndarray, groups: np.ndarray, labels: np.ndarray,
                val_fraction: float, seed: int) -> tuple[dict[str, np.ndarray], str]:
    """Rows of the given splits; a missing or empty val/ is carved from train/."""
    rows = {s: np.flatnonzero((part == k) & ok) for k, s in enumerate(SPLIT_DIRS)}
    if len(rows["val"]):
        return rows, "given train/val/test folders"
    tr = rows["train"]
    sub = assign_groups(groups[tr], labels[tr], [1 - val_fraction, val_fraction], seed)
    rows["train"], rows["val"] = tr[sub == 0], tr[sub == 1]
    return rows, "given train/test folders; validation carved from train"
