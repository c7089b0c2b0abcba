"""The run-folder policy: one writer at a time, nothing of a run deleted by accident.

- **One writer.** A trainer holds an exclusive ``flock`` on ``RUN/.chexmini.lock`` (which
  records its PID) for its whole life; every other writer is refused with one line naming
  that PID. The kernel releases the lock when the owner dies, so the lock of a killed
  process is simply taken over. Readers (``chexmini-tui --attach``) never lock.
- **Nothing lost.** A new run is refused in a folder that holds any artifact,
  ``resume.npz`` or ``events.jsonl`` unless ``overwrite``; with ``overwrite`` only the old
  resume state and event log go at the start — the old checkpoint stays loadable until
  the new artifacts replace it.
- **Clear errors.** A folder that cannot be created (read-only, a path component is a
  file, a name too long, a dangling symbolic link) is one line naming the path.

:func:`claim` is what :func:`core.training.train.train` calls (under the lock, before anything in
the folder is touched); :func:`check_can_start` is the same policy, checked early by the
front ends so that they fail before loading any data.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import time
from pathlib import Path

from core.foundation import safe_io
from core.foundation.atomic import remove_stale_temps
from core.foundation.errors import ChexminiError
from core.runs import layout
from core.runs.release.shipped import refuse_shipped

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no locking available
    fcntl = None

#: How long an acquirer retries a lock held only briefly (e.g. by a checker's probe).
_RETRY_FOR = 0.25


class RunFolderBusy(ChexminiError):
    """Another live process trains in this folder."""

    def __init__(self, out: Path, pid: int | None) -> None:
        self.pid = pid
        who = f"PID {pid}" if pid else "PID unknown"
        super().__init__(f"in use by another training process ({who}); wait for it to "
                         f"finish, or follow (and pause, save or stop) it with: "
                         f"chexmini-tui --attach {out}",
                         out)


# -- creating the folder -----------------------------------------------------------------
def _file_component(out: Path) -> Path | None:
    for p in (*reversed(out.parents), out):
        if p.exists() and not p.is_dir():
            return p
    return None


def _refuse_dangling_link_or_file(out: Path) -> None:
    """``out`` may be missing or a folder: a link to nothing, or a file, is one line."""
    if out.is_symlink() and not out.exists():
        raise ChexminiError(f"is a symbolic link to a missing target ({os.readlink(out)})",
                            out)
    if out.exists() and not out.is_dir():
        raise ChexminiError("output path exists and is not a directory", out)


def ensure_dir(out: Path) -> Path:
    """Create ``out`` (and its parents); every failure is one line naming the path."""
    try:
        _refuse_dangling_link_or_file(out)
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _creation_error(out, exc) from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise ChexminiError("the run folder is not writable", out)
    return out


def check_creatable(out: Path) -> None:
    """What :func:`ensure_dir` would refuse, checked without creating anything."""
    try:
        _refuse_dangling_link_or_file(out)
        if out.exists():
            return
        base = next((p for p in out.absolute().parents if p.exists()), Path("/"))
    except OSError as exc:
        raise _creation_error(out, exc) from None
    if not base.is_dir():
        raise ChexminiError(f"cannot create the run folder: {base} is a file, not a folder",
                            out)
    try:
        limit = os.pathconf(base, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    if any(len(os.fsencode(part)) > limit for part in out.parts):
        raise _creation_error(out, OSError(errno.ENAMETOOLONG, "File name too long"))
    if not os.access(base, os.W_OK | os.X_OK):
        raise ChexminiError(f"cannot create the run folder ({base} is not writable)", out)


def _creation_error(out: Path, exc: OSError) -> ChexminiError:
    if exc.errno == errno.ENOTDIR or isinstance(exc, FileExistsError):
        bad = _file_component(out)
        if bad is not None:
            return ChexminiError(f"cannot create the run folder: {bad} is a file, not a "
                                 "folder", out)
    if exc.errno == errno.ENAMETOOLONG:
        longest = max((len(part) for part in out.parts), default=0)
        return ChexminiError(f"cannot create the run folder: a name is too long "
                             f"({longest} characters)", out)
    return ChexminiError(f"cannot create the run folder ({exc.strerror or exc})", out)


# -- the lock ----------------------------------------------------------------------------
#: a lock file holds one PID and a newline; anything longer is not ours
_PID_BYTES = 32


def _read_pid(path: Path) -> int | None:
    """The PID written in the lock file (never follows a link, never blocks, bounded)."""
    for _ in range(5):  # the owner writes its PID right after locking
        with contextlib.suppress(ChexminiError, OSError, ValueError):
            return int(safe_io.read_bytes(path, _PID_BYTES, follow=False).strip())
        time.sleep(0.01)
    return None


class RunLock:
    """The exclusive lock on a run folder, held from :meth:`acquire` to :meth:`release`."""

    def __init__(self, out: Path, fd: int | None) -> None:
        self.out, self._fd = out, fd

    @classmethod
    def acquire(cls, out: Path) -> RunLock:
        """Lock ``out`` (an existing folder) or raise :class:`RunFolderBusy`."""
        if fcntl is None:  # pragma: no cover
            return cls(out, None)
        path = out / layout.LOCK
        deadline = time.monotonic() + _RETRY_FOR
        while True:
            fd = _try_lock(path)
            if fd is not None:
                break
            if time.monotonic() >= deadline:
                raise RunFolderBusy(out, _read_pid(path))
            time.sleep(0.02)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        return cls(out, fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Remove the lock file (and any control request left for this run) and unlock
        (idempotent)."""
        if self._fd is None:
            return
        for name in (layout.CONTROL, layout.LOCK):
            with contextlib.suppress(OSError):
                os.unlink(self.out / name)
        os.close(self._fd)
        self._fd = None


def _try_lock(path: Path) -> int | None:
    """An fd holding the exclusive lock on ``path``, or ``None`` if someone else holds it.
    Retries when the file was replaced in between (a releasing owner unlinks it)."""
    while True:
        fd = safe_io.open_fd(path, os.O_RDWR | os.O_CREAT, follow=False, mode=0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def owner_pid(out: Path) -> int | None:
    """The PID of the live process training in ``out``; ``None`` when the folder is free
    (no lock file, or the lock of a process that died). ``0`` if the PID is unreadable.

    A lock file that is not ours to trust (a symbolic link, a FIFO, a directory, one we
    may not open) raises a one-line :class:`ChexminiError`; it is never followed, never
    blocks and is never taken for "no lock"."""
    if fcntl is None:  # pragma: no cover
        return None
    path = out / layout.LOCK
    try:
        fd = safe_io.open_fd(path, follow=False)
    except ChexminiError:
        if not os.path.lexists(path):
            return None
        raise
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return _read_pid(path) or 0
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def ensure_free(out: Path) -> None:
    """Raise :class:`RunFolderBusy` when a live process trains in ``out``."""
    pid = owner_pid(out)
    if pid is not None:
        raise RunFolderBusy(out, pid or None)


# -- the policy --------------------------------------------------------------------------
def held_files(out: Path) -> list[str]:
    """The run files present in ``out``."""
    return [f for f in layout.RUN_FILES if (out / f).exists()]


def check_new_run(out: Path, overwrite: bool) -> None:
    """Refuse to start a new run over one that is there, unless ``overwrite``."""
    held = held_files(out) if out.is_dir() else []
    if held and not overwrite:
        shown = ", ".join(held[:4]) + (", …" if len(held) > 4 else "")
        way = (f"continue it with: chexmini train --resume {out}; or start again there "
               "with --overwrite" if layout.RESUME in held
               else "start again there with --overwrite")
        raise ChexminiError(f"already holds a run ({shown}); {way}, or choose another "
                            "output folder", out)


def _prepare(out: Path, resume: bool) -> None:
    """A resumed run's folder must exist; a new run's folder is created."""
    if not resume:
        ensure_dir(out)
    elif not out.is_dir():
        raise ChexminiError("no resume checkpoint here (nothing to resume)", out / layout.RESUME)


def _check_policy(out: Path, resume: bool, overwrite: bool) -> None:
    refuse_shipped(out, "training into it")
    if not resume:
        check_new_run(out, overwrite)
    elif not (out / layout.RESUME).exists():
        raise ChexminiError("no resume checkpoint here (nothing to resume)", out / layout.RESUME)


def check_can_start(out: str | os.PathLike[str], *, resume: bool = False,
                    overwrite: bool = False) -> Path:
    """The checks of :func:`claim` without taking the lock or creating anything (a front
    end's early check, before it loads data); :func:`claim` checks again."""
    out = Path(out)
    if resume:
        _prepare(out, resume)
    else:
        check_creatable(out)
    if out.is_dir():
        ensure_free(out)
        _check_policy(out, resume, overwrite)
    return out


def _remove_stale_request(out: Path) -> None:
    """A control request left by an earlier run is not for this one (a directory in its
    place is left for the driver to report)."""
    path = out / layout.CONTROL
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)


def claim(out: str | os.PathLike[str], *, resume: bool = False,
          overwrite: bool = False) -> RunLock:
    """Take ``out`` for a trainer: create it, lock it, apply the policy, then remove what
    a new run replaces (``overwrite``: the old resume state and event log) and the temp
    files of a process killed mid-write. Release the returned lock when training ends."""
    out = Path(out)
    _prepare(out, resume)
    lock = RunLock.acquire(out)
    try:
        _check_policy(out, resume, overwrite)
        if not resume:
            for name in (layout.RESUME, layout.EVENTS):  # artifacts stay until replaced
                (out / name).unlink(missing_ok=True)
        _remove_stale_request(out)
        remove_stale_temps(out)
    except OSError as exc:
        lock.release()
        raise ChexminiError(f"cannot clean the run folder ({exc.strerror or exc})", out) from None
    except BaseException:
        lock.release()
        raise
    return lock


def why_not_deletable(out: str | os.PathLike[str], root: str | os.PathLike[str]) -> str:
    """Why :func:`delete_run` would refuse ``out`` before looking at its lock ("" when it
    would go on): a link, not a folder, not directly in ``root``, or no run files in it."""
    out, root = Path(out), Path(root)
    if out.is_symlink():
        return "is a symbolic link; not deleted (remove the link itself)"
    if not out.is_dir():
        return "folder not found"
    if out.resolve().parent != root.resolve():
        return f"only a run folder directly in {root} is deleted here"
    if not any(os.path.lexists(out / name) for name in layout.RUN_FILES):
        return "holds no run files; not deleted"
    return ""


def delete_run(out: str | os.PathLike[str], root: str | os.PathLike[str]) -> None:
    """Delete the run folder ``out`` for good. It must be a real folder (not a link)
    directly in ``root``, hold at least one run file, and have no live trainer: its lock
    is taken first (:class:`RunFolderBusy` otherwise), then the folder is renamed out of
    the way (so a half-deleted run is never listed) and removed."""
    out, root = Path(out), Path(root)
    problem = why_not_deletable(out, root)
    if problem:
        raise ChexminiError(problem, out)
    lock = RunLock.acquire(out)
    grave = out.with_name(f".deleting-{out.name}-{os.getpid()}")
    try:
        os.rename(out, grave)
    except OSError as exc:
        lock.release()
        raise ChexminiError(f"cannot delete ({exc.strerror or exc})", out) from None
    try:
        shutil.rmtree(grave)
    except OSError as exc:
        raise ChexminiError(f"deleted in part; the rest is in {grave.name} "
                            f"({exc.strerror or exc})", out) from None
    finally:
        lock.release()
