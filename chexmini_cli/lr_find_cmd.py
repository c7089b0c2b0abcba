"""``chexmini lr-find``: the learning-rate range test (:mod:`core.training.lr_find`).

Takes the data and model flags of ``train``, runs a few hundred steps from the configured
initial weights with the rate rising exponentially, and prints the suggestion — the
learning rate at the minimum of the smoothed loss ÷ 10. ``--plot OUT.png`` draws the
curve (log x; written atomically), ``--json`` prints everything as JSON. Nothing else is
written: no run folder is created or touched.
"""

from __future__ import annotations

import argparse

from rich.text import Text

from chexmini_cli.options import (
    add_config_flags,
    add_data_flags,
    add_quiet_flag,
    check_output_path,
    config_from_args,
    load_data_from_args,
)
from chexmini_cli.output import json_text, new_console, styled
from chexmini_cli.progress import progress_line
from core.foundation.checks import ConfigError
from core.foundation.numbers import show
from core.foundation.progress import Tick
from core.training.lr_find import RULE, LrRange

#: ``LrRange`` field → its flag.
SWEEP_FLAGS = {"lr_min": "--start-lr", "lr_max": "--end-lr", "steps": "--steps",
               "beta": "--smoothing", "explode": "--explode"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lr-find", help="learning-rate range test: suggest a learning rate "
                       "(writes no run folder)",
                       description=f"Train from the configured initial weights with the "
                       f"learning rate rising exponentially; suggest the {RULE}.")
    add_data_flags(p)
    d = LrRange()
    g = p.add_argument_group("the sweep")
    g.add_argument("--start-lr", dest="lr_min", type=float, default=d.lr_min,
                   help=f"first learning rate (default {d.lr_min:g})")
    g.add_argument("--end-lr", dest="lr_max", type=float, default=d.lr_max,
                   help=f"last learning rate (default {d.lr_max:g})")
    g.add_argument("--steps", type=int, default=d.steps,
                   help=f"steps at most, one batch each (default {d.steps})")
    g.add_argument("--smoothing", dest="beta", type=float, default=d.beta,
                   help=f"EMA factor of the smoothed loss (default {d.beta:g})")
    g.add_argument("--explode", type=float, default=d.explode,
                   help=f"stop when the smoothed loss exceeds this many times its minimum "
                   f"(default {d.explode:g})")
    p.add_argument("--plot", metavar="OUT.png", help="draw the curve (log x) to this PNG")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_quiet_flag(p)
    add_config_flags(p)


def _sweep(args: argparse.Namespace) -> LrRange:
    sweep = LrRange(args.lr_min, args.lr_max, args.steps, args.beta, args.explode)
    try:
        return sweep.check()
    except ConfigError as exc:
        raise exc.named(SWEEP_FLAGS[exc.field]) from None


def run(args: argparse.Namespace) -> int:
    from core.training.lr_find import LrFindDone, LrFindStarted, LrStep, lr_find

    sweep = _sweep(args)
    config = config_from_args(args)
    if args.plot:
        check_output_path(args.plot, "--plot")
    console = new_console()
    done = None
    with progress_line(args.quiet or args.json, console) as tick:
        data = load_data_from_args(args, config.image_size, tick=tick)
        for ev in lr_find(config, data, sweep):
            if isinstance(ev, LrFindStarted) and not args.json:
                console.print(_header(ev, config))
            elif isinstance(ev, LrStep):
                tick(Tick("lr-find", ev.step, sweep.steps,
                          f"lr {ev.lr:.2e}  loss {ev.smoothed:.4f}"))
            elif isinstance(ev, LrFindDone):
                done = ev
    if args.plot:
        _write_plot(args.plot, done, data.source)
    if args.json:
        print(json_text(_as_json(done, sweep, args.plot), indent=2))
    else:
        console.print(_report(done, args.plot))
    return 0


def _header(ev, config) -> Text:
    return Text.assemble(
        styled("chexmini lr-find", "bold"),
        f" {ev.source}: MLP {'→'.join(map(str, ev.widths))} ({ev.n_params:,} params), "
        f"{config.optimizer}, batch {config.batch_size}; up to {ev.steps} steps, "
        f"lr {ev.lr_min:g} → {ev.lr_max:g}")


STOPPED = {"exploded": "the loss exploded (smoothed loss > {k:g} × its minimum)",
           "not finite": "the loss stopped being a finite number",
           "completed": "every step ran (the loss never exploded: try a larger --end-lr)",
           "cancelled": "cancelled"}


def _report(done, plot: str | None) -> Text:
    s, n = done.suggestion, len(done.lrs)
    last = f" at lr {done.lrs[-1]:.2e}" if n else ""
    lines = [f"stopped after {n} steps{last}, {done.seconds:.1f} s: "
             + STOPPED[done.stopped].format(k=done.explode)]
    if s is not None:
        lines.append(f"minimum smoothed loss {show(s.min_loss, '.4f')} at lr {s.lr_at_min:.2e}")
    parts: list = ["\n".join(lines) + "\n"]
    if s is None:
        parts.append("no suggestion: no finite loss was recorded")
    else:
        parts += [styled(f"suggested lr {s.text}", "bold green"), f"  ({s.rule})\n",
                  f"  e.g. chexmini train --lr {s.text}"]
    if s is not None and not done.below_prior:
        parts += ["\n", styled("note", "bold yellow"), ": " + NOT_BELOW_PRIOR.format(
            prior=done.prior_loss)]
    if plot:
        parts.append(f"\nplot: {plot}")
    return Text.assemble(*parts)


#: Said when the smoothed loss never fell below the class-prior loss.
NOT_BELOW_PRIOR = ("the smoothed loss never fell below {prior:.4f}, the loss of predicting "
                   "the class prior: the curve shows where training becomes unstable, not "
                   "which rate learns best — check the suggestion with a short run")


def _as_json(done, sweep: LrRange, plot: str | None) -> dict:
    s = done.suggestion
    return {"suggestion": None if s is None else s.lr, "rule": RULE,
            "lr_at_min": None if s is None else s.lr_at_min,
            "min_smoothed_loss": None if s is None else s.min_loss,
            "prior_loss": done.prior_loss, "below_prior_loss": done.below_prior,
            "stopped": done.stopped, "steps_run": len(done.lrs), "seconds": done.seconds,
            "sweep": {"start_lr": sweep.lr_min, "end_lr": sweep.lr_max, "steps": sweep.steps,
                      "smoothing": sweep.beta, "explode": sweep.explode},
            "curve": {"lr": done.lrs, "loss": done.losses, "smoothed": done.smoothed},
            "plot": plot}


def _write_plot(path: str, done, source: str) -> None:
    from core.foundation.atomic import write_bytes
    from core.runs.plots import render_lr_find

    s = done.suggestion
    title = (f"lr-find on {source}: suggested lr {s.text}\n({s.rule})" if s
             else f"lr-find on {source}")
    write_bytes(path, render_lr_find(done.lrs, done.losses, done.smoothed,
                                     None if s is None else s.lr, title, done.prior_loss))
