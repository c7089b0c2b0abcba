"""Adversarial inputs of issue 12, causes 5 (file-system errors), 9 (flags) and 10 (data).

Every bad input is exit code 2 with one line naming the flag or file, no traceback and
nothing lost; valid but unusual inputs (an EXIF-rotated JPEG, a batch with one unreadable
image) give the right result.

Permission errors: the tests run as root, which reads a ``chmod 000`` file regardless. The
permission test therefore runs the CLI in a subprocess whose capability bounding set lacks
CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (``prctl(PR_CAPBSET_DROP)`` before ``exec``), so
the kernel applies the file modes to it; it is skipped only when that is impossible (and
runs as is when the tests are not root).
"""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from chexmini_cli.main import main
from core.data import load_data
from core.data.dataset import Split
from core.data.images import load_gray
from core.data.nih import nih_index
from core.data.subset import load_npz_arrays
from core.evaluation.gradcheck import GradcheckReport, gradcheck
from core.foundation.checks import ConfigError
from core.foundation.config import TrainConfig
from core.foundation.errors import ChexminiError
from core.inference import load_checkpoint, predict_files
from core.nn import MLP
from core.training.cv import fold_splits
from core.training.divergence import TrainingDiverged
from core.training.train import train
from tests.helpers import run_to_end, synthetic, tiny_config
from tests.helpers.data import gray_pattern, make_nih_root
from tests.helpers.files import run_without_permission_bypass

NAN, INF = float("nan"), float("inf")


def one_error_line(rc: int, err: str, out: str = "") -> str:
    """Assert exit 2, exactly one ``chexmini: error:`` line and no traceback."""
    lines = err.strip().splitlines()
    assert rc == 2, (rc, err)
    assert len(lines) == 1 and lines[0].startswith("chexmini: error: "), lines
    assert "Traceback" not in err + out
    return lines[0]


def cli(argv, capsys) -> str:
    rc = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return one_error_line(rc, captured.err, captured.out)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ckpt")
    run_to_end(tiny_config(epochs=1), synthetic(200), out)
    return out


def _png(path: Path, seed: int, side: int = 96) -> Path:
    Image.fromarray(gray_pattern(seed, side), "L").save(path)
    return path


# ======================================================================================
# Cause 9 — flags: every out-of-range, NaN or infinite value is one line naming the flag
# ======================================================================================

#: flag → (lo, hi, lo_open, hi_open) — the documented accepted ranges.
FLOAT_FLAGS = {
    "--dropout": (0, 1, False, True),
    "--lr": (0, None, True, False),
    "--weight-decay": (0, None, False, False),
    "--l1": (0, None, False, False),
    "--label-smoothing": (0, 1, False, True),
    "--momentum": (0, 1, False, True),
    "--beta1": (0, 1, False, True),
    "--beta2": (0, 1, False, True),
    "--adam-eps": (float(np.finfo(np.float32).tiny), None, False, False),
    "--flip-prob": (0, 1, False, False),
    "--brightness": (0, 1, False, False),
    "--noise-std": (0, 1, False, False),
}


def _inside(value: float, lo, hi, lo_open: bool, hi_open: bool) -> bool:
    if not math.isfinite(value):
        return False
    if lo is not None and (value <= lo if lo_open else value < lo):
        return False
    return not (hi is not None and (value >= hi if hi_open else value > hi))


@st.composite
def bad_float_flag(draw):
    flag = draw(st.sampled_from(sorted(FLOAT_FLAGS)))
    rng = FLOAT_FLAGS[flag]
    value = draw(st.one_of(st.sampled_from([NAN, INF, -INF]),
                           st.floats(allow_nan=False).filter(lambda v: not _inside(v, *rng))))
    return flag, value


@pytest.mark.slow
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bad_float_flag())
def test_train_refuses_every_bad_float_flag_naming_it(tmp_path, capsys, case):
    flag, value = case
    out = tmp_path / "run"
    # ``--flag=VALUE``: argparse reads a separate "-1e30" as an option, not a value
    line = cli(["train", "--data", "synthetic:40", "--out", out, f"{flag}={value!r}"], capsys)
    assert flag in line and "must be" in line
    assert not out.exists()  # refused before anything was written


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_config_accepts_every_value_inside_the_documented_range(data):
    flag = data.draw(st.sampled_from(sorted(FLOAT_FLAGS)))
    lo, hi, lo_open, hi_open = FLOAT_FLAGS[flag]
    value = data.draw(st.floats(min_value=lo, max_value=1e6 if hi is None else hi,
                                exclude_min=lo_open, exclude_max=hi_open))
    field = flag[2:].replace("-", "_")
    TrainConfig(**{field: value, "lr_min": 0.0}).validate()


@pytest.mark.parametrize("argv, flag", [
    (["train", "--data", "synthetic:40", "--seed", "-1"], "--seed"),
    (["train", "--data", "synthetic:40", "--epochs", "0"], "--epochs"),
    (["train", "--data", "synthetic:40", "--batch-size", "0"], "--batch-size"),
    (["train", "--data", "synthetic:40", "--checkpoint-every=-1"], "--checkpoint-every"),
    (["train", "--data", "synthetic:40", "--image-size", "2"], "--image-size"),
    (["train", "--data", "synthetic:40", "--lr", "0.01", "--lr-min", "0.1"], "--lr-min"),
    (["train", "--data", "synthetic:40", "--split-seed", "-1"], "--split-seed"),
    (["train", "--data", "synthetic:40", "--val-fraction", "nan"], "--val-fraction"),
    (["train", "--data", "synthetic:40", "--test-fraction", "inf"], "--test-fraction"),
    (["train", "--data", "synthetic:40", "--val-fraction", "0.5", "--test-fraction", "0.5"],
     "--val-fraction + --test-fraction"),
    (["train", "--data", "synthetic:40", "--n-train", "0"], "--n-train"),
    (["train", "--data", "synthetic:40", "--workers", "0"], "--workers"),
    (["data", "info", "--data", "synthetic:40", "--split-seed", "-3"], "--split-seed"),
    (["data", "info", "--data", "synthetic:40", "--image-size", "0"], "--image-size"),
    (["data", "download", "chestmnist", "--retries", "-1"], "--retries"),
    (["gradcheck", "--eps", "0"], "--eps"),
    (["gradcheck", "--eps", "nan"], "--eps"),
    (["gradcheck", "--eps", "1e-300"], "--eps"),
    (["gradcheck", "--samples", "-1"], "--samples"),
    (["gradcheck", "--samples", "0"], "--samples"),
    (["gradcheck", "--batch", "-2"], "--batch"),
    (["gradcheck", "--tol", "inf"], "--tol"),
    (["gradcheck", "--tol", "-1"], "--tol"),
    (["gradcheck", "--seed", "-1"], "--seed"),
    (["gradcheck", "--image-size", "0"], "--image-size"),
    (["cv", "--data", "synthetic:40", "--folds", "1"], "--folds"),
    (["cv", "--data", "synthetic:40", "--cv-seed", "-1"], "--cv-seed"),
    (["cv", "--data", "synthetic:40", "--fold-val-fraction", "1"], "--fold-val-fraction"),
    (["cv", "--data", "synthetic:40", "--adam-eps", "0"], "--adam-eps"),
    (["evaluate", "--data", "synthetic:40", "--threshold", "nan"], "--threshold"),
    (["evaluate", "--data", "synthetic:40", "--threshold", "1.5"], "--threshold"),
])
def test_bad_flag_is_one_line_naming_the_flag(argv, flag, capsys):
    line = cli(argv, capsys)
    assert flag in line and "must be" in line, line


def test_the_engine_refuses_the_same_values_for_the_app():
    for field, value in (("adam_eps", 0.0), ("adam_eps", NAN), ("momentum", -5.0),
                         ("brightness", INF), ("noise_std", 1e30), ("seed", -1)):
        with pytest.raises(ConfigError, match=f"{field} must be") as info:
            TrainConfig(**{field: value, "lr_min": 0.0}).validate()
        assert info.value.field == field and len(str(info.value).splitlines()) == 1


def test_app_train_form_shows_the_flag_rule_under_its_label():
    from chexmini_tui.widgets.train_form import read_form
    from core.foundation.config_fields import form_fields

    values = {f.name: f.default if f.kind == "bool" else f.format(f.default)
              for f in form_fields()}
    values["data"] = "synthetic"
    for name, text, label in (("seed", "-1", "seed"), ("lr", "nan", "lr"),
                              ("weight_decay", "inf", "weight decay"),
                              ("batch_size", "0", "batch size")):
        with pytest.raises(ChexminiError) as info:
            read_form({**values, name: text})
        assert str(info.value).startswith(f"{label} must be"), info.value
    assert read_form(values)[0].to_dict() == TrainConfig().to_dict()


@pytest.mark.slow
def test_app_gradcheck_form_refuses_bad_values_inline(tmp_path):
    from textual.widgets import Input

    from chexmini_tui.app import ChexminiApp

    async def go():
        app = ChexminiApp(runs=str(tmp_path / "runs"), artifacts=str(tmp_path / "art"),
                          image_mode="halfcell", start="gradcheck")
        async with app.run_test(size=(140, 45)) as pilot:
            await pilot.pause()
            screen = app.screen
            assert screen.MODE == "gradcheck"
            for eps, samples, expect in (("0", "20", "epsilon must be"),
                                         ("nan", "20", "epsilon must be"),
                                         ("1e-4", "0", "samples must be"),
                                         ("1e-4", "-1", "samples must be")):
                screen.query_one("#gc-eps", Input).value = eps
                screen.query_one("#gc-samples", Input).value = samples
                screen.action_run()
                await pilot.pause()
                assert screen.error is not None and screen.error.startswith(expect)
                assert not screen.running and screen.report is None
                assert expect in str(screen.query_one("#gc-summary").render())

    asyncio.run(go())


def test_gradcheck_that_checks_nothing_is_not_a_pass():
    assert not GradcheckReport([], 1e-4, 1e-6).passed
    # fc1's pre-activations are exactly 0: every perturbation of fc1 crosses the ReLU
    # kink, so no entry of fc1.W / fc1.b can be checked — that is not a pass.
    m = MLP((3, 4, 1), seed=0)
    m.parameters()["fc1.W"][...] = 0
    m.parameters()["fc1.b"][...] = 0
    x = np.random.default_rng(0).standard_normal((4, 3))
    report = gradcheck(m, x, np.array([0, 1, 0, 1.0]), n_samples=5)
    rows = {r.name: r for r in report.rows}
    assert rows["fc1.b"].n_checked == 0 and not rows["fc1.b"].passed
    assert rows["fc2.W"].n_checked > 0 and rows["fc2.W"].passed
    assert not report.passed


@pytest.mark.slow
def test_divergence_from_a_huge_weight_decay_names_it(tmp_path):
    cfg = tiny_config(epochs=2, optimizer="sgd", weight_decay=1e30)
    with pytest.raises(TrainingDiverged) as info:
        run_to_end(cfg, synthetic(120), tmp_path)
    msg = str(info.value)
    assert "weight_decay=1e+30" in msg and "learning rate" not in msg
    assert len(msg.splitlines()) == 1


# ======================================================================================
# Cause 5 — file-system errors: one line naming the path; a batch keeps its good results
# ======================================================================================

@pytest.fixture()
def unreadable(tmp_path) -> Path:
    path = _png(tmp_path / "locked.png", 7)
    path.chmod(0)
    try:
        probe = run_without_permission_bypass(["-c", f"open({str(path)!r}, 'rb')"])
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot run a process without the root file-permission bypass: {exc}")
    if "PermissionError" not in probe.stderr:
        pytest.skip("no way to make a file unreadable here (root bypass not droppable)")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("as_json", [False, True])
def test_predict_batch_with_a_permission_denied_image_keeps_the_others(
        ckpt, tmp_path, unreadable, as_json):
    good = [_png(tmp_path / f"good{i}.png", i) for i in range(2)]
    args = ["-m", "chexmini_cli", "predict", "--checkpoint", str(ckpt), "--image",
            str(good[0]), str(unreadable), str(good[1])] + (["--json"] if as_json else [])
    res = run_without_permission_bypass(args)
    line = one_error_line(res.returncode, res.stderr, res.stdout)
    assert str(unreadable) in line and "permission denied" in line
    model, mean, std, thr = load_checkpoint(ckpt)
    expected = {p.path: p.prob for p in predict_files(model, mean, std, thr, good)}
    if as_json:
        preds = {p["path"]: p for p in json.loads(res.stdout)["predictions"]}
        assert preds[str(unreadable)]["prob_abnormal"] is None
        for path, prob in expected.items():
            assert preds[path]["prob_abnormal"] == pytest.approx(prob, abs=1e-12)
    else:
        for path, prob in expected.items():
            assert Path(path).name in res.stdout and f"{prob:.4f}" in res.stdout


@pytest.mark.slow
def test_predict_batch_with_an_os_error_keeps_the_others(ckpt, tmp_path, capsys):
    good = _png(tmp_path / "good.png", 1)
    too_long = tmp_path / ("x" * 300 + ".png")  # ENAMETOOLONG: an OSError even for root
    rc = main(["predict", "--checkpoint", str(ckpt), "--image", str(too_long), str(good),
               "--json"])
    captured = capsys.readouterr()
    line = one_error_line(rc, captured.err, captured.out)
    assert str(too_long) in line and "name too long" in line.lower()
    preds = json.loads(captured.out)["predictions"]
    assert preds[0]["error"] and preds[1]["prob_abnormal"] is not None


def test_os_error_while_resolving_a_data_source_is_one_line(tmp_path, capsys):
    source = tmp_path / ("d" * 300)
    line = cli(["data", "info", "--data", source], capsys)
    assert str(source) in line


@pytest.mark.parametrize("where", ["missing-folder", "through-a-file", "is-a-folder"])
def test_cv_out_in_an_unusable_place_fails_before_training(tmp_path, capsys, where):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    out = {"missing-folder": tmp_path / "nope" / "cv.json",
           "through-a-file": blocker / "cv.json", "is-a-folder": tmp_path}[where]
    line = cli(["cv", "--data", "synthetic:60", "--folds", "2", "--epochs", "1",
                "--hidden-dims", "8", "--out", out], capsys)
    assert "--out" in line and str(out) in line


# ======================================================================================
# Cause 10 — data: contradictions refused, EXIF applied, small splits caught up front
# ======================================================================================

def test_nih_csv_rows_with_conflicting_labels_are_refused_with_line_numbers(tmp_path):
    facts = make_nih_root(tmp_path / "nih", n_patients=8)
    csv = tmp_path / "nih" / "Data_Entry_2017.csv"
    lines = csv.read_text().splitlines()
    name = facts["train_val"][0]
    first = next(i for i, ln in enumerate(lines, start=1) if ln.startswith(name + ","))
    other = "Effusion" if facts["labels"][name] == 0 else "No Finding"
    dup = lines[first - 1].replace(lines[first - 1].split(",")[1], other, 1)
    csv.write_text("\n".join([*lines, dup]) + "\n")
    with pytest.raises(ChexminiError) as info:
        nih_index(tmp_path / "nih")
    msg = str(info.value)
    assert f"lines {first} and {len(lines) + 1}" in msg and name in msg and str(csv) in msg


def test_nih_csv_exact_duplicate_rows_are_harmless(tmp_path):
    facts = make_nih_root(tmp_path / "nih", n_patients=8)
    csv = tmp_path / "nih" / "Data_Entry_2017.csv"
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join([*lines, lines[1]]) + "\n")
    idx = nih_index(tmp_path / "nih")
    assert len(idx.names) == len(facts["train_val"]) + len(facts["test"])


def _npz(path: Path, **override) -> Path:
    n = 12
    arrays = {"images": np.zeros((n, 16, 16), np.uint8),
              "names": np.array([f"{i + 1:08d}_000.png" for i in range(n)]),
              "labels": (np.arange(n) % 2).astype(np.uint8)}
    arrays.update(override)
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("override, message", [
    ({"names": np.array([[f"{i:08d}_000.png"] for i in range(12)])}, "names must be one-dim"),
    ({"labels": (np.arange(12) % 2).reshape(12, 1).astype(np.uint8)}, "labels must be one-dim"),
    ({"names": np.array(["00000001_000.png"] * 12)}, "names must be unique"),
    ({"names": np.arange(12)}, "names must be strings"),
    ({"groups": np.zeros((12, 2), np.int64)}, "groups must be one-dim"),
    ({"groups": np.linspace(0, 1, 12)}, "groups must be whole numbers"),
    ({"images": np.zeros((12, 16, 16), np.float32)}, "images must be uint8"),
])
def test_npz_arrays_of_the_wrong_shape_or_type_are_refused(tmp_path, capsys, override,
                                                          message):
    path = _npz(tmp_path / "bad.npz", **override)
    with pytest.raises(ChexminiError, match=message):
        load_npz_arrays(path)
    line = cli(["data", "info", "--data", f"npz:{path}", "--image-size", "16"], capsys)
    assert str(path) in line and message in line


#: EXIF orientation → the numpy operation that makes the stored pixels upright.
ORIENT = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
          5: lambda a: a.T, 6: lambda a: np.rot90(a, -1), 7: lambda a: a[::-1, ::-1].T,
          8: lambda a: np.rot90(a, 1)}


def _jpeg(path: Path, pixels: np.ndarray, orientation: int | None) -> Path:
    img = Image.fromarray(pixels, "L")
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    img.save(path, format="JPEG", quality=95, exif=exif.tobytes())
    return path


@pytest.mark.parametrize("orientation", sorted(ORIENT))
def test_exif_orientation_is_applied_before_decoding(tmp_path, orientation):
    stored = gray_pattern(3, 96)[:, :64].copy()  # not square: a wrong turn changes shape
    stored[:8, :8] = 255                          # and a marked corner
    tagged = _jpeg(tmp_path / "tagged.jpg", stored, orientation)
    plain = _jpeg(tmp_path / "plain.jpg", stored, None)
    raw = load_gray(plain, None)
    upright = load_gray(tagged, None)
    assert np.array_equal(upright, np.ascontiguousarray(ORIENT[orientation](raw)))
    assert upright.shape != raw.shape or not np.array_equal(upright, raw)


def test_exif_rotated_jpeg_predicts_the_same_as_the_upright_image(ckpt, tmp_path, capsys):
    stored = np.rot90(gray_pattern(5, 128), 1).copy()
    stored[:20, :40] = 250
    rotated = _jpeg(tmp_path / "rotated.jpg", stored, 6)  # "turn 90° clockwise to view"
    upright = tmp_path / "upright.png"
    Image.fromarray(np.rot90(load_gray(_jpeg(tmp_path / "p.jpg", stored, None), None), -1)
                    .copy(), "L").save(upright)
    assert main(["predict", "--checkpoint", str(ckpt), "--image", str(rotated), str(upright),
                 "--json"]) == 0
    p_rot, p_up = (p["prob_abnormal"] for p in json.loads(capsys.readouterr().out)
                   ["predictions"])
    assert p_rot == p_up
    model, mean, std, thr = load_checkpoint(ckpt)
    ignored = predict_files(model, mean, std, thr, [tmp_path / "p.jpg"])[0].prob
    assert ignored != p_rot  # the orientation does change the score


@pytest.mark.parametrize("split", ["val", "test"])
def test_a_split_without_both_classes_fails_before_training(tmp_path, capsys, split):
    out = tmp_path / "run"
    line = cli(["train", "--data", "synthetic:100", f"--n-{split}", "1", "--epochs", "1",
                "--hidden-dims", "8", "--out", out], capsys)
    assert f"the {split} split has only" in line and "synthetic:100" in line
    assert not out.exists() or not any(out.iterdir())


def test_single_class_training_split_names_the_split_and_source(tmp_path):
    data = synthetic(100)
    data.train = data.train.subset(np.flatnonzero(data.train.labels == 0))
    gen = train(tiny_config(epochs=1), data, tmp_path / "run")
    with pytest.raises(ChexminiError, match="the train split has only normal images") as info:
        next(gen)
    assert data.source in str(info.value)


def test_cv_folds_too_small_for_both_classes_fail_before_any_training(capsys):
    n = 12
    full = Split(np.zeros((n, 8, 8), np.uint8), np.array([1] + [0] * (n - 1), np.uint8),
                 np.array([f"{i + 1:08d}_000.png" for i in range(n)]), np.arange(n) + 1)
    with pytest.raises(ChexminiError, match="split has only normal images") as info:
        fold_splits(full, 3, 0, 0.2, source="npz:/x.npz")
    assert "npz:/x.npz fold" in str(info.value)


@pytest.mark.parametrize("kw", [dict(val_fraction=0.6, test_fraction=0.5),
                                dict(val_fraction=NAN), dict(seed=-1), dict(n_train=0)])
def test_split_errors_name_the_source(kw):
    with pytest.raises(ChexminiError) as info:
        load_data("synthetic:100", **kw)
    assert str(info.value).startswith("synthetic:100: ")
