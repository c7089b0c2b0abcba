"""The learning-rate range test (Smith, "Cyclical Learning Rates for Training Neural
Networks", 2017) as a generator of events.

From the configured initial weights (the seeded model of ``TrainConfig.seed``, exactly as
:func:`core.training.train.train` would start), run ``steps`` training steps — the same
:class:`~core.training.step.TrainStep` (batches, augmentation, dropout, optimiser) — with
the learning rate rising exponentially:

    lr_i = lr_min · (lr_max / lr_min)^(i / (steps − 1)),     i = 0 … steps − 1

Step ``i`` computes the loss ``ℓ_i`` of its batch and then updates at ``lr_i``; ``(lr_i, ℓ_i)``
is recorded. The loss is smoothed by an exponential moving average with bias correction:

    a_i = β a_{i−1} + (1 − β) ℓ_i,   a_{−1} = 0,     s_i = a_i / (1 − β^(i+1))

The test stops early when the loss explodes: ``s_i > k · min_{j≤i} s_j`` (``k`` =
:attr:`LrRange.explode`, 4 by default) or ``ℓ_i`` is not finite.

**The suggestion** (:func:`suggest`): the learning rate at the minimum of the smoothed
loss, divided by 10 — ``lr* = argmin_i s_i / 10`` (the minimum is where the loss stops
falling and starts to blow up; a tenth of it is still on the falling side).

**The class-prior loss** (:func:`prior_loss`): what the best constant prediction scores on
the training split. A smoothed minimum that never falls below it shows nothing learned
beyond the prior (:attr:`LrFindDone.below_prior` is false): the curve then speaks of
stability only — where the loss blows up — not of which rate learns best, and the
suggestion wants checking with a short run.

Nothing is written: no run folder is created, read or locked. The model lives only in the
generator and is discarded.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from core.data.dataset import DataSplits
from core.events import Event
from core.foundation.checks import check_number
from core.foundation.config import TrainConfig
from core.foundation.errors import ChexminiError
from core.nn.batches import BatchMaker
from core.nn.loss import bce_with_logits, smooth_targets
from core.training.run_state import TrainingState
from core.training.scoring import QUIET_FP
from core.training.step import TrainStep
from core.training.train import check_config_and_data, step_parts

#: The rule, in words, shown by the CLI and the app beside the suggestion.
RULE = "learning rate at the minimum of the smoothed loss ÷ 10"
#: ``lr* = lr_at_min / SUGGEST_DIVISOR``.
SUGGEST_DIVISOR = 10.0


@dataclass(frozen=True)
class LrRange:
    """The sweep: ``steps`` learning rates from ``lr_min`` to ``lr_max`` (geometric),
    EMA smoothing ``beta`` (β), stop when the smoothed loss exceeds ``explode`` (k) times
    its minimum so far."""

    lr_min: float = 1e-7
    lr_max: float = 10.0
    steps: int = 300
    #: The EMA averages about 1/(1 − β) = 20 steps: a lag of (lr_max/lr_min)^(20/299) ≈ 3.4×
    #: in rate with the defaults (β = 0.98 would lag 22×, moving the minimum past the
    #: explosion's onset).
    beta: float = 0.95
    explode: float = 4.0

    def check(self) -> LrRange:
        """A :class:`ConfigError` naming the first bad value; ``self`` otherwise."""
        check_number("lr_min", self.lr_min, lo=0, lo_open=True)
        check_number("lr_max", self.lr_max, lo=self.lr_min, lo_open=True)
        check_number("steps", self.steps, lo=2, hi=100_000, integer=True)
        check_number("beta", self.beta, lo=0, hi=1, hi_open=True)
        check_number("explode", self.explode, lo=1, lo_open=True)
        return self

    def lr_at(self, i: int) -> float:
        """``lr_min · (lr_max / lr_min)^(i / (steps − 1))``."""
        return float(self.lr_min * (self.lr_max / self.lr_min) ** (i / (self.steps - 1)))


class Smoother:
    """EMA with bias correction: ``a ← β a + (1 − β) ℓ``; value ``a / (1 − βᵗ)``."""

    def __init__(self, beta: float) -> None:
        self.beta, self.avg, self.t = float(beta), 0.0, 0

    def add(self, loss: float) -> float:
        self.t += 1
        self.avg = self.beta * self.avg + (1.0 - self.beta) * loss
        return self.avg / (1.0 - self.beta**self.t)


@dataclass(frozen=True)
class Suggestion:
    """``lr`` = ``lr_at_min`` / 10 (:data:`RULE`); ``min_loss`` the smoothed minimum."""

    lr: float
    lr_at_min: float
    min_loss: float
    rule: str = RULE

    @property
    def text(self) -> str:
        """The suggestion as a form or flag takes it: three significant digits."""
        return f"{self.lr:.3g}"


def suggest(lrs: np.ndarray | list[float], smoothed: np.ndarray | list[float]) -> Suggestion:
    """:data:`RULE` over the recorded ``(lr_i, s_i)``: ``argmin_i s_i`` (the first if tied)
    ÷ :data:`SUGGEST_DIVISOR`. Needs at least one finite smoothed loss."""
    s = np.asarray(smoothed, dtype=np.float64)
    if s.size == 0 or not np.isfinite(s).any():
        raise ChexminiError("the learning-rate range test recorded no finite loss")
    i = int(np.nanargmin(np.where(np.isfinite(s), s, np.nan)))
    lr = float(np.asarray(lrs, dtype=np.float64)[i])
    return Suggestion(lr / SUGGEST_DIVISOR, lr, float(s[i]))


# -- events ------------------------------------------------------------------------------
@dataclass
class LrFindStarted(Event):
    """The sweep about to run (``widths``/``n_params``: the model; ``source``: the data)."""

    kind: ClassVar[str] = "lr_find_started"
    steps: int
    lr_min: float
    lr_max: float
    widths: list
    n_params: int
    source: str


@dataclass
class LrStep(Event):
    """Step ``step`` (from 1) of ``steps``: its learning rate, batch loss, smoothed loss."""

    kind: ClassVar[str] = "lr_step"
    step: int
    steps: int
    lr: float
    loss: float
    smoothed: float


@dataclass
class LrFindDone(Event):
    """The curve and the suggestion. ``stopped``: ``"exploded"`` (s > k·min), ``"not
    finite"``, ``"cancelled"`` or ``"completed"`` (all steps ran)."""

    kind: ClassVar[str] = "lr_find_done"
    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    suggestion: Suggestion | None
    stopped: str
    seconds: float
    explode: float = 4.0
    #: :func:`prior_loss` of the training split (the loss of predicting the class prior).
    prior_loss: float = float("nan")

    @property
    def below_prior(self) -> bool:
        """The smoothed loss fell below the class-prior loss somewhere (the model learned
        more than the prior during the sweep)."""
        s = self.suggestion
        return s is not None and not s.min_loss >= self.prior_loss


def prior_loss(labels: np.ndarray, smoothing: float,
               weights: np.ndarray | None = None) -> float:
    """The loss of the best constant prediction: with smoothed targets ``t`` and weights
    ``w``, the logit ``log(p / (1 − p))``, ``p = Σ w t / Σ w``, scored by
    :func:`core.nn.loss.bce_with_logits` (the training loss itself)."""
    w = np.ones(len(labels)) if weights is None else np.asarray(weights, np.float64)
    p = float(np.dot(w, smooth_targets(labels, smoothing)) / w.sum())
    z = np.full(len(labels), math.log(p / (1.0 - p)))
    return bce_with_logits(z, labels, smoothing, weights)[0]


class LrFindControl:
    """``stop()`` ends the sweep at the next step boundary (the curve so far is kept)."""

    def __init__(self) -> None:
        self.stop_requested = False

    def stop(self) -> None:
        self.stop_requested = True


def _batches(run: TrainingState, n: int, batch_size: int) -> Iterator[np.ndarray]:
    """Indices of the training split, ``batch_size`` at a time, epoch after epoch
    (each epoch a fresh seeded permutation, as training shuffles)."""
    while True:
        perm = run.shuffle_rng.permutation(n)
        for start in range(0, n, batch_size):
            yield perm[start : start + batch_size]


def lr_find(config: TrainConfig, data: DataSplits, sweep: LrRange | None = None, *,
            control: LrFindControl | None = None) -> Iterator[Event]:
    """Run the range test (module docstring); yields :class:`LrFindStarted`, one
    :class:`LrStep` per step, then :class:`LrFindDone`. ``config.lr`` and its schedule are
    not used: the sweep owns the rate. Class weights are honoured as in training."""
    sweep = (sweep or LrRange()).check()
    check_config_and_data(config, data)
    control = control or LrFindControl()
    run = TrainingState(config, data)  # the seeded initial weights, optimiser, statistics
    maker = BatchMaker(run.mean, run.std, noise_seed=run.noise_seed)
    step, labels, weights = step_parts(config, run, maker, data.train.labels)
    yield LrFindStarted(sweep.steps, sweep.lr_min, sweep.lr_max, list(config.widths),
                        run.model.n_parameters(), data.source)
    floor = prior_loss(labels, config.label_smoothing, weights)
    for event in _sweep(step, run, (data.train.images, labels, weights), config.batch_size,
                        sweep, control):
        if isinstance(event, LrFindDone):
            event.prior_loss = floor
        yield event


def _sweep(step: TrainStep, run: TrainingState, train: tuple, batch_size: int,
           sweep: LrRange, control: LrFindControl) -> Iterator[Event]:
    """The steps; ``train`` = ``(images uint8, labels float64, class weights or None)``."""
    images, labels, weights = train
    smoother, batches = Smoother(sweep.beta), _batches(run, len(labels), batch_size)
    lrs: list[float] = []
    losses: list[float] = []
    smoothed: list[float] = []
    best, stopped, t0 = math.inf, "completed", time.perf_counter()
    for i in range(sweep.steps):
        if control.stop_requested:
            stopped = "cancelled"
            break
        lr, idx = sweep.lr_at(i), next(batches)
        with np.errstate(**QUIET_FP):
            loss = step(images[idx], labels[idx], run.aug_rng,
                        None if weights is None else weights[idx], lr=lr)
        if not math.isfinite(loss):
            stopped = "not finite"
            break
        s = smoother.add(loss)
        lrs.append(lr)
        losses.append(float(loss))
        smoothed.append(s)
        best = min(best, s)
        yield LrStep(i + 1, sweep.steps, lr, float(loss), s)
        if s > sweep.explode * best:
            stopped = "exploded"
            break
    result = suggest(lrs, smoothed) if smoothed else None
    yield LrFindDone(lrs, losses, smoothed, result, stopped, time.perf_counter() - t0,
                     sweep.explode)


def run_lr_find(config: TrainConfig, data: DataSplits,
                sweep: LrRange | None = None) -> LrFindDone:
    """Drive :func:`lr_find` to the end; its :class:`LrFindDone`."""
    done = None
    for event in lr_find(config, data, sweep):
        if isinstance(event, LrFindDone):
            done = event
    assert done is not None
    return done
