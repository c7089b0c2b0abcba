"""Steering a run from any terminal: pause, resume, save and stop requests.

The process that trains owns its run folder (:mod:`core.runs.folder`: it holds the lock,
whose file records its PID). Another process of the same user asks it for something by
writing one small request, atomically, to ``RUN/.chexmini.control.json`` (:func:`send`):
``{"action": "pause", "id": "…", "uid": 1000, "pid": 4242}``. A new request replaces one
not yet read (the latest wins: a pause then a resume is a resume).

Why a file and not signals: it names what is asked (four actions, where SIGSTOP would
freeze the process and SIGUSR1/2 are two), carries who asked, works the same between two
app instances and from the command line, needs no process to be found by name, and is
refused by the kernel for a user who may not write the folder.

Whoever drives the training generator — ``chexmini train`` and the app's worker — keeps
one :class:`Steering` and calls :meth:`Steering.check` between two ``next()`` calls
(rate-limited to a ``stat`` every :data:`POLL_EVERY` seconds). It applies the driver's own
requests (:meth:`Steering.request`, any thread) and the file's, and answers each with a
:class:`~core.events.ControlDone` written to ``events.jsonl``, which is how an attached
app sees the effect. While paused the driver stops pulling the generator and waits, still
checking (:meth:`Steering.wait_tick`). ``save`` writes the resume state at
once, paused or not (every point between two events is consistent: see
:mod:`core.training.train`); ``stop`` is :meth:`TrainControl.stop`, the clean early finish
(asked by another process before the first epoch ended — when it could only fail with
nothing saved — it is refused, saying so).

A request file that is not a small regular JSON file of this user (a symbolic link, a
FIFO, a directory, huge, bad JSON, another uid) is never followed or blocked on; it is
answered once with a refused :class:`~core.events.ControlDone` naming the problem.
"""

from __future__ import annotations

import os
import queue
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from core.events import ControlDone, Event
from core.foundation import atomic, safe_io
from core.foundation.errors import ChexminiError
from core.runs import layout
from core.runs.folder import owner_pid
from core.runs.status import run_status
from core.training.train import TrainControl

ACTIONS = ("pause", "resume", "save", "stop")
#: a request is a few dozen bytes; anything larger is not one
MAX_REQUEST_BYTES = 4096
#: seconds between two looks at the request file (a ``stat``) while training
POLL_EVERY = 0.1
#: seconds between two looks while paused
PAUSED_TICK = 0.05


@dataclass(frozen=True)
class Request:
    """One request: what, its id, and the uid and PID of the process that asked."""

    action: str
    id: str
    uid: int
    pid: int


# -- the requester's side --------------------------------------------------------------------
def control_problem(run_dir: str | os.PathLike[str]) -> str | None:
    """Why this process cannot steer the run in ``run_dir`` (one line), or ``None`` when
    it can: a live process of this user holds the folder's lock and the folder is
    writable."""
    out = Path(run_dir)
    if not out.is_dir():
        return "run folder not found"
    try:
        pid = owner_pid(out)
    except ChexminiError as exc:
        return str(exc)
    if pid is None:
        return _not_running(out)
    try:
        uid = os.stat(out / layout.LOCK, follow_symlinks=False).st_uid
    except OSError:
        return None if pid else "the run's lock file is gone"
    if uid != os.getuid():
        return (f"trained by another user (uid {uid}); only that user can pause, save or "
                "stop it")
    if not os.access(out, os.W_OK | os.X_OK):
        return "the run folder is not writable by you: no request can be left there"
    return None


def _not_running(out: Path) -> str:
    status = run_status(out)
    if status == "finished":
        return "the run has finished: nothing to pause, save or stop"
    if status == "interrupted" and (out / layout.RESUME).exists():
        return f"not running (no live process holds its lock); continue it with: " \
               f"chexmini train --resume {out}"
    return "not running (no live process holds its lock)"


def send(run_dir: str | os.PathLike[str], action: str) -> Request:
    """Ask the process training in ``run_dir`` to ``pause``, ``resume``, ``save`` or
    ``stop``; a :class:`ChexminiError` (one line) says why it cannot be asked. Its answer
    is a ``control`` event in the run's ``events.jsonl``."""
    if action not in ACTIONS:
        raise ChexminiError(f"unknown request {action!r} (one of {', '.join(ACTIONS)})")
    out = Path(run_dir)
    problem = control_problem(out)
    if problem is not None:
        raise ChexminiError(problem, out)
    req = Request(action, uuid.uuid4().hex[:12], os.getuid(), os.getpid())
    atomic.write_json(out / layout.CONTROL, asdict(req))
    return req


def read_request(path: str | os.PathLike[str]) -> Request:
    """The request in ``path``; a :class:`ChexminiError` naming the problem when it is not
    a small regular JSON file written by this user holding a known action."""
    with safe_io.open_regular(path, follow=False) as fh:
        owner = os.fstat(fh.fileno()).st_uid
        data = fh.read(MAX_REQUEST_BYTES + 1)
    if len(data) > MAX_REQUEST_BYTES:
        raise ChexminiError(f"file is larger than {MAX_REQUEST_BYTES:,} bytes; refused", path)
    d = safe_io.parse_json(data, path)
    if not isinstance(d, dict) or d.get("action") not in ACTIONS:
        raise ChexminiError("not a request (no known action)", path)
    uid, pid, rid = d.get("uid"), d.get("pid"), d.get("id")
    if not (type(uid) is int and type(pid) is int and isinstance(rid, str) and len(rid) < 64):
        raise ChexminiError("not a request (uid, pid or id missing)", path)
    if owner != os.getuid() or uid != os.getuid():
        raise ChexminiError(f"written by another user (uid {owner}); refused", path)
    return Request(d["action"], rid, uid, pid)


# -- the driver's side ----------------------------------------------------------------------
class Steering:
    """The pause/resume/save/stop requests of one run, from this process or another, as
    seen by whoever drives its generator (see the module docstring)."""

    def __init__(self, control: TrainControl, out: str | os.PathLike[str] | None,
                 poll_every: float = POLL_EVERY) -> None:
        self.control = control
        self.path = None if out is None else Path(out) / layout.CONTROL
        self.poll_every = poll_every
        self.paused = False
        self.paused_by = ""
        self._local: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._seen: tuple | None = None    # the request file last read (ino, mtime, size)
        self._next_poll = 0.0

    def request(self, action: str) -> None:
        """This process's own request (from any thread), applied at the next check."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        self._local.put(action)

    def check(self, *, force: bool = False) -> list[ControlDone]:
        """Apply what was asked since the last check (call between two ``next()`` calls
        of the generator, from the thread that pulls it); the answers, as logged."""
        done = []
        while not self._local.empty():
            done.append(self._apply(self._local.get(), "", "here"))
        now = time.monotonic()
        if self.path is not None and (force or now >= self._next_poll):
            self._next_poll = now + self.poll_every
            got = self._poll_file()
            if got is not None:
                done.append(got)
        return done

    def wait_tick(self) -> list[ControlDone]:
        """While paused: sleep one tick, then check (the answers)."""
        time.sleep(PAUSED_TICK)
        return self.check(force=True)

    def _poll_file(self) -> ControlDone | None:
        try:
            st = os.stat(self.path, follow_symlinks=False)
        except OSError:
            return None
        seen = (st.st_ino, st.st_mtime_ns, st.st_size, st.st_mode)
        if seen == self._seen:
            return None
        self._seen = seen
        try:
            req = read_request(self.path)
        except (ChexminiError, OSError) as exc:
            return self._answer("?", "", "?", False, f"request ignored: {exc}")
        return self._apply(req.action, req.id, f"pid {req.pid}")

    def _apply(self, action: str, rid: str, by: str) -> ControlDone:
        control = self.control
        if action == "pause":
            detail = "already paused" if self.paused else "paused"
            self.paused, self.paused_by = True, by
        elif action == "resume":
            detail = "resumed" if self.paused else "not paused"
            self.paused = False
        elif action == "save":
            saved = control.saver() if control.saver is not None else None
            if saved is None:
                control.save_now()
                detail = "the resume state will be written at the next step"
            else:
                detail = f"resume state saved at epoch {saved.epoch} + {saved.step} steps"
        elif by != "here" and control.run is not None and control.run.best_epoch == 0:
            # from afar, a stop that could only fail (nothing to save yet) is refused
            return self._answer(action, rid, by, False, "no epoch has finished yet: "
                                "nothing to stop with; ask again after epoch 1")
        else:
            control.stop()
            self.paused = False
            detail = "stopping: best checkpoint, test scores, artifacts"
        return self._answer(action, rid, by, True, detail)

    def _answer(self, action: str, rid: str, by: str, ok: bool, detail: str) -> ControlDone:
        ev = ControlDone(action, rid, by, ok, detail, self.control.global_step)
        if self.control.record is not None:
            self.control.record(ev)
        return ev


def steered(gen: Iterator[Event], steering: Steering,
            quit: Callable[[], bool] = lambda: False) -> Iterator[Event]:
    """``gen``'s events with the steering's answers among them; while paused, nothing is
    pulled from ``gen`` (it waits, checking every :data:`PAUSED_TICK` seconds)."""
    for ev in gen:
        yield ev
        yield from steering.check()
        while steering.paused and not quit():
            yield from steering.wait_tick()
