"""``ChexminiApp``: the screens, the global keys, the active checkpoint, quitting.

Each main screen is a Textual *mode* (its own screen stack), so a run keeps training
while you look at other screens. Keys 1–5 switch screens, ``?`` opens the help,
``q`` quits — asking first while a run is in progress (see :mod:`.screens.help`).
"""

from __future__ import annotations

from pathlib import Path

from textual.app import App

from chexmini_tui.keymap import GLOBAL_BINDINGS, MODES
from chexmini_tui.screens.help import HelpScreen
from chexmini_tui.screens.quit import QuitScreen

DEFAULT_CHECKPOINT = "artifacts"
DEFAULT_RUNS = "runs"


class ChexminiApp(App):
    CSS_PATH = "chexmini.tcss"
    TITLE = "chexmini"
    ENABLE_COMMAND_PALETTE = False

    MODES = dict(MODES)  # see chexmini_tui.keymap: the help screen lists the same tables
    BINDINGS = list(GLOBAL_BINDINGS)

    def __init__(
        self,
        *,
        checkpoint: str | None = None,
        data: str | None = None,
        attach: str | None = None,
        runs: str = DEFAULT_RUNS,
        artifacts: str = DEFAULT_CHECKPOINT,
        extra: list[str] | None = None,
        image_mode: str = "auto",
        predict_root: str | None = None,
        start: str | None = None,
        autostart: bool = False,
    ) -> None:
        super().__init__()
        self.artifacts_dir = artifacts
        self.checkpoint: str = checkpoint or artifacts
        self.data_source = data
        self.attach_dir = attach
        self.runs_dir = runs
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
        self.train_runner = None   # set by the Train screen when it starts a run
        self.train_note = ""

    @staticmethod
    def screen_classes() -> dict[str, type]:
        return dict(ChexminiApp.MODES)

    def on_mount(self) -> None:
        self.update_subtitle()
        self.switch_mode(self.start_mode)

    # -- shared state ----------------------------------------------------------------------
    def update_subtitle(self) -> None:
        parts = [f"checkpoint: {self.checkpoint}"]
        if self.train_note:
            parts.append(self.train_note)
        self.sub_title = " · ".join(parts)

    def set_checkpoint(self, path: str | Path) -> None:
        """Make ``path`` the active checkpoint (Evaluate, Predict and Gradcheck use it)."""
        self.checkpoint = str(path)
        if self.checkpoint not in self.extra_dirs:
            self.extra_dirs.append(self.checkpoint)
        self.update_subtitle()

    def set_train_note(self, note: str) -> None:
        self.train_note = note
        self.update_subtitle()

    def runner(self):
        """The live training runner, if a run is in progress in this app."""
        r = self.train_runner
        return r if r is not None and r.active else None

    # -- actions -----------------------------------------------------------------------------
    def action_show(self, mode: str) -> None:
        if self.current_mode != mode:
            self.switch_mode(mode)

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

    def run_finished(self) -> None:
        """Called by the Train screen when its run reaches a final state."""
        if self.quit_when_done:
            self.exit()
