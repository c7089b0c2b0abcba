"""``chexmini evaluate``: Brier and ECE per split, ``--target-sensitivity`` /
``--target-specificity`` chosen on validation only, ``--save`` into the checkpoint (then
used by ``predict``), and the one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from chexmini_cli.main import main
from core.data import load_data
from core.inference import load_checkpoint, predict_proba
from core.nn.batches import standardise_all
from tests.helpers.files import run_without_permission_bypass
from tests.helpers.tui import make_checkpoint, write_png

DATA = "synthetic:200"


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "c")


@pytest.fixture(scope="module")
def probs(ckpt) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """P(abnormal) per split of DATA, computed here with the checkpoint's model."""
    model, mean, std, _ = load_checkpoint(ckpt)
    data = load_data(DATA, seed=0)
    out = {}
    for name in ("train", "val", "test"):
        split = getattr(data, name)
        out[name] = (predict_proba(model, standardise_all(split.images, mean, std)),
                     split.labels.astype(int))
    return out


def evaluate(capsys, *args) -> dict:
    assert main(["evaluate", "--data", DATA, "--json", *map(str, args)]) == 0
    return json.loads(capsys.readouterr().out)


def rates(p, y, t) -> tuple[float, float]:
    pos, neg = p[y == 1], p[y == 0]
    return float(np.mean(pos >= t)), float(np.mean(neg < t))


def test_brier_and_ece_per_split(ckpt, probs, capsys):
    out = evaluate(capsys, "--checkpoint", ckpt, "--split", "all")
    assert out["rule"] == "saved threshold" and out["operating_point"] is None
    for name, (p, y) in probs.items():
        rep = out["splits"][name]
        assert rep["brier"] == pytest.approx(np.mean((p - y) ** 2), abs=1e-6)
        ece = 0.0
        for i in range(15):
            inside = (p >= i / 15) & ((p < (i + 1) / 15) | (i == 14))
            if inside.any():
                ece += inside.sum() / p.size * abs(y[inside].mean() - p[inside].mean())
        assert rep["ece"] == pytest.approx(ece, abs=1e-6)


@pytest.mark.parametrize("metric, target", [("sensitivity", 0.9), ("specificity", 0.8)])
def test_target_is_chosen_on_validation_and_applied_to_every_split(ckpt, probs, capsys,
                                                                   metric, target):
    out = evaluate(capsys, "--checkpoint", ckpt, "--split", "test",
                   f"--target-{metric}", target)
    t = out["threshold"]
    vp, vy = probs["val"]
    # the straightforward search over every validation score
    candidates = [s for s in vp if rates(vp, vy, s)[metric == "specificity"] >= target]
    expected = max(candidates) if metric == "sensitivity" else min(candidates)
    assert t == pytest.approx(expected, abs=1e-6)
    assert out["rule"] == f"{metric}>={target:g} on validation"
    assert out["operating_point"]["metric"] == metric and out["saved_to"] is None
    assert set(out["splits"]) == {"test"}              # validation scored, not reported
    tp, ty = probs["test"]
    cm = out["splits"]["test"]["confusion_matrix"]
    assert cm["tp"] == int(np.sum((tp >= t) & (ty == 1)))
    assert cm["fp"] == int(np.sum((tp >= t) & (ty == 0)))
    assert out["splits"]["test"]["threshold"] == t


def test_save_then_predict_and_evaluate_use_it(ckpt, probs, capsys, tmp_path):
    c = tmp_path / "c"
    shutil.copytree(ckpt, c)
    youden = json.loads((c / "metrics.json").read_text())["threshold"]
    out = evaluate(capsys, "--checkpoint", c, "--target-sensitivity", 0.9, "--save")
    t = out["threshold"]
    assert out["saved_to"] == str(c / "metrics.json")
    saved = json.loads((c / "metrics.json").read_text())
    assert saved["threshold"] == youden                      # Youden kept beside it
    assert saved["operating_point"]["threshold"] == t
    assert saved["operating_point"]["rule"] == "sensitivity>=0.9 on validation"
    assert load_checkpoint(c).threshold == t
    # evaluate without flags now reports at the saved operating point
    again = evaluate(capsys, "--checkpoint", c)
    assert again["threshold"] == t and again["rule"] == "sensitivity>=0.9 on validation"
    img = write_png(tmp_path / "x.png")
    assert main(["predict", "--checkpoint", str(c), "--image", str(img), "--json"]) == 0
    pred = json.loads(capsys.readouterr().out)
    assert pred["threshold"] == t
    p = pred["predictions"][0]["prob_abnormal"]
    assert pred["predictions"][0]["label"] == ("abnormal" if p >= t else "normal")
    # the table says which rule
    assert main(["evaluate", "--checkpoint", str(c), "--data", DATA]) == 0
    assert "sensitivity>=0.9 on validation" in capsys.readouterr().out


def one_line(rc: int, err: str) -> str:
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and lines[0].startswith("chexmini: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("args, words", [
    (["--target-sensitivity", "0"], "--target-sensitivity must be"),
    (["--target-sensitivity", "1.5"], "--target-sensitivity must be"),
    (["--target-specificity", "nan"], "--target-specificity must be"),
    (["--target-specificity", "-0.2"], "--target-specificity must be"),
    (["--save"], "--save records the threshold a rule chooses"),
    (["--threshold", "0.4", "--target-sensitivity", "0.9"], "not allowed with argument"),
    (["--target-sensitivity", "0.9", "--target-specificity", "0.9"], "not allowed with"),
])
def test_bad_flags_are_one_line(ckpt, capsys, args, words):
    before = (ckpt / "metrics.json").read_bytes()
    try:
        rc = main(["evaluate", "--checkpoint", str(ckpt), "--data", DATA, *args])
    except SystemExit as exc:  # argparse's usage errors leave through SystemExit
        rc = exc.code
    line = one_line(rc, capsys.readouterr().err)
    assert words in line, line
    assert (ckpt / "metrics.json").read_bytes() == before


def test_one_class_validation_is_a_clear_error(ckpt, capsys):
    before = (ckpt / "metrics.json").read_bytes()
    rc = main(["evaluate", "--checkpoint", str(ckpt), "--data", f"{DATA}?n_val=1",
               "--target-sensitivity", "0.9", "--save"])
    line = one_line(rc, capsys.readouterr().err)
    assert "cannot choose the threshold for sensitivity>=0.9 on validation" in line
    assert "only one class present" in line
    assert (ckpt / "metrics.json").read_bytes() == before


@pytest.mark.slow
def test_save_on_a_read_only_checkpoint_is_one_line(ckpt, tmp_path):
    c = tmp_path / "ro"
    shutil.copytree(ckpt, c)
    before = (c / "metrics.json").read_bytes()
    c.chmod(0o555)
    try:
        res = run_without_permission_bypass(
            ["-m", "chexmini_cli", "evaluate", "--checkpoint", str(c), "--data", DATA,
             "--target-sensitivity", "0.9", "--save"])
    except (OSError, ValueError) as exc:  # pragma: no cover - no way to drop the bypass
        pytest.skip(f"cannot run a process without the root file-permission bypass: {exc}")
    finally:
        c.chmod(0o755)
    line = one_line(res.returncode, res.stderr)
    # the save takes the folder's lock first: the lock file is what cannot be written
    assert str(c / ".chexmini.lock") in line and "permission denied" in line, line
    assert (c / "metrics.json").read_bytes() == before
