"""``chexmini cv``: k-fold patient-grouped cross-validation of the MLP, a linear model and
a constant baseline on the same folds (mean ± sd of test-fold AUC and balanced accuracy)."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from chexmini_cli.options import (
    add_config_flags,
    add_data_flags,
    add_quiet_flag,
    check_flags,
    check_output_path,
    config_from_args,
    load_data_from_args,
)
from chexmini_cli.output import json_text, new_console
from chexmini_cli.progress import progress_line
from core.data.sources import portable_source
from core.foundation.atomic import write_json
from core.foundation.config import TrainConfig
from core.training.cv import concat_splits, cross_validate, results_to_dicts, summarise

MODELS = ("mlp", "linear", "constant")


def register(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("cv", help="k-fold patient-grouped cross-validation")
    add_data_flags(c)
    c.add_argument("--folds", type=int, default=5)
    c.add_argument("--cv-seed", type=int, default=0, help="seed of the fold assignment")
    c.add_argument("--fold-val-fraction", type=float, default=0.15,
                   help="share of each fold's training patients used for validation")
    c.add_argument("--models", default=",".join(MODELS),
                   help="comma-separated subset of mlp,linear,constant")
    c.add_argument("--out", help="also write the per-fold results and summary as JSON")
    c.add_argument("--json", action="store_true")
    add_quiet_flag(c, "no progress line and no per-fold lines: the summary (or JSON) only")
    add_config_flags(c)


def run(args: argparse.Namespace) -> int:
    from core.foundation.errors import ChexminiError

    console = new_console()
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(names) - set(MODELS))
    if unknown or not names:
        raise ChexminiError(f"--models: unknown model(s) {unknown}; choose from {MODELS}")
    check_flags(args, {"folds": {"lo": 2, "integer": True}, "cv_seed": {"lo": 0, "integer": True},
                       "fold_val_fraction": {"lo": 0, "hi": 1, "lo_open": True,
                                             "hi_open": True}})
    if args.out:
        check_output_path(args.out, "--out")  # before hours of training, not after
    mlp = config_from_args(args, TrainConfig())
    linear = TrainConfig.from_dict({**mlp.to_dict(), "hidden_dims": [], "dropout": 0.0})
    catalogue = {"mlp": mlp, "linear": linear, "constant": None}
    with progress_line(args.quiet, console) as tick:
        data = load_data_from_args(args, mlp.image_size, tick)
        fingerprint = data.fingerprint()

        def progress(r) -> None:
            if not (args.json or args.quiet):
                console.print(f"fold {r.fold}/{args.folds} {r.model:<8} test AUC "
                              f"{r.test_auc:.4f}  balanced acc {r.test_balanced_accuracy:.4f}  "
                              f"(val AUC {r.val_auc:.4f}, best epoch {r.best_epoch})",
                              highlight=False)

        results = cross_validate(concat_splits(data), {n: catalogue[n] for n in names},
                                 args.folds, args.cv_seed, args.fold_val_fraction, progress,
                                 data.source, tick)
    summary = summarise(results)
    # portable: no path of this machine in a results file (the fingerprint names the data)
    payload = {"data": portable_source(data.source), "data_fingerprint": fingerprint,
               "folds": args.folds, "cv_seed": args.cv_seed,
               "mlp_config": mlp.to_dict(), "summary": summary,
               "results": results_to_dicts(results)}
    if args.json:
        print(json_text(payload, indent=2))
    else:
        _print_summary(args, data, summary, console)
    if args.out:  # after printing: a failed write loses nothing on screen
        write_json(args.out, payload)
    return 0


def _print_summary(args: argparse.Namespace, data, summary: dict, console: Console) -> None:
    table = Table(title=f"{args.folds}-fold patient-grouped CV on {data.source}")
    for col in ("model", "test AUC (mean ± sd)", "balanced accuracy (mean ± sd)"):
        table.add_column(col)
    for name, s in summary.items():
        table.add_row(name, f"{s['auc_mean']:.4f} ± {s['auc_sd']:.4f}",
                      f"{s['balanced_accuracy_mean']:.4f} ± {s['balanced_accuracy_sd']:.4f}")
    console.print(table)
