"""The command palette (``ctrl+p``): every action of the app, by name.

:func:`app_commands` lists them for the app's current state; a command that does not
apply now (pausing with no run, attaching while training here) carries the reason
instead of a callback. :class:`ChexminiCommands` shows the applicable ones when the
palette opens, and, when you type, also the others, marked with why they are off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from chexmini_tui.markup import esc
from chexmini_tui.screens.base import SCREENS
from core.foundation.errors import ChexminiError
from core.runs import layout
from core.runs.catalog import discover
from core.runs.export import FORMATS, export_checkpoint
from core.runs.release.shipped import DEFAULT_NAME, is_shipped
from core.runs.status import STATUS_TEXT
from core.training.steering import control_problem


@dataclass(frozen=True)
class Command:
    title: str
    help: str
    run: Callable[[], object] | None
    why_not: str = ""   # set when the command does not apply now


# -- what the commands do ------------------------------------------------------------------
async def _show(app, mode: str) -> None:
    if app.current_mode != mode:
        await app.switch_mode(mode)


async def _on_screen(app, mode: str, action: str, *args) -> None:
    """Show screen ``mode`` and run its ``action_<action>(*args)``."""
    await _show(app, mode)
    getattr(app.screen, f"action_{action}")(*args)


def _on_train_screen(app, action: str) -> None:
    """Run a control of the run in progress without leaving the current screen."""
    for screen in app.get_screen_stack("train"):
        if hasattr(screen, f"action_{action}"):
            getattr(screen, f"action_{action}")()
            return


def _open(app, path: str) -> None:
    app.set_checkpoint(path)
    app.notify(f"active checkpoint: {path}", markup=False)


def _reload(app) -> None:
    app.reload_checkpoint()     # says what it read when it is done


def export_target(checkpoint: str, fmt: str) -> Path | None:
    """Where the palette's export writes: a sibling folder named after the layout
    (``.`` and ``..`` are named by the folder they stand for; None for ``/``, which has no
    sibling); for the shipped checkpoint, ``artifacts-FORMAT`` in the current folder
    (nothing is written beside an installed package)."""
    p = Path(checkpoint)
    if is_shipped(p):
        return Path(f"{DEFAULT_NAME}-{fmt}")
    if p.name in ("", "..") or ".." in p.parts:
        p = p.resolve()
    return p.with_name(f"{p.name}-{fmt}") if p.name else None


def _export(app, fmt: str, out: Path) -> None:
    src = app.state.active_checkpoint

    def work() -> None:
        try:
            res = export_checkpoint(src, out, fmt)  # a folder holding a checkpoint is refused
        except (ChexminiError, OSError) as exc:
            app.call_from_thread(app.notify, f"export failed: {exc}", severity="error",
                                 markup=False)
            return
        # anything else: the app's worker handler says so in one line
        app.call_from_thread(app.notify, f"exported {src} → {res.out} ({fmt} layout)",
                             markup=False)

    app.run_worker(work, thread=True, group="export", exit_on_error=False)


# -- the list --------------------------------------------------------------------------------
def _run_commands(app) -> list[Command]:
    st = app.state
    busy = ("a run is in progress (stop it first)" if st.running else
            f"following {st.run_dir} (detach first)" if st.attached else "")
    no_run = ("" if st.running else (control_problem(st.run_dir) or "") if st.attached
              else "no run in progress in this app")   # an attached run is steered too

    def cmd(title: str, help: str, run, why: str) -> Command:
        return Command(title, help, None if why else run, why)

    pause = "continue the paused run" if st.paused else "pause the run"
    return [
        cmd("start a run", "Train: start a run with the form's settings",
            partial(_on_screen, app, "train", "start"), busy),
        cmd(pause, "Train: pause / continue (p)", partial(_on_train_screen, app, "pause"),
            no_run),
        cmd("stop the run", "Train: finish cleanly — best checkpoint, test scores, "
            "artifacts (x)", partial(_on_train_screen, app, "stop"), no_run),
        cmd("save now", "Train: write resume.npz now (w)",
            partial(_on_train_screen, app, "save"), no_run),
        cmd("resume an interrupted run", "Train: continue a run from its resume.npz (r)",
            partial(_on_screen, app, "train", "resume_run"), busy),
        cmd("detach", "Train: stop following the attached run (d)",
            partial(_on_screen, app, "train", "detach"),
            "" if st.attached else "not attached to a run"),
        cmd("training health", "Train: show / hide per-layer health, warnings and the "
            "trainer's CPU and memory (h)", partial(_on_screen, app, "train", "toggle_health"),
            ""),
    ]


def app_commands(app) -> list[Command]:
    """Every command, for the app's state now."""
    st = app.state
    out = _run_commands(app)
    out += [Command(f"show {title}", f"switch to the {title} screen ({key})",
                    partial(_show, app, mode)) for mode, key, title in SCREENS]
    entries = discover(app.artifacts_dir, app.runs_dir, app.extra_dirs)
    for e in entries:
        if e.status in ("finished", "running"):
            why = ("it is the active checkpoint" if e.path == st.active_checkpoint else
                   f"running: {STATUS_TEXT['running']}; its checkpoint comes when it finishes"
                   if e.status == "running" else "")
            out.append(Command(f"open checkpoint {e.path}", "make it the active checkpoint",
                               None if why else partial(_open, app, e.path), why))
    for e in entries:
        if (Path(e.path) / layout.EVENTS).is_file():
            why = "a run is in progress in this app" if st.running else ""
            out.append(Command(f"attach to {e.path}", f"follow its events.jsonl on Train "
                               f"({e.status})", None if why else partial(app.attach, e.path),
                               why))
    out += [
        Command("threshold +0.01", "Evaluate: raise the decision threshold",
                partial(_on_screen, app, "evaluate", "move", 1)),
        Command("threshold −0.01", "Evaluate: lower the decision threshold",
                partial(_on_screen, app, "evaluate", "move", -1)),
        Command("threshold reset", "Evaluate: Youden's J on validation (r)",
                partial(_on_screen, app, "evaluate", "reset")),
        Command("operating point: next rule", "Evaluate: Youden's J → sensitivity ≥ 0.90 → "
                "specificity ≥ 0.90 on validation (o)",
                partial(_on_screen, app, "evaluate", "operating_point")),
        Command("error gallery", "Evaluate: browse a confusion-matrix cell's images, "
                "most confident first (g)", partial(_on_screen, app, "evaluate", "gallery")),
        Command("filter grid of the run", "Train: fc1's templates after each epoch, in "
                "place of the plots (g)", partial(_on_screen, app, "train", "toggle_filters")),
        Command("filter grid of a checkpoint", "Inspect: every fc1 template of the "
                "highlighted checkpoint (f)", partial(_on_screen, app, "inspect", "filters")),
    ]
    out.append(Command("reload the active checkpoint", "read its files again (every screen "
                       "follows; changes on disk are also seen within a second)",
                       partial(_reload, app)))
    for fmt in FORMATS:
        target = export_target(st.active_checkpoint, fmt)
        why = "" if target is not None else "the root folder has no sibling to write to"
        out.append(Command(f"export active checkpoint ({fmt})", f"write it to {target}",
                           None if why else partial(_export, app, fmt, target), why))
    out += [Command("help", "keys and screens (?)", app.action_help),
            Command("quit", "quit (asks first while a run is in progress)",
                    app.action_request_quit)]
    return out


class ChexminiCommands(Provider):
    """The app's actions for the command palette."""

    async def discover(self) -> Hits:
        for c in app_commands(self.app):
            if c.run is not None:
                yield DiscoveryHit(Content(c.title), c.run, text=c.title, help=esc(c.help))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for c in app_commands(self.app):
            score = matcher.match(c.title)
            if score <= 0:
                continue
            if c.run is not None:
                yield Hit(score, matcher.highlight(c.title), c.run, text=c.title,
                          help=esc(c.help))
            else:
                note = f"not now: {c.why_not}"
                yield Hit(score * 0.5, matcher.highlight(f"{c.title} — {note}"),
                          partial(self.app.notify, f"{c.title}: {note}", severity="warning",
                                  markup=False),
                          text=c.title, help=esc(c.help))
