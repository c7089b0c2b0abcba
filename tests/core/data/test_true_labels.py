"""True labels beside images: labels.csv, an NIH Data_Entry CSV, normal/abnormal folders."""

from __future__ import annotations

from core.data.nih_sample import sample_pngs
from core.data.true_labels import LabelFinder, read_label_csv


def test_each_source(tmp_path):
    a = tmp_path / "a"
    a.mkdir()
    (a / "labels.csv").write_text("Image Index,label\nx.png,1\ny.png,normal\n")
    b = tmp_path / "b"
    b.mkdir()
    (b / "Data_Entry_2017.csv").write_text(
        "Image Index,Finding Labels,Patient ID\nx.png,No Finding,1\ny.png,Mass|Nodule,2\n")
    c = tmp_path / "c" / "abnormal"
    c.mkdir(parents=True)
    f = LabelFinder()
    assert f.lookup(a / "x.png").label == "abnormal"
    assert f.lookup(a / "y.png").label == "normal"
    assert f.lookup(a / "z.png") is None
    assert (f.lookup(b / "x.png").label, f.lookup(b / "x.png").source) == (
        "normal", "Data_Entry_2017.csv")
    assert f.lookup(b / "y.png").label == "abnormal"
    assert f.lookup(c / "q.png").source == "folder name"
    assert f.lookup(c / "q.png").label == "abnormal"


def test_bad_csv_is_no_labels(tmp_path):
    (tmp_path / "labels.csv").write_bytes(b"\xff\xfe\x00garbage")
    assert read_label_csv(tmp_path / "labels.csv") == {}
    assert LabelFinder().lookup(tmp_path / "x.png") is None


def test_embedded_sample_labels_agree_with_folders():
    f = LabelFinder()
    for png in sample_pngs():
        got = f.lookup(png)
        assert got.source == "labels.csv"          # two folders up
        assert got.label == png.parent.name
