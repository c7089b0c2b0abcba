"""``chexmini predict``: P(abnormal) and the label of image files (or the bundled sample
X-rays), with the true label where one is found and a note on images unlike X-rays."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.table import Table

from chexmini_cli.options import CHECKPOINT_HELP, EXIT_USAGE, add_quiet_flag, use_checkpoint
from chexmini_cli.output import json_text, new_console
from chexmini_cli.progress import progress_line
from core.foundation.text import middle_ellipsis


def register(sub: argparse._SubParsersAction) -> None:
    pr = sub.add_parser("predict", help="P(abnormal) for image files")
    pr.add_argument("--checkpoint", help=CHECKPOINT_HELP)
    which = pr.add_mutually_exclusive_group(required=True)
    which.add_argument("--image", nargs="+", metavar="FILE", help="image files to score")
    which.add_argument("--samples", action="store_true",
                       help="score the dozen real NIH X-rays shipped with chexmini "
                            "(test-split images, six normal and six abnormal)")
    pr.add_argument("--json", action="store_true")
    add_quiet_flag(pr)


def _predict_paths(args) -> list:
    """``--image`` files, or the bundled sample X-rays for ``--samples``."""
    if not args.samples:
        return args.image
    from core.data.nih_sample import sample_pngs

    return sample_pngs()


def _sample_row(path: str) -> list[str]:
    """A bundled sample's ``[NIH file name, true label]`` (its folder is its label)."""
    p = Path(path)
    return [p.name, p.parent.name]


HEADERS = ("file", "P(abnormal)", "label", "true label", "note")


def _table(args, thr: float, rule: str, preds, oods, truths, width: int) -> Table:
    """One row per predicted file. Paths are cut in the middle to the width left by the
    other columns (never at the end, where two files' names differ)."""
    rows = []
    for p, o, t in zip(preds, oods, truths, strict=True):
        if p.error is None:
            true = "—" if t is None else t.label + (" ✓" if t.label == p.label else " ✗")
            note = "not X-ray-like" if o is not None and o.flagged else ""
            shown = _sample_row(p.path)[0] if args.samples else p.path
            rows.append([shown, f"{p.prob:.4f}", p.label, true, note])
    others = sum(max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(HEADERS)
                 if i > 0)
    room = max(width - others - 3 * len(HEADERS) - 1, 12)   # borders and padding
    table = Table(title=f"{args.checkpoint} (threshold {thr:.4f}: {rule})")
    table.add_column(HEADERS[0], no_wrap=True, overflow="ignore", min_width=min(room, 12))
    for header in HEADERS[1:]:
        table.add_column(header, justify="right" if header.startswith("P(") else "left")
    for r in rows:
        table.add_row(middle_ellipsis(r[0], room), *r[1:])
    return table


def run(args: argparse.Namespace) -> int:
    from core.data.true_labels import LabelFinder
    from core.inference import load_checkpoint, predict_files
    from core.inference.ood import assess_files, xray_rules_apply
    from core.runs import layout

    console = new_console()
    use_checkpoint(args, console)
    ckpt = load_checkpoint(args.checkpoint)
    thr = ckpt.threshold
    paths = list(_predict_paths(args))
    with progress_line(args.quiet, console) as tick:
        preds = predict_files(ckpt.model, ckpt.mean, ckpt.std, thr, paths,
                              resize=ckpt.resize_filter, source=Path(ckpt.path) / layout.MODEL,
                              tick=tick)
    oods = assess_files([p.path for p in preds], ckpt.image_size, ckpt.mean, ckpt.std,
                        ckpt.resize_filter, xray_rules_apply(args.checkpoint))
    finder = LabelFinder()
    truths = [finder.lookup(p.path) if p.error is None else None for p in preds]
    if args.json:
        rows = [{**p.to_dict(), "ood": o.to_dict() if o is not None else None,
                 "true_label": t.label if t is not None else None}
                for p, o, t in zip(preds, oods, truths, strict=True)]
        print(json_text({"checkpoint": str(args.checkpoint), "threshold": thr,
                          "rule": ckpt.threshold_rule, "predictions": rows}, indent=2))
    else:
        table = _table(args, thr, ckpt.threshold_rule, preds, oods, truths, console.width)
        if any(p.error is None for p in preds):
            console.print(table)
        judged = [t.label == p.label for p, t in zip(preds, truths, strict=True) if t]
        if judged:
            console.print(f"accuracy {sum(judged)}/{len(judged)} = "
                          f"{100 * sum(judged) / len(judged):.1f} % where a true label was found")
        for p, o in zip(preds, oods, strict=True):
            if o is not None and o.flagged:
                console.print(f"warning: {p.path}: {o.explain()}", markup=False)
    errors = [p.error for p in preds if p.error is not None]
    for err in errors:
        print(f"chexmini: error: {err}", file=sys.stderr)
    return EXIT_USAGE if errors else 0
