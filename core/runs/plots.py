"""``loss_curve.png``: training curves and validation AUC, drawn with matplotlib (Agg).

matplotlib is imported here, lazily, and only this module uses it.
"""

from __future__ import annotations

import io
import os

from core.foundation.atomic import write_bytes


def render_loss_curve(history: dict[str, list[float]], best_epoch: int | None = None) -> bytes:
    """PNG bytes: left, train/val loss (and regularisation); right, validation AUC."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    epochs = list(range(1, len(history.get("train_loss", [])) + 1))
    fig = Figure(figsize=(10, 4), dpi=100)
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(epochs, history["train_loss"], label="train loss")
    ax1.plot(epochs, history["val_loss"], label="validation loss")
    if any(history.get("reg_loss", [])):
        ax1.plot(epochs, history["reg_loss"], label="L2 penalty", linestyle=":")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("BCE (label-smoothed)")
    ax1.legend()
    ax1.grid(alpha=0.3)
    ax2.plot(epochs, history["val_auc"], color="tab:green", label="validation AUC")
    if best_epoch:
        ax2.axvline(best_epoch, color="grey", linestyle="--", label=f"best epoch {best_epoch}")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("ROC-AUC")
    ax2.legend()
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def write_loss_curve(path: str | os.PathLike[str], history: dict, best_epoch: int | None) -> None:
    write_bytes(path, render_loss_curve(history, best_epoch))
