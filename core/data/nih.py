"""NIH ChestX-ray14 exactly as NIH distributes it.

A root folder holding

- ``Data_Entry_2017_v2020.csv`` or ``Data_Entry_2017.csv`` (the 2020 revision is preferred
  when both are there): columns ``Image Index``, ``Finding Labels`` and ``Patient ID``
  (others are ignored; the 2017 file's trailing comma is fine);
- ``train_val_list.txt`` and ``test_list.txt`` (the official lists, one name per line);
- the PNGs in ``images/`` or in the extracted archives ``images_001/images/`` …
  ``images_012/images/`` (``images_NNN/`` holding the PNGs directly works too).

Label: ``Finding Labels == "No Finding"`` → 0 (normal), anything else → 1 (abnormal).
Splits: the official test list is the test split; validation is a seeded,
patient-grouped, stratified ``val_fraction`` slice of train_val (default 10 %), so no
patient is in two splits (the official lists are patient-disjoint, checked). Images
named in the lists but missing on disk or unreadable are skipped and reported.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.data.assemble import Indexed
from core.data.cache import ProgressFn, build_cache, cache_dir_for
from core.data.dataset import patient_id
from core.data.split import assign_groups
from core.foundation import safe_io
from core.foundation.errors import ChexminiError

CSV_NAMES = ("Data_Entry_2017_v2020.csv", "Data_Entry_2017.csv")
TRAIN_VAL_LIST = "train_val_list.txt"
TEST_LIST = "test_list.txt"
NORMAL = "No Finding"
#: The 14 ChestX-ray14 findings (CheXNet order); a label outside these is refused.
FINDINGS = ("Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Mass", "Nodule",
            "Pneumonia", "Pneumothorax", "Consolidation", "Edema", "Emphysema", "Fibrosis",
            "Pleural_Thickening", "Hernia")
KNOWN_LABELS = frozenset((NORMAL, *FINDINGS))
DEFAULT_VAL_FRACTION = 0.10


def is_nih_root(path: Path) -> bool:
    return path.is_dir() and any((path / c).is_file() for c in CSV_NAMES)


def find_csv(root: Path) -> Path:
    for name in CSV_NAMES:
        if (root / name).is_file():
            return root / name
    raise ChexminiError(f"not an NIH ChestX-ray14 folder: no {' or '.join(CSV_NAMES)}", root)


def read_list(path: Path) -> list[str]:
    """Names in an official list file (blank lines and surrounding spaces ignored)."""
    if not path.exists() and not path.is_symlink():
        raise ChexminiError(f"missing the official split list {path.name}", path)
    try:
        text = safe_io.read_text(path)
    except ChexminiError as exc:
        raise ChexminiError(f"cannot read the split list ({exc.problem})", path) from None
    return [ln.strip() for ln in text.splitlines() if ln.strip()]


def read_data_entry(path: Path) -> dict[str, tuple[int, int]]:
    """``{image name: (label, patient id)}`` from a ``Data_Entry_2017*.csv``."""
    try:
        text = safe_io.read_text(path, encoding="utf-8-sig")
    except ChexminiError as exc:
        raise ChexminiError(f"cannot read the CSV ({exc.problem})", path) from None
    try:
        with io.StringIO(text, newline="") as fh:
            reader = csv.reader(fh)
            header = [h.strip() for h in next(reader, [])]
            try:
                i_name = header.index("Image Index")
                i_lab = header.index("Finding Labels")
            except ValueError:
                raise ChexminiError("CSV header lacks 'Image Index' / 'Finding Labels' "
                                    f"(got {', '.join(h for h in header if h)[:120]})",
                                    path) from None
            i_pat = header.index("Patient ID") if "Patient ID" in header else None
            out: dict[str, tuple[int, int]] = {}
            first_line: dict[str, int] = {}
            for line_no, row in enumerate(reader, start=2):
                if not row or not "".join(row).strip():
                    continue
                if len(row) <= max(i_name, i_lab):
                    raise ChexminiError(f"line {line_no} has too few columns", path)
                name = row[i_name].strip()
                finding = row[i_lab].strip()
                unknown = [t for t in finding.split("|") if t.strip() not in KNOWN_LABELS]
                if unknown or (NORMAL in finding and finding != NORMAL):
                    raise ChexminiError(
                        f"line {line_no} ({name or 'no image name'}): unknown label "
                        f"{finding!r} (expected 'No Finding' or findings like "
                        "'Effusion|Mass')", path)
                label = 0 if finding == NORMAL else 1
                pid = -1
                if i_pat is not None and len(row) > i_pat and row[i_pat].strip().isdigit():
                    pid = int(row[i_pat])
                if pid < 0:
                    pid = patient_id(name)
                if name in out and out[name] != (label, pid):
                    what = "label" if out[name][0] != label else "patient ID"
                    raise ChexminiError(
                        f"lines {first_line[name]} and {line_no} give {name} different "
                        f"{what}s ({_describe(out[name], what)} vs "
                        f"{_describe((label, pid), what)}); remove one of the rows", path)
                first_line.setdefault(name, line_no)
                out[name] = (label, pid)
    except ChexminiError:
        raise
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ChexminiError(f"cannot read the CSV ({exc})", path) from None
    if not out:
        raise ChexminiError("the CSV has no rows", path)
    return out


def _describe(entry: tuple[int, int], what: str) -> str:
    return ("abnormal" if entry[0] else "normal") if what == "label" else f"patient {entry[1]}"


def image_dirs(root: Path) -> list[Path]:
    """``images/`` and every ``images_*/images/`` (or flat ``images_*/``), sorted."""
    dirs = []
    if (root / "images").is_dir():
        dirs.append(root / "images")
    for d in sorted(root.glob("images_*")):
        if (d / "images").is_dir():
            dirs.append(d / "images")
        elif d.is_dir():
            dirs.append(d)
    return dirs


def locate_images(root: Path) -> tuple[dict[str, str], int]:
    """``{file name: path}`` over :func:`image_dirs` and the number of duplicate names
    (the first found wins)."""
    found: dict[str, str] = {}
    dupes = 0
    for d in image_dirs(root):
        with os.scandir(d) as it:
            for entry in it:
                if entry.name.lower().endswith(".png"):
                    if entry.name in found:
                        dupes += 1
                    else:
                        found[entry.name] = entry.path
    return found, dupes


@dataclass
class NihIndex:
    """Every image of the official lists that the CSV describes, in list order
    (train_val first, then test)."""

    root: Path
    csv: Path
    names: np.ndarray
    labels: np.ndarray
    groups: np.ndarray
    is_test: np.ndarray
    paths: list[str]
    notes: list[str] = field(default_factory=list)
    n_not_in_csv: int = 0
    n_missing: int = 0


def nih_index(root: str | os.PathLike[str], require_images: bool = True) -> NihIndex:
    """Read the CSV and lists of ``root`` and locate the PNGs (``require_images=False``
    allows a root without any image, for checking the metadata alone)."""
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise ChexminiError("NIH folder not found" if not root.exists() else "not a folder",
                            root)
    csv_path = find_csv(root)
    entries = read_data_entry(csv_path)
    train_val = read_list(root / TRAIN_VAL_LIST)
    test = read_list(root / TEST_LIST)
    both = set(train_val) & set(test)
    if both:
        raise ChexminiError(f"{len(both):,} names are in both official lists (e.g. "
                            f"{sorted(both)[0]}); the lists are corrupt", root)
    files, dupes = locate_images(root)
    names, labels, groups, is_test, paths = [], [], [], [], []
    root_str = os.fspath(root)
    not_in_csv = 0
    for flag, listed in ((False, train_val), (True, test)):
        for name in listed:
            entry = entries.get(name)
            if entry is None:
                not_in_csv += 1
                continue
            names.append(name)
            labels.append(entry[0])
            groups.append(entry[1])
            is_test.append(flag)
            paths.append(files.get(name) or os.path.join(root_str, "images", name))
    if not names:
        raise ChexminiError(f"no name of the official lists is in {csv_path.name}", root)
    notes = []
    if not_in_csv:
        notes.append(f"{not_in_csv:,} listed images have no row in {csv_path.name} "
                     "and are left out")
    unlisted = len(entries) - len(names)
    if unlisted > 0:
        notes.append(f"{unlisted:,} CSV rows are in neither official list and are left out")
    if dupes:
        notes.append(f"{dupes:,} image names occur in more than one images folder "
                     "(the first is used)")
    missing = sum(1 for nm in names if nm not in files)
    if require_images and missing == len(names):
        raise ChexminiError("none of the listed PNGs was found (looked in images/ and "
                            "images_*/images/)", root)
    groups_arr = np.asarray(groups, dtype=np.int64)
    is_test_arr = np.asarray(is_test, dtype=bool)
    overlap = np.intersect1d(groups_arr[is_test_arr], groups_arr[~is_test_arr])
    overlap = overlap[overlap >= 0]
    if len(overlap):
        raise ChexminiError(f"{len(overlap):,} patients are in both official lists (e.g. "
                            f"patient {int(overlap[0])}); expected patient-disjoint lists",
                            root)
    return NihIndex(root, csv_path, np.asarray(names), np.asarray(labels, dtype=np.uint8),
                    groups_arr, is_test_arr, paths, notes, not_in_csv, missing)


def nih_split_rows(is_test: np.ndarray, groups: np.ndarray, labels: np.ndarray,
                   usable: np.ndarray, val_fraction: float, seed: int) -> dict[str, np.ndarray]:
    """Rows of train/val/test: official test list; val a patient-grouped, stratified
    ``val_fraction`` of the (usable) train_val images."""
    if not 0 < val_fraction < 1:
        raise ChexminiError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    tv = np.flatnonzero(~is_test & usable)
    te = np.flatnonzero(is_test & usable)
    part = assign_groups(groups[tv], labels[tv], [1.0 - val_fraction, val_fraction], seed)
    return {"train": tv[part == 0], "val": tv[part == 1], "test": te}


def load_nih(root: str | os.PathLike[str], *, image_size: int = 64, seed: int = 0,
             val_fraction: float = DEFAULT_VAL_FRACTION, workers: int | None = None,
             progress: ProgressFn | None = None) -> Indexed:
    """Index, decode (cached) and split an NIH root; see the module docstring."""
    idx = nih_index(root)
    source = f"nih:{idx.root}"
    cache = build_cache(idx.names, idx.paths, image_size,
                        cache_dir_for("nih", idx.root, image_size), source=source,
                        root=idx.root, workers=workers, progress=progress)
    usable = cache.ok
    rows = nih_split_rows(idx.is_test, idx.groups, idx.labels, usable, val_fraction, seed)
    missing = [nm for nm, pr in cache.bad if pr == "file not found"]
    info = {
        "scheme": "nih",
        "root": str(idx.root),
        "csv": idx.csv.name,
        "split": "official test list; validation a patient-grouped stratified slice "
                 "of train_val",
        "listed": len(idx.names),
        "skipped": len(cache.bad),
        "missing": len(missing),
        "unreadable": len(cache.bad) - len(missing),
        "skipped_examples": [f"{nm}: {pr}" for nm, pr in cache.bad[:10]],
        "cache": str(cache.directory),
        "cache_decoded": cache.decoded,
        "notes": idx.notes + cache.notes,
    }
    return Indexed(cache.images_path, cache.directory, idx.names, idx.labels, idx.groups,
                   rows, source, info)
