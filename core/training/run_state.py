"""All mutable state of one training run, and its save and restore.

:class:`TrainingState` is what ``resume.npz`` holds: the model, the best weights so far,
the optimiser, the normalisation statistics, the epoch/step counters, the history and the
random-number streams. :meth:`TrainingState.to_resume` and :meth:`TrainingState.restore`
are exact inverses, so a resumed run is bit-identical to an uninterrupted one;
:func:`restore_run` reads, checks and applies a saved state. (The learning rate is not
state: it is a function of the epoch, :func:`core.training.optim.lr_schedule`.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.data.dataset import DataSplits
from core.foundation.config import RESUME_MUTABLE, TrainConfig
from core.foundation.errors import ChexminiError
from core.nn.model import MLP
from core.nn.standardize import feature_stats, identity_stats
from core.runs.checkpoint import HISTORY_KEYS
from core.training.optim import make_optimizer
from core.training.resume_state import check_against_data, load_resume


class TrainingState:
    """All mutable state of one training run (what ``resume.npz`` saves) — not to be
    confused with what a front end folds from the run's events."""

    def __init__(self, config: TrainConfig, data: DataSplits) -> None:
        self.config = config
        self.data = data
        seeds = np.random.SeedSequence(config.seed).spawn(5)
        init_rng, shuffle_rng, aug_rng, drop_rng = (np.random.default_rng(s) for s in seeds[:4])
        self.noise_seed = int(seeds[4].generate_state(1)[0])
        self.shuffle_rng, self.aug_rng = shuffle_rng, aug_rng
        self.model = MLP(config.widths, config.dropout, seed=init_rng, dtype=np.float32)
        self.model.set_dropout_rng(drop_rng)
        params, grads = self.model.parameters(), self.model.gradients()
        self.opt = make_optimizer(config.optimizer, params, grads,
                                  weight_decay=config.weight_decay, l1=config.l1,
                                  momentum=config.momentum, betas=(config.beta1, config.beta2),
                                  eps=config.adam_eps, rho=config.rmsprop_rho,
                                  rms_eps=config.rmsprop_eps)
        if config.standardize:
            self.mean, self.std = feature_stats(data.train.images)
        else:
            self.mean, self.std = identity_stats(data.train.n_features)
        self.best = {k: v.copy() for k, v in params.items()}
        self.best_auc = -np.inf
        self.best_epoch = 0
        self.history: dict[str, list[float]] = {k: [] for k in HISTORY_KEYS}
        self.epoch = 0          # index of the current epoch (0-based)
        self.step = 0           # steps completed in the current epoch
        self.perm: np.ndarray | None = None
        self.loss_sum = 0.0
        self.seen = 0
        self.global_step = 0
        self.elapsed = 0.0

    # -- one epoch's bookkeeping ------------------------------------------------------------
    def keep_if_best(self, val_auc: float, params: dict[str, np.ndarray]) -> bool:
        """Copy ``params`` as the best model if ``val_auc`` beats the best so far."""
        is_best = val_auc > self.best_auc
        if is_best:
            self.best_auc, self.best_epoch = val_auc, self.epoch + 1
            for k, v in params.items():
                self.best[k][...] = v
        return bool(is_best)

    def close_epoch(self, values: tuple[float, ...]) -> None:
        """Append the epoch's :data:`HISTORY_KEYS` ``values``; move to the next epoch."""
        for key, value in zip(HISTORY_KEYS, values, strict=True):
            self.history[key].append(float(value))
        self.epoch, self.step, self.perm = self.epoch + 1, 0, None
        self.loss_sum, self.seen = 0.0, 0

    # -- resume -----------------------------------------------------------------------------
    def to_resume(self, fingerprint: str, source: str) -> tuple[dict, dict]:
        """The ``(arrays, meta)`` that ``resume.npz`` stores."""
        arrays = {f"model/{k}": v for k, v in self.model.parameters().items()}
        arrays.update({f"best/{k}": v for k, v in self.best.items()})
        arrays.update({f"opt/{k}": v for k, v in self.opt.state_dict().items()})
        arrays["norm/mean"], arrays["norm/std"] = self.mean, self.std
        if self.perm is not None:
            arrays["perm"] = self.perm
        meta = {
            "format": 1,
            "config": self.config.to_dict(),
            "data_fingerprint": fingerprint,
            "source": source,
            "data_info": self.data.info,
            "epoch": self.epoch, "step": self.step, "global_step": self.global_step,
            "loss_sum": self.loss_sum, "seen": self.seen, "elapsed": self.elapsed,
            "best_auc": None if not np.isfinite(self.best_auc) else self.best_auc,
            "best_epoch": self.best_epoch,
            "history": self.history,
            "rng": {"shuffle": self.shuffle_rng.bit_generator.state,
                    "augment": self.aug_rng.bit_generator.state,
                    "dropout": self.model.dropout_rng.bit_generator.state},
        }
        return arrays, meta

    def restore(self, arrays: dict, meta: dict) -> None:
        """Undo :meth:`to_resume`: continue exactly where the saved run stopped."""
        self.model.load_state_dict({k[6:]: v for k, v in arrays.items() if k.startswith("model/")})
        for k in self.best:
            self.best[k][...] = arrays[f"best/{k}"]
        self.opt.load_state_dict({k[4:]: v for k, v in arrays.items() if k.startswith("opt/")})
        self.mean, self.std = arrays["norm/mean"], arrays["norm/std"]
        self.perm = arrays.get("perm")
        self.epoch, self.step = int(meta["epoch"]), int(meta["step"])
        self.global_step = int(meta["global_step"])
        self.loss_sum, self.seen = float(meta["loss_sum"]), int(meta["seen"])
        self.elapsed = float(meta["elapsed"])
        self.best_auc = -np.inf if meta["best_auc"] is None else float(meta["best_auc"])
        self.best_epoch = int(meta["best_epoch"])
        self.history = {k: list(meta["history"][k]) for k in HISTORY_KEYS}
        self.shuffle_rng.bit_generator.state = meta["rng"]["shuffle"]
        self.aug_rng.bit_generator.state = meta["rng"]["augment"]
        self.model.dropout_rng.bit_generator.state = meta["rng"]["dropout"]


def check_resumable(meta: dict, config: TrainConfig, fingerprint: str, path: Path) -> None:
    """Refuse a saved state made from other data or with another (fixed) config."""
    if meta.get("data_fingerprint") != fingerprint:
        raise ChexminiError("resume refused: the data differ from the data this run was "
                            "started with (fingerprint mismatch)", path)
    saved = meta.get("config", {})
    diffs = [k for k, v in config.to_dict().items()
             if k not in RESUME_MUTABLE and k != "dataset_revision" and saved.get(k) != v]
    if diffs:
        desc = ", ".join(f"{k}={saved.get(k)!r}→{getattr(config, k)!r}" for k in diffs[:4])
        raise ChexminiError(f"resume refused: config differs from the saved run ({desc})", path)


def restore_run(run: TrainingState, path: Path, fingerprint: str) -> None:
    """Load the resume state at ``path``, check it against this run's config and data,
    and apply it to ``run``."""
    state = load_resume(path)
    check_resumable(state.meta, run.config, fingerprint, path)
    check_against_data(state, len(run.data.train), path)
    run.restore(state.arrays, state.meta)
