"""``chexmini inspect``: what a checkpoint folder holds — model, layout, resize filter,
threshold, files, splits and headline metrics."""

from __future__ import annotations

import argparse

from rich.text import Text

from chexmini_cli.options import DEFAULT_CHECKPOINT
from chexmini_cli.output import json_text, metric_table, new_console, styled


def register(sub: argparse._SubParsersAction) -> None:
    i = sub.add_parser("inspect", help="summarise a checkpoint folder")
    i.add_argument("checkpoint", nargs="?", default=DEFAULT_CHECKPOINT)
    i.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    from core.inference import checkpoint_summary, load_checkpoint
    from core.runs.scores import with_auc_intervals

    console = new_console()
    summary = checkpoint_summary(args.checkpoint)
    model = load_checkpoint(args.checkpoint)[0]
    summary = with_auc_intervals(summary)
    reports = {k: summary[k] for k in ("validation", "test") if k in summary}
    if args.json:
        slim = {k: v for k, v in summary.items() if k not in ("validation", "test")}
        for split, report in reports.items():   # a hand-written metrics.json may lack them
            slim[split] = {k: v for k, v in report.items() if k not in ("roc_curve", "pr_curve")}
        print(json_text({"model": repr(model), **slim}, indent=2))
        return 0
    console.print(Text.assemble(styled(str(summary["path"]), "bold"), f"  {model!r}"))
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
