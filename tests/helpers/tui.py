"""Builders shared by the app tests (``tests/tui``) and the tests that drive the app from
elsewhere: fixed checkpoints and event logs (no training, bit-for-bit stable), and
helpers to drive the app through the Pilot."""

from __future__ import annotations

import io
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import numpy as np
from PIL import Image
from rich.console import Console

from chexmini_tui.app import ChexminiApp
from core.data.synthetic import make_images
from core.evaluation.metrics import youden_threshold
from core.events import (
    CheckpointSaved,
    EpochEnd,
    EventLog,
    Finished,
    RunStarted,
    StepDone,
)
from core.foundation.config import TrainConfig
from core.inference import predict_label
from core.nn.model import MLP, sigmoid
from core.nn.standardize import feature_stats
from core.runs.checkpoint import build_metrics, load_checkpoint, save_artifacts

SIZE = (100, 32)



def make_checkpoint(out: Path, seed: int = 0, hidden=(16, 8), n: int = 60,
                    best_epoch: int = 4, epochs: int = 5) -> Path:
    """A complete artifact folder from fixed arrays (no training, bit-for-bit stable)."""
    rng = np.random.default_rng(seed)
    images, _, _, _ = make_images(80, 64, seed=seed)
    mean, std = feature_stats(images)
    model = MLP((64 * 64, *hidden, 1), dropout=0.0, seed=seed)

    def split(shift: float):
        labels = (np.arange(n) % 3 == 0).astype(np.float64)
        scores = sigmoid(rng.normal(1.3 * labels - 0.5 + shift, 1.0))
        return np.round(scores, 6), labels

    val_scores, val_labels = split(0.0)
    test_scores, test_labels = split(0.1)
    thr = youden_threshold(val_scores, val_labels)
    cfg = TrainConfig(hidden_dims=list(hidden), epochs=epochs, seed=seed).to_dict()
    splits = {"train": {"n": 280, "pos": 93, "neg": 187},
              "val": {"n": n, "pos": int(val_labels.sum()), "neg": n - int(val_labels.sum())},
              "test": {"n": n, "pos": int(test_labels.sum()),
                       "neg": n - int(test_labels.sum())}}
    metrics = build_metrics(config=cfg, splits=splits, best_epoch=best_epoch, threshold=thr,
                            val_scores=val_scores, val_labels=val_labels,
                            test_scores=test_scores, test_labels=test_labels,
                            data_info={"source": f"synthetic:400 (fixture {seed})"})
    e = np.arange(1, epochs + 1, dtype=np.float64)
    history = {"train_loss": list(0.7 / e ** 0.3 - 0.01 * seed),
               "reg_loss": list(0.001 * e),
               "val_loss": list(0.72 / e ** 0.2),
               "val_acc": list(0.6 + 0.03 * e),
               "val_auc": list(0.6 + 0.05 * e - 0.004 * e ** 2 + 0.01 * seed),
               "lr": list(1e-3 * (1 + np.cos(np.pi * (e - 1) / epochs)) / 2 + 1e-5)}
    save_artifacts(out, model=model, mean=mean, std=std, metrics=metrics, history=history,
                   val_scores=val_scores, val_labels=val_labels, test_scores=test_scores,
                   test_labels=test_labels)
    return out



def card_prediction(ckpt: Path, png: Path) -> tuple[float, str]:
    """``(P(abnormal), label)`` of ``png`` by the checkpoint's own pipeline and active
    threshold: what every screen must agree with."""
    c = load_checkpoint(ckpt)
    return predict_label(c.model, c.preprocess(png), c.threshold)


def write_png(path: Path, index: int = 0, size: int = 64) -> Path:
    images, _, _, _ = make_images(index + 1, size, seed=3)
    Image.fromarray(images[index]).save(path)
    return path



def fixed_health(ep: int) -> tuple[dict, dict]:
    """Fixed ``(health, system)`` figures of epoch ``ep`` for :func:`write_fixed_events`:
    fc2's dead share grows 0.2 a epoch from 0.1 (past 50 % from epoch 3)."""
    health = {
        "fc1": {"w_norm": 40.0 + ep, "grad_norm": 2.0 / ep, "update_ratio": 1e-3 * ep,
                "act_mean": 1.5, "act_std": 2.5, "dead": 0.0},
        "fc2": {"w_norm": 5.0, "grad_norm": 0.5, "update_ratio": 2e-3, "act_mean": 0.8,
                "act_std": 1.2, "dead": min(0.1 + 0.2 * (ep - 1), 1.0)},
        "fc3": {"w_norm": 1.25, "grad_norm": 0.25, "update_ratio": 5e-4, "act_mean": -0.3,
                "act_std": 0.9, "saturated": 0.0},
    }
    system = {"cpu_percent": 150.0 + ep, "rss_mb": 200.0 + ep, "peak_rss_mb": 210.0,
              "samples_per_s": 1000.0 * ep}
    return health, system


def write_fixed_events(run_dir: Path, epochs: int = 6, spe: int = 4,
                       health: bool = False) -> Path:
    """A finished run's events.jsonl with fixed numbers (no timing in it); ``health``:
    with :func:`fixed_health`'s figures in each epoch (else none, as older logs)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    log = EventLog(run_dir / "events.jsonl")
    cfg = TrainConfig(hidden_dims=[32, 16], epochs=epochs, batch_size=64).to_dict()
    splits = {"train": {"n": 210, "pos": 72, "neg": 138, "positive_rate": 0.343,
                        "patients": 120},
              "val": {"n": 45, "pos": 15, "neg": 30, "positive_rate": 0.333, "patients": 25},
              "test": {"n": 45, "pos": 15, "neg": 30, "positive_rate": 0.333, "patients": 25}}
    log.write(RunStarted(cfg, splits, [4096, 32, 16, 1], 131_665, "synthetic:300",
                         "runs/demo", 0, 0, False, spe))
    best, best_auc, g = 0, -1.0, 0
    for ep in range(1, epochs + 1):
        lr = 1e-3 * (1 + np.cos(np.pi * (ep - 1) / epochs)) / 2 + 1e-5
        for s in range(1, spe + 1):
            g += 1
            log.write(StepDone(ep, epochs, s, spe, g, 0.8 / (g ** 0.25), lr, 2000.0))
        auc = 0.8 - 0.01 * (ep - 4) ** 2
        if auc > best_auc:
            best, best_auc = ep, auc
        log.write(EpochEnd(ep, epochs, 0.75 / ep ** 0.3, 0.002, 0.7 / ep ** 0.2, auc,
                           0.6 + 0.02 * ep, lr, ep == best, best, best_auc, 0.5,
                           *(fixed_health(ep) if health else ({}, {}))))
        log.write(CheckpointSaved("runs/demo/resume.npz", ep, 0, "resume"))
    log.write(CheckpointSaved("runs/demo", epochs, 0, "artifacts"))
    head = {"auc": 0.81, "accuracy": 0.76, "balanced_accuracy": 0.75, "precision": 0.6,
            "recall": 0.7, "specificity": 0.8, "f1": 0.65}
    log.write(Finished("runs/demo", best, epochs, 0.4321, head,
                       {**head, "auc": 0.78}, False, 3.0))
    log.close()
    return run_dir



def text_of(widget) -> str:
    """The plain text a Static-like widget shows (markup string, Text or Rich renderable)."""
    content = widget.content
    if isinstance(content, str):
        return str(widget.render())
    if hasattr(content, "plain"):
        return content.plain
    console = Console(width=250, file=io.StringIO(), record=True, color_system=None)
    console.print(content)
    return console.export_text()



async def wait_for(pilot, cond, timeout: float = 60.0, what: str = "condition") -> None:
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)



def make_app(tmp_path: Path, **kw) -> ChexminiApp:
    kw.setdefault("runs", str(tmp_path / "runs"))
    kw.setdefault("artifacts", str(tmp_path / "artifacts"))
    kw.setdefault("image_mode", "halfcell")
    return ChexminiApp(**kw)



def fill_form(screen, **values) -> None:
    from textual.widgets import Checkbox, Input

    for name, value in values.items():
        if name == "augment":
            screen.query_one("#f-augment", Checkbox).value = bool(value)
        else:
            screen.query_one(f"#f-{name}", Input).value = str(value)



async def inspect_ready(pilot, screen, timeout: float = 30.0) -> None:
    """Wait until the Inspect screen has drawn the rows of its (threaded) folder scan."""
    await wait_for(pilot, lambda: screen.scans > 0 and not screen.scanning, timeout,
                   "the Inspect folder scan")


def select_run(screen, path) -> None:
    """Put Inspect's table cursor on the run folder ``path``."""
    assert screen.query_one("#insp-runs").select_path(str(path)), f"{path} not listed"


def write_run_log(run_dir: Path, aucs: list[float], planned: int = 10,
                  source: str = "synthetic:300", hidden=(16,)) -> Path:
    """An unfinished run's events.jsonl: epoch *e* has val AUC ``aucs[e-1]``, val loss
    ``1/(e+1)`` and train loss ``1/e`` (fixed numbers, no training)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    log = EventLog(run_dir / "events.jsonl")
    cfg = TrainConfig(hidden_dims=list(hidden), epochs=planned, batch_size=32).to_dict()
    log.write(RunStarted(cfg, {}, [4096, *hidden, 1], 100, source, str(run_dir), 0, 0,
                         False, 2))
    best, best_auc = 0, -1.0
    for ep, auc in enumerate(aucs, start=1):
        if auc > best_auc:
            best, best_auc = ep, auc
        log.write(EpochEnd(ep, planned, 1 / ep, 0.0, 1 / (ep + 1), auc, 0.6, 1e-3,
                           ep == best, best, best_auc, 0.1))
    log.close()
    return run_dir


@asynccontextmanager
async def replayed_run(tmp_path: Path, size: tuple[int, int],
                       **events: int | bool) -> AsyncIterator[tuple]:
    """The app attached to a finished fixed run (:func:`write_fixed_events` in
    ``tmp_path/runs/demo``, ``events`` passed on), replayed to its end on the Train
    screen: ``(app, pilot, screen)``."""
    run_dir = write_fixed_events(tmp_path / "runs" / "demo", **events)
    app = make_app(tmp_path, attach=str(run_dir))
    async with app.run_test(size=size) as pilot:
        scr = app.screen
        await wait_for(pilot, lambda: scr.state.finished is not None, 10, "replay")
        yield app, pilot, scr


def checkpoint_settled(app) -> bool:
    """The active checkpoint is loaded (no read in flight) and, on Evaluate, its scores."""
    if app.state.active.loading or app._loading is not None:
        return False
    return not getattr(app.screen, "reading_scores", False)


async def settle_checkpoint(pilot, timeout: float = 20.0) -> None:
    """Wait until the active checkpoint (read in a thread) and Evaluate's scores are in."""
    await wait_for(pilot, lambda: checkpoint_settled(pilot.app), timeout,
                   "the active checkpoint to load")
    await pilot.pause()
