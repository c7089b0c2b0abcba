"""``chexmini train``: drive the training generator with rich progress bars.

SIGINT (Ctrl-C), SIGTERM and SIGHUP are caught: the current step finishes, the generator
is closed (which writes ``RUN_DIR/resume.npz``), the command prints how to resume and
exits non-zero (130 for SIGINT, 128+signum otherwise). A second Ctrl-C exits at once;
files already written are never half-written (every write is atomic).

The run can be paused, resumed, saved and stopped from another terminal of the same user
(``chexmini-tui --attach RUN_DIR``, keys p, w, x): the requests arrive through the run
folder (:mod:`core.training.steering`), are checked between steps, and each is answered by
one line here and a ``control`` event in ``events.jsonl``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.text import Text

from chexmini_cli.options import (
    add_config_flags,
    add_data_flags,
    add_quiet_flag,
    config_from_args,
    load_data_from_args,
)
from chexmini_cli.output import new_console, styled
from chexmini_cli.progress import cache_ticks, progress_line
from core.evaluation.bootstrap import headline_auc
from core.foundation.config import TrainConfig
from core.foundation.errors import ChexminiError
from core.foundation.progress import Tick, TickFn
from core.runs import layout
from core.runs.folder import check_can_start

EXIT_SIGNAL_BASE = 128


def register(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("train", help="train a model (writes a run directory)")
    add_data_flags(t)
    t.add_argument("--out", help="run directory (default: runs/<timestamp>)")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run")
    t.add_argument("--overwrite", action="store_true",
                   help="start again in an --out folder that already holds a run")
    add_quiet_flag(t, "no progress line: one line per epoch and the result")
    add_config_flags(t)


class SignalStop:
    """Record the first stop signal; a second SIGINT exits immediately."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._old: dict[int, object] = {}

    def _handle(self, signum, frame) -> None:  # noqa: ARG002
        if self.signum is not None and signum == signal.SIGINT:
            os.write(2, b"\nchexmini: second interrupt, exiting now\n")
            os._exit(EXIT_SIGNAL_BASE + signum)
        self.signum = signum

    def __enter__(self) -> SignalStop:
        for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)):
            if sig is not None:
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


def default_run_dir() -> Path:
    return Path("runs") / time.strftime("%Y%m%d-%H%M%S")


#: Data flags that a resumed run takes from its resume state, never from the command line.
RESUME_FIXED = {"data": "--data", "classes": "--classes", "n_train": "--n-train",
                "n_val": "--n-val", "n_test": "--n-test", "val_fraction": "--val-fraction",
                "test_fraction": "--test-fraction"}


def _resume_conflicts(args: argparse.Namespace, run_dir: Path) -> None:
    """``--resume`` continues the run in ``RUN_DIR`` with its own data: a different
    ``--out`` or any data flag would be silently ignored, so they are refused."""
    if args.out and Path(args.out).resolve() != run_dir.resolve():
        raise ChexminiError(f"--resume continues the run in {run_dir}; --out {args.out} "
                            "is a different folder (drop --out)", args.out)
    given = [flag for name, flag in RESUME_FIXED.items() if getattr(args, name, None)
             is not None]
    if getattr(args, "split_seed", 0):
        given.append("--split-seed")
    if args.overwrite:
        given.append("--overwrite")
    if given:
        raise ChexminiError(f"--resume continues with the run's own data and split; "
                            f"drop {', '.join(given)}", run_dir)


def prepare(args: argparse.Namespace, tick: TickFn) -> tuple[TrainConfig, object, Path, bool]:
    """Config, data, run dir and resume flag from the parsed arguments. The run folder's
    policy (:mod:`core.runs.folder`) is checked before any data is loaded."""
    from core.training.train import load_for_resume

    if args.resume:
        run_dir = Path(args.resume)
        _resume_conflicts(args, run_dir)
        check_can_start(run_dir, resume=True)
        saved, data = load_for_resume(run_dir, progress=cache_ticks(tick))
        return config_from_args(args, saved), data, run_dir, True
    config = config_from_args(args).validate()  # before any data is loaded
    run_dir = Path(args.out) if args.out else default_run_dir()
    check_can_start(run_dir, overwrite=args.overwrite)
    data = load_data_from_args(args, config.image_size, tick)
    return config, data, run_dir, False


def control_line(ev, run_dir: Path) -> str:
    """One line for a pause/resume/save/stop request answered (see ``core.training.steering``)."""
    who = "" if ev.by == "here" else f" (asked by {ev.by})"
    if not ev.ok:
        return f"chexmini: {ev.detail}"
    if ev.action == "pause":
        return f"{ev.detail} at step {ev.global_step}{who}; resume it with p in: " \
               f"chexmini-tui --attach {run_dir}"
    return f"{ev.detail}{who}"


def run(args: argparse.Namespace) -> int:
    console = new_console()
    with progress_line(args.quiet, console) as tick:
        config, data, run_dir, resume = prepare(args, tick)
        stop = _drive(args, console, tick, config, data, run_dir, resume)
    if stop.signum is not None:
        name = signal.Signals(stop.signum).name
        resumable = (run_dir / layout.RESUME).is_file()
        msg = (f"chexmini: {name} received; state saved. Resume with:\n"
               f"  chexmini train --resume {run_dir}" if resumable
               else f"chexmini: {name} received before the first step; nothing to resume.")
        print(msg, file=sys.stderr)
        return EXIT_SIGNAL_BASE + stop.signum
    return 0


def _drive(args, console: Console, tick: TickFn, config: TrainConfig, data, run_dir: Path,
           resume: bool) -> SignalStop:
    """Run the training generator to its end (or a stop signal), printing each epoch and
    ticking the epochs and steps lines; the generator is always closed (resume state)."""
    from core.training.steering import Steering, steered
    from core.training.train import TrainControl, train

    control = TrainControl()
    gen = train(config, data, run_dir, control=control, resume=resume,
                overwrite=args.overwrite)
    steering = Steering(control, run_dir)      # pause/save/stop from an attached app
    with SignalStop() as stop:
        try:
            for ev in steered(gen, steering, lambda: stop.signum is not None):
                _show(ev, console, tick, config, run_dir)
                if ev.kind == "finished" or getattr(ev, "what", "") == "artifacts":
                    stop.signum = None  # the artifacts are written: the run is done
                if stop.signum is not None:
                    break
        finally:
            gen.close()
    return stop


def _show(ev, console: Console, tick: TickFn, config: TrainConfig, run_dir: Path) -> None:
    """Print or tick one training event."""
    if ev.kind == "run_started":
        s = ev.splits
        resumed = f" (resumed at epoch {ev.start_epoch + 1})" if ev.resumed else ""
        console.print(Text.assemble(
            styled("chexmini train", "bold"),
            f" {ev.source} → {run_dir}{resumed}\n"
            f"  MLP {'→'.join(map(str, ev.widths))} ({ev.n_params:,} params); "
            f"train {s['train']['n']} / val {s['val']['n']} / test {s['test']['n']} "
            f"images, positive rates {s['train']['positive_rate']:.3f} / "
            f"{s['val']['positive_rate']:.3f} / {s['test']['positive_rate']:.3f}"))
        for line in ev.warnings:
            console.print(Text.assemble(styled("warning:", "yellow"), f" {line}"))
        tick(Tick("epochs", ev.start_epoch, config.epochs))
        tick(Tick("steps", ev.start_step, ev.steps_per_epoch))
    elif ev.kind == "step":
        tick(Tick("steps", ev.step, ev.steps_per_epoch,
                  f"loss {ev.loss:.4f}  {ev.samples_per_s:,.0f} samples/s"))
    elif ev.kind == "epoch":
        tick(Tick("epochs", ev.epoch, ev.epochs,
                  f"best AUC {ev.best_val_auc:.4f} @ {ev.best_epoch}"))
        mark = " *" if ev.is_best else ""
        console.print(
            f"epoch {ev.epoch:>4}/{ev.epochs}  train {ev.train_loss:.4f}  "
            f"val {ev.val_loss:.4f}  AUC {ev.val_auc:.4f}  acc {ev.val_acc:.4f}  "
            f"lr {ev.lr:.2e}  {ev.seconds:.1f}s{mark}",
            highlight=False, soft_wrap=True)
    elif ev.kind == "finished":
        v, t = ev.validation, ev.test
        console.print(Text.assemble(
            styled("done", "bold green"), f": best epoch {ev.best_epoch}, threshold "
            f"{ev.threshold:.4f} (Youden's J on validation)\n"
            f"  validation AUC {headline_auc(v)}  balanced acc "
            f"{v['balanced_accuracy']:.4f}\n"
            f"  test       AUC {headline_auc(t)}  balanced acc "
            f"{t['balanced_accuracy']:.4f}\n  artifacts in {ev.out_dir}"))
    elif ev.kind == "control":
        console.print(control_line(ev, run_dir), highlight=False, soft_wrap=True)
