"""``RunProgress``: the epoch and step bars of a training run, with their read-outs.

The read-out says what the numbers mean *now*: an ETA only while the run is actually
moving, ``paused`` while it is paused (a frozen clock would make the ETA grow), ``done``
when it finished and ``stopped``/``detached`` otherwise — never a live-looking ETA for a
run nobody is watching. Below ~70 columns the read-outs move under their bars
(``-compact``), so a bar never collapses to one cell.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Container
from textual.widget import Widget
from textual.widgets import Label, ProgressBar

from chexmini_tui.state import RunDisplayState, fmt_duration, metric_text

#: Narrower than this (columns), the read-outs go on their own line under the bars.
COMPACT_BELOW = 70
#: Phases that have a meaningful ETA (the run is moving).
MOVING = ("live", "attached")
#: What replaces the ETA in the other phases.
PHASE_WORD = {"paused": "paused", "finished": "done", "stopped": "stopped",
              "detached": "detached", "idle": ""}


class RunProgress(Widget):
    DEFAULT_CSS = """
    RunProgress { height: auto; }
    RunProgress .rp-row { height: 1; layout: horizontal; }
    RunProgress .rp-label { width: 6; color: $text-muted; }
    RunProgress ProgressBar { width: 1fr; }
    RunProgress ProgressBar Bar { width: 1fr; }
    RunProgress .rp-info { width: 42; padding-left: 1; }
    RunProgress.-compact .rp-row {
        layout: grid; grid-size: 2; grid-columns: 6 1fr; grid-rows: 1; height: 2;
    }
    RunProgress.-compact .rp-info { column-span: 2; width: 1fr; padding-left: 6; }
    """

    def compose(self) -> ComposeResult:
        for name in ("epoch", "step"):
            with Container(classes="rp-row"):
                yield Label(name, classes="rp-label")
                yield ProgressBar(total=1, show_eta=False, show_percentage=False,
                                  id=f"bar-{name}")
                yield Label("", id=f"eta-{name}", classes="rp-info")

    def on_resize(self) -> None:
        self.set_class(self.size.width < COMPACT_BELOW, "-compact")

    @staticmethod
    def texts(st: RunDisplayState, phase: str) -> tuple[str, str]:
        """The epoch and step read-outs for ``st`` in ``phase`` (``live``, ``attached``,
        ``paused``, ``finished``, ``stopped``, ``detached`` or ``idle``)."""
        moving = phase in MOVING and st.finished is None
        word = "done" if st.finished is not None else PHASE_WORD.get(phase, "")
        epoch = f"{st.epochs_done}/{st.epochs}"
        step = f"{st.step}/{st.steps_per_epoch}"
        if moving:
            sps = f"{st.samples_per_s:,.0f} samples/s" if st.samples_per_s else "— samples/s"
            return (f"{epoch} · ETA {fmt_duration(st.eta_run())}",
                    f"{step} · {sps} · ETA {fmt_duration(st.eta_epoch())}")
        if st.finished is not None:      # the result, not only in the log
            auc = metric_text(st.finished.test, "auc")
            return f"{epoch} · done · test AUC {auc}", f"{step} · {word}"
        if word:
            return f"{epoch} · {word}", f"{step} · {word}"
        return epoch, step

    def show(self, st: RunDisplayState, phase: str) -> None:
        self.query_one("#bar-epoch", ProgressBar).update(
            total=max(st.epochs, 1), progress=st.epochs_done)
        spe = max(st.steps_per_epoch, 1)
        self.query_one("#bar-step", ProgressBar).update(total=spe,
                                                        progress=min(st.step, spe))
        epoch, step = self.texts(st, phase)
        # fixed-size labels: update without a re-layout (which would cost ~100 ms a time)
        self.query_one("#eta-epoch", Label).update(epoch, layout=False)
        self.query_one("#eta-step", Label).update(step, layout=False)

