"""``TrainRunner``: drives :func:`core.training.train.train` from a Textual thread worker.

The worker thread owns the generator: it pulls events, and between two ``next()``
calls it checks for cancellation, pause, and requests for a copy of the live model
(the only moment the model is consistent). Results go to the UI with
``post_message`` — thread-safe and non-blocking, so the training loop never waits for
the UI. Events are batched: at most one message per ``STEP_INTERVAL`` (consecutive step
events collapsed to the latest), except the first and the last event of a run.

Stopping, explicitly:

- ``stop()``  → :meth:`TrainControl.stop`: the engine finishes at the next step — best
  checkpoint restored, test split scored, artifacts written, ``Finished`` yielded.
- ``abort()`` (or cancelling the worker) → ``generator.close()``: the engine stops at once
  and writes ``RUN_DIR/resume.npz``; ``chexmini train --resume RUN_DIR`` or the Train
  screen's resume key (``resume=True`` here) continues it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from textual.message_pump import MessagePump
from textual.worker import get_current_worker

from chexmini_tui.messages import TrainEvents, TrainStatus
from core.data import load_data
from core.events import StepDone
from core.foundation.config import TrainConfig
from core.foundation.errors import ChexminiError
from core.runs import layout
from core.training.train import TrainControl, load_for_resume, train

#: Seconds between two batched event messages (≤ 10 UI updates a second).
STEP_INTERVAL = 0.1
#: The worker sleeps YIELD_FOR seconds every YIELD_EVERY seconds (see ``run``).
YIELD_EVERY = 0.02
YIELD_FOR = 0.001
#: fc1 units whose templates the engine sends after each epoch (the Train screen's grid).
LIVE_TEMPLATES = 32


class TrainRunner:
    def __init__(self, config: TrainConfig | None, source: str, out_dir: str | Path,
                 target: MessagePump, *, data=None, resume: bool = False) -> None:
        self.config = config        # None when resuming: read from RUN_DIR/resume.npz
        self.resuming = resume
        self.source = source
        self.out_dir = Path(out_dir)
        self.target = target
        self.data = data            # pre-loaded DataSplits (optional)
        self.control = TrainControl()
        self.state = "idle"
        self.global_step = 0        # steps pulled so far (read by tests and the UI)
        self.result = None          # the Finished event
        self.error: str | None = None
        self._go = threading.Event()
        self._go.set()
        self._abort = False
        self._snap_req = threading.Event()
        self._snap_ready = threading.Event()
        self._snap = None
        self._done = threading.Event()
        #: perf_counter() when RunStarted and the latest EpochEnd were pulled (benchmark)
        self.t_started: float | None = None
        self.t_last_epoch: float | None = None

    # -- requests from the UI thread ------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.state in ("loading", "running", "paused", "stopping")

    @property
    def paused(self) -> bool:
        return not self._go.is_set()

    def pause(self) -> None:
        self._go.clear()

    def resume(self) -> None:
        self._go.set()

    def stop(self) -> None:
        """Finish cleanly (artifacts written) at the next step."""
        self.control.stop()
        if self.active:
            self._status("stopping", "finishing: best checkpoint, test scores, artifacts")
        self._go.set()

    def save_now(self) -> None:
        """Write ``resume.npz`` at the next step."""
        self.control.save_now()

    def abort(self) -> None:
        """Stop at once; the engine writes ``resume.npz`` (resumable)."""
        self._abort = True
        self._go.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def live_model_copy(self, timeout: float = 30.0):
        """A float64 copy of the live model and its ``(mean, std)``, taken by the training
        thread between two steps; ``None`` when no run is in progress. Call from a thread
        other than the training thread (e.g. the gradient-check worker)."""
        if not self.active or self.control.model is None:
            return None
        self._snap_ready.clear()
        self._snap_req.set()
        if not self._snap_ready.wait(timeout):
            return None
        return self._snap

    def _service_snapshot(self) -> None:
        if self._snap_req.is_set() and self.control.model is not None:
            self._snap_req.clear()
            mean, std = self.control.norm
            self._snap = (self.control.model.astype("float64"), mean.copy(), std.copy())
            self._snap_ready.set()

    # -- the worker body ----------------------------------------------------------------
    def _status(self, state: str, detail: str = "") -> None:
        self.state = state
        self.target.post_message(TrainStatus(state, detail))

    def run(self) -> None:
        """Runs in the worker thread."""
        worker = get_current_worker()
        post = self.target.post_message
        gen = None
        pending: list = []      # events not yet posted; consecutive steps collapsed
        n_steps = 0
        last_post = 0.0
        last_yield = time.perf_counter()

        def flush() -> None:
            nonlocal pending, n_steps, last_post
            if pending:
                post(TrainEvents(pending, n_steps))
            pending, n_steps = [], 0
            last_post = time.perf_counter()

        try:
            if self.resuming:
                self._status("loading", f"loading the interrupted run in {self.out_dir}")
                self.config, self.data = load_for_resume(self.out_dir)
            elif self.data is None:
                self._status("loading", f"loading data: {self.source}")
                self.data = load_data(self.source, image_size=self.config.image_size)
            gen = train(self.config, self.data, self.out_dir, control=self.control,
                        resume=self.resuming, templates=LIVE_TEMPLATES)
            self._status("running")
            while True:
                if worker.is_cancelled or self._abort:
                    flush()
                    break
                if not self._go.is_set():
                    flush()
                    self._status("paused", f"paused at step {self.global_step}")
                    while not self._go.is_set() and not worker.is_cancelled:
                        self._service_snapshot()
                        self._go.wait(0.05)
                    if not (worker.is_cancelled or self._abort):
                        self._status("stopping" if self.control.stop_requested else "running")
                    continue
                try:
                    ev = next(gen)
                except StopIteration:
                    break
                # Let the UI thread run: with small models a step is mostly Python holding
                # the GIL, and the UI (which needs the GIL at every wake-up) would crawl.
                # A 1 ms sleep every YIELD_EVERY seconds costs ≤ 5 % in the worst case and
                # ~1 % with realistic steps (which release the GIL inside BLAS anyway).
                now = time.perf_counter()
                if now - last_yield >= YIELD_EVERY:
                    time.sleep(YIELD_FOR)
                    last_yield = time.perf_counter()
                self._service_snapshot()
                if isinstance(ev, StepDone):
                    self.global_step = ev.global_step
                    n_steps += 1
                    if pending and isinstance(pending[-1], StepDone):
                        pending[-1] = ev        # only the latest step matters to the UI
                    else:
                        pending.append(ev)
                else:
                    if ev.kind == "epoch":
                        self.t_last_epoch = time.perf_counter()
                    elif ev.kind == "run_started":
                        self.t_started = time.perf_counter()
                    elif ev.kind == "finished":
                        self.result = ev
                    pending.append(ev)
                if ev.kind in ("run_started", "finished") or \
                        time.perf_counter() - last_post >= STEP_INTERVAL:
                    flush()
            flush()
            gen.close()
            if self.result is not None:
                self._status("finished", f"artifacts in {self.out_dir}")
            else:
                saved = (self.out_dir / layout.RESUME).is_file()
                self._status("aborted", f"resume state saved: chexmini train --resume "
                                        f"{self.out_dir}" if saved else "nothing saved")
        except ChexminiError as exc:
            flush()
            self.error = str(exc)
            self._status("error", str(exc))
        except Exception as exc:  # never a traceback in the UI
            flush()
            self.error = f"{type(exc).__name__}: {exc}"
            self._status("error", self.error)
        finally:
            if gen is not None:
                try:
                    gen.close()
                except Exception:  # noqa: BLE001 - closing must not raise into the UI
                    pass
            self._snap_ready.set()
            self._done.set()
