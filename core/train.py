"""Training as a generator of events.

``for event in train(config, data, out_dir): ...`` — whoever iterates drives training:
pausing is not pulling; ``close()`` stops at once (the resumable state is written to
``out_dir/resume.npz`` first, so nothing is lost; ``out_dir`` is locked against other
writers until the generator ends); :meth:`TrainControl.stop` finishes
early but properly (best checkpoint restored, test scored once, artifacts written).

One epoch: shuffle (seeded) → for each batch: uint8 images → augment (train only) →
standardise with training-split statistics → forward (dropout on) → BCE-with-logits
(label-smoothed) → backward → Adam step with the epoch's cosine LR. Then the validation
split is scored in evaluation mode (loss, AUC, accuracy at 0.5) and the best model by
validation AUC is kept. At the end the best model is restored, the operating threshold
is chosen by Youden's J on validation only, and the test split is evaluated once.

Randomness comes from independent streams spawned from ``config.seed`` (weights,
shuffling, augmentation, dropout, the augmentation noise bank); their states are saved in
the resume checkpoint,
so a resumed run is bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from core.augment import AugmentConfig
from core.batches import BatchMaker
from core.checkpoint import (
    HISTORY_KEYS,
    RESUME_FILE,
    build_metrics,
    save_artifacts,
    save_resume_state,
)
from core.config import RESUME_MUTABLE, TrainConfig
from core.data.dataset import DataSplits, Split, require_both_classes
from core.errors import ChexminiError
from core.events import (
    CheckpointSaved,
    EpochEnd,
    Event,
    EventLog,
    Finished,
    RunStarted,
    StepDone,
)
from core.loss import balanced_class_weights, bce_with_logits
from core.metrics import roc_auc, youden_threshold
from core.nn.model import MLP, sigmoid
from core.optim import lr_schedule, make_optimizer, regularisation
from core.resume_state import check_against_data, load_resume
from core.runfolder import EVENTS_FILE, claim
from core.standardize import feature_stats, identity_stats
from core.step import TrainStep

HEADLINE = ("auc", "accuracy", "balanced_accuracy", "precision", "recall", "specificity", "f1")


class TrainingDiverged(ChexminiError):
    """The loss or the parameters became NaN/inf."""


def divergence_hint(config: TrainConfig) -> str:
    """What to change after a divergence: the config value that most likely caused it
    (a weight decay, L1 penalty or learning rate above 1), else a lower learning rate."""
    lr = config.lr
    if config.weight_decay > 1:
        return (f"weight_decay={config.weight_decay:g} is far too large (typical: 1e-5 to "
                "1e-2); lower it")
    if config.l1 > 1:
        return f"l1={config.l1:g} is far too large (typical: 0 to 1e-4); lower it"
    if lr > 1:
        return f"lr={lr:g} is far too large: use a lower learning rate (typical: 1e-4 to 1e-2)"
    return f"try a lower learning rate (now {lr:g})"


class TrainControl:
    """Requests from the driver, honoured at the next step boundary (thread-safe enough:
    plain attribute writes)."""

    def __init__(self) -> None:
        self.stop_requested = False
        self.save_requested = False
        #: The live model and its normalisation ``(mean, std)``, set when training starts.
        #: Between two ``next()`` calls (e.g. while paused) they are consistent and may be
        #: read (gradient check on the live model) — but not modified.
        self.model: MLP | None = None
        self.norm: tuple[np.ndarray, np.ndarray] | None = None

    def stop(self) -> None:
        """Finish early: restore the best checkpoint, score the test split, write artifacts."""
        self.stop_requested = True

    def save_now(self) -> None:
        """Write the resumable state now (without stopping)."""
        self.save_requested = True


def score_split(model: MLP, split: Split, maker: BatchMaker, batch_size: int = 1024) -> np.ndarray:
    """Evaluation-mode logits ``(N,)`` for a split, standardised batch by batch."""
    logits = np.empty(len(split), dtype=np.float64)
    for s in range(0, len(split), batch_size):
        x = maker.standardise(split.images[s : s + batch_size])
        logits[s : s + batch_size] = model.forward(x, train=False)[:, 0]
    return logits


class _Run:
    """All mutable state of one run (what ``resume.npz`` saves)."""

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
        self.opt = make_optimizer(config.optimizer, params, grads, config.lr,
                                  config.weight_decay, config.l1, config.momentum,
                                  (config.beta1, config.beta2), config.adam_eps,
                                  lr_schedule(config))
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

    # -- resume -------------------------------------------------------------------------
    def state(self, fingerprint: str, source: str) -> tuple[dict, dict]:
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


def load_for_resume(run_dir: str | Path, progress=None) -> tuple[TrainConfig, DataSplits]:
    """The config and the exact data of the interrupted run in ``run_dir`` (from its
    ``resume.npz``), ready for ``train(config, data, run_dir, resume=True)``."""
    from core.data import load_data
    from core.data.sources import split_args

    state = load_resume(Path(run_dir) / RESUME_FILE)
    config, meta = state.config, state.meta
    data = load_data(meta["source"], image_size=config.image_size, progress=progress,
                     **split_args(meta.get("data_info", {})))
    return config, data


def _check_resumable(meta: dict, config: TrainConfig, fingerprint: str, path: Path) -> None:
    if meta.get("data_fingerprint") != fingerprint:
        raise ChexminiError("resume refused: the data differ from the data this run was "
                            "started with (fingerprint mismatch)", path)
    saved = meta.get("config", {})
    diffs = [k for k, v in config.to_dict().items()
             if k not in RESUME_MUTABLE and k != "dataset_revision" and saved.get(k) != v]
    if diffs:
        desc = ", ".join(f"{k}={saved.get(k)!r}→{getattr(config, k)!r}" for k in diffs[:4])
        raise ChexminiError(f"resume refused: config differs from the saved run ({desc})", path)


class SaveClock:
    """When to write the resumable state at an epoch end. ``every`` > 0: every ``every``
    epochs. ``every`` == 0 (the default): when the time since the last save exceeds
    ``RATIO`` × the last save's duration — saving then costs at most ~1/(RATIO + 1) of the
    wall time whatever the model and epoch sizes (the first epoch end always saves)."""

    RATIO = 9.0

    def __init__(self, every: int = 0, clock=time.perf_counter) -> None:
        self.every, self._clock = every, clock
        self.cost: float | None = None     # duration of the last save
        self.last = clock()                # when the last save ended (or the run started)

    def due(self, epoch: int) -> bool:
        if self.every > 0:
            return epoch % self.every == 0
        return self.cost is None or self._clock() - self.last > self.RATIO * self.cost

    def saved(self, started: float) -> None:
        """Record a save that began at ``started`` (a value of the same clock)."""
        self.last = self._clock()
        self.cost = self.last - started


def train(
    config: TrainConfig,
    data: DataSplits,
    out_dir: str | Path | None = None,
    *,
    control: TrainControl | None = None,
    resume: bool = False,
    overwrite: bool = False,
    step_events: bool = True,
) -> Iterator[Event]:
    """Train and yield :mod:`core.events`; see the module docstring.

    With ``out_dir`` the run directory gets ``events.jsonl`` (every event), ``resume.npz``
    (at epoch ends as :class:`SaveClock` decides, on ``save_now`` and on ``close()``) and,
    at the end, the artifact set (then ``resume.npz`` is removed). ``resume=True``
    continues from ``out_dir/resume.npz``. The folder is locked for the generator's life
    and its policy (one writer; a run is never overwritten unless ``overwrite=True``) is
    :mod:`core.runfolder`'s.
    """
    config.validate()
    if data.image_size != config.image_size:
        raise ChexminiError(f"data images are {data.image_size}×{data.image_size} but "
                            f"config.image_size is {config.image_size}")
    require_both_classes(data)  # before any work: AUC and threshold need both classes
    control = control or TrainControl()
    fingerprint = data.fingerprint()
    config.dataset_revision = fingerprint
    out = Path(out_dir) if out_dir is not None else None
    if resume and out is None:
        raise ChexminiError("resume needs the run directory")

    lock = claim(out, resume=resume, overwrite=overwrite) if out is not None else None
    try:
        yield from _train_locked(config, data, out, control, resume, step_events, fingerprint)
    finally:
        if lock is not None:
            lock.release()


def _train_locked(config: TrainConfig, data: DataSplits, out: Path | None,
                  control: TrainControl, resume: bool, step_events: bool,
                  fingerprint: str) -> Iterator[Event]:
    """The body of :func:`train`, run while ``out`` is locked."""
    run = _Run(config, data)
    if resume:
        state = load_resume(out / RESUME_FILE)
        _check_resumable(state.meta, config, fingerprint, out / RESUME_FILE)
        check_against_data(state, len(data.train), out / RESUME_FILE)
        run.restore(state.arrays, state.meta)
    log = EventLog(out / EVENTS_FILE) if out is not None else None
    control.model, control.norm = run.model, (run.mean, run.std)
    clock = SaveClock(config.checkpoint_every)
    finished = False

    def emit(event: Event) -> Event:
        if log is not None:
            log.write(event)
        return event

    def save_state() -> CheckpointSaved:
        t0 = time.perf_counter()
        arrays, meta = run.state(fingerprint, data.source)
        save_resume_state(out / RESUME_FILE, arrays, meta)
        clock.saved(t0)
        return CheckpointSaved(str(out / RESUME_FILE), run.epoch, run.step, "resume")

    train_split = data.train
    n, bs = len(train_split), config.batch_size
    steps_per_epoch = -(-n // bs)
    maker = BatchMaker(run.mean, run.std, noise_seed=run.noise_seed)
    aug = AugmentConfig(config.flip_prob if config.augment else 0.0,
                        config.brightness if config.augment else 0.0,
                        config.noise_std if config.augment else 0.0)
    if config.class_weight == "balanced":
        w0, w1 = balanced_class_weights(train_split.labels)
        sample_w = np.where(train_split.labels == 1, w1, w0)
    else:
        sample_w = None
    labels_f = train_split.labels.astype(np.float64)
    step = TrainStep(run.model, run.opt, maker, aug if config.augment else None,
                     config.label_smoothing)

    yield emit(RunStarted(config.to_dict(), data.summary(), list(config.widths),
                          run.model.n_parameters(), data.source,
                          None if out is None else str(out), run.epoch, run.step, resume,
                          steps_per_epoch))
    stopped_early = False
    # Overflow in a diverging run is reported as TrainingDiverged below, not as warnings.
    quiet_fp = {"over": "ignore", "invalid": "ignore"}
    try:
        while run.epoch < config.epochs and not stopped_early:
            e = run.epoch
            lr = run.opt.set_epoch(e)
            if run.perm is None:
                run.perm = run.shuffle_rng.permutation(n)
            t_epoch = time.perf_counter()
            while run.step < steps_per_epoch:
                t0 = time.perf_counter()
                idx = run.perm[run.step * bs : (run.step + 1) * bs]
                with np.errstate(**quiet_fp):
                    loss = step(train_split.images[idx], labels_f[idx], run.aug_rng,
                                None if sample_w is None else sample_w[idx])
                if not np.isfinite(loss):
                    raise TrainingDiverged(
                        f"training diverged: loss is {loss} at epoch {e + 1}, step "
                        f"{run.step + 1}; the last good state is kept — "
                        f"{divergence_hint(config)}", None if out is None else out)
                run.step += 1
                run.global_step += 1
                run.loss_sum += loss * len(idx)
                run.seen += len(idx)
                dt = time.perf_counter() - t0
                run.elapsed += dt
                if step_events:
                    yield emit(StepDone(e + 1, config.epochs, run.step, steps_per_epoch,
                                        run.global_step, loss, lr, len(idx) / max(dt, 1e-9)))
                if control.save_requested and out is not None:
                    control.save_requested = False
                    yield emit(save_state())
                if control.stop_requested:
                    stopped_early = True
                    break
            if run.step < steps_per_epoch:
                break  # stopped mid-epoch: that partial epoch is not recorded
            # ---- epoch end --------------------------------------------------------------
            params = run.model.parameters()
            if not all(np.isfinite(p).all() for p in params.values()):
                raise TrainingDiverged(
                    f"training diverged: parameters became NaN/inf in epoch {e + 1}; the last "
                    f"good state is kept — {divergence_hint(config)}",
                    None if out is None else out)
            with np.errstate(**quiet_fp):
                val_logits = score_split(run.model, data.val, maker)
            val_loss, _ = bce_with_logits(val_logits, data.val.labels, config.label_smoothing)
            val_prob = sigmoid(val_logits)
            val_auc = roc_auc(val_prob, data.val.labels)
            val_acc = float(np.mean((val_prob >= 0.5) == (data.val.labels == 1)))
            is_best = val_auc > run.best_auc
            if is_best:
                run.best_auc, run.best_epoch = val_auc, e + 1
                for k, v in params.items():
                    run.best[k][...] = v
            train_loss = run.loss_sum / max(run.seen, 1)
            reg = regularisation(params, config.weight_decay, config.l1)
            for key, value in zip(HISTORY_KEYS, (train_loss, reg, val_loss, val_acc, val_auc, lr),
                                  strict=True):
                run.history[key].append(float(value))
            run.epoch, run.step, run.perm = e + 1, 0, None
            run.loss_sum, run.seen = 0.0, 0
            yield emit(EpochEnd(e + 1, config.epochs, train_loss, reg, val_loss, val_auc,
                                val_acc, lr, bool(is_best), run.best_epoch,
                                float(run.best_auc), time.perf_counter() - t_epoch))
            if out is not None and run.epoch < config.epochs and clock.due(run.epoch):
                yield emit(save_state())  # the last epoch goes straight to the artifacts
        # ---- finish: best model, Youden threshold on validation, test scored once --------
        if run.best_epoch == 0:
            raise ChexminiError("stopped before the first epoch finished: nothing to save")
        run.model.load_state_dict(run.best)
        val_scores = sigmoid(score_split(run.model, data.val, maker))
        test_scores = sigmoid(score_split(run.model, data.test, maker))
        val_labels = data.val.labels.astype(np.float64)
        test_labels = data.test.labels.astype(np.float64)
        threshold = youden_threshold(val_scores, val_labels)
        metrics = build_metrics(
            config=config.to_dict(), splits=data.summary(), best_epoch=run.best_epoch,
            threshold=threshold, val_scores=val_scores, val_labels=val_labels,
            test_scores=test_scores, test_labels=test_labels,
            data_info={"source": data.source, **data.info})
        if out is not None:
            try:
                save_artifacts(out, model=run.model, mean=run.mean, std=run.std,
                               metrics=metrics, history=run.history, val_scores=val_scores,
                               val_labels=val_labels, test_scores=test_scores,
                               test_labels=test_labels)
            except Exception:
                with contextlib.suppress(ChexminiError):
                    save_state()  # keep the finished epochs resumable if the disk allows
                raise
            finished = True
            (out / RESUME_FILE).unlink(missing_ok=True)
            yield emit(CheckpointSaved(str(out), run.epoch, run.step, "artifacts"))
        yield emit(Finished(
            None if out is None else str(out), run.best_epoch, run.epoch, threshold,
            {k: metrics["validation"][k] for k in HEADLINE},
            {k: metrics["test"][k] for k in HEADLINE}, stopped_early, run.elapsed))
    except GeneratorExit:
        # The driver closed us (Ctrl-C, quit, …): keep everything resumable.
        if out is not None and run.global_step > 0 and not finished:
            save_state()
        raise
    finally:
        if log is not None:
            log.close()
