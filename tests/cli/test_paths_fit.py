"""Paths cut to fit 80 columns keep what tells them apart: the middle goes, the file
name stays (``core.foundation.text.middle_ellipsis``)."""

from __future__ import annotations

import shutil

import pytest

from chexmini_cli.main import main
from core.foundation.text import middle_ellipsis
from tests.helpers import REPO


@pytest.mark.parametrize("width", [1, 2, 5, 12, 30, 63, 64, 79])
def test_middle_ellipsis_fits_and_keeps_both_ends(width):
    text = "/data/xrays/hospital_one/2026/patient_000123/chest_frontal_b.png"
    cut = middle_ellipsis(text, width)
    assert len(cut) == min(width, len(text))
    if 3 <= width < len(text):
        head, _, tail = cut.partition("…")
        assert text.startswith(head) and text.endswith(tail) and len(tail) >= len(head)


def test_middle_ellipsis_leaves_what_fits_alone():
    assert middle_ellipsis("a.png", 5) == "a.png" and middle_ellipsis("a.png", 0) == ""


def test_predict_at_80_columns_keeps_two_long_names_distinct(tmp_path, capsys, monkeypatch):
    folder = tmp_path / ("a_very_long_folder_name_for_the_images" * 2) / "imgs"
    folder.mkdir(parents=True)
    src = sorted((REPO / "core/data/nih_sample/png256").rglob("*.png"))[0]
    names = ["chest_xray_patient_000123_a.png", "chest_xray_patient_000123_b.png"]
    for name in names:
        shutil.copy(src, folder / name)
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["predict", "--image", *(str(folder / n) for n in names)]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [ln for ln in lines if ".png" in ln]
    assert len(rows) == 2 and all(len(ln) <= 80 for ln in lines)
    assert rows[0].split("│")[1] != rows[1].split("│")[1]
    assert "_a.png" in rows[0] and "_b.png" in rows[1]
