"""Shared test fixtures.

Tests that need the real data in ``../shared/data`` (beside the repository) use the
``shared_data`` fixture and are skipped cleanly when it is absent (a fresh clone).
``CHEXMINI_SHARED_DATA`` may point elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CHEXMINI_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to ``../shared/data``; skips the test when it is not there."""
    if not (SHARED_DATA / "nih14_subset" / "images64.npz").is_file():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def reference_results(shared_data: Path) -> Path:
    path = shared_data / "reference_results"
    if not (path / "metrics.json").is_file():
        pytest.skip(f"reference results not found at {path}")
    return path
