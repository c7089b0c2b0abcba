"""``chexmini data …``: fetch, preprocess and describe data sets.

- ``chexmini data download chestmnist --size 64 [--dest DIR]`` — resumable, MD5-checked
  download into ``$CHEXMINI_DATA`` (default ``~/.cache/chexmini``).
- ``chexmini data prepare --data SOURCE [--workers N]`` — decode a source once into the
  preprocessing cache (parallel, with a progress bar; Ctrl-C keeps what is done and the
  next run continues), then show the splits and any skipped files.
- ``chexmini data info --data SOURCE`` — per split: n, positives, negatives, positive
  rate, patients.
"""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.table import Table
from rich.text import Text

from chexmini_cli.options import add_data_flags, add_quiet_flag, check_flags, load_data_from_args
from chexmini_cli.output import json_text, new_console, styled
from chexmini_cli.progress import progress_line
from core.data.dataset import data_warnings
from core.foundation.progress import Tick

EXIT_INTERRUPTED = 130


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``data`` sub-command and its own sub-commands."""
    d = sub.add_parser("data", help="download, preprocess and describe data sets")
    dsub = d.add_subparsers(dest="data_command", metavar="DATA_COMMAND", required=True)

    dl = dsub.add_parser("download", help="download a public data set (ChestMNIST)")
    dl.add_argument("dataset", choices=("chestmnist",))
    dl.add_argument("--size", type=int, default=64, choices=(28, 64, 128, 224),
                    help="image side of the ChestMNIST file (default: 64)")
    dl.add_argument("--dest", help="folder to store it in (default: $CHEXMINI_DATA or "
                                   "~/.cache/chexmini)")
    dl.add_argument("--url", help="download from this mirror instead of Zenodo (the file "
                                  "must still match the published MD5)")
    dl.add_argument("--retries", type=int, default=3,
                    help="resume a cut connection this many times (default: 3)")
    add_quiet_flag(dl)

    for name, help_ in (("prepare", "decode a data source once into the preprocessing "
                                    "cache and show its splits"),
                        ("info", "per-split counts, positive rate and patients")):
        p = dsub.add_parser(name, help=help_)
        add_data_flags(p, image_size=True)
        p.add_argument("--json", action="store_true", help="print JSON instead of tables")
        add_quiet_flag(p)


def _load(args, console: Console):
    with progress_line(args.quiet, console) as tick:
        return load_data_from_args(args, args.image_size, tick)


def _summary(data) -> dict:
    out = {}
    unknown = isinstance(data.info.get("patients"), str)
    for name, s in data.summary().items():
        out[name] = {**s, "patients": None if unknown else s["patients"]}
    return out


def _print_splits(data, console: Console) -> None:
    table = Table(title=f"{data.source}  ({data.image_size}×{data.image_size})")
    for col in ("split", "n", "positives", "negatives", "positive rate", "patients"):
        table.add_column(col, justify="left" if col == "split" else "right")
    for name, s in _summary(data).items():
        table.add_row(name, f"{s['n']:,}", f"{s['pos']:,}", f"{s['neg']:,}",
                      f"{s['positive_rate']:.3f}",
                      "unknown" if s["patients"] is None else f"{s['patients']:,}")
    console.print(table)
    info = data.info
    console.print(f"split: {info.get('split', 'patient-grouped stratified')} "
                  f"(seed {info.get('split_seed')}, val_fraction {info.get('val_fraction')})",
                  highlight=False)
    for note in info.get("notes", []):
        console.print(f"note: {note}", highlight=False)
    for line in data_warnings(data):
        console.print(Text.assemble(styled("warning:", "yellow"), f" {line}"), highlight=False)
    skipped = int(info.get("skipped", 0) or 0)
    if skipped:
        console.print(Text.assemble(styled(f"skipped {skipped:,} image(s)", "yellow"),
                      f" ({info.get('missing', 0):,} missing, "
                      f"{info.get('unreadable', skipped - info.get('missing', 0)):,} "
                      "unreadable); first ones:"), highlight=False)
        for line in info.get("skipped_examples", []):
            console.print(f"  {line}", highlight=False, markup=False)
        console.print(f"  full list: {info.get('cache')}/manifest.json", highlight=False)
    if info.get("cache"):
        console.print(f"cache: {info['cache']}", highlight=False)


def _run_download(args, console: Console) -> int:
    from core.data.download import download_chestmnist

    check_flags(args, {"retries": {"lo": 0, "hi": 100, "integer": True}})

    stages = {"download": "downloading", "verify": "checking MD5", "done": "downloaded"}

    def update(tick, ev) -> None:  # MiB of the file, one line
        total = None if ev.total is None else ev.total >> 20
        tick(Tick(f"ChestMNIST {args.size} (MiB)", ev.done >> 20, total,
                  stages.get(ev.stage, ev.stage)))

    try:
        with progress_line(args.quiet, console) as tick:
            path = download_chestmnist(args.size, args.dest, url=args.url,
                                       progress=lambda ev: update(tick, ev),
                                       retries=args.retries)
    except KeyboardInterrupt:
        print("chexmini: download interrupted; run the same command again to resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    console.print(f"ChestMNIST {args.size}×{args.size}: {path} (MD5 verified)\n"
                  f"use it with: --data chestmnist:{path}", highlight=False)
    return 0


def run(args: argparse.Namespace) -> int:
    console = new_console()
    if args.data_command == "download":
        return _run_download(args, console)
    try:
        data = _load(args, console)
    except KeyboardInterrupt:
        print("chexmini: interrupted; the images decoded so far are kept — run the same "
              "command again to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
    if args.json:
        print(json_text({"source": data.source, "image_size": data.image_size,
                          "splits": _summary(data), "info": data.info,
                          "warnings": data_warnings(data)}, indent=2))
        return 0
    _print_splits(data, console)
    if args.data_command == "prepare" and not args.quiet:
        console.print(f"ready: train with  chexmini train --data '{data.source}' "
                      f"--split-seed {data.info['split_seed']} "
                      f"--val-fraction {data.info['val_fraction']}", highlight=False)
    return 0
