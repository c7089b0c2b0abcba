"""Resumable, verified downloads (standard library only) and the ChestMNIST catalogue.

:func:`download_file` writes to ``DEST.part``; an interrupted download (cut connection,
Ctrl-C, crash) keeps the partial file and the next call asks the server for the rest
with an HTTP ``Range`` request (a server that ignores it is handled: the download starts
over). A cut connection is retried ``retries`` times (each resuming). The finished file
is checked against its MD5 and only then renamed to ``DEST``; a mismatch deletes it.
Being offline (DNS failure, connection refused, timeout) is one clear
:class:`ChexminiError`.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from core import __version__
from core.data.cache import data_home
from core.data.chestmnist import FILES
from core.foundation.errors import ChexminiError

ZENODO = "https://zenodo.org/records/10519652/files/{file}?download=1"
CHESTMNIST_FILES = FILES
CHESTMNIST_MD5 = {28: "02c8a6516a18b556561a56cbdd36c4a8",
                  64: "9de6cd0b934ebb5b7426cfba5efbae16",
                  128: "db107e5590b27930b62dbaf558aebee3",
                  224: "45bd33e6f06c3e8cdb481c74a89152aa"}
CHESTMNIST_BYTES = {64: 401_604_127}
CHUNK = 1 << 20


@dataclass
class DownloadProgress:
    done: int                 # bytes on disk so far
    total: int | None         # expected size, when known
    stage: str = "download"   # "download", "verify", "done"
    resumed_from: int = 0
    message: str = ""


ProgressFn = Callable[[DownloadProgress], None]


def file_md5(path: Path, progress: ProgressFn | None = None) -> str:
    h = hashlib.md5()
    size = path.stat().st_size
    done = 0
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK * 4):
            h.update(block)
            done += len(block)
            if progress is not None:
                progress(DownloadProgress(done, size, "verify"))
    return h.hexdigest()


def _mb(n: int | None) -> str:
    return "?" if n is None else f"{n / 1e6:,.1f} MB"


def _offline(url: str, reason: object, part: Path) -> ChexminiError:
    host = urlsplit(url).hostname or url
    if isinstance(reason, socket.gaierror):
        why = "the host name could not be resolved"
    elif isinstance(reason, ConnectionRefusedError):
        why = "the connection was refused"
    elif isinstance(reason, TimeoutError):
        why = "the connection timed out"
    else:
        why = str(reason) or type(reason).__name__
    kept = (f"; the partial download ({_mb(part.stat().st_size)}) is kept and resumes next "
            "time" if part.is_file() and part.stat().st_size else "")
    return ChexminiError(f"cannot reach {host} ({why}) — are you offline?{kept}", url)


class _Cut(Exception):
    """The connection ended before the whole file arrived."""


def _fetch_once(url: str, part: Path, expected_size: int | None, timeout: float,
                progress: ProgressFn | None) -> int | None:
    """One request, appending to ``part``; returns the total size (if known)."""
    have = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": f"chexmini/{__version__}"}
    if have:
        headers["Range"] = f"bytes={have}-"
    req = urllib.request.Request(url, headers=headers)
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 - http(s) only
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:     # nothing left to send: the part is complete
            return have
        raise ChexminiError(f"download failed: HTTP {exc.code} {exc.reason}", url) from None
    except urllib.error.URLError as exc:
        raise _offline(url, exc.reason, part) from None
    except (TimeoutError, ConnectionError) as exc:
        raise _offline(url, exc, part) from None
    with resp:
        total: int | None = None
        start = 0
        if have and resp.status == 206:
            m = re.match(r"bytes (\d+)-(\d+)/(\d+|\*)", resp.headers.get("Content-Range", ""))
            if not m or int(m.group(1)) != have:
                part.unlink(missing_ok=True)   # a range we did not ask for: start over
                raise _Cut(f"unexpected Content-Range {resp.headers.get('Content-Range')!r}")
            start = have
            total = int(m.group(3)) if m.group(3) != "*" else None
        length = resp.headers.get("Content-Length")
        if total is None and length is not None and length.isdigit():
            total = start + int(length)
        if total is None:
            total = expected_size
        if expected_size is not None and total is not None and total != expected_size:
            raise ChexminiError(f"the server offers {total:,} bytes but the file should have "
                                f"{expected_size:,}; not downloading", url)
        done = start
        with open(part, "ab" if start else "wb") as fh:
            if progress is not None:
                progress(DownloadProgress(done, total, "download", start))
            while True:
                try:
                    block = resp.read(CHUNK)
                except (http.client.IncompleteRead, ConnectionError, TimeoutError,
                        OSError) as exc:
                    raise _Cut(f"{type(exc).__name__}: {exc}") from None
                if not block:
                    break
                try:
                    fh.write(block)
                except OSError as exc:
                    raise ChexminiError(f"cannot write the download ({exc.strerror or exc})",
                                        part) from None
                done += len(block)
                if progress is not None:
                    progress(DownloadProgress(done, total, "download", start))
        if total is not None and done < total:
            raise _Cut(f"connection closed at {done:,} of {total:,} bytes")
        return total


def download_file(url: str, dest: str | os.PathLike[str], md5: str | None = None, *,
                  expected_size: int | None = None, progress: ProgressFn | None = None,
                  timeout: float = 30.0, retries: int = 3) -> Path:
    """Download ``url`` to ``dest`` (resuming ``dest.part``), verify ``md5``; see the
    module docstring. An existing ``dest`` with the right MD5 is kept as it is."""
    dest = Path(dest).expanduser()
    part = dest.with_name(dest.name + ".part")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ChexminiError(f"cannot create the folder ({exc.strerror or exc})",
                            dest.parent) from None
    if dest.is_file():
        if md5 is None or file_md5(dest, progress) == md5:
            if progress is not None:
                size = dest.stat().st_size
                progress(DownloadProgress(size, size, "done", message="already downloaded"))
            return dest
        dest.unlink()   # present but damaged: fetch again
    attempt = 0
    while True:
        if (expected_size is not None and part.is_file()
                and part.stat().st_size > expected_size):
            part.unlink()
        if expected_size is not None and part.is_file() and part.stat().st_size == expected_size:
            break
        try:
            _fetch_once(url, part, expected_size, timeout, progress)
            break
        except _Cut as cut:
            attempt += 1
            if attempt > retries:
                have = part.stat().st_size if part.is_file() else 0
                raise ChexminiError(f"download interrupted after {_mb(have)} ({cut}); run the "
                                    "same command again to resume", url) from None
    got = file_md5(part, progress)
    if md5 is not None and got != md5.lower():
        part.unlink(missing_ok=True)
        raise ChexminiError(f"MD5 mismatch: expected {md5}, got {got}; the damaged download "
                            "was deleted — run the command again", dest)
    os.replace(part, dest)
    if progress is not None:
        size = dest.stat().st_size
        progress(DownloadProgress(size, size, "done"))
    return dest


def download_chestmnist(size: int = 64, dest_dir: str | os.PathLike[str] | None = None, *,
                        url: str | None = None, progress: ProgressFn | None = None,
                        retries: int = 3, timeout: float = 30.0) -> Path:
    """Fetch ``chestmnist[_SIZE].npz`` from Zenodo (or ``url``, a mirror of the same file)
    into ``dest_dir`` (default :func:`core.data.cache.data_home`), MD5-checked."""
    if size not in CHESTMNIST_FILES:
        raise ChexminiError(f"ChestMNIST comes in sizes {', '.join(map(str, CHESTMNIST_FILES))}, "
                            f"not {size}")
    name = CHESTMNIST_FILES[size]
    dest = Path(dest_dir).expanduser() if dest_dir is not None else data_home()
    return download_file(url or ZENODO.format(file=name), dest / name, CHESTMNIST_MD5[size],
                         expected_size=CHESTMNIST_BYTES.get(size), progress=progress,
                         retries=retries, timeout=timeout)
