"""Predict: pick X-ray files, see P(abnormal), the label at the checkpoint's threshold,
the true label when one is found beside the image (``labels.csv``, an NIH
``Data_Entry*.csv`` or ``normal/``/``abnormal/`` folders), a warning when the input does
not look like the training X-rays (:mod:`core.inference.ood`), the image the model sees and a
saliency heat map (|∂ logit / ∂ input| from the hand-written backward pass). A file that
cannot be read is an inline error.

The path box (``o``) takes ``~``, ``..``, absolute paths and paths relative to the file
tree's folder, with Tab completion; ``u`` moves the tree up a folder, and a folder typed
in the box becomes the tree's folder.

Everything shown comes from the app's active checkpoint (``app.state.active``): when
another one becomes active, or its files change on disk (a new threshold), the results
of the old one are cleared and the last file is predicted again with the new one.
A folder's rows still on their way from the old model are dropped."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DirectoryTree, Label, Static
from textual.worker import get_current_worker

from chexmini_tui.active import ActiveCheckpoint
from chexmini_tui.markup import esc as _esc
from chexmini_tui.screens.base import BaseScreen
from chexmini_tui.widgets.image_view import gray_to_pil, image_widget_class, saliency_overlay
from chexmini_tui.widgets.path_box import PathBox
from chexmini_tui.widgets.results_table import ResultRow, ResultsTable, folder_summary
from core.data.images import is_image_file, load_gray
from core.data.nih_sample import SAMPLE_PNG_DIR
from core.data.true_labels import LabelFinder
from core.foundation.errors import ChexminiError
from core.inference import predict_files, predict_label, saliency
from core.inference.ood import assess, assess_files, xray_rules_apply

MAX_BATCH_FILES = 5000
CHUNK = 64   # a folder's rows are posted this many files at a time


@dataclass
class FolderRows(Message):
    """Some more of a folder's results (``done`` of ``total`` files) by the model of
    ``active``; ``error`` ends it."""

    active: ActiveCheckpoint
    rows: list[ResultRow]
    done: int
    total: int
    error: str | None = None


class ImageTree(DirectoryTree):
    """A directory tree that shows folders and image files only."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [p for p in paths if not p.name.startswith(".")
                and (p.is_dir() or is_image_file(p))]


class PredictScreen(BaseScreen):
    MODE = "predict"
    AUTO_FOCUS = "#pred-tree"
    BINDINGS = [
        # short words for an 80-column footer; the help screen shows the tooltips
        Binding("o", "focus_path", "path",
                tooltip="type a path (~, .., absolute; Tab completes)"),
        Binding("t", "focus_tree", "tree", tooltip="back to the file tree"),
        Binding("u", "tree_up", "up", tooltip="move the file tree up a folder"),
        Binding("a", "predict_folder", "folder",
                tooltip="predict every image in the folder under the cursor"),
        Binding("c", "clear", "clear", tooltip="clear the results"),
        Binding("escape", "blur", "leave box", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        #: the active checkpoint what is shown was computed with
        self.shown: ActiveCheckpoint | None = None
        #: the file to predict again once a checkpoint still loading is loaded
        self._again: str | None = None
        self.xray_rules = True
        self.last: dict | None = None   # {"path", "prob", "label", "threshold", "truth", "ood"}
        self.error: str | None = None
        self.results: list[ResultRow] = []
        self.labels = LabelFinder()
        self.folder_note: str | None = None

    def compose_body(self) -> ComposeResult:
        root = Path(self.app.predict_root or str(SAMPLE_PNG_DIR)).expanduser()
        cls = image_widget_class(self.app.image_mode)
        with Horizontal(id="pred-body"):
            with Vertical(id="pred-left"):
                yield PathBox(placeholder="o: type a path, Tab", id="pred-path",
                              base=root)
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
                yield ResultsTable(id="pred-table")

    def on_mount(self) -> None:
        self.follow_active()

    def on_resize(self) -> None:
        # at 80 columns the results need the room more than the file names do
        self.query_one("#pred-left").styles.width = 26 if self.size.width < 100 else 34

    # -- the model: the app's active checkpoint -------------------------------------------------
    @property
    def loaded_for(self) -> str | None:
        return None if self.shown is None else self.shown.path

    @property
    def model(self):
        return None if self.shown is None or self.shown.checkpoint is None \
            else self.shown.checkpoint.model

    @property
    def threshold(self) -> float | None:
        return None if self.shown is None else self.shown.threshold

    @property
    def load_error(self) -> str | None:
        """Why there is no model (still loading, or the load's error); None with one."""
        return None if self.shown is None or self.shown.checkpoint is not None \
            else self.shown.problem

    def follow_active(self) -> None:
        """Another checkpoint is active, or it was loaded again: drop every result of the
        old one (a folder still being predicted stops) and predict the last file again."""
        active = self.app.state.active
        if active is self.shown:
            return
        again = self.last["path"] if self.last is not None else self._again
        self._again = again if active.loading else None   # predicted again once loaded
        had_rows = bool(self.results)
        self.shown = active
        self.workers.cancel_group(self, "predict")
        self.xray_rules = active.checkpoint is None or xray_rules_apply(active.path)
        self.results.clear()
        self.query_one("#pred-table", ResultsTable).clear()
        self.last, self.error, self.folder_note = None, None, None
        self.query_one("#img-xray").image = None
        self.query_one("#img-sal").image = None
        if again is not None and active.checkpoint is not None:
            self.predict(again)
            return
        if had_rows:
            self.folder_note = "[dim]results cleared: the active checkpoint changed[/]"
        self.render_result()

    # -- the tree and the path box --------------------------------------------------------------
    @property
    def tree_folder(self) -> Path:
        return Path(self.query_one("#pred-tree", ImageTree).path)

    def set_tree_folder(self, folder: Path) -> None:
        """Re-root the file tree at ``folder`` (the path box follows)."""
        self.query_one("#pred-tree", ImageTree).path = folder
        self.query_one("#pred-path", PathBox).base = str(folder)

    def action_focus_path(self) -> None:
        self.query_one("#pred-path", PathBox).focus()

    def action_focus_tree(self) -> None:
        self.query_one("#pred-tree", ImageTree).focus()

    def action_tree_up(self) -> None:
        folder = self.tree_folder.absolute()
        if folder.parent != folder:
            self.set_tree_folder(folder.parent)
            self.notify_where()

    def action_blur(self) -> None:
        self.action_focus_tree()

    def action_clear(self) -> None:
        self.results.clear()
        self.folder_note = None
        self.query_one("#pred-table", ResultsTable).clear()
        self.render_result()

    def notify_where(self) -> None:
        self.error = None
        self.folder_note = f"[dim]folder {_esc(str(self.tree_folder))}[/]"
        self.render_result()

    @on(PathBox.Candidates, "#pred-path")
    def _candidates(self, event: PathBox.Candidates) -> None:
        self.folder_note = ("[dim]" + _esc("  ".join(event.names)) + "[/]") if event.names \
            else None
        self.render_result()

    @on(DirectoryTree.FileSelected, "#pred-tree")
    def _file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self.predict(event.path)

    @on(PathBox.Submitted, "#pred-path")
    def _path_submitted(self, event: PathBox.Submitted) -> None:
        box = self.query_one("#pred-path", PathBox)
        if not event.value.strip():
            return
        p = box.resolved()
        self.action_focus_tree()        # so the footer's keys work again at once
        if p.is_dir():
            self.set_tree_folder(p)
            box.value = ""
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
        self.folder_note = None
        if self.model is None:
            if self.shown is not None and self.shown.loading:
                self._again = path       # predicted when the checkpoint is loaded
            self.error = f"no model: {self.load_error}"
            self.render_result()
            return
        active = self.shown
        ckpt = active.checkpoint
        try:
            gray = load_gray(path, ckpt.image_size, ckpt.resize_filter)
            x = ckpt.preprocess(path)
            with active.lock:   # the model keeps per-call caches: one pass at a time
                prob, label = predict_label(ckpt.model, x, ckpt.threshold)
                sal = saliency(ckpt.model, x)
            ood = assess(x, ckpt.mean, ckpt.std, self.xray_rules)
        except Exception as exc:  # ChexminiError, or anything unexpected: inline, never a crash
            msg = str(exc) if isinstance(exc, ChexminiError) else \
                f"{path}: {type(exc).__name__}: {exc}"
            self.error = msg
            self._add_row(ResultRow(str(path), None, None, msg))
            self.render_result()
            return
        truth = self.labels.lookup(path)
        self.error = None
        self.last = {"path": str(path), "prob": prob, "label": label,
                     "threshold": ckpt.threshold, "saliency_max": float(sal.max()),
                     "truth": truth, "ood": ood}
        self.query_one("#img-xray").image = gray_to_pil(gray)
        self.query_one("#img-sal").image = saliency_overlay(gray, sal)
        self._add_row(ResultRow(str(path), prob, label, None, truth, ood))
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
        self.error, self.last = None, None
        self.folder_rows: list[ResultRow] = []
        n = min(len(files), MAX_BATCH_FILES)
        self.folder_note = f"[yellow]predicting {n} files in {_esc(str(folder))} …[/]"
        self.render_result()
        self._folder_worker(files[:MAX_BATCH_FILES], self.shown, self.xray_rules)

    @work(thread=True, exclusive=True, group="predict", exit_on_error=False)
    def _folder_worker(self, files: list[Path], active: ActiveCheckpoint,
                       xray_rules: bool) -> None:
        total = len(files)
        ckpt = active.checkpoint
        worker = get_current_worker()
        try:
            for start in range(0, total, CHUNK):
                if worker.is_cancelled:
                    return
                chunk = files[start:start + CHUNK]
                with active.lock:
                    preds = predict_files(ckpt.model, ckpt.mean, ckpt.std, ckpt.threshold,
                                          chunk, resize=ckpt.resize_filter)
                oods = assess_files(chunk, ckpt.image_size, ckpt.mean, ckpt.std,
                                    ckpt.resize_filter, xray_rules)
                rows = [ResultRow(p.path, p.prob, p.label, p.error,
                                  None if p.error else self.labels.lookup(p.path), o)
                        for p, o in zip(preds, oods, strict=True)]
                self.post_message(FolderRows(active, rows, start + len(chunk), total))
        except ChexminiError as exc:
            self.post_message(FolderRows(active, [], total, total, str(exc)))
        except Exception as exc:  # noqa: BLE001
            self.post_message(FolderRows(active, [], total, total,
                                         f"{type(exc).__name__}: {exc}"))

    def on_folder_rows(self, message: FolderRows) -> None:
        if message.active is not self.shown:
            return   # computed by a checkpoint that is no longer the active one
        for r in message.rows:
            self._add_row(r)
            self.folder_rows.append(r)
        self.error = message.error
        more = "" if message.done >= message.total else \
            f"  [yellow]{message.done}/{message.total} …[/]"
        self.folder_note = folder_summary(self.folder_rows) + more
        self.render_result()

    def _add_row(self, row: ResultRow) -> None:
        self.results.append(row)
        self.query_one("#pred-table", ResultsTable).add_result(row)

    def render_result(self) -> None:
        out = self.query_one("#pred-result", Static)
        head = f"[b]checkpoint[/] {_esc(str(self.loaded_for))}"
        if self.threshold is not None:
            head += f"   threshold {self.threshold:.4f}"
            if self.shown.checkpoint.operating_point is not None:
                head += f" [dim]({_esc(self.shown.rule.replace('>=', ' ≥ '))})[/]"
        if self.model is None and self.shown is not None and self.shown.loading:
            out.update(f"{head}\n[dim]loading…[/]")
            return
        if self.model is None:
            out.update(f"{head}\n[red]✗ {_esc(str(self.load_error))}[/]\n[dim]Pick a "
                       "checkpoint in Inspect (4) or start with --checkpoint DIR.[/]")
            return
        lines = [head]
        if self.error:
            lines.append(f"[red]✗ {_esc(self.error)}[/]")
        if self.folder_note:
            lines.append(self.folder_note)
        elif self.last is not None:
            lines.extend(_describe(self.last))
        elif not self.error:
            lines.append("[dim]choose a file in the tree (Enter), or type a path (o)[/]")
        out.update("\n".join(lines))


def _describe(d: dict) -> list[str]:
    """The lines for one predicted file: probability, label, truth, OOD warning."""
    color = "red" if d["label"] == "abnormal" else "green"
    lines = [f"{_esc(Path(d['path']).name)}  P(abnormal) [b]{d['prob']:.4f}[/]"
             f" → [b {color}]{d['label']}[/]"]
    truth = d.get("truth")
    if truth is not None:
        verdict = "[green]✓ correct[/]" if truth.label == d["label"] else "[b red]✗ wrong[/]"
        lines.append(f"true label [b]{truth.label}[/] ({_esc(truth.source)})  {verdict}")
    ood = d.get("ood")
    if ood is not None and ood.flagged:
        lines.append(f"[b yellow]⚠ {_esc(ood.explain())}[/]")
    return lines
