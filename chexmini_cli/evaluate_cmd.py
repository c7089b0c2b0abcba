"""``chexmini evaluate``: metrics, Brier and ECE per split at the checkpoint's threshold,
``--threshold``, or the threshold a ``--target-*`` rule picks on the validation split
(``--save`` records it in the checkpoint)."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from pathlib import Path

from chexmini_cli.options import (
    CHECKPOINT_HELP,
    add_data_flags,
    add_quiet_flag,
    add_split_flag,
    check_flags,
    data_source,
    load_data_from_args,
    use_checkpoint,
)
from chexmini_cli.output import json_text, metric_table, new_console
from chexmini_cli.progress import progress_line
from core.foundation.errors import ChexminiError
from core.foundation.progress import TickFn

#: ``--target-*`` must be a rate in (0, 1].
TARGET_RULE = {"lo": 0, "hi": 1, "lo_open": True}


def register(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser("evaluate", help="metrics of a checkpoint: its saved validation/test "
                                        "scores, or a data set re-scored (--data)",
                       description="Without data flags the validation and test splits are "
                                   "the checkpoint's saved scores (val_scores.npy, "
                                   "test_scores.npy); --data (default nih-sample) re-scores "
                                   "images, as does --split train or all.")
    e.add_argument("--checkpoint", help=CHECKPOINT_HELP)
    add_data_flags(e)
    add_split_flag(e, ("train", "val", "test", "all"), "test",
                   "the split(s) to report (default test; validation = val)")
    rule = e.add_mutually_exclusive_group()
    rule.add_argument("--threshold", type=float, help="override the checkpoint's threshold")
    rule.add_argument("--target-sensitivity", type=float, metavar="S",
                      help="use the largest threshold whose validation sensitivity is >= S")
    rule.add_argument("--target-specificity", type=float, metavar="S",
                      help="use the smallest threshold whose validation specificity is >= S")
    e.add_argument("--save", action="store_true",
                   help="record the --target-* threshold (and its rule) in the checkpoint named "
                        "by --checkpoint as its operating threshold, used by predict, "
                        "evaluate, gallery and the app (never the shipped checkpoint)")
    e.add_argument("--json", action="store_true")
    e.add_argument("--brief", action="store_true",
                   help="the headline numbers only: per split AUC, sensitivity (recall) and "
                        "specificity at the threshold, balanced accuracy and n; with --json, "
                        "a subset of the full JSON")
    add_quiet_flag(e)


def _target(args) -> tuple[str, float] | None:
    """``(metric, S)`` of ``--target-sensitivity``/``--target-specificity``, or None."""
    for metric in ("sensitivity", "specificity"):
        value = getattr(args, f"target_{metric}")
        if value is not None:
            return metric, value
    return None


#: What the table and the JSON name as the data of an evaluation of the saved scores.
SAVED_SCORES = "its saved scores"
#: The data flags that ask for images to be scored (``--data`` and the subsampling).
DATA_FLAGS = ("data", "classes", "n_train", "n_val", "n_test", "val_fraction", "test_fraction")


def _saved_scores(args, ckpt, names: tuple[str, ...]) -> dict | None:
    """``{split: (P(abnormal), labels)}`` from the checkpoint's score files when they can
    answer: no data flag given, only ``val``/``test`` asked for, and the folder holds
    score files (a damaged one is an error naming it). None: the images are needed."""
    from core.runs import layout
    from core.runs.scores import load_scores

    if any(getattr(args, f, None) is not None for f in DATA_FLAGS) or args.split_seed:
        return None
    if not set(names) <= {"val", "test"}:
        return None
    folder = Path(ckpt.path)
    if not any((folder / layout.score_file(s, k)).exists() for s in ("val", "test")
               for k in ("scores", "labels")):
        return None
    scores = load_scores(folder)
    return {name: scores[name] for name in names}


def _score_splits(args, ckpt, tick: TickFn, names: tuple[str, ...]) -> tuple[dict, str]:
    """``({split: (P(abnormal), labels)}, source)``: the checkpoint's saved scores when
    they answer (:func:`_saved_scores`), else ``--data`` (default: the embedded NIH
    sample) re-scored by ``ckpt``."""
    from core.data.sources import check_source_resize
    from core.nn.batches import BatchMaker
    from core.nn.model import sigmoid
    from core.training.scoring import score_split

    saved = _saved_scores(args, ckpt, names)
    if saved is not None:
        return saved, SAVED_SCORES
    check_source_resize(data_source(args), ckpt.resize_filter, ckpt.image_size, ckpt.path)
    data = load_data_from_args(args, ckpt.image_size, tick)
    maker = BatchMaker(ckpt.mean, ckpt.std, dtype=ckpt.mean.dtype)
    out = {}
    for name in names:
        split = getattr(data, name)
        logits = score_split(ckpt.model, split, maker, tick=tick, task=f"scoring {name}")
        out[name] = (sigmoid(logits), split.labels)
    return out, data.source


@contextlib.contextmanager
def _naming(folder: Path | None, split: str) -> Iterator[None]:
    """A problem with a split's saved labels (one class, not 0/1) names the labels file
    it came from; with re-scored data (``folder`` None) errors pass unchanged."""
    try:
        yield
    except ChexminiError as exc:
        if folder is None or exc.path is not None:
            raise
        from core.runs import layout

        raise ChexminiError(exc.problem, folder / layout.score_file(split, "labels")) from None


def _check_save(args: argparse.Namespace, target: tuple[str, float] | None) -> None:
    """``--save`` needs a rule and a checkpoint the user named (checked before any work;
    the shipped one is refused once it is resolved)."""
    from core.runs.release.shipped import COPY_HINT

    if target is None:
        raise ChexminiError("--save records the threshold a rule chooses: give "
                            "--target-sensitivity S or --target-specificity S")
    if args.checkpoint is None:
        raise ChexminiError("--save writes into a checkpoint: name it with --checkpoint DIR "
                            f"(the shipped one is never written; a writable copy: {COPY_HINT})")


def run(args: argparse.Namespace) -> int:
    from core.evaluation.bootstrap import auc_interval
    from core.evaluation.calibration import brier_score, expected_calibration_error
    from core.evaluation.metrics import split_report
    from core.evaluation.operating_point import choose_operating_point
    from core.inference import load_checkpoint
    from core.runs.checkpoint import checkpoint_identity, save_operating_point

    console = new_console()
    check_flags(args, {"threshold": {"lo": 0, "hi": 1}, "target_sensitivity": TARGET_RULE,
                       "target_specificity": TARGET_RULE})
    target = _target(args)
    if args.save:
        _check_save(args, target)
    use_checkpoint(args, console)
    if args.save:
        from core.runs.release.shipped import refuse_shipped

        refuse_shipped(args.checkpoint, "evaluate --save")
    scored_identity = checkpoint_identity(args.checkpoint) if args.save else None
    ckpt = load_checkpoint(args.checkpoint)
    names = ("train", "val", "test") if args.split == "all" else (args.split,)
    with progress_line(args.quiet, console) as tick:
        scored, source = _score_splits(
            args, ckpt, tick, names if target is None else tuple(dict.fromkeys(("val", *names))))
    files = Path(ckpt.path) if source == SAVED_SCORES else None
    with _naming(files, "val"):
        op = None if target is None else choose_operating_point(*scored["val"], *target)
    threshold, rule = ((op.threshold, op.rule) if op is not None else
                       (ckpt.threshold, ckpt.threshold_rule) if args.threshold is None else
                       (args.threshold, "--threshold"))
    reports = {}
    for name in names:
        s, y = scored[name]
        with _naming(files, name):
            reports[name] = {**split_report(s, y, threshold), **auc_interval(s, y),
                             "brier": brier_score(s, y),
                             "ece": expected_calibration_error(s, y)}
    saved = None if not args.save else str(save_operating_point(args.checkpoint, op,
                                                                    scored_identity))
    result = {"checkpoint": str(args.checkpoint), "threshold": threshold, "rule": rule,
              "operating_point": op and op.to_dict(), "saved_to": saved, "data": source,
              "splits": reports}
    _print(args, console, result, op)
    return 0


#: What ``--brief`` keeps: the result's top-level keys and each split's headline numbers
#: (``recall`` is the sensitivity, ``n_val`` the published name of the image count).
BRIEF_KEYS = ("checkpoint", "data", "threshold", "rule", "saved_to")
BRIEF_SPLIT_KEYS = ("auc", "recall", "specificity", "balanced_accuracy", "n_val")


def brief(result: dict) -> dict:
    """The headline subset of an evaluation result (same keys, same values)."""
    return {**{k: result[k] for k in BRIEF_KEYS},
            "splits": {name: {k: r[k] for k in BRIEF_SPLIT_KEYS}
                       for name, r in result["splits"].items()}}


def _print(args, console, result: dict, op) -> None:
    """The result as JSON (``--json``, all or ``--brief``), a line per split (``--brief``)
    or the metrics table with the threshold's rule."""
    threshold, rule, saved = result["threshold"], result["rule"], result["saved_to"]
    if args.json:
        print(json_text(brief(result) if args.brief else result, indent=2))
        return
    if args.brief:
        for name, r in result["splits"].items():
            console.print(f"{name}: AUC {r['auc']:.4f}  sensitivity {r['recall']:.4f}  "
                          f"specificity {r['specificity']:.4f}  balanced acc "
                          f"{r['balanced_accuracy']:.4f}  n {r['n_val']}", highlight=False,
                          soft_wrap=True)
    else:
        console.print(metric_table(f"{args.checkpoint} on {result['data']} (threshold "
                                   f"{threshold:.4f})", result["splits"]))
    youden = "" if op is None else f"; Youden's J on validation {op.youden_threshold:.4f}"
    console.print(f"threshold {threshold:.4f}: {rule}{youden}", markup=False, soft_wrap=True)
    if saved:
        console.print(f"operating threshold {threshold:.4f} ({rule}) saved → {saved}; "
                      "predict, gallery and the app use it", markup=False)
