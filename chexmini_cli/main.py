"""``chexmini`` — train, evaluate, predict, gradient-check and inspect from the shell.

Every user error is one line on stderr (``chexmini: error: <file>: <problem>``) and exit
code 2; ``gradcheck`` exits 1 when a tensor fails.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from chexmini_cli import cv_cmd, data_cmd, export_cmd, gallery_cmd, runs_cmd
from chexmini_cli.options import (
    add_config_flags,
    add_data_flags,
    check_flags,
    flag_name,
    load_data_from_args,
)
from core import __version__
from core.foundation.checks import ConfigError
from core.foundation.errors import ChexminiError

EXIT_USAGE = 2
DEFAULT_CHECKPOINT = "artifacts"
#: CLI-only gradcheck flags (``--eps``, ``--samples``, ``--tol``, ``--order`` are checked
#: by :func:`core.evaluation.gradcheck.check_args`, the same rules as the app's form).
GRADCHECK_RULES: dict[str, dict] = {
    "batch": {"lo": 1, "hi": 4096, "integer": True},
    "image_size": {"lo": 4, "hi": 1024, "integer": True},
    "seed": {"lo": 0, "integer": True},
}


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors as one line (``chexmini: error: …``), exit code 2."""

    def error(self, message: str):  # type: ignore[override]
        print(f"chexmini: error: {self.prog}: {' '.join(message.split())} (see "
              f"{self.prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="chexmini", description="A hand-written NumPy MLP for chest X-ray screening.")
    p.add_argument("--version", action="version", version=f"chexmini {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser("train", help="train a model (writes a run directory)")
    add_data_flags(t)
    t.add_argument("--out", help="run directory (default: runs/<timestamp>)")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run")
    t.add_argument("--overwrite", action="store_true",
                   help="start again in an --out folder that already holds a run")
    t.add_argument("--quiet", action="store_true", help="one line per epoch, no bars")
    add_config_flags(t)

    e = sub.add_parser("evaluate", help="re-score a checkpoint on a data set")
    e.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT)
    add_data_flags(e)
    e.add_argument("--split", choices=("train", "val", "test", "all"), default="test")
    rule = e.add_mutually_exclusive_group()
    rule.add_argument("--threshold", type=float, help="override the checkpoint's threshold")
    rule.add_argument("--target-sensitivity", type=float, metavar="S",
                      help="use the largest threshold whose validation sensitivity is >= S")
    rule.add_argument("--target-specificity", type=float, metavar="S",
                      help="use the smallest threshold whose validation specificity is >= S")
    e.add_argument("--save", action="store_true",
                   help="record the --target-* threshold (and its rule) in the checkpoint as "
                        "its operating threshold, used by predict and the app")
    e.add_argument("--json", action="store_true")

    pr = sub.add_parser("predict", help="P(abnormal) for image files")
    pr.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT)
    which = pr.add_mutually_exclusive_group(required=True)
    which.add_argument("--image", nargs="+", metavar="FILE", help="image files to score")
    which.add_argument("--samples", action="store_true",
                       help="score the dozen real NIH X-rays shipped with chexmini "
                            "(test-split images, six normal and six abnormal)")
    pr.add_argument("--json", action="store_true")

    g = sub.add_parser("gradcheck", help="finite-difference check of the backward pass")
    g.add_argument("--checkpoint", help="check this checkpoint (default: a fresh model)")
    g.add_argument("--hidden-dims", default="1024,256,64", help="fresh model's hidden widths")
    g.add_argument("--image-size", type=int, default=64)
    g.add_argument("--batch", type=int, default=8)
    g.add_argument("--samples", type=int, default=20, help="entries sampled per tensor")
    g.add_argument("--eps", type=float, default=1e-4)
    g.add_argument("--order", type=int, choices=(2, 4), default=4,
                   help="finite-difference stencil order (default 4)")
    g.add_argument("--tol", type=float, default=1e-6)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--json", action="store_true")

    data_cmd.register(sub)
    cv_cmd.register(sub)
    export_cmd.register(sub)
    gallery_cmd.register(sub)
    runs_cmd.register(sub)

    i = sub.add_parser("inspect", help="summarise a checkpoint folder")
    i.add_argument("checkpoint", nargs="?", default=DEFAULT_CHECKPOINT)
    i.add_argument("--json", action="store_true")
    return p


def _metric_table(title: str, reports: dict[str, dict]) -> Table:
    table = Table(title=title)
    table.add_column("metric")
    for name in reports:
        table.add_column(name, justify="right")
    keys = ["auc", "accuracy", "balanced_accuracy", "precision", "recall", "specificity", "f1"]
    keys += [k for k in ("brier", "ece") if all(k in r for r in reports.values())]
    for key in keys:
        table.add_row(key, *(f"{r[key]:.4f}" for r in reports.values()))
    for key in ("tn", "fp", "fn", "tp"):
        table.add_row(key.upper(), *(str(r["confusion_matrix"][key]) for r in reports.values()))
    table.add_row("n", *(str(r["n_val"]) for r in reports.values()))
    table.add_row("positive rate", *(f"{r['positive_rate']:.4f}" for r in reports.values()))
    return table


#: ``--target-*`` must be a rate in (0, 1].
TARGET_RULE = {"lo": 0, "hi": 1, "lo_open": True}


def _target(args) -> tuple[str, float] | None:
    """``(metric, S)`` of ``--target-sensitivity``/``--target-specificity``, or None."""
    for metric in ("sensitivity", "specificity"):
        value = getattr(args, f"target_{metric}")
        if value is not None:
            return metric, value
    return None


def _score_splits(args, ckpt, console: Console, names: tuple[str, ...]) -> tuple[dict, str]:
    """``({split: (P(abnormal), labels)}, source)`` of ``--data`` re-scored by ``ckpt``."""
    from core.data.sources import check_source_resize
    from core.nn.batches import BatchMaker
    from core.nn.model import sigmoid
    from core.training.scoring import score_split

    model, mean, std, _ = ckpt
    check_source_resize(args.data, ckpt.resize_filter, ckpt.image_size, ckpt.path)
    data = load_data_from_args(args, console, ckpt.image_size, quiet=args.json)
    maker = BatchMaker(mean, std, dtype=mean.dtype)
    out = {}
    for name in names:
        split = getattr(data, name)
        out[name] = (sigmoid(score_split(model, split, maker)), split.labels)
    return out, data.source


def cmd_evaluate(args, console: Console) -> int:
    """Metrics, Brier and ECE per split at the checkpoint's threshold, ``--threshold``, or
    the threshold a ``--target-*`` rule picks on the validation split (``--save`` records
    it in the checkpoint)."""
    from core.evaluation.calibration import brier_score, expected_calibration_error
    from core.evaluation.metrics import split_report
    from core.evaluation.operating_point import choose_operating_point
    from core.inference import load_checkpoint
    from core.runs.checkpoint import save_operating_point

    check_flags(args, {"threshold": {"lo": 0, "hi": 1}, "target_sensitivity": TARGET_RULE,
                       "target_specificity": TARGET_RULE})
    target = _target(args)
    if args.save and target is None:
        raise ChexminiError("--save records the threshold a rule chooses: give "
                            "--target-sensitivity S or --target-specificity S")
    ckpt = load_checkpoint(args.checkpoint)
    names = ("train", "val", "test") if args.split == "all" else (args.split,)
    scored, source = _score_splits(
        args, ckpt, console, names if target is None else tuple(dict.fromkeys(("val", *names))))
    op = None if target is None else choose_operating_point(*scored["val"], *target)
    threshold, rule = ((op.threshold, op.rule) if op is not None else
                       (ckpt.threshold, ckpt.threshold_rule) if args.threshold is None else
                       (args.threshold, "--threshold"))
    reports = {}
    for name in names:
        s, y = scored[name]
        reports[name] = {**split_report(s, y, threshold), "brier": brier_score(s, y),
                         "ece": expected_calibration_error(s, y)}
    saved = None if not args.save else str(save_operating_point(args.checkpoint, op))
    if args.json:
        print(json.dumps({"checkpoint": str(args.checkpoint), "threshold": threshold,
                          "rule": rule, "operating_point": op and op.to_dict(),
                          "saved_to": saved, "splits": reports}, indent=2))
        return 0
    console.print(_metric_table(f"{args.checkpoint} on {source} (threshold {threshold:.4f})",
                                reports))
    youden = "" if op is None else f"; Youden's J on validation {op.youden_threshold:.4f}"
    console.print(f"threshold {threshold:.4f}: {rule}{youden}", markup=False, soft_wrap=True)
    if saved:
        console.print(f"operating threshold {threshold:.4f} ({rule}) saved → {saved}; "
                      "predict and the app use it", markup=False)
    return 0


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


def cmd_predict(args, console: Console) -> int:
    from core.data.true_labels import LabelFinder
    from core.inference import load_checkpoint, predict_files
    from core.inference.ood import assess_files, xray_rules_apply

    ckpt = load_checkpoint(args.checkpoint)
    model, mean, std, thr = ckpt
    paths = list(_predict_paths(args))
    preds = predict_files(model, mean, std, thr, paths, resize=ckpt.resize_filter)
    oods = assess_files([p.path for p in preds], ckpt.image_size, mean, std, ckpt.resize_filter,
                        xray_rules_apply(args.checkpoint))
    finder = LabelFinder()
    truths = [finder.lookup(p.path) if p.error is None else None for p in preds]
    if args.json:
        rows = [{**p.to_dict(), "ood": o.to_dict() if o is not None else None,
                 "true_label": t.label if t is not None else None}
                for p, o, t in zip(preds, oods, truths, strict=True)]
        print(json.dumps({"checkpoint": str(args.checkpoint), "threshold": thr,
                          "predictions": rows}, indent=2))
    else:
        table = Table(title=f"{args.checkpoint} (threshold {thr:.4f})")
        table.add_column("file")
        table.add_column("P(abnormal)", justify="right")
        table.add_column("label")
        table.add_column("true label")
        table.add_column("note")
        for p, o, t in zip(preds, oods, truths, strict=True):
            if p.error is None:
                shown = _sample_row(p.path)[0] if args.samples else p.path
                true = "—" if t is None else t.label + (" ✓" if t.label == p.label else " ✗")
                note = "not X-ray-like" if o is not None and o.flagged else ""
                table.add_row(shown, f"{p.prob:.4f}", p.label, true, note)
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


def cmd_gradcheck(args, console: Console) -> int:
    from chexmini_cli.options import _dims
    from core.evaluation.gradcheck import check_args, gradcheck
    from core.foundation.config import check_model_size
    from core.inference import load_checkpoint
    from core.nn import MLP

    check_flags(args, GRADCHECK_RULES)
    try:
        check_args(args.eps, args.samples, args.tol, args.order)
    except ConfigError as exc:
        raise exc.named(flag_name(exc.field)) from None
    if args.checkpoint:
        model = load_checkpoint(args.checkpoint)[0]
        what = str(args.checkpoint)
    else:
        try:
            dims = _dims(args.hidden_dims)
        except argparse.ArgumentTypeError as exc:
            raise ChexminiError(f"--hidden-dims: {exc}") from None
        check_model_size((args.image_size**2, *dims, 1))
        model = MLP((args.image_size**2, *dims, 1), dropout=0.3, seed=args.seed)
        what = "fresh model"
    rng = np.random.default_rng(args.seed)
    x = rng.standard_normal((args.batch, model.widths[0]))
    y = (np.arange(args.batch) % 2).astype(float)
    report = gradcheck(model, x, y, eps=args.eps, n_samples=args.samples, tol=args.tol,
                       seed=args.seed, order=args.order)
    if args.json:
        print(json.dumps({"model": what, **report.to_dict()}, indent=2))
    else:
        table = Table(title=f"gradient check: {what}, float64, order-{args.order} centred "
                            f"differences, h={args.eps:g}, tol={args.tol:g}")
        for col in ("tensor", "shape", "checked", "kinks", "max rel error", "result"):
            table.add_column(col, justify="left" if col in ("tensor", "shape") else "right")
        for r in report.rows:
            ok = ("[green]pass[/]" if r.passed else "[red]FAIL[/]" if r.n_checked
                  else "[red]nothing checked[/]")
            table.add_row(r.name, "×".join(map(str, r.shape)), str(r.n_checked),
                          str(r.n_kinks), f"{r.max_rel_error:.2e}", ok)
        console.print(table)
    return 0 if report.passed else 1


def cmd_inspect(args, console: Console) -> int:
    from core.inference import checkpoint_summary, load_checkpoint

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
        console.print(_metric_table("headline metrics", reports))
    return 0


def system_error_line(exc: BaseException) -> str:
    """One line for an operating-system or resource error: the file(s) and the problem."""
    if isinstance(exc, MemoryError):
        return "out of memory (use smaller images, layers, batches or --n-train)"
    if isinstance(exc, RecursionError):
        return "input nested too deeply to read (maximum recursion depth exceeded)"
    problem = " ".join((getattr(exc, "strerror", None) or str(exc) or type(exc).__name__)
                       .split())
    files = [f for f in (getattr(exc, "filename", None), getattr(exc, "filename2", None))
             if f is not None]
    return f"{' → '.join(map(str, files))}: {problem}" if files else problem


#: A process killed by SIGPIPE exits 128 + 13; a closed pipe ends the command the same way.
EXIT_SIGPIPE = 141


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console(stderr=False)
    try:
        if args.command == "train":
            from chexmini_cli.train_cmd import run_train

            return run_train(args, console)
        commands = {"cv": cv_cmd.run, "data": data_cmd.run, "export": export_cmd.run,
                    "gallery": gallery_cmd.run,
                    "runs": runs_cmd.run,
                    "evaluate": cmd_evaluate,
                    "predict": cmd_predict,
                    "gradcheck": cmd_gradcheck, "inspect": cmd_inspect}
        return commands[args.command](args, console)
    except ChexminiError as exc:
        print(f"chexmini: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader went away (``chexmini evaluate --json | head``): stop quietly, as
        # other command-line tools do; the rest of the output has nowhere to go.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_SIGPIPE
    except (OSError, MemoryError, RecursionError) as exc:
        # Safety net: errors are handled where they happen; anything missed is one line.
        print(f"chexmini: error: {system_error_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("chexmini: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
