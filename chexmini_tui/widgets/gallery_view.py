"""The error gallery's view: which split and cell (with every cell's count), where you are
in the cell ("3 / 41"), the image's file, patient, score and true label, and the X-ray
beside its saliency overlay (drawn like Predict's, :mod:`.image_view`)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static

from chexmini_tui.widgets.image_view import gray_to_pil, image_widget_class, saliency_overlay
from core.inference.gallery import CELL_TITLES, CELLS, GalleryItem

SPLIT_NAMES = {"val": "validation", "test": "test"}


def _esc(text: str) -> str:
    return str(text).replace("[", r"\[")


def selector_text(split: str, cell: str, counts: dict[str, int] | None,
                  threshold: float) -> str:
    """Two lines: the splits and the cells (counts when known), the chosen ones reversed."""
    splits = "  ".join(f"[reverse b] {SPLIT_NAMES[s]} [/]" if s == split else
                       f" {SPLIT_NAMES[s]} " for s in SPLIT_NAMES)
    cells = []
    for c in CELLS:
        text = f"{c} {counts[c]}" if counts is not None else c
        cells.append(f"[reverse b] {text} [/]" if c == cell else f" {text} ")
    return (f"[b]split[/] {splits} [dim](s)[/]   [b]threshold[/] {threshold:.4f}\n"
            f"[b]cell[/]  {' '.join(cells)} [dim](←/→)[/]")


def item_text(item: GalleryItem, cell: str, pos: int, total: int) -> str:
    """Position, what the cell is, and the image's file, patient, score and true label."""
    patient = "—" if item.patient is None else str(item.patient)
    color = "red" if item.label_name == "abnormal" else "green"
    return (f"[b]{cell} {pos + 1} / {total}[/] [dim]{CELL_TITLES[cell]}, most confident "
            f"first[/]\n[b]{_esc(item.name)}[/]  patient [b]{patient}[/]  score "
            f"[b]{item.score:.4f}[/]  true [b {color}]{item.label_name}[/]")


class GalleryView(Vertical):
    """Selector line, item description and the two images; the screen feeds it."""

    DEFAULT_CSS = """
    GalleryView { height: 1fr; padding: 0 1; }
    GalleryView #gal-bar { height: 2; }
    GalleryView #gal-info { height: auto; min-height: 2; }
    GalleryView #gal-images { height: 1fr; min-height: 6; }
    GalleryView .gal-pane { width: 1fr; height: 100%; align-horizontal: center; }
    GalleryView .gal-title { width: 100%; content-align: center middle; color: $text-muted; }
    GalleryView #gal-xray, GalleryView #gal-sal { width: auto; height: 1fr; }
    """

    def __init__(self, image_mode: str = "auto", **kw) -> None:
        super().__init__(**kw)
        self.image_cls = image_widget_class(image_mode)

    def compose(self) -> ComposeResult:
        yield Static("", id="gal-bar")
        yield Static("", id="gal-info")
        with Horizontal(id="gal-images"):
            with Vertical(classes="gal-pane"):
                yield Label("X-ray", classes="gal-title")
                yield self.image_cls(None, id="gal-xray")
            with Vertical(classes="gal-pane"):
                yield Label("saliency |∂logit/∂x|", classes="gal-title")
                yield self.image_cls(None, id="gal-sal")

    def show_selector(self, split: str, cell: str, counts: dict[str, int] | None,
                      threshold: float) -> None:
        self.query_one("#gal-bar", Static).update(selector_text(split, cell, counts,
                                                                threshold))

    def show_item(self, item: GalleryItem, cell: str, pos: int, total: int) -> None:
        self.query_one("#gal-info", Static).update(item_text(item, cell, pos, total))
        self.query_one("#gal-xray").image = gray_to_pil(item.image)
        self.query_one("#gal-sal").image = (None if item.saliency is None else
                                            saliency_overlay(item.image, item.saliency))

    def show_note(self, text: str, error: bool = False) -> None:
        """A message instead of an image (loading, an empty cell, data not reachable)."""
        shown = f"[red]✗ {_esc(text)}[/]" if error else f"[dim]{_esc(text)}[/]"
        self.query_one("#gal-info", Static).update(shown)
        self.query_one("#gal-xray").image = None
        self.query_one("#gal-sal").image = None
