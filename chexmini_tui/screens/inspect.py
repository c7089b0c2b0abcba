"""Inspect: browse checkpoints (``artifacts/``, ``runs/*`` and folders given on the
command line); config, splits, best epoch, history plots, headline metrics, files;
compare two side by side; make one the active checkpoint; attach to a run."""

from __future__ import annotations

from pathlib import Path

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Label, ListView, Static

from chexmini_tui.screens.base import BaseScreen
from chexmini_tui.widgets.checkpoint_list import LEGEND, CheckpointList
from chexmini_tui.widgets.curves import Curve, CurveChart
from chexmini_tui.widgets.metrics_table import METRICS, NAMES, fmt
from core.catalog import Entry, Info, discover, load_info, status_of
from core.checkpoint import ARTIFACT_FILES

#: from this width on the list is wider (long run names on one line)
WIDE = 120
#: below this width the two history plots go one under the other
STACK = 100
CONFIG_SHOWN = ("hidden_dims", "dropout", "optimizer", "lr", "lr_min", "lr_schedule",
                "weight_decay", "label_smoothing", "batch_size", "epochs", "augment", "seed",
                "class_weight")


class InspectScreen(BaseScreen):
    MODE = "inspect"
    DEFAULT_CSS = """
    InspectScreen #insp-body { height: 1fr; }
    InspectScreen #insp-left { width: 30; border-right: vkey $primary 40%; }
    InspectScreen.-wide #insp-left { width: 40; }
    InspectScreen #insp-list { height: 1fr; }
    InspectScreen #insp-legend { height: 1; color: $text-muted; }
    InspectScreen #insp-detail { width: 1fr; padding: 0 1; }
    InspectScreen #insp-head { height: auto; }
    InspectScreen #insp-plots { height: auto; }
    InspectScreen.-stack #insp-plots { layout: vertical; }
    InspectScreen #insp-plots CurveChart { height: 13; }
    InspectScreen #insp-tables { height: auto; }
    """
    BINDINGS = [
        Binding("enter", "use", "make active", priority=True),
        Binding("m", "mark", "compare"),
        Binding("a", "attach", "attach"),
        Binding("l", "rescan", "rescan"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[Entry] = []
        self.selected: Info | None = None
        self.marked: Info | None = None

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="insp-body"):
            with Vertical(id="insp-left"):
                yield Label("[b]checkpoints[/]", markup=True)
                yield CheckpointList(id="insp-list")
                yield Static(LEGEND, id="insp-legend")
            with VerticalScroll(id="insp-detail"):
                yield Static("", id="insp-head")
                with Horizontal(id="insp-plots"):
                    yield CurveChart("loss", "epoch", "loss", int_x=True, id="insp-loss")
                    yield CurveChart("val AUC", "epoch", "AUC", int_x=True, id="insp-auc")
                yield Static("", id="insp-tables")

    def on_mount(self) -> None:
        self.rescan()
        # a run that finishes (or starts) while this screen is shown changes its status
        self.set_interval(2.0, self.refresh_statuses)

    def on_resize(self) -> None:
        self.set_class(self.size.width >= WIDE, "-wide")
        self.set_class(self.size.width < STACK, "-stack")

    def on_screen_resume(self) -> None:
        # statuses and the active marker may have changed on another screen
        keep = self.selected.path if self.selected else None
        known = {e.path for e in self.entries}
        if self.app.state.active_checkpoint not in known or self._statuses_changed():
            self.rescan(keep=keep)
        else:
            self._relabel()

    def on_state_changed(self, message) -> None:
        """Keep the ▶ active marker in step with the app's state."""
        if message.state.active_checkpoint != getattr(self, "listed_active", None):
            self.rescan(keep=self.selected.path if self.selected else None)

    # -- listing -------------------------------------------------------------------------------
    def rescan(self, keep: str | None = None) -> None:
        """List the folders again; highlight ``keep`` (or the active checkpoint)."""
        app = self.app
        self.entries = discover(app.artifacts_dir, app.runs_dir, app.extra_dirs)
        self.listed_active = app.state.active_checkpoint
        lv = self.query_one("#insp-list", CheckpointList)
        lv.set_entries(self.entries, app.state.active_checkpoint,
                       self.marked.path if self.marked else None)
        paths = [e.path for e in self.entries]
        want = keep if keep in paths else app.state.active_checkpoint
        index = paths.index(want) if want in paths else 0
        lv.index = index
        self.show(index)
        lv.focus()

    def _statuses_changed(self) -> bool:
        return any(status_of(e.path) != e.status for e in self.entries)

    def refresh_statuses(self) -> None:
        """Re-check each folder's status (a few stat calls); redraw what changed."""
        if not self.is_current or not self._statuses_changed():
            return
        for e in self.entries:
            e.status = status_of(e.path)
        self._relabel()
        if self.selected is not None:
            self.selected = load_info(self.selected.path)
            self.render_detail()

    def _relabel(self) -> None:
        self.query_one("#insp-list", CheckpointList).relabel(
            self.app.state.active_checkpoint, self.marked.path if self.marked else None)

    def action_rescan(self) -> None:
        self.rescan()

    @on(ListView.Highlighted, "#insp-list")
    def _highlighted(self, event: ListView.Highlighted) -> None:
        lv = self.query_one("#insp-list", ListView)
        if lv.index is not None:
            self.show(lv.index)

    @on(ListView.Selected, "#insp-list")
    def _selected(self) -> None:
        self.action_use()

    def show(self, index: int) -> None:
        if not self.entries:
            return
        index = max(0, min(index, len(self.entries) - 1))
        self.selected = load_info(self.entries[index].path)
        self.render_detail()

    # -- actions -------------------------------------------------------------------------------
    def action_use(self) -> None:
        if self.selected is None:
            return
        if self.selected.summary is None:
            self.notify(f"{self.selected.path} has no usable checkpoint", severity="error")
            return
        self.app.set_checkpoint(self.selected.path)
        self.notify(f"active checkpoint: {self.selected.path}")
        self.rescan(keep=self.selected.path)

    def action_mark(self) -> None:
        if self.selected is None:
            return
        if self.marked is not None and self.marked.path == self.selected.path:
            self.marked = None
        else:
            self.marked = self.selected
        self._relabel()
        self.render_detail()

    def action_attach(self) -> None:
        if self.selected is None:
            return
        p = Path(self.selected.path)
        if not (p / "events.jsonl").is_file():
            self.notify(f"{p} has no events.jsonl to follow", severity="error")
            return
        self.app.attach(str(p))

    # -- drawing -------------------------------------------------------------------------------
    def render_detail(self) -> None:
        try:
            self._render_detail()
        except Exception as exc:  # noqa: BLE001 - a malformed file must not crash the app
            self.query_one("#insp-head", Static).update(Text(
                f"✗ {self.selected.path if self.selected else ''}: cannot show this checkpoint "
                f"({type(exc).__name__}: {exc})", style="red"))
            self.query_one("#insp-tables", Static).update("")

    def _render_detail(self) -> None:
        head = self.query_one("#insp-head", Static)
        tables = self.query_one("#insp-tables", Static)
        loss = self.query_one("#insp-loss", CurveChart)
        auc = self.query_one("#insp-auc", CurveChart)
        info = self.selected
        compare = self.marked is not None and info is not None and \
            self.marked.path != info.path
        # empty plot frames only push the explanation off screen: hide them then
        self.query_one("#insp-plots").display = info is not None and info.summary is not None
        if info is None or info.summary is None:
            msg = info.error if info else "nothing to show"
            head.update(Text.assemble(("✗ ", "red"), (msg, "red")))
            tables.update(self._help_text())
            loss.set_curves([])
            auc.set_curves([])
            return
        s = info.summary
        cfg = _dict(s.get("config"))
        arch = "→".join(map(str, [cfg.get("image_size", 64) ** 2, *cfg.get("hidden_dims", []),
                                  1]))
        line = Text.assemble((info.path, "bold"), f"   MLP {arch}   best epoch ",
                             (str(s.get("best_epoch")), "bold"), "   threshold ",
                             (f"{s.get('threshold', float('nan')):.4f}", "bold"))
        if s.get("format"):
            line.append(f"\nformat {s['format']} · {s.get('resize_filter')} resize",
                        style="dim")
        if info.note:
            line.append(f"\n{info.note}", style="yellow")
        if compare:
            line.append(f"\ncomparing with {self.marked.path} (marked; m to unmark)",
                        style="yellow")
        head.update(line)
        self._plots(info, loss, auc, self.marked if compare else None)
        if compare:
            tables.update(self._compare_tables(self.marked, info))
        else:
            tables.update(self._tables(info))

    def _plots(self, info: Info, loss: CurveChart, auc: CurveChart, other: Info | None) -> None:
        def series(h: dict | None, tag: str, c1: str, c2: str) -> tuple[list, list]:
            if not h or not h.get("val_loss"):
                return [], []
            ep = list(range(1, len(h["val_loss"]) + 1))
            return ([Curve(ep, h["train_loss"], f"{tag}train", c1),
                     Curve(ep, h["val_loss"], f"{tag}val", c2)],
                    [Curve(ep, h["val_auc"], f"{tag}val AUC", c2)])
        if other is None:
            l1, a1 = series(info.history, "", "cyan", "orange")
            loss.set_curves(l1)
            auc.set_curves(a1)
        else:
            la, aa = series(other.history, "A ", "blue", "cyan")
            lb, ab = series(info.history, "B ", "red", "orange")
            loss.set_curves(la + lb)
            auc.set_curves(aa + ab)

    def _tables(self, info: Info) -> Group:
        s = info.summary
        cfg = _dict(s.get("config"))
        metrics = Table(title="headline metrics", title_justify="left", title_style="bold",
                        padding=(0, 1), box=box.SIMPLE_HEAD, show_edge=False)
        metrics.add_column("metric", no_wrap=True)
        metrics.add_column("val", justify="right", no_wrap=True)
        metrics.add_column("test", justify="right", no_wrap=True)
        for key in METRICS:
            metrics.add_row(NAMES[key], *(fmt(_split(s, sp).get(key))
                                          for sp in ("validation", "test")))
        for key in ("tn", "fp", "fn", "tp"):
            metrics.add_row(key.upper(), *(str(_dict(_split(s, sp).get("confusion_matrix"))
                                               .get(key, "—")) for sp in ("validation", "test")))
        splits = Table(title="splits", title_justify="left", title_style="bold",
                       padding=(0, 1), box=box.SIMPLE_HEAD, show_edge=False)
        for col in ("split", "n", "pos", "rate"):
            splits.add_column(col, justify="left" if col == "split" else "right", no_wrap=True)
        for name, sp in _dict(s.get("splits")).items():
            sp = _dict(sp)
            n, pos = sp.get("n", 0), sp.get("pos", 0)
            splits.add_row(name, str(n), str(pos), f"{pos / n:.3f}" if n else "—")
        config = Table(title="config", title_justify="left", title_style="bold",
                       padding=(0, 1), show_header=False, box=box.SIMPLE, show_edge=False)
        config.add_column("key", no_wrap=True, style="dim", min_width=15)
        config.add_column("value", no_wrap=True)
        for key in CONFIG_SHOWN:
            if key in cfg:
                config.add_row(key, _val(cfg[key]))
        data = _dict(s.get("data"))
        if data.get("source"):
            config.add_row("data", str(data["source"]))
        return Group(self._side_by_side(metrics, Group(splits, config), 64),
                     self._files(s.get("files", [])))

    def _side_by_side(self, left, right, need: int):
        """Two blocks in a row when the pane is wide enough, else one under the other."""
        if self.query_one("#insp-detail").size.width < need:
            return Group(left, right)
        grid = Table.grid(padding=(0, 2))
        grid.add_row(left, right)
        return grid

    def _files(self, files: list[str]) -> Text:
        t = Text("files: ", style="bold")
        for f in ARTIFACT_FILES:
            t.append(f"{'✓' if f in files else '✗'} {f}  ",
                     style="green" if f in files else "red")
        others = [f for f in files if f not in ARTIFACT_FILES]
        if others:
            t.append("+ " + ", ".join(others), style="dim")
        return t

    def _compare_tables(self, a: Info, b: Info) -> Group:
        sa, sb = a.summary, b.summary
        if self.query_one("#insp-detail").size.width >= 64:
            table = self._compare_metrics(sa, sb, ("validation", "test"))
        else:  # narrow: one table per split, so no column is cut
            table = Group(self._compare_metrics(sa, sb, ("validation",)),
                          self._compare_metrics(sa, sb, ("test",)))
        cfg = Table(title="config differences", title_justify="left", title_style="bold",
                    padding=(0, 1), box=box.SIMPLE_HEAD, show_edge=False)
        cfg.add_column("key")
        cfg.add_column("A")
        cfg.add_column("B")
        ca, cb = _dict(sa.get("config")), _dict(sb.get("config"))
        diffs = [k for k in sorted(set(ca) | set(cb)) if ca.get(k) != cb.get(k)]
        for k in diffs:
            cfg.add_row(k, _val(ca.get(k)), _val(cb.get(k)))
        if not diffs:
            cfg.add_row("(none)", "", "")
        sp = Table(title="splits (n / pos)", title_justify="left", title_style="bold",
                   padding=(0, 1), box=box.SIMPLE_HEAD, show_edge=False)
        sp.add_column("split")
        sp.add_column("A")
        sp.add_column("B")
        for name in ("train", "val", "test"):
            x = _dict(_dict(sa.get("splits")).get(name))
            y = _dict(_dict(sb.get("splits")).get(name))
            sp.add_row(name, f"{x.get('n', '—')} / {x.get('pos', '—')}",
                       f"{y.get('n', '—')} / {y.get('pos', '—')}")
        return Group(Text(f"A = {a.path}\nB = {b.path}", style="dim"),
                     self._side_by_side(table, Group(sp, cfg), 100))

    def _compare_metrics(self, sa: dict, sb: dict, splits: tuple[str, ...]) -> Table:
        """Metrics of A (marked) and B (highlighted) for ``splits``; Δ on test."""
        short = {"validation": "val", "test": "test"}
        title = "A (marked) vs B (highlighted)" if len(splits) > 1 else \
            f"{splits[0]}: A (marked) vs B (highlighted)"
        table = Table(title=title, title_justify="left", title_style="bold",
                      padding=(0, 1), box=box.SIMPLE_HEAD, show_edge=False)
        table.add_column("metric", no_wrap=True)
        for sp in splits:
            for tag in ("A", "B"):
                table.add_column(f"{tag} {short[sp]}", justify="right", no_wrap=True)
        if "test" in splits:
            table.add_column("Δ test", justify="right", no_wrap=True)
        for key in METRICS:
            row = [NAMES[key]]
            for sp in splits:
                row += [fmt(_split(sa, sp).get(key)), fmt(_split(sb, sp).get(key))]
            if "test" in splits:
                at, bt = _split(sa, "test").get(key), _split(sb, "test").get(key)
                row.append(f"{bt - at:+.4f}" if _isfmt(at) and _isfmt(bt) else "—")
            table.add_row(*row)
        if "validation" in splits:
            pad = [""] * (len(table.columns) - 3)
            table.add_row("best epoch", str(sa.get("best_epoch")), str(sb.get("best_epoch")),
                          *pad)
            table.add_row("threshold", fmt(sa.get("threshold")), fmt(sb.get("threshold")),
                          *pad)
        return table

    def _help_text(self) -> Text:
        return Text(
            f"No checkpoint to show here. The app looks in {self.app.artifacts_dir}/ (the "
            f"shipped checkpoint) and {self.app.runs_dir}/*; train one on the Train screen "
            "(1), or start with --checkpoint DIR. Gradient checks on a fresh model (2) and "
            "everything else keep working.", style="dim")


def _dict(v) -> dict:
    return v if isinstance(v, dict) else {}


def _split(summary: dict, name: str) -> dict:
    """``summary[name]`` if it is a dict (metrics.json written by hand may lack it)."""
    return _dict(summary.get(name))


def _isfmt(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _val(v) -> str:
    if isinstance(v, list):
        return ",".join(map(str, v))
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


