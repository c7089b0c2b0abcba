"""``chexmini inspect``: what a checkpoint folder holds — model, layout, resize filter,
threshold, files, splits and headline metrics; ``--filters OUT.png`` also draws fc1's
templates (:mod:`core.inference.filters`)."""

from __future__ import annotations

import argparse

from rich.text import Text

from chexmini_cli.options import (
    CHECKPOINT_HELP,
    add_quiet_flag,
    check_output_path,
    use_checkpoint,
)
from chexmini_cli.output import json_text, metric_table, new_console, styled


def register(sub: argparse._SubParsersAction) -> None:
    i = sub.add_parser("inspect", help="summarise a checkpoint folder")
    i.add_argument("checkpoint", nargs="?", help=CHECKPOINT_HELP)
    i.add_argument("--json", action="store_true")
    add_quiet_flag(i)
    i.add_argument("--filters", metavar="OUT.png",
                   help="also write fc1's templates as a picture: every hidden unit, not "
                        "dead first then by ‖w‖, dead units (never active on the "
                        "validation images) last and framed in red")


def run(args: argparse.Namespace) -> int:
    from core.inference import checkpoint_summary, load_checkpoint
    from core.runs.checkpoint import architecture_text
    from core.runs.scores import with_auc_intervals

    console = new_console()
    use_checkpoint(args, console)
    if args.filters:
        check_output_path(args.filters, "--filters")
    summary = checkpoint_summary(args.checkpoint)
    ckpt = load_checkpoint(args.checkpoint)
    model = ckpt.model
    arch = architecture_text(model, summary)
    if args.filters:
        _write_filters(args.checkpoint, ckpt, args.filters, console)
    summary = with_auc_intervals(summary)
    reports = {k: summary[k] for k in ("validation", "test") if k in summary}
    if args.json:
        slim = {k: v for k, v in summary.items() if k not in ("validation", "test")}
        for split, report in reports.items():   # a hand-written metrics.json may lack them
            slim[split] = {k: v for k, v in report.items() if k not in ("roc_curve", "pr_curve")}
        print(json_text({"model": arch, **slim}, indent=2))
        return 0
    console.print(Text.assemble(styled(str(summary["path"]), "bold"), f"  {arch}"))
    console.print(_threshold_line(summary), markup=False, soft_wrap=True)
    console.print(f"format {summary['format']}, images resized with the "
                  f"{summary['resize_filter']} filter")
    console.print(f"best epoch {summary.get('best_epoch')}; files: "
                  f"{', '.join(summary['files'])}")
    splits = summary.get("splits", {})
    console.print("splits: " + ", ".join(
        f"{k} {v['n']} (pos {v['pos']})" for k, v in splits.items()))
    if reports:
        at = ("" if summary.get("operating_point") is None else
              f" (at the training threshold {summary['threshold']:.4f})")
        console.print(metric_table(f"headline metrics{at}", reports))
    return 0


def _threshold_line(summary: dict) -> str:
    """The threshold the checkpoint's consumers apply, and its rule; with a saved
    operating point also the training-time threshold kept in ``metrics.json``."""
    line = (f"threshold {summary['active_threshold']:.4f} ({summary['active_rule']}), used by "
            "predict, evaluate, gallery and the app")
    if summary.get("operating_point") is not None:
        line += f"; training threshold (Youden's J) {summary['threshold']:.4f}"
    return line


def _write_filters(path: str, ckpt, out: str, console) -> None:
    """Draw every fc1 unit's template into ``out`` (atomically) and say what was drawn."""
    from core.inference.filters import first_layer
    from core.runs.plots import write_filter_grid

    layer = first_layer(path, ckpt)
    n, n_dead = len(layer.order), int(layer.dead_in_order().sum())
    rule = ("not dead first, then ‖w‖ largest first; dead last (red frame)"
            if layer.dead is not None else "‖w‖ largest first")
    write_filter_grid(out, layer.ordered_templates(), layer.order, layer.dead_in_order(),
                      f"{path}: fc1 templates, {n} units ({rule}); {n_dead} dead")
    console.print(f"filters: {n} fc1 templates ({rule}), {n_dead} dead → {out}",
                  markup=False, soft_wrap=True)
    if layer.no_images:
        console.print(layer.no_images, markup=False, soft_wrap=True)
