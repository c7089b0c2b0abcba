"""``chexmini train``: drive the training generator with rich progress bars.

SIGINT (Ctrl-C), SIGTERM and SIGHUP are caught: the current step finishes, the generator
is closed (which writes ``RUN_DIR/resume.npz``), the command prints how to resume and
exits non-zero (130 for SIGINT, 128+signum otherwise). A second Ctrl-C exits at once;
files already written are never half-written (every write is atomic).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from chexmini_cli.options import (
    add_config_flags,
    add_data_flags,
    config_from_args,
    load_data_from_args,
)
from chexmini_cli.output import new_console, styled
from chexmini_cli.progress import cache_progress
from core.evaluation.bootstrap import headline_auc
from core.foundation.config import TrainConfig
from core.foundation.errors import ChexminiError
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
    t.add_argument("--quiet", action="store_true", help="one line per epoch, no bars")
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


def prepare(args: argparse.Namespace, console: Console) -> tuple[TrainConfig, object, Path, bool]:
    """Config, data, run dir and resume flag from the parsed arguments. The run folder's
    policy (:mod:`core.runs.folder`) is checked before any data is loaded."""
    from core.training.train import load_for_resume

    if args.resume:
        run_dir = Path(args.resume)
        _resume_conflicts(args, run_dir)
        check_can_start(run_dir, resume=True)
        with cache_progress(console, disable=args.quiet or not console.is_terminal) as cb:
            saved, data = load_for_resume(run_dir, progress=cb)
        return config_from_args(args, saved), data, run_dir, True
    config = config_from_args(args).validate()  # before any data is loaded
    run_dir = Path(args.out) if args.out else default_run_dir()
    check_can_start(run_dir, overwrite=args.overwrite)
    data = load_data_from_args(args, console, config.image_size, quiet=args.quiet)
    return config, data, run_dir, False


def run(args: argparse.Namespace) -> int:
    from core.training.train import train

    console = new_console()
    config, data, run_dir, resume = prepare(args, console)
    quiet = args.quiet or not console.is_terminal
    gen = train(config, data, run_dir, resume=resume, overwrite=args.overwrite)
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn(),
        console=console, disable=quiet, transient=False)
    epoch_task = step_task = None
    with SignalStop() as stop, progress:
        try:
            for ev in gen:
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
                    epoch_task = progress.add_task("epochs", total=config.epochs,
                                                   completed=ev.start_epoch, info="")
                    step_task = progress.add_task("steps", total=ev.steps_per_epoch,
                                                  completed=ev.start_step, info="")
                elif ev.kind == "step":
                    progress.update(step_task, completed=ev.step,
                                    info=f"loss {ev.loss:.4f}  {ev.samples_per_s:,.0f} samples/s")
                elif ev.kind == "epoch":
                    progress.update(epoch_task, completed=ev.epoch,
                                    info=f"best AUC {ev.best_val_auc:.4f} @ {ev.best_epoch}")
                    progress.reset(step_task, total=progress.tasks[step_task].total)
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
                if ev.kind == "finished" or getattr(ev, "what", "") == "artifacts":
                    stop.signum = None  # the artifacts are written: the run is done
                if stop.signum is not None:
                    break
        finally:
            gen.close()
    if stop.signum is not None:
        name = signal.Signals(stop.signum).name
        resumable = (run_dir / layout.RESUME).is_file()
        msg = (f"chexmini: {name} received; state saved. Resume with:\n"
               f"  chexmini train --resume {run_dir}" if resumable
               else f"chexmini: {name} received before the first step; nothing to resume.")
        print(msg, file=sys.stderr)
        return EXIT_SIGNAL_BASE + stop.signum
    return 0
