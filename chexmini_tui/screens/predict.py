"""Predict: pick X-ray files, see P(abnormal), the label at the checkpoint's threshold,
the image the model sees and a saliency heat map (|∂ logit / ∂ input| from the
hand-written backward pass). A file that cannot be read is an inline error."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, DirectoryTree, Input, Label, Static

from chexmini_tui.messages import PredictionsReady
from chexmini_tui.screens.base import BaseScreen
from chexmini_tui.widgets.image_view import gray_to_pil, image_widget_class, saliency_overlay
from core.data.images import is_image_file, load_gray
from core.data.nih_sample import SAMPLE_PNG_DIR
from core.errors import ChexminiError
from core.inference import (
    load_checkpoint,
    predict_files,
    predict_label,
    preprocess_image,
    saliency,
)

MAX_BATCH_FILES = 5000


class ImageTree(DirectoryTree):
    """A directory tree that shows folders and image files only."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [p for p in paths if not p.name.startswith(".")
                and (p.is_dir() or is_image_file(p))]


class PredictScreen(BaseScreen):
    MODE = "predict"
    AUTO_FOCUS = "#pred-tree"
    BINDINGS = [
        Binding("o", "focus_path", "open path"),
        Binding("t", "focus_tree", "file tree"),
        Binding("a", "predict_folder", "predict folder"),
        Binding("c", "clear", "clear results"),
        Binding("escape", "blur", "leave field", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.model = None
        self.resize = "area"
        self.loaded_for: str | None = None
        self.threshold: float | None = None
        self.load_error: str | None = None
        self.last: dict | None = None   # {"path", "prob", "label", "threshold"}
        self.error: str | None = None
        self.results: list[tuple[str, float | None, str | None, str | None]] = []

    def compose_body(self) -> ComposeResult:
        root = self.app.predict_root or str(SAMPLE_PNG_DIR)
        cls = image_widget_class(self.app.image_mode)
        with Horizontal(id="pred-body"):
            with Vertical(id="pred-left"):
                yield Input(placeholder="image file or folder — Enter", id="pred-path")
                yield ImageTree(root, id="pred-tree")
            with Vertical(id="pred-right"):
                yield Static("", id="pred-result")
                with Horizontal(id="pred-images"):
                    with Vertical(classes="pred-pane"):
                        yield Label("model input", classes="pane-title")
                        yield cls(None, id="img-xray")
                    with Vertical(classes="pred-pane"):
                        yield Label("saliency |∂logit/∂x|", classes="pane-title")
                        yield cls(None, id="img-sal")
                yield DataTable(id="pred-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one("#pred-table", DataTable)
        table.add_column("file", key="file")
        table.add_column("P(abnormal)", key="prob")
        table.add_column("label", key="label")
        self.load_model()

    def on_screen_resume(self) -> None:
        if self.loaded_for != self.app.state.active_checkpoint:
            self.load_model()

    # -- model ---------------------------------------------------------------------------------
    def load_model(self) -> None:
        path = self.app.state.active_checkpoint
        self.loaded_for = path
        try:
            ckpt = load_checkpoint(path)
            self.model, self.mean, self.std, self.threshold = ckpt
            self.side, self.resize = ckpt.image_size, ckpt.resize_filter
            self.load_error = None
        except ChexminiError as exc:
            self.model, self.threshold = None, None
            self.load_error = str(exc)
        except Exception as exc:  # noqa: BLE001
            self.model, self.threshold = None, None
            self.load_error = f"{path}: cannot load ({type(exc).__name__}: {exc})"
        self.render_result()

    # -- actions -------------------------------------------------------------------------------
    def action_focus_path(self) -> None:
        self.query_one("#pred-path", Input).focus()

    def action_focus_tree(self) -> None:
        self.query_one("#pred-tree", ImageTree).focus()

    def action_blur(self) -> None:
        self.set_focus(None)

    def action_clear(self) -> None:
        self.results.clear()
        self.query_one("#pred-table", DataTable).clear()

    @on(DirectoryTree.FileSelected, "#pred-tree")
    def _file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self.predict(event.path)

    @on(Input.Submitted, "#pred-path")
    def _path_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        p = Path(text).expanduser()
        if p.is_dir():
            tree = self.query_one("#pred-tree", ImageTree)
            tree.path = p
            self.predict_folder(p)
        else:
            self.predict(p)

    def action_predict_folder(self) -> None:
        tree = self.query_one("#pred-tree", ImageTree)
        node = tree.cursor_node
        folder = Path(tree.path)
        if node is not None and node.data is not None:
            p = Path(node.data.path)
            folder = p if p.is_dir() else p.parent
        self.predict_folder(folder)

    # -- predicting ----------------------------------------------------------------------------
    def predict(self, path: str | Path) -> None:
        """Predict one file (fast: one forward and one backward pass) and show it."""
        path = Path(path)
        if self.model is None:
            self.error = f"no model: {self.load_error}"
            self.render_result()
            return
        try:
            gray = load_gray(path, self.side, self.resize)
            x = preprocess_image(path, self.side, self.mean, self.std, self.resize)
            prob, label = predict_label(self.model, x, self.threshold)
            sal = saliency(self.model, x)
        except Exception as exc:  # ChexminiError, or anything unexpected: inline, never a crash
            msg = str(exc) if isinstance(exc, ChexminiError) else \
                f"{path}: {type(exc).__name__}: {exc}"
            self.error = msg
            self._add_row(str(path), None, None, msg)
            self.render_result()
            return
        self.error = None
        self.last = {"path": str(path), "prob": prob, "label": label,
                     "threshold": self.threshold, "saliency_max": float(sal.max())}
        self.query_one("#img-xray").image = gray_to_pil(gray)
        self.query_one("#img-sal").image = saliency_overlay(gray, sal)
        self._add_row(str(path), prob, label, None)
        self.render_result()

    def predict_folder(self, folder: Path) -> None:
        if self.model is None:
            self.error = f"no model: {self.load_error}"
            self.render_result()
            return
        try:
            files = sorted(p for p in Path(folder).iterdir() if p.is_file() and is_image_file(p))
        except OSError as exc:
            self.error = f"{folder}: cannot list folder ({exc.strerror or exc})"
            self.render_result()
            return
        if not files:
            self.error = f"{folder}: no image files here"
            self.render_result()
            return
        self.error = None
        self.query_one("#pred-result", Static).update(
            f"[yellow]predicting {min(len(files), MAX_BATCH_FILES)} files in {folder} …[/]")
        self._folder_worker(files[:MAX_BATCH_FILES])

    @work(thread=True, exclusive=True, group="predict", exit_on_error=False)
    def _folder_worker(self, files: list[Path]) -> None:
        try:
            preds = predict_files(self.model, self.mean, self.std, self.threshold, files,
                                  resize=self.resize)
            self.post_message(PredictionsReady(preds))
        except ChexminiError as exc:
            self.post_message(PredictionsReady([], str(exc)))
        except Exception as exc:  # noqa: BLE001
            self.post_message(PredictionsReady([], f"{type(exc).__name__}: {exc}"))

    def on_predictions_ready(self, message: PredictionsReady) -> None:
        for p in message.predictions:
            self._add_row(p.path, p.prob, p.label, p.error)
        self.error = message.error
        n_err = sum(p.error is not None for p in message.predictions)
        ok = [p for p in message.predictions if p.error is None]
        if ok:
            n_abn = sum(p.label == "abnormal" for p in ok)
            self.query_one("#pred-result", Static).update(
                f"{len(ok)} files predicted: {n_abn} abnormal, {len(ok) - n_abn} normal at "
                f"threshold {self.threshold:.4f}" + (f"; [red]{n_err} unreadable[/]"
                                                     if n_err else "")
                + "\n[dim]select a file to see its image and saliency map[/]")
        else:
            self.render_result()

    def _add_row(self, path: str, prob, label, error) -> None:
        self.results.append((path, prob, label, error))
        table = self.query_one("#pred-table", DataTable)
        name = Path(path).name
        if error is not None:
            table.add_row(name, Text("error", style="red"), Text(error, style="red"))
        else:
            style = "bold red" if label == "abnormal" else "bold green"
            table.add_row(name, f"{prob:.4f}", Text(label, style=style))
        table.move_cursor(row=table.row_count - 1)

    def render_result(self) -> None:
        out = self.query_one("#pred-result", Static)
        head = f"[b]checkpoint[/] {self.loaded_for}"
        if self.threshold is not None:
            head += f"   threshold {self.threshold:.4f}"
        if self.model is None:
            out.update(f"{head}\n[red]✗ {self.load_error}[/]\n[dim]Pick a checkpoint in "
                       "Inspect (4) or start with --checkpoint DIR.[/]")
            return
        lines = [head]
        if self.error:
            lines.append(f"[red]✗ {_esc(self.error)}[/]")
        if self.last is not None:
            d = self.last
            color = "red" if d["label"] == "abnormal" else "green"
            lines.append(f"{_esc(Path(d['path']).name)}   P(abnormal) = [b]{d['prob']:.4f}[/]"
                         f"   → [b {color}]{d['label']}[/]")
        elif not self.error:
            lines.append("[dim]choose a file in the tree (Enter), or type a path (o)[/]")
        out.update("\n".join(lines))


def _esc(text: str) -> str:
    return text.replace("[", r"\[")
