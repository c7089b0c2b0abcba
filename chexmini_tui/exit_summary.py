"""The lines printed to the shell once the app has exited: where the Train screen's run
is and whether it finished, was interrupted (with the command that continues it),
failed, or — attached — is still going in another process."""

from __future__ import annotations

from pathlib import Path

from chexmini_tui.runner import TrainRunner
from chexmini_tui.state import RunDisplayState
from core.runs import layout


def exit_summary(st: RunDisplayState, runner: TrainRunner | None, followed: Path | None,
                 wait: float = 60.0) -> list[str]:
    """Lines for ``st``: the live run of ``runner`` (waited for up to ``wait`` s: a
    cancelled run writes its resume state on the way out) or the run folder ``followed``."""
    where = f"epoch {st.epochs_done}/{st.epochs}" if st.epochs else "before epoch 1"
    if followed is not None:
        if st.finished is not None:
            return [f"run {followed} finished (followed from here)"]
        return [f"run {followed} was still going in another process at {where}",
                f"  follow it again: chexmini-tui --attach {followed}"]
    if runner is None:
        return []
    runner.wait(wait)
    out = runner.out_dir
    if runner.result is not None:
        best = f" — best val AUC {st.best_auc:.4f} @ epoch {st.best_epoch}" \
            if st.best_auc is not None else ""
        return [f"run finished: artifacts in {out}{best}"]
    if runner.error and runner.t_started is None:   # failed before the run started
        if not out.is_dir():
            return [f"the run did not start: {runner.error} (no run folder was created)"]
        return [f"run {out} did not start: {runner.error}"]
    if runner.error:
        return [f"run {out} failed: {runner.error}"]
    if runner.active:
        return [f"run {out} was still stopping at {where}"]
    if (out / layout.RESUME).is_file():
        return [f"run {out} interrupted at {where}",
                f"  continue it: chexmini train --resume {out}"]
    return [f"run {out} stopped at {where}; nothing saved to resume"]
