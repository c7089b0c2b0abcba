"""``RunPanel``: the :class:`RunView` of the Train screen's run — a live run driven by
:class:`chexmini_tui.runner.TrainRunner` in a thread worker, or a run folder followed
in attach mode (:class:`chexmini_tui.run_files.EventFollower`, polled by a timer).

Both feed the same :class:`RunDisplayState`, so they look the same. The runner posts its
messages to this panel; :class:`TrainStatus` then bubbles on to the screen (bindings,
the form). UI cost is bounded: step messages arrive batched (≤ 10/s, merged while they
wait), and the panel draws at most 4 times a second, the plots only when an epoch
arrived, and nothing while its screen is hidden.
"""

from __future__ import annotations

from pathlib import Path

from textual import work

from chexmini_tui.exit_summary import exit_summary
from chexmini_tui.messages import TrainEvents, TrainStatus
from chexmini_tui.run_files import EventFollower, replay
from chexmini_tui.runner import TrainRunner
from chexmini_tui.state import RunDisplayState
from chexmini_tui.widgets.run_view import RunView
from core.foundation.config import TrainConfig
from core.foundation.errors import ChexminiError
from core.training.steering import control_problem, send

#: Seconds between two polls of a followed events.jsonl, and between two redraws
#: (counters, bars and log at most 4×/s; plots only when an epoch arrived).
POLL_INTERVAL = 0.5
PLOT_INTERVAL = 0.25
#: An attached run with no new event for this long is reported as possibly stopped.
STALE_AFTER = 120.0
#: Under a dialog (e.g. the quit question) the panel is redrawn once every this many
#: ticks: it keeps up with the run without re-rendering the dimmed background 4×/s.
UNDER_DIALOG_EVERY = 4


class RunPanel(RunView):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.runner: TrainRunner | None = None
        self.follower: EventFollower | None = None     # attach mode
        self.detail = ""            # the status line's second line
        self.squeezed = False       # the form hides the plots (set by the screen)
        self.detached = False
        self._ticks = 0
        #: the state a starting run will show once its RunStarted event arrives (until
        #: then the previous run stays on screen: a failed start does not wipe it)
        self._next_state: RunDisplayState | None = None
        #: why p, w and x cannot steer the followed run (``None``: they can), refreshed at
        #: each poll (a lock probe and a ``stat``)
        self.steer_problem: str | None = None
        #: a start that failed, shown by the status line until the next start or attach
        self.attempt: RunDisplayState | None = None

    def on_mount(self) -> None:
        self.set_interval(PLOT_INTERVAL, self._tick)
        self.set_interval(POLL_INTERVAL, self.poll)
        self.show_status()
        self.draw_bars(self.phase())

    # -- what is shown -------------------------------------------------------------------------
    @property
    def status(self) -> str:
        """The run status lives in the app's state (``app.state.run_status``)."""
        return self.app.state.run_status

    @status.setter
    def status(self, value: str) -> None:
        self.app.set_run_status(value)

    @property
    def running(self) -> bool:
        return self.runner is not None and self.runner.active

    @property
    def visible(self) -> bool:
        """On screen: its screen is active, or under a dialog of its own mode."""
        screen = self.screen
        return screen.is_active or (screen.is_attached and screen in self.app.screen_stack)

    def phase(self) -> str:
        """What the bars' read-outs describe: ``live``, ``paused``, ``attached``,
        ``stalled``, ``finished``, ``detached``, ``stopped`` or ``idle``."""
        if self.state.finished is not None:
            return "finished"
        if self.follower is not None:
            return "stalled" if self.follower.quiet_for() > STALE_AFTER else "attached"
        if self.running:
            return "paused" if self.status == "paused" else "live"
        if self.detached:
            return "detached"
        return "stopped" if self.state.epochs else "idle"

    # -- a live run ----------------------------------------------------------------------------
    def start(self, config: TrainConfig, source: str, out_dir: str | Path,
              data=None) -> TrainRunner:
        """Start a live run (``data``: pre-loaded DataSplits, for tests and benchmarks)."""
        self._next_state = RunDisplayState()
        return self._launch(TrainRunner(config, source, out_dir, self, data=data),
                            f"loading data: {source}")

    def resume(self, run_dir: str | Path) -> TrainRunner:
        """Resume ``run_dir``; its earlier epochs are replayed from ``events.jsonl``."""
        self._next_state = replay(run_dir)
        return self._launch(TrainRunner(None, "", Path(run_dir), self, resume=True),
                            f"resuming {run_dir}")

    def _launch(self, runner: TrainRunner, detail: str) -> TrainRunner:
        self.runner, self.attempt = runner, None
        self.app.set_runner(runner)     # the title names its folder, from the app state
        self.detached = False
        self.status, self.detail = "loading", detail
        self.show_status()
        self._train_worker(runner)
        return runner

    @work(thread=True, exclusive=True, group="train", exit_on_error=False)
    def _train_worker(self, runner: TrainRunner) -> None:
        runner.run()

    def pause(self) -> None:
        """Pause the live or followed run, or resume it if paused."""
        if self.follower is not None:
            self.steer("resume" if self.state.paused else "pause")
            return
        if not self.running:
            return
        if self.runner.paused or self.status == "paused":
            self.runner.resume()
        else:
            self.runner.pause()
            self.status, self.detail = "paused", "pausing after this step…"
            self.show_status()

    def on_train_events(self, message: TrainEvents) -> None:
        message.stop()
        if self._next_state is not None and any(
                ev.kind == "run_started" for ev in message.events):
            self.reset(self._next_state)   # the new run really started
            self._next_state = None
        self.apply(message.events)   # drawn by the next tick (≤ 1/PLOT_INTERVAL a second)

    def on_train_status(self, message: TrainStatus) -> None:
        """Show the new state (the message bubbles on to the screen)."""
        self.status, self.detail = message.state, message.detail
        self.show_status()
        if message.state not in ("finished", "aborted", "error"):
            return
        if message.state == "error" and self._next_state is not None:
            self._failed_start(message.detail)
        self._next_state = None
        self.dirty = True
        if message.state in ("error", "aborted"):
            self.note(f"{message.state}: {message.detail}")
        if message.state == "finished" and self.runner is not None:
            self.app.set_checkpoint(str(self.runner.out_dir))
            self.notify(f"run finished — {self.runner.out_dir} is now the active checkpoint",
                        markup=False)
        self.app.run_finished()

    def _failed_start(self, why: str) -> None:
        """The run failed before it started: show the attempt (its own data, the folder
        only if it exists), not the previous run."""
        attempt, runner = self._next_state, self.runner
        if not attempt.source and not attempt.out_dir:
            attempt.source = runner.source
        created = runner.out_dir.is_dir()
        attempt.out_dir = str(runner.out_dir) if created else None
        self.show_failed_start(attempt, runner.out_dir if created else None, why)

    def show_failed_start(self, attempt: RunDisplayState, run_dir: Path | None,
                          why: str) -> None:
        """Show a start that failed (in the worker, or refused before it): the status
        line names ``attempt``'s data, ``run_dir`` (``None``: no folder was created) and
        the reason, and the title follows (one state: ``app.state``); the previous run's
        plots, table and log stay below it."""
        self.attempt = attempt
        self.app.update_state(run_status="error", attached=False,
                              run_dir=None if run_dir is None else str(run_dir))
        self.detail = why
        self.show_status()

    # -- attach mode -----------------------------------------------------------------------------
    @property
    def follow(self) -> Path | None:
        """The followed ``events.jsonl`` in attach mode, else ``None``."""
        return self.follower.path if self.follower is not None else None

    def attach(self, run_dir: str | Path) -> None:
        """Follow the run in ``run_dir`` (written by another process) from its start."""
        self.reset()
        self.detached, self.attempt = False, None
        self.follower = EventFollower(run_dir)
        self.status, self.detail = "attached", f"following {self.follow}"
        self.app.set_attached(self.follower.run_dir)
        self.poll()

    def steer(self, action: str) -> None:
        """Ask the process training the followed run to ``pause``, ``resume``, ``save`` or
        ``stop`` (:func:`core.training.steering.send`); its answer arrives in the log."""
        try:
            send(self.follower.run_dir, action)
        except ChexminiError as exc:
            self.notify(str(exc), title=f"cannot {action}", severity="error", markup=False)
            return
        self.detail = f"{action}: asked the run's process; its answer shows in the log"
        self.show_status()

    def _check_steering(self) -> None:
        """Whether p, w and x can steer the followed run now; the keys follow."""
        if self.state.finished is not None:
            problem = "the run has finished: nothing to pause, save or stop"
        else:
            problem = control_problem(self.follower.run_dir)
        if problem != self.steer_problem:
            self.steer_problem = problem
            self.screen.refresh_bindings()

    def detach(self) -> None:
        """Stop following (the run itself is not affected)."""
        self.follower = None
        self.detached = True
        self.status, self.detail = "idle", "detached (the run itself is not affected)"
        self.app.set_attached(None)
        self.show_status()
        self.draw_bars(self.phase())

    def poll(self) -> None:
        """Read what the followed run appended (every ``POLL_INTERVAL`` seconds)."""
        follower = self.follower
        if follower is None:
            return
        got = follower.poll()
        if got.restarted:   # the run was restarted from scratch: start over
            self.reset()
        if got.problem:
            self.detail = got.problem
            self.show_status()
            return
        self.state.bad_lines += got.bad
        if got.events:
            self.apply(got.events)
            self.plots_dirty = True
            self.status = "finished" if self.state.finished is not None else "attached"
            self.redraw()
            self.detail = f"following {follower.path}"
        self._check_steering()
        if self.steer_problem is not None:
            self.detail = f"p w x off: {self.steer_problem}"
        elif self.state.finished is None and follower.quiet_for() > STALE_AFTER:
            self.detail = (f"no new events for {int(follower.quiet_for())} s — if the run "
                           f"stopped: chexmini train --resume {follower.run_dir}")
        self.show_status()

    # -- drawing -------------------------------------------------------------------------------
    def reset(self, state: RunDisplayState | None = None) -> None:
        super().reset(state)
        self.draw_bars(self.phase())

    def redraw(self) -> None:
        """Log, bars and status now (only marked dirty while hidden: drawn on resume).
        Under a dialog the tick draws at a lower rate (each repaint re-renders the
        dimmed background)."""
        if not self.visible:
            self.dirty = True
            return
        self.draw(self.phase())
        self.show_status()

    def show_status(self) -> None:
        if not self.visible:
            self.dirty = True
            return
        self.draw_status(self.status, self.detail, attached=self.follower is not None,
                         squeezed=self.squeezed, attempt=self.attempt)

    def _tick(self) -> None:
        """Draw what changed since the last tick: counters, bars, log lines, plots."""
        if not self.visible:
            return
        self._ticks += 1
        if not self.screen.is_active and self._ticks % UNDER_DIALOG_EVERY:
            return
        if self.dirty:
            self.redraw()
        self.draw_plots()

    def exit_summary(self, wait: float = 60.0) -> list[str]:
        """Lines for the shell once the app has exited (see
        :func:`chexmini_tui.exit_summary.exit_summary`)."""
        followed = self.follower.run_dir if self.follower is not None else None
        return exit_summary(self.state, self.runner, followed, wait)
