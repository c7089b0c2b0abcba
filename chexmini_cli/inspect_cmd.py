"""``chexmini inspect``: what a checkpoint folder holds — model, layout, resize filter,
threshold, files, splits and headline metrics."""

from __future__ import annotations

import argparse
import json

from chexmini_cli.options import DEFAULT_CHECKPOINT
from chexmini_cli.output import metric_table, new_console


def register(sub: argparse._SubParsersAction) -> None:
    i = sub.add_parser("inspect", help="summarise a checkpoint folder")
    i.add_argument("checkpoint", nargs="?", default=DEFAULT_CHECKPOINT)
    i.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    from core.inference import checkpoint_summary, load_checkpoint

    console = new_console()
    summary = checkpoint_summary(args.checkpoint)
    model = load_checkpoint(args.checkpoint)[0]
    if args.json:
        slim = {k: v for k, v in summary.items() if k not in ("validation", "test")}
        for split in ("validation", "test"):
            slim[split] = {k: v for k, v in summary[split].items()
                           if k not in ("roc_curve", "pr_curve")}
        print(json.dumps({"model": repr(model), **slim}, indent=2))
        return 0
    console.print(f"[bold]{summary['path']}[/]  {model!r}")
    console.print(f"format {summary['format']}, images resized with the "
                  f"{summary['resize_filter']} filter")
    console.print(f"best epoch {summary.get('best_epoch')}, threshold "
                  f"{summary['threshold']:.4f}; files: {', '.join(summary['files'])}")
    op = summary.get("operating_point")
    if op:
        console.print(f"operating threshold {op['threshold']:.4f} ({op['rule']}), used by "
                      "predict and the app", markup=False)
    splits = summary.get("splits", {})
    console.print("splits: " + ", ".join(
        f"{k} {v['n']} (pos {v['pos']})" for k, v in splits.items()))
    reports = {k: summary[k] for k in ("validation", "test") if k in summary}
    if reports:
        console.print(metric_table("headline metrics", reports))
    return 0
