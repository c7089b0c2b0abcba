"""The embedded real sample (``nih-sample``): shipped inside the package, the default data
source everywhere, loadable from an installed wheel, and identical to the NIH subset it
was made from."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from chexmini_cli.main import main
from core.data import load_data
from core.data.nih_sample import SAMPLE_CSV, SAMPLE_NPZ, sample_pngs
from core.inference import load_checkpoint, predict_files
from tests.helpers import REPO

ART = REPO / "artifacts"


@pytest.fixture(scope="module")
def sample():
    return load_data("nih-sample")


def test_the_sample_is_the_real_nih_subset(sample):
    n = len(sample.train) + len(sample.val) + len(sample.test)
    labels = np.concatenate([s.labels for s in (sample.train, sample.val, sample.test)])
    groups = [set(s.groups.tolist()) for s in (sample.train, sample.val, sample.test)]
    assert n == 1619 and int(labels.sum()) == 1019 and int((labels == 0).sum()) == 600
    assert len(set().union(*groups)) == 883
    assert not (groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2])
    assert sample.source == "nih-sample"      # a name, not a path of this machine
    with np.load(SAMPLE_NPZ) as z:
        names = z["names"].astype(str).tolist()
    with SAMPLE_CSV.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["Image Index"] for r in rows] == names
    assert all(r["Patient ID"] and int(r["Patient ID"]) == int(nm[:8])
               for r, nm in zip(rows, names, strict=True))


def test_the_shipped_checkpoint_was_trained_on_this_split(sample):
    metrics = json.loads((ART / "metrics.json").read_text())
    assert sample.fingerprint() == metrics["config"]["dataset_revision"]
    np.testing.assert_array_equal(sample.test.labels, np.load(ART / "test_labels.npy"))
    np.testing.assert_array_equal(sample.val.labels, np.load(ART / "val_labels.npy"))


def test_bundled_pngs_are_labelled_unseen_test_images(sample):
    pngs = sample_pngs()
    folders = [p.parent.name for p in pngs]
    assert len(pngs) == 12 and folders.count("normal") == folders.count("abnormal") == 6
    test_label = dict(zip(sample.test.names.tolist(), sample.test.labels.tolist(), strict=True))
    assert all(p.name in test_label for p in pngs)          # never trained on
    assert [test_label[p.name] for p in pngs] == [int(f == "abnormal") for f in folders]


@pytest.mark.slow
def test_bundled_pngs_score_like_the_shipped_test_scores(sample):
    # 256×256 PNGs, area-resized to 64×64 at load: the npz rows are the same originals
    # area-resized straight to 64×64, so scores agree up to uint8 rounding at 256 px.
    scores = np.load(ART / "test_scores.npy")
    row = {nm: i for i, nm in enumerate(sample.test.names.tolist())}
    model, mean, std, thr = load_checkpoint(ART)
    preds = predict_files(model, mean, std, thr, sample_pngs())
    got = np.array([p.prob for p in preds])
    want = scores[[row[p.name] for p in sample_pngs()]]
    assert np.abs(got - want).max() < 2e-3


@pytest.mark.slow
def test_nih_sample_is_the_default_data(capsys):
    assert main(["data", "info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert "nih-sample" in json.dumps(info)
    assert main(["evaluate", "--checkpoint", str(ART), "--split", "all", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    metrics = json.loads((ART / "metrics.json").read_text())
    for split, key in (("val", "validation"), ("test", "test")):
        assert report["splits"][split]["auc"] == pytest.approx(metrics[key]["auc"], abs=1e-9)
        assert report["splits"][split]["confusion_matrix"] == metrics[key]["confusion_matrix"]


@pytest.mark.slow
def test_predict_samples_prints_true_labels(capsys):
    assert main(["predict", "--checkpoint", str(ART), "--samples", "--json"]) == 0
    preds = json.loads(capsys.readouterr().out)["predictions"]
    assert len(preds) == 12 and all(0 < p["prob_abnormal"] < 1 for p in preds)
    assert main(["predict", "--checkpoint", str(ART), "--samples"]) == 0
    out = capsys.readouterr().out
    assert "true label" in out and "00000550_000.png" in out


def test_the_sample_equals_the_shared_subset(shared_data):
    src = shared_data / "nih14_subset"
    assert SAMPLE_NPZ.read_bytes() == (src / "images64.npz").read_bytes()
    assert SAMPLE_CSV.read_bytes() == (src / "labels.csv").read_bytes()
    for png in sample_pngs():
        assert png.read_bytes() == (src / "png256" / png.name).read_bytes()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> tuple[Path, list[str]]:
    """Build the wheel (no network: no build isolation) from a copy of the sources, unpack
    it as site-packages would: ``(site folder, the wheel's file names)``."""
    tmp_path = tmp_path_factory.mktemp("wheel")
    src, wheels = tmp_path / "src", tmp_path / "wheels"
    junk = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for name in ("core", "chexmini_cli", "chexmini_tui", "artifacts"):  # outside the checkout
        shutil.copytree(REPO / name, src / name, ignore=junk)
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copyfile(REPO / name, src / name)
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                          "--no-build-isolation", "-q", "-w", str(wheels), str(src)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    (whl,) = wheels.glob("chexmini-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(whl) as zf:
        names = zf.namelist()
        zf.extractall(site)
    return site, names


def run_installed(site: Path, code: str, cwd: Path) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter that sees only the unpacked wheel (``-I``: not the
    checkout), from ``cwd``, with an empty HOME."""
    home = cwd / "home"
    home.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(site), "HOME": str(home)}
    return subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, "
                           f"{str(site)!r}); {code}"], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


@pytest.mark.slow
def test_the_sample_loads_from_an_installed_wheel(wheel, tmp_path):
    """Load the sample from another directory with the source tree out of reach."""
    site, names = wheel
    assert "core/data/nih_sample/images64.npz" in names
    assert sum(n.startswith("core/data/nih_sample/png256/") for n in names) == 12
    code = ("import core, numpy as np; from core.data import load_data; "
            "from core.data.nih_sample import sample_pngs; d = load_data('nih-sample'); "
            "print(core.__file__, len(d.train) + len(d.val) + len(d.test), len(sample_pngs()))")
    res = run_installed(site, code, tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    where, n, n_png = res.stdout.split()
    assert Path(where).is_relative_to(site) and (n, n_png) == ("1619", "12")


@pytest.mark.slow
def test_the_shipped_checkpoint_installs_with_the_wheel(wheel, tmp_path):
    """Every file of ``artifacts/`` is in the wheel (as ``chexmini_artifacts``), byte for
    byte; from another folder ``chexmini predict --samples`` uses it and says so, and
    ``evaluate --save`` on it is refused in one line."""
    from core.runs import layout
    from core.runs.release.shipped import PACKAGE

    site, names = wheel
    shipped = sorted(p.name for p in ART.iterdir() if p.is_file())
    assert {layout.MODEL, layout.CARD, layout.SHIPPED_MARK} <= set(shipped)
    assert sorted(n.split("/", 1)[1] for n in names if n.startswith(f"{PACKAGE}/")) == shipped
    for name in shipped:
        assert (site / PACKAGE / name).read_bytes() == (ART / name).read_bytes(), name
    main_ = "from chexmini_cli.main import main; raise SystemExit(main({}))"
    res = run_installed(site, main_.format(["predict", "--samples"]), tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    first = res.stdout.splitlines()[0]
    assert first == (f"checkpoint: {site / PACKAGE} (the shipped one, installed with "
                     "chexmini; no ./artifacts here)")
    assert "accuracy" in res.stdout
    res = run_installed(site, main_.format(["evaluate", "--checkpoint", "artifacts",
                                            "--target-sensitivity", "0.9", "--save"]), tmp_path)
    assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
    assert "never written" in res.stderr and not (tmp_path / "artifacts").exists()
    assert (site / PACKAGE / layout.METRICS).read_bytes() == (ART / layout.METRICS).read_bytes()


def test_the_repository_holds_one_copy_of_the_weights():
    """The installed checkpoint comes from ``artifacts/`` itself: git tracks one model.npz."""
    res = subprocess.run(["git", "-C", str(REPO), "ls-files"], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip("not a git checkout")
    tracked = res.stdout.splitlines()
    assert [f for f in tracked if f.endswith("model.npz")] == ["artifacts/model.npz"]
    big = (ART / "model.npz").stat().st_size
    assert [f for f in tracked if (REPO / f).is_file() and (REPO / f).stat().st_size == big] \
        == ["artifacts/model.npz"]
