"""Training as a generator of events.

``for event in train(config, data, out_dir): ...`` — whoever iterates drives training:
pausing is not pulling; ``close()`` stops at once (the resumable state is written to
``out_dir/resume.npz`` first, so nothing is lost; ``out_dir`` is locked against other
writers until the generator ends); :meth:`TrainControl.stop` finishes
early but properly (best checkpoint restored, test scored once, artifacts written).

A run goes through named phases, each a short function below:

1. **prepare** (:func:`train`, :meth:`_Training.__init__`) — check the config and the
   data, lock the run folder (policy: :mod:`core.runs.folder`), build the state
   (:class:`~core.training.run_state.TrainingState`) and restore it when resuming.
2. **one epoch** (:meth:`_Training.run_epoch`) — shuffle (seeded) → for each batch:
   uint8 images → augment (train only) → standardise with training-split statistics →
   forward (dropout on) → BCE-with-logits (label-smoothed) → backward → Adam step with
   the epoch's cosine LR (:class:`~core.training.step.TrainStep`); a :class:`StepDone` per step.
3. **epoch end** (:meth:`_Training.end_epoch`) — parameters checked for divergence
   (:mod:`core.training.divergence`); the validation split scored in evaluation mode (loss, AUC,
   accuracy at 0.5; :mod:`core.training.scoring`) and the best model by validation AUC kept;
   the per-layer health figures (:mod:`core.training.health`: norms, the last step's update,
   activations on the validation images) and the process's CPU, memory and samples/s
   (:mod:`core.training.system_stats`) recorded; the resumable state saved when
   :class:`~core.training.save_clock.SaveClock` says so.
4. **finish** (:meth:`_Training.finish`) — the best model restored, the operating
   threshold chosen by Youden's J on validation only, the test split evaluated once
   (:mod:`core.training.finish`), and the artifacts written before the resume state is removed.

Randomness comes from independent streams spawned from ``config.seed`` (weights,
shuffling, augmentation, dropout, the augmentation noise bank); their states are saved in
the resume checkpoint,
so a resumed run is bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from core.data.dataset import DataSplits, data_warnings, require_both_classes
from core.evaluation.templates import grid_tiles, side_of
from core.events import (
    CheckpointSaved,
    EpochEnd,
    Event,
    EventLog,
    Finished,
    RunStarted,
    StepDone,
    Templates,
)
from core.foundation.config import TrainConfig
from core.foundation.errors import ChexminiError
from core.nn.augment import AugmentConfig
from core.nn.batches import BatchMaker
from core.nn.loss import balanced_class_weights
from core.nn.model import MLP
from core.runs import layout
from core.runs.checkpoint import save_artifacts
from core.runs.folder import claim
from core.runs.splits import splits_record
from core.training.divergence import check_parameters, loss_diverged
from core.training.finish import FinalScores, score_best
from core.training.health import ActivationProbe, Health, layer_health
from core.training.optim import lr_schedule, regularisation, weight_sq_norms
from core.training.resume_state import load_resume, save_resume_state
from core.training.run_state import TrainingState, restore_run
from core.training.save_clock import SaveClock
from core.training.scoring import QUIET_FP, validate
from core.training.step import TrainStep
from core.training.system_stats import EpochMeter

#: Side (pixels) of the templates a :class:`Templates` event carries (64 → 16: 4×4 means).
TEMPLATE_SIDE = 16


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
        #: Set while the generator runs (for :mod:`core.training.steering`, called between
        #: two ``next()`` calls only): ``record(event)`` appends to the run's event log,
        #: ``saver()`` writes the resume state now (``None`` when there is nothing to save).
        self.record: Callable[[Event], Event] | None = None
        self.saver: Callable[[], CheckpointSaved | None] | None = None
        self.run: TrainingState | None = None

    @property
    def global_step(self) -> int:
        """Steps done so far (0 before the run starts)."""
        return self.run.global_step if self.run is not None else 0

    def stop(self) -> None:
        """Finish early: restore the best checkpoint, score the test split, write artifacts."""
        self.stop_requested = True

    def save_now(self) -> None:
        """Write the resumable state now (without stopping)."""
        self.save_requested = True


def load_for_resume(run_dir: str | Path, progress=None) -> tuple[TrainConfig, DataSplits]:
    """The config and the exact data of the interrupted run in ``run_dir`` (from its
    ``resume.npz``), ready for ``train(config, data, run_dir, resume=True)``."""
    from core.data import load_data
    from core.data.sources import split_args

    state = load_resume(Path(run_dir) / layout.RESUME)
    config, meta = state.config, state.meta
    data = load_data(meta["source"], image_size=config.image_size, progress=progress,
                     **split_args(meta.get("data_info", {})))
    return config, data


def train(
    config: TrainConfig,
    data: DataSplits,
    out_dir: str | Path | None = None,
    *,
    control: TrainControl | None = None,
    resume: bool = False,
    overwrite: bool = False,
    step_events: bool = True,
    health: bool = True,
    templates: int = 0,
) -> Iterator[Event]:
    """Train and yield :mod:`core.events`; see the module docstring.

    With ``out_dir`` the run directory gets ``events.jsonl`` (every event), ``resume.npz``
    (at epoch ends as :class:`SaveClock` decides, on ``save_now`` and on ``close()``) and,
    at the end, the artifact set (then ``resume.npz`` is removed). ``resume=True``
    continues from ``out_dir/resume.npz``. The folder is locked for the generator's life
    and its policy (one writer; a run is never overwritten unless ``overwrite=True``) is
    :mod:`core.runs.folder`'s. ``health=False`` leaves :class:`EpochEnd`'s ``health`` empty
    (it never changes the training: the weights are the same either way). ``templates=N``
    yields after each :class:`EpochEnd` a :class:`Templates` event with fc1's first ``N``
    units as ``TEMPLATE_SIDE``-pixel images (for a live front end; not logged; dead units
    are known only with ``health`` on).
    """
    fingerprint = _check_inputs(config, data)
    control = control or TrainControl()
    out = Path(out_dir) if out_dir is not None else None
    if resume and out is None:
        raise ChexminiError("resume needs the run directory")

    lock = claim(out, resume=resume, overwrite=overwrite) if out is not None else None
    try:  # the folder is ours until the generator ends
        t = _Training(config, data, out, control, resume, step_events, fingerprint, health,
                      templates)
        yield t.emit(t.started())
        try:
            while t.run.epoch < config.epochs and not t.stopped_early:
                yield from t.run_epoch()
                if t.run.step < t.steps_per_epoch:
                    break  # stopped mid-epoch: that partial epoch is not recorded
                yield from t.end_epoch()
            yield from t.finish()
        except GeneratorExit:
            # The driver closed us (Ctrl-C, quit, …): keep everything resumable.
            t.save_if_interrupted()
            raise
        finally:
            t.close()
    finally:
        if lock is not None:
            lock.release()


def _check_inputs(config: TrainConfig, data: DataSplits) -> str:
    """Refuse a bad config or data before any work; the data's fingerprint, recorded in
    the config as its ``dataset_revision``."""
    check_config_and_data(config, data)
    fingerprint = data.fingerprint()
    config.dataset_revision = fingerprint
    return fingerprint


def step_parts(config: TrainConfig, run: TrainingState, maker: BatchMaker,
               labels: np.ndarray) -> tuple[TrainStep, np.ndarray, np.ndarray | None]:
    """The training step of ``run`` (its model and optimiser; augmentation as the config
    says), the float labels and the per-sample class weights (if any) — shared by
    training and the learning-rate range test (:mod:`core.training.lr_find`)."""
    aug = AugmentConfig(config.flip_prob, config.brightness, config.noise_std)
    if config.class_weight == "balanced":
        w0, w1 = balanced_class_weights(labels)
        sample_w = np.where(labels == 1, w1, w0)
    else:
        sample_w = None
    step = TrainStep(run.model, run.opt, maker, aug if config.augment else None,
                     config.label_smoothing)
    return step, labels.astype(np.float64), sample_w


def check_config_and_data(config: TrainConfig, data: DataSplits) -> None:
    """Refuse a bad config, data of another image size, or a split without both classes
    (before any work: AUC and threshold need both classes) — one line each."""
    config.validate()
    if data.image_size != config.image_size:
        raise ChexminiError(f"data images are {data.image_size}×{data.image_size} but "
                            f"config.image_size is {config.image_size}")
    require_both_classes(data)


def _emitter(log: EventLog | None) -> Callable[[Event], Event]:
    """``emit(event)``: append ``event`` to the log (if any) and return it."""
    if log is None:
        return lambda event: event

    def emit(event: Event) -> Event:
        log.write(event)
        return event
    return emit


class _Training:
    """One run while its folder is locked: the state every phase works on, and the
    phases themselves (each a generator of events, except the saves)."""

    # -- prepare ----------------------------------------------------------------------------
    def __init__(self, config: TrainConfig, data: DataSplits, out: Path | None,
                 control: TrainControl, resume: bool, step_events: bool,
                 fingerprint: str, health: bool = True, templates: int = 0) -> None:
        self.config, self.data, self.out, self.control = config, data, out, control
        self.resume, self.step_events, self.fingerprint = resume, step_events, fingerprint
        self.run = run = TrainingState(config, data)
        if resume:
            restore_run(run, out / layout.RESUME, fingerprint)
        self.log = EventLog(out / layout.EVENTS) if out is not None else None
        self.emit = _emitter(self.log)
        control.model, control.norm, control.run = run.model, (run.mean, run.std), run
        control.record, control.saver = self.emit, self.save_between_steps
        self.clock = SaveClock(config.checkpoint_every)
        self.finished = self.stopped_early = False
        self.steps_per_epoch = -(-len(data.train) // config.batch_size)
        self.maker = BatchMaker(run.mean, run.std, noise_seed=run.noise_seed)
        self.step, self.labels_f, self.sample_w = self._step_parts()
        #: The one owner of the learning rate: ``schedule.lr_at(epoch)`` for every step of
        #: an epoch and for its history entry (the optimiser holds no rate of its own).
        self.schedule = lr_schedule(config)
        self.epoch_started = 0.0
        self.away = 0.0
        self.probe = ActivationProbe() if health else None
        self.meter = EpochMeter()
        self.epoch_seen0, self.epoch_elapsed0 = 0, 0.0  # where this process began the epoch
        self.n_templates = int(templates)   # fc1 units a Templates event carries per epoch

    def _step_parts(self) -> tuple[TrainStep, np.ndarray, np.ndarray | None]:
        return step_parts(self.config, self.run, self.maker, self.data.train.labels)

    def started(self) -> RunStarted:
        config, run, out = self.config, self.run, self.out
        return RunStarted(config.to_dict(), self.data.summary(), list(config.widths),
                          run.model.n_parameters(), self.data.source,
                          None if out is None else str(out), run.epoch, run.step, self.resume,
                          self.steps_per_epoch, data_warnings(self.data),
                          started_at=time.time())

    # -- one epoch --------------------------------------------------------------------------
    def run_epoch(self) -> Iterator[Event]:
        """The rest of the current epoch, one batch a step (a :class:`StepDone` each);
        ``save_now`` and ``stop`` are honoured between steps."""
        run, config, control, out = self.run, self.config, self.control, self.out
        e = run.epoch
        lr = self.schedule.lr_at(e)
        if run.perm is None:
            run.perm = run.shuffle_rng.permutation(len(self.data.train))
        self.epoch_started = time.perf_counter()
        self.away = 0.0     # seconds the consumer held on to an event (e.g. paused)
        self.meter.start()
        self.epoch_seen0, self.epoch_elapsed0 = run.seen, run.elapsed
        # Locals for the hot loop: no attribute look-ups per step beyond the originals.
        step, emit, images, labels_f, sample_w = (self.step, self.emit, self.data.train.images,
                                                  self.labels_f, self.sample_w)
        bs, steps_per_epoch, step_events, quiet_fp = (config.batch_size, self.steps_per_epoch,
                                                      self.step_events, QUIET_FP)
        opt, last = run.opt, (steps_per_epoch - 1 if self.probe is not None else -1)
        while run.step < steps_per_epoch:
            t0 = time.perf_counter()
            idx = run.perm[run.step * bs : (run.step + 1) * bs]
            opt.measure_update = run.step == last  # health: ‖ΔW‖ of the last step only
            with np.errstate(**quiet_fp):
                loss = step(images[idx], labels_f[idx], run.aug_rng,
                            None if sample_w is None else sample_w[idx], lr=lr)
            if not np.isfinite(loss):
                raise loss_diverged(loss, e + 1, run.step + 1, config, out)
            run.step += 1
            run.global_step += 1
            run.loss_sum += loss * len(idx)
            run.seen += len(idx)
            dt = time.perf_counter() - t0
            run.elapsed += dt
            if step_events:
                t_out = time.perf_counter()
                yield emit(StepDone(e + 1, config.epochs, run.step, steps_per_epoch,
                                    run.global_step, loss, lr, len(idx) / max(dt, 1e-9)))
                self.away += time.perf_counter() - t_out   # a pause is not the epoch's
            if control.save_requested and out is not None:
                control.save_requested = False
                event = emit(self.save_state())
                t_out = time.perf_counter()
                yield event
                self.away += time.perf_counter() - t_out
            if control.stop_requested:
                self.stopped_early = True
                break
        opt.measure_update = False

    # -- epoch end: divergence check, validation, best model, history, save cadence ---------
    def end_epoch(self) -> Iterator[Event]:
        run, config = self.run, self.config
        e = run.epoch
        lr = self.schedule.lr_at(e)
        params = run.model.parameters()
        check_parameters(params, e + 1, config, self.out)
        if self.probe is not None:
            self.probe.reset()
        val = validate(run.model, self.data.val, self.maker, config.label_smoothing,
                       self.probe)
        is_best = run.keep_if_best(val.auc, params)
        train_loss = run.loss_sum / max(run.seen, 1)
        w_sq = weight_sq_norms(params) if self.probe is not None else None
        reg = regularisation(params, config.weight_decay, config.l1, w_sq)
        health = self.health(params, w_sq)
        system = self.meter.read(run.seen - self.epoch_seen0, run.elapsed - self.epoch_elapsed0)
        run.close_epoch((train_loss, reg, val.loss, val.acc, val.auc, lr))
        yield self.emit(EpochEnd(e + 1, config.epochs, train_loss, reg, val.loss, val.auc,
                                 val.acc, lr, is_best, run.best_epoch, float(run.best_auc),
                                 time.perf_counter() - self.epoch_started - self.away, health,
                                 system))
        if self.n_templates > 0:
            yield self.templates(e + 1)
        if self.out is not None and run.epoch < config.epochs and self.clock.due(run.epoch):
            yield self.emit(self.save_state())  # the last epoch goes straight to the artifacts

    def templates(self, epoch: int) -> Templates:
        """fc1's first ``n_templates`` units in the grid's order, pooled to
        ``TEMPLATE_SIDE`` pixels (see :class:`core.events.Templates`)."""
        params = self.run.model.parameters()
        w1 = params["fc1.W"]
        active = self.probe.active("fc1") if self.probe is not None else None
        dead = None if active is None else ~active
        factor = max(side_of(w1.shape[0]) // TEMPLATE_SIDE, 1)
        units, norms, tiles = grid_tiles(w1, dead, self.n_templates, factor)
        flags = np.zeros(len(units), bool) if dead is None else dead[units]
        return Templates.encode(epoch, w1.shape[1], 0 if dead is None else int(dead.sum()),
                                units, norms, flags, tiles)

    def health(self, params: dict[str, np.ndarray],
               w_sq: dict[str, float] | None = None) -> Health:
        """The epoch's :mod:`core.training.health` figures (empty with health off); the gradient and
        update figures only when the epoch's last step ran in this process."""
        if self.probe is None:
            return {}
        opt = self.run.opt
        update_sq, opt.last_update_sq = opt.last_update_sq or None, {}
        grads = self.run.model.gradients() if update_sq is not None else None
        return layer_health(params, grads, update_sq, self.probe.summary(), w_sq)

    # -- finish: best model, Youden threshold on validation, test scored once ---------------
    def finish(self) -> Iterator[Event]:
        run, out = self.run, self.out
        if run.best_epoch == 0:
            raise ChexminiError("stopped before the first epoch finished: nothing to save")
        run.model.load_state_dict(run.best)
        final = score_best(run.model, self.data, self.maker, self.config, run.best_epoch)
        if out is not None:
            self.write_artifacts(final)
            yield self.emit(CheckpointSaved(str(out), run.epoch, run.step, "artifacts"))
        yield self.emit(Finished(
            None if out is None else str(out), run.best_epoch, run.epoch, final.threshold,
            final.headline("validation"), final.headline("test"), self.stopped_early,
            run.elapsed))

    def write_artifacts(self, final: FinalScores) -> None:
        """The artifact set first; only then is the resume state removed (if the artifacts
        cannot be written, the finished epochs are kept resumable if the disk allows)."""
        run, out = self.run, self.out
        try:
            save_artifacts(out, model=run.model, mean=run.mean, std=run.std,
                           metrics=final.metrics, history=run.history,
                           val_scores=final.val_scores, val_labels=final.val_labels,
                           test_scores=final.test_scores, test_labels=final.test_labels,
                           splits=splits_record(self.data))
        except Exception:
            with contextlib.suppress(ChexminiError):
                self.save_state()
            raise
        self.finished = True
        (out / layout.RESUME).unlink(missing_ok=True)

    # -- save the resume state ----------------------------------------------------------------
    def save_state(self) -> CheckpointSaved:
        """Write ``resume.npz`` now (see :mod:`core.training.run_state`)."""
        t0 = time.perf_counter()
        arrays, meta = self.run.to_resume(self.fingerprint, self.data.source)
        save_resume_state(self.out / layout.RESUME, arrays, meta)
        self.clock.saved(t0)
        return CheckpointSaved(str(self.out / layout.RESUME), self.run.epoch, self.run.step,
                               "resume")

    def save_between_steps(self) -> CheckpointSaved | None:
        """A save asked for between two events (logged); ``None`` when there is nothing
        to save (no run folder, no step yet, or the artifacts are written)."""
        if self.out is None or self.run.global_step == 0 or self.finished:
            return None
        return self.emit(self.save_state())

    def save_if_interrupted(self) -> None:
        """On ``close()`` mid-run: save what a resume needs (nothing before the first step
        or once the artifacts are written)."""
        if self.out is not None and self.run.global_step > 0 and not self.finished:
            self.save_state()

    def close(self) -> None:
        self.control.record = self.control.saver = None
        if self.log is not None:
            self.log.close()
