"""The published CheXVision-mini checkpoint layout, in and out.

The published-layout checkpoints here are built from the documented facts only
(``Sequential`` keys ``"0.W"``, ``"0.b"``, ``"3.W"``, … with ``W: (in, out)``, float64,
plus ``_norm_mean``/``_norm_std``; ``metrics.json`` with config, threshold, …), and every
prediction is compared with a reference written here from the formulas of the published
pipeline: Pillow ``convert("L").resize((s, s))`` (default filter), float64 ÷ 255,
``(x − μ)/σ``, a ReLU MLP in float64, the logistic sigmoid.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from chexmini_cli.main import main
from core.data import load_data
from core.data.images import load_gray
from core.foundation.config import TrainConfig
from core.foundation.errors import ChexminiError
from core.inference import (
    checkpoint_summary,
    load_checkpoint,
    predict_files,
    predict_label,
    preprocess_image,
    saliency,
)
from tests.helpers import REPO, run_to_end, synthetic, tiny_config

TOL = 1e-9
SMALL = (256, 16, 8, 1)      # image_size 16
FULL = (4096, 1024, 256, 64, 1)


# -- the reference, from the formulas ----------------------------------------------------
def ref_load(folder: Path) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray,
                                    np.ndarray, float]:
    """Layers ``[(W, b), …]`` from keys ``0.W``, ``3.W``, … (step 3), mean, std, threshold."""
    with np.load(folder / "model.npz") as z:
        layers, k = [], 0
        while f"{k}.W" in z.files:
            layers.append((z[f"{k}.W"], z[f"{k}.b"]))
            k += 3
        mean, std = z["_norm_mean"], z["_norm_std"]
    threshold = json.loads((folder / "metrics.json").read_text())["threshold"]
    return layers, mean, std, threshold


def ref_input(path: Path, size: int, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    with Image.open(path) as im:
        img = im.convert("L").resize((size, size))
    x = np.asarray(img, dtype=np.float64).reshape(-1) / 255.0
    return (x - mean) / std


def ref_proba(layers, x: np.ndarray) -> np.ndarray:
    h = np.atleast_2d(x)
    for i, (w, b) in enumerate(layers):
        h = h @ w + b
        if i < len(layers) - 1:
            h = np.maximum(h, 0.0)
    return 1.0 / (1.0 + np.exp(-h[:, 0]))


def ref_predict(folder: Path, paths: list[Path]) -> np.ndarray:
    layers, mean, std, _ = ref_load(folder)
    size = int(round(np.sqrt(layers[0][0].shape[0])))
    return ref_proba(layers, np.stack([ref_input(p, size, mean, std) for p in paths]))


# -- fixtures -----------------------------------------------------------------------------
def make_published(out: Path, widths=SMALL, seed: int = 0, config: dict | None = None,
                   threshold: float = 0.5) -> Path:
    """A published-layout checkpoint with random float64 weights."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for k in range(len(widths) - 1):
        n_in, n_out = widths[k], widths[k + 1]
        scale = np.sqrt(2.0 / n_in) * (0.3 if k == len(widths) - 2 else 1.0)
        arrays[f"{3 * k}.W"] = rng.standard_normal((n_in, n_out)) * scale
        arrays[f"{3 * k}.b"] = rng.standard_normal(n_out) * 0.05
    arrays["_norm_mean"] = rng.uniform(0.3, 0.6, widths[0])
    arrays["_norm_std"] = rng.uniform(0.15, 0.3, widths[0])
    size = int(round(np.sqrt(widths[0])))
    cfg = {"image_size": size, "hidden_dims": list(widths[1:-1]), "dropout": 0.3,
           "optimizer": "adam", "lr": 0.001, "lr_schedule": "cosine", "weight_decay": 1e-4,
           "l1": 0.0, "label_smoothing": 0.05, "batch_size": 256, "epochs": 200,
           "augment": True, "standardize": True, "dataset_revision": "abc"}
    cfg.update(config or {})
    cm = {"tn": 3, "fp": 1, "fn": 1, "tp": 3}
    block = {"threshold": threshold, "auc": 0.7, "accuracy": 0.75, "balanced_accuracy": 0.75,
             "precision": 0.75, "recall": 0.75, "specificity": 0.75, "f1": 0.75,
             "confusion_matrix": cm, "roc_curve": {"fpr": [0, 1], "tpr": [0, 1]},
             "pr_curve": {"precision": [1, 0.5], "recall": [0, 1]}, "n_val": 8,
             "positive_rate": 0.5}
    metrics = {"best_epoch": 7, "threshold": threshold,
               "label_map": {"0": "normal", "1": "abnormal"}, "config": cfg,
               "splits": {s: {"n": 8, "pos": 4, "neg": 4} for s in ("train", "val", "test")},
               "validation": block, "test": dict(block)}
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "model.npz", **arrays)
    (out / "metrics.json").write_text(json.dumps(metrics))
    return out


def make_pngs(folder: Path, seed: int = 0) -> list[Path]:
    """Grey, RGB and odd-sized PNGs: 16 px (no resize), 40, 64, 100×80, 256 px."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, (w, h, mode) in enumerate([(16, 16, "L"), (40, 40, "L"), (64, 64, "L"),
                                      (100, 80, "L"), (256, 256, "L"), (64, 64, "RGB")]):
        shape = (h, w, 3) if mode == "RGB" else (h, w)
        yy = np.linspace(0, 1, h)[:, None]
        base = (yy * 180 + rng.integers(0, 60, (h, w))).astype(np.uint8)
        arr = np.repeat(base[..., None], 3, axis=2) if mode == "RGB" else base
        arr = arr.reshape(shape)
        path = folder / f"img{i}_{w}x{h}_{mode}.png"
        Image.fromarray(arr, mode).save(path)
        out.append(path)
    return out


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    return make_published(tmp_path_factory.mktemp("pub") / "ck")


@pytest.fixture(scope="module")
def pngs(tmp_path_factory) -> list[Path]:
    return make_pngs(tmp_path_factory.mktemp("png") / "imgs")


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> Path:
    return make_published(tmp_path_factory.mktemp("pubfull") / "ck", FULL, seed=1,
                          threshold=0.45)


def cli_json(argv: list, capsys) -> dict:
    rc = main([str(a) for a in argv])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    return json.loads(captured.out)


def cli_error(argv: list, capsys) -> str:
    rc = main([str(a) for a in argv])
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert rc == 2, captured
    assert len(lines) == 1 and lines[0].startswith("chexmini: error: "), lines
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


# -- loading and the API ------------------------------------------------------------------
def test_load_keeps_float64_and_reads_the_layout(small):
    ckpt = load_checkpoint(small)
    model, mean, std, thr = ckpt
    assert ckpt.layout == "chexvision-mini" and ckpt.resize_filter == "bicubic"
    assert model.widths == SMALL and model.dtype == np.float64
    assert mean.dtype == np.float64 and std.dtype == np.float64
    with np.load(small / "model.npz") as z:
        assert np.array_equal(model.parameters()["fc2.W"], z["3.W"])
        assert np.array_equal(mean, z["_norm_mean"]) and np.array_equal(std, z["_norm_std"])
    assert thr == 0.5 and ckpt[3] == 0.5 and len(ckpt) == 4
    summary = checkpoint_summary(small)
    assert summary["format"] == "chexvision-mini (published layout)"
    assert summary["resize_filter"] == "bicubic"


def test_api_predictions_match_the_reference(small, pngs):
    ref = ref_predict(small, pngs)
    ckpt = load_checkpoint(small)
    preds = predict_files(*ckpt, pngs, resize=ckpt.resize_filter)
    got = np.array([p.prob for p in preds])
    assert np.abs(got - ref).max() < TOL
    for path, r in zip(pngs, ref, strict=True):
        x = preprocess_image(path, 16, ckpt.mean, ckpt.std, "bicubic")
        assert x.dtype == np.float64
        prob, label = predict_label(ckpt.model, ckpt.preprocess(path), ckpt.threshold)
        assert abs(prob - r) < TOL and label == ("abnormal" if r >= 0.5 else "normal")
        sal = saliency(ckpt.model, x)
        assert sal.shape == (256,) and np.isfinite(sal).all() and sal.max() > 0
    # the filter matters: the area pipeline gives other inputs for the resized files
    area = np.array([p.prob for p in predict_files(*ckpt, pngs, resize="area")])
    assert np.abs(area[1:5] - ref[1:5]).min() > 1e-6
    assert abs(area[0] - ref[0]) < TOL        # 16 px: no resize either way


def test_cli_predict_json_matches_the_reference(small, pngs, capsys):
    out = cli_json(["predict", "--checkpoint", small, "--image", *pngs, "--json"], capsys)
    got = np.array([p["prob_abnormal"] for p in out["predictions"]])
    assert np.abs(got - ref_predict(small, pngs)).max() < TOL


@pytest.mark.slow
def test_full_size_on_real_pngs(full, shared_data, capsys):
    subset = shared_data / "nih14_subset"
    worst = {}
    for folder in ("png", "png256"):
        paths = sorted((subset / folder).glob("*.png"))
        if not paths:
            pytest.skip(f"no PNGs in {subset / folder}")
        ckpt = load_checkpoint(full)
        got = np.array([p.prob for p in predict_files(*ckpt, paths,
                                                      resize=ckpt.resize_filter)])
        worst[folder] = float(np.abs(got - ref_predict(full, paths)).max())
    assert max(worst.values()) < TOL, worst
    # the CLI too, on a few of each
    few = [*sorted((subset / "png").glob("*.png"))[:3],
           *sorted((subset / "png256").glob("*.png"))[:3]]
    out = cli_json(["predict", "--checkpoint", full, "--image", *few, "--json"], capsys)
    got = np.array([p["prob_abnormal"] for p in out["predictions"]])
    assert np.abs(got - ref_predict(full, few)).max() < TOL


# -- evaluate -----------------------------------------------------------------------------
def _auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mann–Whitney: P(score of a positive > score of a negative), ties count ½."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)


def _check_evaluate(ckpt_dir: Path, npz: Path, size: int, capsys) -> None:
    out = cli_json(["evaluate", "--checkpoint", ckpt_dir, "--data", npz, "--split", "all",
                    "--json"], capsys)
    data = load_data(str(npz), image_size=size)
    layers, mean, std, thr = ref_load(ckpt_dir)
    for name in ("train", "val", "test"):
        split = getattr(data, name)
        x = (split.images.reshape(len(split), -1).astype(np.float64) / 255.0 - mean) / std
        probs, y = ref_proba(layers, x), split.labels
        rep = out["splits"][name]
        pred = probs >= thr
        assert rep["confusion_matrix"] == {"tn": int((~pred & (y == 0)).sum()),
                                           "fp": int((pred & (y == 0)).sum()),
                                           "fn": int((~pred & (y == 1)).sum()),
                                           "tp": int((pred & (y == 1)).sum())}
        assert abs(rep["auc"] - _auc(probs, y)) < TOL


def test_cli_evaluate_on_an_npz_matches_the_reference(small, tmp_path, capsys):
    rng = np.random.default_rng(3)
    n = 120
    images = rng.integers(0, 256, (n, 16, 16)).astype(np.uint8)
    names = np.array([f"{i // 2:08d}_{i % 2:03d}.png" for i in range(n)])
    npz = tmp_path / "tiny16.npz"
    np.savez(npz, images=images, names=names, labels=(np.arange(n) % 3 == 0).astype(np.uint8))
    _check_evaluate(small, npz, 16, capsys)


@pytest.mark.slow
def test_cli_evaluate_full_size_on_the_real_npz(full, shared_data, capsys):
    _check_evaluate(full, shared_data / "nih14_subset" / "images64.npz", 64, capsys)


def test_evaluate_refuses_area_resized_sources_for_a_bicubic_checkpoint(small, tmp_path,
                                                                         capsys):
    root = tmp_path / "folder"
    for label in ("normal", "abnormal"):
        make_pngs(root / label)
    line = cli_error(["evaluate", "--checkpoint", small, "--data", f"folder:{root}"], capsys)
    assert "bicubic" in line and str(small) in line
    out = cli_json(["evaluate", "--checkpoint", small, "--data", "synthetic:200", "--json"],
                   capsys)
    assert out["splits"]["test"]["n_val"] > 0


# -- inspect, gradcheck -------------------------------------------------------------------
@pytest.mark.slow
def test_cli_inspect_names_the_format(small, tmp_path, capsys):
    assert main(["inspect", str(small)]) == 0
    assert "chexvision-mini (published layout)" in capsys.readouterr().out
    out = cli_json(["inspect", small, "--json"], capsys)
    assert out["format"] == "chexvision-mini (published layout)"
    own = tmp_path / "own"
    run_to_end(tiny_config(epochs=1), synthetic(200), own)
    out = cli_json(["inspect", own, "--json"], capsys)
    assert out["format"] == "chexmini" and out["resize_filter"] == "area"


def test_cli_gradcheck_on_a_published_checkpoint(small, capsys):
    out = cli_json(["gradcheck", "--checkpoint", small, "--json", "--samples", "5"], capsys)
    assert out["passed"] and {r["name"] for r in out["rows"]} >= {"fc1.W", "fc3.b"}


# -- the resize filter in metrics.json ----------------------------------------------------
@pytest.mark.slow
def test_training_records_the_area_filter_and_old_configs_still_load(tmp_path):
    out = tmp_path / "run"
    run_to_end(tiny_config(epochs=1), synthetic(200), out)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["resize_filter"] == "area"
    TrainConfig.from_dict(metrics["config"]).validate()
    assert load_checkpoint(out).resize_filter == "area"
    del metrics["config"]["resize_filter"]          # an older chexmini checkpoint
    (out / "metrics.json").write_text(json.dumps(metrics))
    assert load_checkpoint(out).resize_filter == "area"
    metrics["config"]["resize_filter"] = "lanczos"
    (out / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(ChexminiError, match="metrics.json: config resize_filter is 'lanczos'"):
        load_checkpoint(out)


def test_published_checkpoint_with_an_explicit_area_filter(tmp_path, pngs):
    ck = make_published(tmp_path / "ck", config={"resize_filter": "area"})
    ckpt = load_checkpoint(ck)
    assert ckpt.resize_filter == "area"
    layers, mean, std, _ = ref_load(ck)
    for path in pngs:
        gray = load_gray(path, 16)          # chexmini's area pipeline
        x = (gray.reshape(-1).astype(np.float64) / 255.0 - mean) / std
        assert abs(predict_label(ckpt.model, ckpt.preprocess(path), 0.5)[0]
                   - ref_proba(layers, x)[0]) < TOL


# -- the app --------------------------------------------------------------------------------
@pytest.mark.slow
def test_app_predict_and_inspect_on_a_published_checkpoint(small, pngs, tmp_path):
    from chexmini_tui.app import ChexminiApp
    from tests.helpers.tui import text_of, wait_for

    ref = ref_predict(small, pngs)

    async def go():
        app = ChexminiApp(checkpoint=str(small), start="predict", image_mode="halfcell",
                          runs=str(tmp_path / "runs"), artifacts=str(tmp_path / "artifacts"),
                          predict_root=str(pngs[0].parent))
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            scr = app.screen
            for path, r in zip(pngs, ref, strict=True):
                await pilot.press("o")
                scr.query_one("#pred-path").value = str(path)
                await pilot.press("enter")
                await pilot.pause()
                assert scr.error is None, scr.error
                assert abs(scr.last["prob"] - r) < TOL
            await pilot.press("escape", "4")
            await wait_for(pilot, lambda: app.screen.query("#insp-head"), 20, "Inspect")
            await pilot.pause()
            head = text_of(app.screen.query_one("#insp-head"))
            assert "chexvision-mini (published layout)" in head

    asyncio.run(go())


# -- export -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def own(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("own") / "run"
    run_to_end(tiny_config(epochs=2), synthetic(200), out)
    return out


@pytest.mark.slow
def test_export_round_trip(own, tmp_path, capsys):
    pub = tmp_path / "pub"
    assert main(["export", str(own), str(pub), "--format", "chexvision-mini"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert any("bicubic" in ln and "area-resized" in ln for ln in lines)
    with np.load(pub / "model.npz") as z:
        assert sorted(z.files) == ["0.W", "0.b", "3.W", "3.b", "6.W", "6.b",
                                   "_norm_mean", "_norm_std"]
        assert all(z[k].dtype == np.float64 for k in z.files)
    metrics = json.loads((pub / "metrics.json").read_text())
    src = json.loads((own / "metrics.json").read_text())
    assert metrics["config"]["image_size"] == 64 and metrics["config"]["hidden_dims"] == [32, 16]
    assert metrics["config"]["resize_filter"] == "area"
    for key in ("threshold", "best_epoch", "validation", "test", "splits"):
        assert metrics[key] == src[key]
    for name in ("history.json", "val_scores.npy", "test_labels.npy", "loss_curve.png"):
        assert (pub / name).read_bytes() == (own / name).read_bytes()
    # the reference loader on the exported keys = chexmini on the original, 64×64 inputs
    paths = [p for p in make_pngs(tmp_path / "imgs") if "64x64" in p.name]
    ckpt = load_checkpoint(own)
    mine = np.array([p.prob for p in predict_files(*ckpt, paths)])
    assert np.abs(ref_predict(pub, paths) - mine).max() < 1e-5
    # chexmini reloads the export with the area filter and float64 maths
    back = load_checkpoint(pub)
    assert back.layout == "chexvision-mini" and back.resize_filter == "area"
    again = np.array([p.prob for p in predict_files(*back, paths, resize=back.resize_filter)])
    assert np.abs(again - mine).max() < 1e-5
    # and back to chexmini's layout: same float64 model, same predictions
    own2 = tmp_path / "own2"
    assert main(["export", str(pub), str(own2), "--format", "chexmini"]) == 0
    capsys.readouterr()
    conv = load_checkpoint(own2)
    assert conv.layout == "chexmini" and conv.resize_filter == "area"
    third = np.array([p.prob for p in predict_files(*conv, paths, resize=conv.resize_filter)])
    assert np.array_equal(third, again)


def test_export_of_a_published_checkpoint_keeps_bicubic(small, pngs, tmp_path, capsys):
    out = tmp_path / "mine"
    assert main(["export", str(small), str(out), "--format", "chexmini"]) == 0
    assert "bicubic" in capsys.readouterr().out
    ckpt = load_checkpoint(out)
    assert ckpt.resize_filter == "bicubic" and ckpt.layout == "chexmini"
    got = np.array([p.prob for p in predict_files(*ckpt, pngs, resize=ckpt.resize_filter)])
    assert np.abs(got - ref_predict(small, pngs)).max() < TOL


@pytest.mark.slow
def test_export_refuses_an_existing_checkpoint_unless_overwrite(own, tmp_path, capsys):
    out = tmp_path / "pub"
    assert main(["export", str(own), str(out)]) == 0
    capsys.readouterr()
    line = cli_error(["export", own, out], capsys)
    assert "already holds a checkpoint" in line and str(out) in line
    assert "is the checkpoint being exported" in cli_error(["export", own, own], capsys)
    (out / "stale.txt").write_text("kept")
    (out / "history.json").write_text("old")
    assert main(["export", str(own), str(out), "--overwrite"]) == 0
    assert (out / "history.json").read_bytes() == (own / "history.json").read_bytes()
    assert not list(out.glob(".*.tmp"))


@pytest.mark.slow
def test_export_of_the_shipped_checkpoint(shared_data, tmp_path, capsys):
    shipped = REPO / "artifacts"
    if not (shipped / "model.npz").is_file():
        pytest.skip("no shipped checkpoint")
    pub = tmp_path / "pub"
    assert main(["export", str(shipped), str(pub)]) == 0
    capsys.readouterr()
    paths = sorted((shared_data / "nih14_subset" / "png").glob("*.png"))
    ckpt = load_checkpoint(shipped)
    mine = np.array([p.prob for p in predict_files(*ckpt, paths)])
    assert np.abs(ref_predict(pub, paths) - mine).max() < 1e-5


# -- bad published-layout files -------------------------------------------------------------
def _edit_npz(mutate):
    def damage(d: Path) -> None:
        with np.load(d / "model.npz") as z:
            arrays = {k: z[k] for k in z.files}
        mutate(arrays)
        np.savez(d / "model.npz", **arrays)
    return damage


def _edit_config(**changes):
    def damage(d: Path) -> None:
        metrics = json.loads((d / "metrics.json").read_text())
        metrics["config"].update(changes)
        (d / "metrics.json").write_text(json.dumps(metrics))
    return damage


def _rename(old: str, new: str):
    return lambda a: a.__setitem__(new, a.pop(old))


BAD = [
    ("missing-index", _edit_npz(lambda a: (_rename("6.W", "9.W")(a), _rename("6.b", "9.b")(a))),
     "model.npz: missing layer '6'"),
    ("w-without-b", _edit_npz(lambda a: a.pop("3.b")), "'3.W' without '3.b'"),
    ("b-without-w", _edit_npz(lambda a: a.pop("0.W")), "'0.b' without '0.W'"),
    ("no-chain", _edit_npz(lambda a: a.__setitem__("3.W", np.zeros((15, 8)))),
     "shapes do not chain"),
    ("bad-bias", _edit_npz(lambda a: a.__setitem__("3.b", np.zeros(9))), "'3.b' has shape"),
    ("not-linear-index", _edit_npz(lambda a: a.__setitem__("4.W", np.zeros((2, 2)))),
     "'4.W' is not a Linear layer index"),
    ("non-finite", _edit_npz(lambda a: a["3.W"].__setitem__((0, 0), np.nan)),
     "3.W contains NaN or infinite"),
    ("no-norm", _edit_npz(lambda a: a.pop("_norm_std")), "missing key '_norm_std'"),
    ("norm-length", _edit_npz(lambda a: a.__setitem__("_norm_mean", np.zeros(7))),
     "_norm_mean has 7 values"),
    ("two-outputs", _edit_npz(lambda a: (a.__setitem__("6.W", np.ones((8, 2))),
                                         a.__setitem__("6.b", np.zeros(2)))),
     "the last layer has 2 outputs"),
    ("mixed", _edit_npz(lambda a: a.__setitem__("fc1.W", a["0.W"])), "mixed layouts"),
    ("config-hidden", _edit_config(hidden_dims=[16, 4]), "config hidden_dims [16, 4]"),
    ("config-size", _edit_config(image_size=64), "config image_size 64"),
]


@pytest.mark.parametrize("name, damage, message", BAD, ids=[b[0] for b in BAD])
@pytest.mark.parametrize("command", ["predict", "evaluate", "inspect", "gradcheck"])
def test_bad_published_files(small, tmp_path, capsys, name, damage, message, command):
    bad = tmp_path / "ck"
    shutil.copytree(small, bad)
    damage(bad)
    img = tmp_path / "x.png"
    Image.new("L", (16, 16), 50).save(img)
    argv = {"predict": ["predict", "--checkpoint", bad, "--image", img],
            "evaluate": ["evaluate", "--checkpoint", bad, "--data", "synthetic:200"],
            "inspect": ["inspect", bad],
            "gradcheck": ["gradcheck", "--checkpoint", bad],
            }[command]
    line = cli_error(argv, capsys)
    assert message in line and str(bad) in line


@pytest.mark.parametrize("name, damage, message", BAD[:3], ids=[b[0] for b in BAD[:3]])
def test_bad_published_files_in_export(small, tmp_path, capsys, name, damage, message):
    bad = tmp_path / "ck"
    shutil.copytree(small, bad)
    damage(bad)
    line = cli_error(["export", bad, tmp_path / "out"], capsys)
    assert message in line and str(bad) in line
    assert not (tmp_path / "out" / "model.npz").exists()
