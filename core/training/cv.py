"""k-fold patient-grouped cross-validation of several models on the same folds.

For fold f: the images of fold f are the test set; the remaining patients are split
(grouped, stratified, seeded) into train and validation. Each model is trained on train,
its best epoch and operating threshold (Youden's J) are chosen on validation only, and
the test fold is scored once. Models are given as ``TrainConfig`` (the MLP, or a linear
model = ``hidden_dims=[]``) or ``None`` for the constant baseline, which scores every
image with the training positive rate (ROC-AUC exactly 0.5, balanced accuracy 0.5).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from core.data.dataset import DataSplits, Split, require_both_classes
from core.data.split import assign_groups, grouped_kfold
from core.evaluation.metrics import split_report, youden_threshold
from core.foundation.checks import check_number
from core.foundation.config import TrainConfig
from core.foundation.progress import Tick, TickFn, tick_or_nothing
from core.training.train import train


@dataclass(frozen=True)
class FoldResult:
    model: str
    fold: int
    test_auc: float
    test_balanced_accuracy: float
    val_auc: float
    best_epoch: int
    n_train: int
    n_val: int
    n_test: int


def concat_splits(data: DataSplits) -> Split:
    """All images of a DataSplits as one Split (train, then val, then test)."""
    parts = (data.train, data.val, data.test)
    return Split(np.concatenate([p.images for p in parts]),
                 np.concatenate([p.labels for p in parts]),
                 np.concatenate([p.names for p in parts]),
                 np.concatenate([p.groups for p in parts]))


def fold_splits(full: Split, k: int, seed: int, val_fraction: float,
                source: str = "") -> list[DataSplits]:
    """The k (train, val, test) splits; no patient is in two parts of any fold. Each must
    hold both classes in every part (checked here, before anything is trained)."""
    check_number("folds", k, lo=2, integer=True)
    check_number("cv seed", seed, lo=0, integer=True)
    check_number("fold val_fraction", val_fraction, lo=0, hi=1, lo_open=True, hi_open=True)
    folds = grouped_kfold(full.groups, full.labels, k, seed)
    out = []
    for f in range(k):
        test_idx = np.flatnonzero(folds == f)
        rest = np.flatnonzero(folds != f)
        part = assign_groups(full.groups[rest], full.labels[rest],
                             [1 - val_fraction, val_fraction], seed + 1000 + f)
        name = f"{source} fold {f + 1}/{k}" if source else f"fold {f + 1}/{k}"
        out.append(DataSplits(full.subset(rest[part == 0]), full.subset(rest[part == 1]),
                              full.subset(test_idx), source=name))
        require_both_classes(out[-1])
    return out


def _constant(data: DataSplits) -> tuple[float, float, float]:
    rate = float(np.mean(data.train.labels))
    val = np.full(len(data.val), rate)
    test = np.full(len(data.test), rate)
    thr = youden_threshold(val, data.val.labels)
    rep = split_report(test, data.test.labels, thr)
    return rep["auc"], rep["balanced_accuracy"], split_report(val, data.val.labels, thr)["auc"]


#: The task texts of :func:`cross_validate`'s ticks: models done of all, and the epochs of
#: the model in training (its info names the fold and model).
TICK_FITS, TICK_EPOCHS = "cross-validation", "epochs"


def cross_validate(
    full: Split,
    models: dict[str, TrainConfig | None],
    k: int = 5,
    seed: int = 0,
    val_fraction: float = 0.15,
    progress: Callable[[FoldResult], None] | None = None,
    source: str = "",
    tick: TickFn | None = None,
) -> list[FoldResult]:
    """Train and score every model on every fold; see the module docstring. ``source``
    names the data in error messages. ``progress(result)`` is called as each model's fold
    is scored; ``tick`` (:mod:`core.foundation.progress`) after each epoch and each fit."""
    tick = tick_or_nothing(tick)
    results: list[FoldResult] = []
    total = k * len(models)
    for f, data in enumerate(fold_splits(full, k, seed, val_fraction, source)):
        sizes = (len(data.train), len(data.val), len(data.test))
        for name, cfg in models.items():
            tick(Tick(TICK_FITS, len(results), total, f"fold {f + 1}/{k} {name}"))
            if cfg is None:
                auc, bal, val_auc = _constant(data)
                res = FoldResult(name, f + 1, auc, bal, val_auc, 0, *sizes)
            else:
                fin = _fit(TrainConfig.from_dict(cfg.to_dict()), data,
                           f"fold {f + 1}/{k} {name}", tick)
                res = FoldResult(name, f + 1, fin.test["auc"], fin.test["balanced_accuracy"],
                                 fin.validation["auc"], fin.best_epoch, *sizes)
            results.append(res)
            if progress is not None:
                progress(res)
    tick(Tick(TICK_FITS, len(results), total, "done"))
    return results


def _fit(cfg: TrainConfig, data: DataSplits, label: str, tick: TickFn):
    """Train ``cfg`` on ``data`` (no run folder), ticking each epoch; the Finished event."""
    fin = None
    for ev in train(cfg, data, step_events=False):
        if ev.kind == "epoch":
            tick(Tick(TICK_EPOCHS, ev.epoch, ev.epochs,
                      f"{label}  val AUC {ev.val_auc:.4f}"))
        fin = ev
    return fin


def summarise(results: list[FoldResult]) -> dict[str, dict[str, float]]:
    """Per model: mean and sample sd (ddof=1) of test AUC and balanced accuracy."""
    out: dict[str, dict[str, float]] = {}
    for name in dict.fromkeys(r.model for r in results):
        rs = [r for r in results if r.model == name]
        auc = np.array([r.test_auc for r in rs])
        bal = np.array([r.test_balanced_accuracy for r in rs])
        out[name] = {"folds": len(rs), "auc_mean": float(auc.mean()), "auc_sd": _sd(auc),
                     "balanced_accuracy_mean": float(bal.mean()),
                     "balanced_accuracy_sd": _sd(bal)}
    return out


def _sd(a: np.ndarray) -> float:
    """Sample standard deviation (ddof = 1); 0 for a single value."""
    return float(a.std(ddof=1)) if len(a) > 1 else 0.0


def results_to_dicts(results: list[FoldResult]) -> list[dict]:
    return [asdict(r) for r in results]
