"""True labels found beside image files, for showing predictions against the truth.

For an image ``DIR/name.png`` the first of these that knows ``name.png`` wins:

1. a ``labels.csv`` in ``DIR`` or up to two folders above it, with an ``Image Index``
   column and either ``label`` (``0``/``1``, ``normal``/``abnormal``) or NIH
   ``Finding Labels`` (``No Finding`` → normal, anything else → abnormal);
2. an NIH ``Data_Entry*.csv`` in the same folders (``Finding Labels``);
3. the folder name: ``DIR`` called ``normal`` or ``abnormal``.

:class:`LabelFinder` reads each CSV once. A CSV that cannot be read is skipped (a
missing label is never an error: the prediction is still shown).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

NORMAL, ABNORMAL = "normal", "abnormal"
LEVELS_UP = 2
_MAX_CSV_BYTES = 200_000_000


@dataclass(frozen=True)
class TrueLabel:
    label: str          # "normal" | "abnormal"
    source: str         # where it came from, e.g. "labels.csv", "folder name"


def _label_value(row: dict) -> str | None:
    raw = (row.get("label") or "").strip().lower()
    if raw in ("0", "normal", "0.0"):
        return NORMAL
    if raw in ("1", "abnormal", "1.0"):
        return ABNORMAL
    finding = (row.get("Finding Labels") or "").strip()
    if finding:
        return NORMAL if finding.lower() == "no finding" else ABNORMAL
    return None


def read_label_csv(path: str | os.PathLike[str]) -> dict[str, str]:
    """``{image file name: "normal" | "abnormal"}`` from one CSV ({} when unreadable)."""
    path = Path(path)
    try:
        if path.stat().st_size > _MAX_CSV_BYTES:
            return {}
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or "Image Index" not in reader.fieldnames:
                return {}
            out = {}
            for row in reader:
                name, label = (row.get("Image Index") or "").strip(), _label_value(row)
                if name and label is not None:
                    out[name] = label
            return out
    except (OSError, UnicodeDecodeError, csv.Error):
        return {}


class LabelFinder:
    """Look up true labels for image paths, caching each folder's CSVs."""

    def __init__(self) -> None:
        self._csv: dict[Path, dict[str, str]] = {}
        self._dir: dict[Path, list[tuple[str, dict[str, str]]]] = {}

    def _tables(self, folder: Path) -> list[tuple[str, dict[str, str]]]:
        if folder in self._dir:
            return self._dir[folder]
        tables = []
        here = folder
        for _ in range(LEVELS_UP + 1):
            try:
                names = sorted(os.listdir(here))
            except OSError:
                names = []
            csvs = [n for n in names if n == "labels.csv"] + \
                   [n for n in names if n.startswith("Data_Entry") and n.endswith(".csv")]
            for name in csvs:
                p = here / name
                if p not in self._csv:
                    self._csv[p] = read_label_csv(p)
                if self._csv[p]:
                    tables.append((name, self._csv[p]))
            if here.parent == here:
                break
            here = here.parent
        self._dir[folder] = tables
        return tables

    def lookup(self, image: str | os.PathLike[str]) -> TrueLabel | None:
        """The true label of ``image``, or None when nothing beside it says."""
        p = Path(image).expanduser().absolute()
        for source, table in self._tables(p.parent):
            if p.name in table:
                return TrueLabel(table[p.name], source)
        if p.parent.name.lower() in (NORMAL, ABNORMAL):
            return TrueLabel(p.parent.name.lower(), "folder name")
        return None


def accuracy(pairs: list[tuple[str, str]]) -> tuple[int, int]:
    """``(correct, labelled)`` over ``(predicted, true)`` pairs."""
    return sum(pred == true for pred, true in pairs), len(pairs)
