"""``UnitDetail``: one fc1 unit large — its template beside its saliency on the mean
abnormal and the mean normal validation image (:class:`core.inference.filters.FirstLayer`).

The template is drawn in the grid's diverging colours (orange positive, blue negative,
scaled to its own max |w|); each saliency map, gradient × input ``|x ⊙ ∂a_j/∂x|``, in the
"hot" map of Predict's saliency (black → red → yellow → white, scaled to its 99th
percentile), black all over when the unit does not fire on that image. Each panel is as
large as three side by side fit, resampled with Pillow's box filter.
"""

from __future__ import annotations

import numpy as np
from PIL import Image as PILImage
from rich.text import Text
from textual.widgets import Static

from chexmini_tui.widgets.filter_grid import cut, halfblocks
from chexmini_tui.widgets.image_view import heat_colours, normalise_saliency
from core.evaluation.templates import diverging_rgb
from core.foundation.numbers import show


def _resized(rgb: np.ndarray, side: int) -> np.ndarray:
    """RGB uint8 ``(S, S, 3)`` → ``(side, side, 3)`` (box filter)."""
    if rgb.shape[0] == side:
        return rgb
    img = PILImage.fromarray(rgb, mode="RGB").resize((side, side), PILImage.Resampling.BOX)
    return np.asarray(img)


def panel_side(width: int, height: int, full: int) -> int:
    """The pixel side of three panels side by side in ``width × height`` cells (a caption
    line above and below), at most ``full``; even, at least 8."""
    side = min((width - 2) // 3, 2 * (height - 3), full)
    return max(side - side % 2, 8)


class UnitDetail(Static):
    DEFAULT_CSS = """
    UnitDetail { height: 1fr; width: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.fc1 = None
        self.rank = 0

    def show(self, layer, rank: int) -> None:
        """Unit ``layer.order[rank]`` of ``layer`` (a ``FirstLayer``)."""
        self.fc1, self.rank = layer, rank
        self.refresh()

    def render(self) -> Text:
        if self.fc1 is None:
            return Text("")
        return detail_text(self.fc1, self.rank, self.content_size.width,
                           self.content_size.height)


def detail_text(layer, rank: int, width: int, height: int) -> Text:
    """The caption, the three panels and what each shows."""
    unit = int(layer.order[rank])
    dead = layer.dead is not None and bool(layer.dead[unit])
    out = Text(cut(f"unit #{unit} · rank {rank + 1} of {len(layer.order)} · ‖w‖ "
               f"{show(float(layer.norms[unit]), '.3f')} · b {show(float(layer.b1[unit]), '.3f')}"
               f"{' · DEAD on the validation images' if dead else ''}", width),
               style="bold")
    side = panel_side(width, height, layer.side)
    s = layer.side
    panels = [_resized(diverging_rgb(layer.w1[:, unit].reshape(s, s)), side)]
    labels = ["template (orange +, blue −)"]
    sal, on = layer.saliency(unit), layer.active_on(unit)
    for k, name in enumerate(("mean abnormal", "mean normal")):
        if sal is None:
            panels.append(np.zeros((side, side, 3), np.uint8))
            labels.append(f"{name}: no images")
            continue
        hot = heat_colours(normalise_saliency(sal[k].reshape(-1), s))
        panels.append(_resized(np.round(hot * 255).astype(np.uint8), side))
        labels.append(f"{name}{'' if on[k] else ' (off)'}")
    blocks = [halfblocks(p) for p in panels]
    for r in range(len(blocks[0])):
        out.append("\n")
        out.append(Text(" ").join(b[r] for b in blocks))
    out.append("\n")
    out.append(Text(" ").join(Text(lab[:side].ljust(side), style="dim") for lab in labels))
    if layer.no_images:
        out.append("\n" + cut(layer.no_images, width), style="dim")
    return out
