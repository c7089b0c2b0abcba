"""``RunDetail``: one checkpoint in full — path, architecture, best epoch, the active
threshold (a saved operating point, with its rule, else ``metrics.json``'s threshold),
loss and validation-AUC history, headline metrics, splits, config and files — or, when
the folder holds no usable checkpoint, the reason in one red paragraph.

It draws a :class:`core.runs.catalog.Info` (read by the engine); nothing here reads files.
"""

from __future__ import annotations

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from chexmini_tui.widgets.curves import Curve, CurveChart
from chexmini_tui.widgets.metrics_table import METRICS, NAMES, fmt
from core.evaluation.bootstrap import format_ci
from core.runs import layout
from core.runs.catalog import Info

CONFIG_SHOWN = ("hidden_dims", "dropout", "optimizer", "lr", "lr_min", "lr_schedule",
                "weight_decay", "label_smoothing", "batch_size", "epochs", "augment", "seed",
                "class_weight")
#: from this width of the pane on, the metrics and the splits/config sit side by side
SIDE_BY_SIDE = 64


class RunDetail(Vertical):
    DEFAULT_CSS = """
    RunDetail { height: auto; }
    RunDetail #insp-head { height: auto; }
    RunDetail #insp-plots { height: auto; }
    RunDetail.-stack #insp-plots { layout: vertical; }
    RunDetail #insp-plots CurveChart { height: 13; }
    RunDetail #insp-tables { height: auto; }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="insp-head")
        with Horizontal(id="insp-plots"):
            yield CurveChart("loss", "epoch", "loss", int_x=True, id="insp-loss")
            yield CurveChart("val AUC", "epoch", "AUC", int_x=True, id="insp-auc")
        yield Static("", id="insp-tables")

    def show(self, info: Info | None, empty_help: str) -> None:
        """Draw ``info``; ``empty_help`` is shown under the reason when it has no checkpoint.
        A malformed file never raises: it becomes the red line."""
        try:
            self._show(info, empty_help)
        except Exception as exc:  # noqa: BLE001 - a malformed file must not crash the app
            self.query_one("#insp-head", Static).update(Text(
                f"✗ {info.path if info else ''}: cannot show this checkpoint "
                f"({type(exc).__name__}: {exc})", style="red"))
            self.query_one("#insp-tables", Static).update("")

    def _show(self, info: Info | None, empty_help: str) -> None:
        head = self.query_one("#insp-head", Static)
        tables = self.query_one("#insp-tables", Static)
        loss = self.query_one("#insp-loss", CurveChart)
        auc = self.query_one("#insp-auc", CurveChart)
        # empty plot frames only push the explanation off screen: hide them then
        self.query_one("#insp-plots").display = info is not None and info.summary is not None
        if info is None or info.summary is None:
            msg = info.error if info else "nothing to show"
            head.update(Text.assemble(("✗ ", "red"), (msg, "red")))
            tables.update(Text(empty_help, style="dim"))
            loss.set_curves([])
            auc.set_curves([])
            return
        head.update(_headline(info))
        h = info.history
        if h and h.get("val_loss"):
            ep = list(range(1, len(h["val_loss"]) + 1))
            loss.set_curves([Curve(ep, h["train_loss"], "train", "cyan"),
                             Curve(ep, h["val_loss"], "val", "orange")])
            auc.set_curves([Curve(ep, h["val_auc"], "val AUC", "orange")])
        else:
            loss.set_curves([])
            auc.set_curves([])
        tables.update(self._tables(info.summary))

    def _tables(self, s: dict) -> Group:
        metrics = Table(title="headline metrics", title_justify="left", title_style="bold",
                        padding=(0, 1), box=box.SIMPLE_HEAD, show_edge=False)
        metrics.add_column("metric", no_wrap=True)
        metrics.add_column("val", justify="right", no_wrap=True)
        metrics.add_column("test", justify="right", no_wrap=True)
        for key in METRICS:
            metrics.add_row(NAMES[key], *(fmt(_split(s, sp).get(key))
                                          for sp in ("validation", "test")))
            if key == "auc":   # the 95 % bootstrap interval, where the score files allow
                metrics.add_row(NAMES["auc_ci"], *(
                    format_ci((_split(s, sp).get("auc_lo"), _split(s, sp).get("auc_hi")), 2)
                    for sp in ("validation", "test")))
        for key in ("tn", "fp", "fn", "tp"):
            metrics.add_row(key.upper(), *(str(_dict(_split(s, sp).get("confusion_matrix"))
                                               .get(key, "—")) for sp in ("validation", "test")))
        if self.size.width < SIDE_BY_SIDE:
            return Group(metrics, _splits(s), _config(s), _files(s.get("files", [])))
        grid = Table.grid(padding=(0, 2))
        grid.add_row(metrics, Group(_splits(s), _config(s)))
        return Group(grid, _files(s.get("files", [])))


def _headline(info: Info) -> Text:
    s = info.summary
    cfg = _dict(s.get("config"))
    arch = "→".join(map(str, [cfg.get("image_size", 64) ** 2, *cfg.get("hidden_dims", []), 1]))
    active = s.get("active_threshold", s.get("threshold", float("nan")))
    line = Text.assemble((info.path, "bold"), f"   MLP {arch}   best epoch ",
                         (str(s.get("best_epoch")), "bold"), "   threshold ",
                         (f"{active:.4f}", "bold"))
    op = _dict(s.get("operating_point"))
    if op:   # the active threshold is the saved operating point: say its rule first
        rule = str(s.get("active_rule", op.get("rule"))).replace(">=", " ≥ ")
        trained = float(s.get("threshold", float("nan")))
        youden = float(op.get("youden_threshold", float("nan")))
        line.append(f"\nthreshold rule {rule} · trained with {trained:.4f} " + (
            "(Youden's J)" if f"{trained:.4f}" == f"{youden:.4f}" else
            f"· Youden's J {youden:.4f}"))
    if s.get("format"):
        line.append(f"\nformat {s['format']} · {s.get('resize_filter')} resize", style="dim")
    if info.note:
        line.append(f"\n{info.note}", style="yellow")
    return line


def _splits(s: dict) -> Table:
    splits = Table(title="splits", title_justify="left", title_style="bold",
                   padding=(0, 1), box=box.SIMPLE_HEAD, show_edge=False)
    for col in ("split", "n", "pos", "rate"):
        splits.add_column(col, justify="left" if col == "split" else "right", no_wrap=True)
    for name, sp in _dict(s.get("splits")).items():
        sp = _dict(sp)
        n, pos = sp.get("n", 0), sp.get("pos", 0)
        splits.add_row(name, str(n), str(pos), f"{pos / n:.3f}" if n else "—")
    return splits


def _config(s: dict) -> Table:
    cfg = _dict(s.get("config"))
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
    return config


def _files(files: list[str]) -> Text:
    t = Text("files: ", style="bold")
    for f in layout.ARTIFACT_FILES:
        t.append(f"{'✓' if f in files else '✗'} {f}  ", style="green" if f in files else "red")
    others = [f for f in files if f not in layout.ARTIFACT_FILES]
    if others:
        t.append("+ " + ", ".join(others), style="dim")
    return t


def _dict(v) -> dict:
    return v if isinstance(v, dict) else {}


def _split(summary: dict, name: str) -> dict:
    """``summary[name]`` if it is a dict (metrics.json written by hand may lack it)."""
    return _dict(summary.get(name))


def _val(v) -> str:
    if isinstance(v, list):
        return ",".join(map(str, v))
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)
