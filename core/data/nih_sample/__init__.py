"""The embedded real sample: 1,619 NIH ChestX-ray14 images at 64×64, shipped as package
data so that a fresh install trains, evaluates and predicts on real X-rays with no
download (data source ``nih-sample``, the default ``--data``).

- ``images64.npz`` — ``images`` uint8 ``(1619, 64, 64)``, ``names`` (NIH file names
  ``PPPPPPPP_FFF.png``; patient ID = the first 8 digits), ``labels`` uint8 (0 normal,
  1 abnormal); 883 patients, 600 normal, 1,019 abnormal.
- ``labels.csv`` — one row per image: NIH metadata, findings, provenance.
- ``png256/{normal,abnormal}/`` — a dozen of them as 256×256 PNGs, all from the shipped
  checkpoint's test split, for ``chexmini predict --samples`` and the app's Predict screen.

Where the images came from and how they were labelled: ``PROVENANCE.md`` beside this file.
"""

from __future__ import annotations

from pathlib import Path

SAMPLE_DIR = Path(__file__).resolve().parent
SAMPLE_NPZ = SAMPLE_DIR / "images64.npz"
SAMPLE_CSV = SAMPLE_DIR / "labels.csv"
SAMPLE_PNG_DIR = SAMPLE_DIR / "png256"
SOURCE_NAME = "nih-sample"


def sample_pngs() -> list[Path]:
    """The bundled 256×256 PNGs, normal first, each sorted by file name."""
    return [p for folder in ("normal", "abnormal")
            for p in sorted((SAMPLE_PNG_DIR / folder).glob("*.png"))]
