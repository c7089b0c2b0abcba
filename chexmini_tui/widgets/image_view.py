"""Showing X-rays and saliency maps with textual-image.

textual-image picks the best protocol the terminal supports (Kitty graphics / Sixel);
otherwise it draws coloured Unicode half-blocks — what most SSH sessions get. The
choice can be forced with ``chexmini-tui --image-mode`` (or ``CHEXMINI_TUI_IMAGE``);
tests force ``halfcell`` so snapshots do not depend on the terminal.

Importing :mod:`textual_image.widget` queries the terminal, which must happen before
Textual takes over the screen: ``chexmini_tui.__main__`` imports this module first.
"""

from __future__ import annotations

import numpy as np
from PIL import Image as PILImage
from textual_image import widget as tiw


def image_widget_class(mode: str = "auto"):
    return {"auto": tiw.Image, "halfcell": tiw.HalfcellImage, "unicode": tiw.UnicodeImage,
            "sixel": tiw.SixelImage, "tgp": tiw.TGPImage}.get(mode, tiw.Image)


def gray_to_pil(gray: np.ndarray) -> PILImage.Image:
    """uint8 ``(H, W)`` → an RGB PIL image (RGB renders identically in every protocol)."""
    return PILImage.fromarray(np.asarray(gray, dtype=np.uint8), mode="L").convert("RGB")


def heat_colours(s: np.ndarray) -> np.ndarray:
    """``s`` in [0, 1] → "hot" colour map, float RGB in [0, 1] (black→red→yellow→white)."""
    s = np.clip(np.asarray(s, dtype=np.float64), 0.0, 1.0)
    return np.stack([np.clip(3 * s, 0, 1), np.clip(3 * s - 1, 0, 1), np.clip(3 * s - 2, 0, 1)],
                    axis=-1)


def normalise_saliency(sal: np.ndarray, side: int) -> np.ndarray:
    """``|∂logit/∂x|`` ``(D,)`` → ``(side, side)`` in [0, 1], scaled by its 99th percentile
    (so one extreme pixel does not wash the map out)."""
    s = np.asarray(sal, dtype=np.float64).reshape(side, side)
    top = float(np.percentile(s, 99)) if s.size else 0.0
    if top <= 0 or not np.isfinite(top):
        return np.zeros_like(s)
    return np.clip(s / top, 0.0, 1.0)


def saliency_overlay(gray: np.ndarray, sal: np.ndarray, alpha: float = 0.8) -> PILImage.Image:
    """The X-ray in grey with the saliency heat map blended on top (opacity ∝ saliency)."""
    side = gray.shape[0]
    s = normalise_saliency(sal, side)
    base = np.repeat((np.asarray(gray, np.float64) / 255.0)[..., None], 3, axis=-1)
    a = (alpha * s)[..., None]
    rgb = base * (1 - a) + heat_colours(s) * a
    return PILImage.fromarray(np.round(rgb * 255).astype(np.uint8), mode="RGB")
