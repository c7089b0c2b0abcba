"""``chexmini export``: write a checkpoint in the published CheXVision-mini layout (or back)."""

from __future__ import annotations

import argparse

from chexmini_cli.options import add_quiet_flag, use_checkpoint
from chexmini_cli.output import new_console
from chexmini_cli.progress import progress_line
from core.runs.published import CHEXMINI, PUBLISHED


def register(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser("export", help="write a checkpoint in another layout "
                                      "(the published CheXVision-mini one by default)")
    e.add_argument("checkpoint", metavar="CHECKPOINT",
                   help="the checkpoint to export (artifacts: ./artifacts, else the shipped "
                        "checkpoint installed with chexmini)")
    e.add_argument("out", metavar="OUT", help="output folder")
    e.add_argument("--format", choices=(PUBLISHED, CHEXMINI), default=PUBLISHED,
                   help=f"layout to write (default {PUBLISHED})")
    e.add_argument("--overwrite", action="store_true",
                   help="replace a checkpoint already in OUT")
    add_quiet_flag(e, "no progress line and no notes: the exported line and errors only")


def run(args: argparse.Namespace) -> int:
    from core.runs.export import export_checkpoint

    console = new_console()
    use_checkpoint(args, None if args.quiet else console)   # --quiet: the result line only
    with progress_line(args.quiet, console) as tick:
        res = export_checkpoint(args.checkpoint, args.out, args.format,
                                overwrite=args.overwrite, tick=tick)
    console.print(f"exported {args.checkpoint} → {res.out} ({args.format} layout): "
                  f"{', '.join(res.files)}", highlight=False, soft_wrap=True)
    if args.quiet:
        return 0
    console.print(_note(res.layout, res.resize_filter, res.image_size), highlight=False,
                  soft_wrap=True)
    if res.layout == PUBLISHED and res.threshold != res.training_threshold:
        console.print(f"note: the published code applies metrics.json's threshold "
                      f"{res.training_threshold:.4f}; chexmini applies the saved operating "
                      f"threshold {res.threshold:.4f} ({res.threshold_rule})",
                      highlight=False, soft_wrap=True, markup=False)
    return 0


def _note(layout: str, resize: str, size: int) -> str:
    """One line on the image pipeline the exported checkpoint needs."""
    if layout == PUBLISHED and resize == "area":
        return (f"note: the published code resizes images larger than {size}×{size} "
                f"bicubically, but this checkpoint was trained on area-resized images "
                f"(recorded as resize_filter \"area\" in metrics.json; chexmini honours it)")
    return (f"note: this checkpoint needs {resize}-resized images (recorded as "
            f"resize_filter \"{resize}\" in metrics.json)")
