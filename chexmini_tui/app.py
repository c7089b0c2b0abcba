"""``ChexminiApp``: the screens, the global keys, the shared state, quitting.

Each main screen is a Textual *mode* (its own screen stack), so a run keeps training
while you look at other screens. Keys 1–5 switch screens, ``?`` opens the help,
``ctrl+p`` the command palette, ``q`` quits — asking first while a run is in progress
(see :mod:`.screens.help`).

What the screens must agree on (the active checkpoint, loaded; run status, attached or
not) lives in one place, :attr:`ChexminiApp.state` (:class:`chexmini_tui.app_state.AppState`);
the header is derived from it and every main screen gets a ``StateChanged`` message. The
active checkpoint is read in a thread worker (the screens show "loading…" meanwhile), and
its files are checked every second (and when a screen shows): when they changed on disk
it is read again, and the screens redraw from the new one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from textual import work
from textual.actions import SkipAction
from textual.app import App
from textual.reactive import reactive
from textual.worker import Worker, WorkerState, get_current_worker

from chexmini_tui.active import ActiveCheckpoint, load_active, pending
from chexmini_tui.app_state import ACTIVE, AppState, StateChanged
from chexmini_tui.commands import ChexminiCommands
from chexmini_tui.keymap import GLOBAL_BINDINGS, MODES
from chexmini_tui.screens.help import HelpScreen
from chexmini_tui.screens.quit import QuitScreen
from chexmini_tui.widgets.ordered_input import OrderedInput
from chexmini_tui.widgets.path_box import PathBox
from core.runs.release.shipped import resolve_checkpoint

DEFAULT_RUNS = "runs"
#: seconds between two checks of the active checkpoint's files
CHECK_FILES = 1.0


class ChexminiApp(App):
    CSS_PATH = "chexmini.tcss"
    TITLE = "chexmini"
    COMMANDS = {ChexminiCommands}

    #: The one source of truth; replace it with :meth:`update_state` (it is immutable).
    state: reactive[AppState] = reactive(lambda: AppState(pending(resolve_checkpoint(None).path)),
                                         init=False, always_update=False)

    MODES = dict(MODES)  # see chexmini_tui.keymap: the help screen lists the same tables
    BINDINGS = list(GLOBAL_BINDINGS)

    def __init__(
        self,
        *,
        checkpoint: str | None = None,
        data: str | None = None,
        attach: str | None = None,
        runs: str = DEFAULT_RUNS,
        sweeps: str = "sweeps",
        artifacts: str | None = None,
        extra: list[str] | None = None,
        image_mode: str = "auto",
        predict_root: str | None = None,
        start: str | None = None,
        autostart: bool = False,
    ) -> None:
        super().__init__()
        shipped = resolve_checkpoint(artifacts)   # ./artifacts, else the installed copy
        self.artifacts_dir = shipped.path
        choice = resolve_checkpoint(checkpoint) if checkpoint else shipped
        self.set_reactive(ChexminiApp.state, AppState(pending(choice.path)))
        self.data_source = data
        self.runs_dir = runs
        self.sweeps_dir = sweeps     # its sweeps' trials are listed in Inspect too
        self.extra_dirs = list(extra or [])
        if checkpoint and checkpoint not in self.extra_dirs:
            self.extra_dirs.append(checkpoint)
        self.image_mode = image_mode
        self.predict_root = predict_root
        self.start_mode = start or ("train" if (attach or data or autostart) else "inspect")
        #: Start a run with the Train form's settings as soon as the Train screen shows.
        self.autostart = autostart and not attach
        self.quit_when_done = False
        self.pending_attach: str | None = attach
        self.train_runner = None   # the live run's handle, set through set_runner()
        self._loading: str | None = None   # the checkpoint path being read, if any
        self.crash_report: str | None = None  # where an unexpected error's traceback went

    def on_mount(self) -> None:
        self._load_active(self.state.active.path)
        self.update_subtitle()
        self.switch_mode(self.start_mode)
        self.set_interval(CHECK_FILES, self.check_checkpoint_files)

    # -- shared state ----------------------------------------------------------------------
    @property
    def checkpoint(self) -> str:
        """The active checkpoint (read-only; an alias of ``state.active_checkpoint``)."""
        return self.state.active_checkpoint

    def update_state(self, **changes) -> AppState:
        """Replace the state with a copy carrying ``changes``; screens are told."""
        self.state = self.state.but(**changes)
        return self.state

    def watch_state(self, new: AppState) -> None:
        self.update_subtitle()
        for mode in self.MODES:
            try:
                stack = self.get_screen_stack(mode)
            except KeyError:
                continue
            for screen in stack:
                screen.post_message(StateChanged(new))

    def update_subtitle(self) -> None:
        self.sub_title = self.state.headline()

    def set_checkpoint(self, path: str | Path) -> None:
        """Make ``path`` the active checkpoint (every screen uses it): "loading…" at once,
        the loaded value from a thread worker."""
        path = str(path)
        if path not in self.extra_dirs:
            self.extra_dirs.append(path)
        self.update_state(active=pending(path))
        self._load_active(path)

    def reload_checkpoint(self) -> None:
        """Read the active checkpoint's folder again (the screens redraw from it when it
        is loaded; until then they keep what they show); a note says what was read."""
        self._load_active(self.state.active.path, note="read again")

    def check_checkpoint_files(self) -> bool:
        """Read the active checkpoint again if its files changed on disk (a few ``stat``
        calls when they did not); True when a reload was started."""
        active = self.state.active
        if active.loading or self._loading is not None or not active.changed_on_disk():
            return False
        self._load_active(active.path, note="changed on disk")
        return True

    def _load_active(self, path: str, note: str | None = None) -> None:
        """Start reading ``path`` in a thread (a newer request supersedes it); ``note``:
        say what was read when it is done ("changed on disk: reloaded, threshold …")."""
        self._loading = path
        self._active_worker(path, note)

    @work(thread=True, exclusive=True, group="active-checkpoint", exit_on_error=False)
    def _active_worker(self, path: str, note: str | None) -> None:
        value = load_active(path)      # never raises: a problem is value.error
        if not get_current_worker().is_cancelled:
            self.call_from_thread(self._active_loaded, value, note)

    def _active_loaded(self, value: ActiveCheckpoint, note: str | None) -> None:
        """A load finished: it becomes the state unless another path was asked for since."""
        if value.path != self.state.active.path:
            return
        self._loading = None
        self.update_state(active=value)
        if note is None:
            return
        if value.checkpoint is not None:
            rule = value.rule.replace(">=", " ≥ ")
            self.notify(f"{value.path} {note}: threshold {value.threshold:.4f} ({rule})",
                        markup=False)
        else:
            self.notify(f"{value.path} {note}: {value.error}", severity="warning",
                        markup=False)

    def set_runner(self, runner) -> None:
        """A run was started (or resumed) here: remember its handle and folder."""
        self.train_runner = runner
        self.update_state(run_dir=str(runner.out_dir), attached=False,
                          run_status=runner.state if runner.state in ACTIVE else "loading")

    def set_run_status(self, status: str) -> None:
        """The run's lifecycle status (see ``app_state.RunStatus``)."""
        self.update_state(run_status=status)

    def set_attached(self, run_dir: str | Path | None) -> None:
        """Follow ``run_dir`` (attach), or stop following (``None``: detach)."""
        if run_dir is None:
            self.update_state(attached=False, run_dir=None, run_status="idle")
        else:
            self.update_state(attached=True, run_dir=str(run_dir), run_status="attached")

    def runner(self):
        """The live training runner, if the state says a run is in progress here."""
        r = self.train_runner
        return r if r is not None and self.state.running else None

    def get_system_commands(self, screen):
        """Textual's own palette commands, minus its Quit (which would not ask first)."""
        for command in super().get_system_commands(screen):
            if command.title != "Quit":
                yield command

    # -- actions -----------------------------------------------------------------------------
    def action_show(self, mode: str) -> None:
        if self.current_mode != mode:
            self.switch_mode(mode)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "leave_field":  # shown only while a text field has focus
            return _typing(self.focused)
        return True

    def action_leave_field(self) -> None:
        if _typing(self.focused):
            self.set_focus(None)

    def action_field_tab(self, step: int) -> None:
        """Tab / shift+Tab out of one of the app's text fields, at once (a priority key,
        so the keys typed after it go to the new field); elsewhere Tab is Textual's own."""
        focused = self.focused
        if not isinstance(focused, OrderedInput) or (step > 0 and isinstance(focused, PathBox)):
            raise SkipAction()          # the path box completes on Tab
        if step > 0:
            self.screen.focus_next()
        else:
            self.screen.focus_previous()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def attach(self, run_dir: str) -> None:
        """Follow ``run_dir/events.jsonl`` on the Train screen."""
        self.pending_attach = run_dir
        if self.current_mode == "train":
            self.screen.take_pending_attach()
        else:
            self.switch_mode("train")  # the screen picks it up when it shows

    def action_request_quit(self) -> None:
        runner = self.runner()
        if runner is None:
            self.exit()
            return
        if isinstance(self.screen, QuitScreen):
            return

        def decided(choice: str | None) -> None:
            runner_now = self.runner()
            if runner_now is None:
                self.exit()
            elif choice == "stop":
                self.quit_when_done = True
                runner_now.stop()
                self.notify("stopping cleanly — the app quits when the artifacts are written")
            elif choice == "abort":
                self.quit_when_done = True
                runner_now.abort()

        self.push_screen(QuitScreen(), decided)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """No worker fails silently: one that ended on an error it did not handle itself
        (each screen's workers report their own) is one inline line naming its job."""
        if event.state is WorkerState.ERROR:
            err = event.worker.error
            self.notify(f"{event.worker.group or event.worker.name} failed: "
                        f"{type(err).__name__}: {err}", severity="error", markup=False,
                        timeout=10)

    def _print_error_renderables(self) -> None:
        """An unexpected error's traceback goes to a crash report (its path is kept in
        :attr:`crash_report` for the one line ``chexmini-tui`` prints), not over the
        terminal."""
        if self._exit_renderables:
            self.crash_report = write_crash_report(list(self._exit_renderables))
            self._exit_renderables.clear()

    def run_finished(self) -> None:
        """Called by the Train screen when its run reaches a final state."""
        if self.quit_when_done:
            self.exit()


def write_crash_report(renderables: list) -> str | None:
    """Write Textual's error renderables (the traceback of an unexpected error) to a new
    private file (mode 600, never an existing path); its path, or None if it could not be
    written."""
    from rich.console import Console

    try:
        fd, path = tempfile.mkstemp(prefix="chexmini-tui-crash-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as fh:
            console = Console(file=fh, width=120, color_system=None, force_terminal=False)
            for item in renderables:
                console.print(item)
    except OSError:
        return None
    return path


def _typing(widget) -> bool:
    """``widget`` takes printable keys (a text field): global letter keys type into it."""
    return widget is not None and widget.check_consume_key("a", "a")
