"""``splits.json``: which images a run's score files are about.

Written with the artifacts at the end of training (atomically, before ``metrics.json``),
it lists, for the validation and test splits, the file name and patient ID of every
image **in the order of** ``val_scores.npy`` / ``test_scores.npy``::

    {"version": 1, "source": "nih-sample",
     "val":  {"names": ["00000013_005.png", …], "patients": [13, …]},
     "test": {"names": […], "patients": […]}}

A patient ID below 0 means the source does not know the patient. Reading trusts
nothing: every shape and type is checked and a problem is one line naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from core.data.dataset import DataSplits
from core.foundation import safe_io
from core.foundation.atomic import write_json
from core.foundation.errors import ChexminiError
from core.foundation.numbers import is_int, show

VERSION = 1
#: The scored splits, as the score files name them.
SCORED = ("val", "test")


def splits_record(data: DataSplits) -> dict[str, Any]:
    """The record of ``data``'s validation and test splits (names and patients in order)."""
    out: dict[str, Any] = {"version": VERSION, "source": data.source}
    for split in SCORED:
        s = getattr(data, split)
        out[split] = {"names": [str(n) for n in s.names],
                      "patients": [int(g) for g in s.groups]}
    return out


def write_splits(path: str | os.PathLike[str], record: dict[str, Any]) -> None:
    """Write ``record`` to ``path`` atomically."""
    write_json(path, record)


def _fail(path: Path, problem: str) -> ChexminiError:
    return ChexminiError(problem, path)


def read_splits(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``splits.json`` validated: ``{"source": str, "val": {"names", "patients"}, "test":
    …}`` with equally long lists of strings and whole numbers."""
    path = Path(path)
    rec = safe_io.read_json(path)
    if not isinstance(rec, dict):
        raise _fail(path, "expected a JSON object")
    if rec.get("version") != VERSION:
        raise _fail(path, f"unknown version {show(rec.get('version'))} (expected {VERSION})")
    if not isinstance(rec.get("source"), str):
        raise _fail(path, "key 'source': expected a string")
    out: dict[str, Any] = {"source": rec["source"]}
    for split in SCORED:
        block = rec.get(split)
        if not isinstance(block, dict):
            raise _fail(path, f"key {split!r}: expected a JSON object")
        names, patients = block.get("names"), block.get("patients")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise _fail(path, f"key '{split}.names': expected a list of strings")
        if not isinstance(patients, list) or not all(is_int(p) for p in patients):
            raise _fail(path, f"key '{split}.patients': expected a list of whole numbers")
        if len(names) != len(patients):
            raise _fail(path, f"key {split!r}: {len(names)} names but {len(patients)} "
                              "patients")
        out[split] = {"names": names, "patients": patients}
    return out
