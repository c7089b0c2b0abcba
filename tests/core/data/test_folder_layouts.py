"""Image folders as people have them: class folders in any case, a class mapping
(``classes=`` / ``--classes``), ``train/ val/ test/`` read as given splits, and the
small-split warning."""

from __future__ import annotations

import pytest

from core.data import load_data, split_args
from core.data.dataset import SMALL_SPLIT, data_warnings, small_split_warning
from core.data.folder import GIVEN_SPLITS_NOTE, classes_text, detect_layout, parse_classes
from core.data.sources import detect_scheme, source_from_text, with_classes
from core.foundation.errors import ChexminiError
from tests.helpers.layouts import kaggle, make_layout

KAGGLE = "normal=NORMAL abnormal=PNEUMONIA"


@pytest.fixture(autouse=True)
def _data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("CHEXMINI_DATA", str(tmp_path / "chexmini-data"))


def _load(source: str, **kw):
    return load_data(source, image_size=16, workers=1, **kw)


def test_class_folders_any_case(tmp_path):
    made = make_layout(tmp_path / "f", {"": {"Normal": 12, "ABNORMAL": 8}})
    data = _load(str(tmp_path / "f"))                     # auto-detected as a folder
    seen = {}
    for s in (data.train, data.val, data.test):
        seen.update(zip(map(str, s.names), s.labels.tolist(), strict=True))
    assert seen == {n: int(c == "ABNORMAL") for n, c in made.items()}
    assert data.info["layout"] == "flat" and "Normal/" in data.info["notes"][0]


def test_kaggle_layout_refused_without_mapping_names_the_folder(tmp_path):
    kaggle(tmp_path / "k")
    assert detect_scheme(tmp_path / "k") == "folder"
    with pytest.raises(ChexminiError, match=r"PNEUMONIA/ is not a known class.*--classes "
                                            r"normal=NORMAL abnormal=PNEUMONIA \("):
        _load(str(tmp_path / "k"))


def test_kaggle_layout_with_mapping_keeps_the_given_splits(tmp_path):
    made = kaggle(tmp_path / "k", n=3)
    data = _load(with_classes(str(tmp_path / "k"), KAGGLE))
    for name in ("train", "val", "test"):
        split = getattr(data, name)
        assert sorted(map(str, split.names)) == sorted(n for n in made if n.startswith(name))
        assert split.labels.tolist() == [int(made[str(n)] == "PNEUMONIA") for n in split.names]
    assert data.source.endswith("?classes=normal=normal;abnormal=pneumonia")
    assert data.info["split"] == "given train/val/test folders"
    assert GIVEN_SPLITS_NOTE in data_warnings(data)
    again = _load(data.source, **split_args(data.info))   # how resume reloads
    assert again.fingerprint() == data.fingerprint()


@pytest.mark.parametrize("val", ["valid", "Validation", "VAL"])
def test_validation_folder_names(tmp_path, val):
    kaggle(tmp_path / "k", val=val)
    data = _load(f"folder:{tmp_path / 'k'}?classes=normal=NORMAL;abnormal=PNEUMONIA")
    assert {str(n).split("/")[0] for n in data.val.names} == {val}
    assert f"{val}/" in data.info["notes"][0]


def test_two_validation_folders_refused(tmp_path):
    kaggle(tmp_path / "k")
    make_layout(tmp_path / "k", {"valid": {"NORMAL": 1, "PNEUMONIA": 1}}, seed=5)
    with pytest.raises(ChexminiError, match="val/ and valid/"):
        _load(with_classes(str(tmp_path / "k"), KAGGLE))


def test_missing_val_is_carved_from_train(tmp_path):
    make_layout(tmp_path / "k", {s: {"normal": 8, "abnormal": 8} for s in ("TRAIN", "Test")})
    data = _load(str(tmp_path / "k"), val_fraction=0.25)
    assert len(data.val) and "carved" in data.info["split"]
    assert {str(n).split("/")[0] for n in data.val.names} == {"TRAIN"}


def test_several_folders_one_class_and_a_mapped_flat_folder(tmp_path):
    made = make_layout(tmp_path / "f", {"": {"healthy": 10, "covid": 5, "Pneumonia": 5}})
    data = _load(with_classes(str(tmp_path / "f"), "normal=healthy abnormal=PNEUMONIA,covid"))
    for s in (data.train, data.val, data.test):
        assert s.labels.tolist() == [int(made[str(n)] != "healthy") for n in s.names]


def test_the_mapping_changes_the_fingerprint(tmp_path):
    make_layout(tmp_path / "f", {"": {"a": 10, "b": 10}})
    one = _load(with_classes(str(tmp_path / "f"), "normal=a abnormal=b"))
    other = _load(with_classes(str(tmp_path / "f"), "normal=b abnormal=a"))
    assert one.source != other.source and one.fingerprint() != other.fingerprint()


@pytest.mark.parametrize("text, problem", [
    ("normal=NORMAL", "both normal and abnormal"),
    ("normal=A abnormal=A", "named twice"),
    ("normal=A normal=B abnormal=C", "given twice"),
    ("sick=A normal=B", "cannot read"),
    ("normal abnormal=B", "cannot read"),
])
def test_bad_mappings(text, problem):
    with pytest.raises(ChexminiError, match=problem):
        parse_classes(text)


def test_mapping_text_round_trips_and_is_case_insensitive():
    m = parse_classes("Normal=NORMAL;ABNORMAL=Pneumonia,COVID")
    assert m == {"normal": 0, "pneumonia": 1, "covid": 1}
    assert parse_classes(classes_text(m)) == m


def test_classes_refused_for_other_sources_and_twice(tmp_path):
    with pytest.raises(ChexminiError, match="image folders only"):
        _load(with_classes("nih-sample", KAGGLE))
    with pytest.raises(ChexminiError, match="given twice"):
        with_classes(with_classes("/x", KAGGLE), KAGGLE)


def test_one_line_source_with_classes():
    assert source_from_text("  ") == "nih-sample"
    assert source_from_text("/d --classes normal=N abnormal=P") == "/d?classes=normal=n;abnormal=p"
    with pytest.raises(ChexminiError, match="needs the class folders"):
        source_from_text("/d --classes ")


def test_unknown_layout_says_what_it_found(tmp_path):
    make_layout(tmp_path / "f", {"": {"cats": 1, "dogs": 1}})
    with pytest.raises(ChexminiError, match=r"found cats/ dogs/.*--classes normal=DIR"):
        _load(f"folder:{tmp_path / 'f'}")
    with pytest.raises(ChexminiError, match="use one layout"):
        make_layout(tmp_path / "g", {"": {"normal": 1}, "train/normal": {"x": 1}})
        detect_layout(tmp_path / "g")


def test_small_split_warning(tmp_path):
    kaggle(tmp_path / "k", n=3)
    small = _load(with_classes(str(tmp_path / "k"), KAGGLE))
    text = small_split_warning(small)
    assert text is not None and "val 3 normal / 3 abnormal" in text and str(SMALL_SPLIT) in text
    assert data_warnings(small) == [GIVEN_SPLITS_NOTE, text]
    big = load_data("synthetic:600")
    n_min = min(min(int(s.labels.sum()), len(s) - int(s.labels.sum()))
                for s in (big.train, big.val, big.test))
    assert (small_split_warning(big) is None) == (n_min >= SMALL_SPLIT)
    assert small_split_warning(big, minimum=n_min + 1) is not None
