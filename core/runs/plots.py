"""``loss_curve.png`` (training curves and validation AUC), the filter grid of
``chexmini inspect --filters`` (fc1's templates) and the learning-rate range test's plot,
drawn with matplotlib (Agg).

matplotlib is imported here, lazily, and only this module uses it.
"""

from __future__ import annotations

import io
import math
import os

import numpy as np

from core.evaluation.templates import diverging_rgb
from core.foundation.atomic import write_bytes

#: Columns of the filter grid's picture.
GRID_COLUMNS = 32


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


def _mosaic(tiles: np.ndarray, dead: np.ndarray, cols: int) -> np.ndarray:
    """RGB uint8 mosaic of ``tiles (N, S, S)``, each in :func:`diverging_rgb` with a
    2-pixel frame: red for a dead unit, grey otherwise."""
    n, side = len(tiles), tiles.shape[-1]
    rows, cell = math.ceil(n / cols), side + 4
    out = np.full((rows * cell, cols * cell, 3), 255, np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        y, x = r * cell, c * cell
        out[y:y + cell, x:x + cell] = (220, 30, 30) if dead[i] else (90, 90, 90)
        out[y + 2:y + 2 + side, x + 2:x + 2 + side] = diverging_rgb(tiles[i])
    return out


def render_filter_grid(tiles: np.ndarray, units: np.ndarray, dead: np.ndarray,
                       title: str) -> bytes:
    """PNG bytes: ``tiles (N, S, S)`` (unit ``units[i]``'s template) in rows of
    :data:`GRID_COLUMNS`, each labelled with its unit, dead units framed in red."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    cols = min(GRID_COLUMNS, len(tiles))
    mosaic = _mosaic(tiles, dead, cols)
    cell = tiles.shape[-1] + 4
    inches = mosaic.shape[1] / 100     # one pixel per weight
    fig = Figure(figsize=(inches, inches * mosaic.shape[0] / mosaic.shape[1] + 0.6), dpi=100)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0 - 0.6 / fig.get_figheight()))
    ax.imshow(mosaic, interpolation="nearest")
    ax.set_axis_off()
    for i, unit in enumerate(units):
        r, c = divmod(i, cols)
        ax.text(c * cell + 3, r * cell + 3, f"{'×' if dead[i] else ''}{unit}", fontsize=5,
                color="white", va="top", ha="left")
    fig.suptitle(title, fontsize=10, y=1.0 - 0.1 / fig.get_figheight(), va="top")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return _rgb_png(buf.getvalue())


def _rgb_png(png: bytes) -> bytes:
    """The PNG without its (opaque) alpha channel: a quarter smaller for noisy pictures."""
    from PIL import Image

    out = io.BytesIO()
    with Image.open(io.BytesIO(png)) as im:
        im.convert("RGB").save(out, format="PNG", compress_level=6)
    return out.getvalue()


def write_filter_grid(path: str | os.PathLike[str], tiles: np.ndarray, units: np.ndarray,
                      dead: np.ndarray, title: str) -> None:
    write_bytes(path, render_filter_grid(tiles, units, dead, title))


def _loss_window(smoothed: list[float]) -> tuple[float, float]:
    """y-limits showing the smoothed loss up to its minimum in full; the explosion after
    it runs off the top (else it squashes the curve flat)."""
    s = [v for v in smoothed if math.isfinite(v)]
    if not s:
        return 0.0, 1.0
    i = s.index(min(s))
    lo, hi = min(s), max(s[: i + 1])
    pad = 0.1 * (hi - lo) or 0.1 * abs(hi) or 0.1
    return lo - pad, hi + 2 * pad


def render_lr_find(lrs: list[float], losses: list[float], smoothed: list[float],
                   suggestion: float | None, title: str = "",
                   prior: float | None = None) -> bytes:
    """PNG bytes of a learning-rate range test: batch loss and smoothed loss against the
    learning rate (log x), the suggested rate marked; ``prior``: the class-prior loss,
    drawn as a dotted level."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4), dpi=100)
    ax = fig.subplots()
    ax.plot(lrs, losses, color="tab:blue", alpha=0.3, linewidth=0.8, label="batch loss")
    ax.plot(lrs, smoothed, color="tab:blue", label="smoothed loss")
    if suggestion is not None:
        ax.axvline(suggestion, color="tab:red", linestyle="--",
                   label=f"suggested lr {suggestion:.2e}")
    if prior is not None and math.isfinite(prior):
        ax.axhline(prior, color="grey", linestyle=":", label=f"class-prior loss {prior:.4f}")
    ax.set_xscale("log")
    lo, hi = _loss_window(smoothed)
    if prior is not None and math.isfinite(prior):
        lo = min(lo, prior - 0.05 * (hi - lo))
    ax.set_ylim(lo, hi)
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("BCE (label-smoothed)")
    if title:
        ax.set_title(title.replace("$", r"\$"), fontsize=9)  # shown as written, no TeX
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()
