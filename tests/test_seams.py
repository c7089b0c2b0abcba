"""The seam matrix: every kind of checkpoint meets every consumer of a checkpoint.

Two lists make the matrix: :data:`KINDS` (how a checkpoint folder came to be) and
:data:`CONSUMERS` (everything that reads one). A new kind or consumer joins by one line,
and meets all the others. Each cell either

* **works and agrees**: the probabilities it shows equal the model card's three lines
  to 1e-9 and an independent reference (the weights read with ``np.load``, the published
  pipeline's formulas) to float32 precision; the threshold it applies is the checkpoint's
  active one (``metrics.json``'s ``operating_point`` when saved, else its ``threshold``,
  read here with ``json``); its labels follow ``score >= threshold``; its confusion counts
  match the saved test scores counted here; or
* **refuses in one line**: exit code 2, one line ``chexmini: error: …`` that says why,
  and only where :data:`REFUSALS` says the cell cannot work (and why).

The app's screens are the same matrix's last columns (``tests/tui/test_seams_app.py``).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from chexmini_cli.main import main
from core.data.images import load_gray
from tests.helpers import REPO, tiny_config

pytestmark = pytest.mark.slow

PROB_TOL = 1e-9          # consumers against the model card's lines (the same arithmetic)
REF_TOL = {np.dtype(np.float64): 1e-9, np.dtype(np.float32): 2e-5}  # against the formulas
SIDE = 64                # every kind takes 64×64 input, so the card's line is literal
PUBLISHED_WIDTHS = (SIDE * SIDE, 16, 8, 1)


# -- the kinds ------------------------------------------------------------------------------
def _cli(argv: list) -> tuple[int, str, str]:
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse
            rc = exc.code
    return rc, out.getvalue(), err.getvalue()


def _ok(argv: list) -> str:
    rc, out, err = _cli(argv)
    assert rc == 0, f"{argv}: exit {rc}\n{err}"
    return out


def make_fresh(root: Path) -> Path:
    """A run trained here by ``chexmini train`` on synthetic X-rays."""
    out = root / "fresh"
    cfg = tiny_config(epochs=3)
    _ok(["train", "--data", "synthetic:240", "--out", out, "--epochs", cfg.epochs,
         "--hidden-dims", ",".join(map(str, cfg.hidden_dims)), "--batch-size", cfg.batch_size])
    return out


def make_rmsprop(root: Path) -> Path:
    """A run trained by ``chexmini train --optimizer rmsprop`` (its config records it)."""
    out = root / "rmsprop"
    cfg = tiny_config(epochs=2)
    _ok(["train", "--data", "synthetic:240", "--out", out, "--epochs", cfg.epochs,
         "--hidden-dims", ",".join(map(str, cfg.hidden_dims)), "--batch-size", cfg.batch_size,
         "--optimizer", "rmsprop", "--quiet"])
    return out


def make_shipped(root: Path) -> Path:
    """The checkpoint shipped in ``artifacts/`` (a copy, its shipped mark included)."""
    return Path(shutil.copytree(REPO / "artifacts", root / "shipped"))


def make_installed(root: Path) -> Path:
    """The shipped checkpoint as installed with the package (what a command uses from a
    folder without ``./artifacts``): the installed folder itself, never a copy."""
    from core.runs.release.shipped import installed_checkpoint, resolve_checkpoint

    if installed_checkpoint() is None:
        pytest.skip("chexmini is not installed (pip install -e .)")
    where = root / "no-artifacts-here"
    where.mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(where)
        choice = resolve_checkpoint(None)
    assert choice.source == "installed"
    return Path(choice.path)


def _published(root: Path, name: str, norm_shape: Callable[[int], tuple]) -> Path:
    """A published-layout folder written from the published facts: ``Sequential`` keys
    ``0.W, 0.b, 3.W, …`` with ``W: (in, out)`` in float64, ``_norm_mean/_norm_std``, the
    artifact set (``metrics.json`` with config and Youden threshold, history, scores)."""
    out = root / name
    out.mkdir()
    rng = np.random.default_rng(7)
    arrays = {}
    for k in range(len(PUBLISHED_WIDTHS) - 1):
        n_in, n_out = PUBLISHED_WIDTHS[k], PUBLISHED_WIDTHS[k + 1]
        arrays[f"{3 * k}.W"] = rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)
        arrays[f"{3 * k}.b"] = rng.standard_normal(n_out) * 0.05
    d = PUBLISHED_WIDTHS[0]
    arrays["_norm_mean"] = rng.uniform(0.3, 0.6, d).reshape(norm_shape(d))
    arrays["_norm_std"] = rng.uniform(0.15, 0.3, d).reshape(norm_shape(d))
    np.savez(out / "model.npz", **arrays)
    scores = {s: (np.round(rng.uniform(0, 1, 40), 6), (np.arange(40) % 3 == 0) * 1.0)
              for s in ("val", "test")}
    for s, (sc, lab) in scores.items():
        np.save(out / f"{s}_scores.npy", sc)
        np.save(out / f"{s}_labels.npy", lab)
    from core.evaluation.metrics import split_report, youden_threshold

    thr = youden_threshold(*scores["val"])
    cfg = {"image_size": SIDE, "hidden_dims": list(PUBLISHED_WIDTHS[1:-1]), "dropout": 0.3,
           "optimizer": "adam", "lr": 0.001, "lr_schedule": "cosine", "weight_decay": 1e-4,
           "l1": 0.0, "label_smoothing": 0.05, "batch_size": 256, "epochs": 200,
           "augment": True, "standardize": True, "dataset_revision": "abc"}
    metrics = {"best_epoch": 7, "threshold": thr, "label_map": {"0": "normal", "1": "abnormal"},
               "config": cfg,
               "splits": {s: {"n": 40, "pos": 14, "neg": 26} for s in ("train", "val", "test")},
               "validation": split_report(*scores["val"], thr),
               "test": split_report(*scores["test"], thr)}
    (out / "metrics.json").write_text(json.dumps(metrics))
    e = list(range(1, 8))
    (out / "history.json").write_text(json.dumps(
        {k: [0.5 / i for i in e] for k in ("train_loss", "reg_loss", "val_loss", "val_acc",
                                            "val_auc", "lr")}))
    Image.new("RGB", (8, 8)).save(out / "loss_curve.png")
    return out


def make_published(root: Path) -> Path:
    return _published(root, "published", lambda d: (d,))


def make_published_1xd(root: Path) -> Path:
    """As the published code saves them: ``_norm_*`` of shape ``(1, D)``."""
    return _published(root, "published-1xD", lambda d: (1, d))


def make_exported(root: Path) -> Path:
    """A published-layout folder exported from a chexmini run."""
    out = root / "exported"
    _ok(["export", kind_path(root, "fresh"), out, "--format", "chexvision-mini"])
    return out


def make_round_trip(root: Path) -> Path:
    """chexmini → published → chexmini."""
    out = root / "round-trip"
    _ok(["export", kind_path(root, "exported"), out, "--format", "chexmini"])
    return out


def make_saved_op(root: Path) -> Path:
    """A run after ``chexmini evaluate --target-sensitivity 0.9 --save``."""
    out = Path(shutil.copytree(kind_path(root, "fresh"), root / "saved-op"))
    _ok(["evaluate", "--checkpoint", out, "--target-sensitivity", "0.9", "--save"])
    return out


def make_kaggle_folder(root: Path) -> Path:
    """A run trained on a Kaggle-layout folder (``train/val/test × NORMAL/PNEUMONIA``)
    read with ``--classes``: the recorded source carries the mapping."""
    from tests.helpers.layouts import kaggle

    kaggle(root / "kaggle-data", n=8, side=SIDE)
    out = root / "kaggle-folder"
    _ok(["train", "--data", root / "kaggle-data", "--classes", "normal=NORMAL",
         "abnormal=PNEUMONIA", "--out", out, "--epochs", 2, "--hidden-dims", "16,8",
         "--batch-size", 16, "--quiet"])
    return out


#: How a checkpoint folder came to be. One line adds a kind to every consumer.
KINDS: dict[str, Callable[[Path], Path]] = {
    "fresh": make_fresh,
    "rmsprop": make_rmsprop,
    "shipped": make_shipped,
    "installed": make_installed,
    "published": make_published,
    "published-1xD": make_published_1xd,
    "exported": make_exported,
    "round-trip": make_round_trip,
    "saved-op": make_saved_op,
    "kaggle-folder": make_kaggle_folder,
}

_BUILT: dict[tuple[Path, str], Path] = {}


def kind_path(root: Path, kind: str) -> Path:
    """The folder of ``kind`` under ``root``, built once (kinds may build on each other)."""
    key = (root, kind)
    if key not in _BUILT:
        _BUILT[key] = KINDS[kind](root)
    return _BUILT[key]


# -- the truth, computed here from the files ---------------------------------------------------
@dataclass
class Truth:
    threshold: float
    probs: dict[str, float]
    test_counts: dict[str, int]
    dtype: np.dtype


def _layers(folder: Path) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray,
                                   np.ndarray]:
    with np.load(folder / "model.npz") as z:
        keys = set(z.files)
        if "fc1.W" in keys:
            names = [(f"fc{i}.W", f"fc{i}.b") for i in range(1, 99) if f"fc{i}.W" in keys]
        else:
            names = [(f"{k}.W", f"{k}.b") for k in range(0, 99, 3) if f"{k}.W" in keys]
        layers = [(z[w], z[b]) for w, b in names]
        return layers, z["_norm_mean"].reshape(-1), z["_norm_std"].reshape(-1)


def reference_probs(folder: Path, images: list[Path]) -> tuple[dict[str, float], np.dtype]:
    """P(abnormal) by the formulas: the recorded resize filter (bicubic for the published
    layout), ``(p/255 − μ)/σ``, ReLU layers, the sigmoid — in float64."""
    layers, mean, std = _layers(folder)
    config = json.loads((folder / "metrics.json").read_text()).get("config", {})
    published = not (folder / "model.npz").exists() or "0.W" in np.load(folder / "model.npz")
    resize = config.get("resize_filter", "bicubic" if published else "area")
    out = {}
    for path in images:
        x = load_gray(path, SIDE, resize).reshape(-1).astype(np.float64) / 255.0
        h = ((x - mean) / std)[None]
        for i, (w, b) in enumerate(layers):
            h = h @ w.astype(np.float64) + b
            if i < len(layers) - 1:
                h = np.maximum(h, 0.0)
        out[str(path)] = float(1.0 / (1.0 + np.exp(-h[0, 0])))
    return out, layers[0][0].dtype


def truth_of(folder: Path, images: list[Path]) -> Truth:
    metrics = json.loads((folder / "metrics.json").read_text())
    op = metrics.get("operating_point")
    thr = float(op["threshold"] if op else metrics["threshold"])
    s, y = np.load(folder / "test_scores.npy"), np.load(folder / "test_labels.npy")
    pred, pos = s >= thr, y == 1
    counts = {"tp": int((pred & pos).sum()), "fp": int((pred & ~pos).sum()),
              "fn": int((~pred & pos).sum()), "tn": int((~pred & ~pos).sum())}
    probs, dtype = reference_probs(folder, images)
    return Truth(thr, probs, counts, dtype)


# -- the consumers ----------------------------------------------------------------------------
@dataclass
class Seen:
    """What one consumer showed of one checkpoint (None: it does not show that)."""

    threshold: float | None = None
    probs: dict[str, float] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    test_counts: dict[str, int] | None = None
    refused: str | None = None     # the one error line, when it refused
    #: computed by another pipeline than the card's on this folder (an export into the
    #: float64 published layout): held to the reference's tolerance only
    other_pipeline: bool = False


class Refused(Exception):
    pass


def _json(argv: list) -> dict:
    rc, out, err = _cli(argv)
    lines = err.strip().splitlines()
    if rc == 2 and len(lines) == 1 and lines[0].startswith("chexmini: error: "):
        raise Refused(lines[0])
    assert rc == 0, f"{argv}: exit {rc}, not one clear line:\n{err}"
    assert "Traceback" not in err
    return json.loads(out)


def api(ck: Path, images: list[Path]) -> Seen:
    """The model card's three lines, literally."""
    from core.inference import load_checkpoint, predict_label, preprocess_image

    model, mean, std, threshold = load_checkpoint(ck)
    seen = Seen(threshold=threshold)
    for path in images:
        x = preprocess_image(path, image_size=64, mean=mean, std=std)
        prob, label = predict_label(model, x, threshold)
        seen.probs[str(path)], seen.labels[str(path)] = prob, label
    return seen


def predict(ck: Path, images: list[Path]) -> Seen:
    d = _json(["predict", "--checkpoint", ck, "--json", "--image", *images])
    return Seen(threshold=d["threshold"],
                probs={p["path"]: p["prob_abnormal"] for p in d["predictions"]},
                labels={p["path"]: p["label"] for p in d["predictions"]})


def _evaluate(ck: Path, extra: list) -> Seen:
    d = _json(["evaluate", "--checkpoint", ck, "--json", "--split", "test", *extra])
    cm = d["splits"]["test"]["confusion_matrix"]
    return Seen(threshold=d["threshold"], test_counts={k: int(v) for k, v in cm.items()})


def evaluate(ck: Path, images: list[Path]) -> Seen:
    return _evaluate(ck, [])


def evaluate_data(ck: Path, images: list[Path]) -> Seen:
    """Rescored on data: the threshold must still be the checkpoint's."""
    seen = _evaluate(ck, ["--data", "synthetic:240"])
    seen.test_counts = None   # other images than the saved scores
    return seen


def inspect(ck: Path, images: list[Path]) -> Seen:
    d = _json(["inspect", ck, "--json"])
    return Seen(threshold=d["active_threshold"])


def inspect_filters(ck: Path, images: list[Path]) -> Seen:
    """``inspect --filters``: a PNG with every fc1 unit; dead units only with the images."""
    out = _OUT[0] / f"{ck.name}.filters.png"   # never beside an installed checkpoint
    rc, stdout, err = _cli(["inspect", ck, "--filters", out])
    assert rc == 0 and "Traceback" not in err, err
    from core.inference import load_checkpoint

    assert f"filters: {load_checkpoint(ck).model.widths[1]} fc1 templates" in stdout
    assert Image.open(out).format == "PNG"
    return Seen()


def gradcheck(ck: Path, images: list[Path]) -> Seen:
    d = _json(["gradcheck", "--checkpoint", ck, "--samples", "2", "--batch", "2", "--json"])
    assert d["passed"], d
    return Seen()


def gallery(ck: Path, images: list[Path]) -> Seen:
    counts = {}
    thr = None
    for cell in ("TN", "FP", "FN", "TP"):
        d = _json(["gallery", ck, "--split", "test", "--cell", cell, "--top", "0", "--json"])
        counts[cell.lower()], thr = d["n_cell"], d["threshold"]
    return Seen(threshold=thr, test_counts=counts)


def export(ck: Path, images: list[Path]) -> Seen:
    """Exported to the other layout and loaded back: the same model and threshold."""
    from core.inference import load_checkpoint

    fmt = "chexmini" if "0.W" in np.load(ck / "model.npz") else "chexvision-mini"
    out = _OUT[0] / f"{ck.name}.export-{fmt}"   # never beside an installed checkpoint
    shutil.rmtree(out, ignore_errors=True)
    rc, _, err = _cli(["export", ck, out, "--format", fmt])
    lines = err.strip().splitlines()
    if rc == 2 and len(lines) == 1:
        raise Refused(lines[0])
    assert rc == 0, err
    loaded = load_checkpoint(out)
    return Seen(threshold=loaded.threshold, other_pipeline=fmt == "chexvision-mini",
                probs={str(p): float(loaded.model.predict_proba(loaded.preprocess(p)[None])[0])
                       for p in images})


def evaluate_save(ck: Path, images: list[Path]) -> Seen:
    """``evaluate --save`` writes the operating point (and renders the model card again)
    into the folder; the shipped checkpoint refuses. The folder is put back afterwards."""
    from core.runs.checkpoint import load_checkpoint

    kept = {n: (ck / n).read_bytes() for n in ("metrics.json", "README.md")
            if (ck / n).exists()}
    try:
        d = _json(["evaluate", "--checkpoint", ck, "--json", "--target-sensitivity", "0.9",
                   "--save"])
        op = json.loads((ck / "metrics.json").read_text())["operating_point"]
        assert d["threshold"] == op["threshold"] == load_checkpoint(ck).threshold
        assert f"**{op['threshold']:.4f}** ({op['rule']})" in (ck / "README.md").read_text()
    except Refused:
        assert all((ck / n).read_bytes() == b for n, b in kept.items()), "written"
        raise
    finally:
        for n, b in kept.items():
            if (ck / n).read_bytes() != b:
                (ck / n).write_bytes(b)
        if "README.md" not in kept:
            (ck / "README.md").unlink(missing_ok=True)
    return Seen()


#: Everything that reads a checkpoint (the app's screens: tests/tui/test_seams_app.py).
CONSUMERS: dict[str, Callable[[Path, list[Path]], Seen]] = {
    "api": api,
    "predict": predict,
    "evaluate": evaluate,
    "evaluate --data": evaluate_data,
    "inspect": inspect,
    "inspect --filters": inspect_filters,
    "gradcheck": gradcheck,
    "gallery": gallery,
    "export": export,
    "evaluate --save": evaluate_save,
}

#: The cells that cannot work, and the reason their one line must give.
REFUSALS: dict[tuple[str, str], str] = {
    **{(k, "gallery"): "records no data source" for k in ("published", "published-1xD")},
    **{(k, "evaluate --save"): "never written" for k in ("shipped", "installed")},
}
#: where the export consumer writes (set by the ``world`` fixture)
_OUT: list[Path] = []


# -- the matrix -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[Path, list[Path]]:
    """The folder the kinds are built in, and the images predicted on: real NIH X-rays at
    256 px shipped with the package (resized to 64: the filters differ) and a 64 px one."""
    root = tmp_path_factory.mktemp("seams")
    _OUT[:] = [root]
    shipped = sorted((REPO / "core" / "data" / "nih_sample" / "png256").glob("*/*.png"))[:3]
    small = root / "small.png"
    Image.open(shipped[0]).convert("L").resize((SIDE, SIDE)).save(small)
    return root, [*shipped, small]


@pytest.mark.parametrize("consumer", list(CONSUMERS))
@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_meets_every_consumer(world, kind, consumer):
    root, images = world
    ck = kind_path(root, kind)
    truth = truth_of(ck, images)
    expected_refusal = REFUSALS.get((kind, consumer))
    try:
        seen = CONSUMERS[consumer](ck, images)
    except Refused as exc:
        assert expected_refusal is not None, f"{kind} × {consumer} refused: {exc}"
        assert expected_refusal in str(exc), str(exc)
        return
    assert expected_refusal is None, f"{kind} × {consumer} worked; expected a refusal"
    if seen.threshold is not None:
        assert seen.threshold == pytest.approx(truth.threshold, abs=1e-12), "threshold"
    card = api(ck, images)
    for path, prob in seen.probs.items():
        if not seen.other_pipeline:
            assert prob == pytest.approx(card.probs[path], abs=PROB_TOL), path
        assert prob == pytest.approx(truth.probs[path], abs=REF_TOL[truth.dtype]), path
    for path, label in seen.labels.items():
        assert label == ("abnormal" if seen.probs[path] >= truth.threshold else "normal")
    if seen.test_counts is not None:
        assert seen.test_counts == truth.test_counts


def test_the_matrix_is_whole():
    """Every kind and consumer is distinct and every refusal names a real cell."""
    assert len(KINDS) * len(CONSUMERS) >= 8 * 9
    for kind, consumer in REFUSALS:
        assert kind in KINDS and consumer in CONSUMERS
