"""``ActiveCheckpoint``: the active checkpoint as the app holds it — its path, the loaded
:class:`core.runs.checkpoint.Checkpoint` (or why it could not be loaded) and a
fingerprint of its files.

It is the ``active`` part of :class:`chexmini_tui.app_state.AppState`. Every screen that
uses a model or a threshold takes them from here (``app.state.active``), and each load is
a new value (compared by identity), so a screen knows what it drew from by keeping the
value it drew. The app compares :attr:`ActiveCheckpoint.fingerprint` with the files on
disk every second and loads the folder again when they changed (``chexmini evaluate
--save`` in another terminal rewrites ``metrics.json``): the screens then redraw with
the new threshold.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from core.foundation.errors import ChexminiError
from core.runs import layout as files
from core.runs.checkpoint import Checkpoint, load_checkpoint
from core.runs.release.shipped import checkpoint_label

#: The files whose change means the checkpoint must be read again: the model, the
#: metrics (threshold, operating point) and the saved scores Evaluate and the gallery use.
WATCHED = (files.MODEL, files.METRICS, files.VAL_SCORES, files.VAL_LABELS,
           files.TEST_SCORES, files.TEST_LABELS)

Fingerprint = tuple[tuple[str, int, int] | None, ...]


def fingerprint(path: str | os.PathLike[str]) -> Fingerprint:
    """``(name, mtime_ns, size)`` of each :data:`WATCHED` file of ``path`` (None when it
    is missing): a few ``stat`` calls, cheap enough to repeat every second."""
    folder = Path(path)
    if folder.is_file():       # a model.npz given for its folder
        folder = folder.parent
    out = []
    for name in WATCHED:
        try:
            st = (folder / name).stat()
        except OSError:
            out.append(None)
        else:
            out.append((name, st.st_mtime_ns, st.st_size))
    return tuple(out)


@dataclass(frozen=True, eq=False)
class ActiveCheckpoint:
    """One load of the active checkpoint folder ``path``.

    ``checkpoint`` is None when it could not be loaded (``error`` says why) or while it
    is still being read (:attr:`loading`, made by :func:`pending`). Equality is
    identity: loading the same folder again gives a different value. ``lock`` serialises
    the model's forward/backward passes (they keep per-call caches in the model), which
    several screens' workers may run."""

    path: str
    checkpoint: Checkpoint | None
    error: str | None
    fingerprint: Fingerprint
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def loading(self) -> bool:
        """Still being read in the background (no checkpoint and no error yet)."""
        return self.checkpoint is None and self.error is None

    @property
    def problem(self) -> str:
        """Why there is no checkpoint to use: the load's error, or that it is loading."""
        if self.loading:
            return f"{self.path}: loading…"
        return self.error or f"{self.path}: no checkpoint"

    @property
    def threshold(self) -> float | None:
        """The active threshold (:func:`core.runs.checkpoint.active_threshold`)."""
        return None if self.checkpoint is None else self.checkpoint.threshold

    @property
    def rule(self) -> str | None:
        """How :attr:`threshold` was chosen."""
        return None if self.checkpoint is None else self.checkpoint.threshold_rule

    @property
    def label(self) -> str:
        """How the header names it (:func:`core.runs.release.shipped.checkpoint_label`:
        the path, or ``artifacts (installed)`` for the installed copy)."""
        return checkpoint_label(self.path)

    def changed_on_disk(self) -> bool:
        """The folder's files are not the ones this value was loaded from."""
        return fingerprint(self.path) != self.fingerprint


def pending(path: str | os.PathLike[str]) -> ActiveCheckpoint:
    """``path`` about to be loaded (in a thread worker): no checkpoint, no error, and a
    fingerprint that matches nothing, so the check every second never takes it as loaded."""
    return ActiveCheckpoint(str(path), None, None, ())


def load_active(path: str | os.PathLike[str]) -> ActiveCheckpoint:
    """Load the checkpoint folder ``path``; a problem becomes ``error``, never an
    exception. The fingerprint is taken first, so a file rewritten during the load is
    seen as a change at the next check."""
    path = str(path)
    seen = fingerprint(path)
    try:
        return ActiveCheckpoint(path, load_checkpoint(path), None, seen)
    except ChexminiError as exc:
        return ActiveCheckpoint(path, None, str(exc), seen)
    except Exception as exc:  # noqa: BLE001 - shown inline by the screens, never a crash
        return ActiveCheckpoint(path, None, f"{path}: cannot load ({type(exc).__name__}: "
                                            f"{exc})", seen)
