"""``chexmini gallery``: the images of one confusion-matrix cell of a run, most confident
first (file, patient, score, true label) — the app's error gallery for the shell."""

from __future__ import annotations

import argparse

from chexmini_cli.options import (
    CHECKPOINT_HELP,
    add_quiet_flag,
    add_split_flag,
    check_flags,
    use_checkpoint,
)
from chexmini_cli.output import json_text, new_console
from core.inference.gallery import CELL_TITLES, CELLS, LABEL_NAMES, select


def register(sub: argparse._SubParsersAction) -> None:
    g = sub.add_parser("gallery", help="list one confusion-matrix cell of a run's "
                                       "validation or test split, most confident first")
    g.add_argument("checkpoint", metavar="CHECKPOINT", nargs="?", help=CHECKPOINT_HELP)
    add_split_flag(g, ("val", "test"), "test", "the scored split (default test; "
                   "validation = val)")
    g.add_argument("--cell", type=str.upper, choices=CELLS, default="FP",
                   help="TN, FP, FN or TP (default FP)")
    g.add_argument("--threshold", type=float,
                   help="decision threshold (default: the checkpoint's, its saved operating "
                        "point when it has one)")
    g.add_argument("--top", type=int, default=10, help="how many to list (default 10; "
                                                       "0 for all)")
    g.add_argument("--json", action="store_true")
    add_quiet_flag(g)


def run(args: argparse.Namespace) -> int:
    from core.runs.checkpoint import active_threshold, checkpoint_dir, read_metrics
    from core.runs.images import locate

    console = new_console()
    check_flags(args, {"threshold": {"lo": 0, "hi": 1}, "top": {"lo": 0, "integer": True}})
    use_checkpoint(args, console)
    ckpt = checkpoint_dir(args.checkpoint)
    if args.threshold is None:   # the checkpoint's own: its operating point when saved
        active = active_threshold(read_metrics(ckpt))
        t, rule = active.value, active.rule
    else:
        t, rule = args.threshold, "--threshold"
    run_split = locate(ckpt, args.split)
    order = select(run_split.scores, run_split.labels, t, args.cell)
    shown = order if args.top == 0 else order[:args.top]
    rows = [{"rank": k + 1, "index": int(i), "file": str(run_split.names[i]),
             "patient": int(run_split.patients[i]) if run_split.patients[i] >= 0 else None,
             "score": float(run_split.scores[i]),
             "true_label": LABEL_NAMES[int(run_split.labels[i])]}
            for k, i in enumerate(shown)]
    if args.json:
        print(json_text({"checkpoint": str(args.checkpoint), "split": args.split,
                          "cell": args.cell, "threshold": t, "rule": rule,
                          "n_cell": len(order),
                          "data": run_split.source, "images": rows}, indent=2))
        return 0
    console.print(f"{args.checkpoint} · {args.split} · {args.cell}: "
                  f"{CELL_TITLES[args.cell]} at threshold {t:.4f} ({rule}) — {len(order)} images, "
                  f"most confident first (data {run_split.source})", highlight=False,
                  soft_wrap=True, markup=False)
    for r in rows:
        patient = "—" if r["patient"] is None else str(r["patient"])
        console.print(f"{r['rank']:>4}  {r['file']}  patient {patient}  score "
                      f"{r['score']:.4f}  true {r['true_label']}", highlight=False,
                      soft_wrap=True, markup=False)
    return 0
