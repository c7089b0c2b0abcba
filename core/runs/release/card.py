"""The model card: ``README.md`` in a checkpoint folder, rendered from its ``metrics.json``.

It follows the published code's hub page: front matter (license, library, tags), the
architecture, the validation/test table at the training threshold, the threshold a
checkpoint's consumers apply and its rule, the files, and the three-line usage. Every
number comes from ``metrics.json`` (:func:`render_card` reads nothing else), and the card
is rewritten whenever ``metrics.json`` is — by a finished run, an export and a saved
operating point — so the two cannot disagree.
"""

from __future__ import annotations

import os
from pathlib import Path

from core import __version__
from core.foundation.atomic import write_bytes
from core.foundation.numbers import show
from core.runs import layout

FRONT_MATTER = """---
license: mit
library_name: numpy
tags:
- chest-xray
- medical-imaging
- from-scratch
- numpy
- education
- chexmini
pipeline_tag: image-classification
---
"""
#: The table's rows: (label, key of a split block of ``metrics.json``).
ROWS = (("ROC-AUC", "auc"), ("accuracy", "accuracy"), ("balanced accuracy", "balanced_accuracy"),
        ("precision", "precision"), ("recall (sensitivity)", "recall"),
        ("specificity", "specificity"), ("F1", "f1"))
#: The files a checkpoint folder may hold, and what each is.
FILES = ((layout.MODEL, "weights and the standardisation statistics (`_norm_mean`, `_norm_std`)"),
         (layout.METRICS, "validation and test metrics, ROC/PR curves, confusion matrices, "
                          "config (the source of this card)"),
         (layout.HISTORY, "per-epoch train/regularised/validation loss, validation accuracy "
                          "and AUC, learning rate"),
         (layout.VAL_SCORES, "raw P(abnormal) of the validation split (labels: "
                             f"`{layout.VAL_LABELS}`)"),
         (layout.TEST_SCORES, f"the same for the test split (`{layout.TEST_LABELS}`)"),
         (layout.LOSS_CURVE, "training curves and validation AUC"),
         (layout.SPLITS, "the file name and patient of every scored image (runs that record it)"))


def _num(v: object) -> str:
    return show(v, ".4f")


def _text(v: object) -> str:
    """A config string as itself (one line, bounded), anything else as :func:`show` does."""
    return " ".join(v.split())[:80] if isinstance(v, str) else show(v)


def _architecture(metrics: dict) -> list[str]:
    """The model and how it was trained, from ``metrics.json``'s config."""
    c = metrics.get("config") if isinstance(metrics.get("config"), dict) else {}
    size = c.get("image_size")
    hidden = " → ".join(show(h) for h in c.get("hidden_dims") or ())
    inputs = show(size * size) if isinstance(size, int) else "?"
    lines = [f"MLP on {show(size)}×{show(size)} grayscale images: **{inputs} → {hidden} → 1** "
             f"logit, ReLU activations, dropout {show(c.get('dropout'))}, He initialisation.",
             f"Loss: BCE-with-logits (label smoothing {show(c.get('label_smoothing'))}). "
             f"Optimiser: {_text(c.get('optimizer'))}, learning rate {show(c.get('lr'))} "
             f"({_text(c.get('lr_schedule'))} schedule), L2 weight decay "
             f"{show(c.get('weight_decay'))} on weights only; batch {show(c.get('batch_size'))}, "
             f"{show(c.get('epochs'))} epochs.",
             f"Input: per-pixel standardisation; images resized with the "
             f"{_text(c.get('resize_filter'))} filter."]
    return lines


def _results(metrics: dict) -> list[str]:
    """The validation/test table at the training threshold, sizes and confusion matrices."""
    val, test = metrics.get("validation") or {}, metrics.get("test") or {}
    splits = metrics.get("splits") or {}
    epochs = (metrics.get("config") or {}).get("epochs")
    out = [f"Metrics at the threshold chosen on the validation split only (Youden's J = "
           f"{_num(metrics.get('threshold'))}); the test split was scored once, at the end. "
           "ROC-AUC does not depend on the threshold.", "",
           "| metric | validation | test |", "|---|---|---|"]
    out += [f"| {label} | {_num(val.get(k))} | {_num(test.get(k))} |" for label, k in ROWS]
    out += ["", f"Best epoch {show(metrics.get('best_epoch'))} of {show(epochs)}, chosen by "
            "validation AUC. Images: " + ", ".join(
                f"{name} {show((splits.get(name) or {}).get('n'))}"
                for name in ("train", "val", "test")) +
            f" (test positive rate {_num(test.get('positive_rate'))}).", ""]
    for name, block in (("validation", val), ("test", test)):
        cm = block.get("confusion_matrix") or {}
        out.append(f"- confusion matrix, {name}: " + ", ".join(
            f"{k.upper()}={show(cm.get(k))}" for k in ("tn", "fp", "fn", "tp")) + ".")
    return out


def _threshold(metrics: dict, threshold: float, rule: str) -> list[str]:
    """The threshold a checkpoint's consumers apply and its rule (the training one, or the
    operating point ``chexmini evaluate --save`` recorded)."""
    uses = ("P(abnormal) ≥ threshold is labelled abnormal by `load_checkpoint(...).threshold`, "
            "`chexmini predict`, `evaluate`, `gallery` and the app.")
    if metrics.get("operating_point") is None:
        return [f"Operating threshold **{_num(threshold)}**: Youden's J on the validation "
                f"split (`threshold` in `{layout.METRICS}`). {uses}"]
    return [f"Operating threshold **{_num(threshold)}** ({rule}), saved by `chexmini evaluate "
            f"--save`. {uses}",
            f"The table above is at the training threshold {_num(metrics.get('threshold'))} "
            "(Youden's J on validation), which the published code applies."]


def render_card(metrics: dict, threshold: float, rule: str, name: str = "artifacts") -> str:
    """The Markdown model card of a checkpoint folder called ``name`` whose validated
    ``metrics.json`` is ``metrics``; ``threshold``/``rule`` are its active threshold
    (:func:`core.runs.checkpoint.active_threshold`)."""
    size = (metrics.get("config") or {}).get("image_size")
    data = (metrics.get("data") or {}).get("source")
    engine = (metrics.get("engine") or {}).get("version", __version__)
    lines = [FRONT_MATTER, "# chexmini — a from-scratch NumPy MLP for chest X-ray screening", "",
             "A multilayer perceptron in pure NumPy (every forward and backward pass written by "
             "hand, no autograd, no deep-learning framework) that screens chest X-rays: "
             f"**normal vs abnormal**. Trained by chexmini {_text(engine)}"
             + (f" on `{_text(data)}`." if data else "."),
             "**Not a medical device**: for learning and engineering, never clinical use.", "",
             "## Architecture", "", *_architecture(metrics), "",
             "## Results", "", *_results(metrics), "",
             "## Threshold", "", *_threshold(metrics, threshold, rule), "",
             "## Files", "", *(f"- `{f}` — {what}." for f, what in FILES), "",
             "## Usage", "", "```python",
             "from core.inference import load_checkpoint, preprocess_image, predict_label",
             f'model, mean, std, threshold = load_checkpoint("{name}")',
             f'x = preprocess_image("xray.png", image_size={show(size)}, mean=mean, std=std)',
             'prob, label = predict_label(model, x, threshold)   # P(abnormal), "normal" | '
             '"abnormal"', "```", "",
             f"Or from the shell: `chexmini predict --checkpoint {name} --image xray.png`."]
    return "\n".join(lines) + "\n"


def write_card(folder: str | os.PathLike[str], metrics: dict, threshold: float,
               rule: str) -> Path:
    """Write ``folder``'s model card (atomically) from its ``metrics``; returns its path."""
    path = Path(folder) / layout.CARD
    name = Path(os.path.abspath(folder)).name or "artifacts"
    write_bytes(path, render_card(metrics, threshold, rule, name).encode("utf-8"))
    return path
