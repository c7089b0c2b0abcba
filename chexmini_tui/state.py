"""``RunDisplayState``: what the Train screen shows, folded from engine events (not the
engine's :class:`core.training.run_state.TrainingState`, the training state ``resume.npz``
holds).

The same reducer serves a live run (events from the worker) and attach mode (events
read back from ``RUN_DIR/events.jsonl``), so both show exactly the same thing. It is
plain Python — no Textual — and every number it shows comes from the events
themselves (ETA from the recorded epoch/step times, not from the wall clock), so a
finished run replayed from its file looks the same every time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.evaluation.bootstrap import headline_auc
from core.events import (
    CheckpointSaved,
    ControlDone,
    EpochEnd,
    Event,
    Finished,
    RunStarted,
    StepDone,
    Templates,
)
from core.foundation.numbers import is_number, show

#: Smoothing of the samples/s read-out (exponential moving average weight).
EMA = 0.2


def fmt_duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return "--:--"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


@dataclass
class RunDisplayState:
    source: str = ""
    out_dir: str | None = None
    config: dict = field(default_factory=dict)
    splits: dict = field(default_factory=dict)
    widths: list = field(default_factory=list)
    n_params: int = 0
    epochs: int = 0
    steps_per_epoch: int = 0
    resumed: bool = False
    # progress
    epoch: int = 0            # epoch in progress (1-based), 0 before the first step
    epochs_done: int = 0
    step: int = 0             # steps done in the epoch in progress
    global_step: int = 0
    loss: float | None = None
    lr: float | None = None
    samples_per_s: float | None = None
    # per-epoch history (for the plots)
    hist_epoch: list[int] = field(default_factory=list)
    hist_train_loss: list[float] = field(default_factory=list)
    hist_val_loss: list[float] = field(default_factory=list)
    hist_val_auc: list[float] = field(default_factory=list)
    hist_lr: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    #: per epoch: the engine's health figures and the trainer's system figures (empty
    #: dicts for epochs logged before they existed), see :class:`core.events.EpochEnd`
    hist_health: list[dict] = field(default_factory=list)
    hist_system: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_auc: float | None = None
    last_save: str = ""
    finished: Finished | None = None
    #: paused by a request (this app's or another process's: ``control`` events)
    paused: bool = False
    n_events: int = 0
    bad_lines: int = 0        # events.jsonl lines skipped as not valid events
    log: list[str] = field(default_factory=list)
    #: fc1's first units after the latest epoch (live runs only: not in events.jsonl)
    templates: Templates | None = None
    #: the run's data warnings (``RunStarted.warnings``), each ``HEAD: detail``
    warnings: list[str] = field(default_factory=list)

    # -- folding ---------------------------------------------------------------------
    def apply(self, ev: Event) -> None:
        self.n_events += 1
        if isinstance(ev, StepDone):
            self._step(ev)
        elif isinstance(ev, EpochEnd):
            self._epoch(ev)
        elif isinstance(ev, RunStarted):
            self._started(ev)
        elif isinstance(ev, CheckpointSaved):
            if ev.what == "artifacts":
                self.log.append(f"artifacts written → {ev.path}")
            else:  # a status detail, not a log line (it comes every epoch)
                self.last_save = f"epoch {ev.epoch}" + (f" + {ev.step} steps"
                                                        if ev.step else "")
        elif isinstance(ev, Finished):
            self._finished(ev)
        elif isinstance(ev, Templates):
            self.templates = ev
        elif isinstance(ev, ControlDone):
            self._control(ev)

    def apply_all(self, events: list[Event]) -> None:
        for ev in events:
            self.apply(ev)

    def _started(self, ev: RunStarted) -> None:
        self.source, self.out_dir = ev.source, ev.out_dir
        self.config, self.splits = dict(ev.config), dict(ev.splits)
        self.widths, self.n_params = list(ev.widths), int(ev.n_params)
        self.epochs = int(ev.config.get("epochs", 0))
        self.steps_per_epoch = int(ev.steps_per_epoch)
        self.resumed = bool(ev.resumed)
        self.finished, self.paused = None, False
        # A resumed run continues from its last saved state: drop anything recorded later.
        keep = int(ev.start_epoch)
        for name in ("hist_epoch", "hist_train_loss", "hist_val_loss", "hist_val_auc",
                     "hist_lr", "epoch_seconds", "hist_health", "hist_system"):
            setattr(self, name, getattr(self, name)[:keep])
        self.epochs_done = keep
        self.epoch = keep + 1 if ev.start_step else keep
        self.step = int(ev.start_step)
        self.global_step = keep * self.steps_per_epoch + self.step
        if not ev.resumed:
            self.best_epoch, self.best_auc = 0, None
        s = ev.splits
        arch = "→".join(map(str, ev.widths))
        sizes = " / ".join(f"{k} {s[k]['n']}" for k in ("train", "val", "test") if k in s)
        self.log.append(
            f"{'resumed at epoch ' + str(keep + 1) if ev.resumed else 'run started'}: "
            f"{ev.source}{' → ' + ev.out_dir if ev.out_dir else ''}")
        self.log.append(f"MLP {arch} ({ev.n_params:,} params); {sizes} images; "
                        f"{self.steps_per_epoch} steps/epoch")
        self.warnings = [str(w) for w in ev.warnings]
        self.log.extend(f"warning: {line}" for line in self.warnings)

    def _control(self, ev: ControlDone) -> None:
        """A pause/resume/save/stop request answered by the process that trains."""
        who = "here" if ev.by == "here" else f"by {ev.by}"
        if not ev.ok:
            self.log.append(f"request refused ({who}): {ev.detail}")
            return
        if ev.action in ("pause", "resume", "stop"):
            self.paused = ev.action == "pause"
        self.log.append(f"{ev.detail} (asked {who}, step {ev.global_step})")

    def _step(self, ev: StepDone) -> None:
        self.paused = False       # a step was taken: not paused
        self.epoch, self.step, self.global_step = ev.epoch, ev.step, ev.global_step
        self.epochs = ev.epochs
        self.steps_per_epoch = ev.steps_per_epoch
        self.loss, self.lr = ev.loss, ev.lr
        sps = float(ev.samples_per_s)
        self.samples_per_s = sps if self.samples_per_s is None else (
            (1 - EMA) * self.samples_per_s + EMA * sps)

    def _epoch(self, ev: EpochEnd) -> None:
        self.epochs_done = self.epoch = ev.epoch
        self.epochs = ev.epochs
        self.step = self.steps_per_epoch
        self.global_step = max(self.global_step, ev.epoch * self.steps_per_epoch)
        self.hist_epoch.append(ev.epoch)
        self.hist_train_loss.append(ev.train_loss)
        self.hist_val_loss.append(ev.val_loss)
        self.hist_val_auc.append(ev.val_auc)
        self.hist_lr.append(ev.lr)
        self.epoch_seconds.append(ev.seconds)
        self.hist_health.append(ev.health)
        self.hist_system.append(ev.system)
        self.lr = ev.lr
        self.best_epoch, self.best_auc = ev.best_epoch, ev.best_val_auc
        mark = "  *best*" if ev.is_best else ""
        self.log.append(
            f"epoch {ev.epoch}/{ev.epochs}  train {ev.train_loss:.4f}  val {ev.val_loss:.4f}  "
            f"AUC {ev.val_auc:.4f}  acc {ev.val_acc:.4f}  lr {ev.lr:.2e}  "
            f"{ev.seconds:.1f}s{mark}")

    def _finished(self, ev: Finished) -> None:
        self.finished = ev
        self.best_epoch = ev.best_epoch
        v, t = ev.validation, ev.test
        self.log.append(
            f"finished{' (stopped early)' if ev.stopped_early else ''}: best epoch "
            f"{ev.best_epoch} of {ev.epochs_run}, threshold {ev.threshold:.4f} (Youden's J)")
        for name, split in (("validation", v), ("test      ", t)):
            auc = headline_auc(split) if isinstance(split, dict) else "—"
            self.log.append(f"  {name} AUC {auc}  balanced acc "
                            f"{metric_text(split, 'balanced_accuracy')}")

    # -- derived read-outs -------------------------------------------------------------
    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    def seconds_per_step(self) -> float | None:
        """Wall time per step including validation (from epoch times when there are any,
        else from the training throughput)."""
        if self.epoch_seconds and self.steps_per_epoch:
            recent = self.epoch_seconds[-5:]
            return sum(recent) / len(recent) / self.steps_per_epoch
        if self.samples_per_s:
            bs = int(self.config.get("batch_size", 0)) or 1
            return bs / self.samples_per_s
        return None

    def eta_run(self) -> float | None:
        if self.finished is not None:
            return 0.0
        sps = self.seconds_per_step()
        if sps is None:
            return None
        return max(self.total_steps - self.global_step, 0) * sps

    def eta_epoch(self) -> float | None:
        if self.finished is not None:
            return 0.0
        sps = self.seconds_per_step()
        if sps is None:
            return None
        return max(self.steps_per_epoch - self.step, 0) * sps


def metric_text(split: object, key: str) -> str:
    """``split[key]`` to 4 decimals, or "—" (absent, or not a finite number in the log)."""
    value = split.get(key) if isinstance(split, dict) else None
    return show(value, ".4f") if is_number(value) else "—"
