"""ChestMNIST (MedMNIST v2 / MedMNIST+): ``chestmnist.npz`` (28×28), ``chestmnist_64.npz``,
``chestmnist_128.npz``, ``chestmnist_224.npz``.

Arrays ``train_images`` / ``val_images`` / ``test_images`` (uint8 ``(N, S, S)``, or with a
trailing channel axis of 1 or 3) and ``*_labels`` (``(N, 14)`` 0/1 findings). Binary
label: abnormal (1) when any of the 14 findings is present. ChestMNIST's own
train/val/test split is kept (78,468 / 11,219 / 22,433 images); it carries no patient
IDs, so every image is its own group and "patients" is reported as unknown.

Sizes: images already ``image_size`` are used as they are; larger ones are reduced with
the area (BOX) filter of :func:`core.data.images.resize_area` — the filter used for every
other source. Smaller ones (the 28×28 file for a 64×64 model) are refused: upsampling
invents no detail, it only blurs, so pick the file of the model's size (e.g.
``chexmini data download chestmnist --size 64``) or train at ``--image-size 28``.

The npz is streamed (member by member, in blocks) into a memory-mappable ``.npy`` in the
cache once; later loads memory-map it.
"""

from __future__ import annotations

import json
import os
import time
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from core.data.assemble import Indexed
from core.data.cache import CODE_VERSION, BuildProgress, ProgressFn, cache_dir_for, data_home
from core.data.images import resize_area
from core.foundation.atomic import write_json, write_npy
from core.foundation.errors import ChexminiError
from core.foundation.safe_npz import check_member, check_size, memory_budget, read_header, read_npy

FILES = {28: "chestmnist.npz", 64: "chestmnist_64.npz", 128: "chestmnist_128.npz",
         224: "chestmnist_224.npz"}
SPLITS = ("train", "val", "test")
FORMAT = 1


def default_path(image_size: int) -> Path:
    """Where ``chexmini data download chestmnist --size S`` puts the file."""
    if image_size not in FILES:
        raise ChexminiError(f"ChestMNIST comes in sizes {', '.join(map(str, FILES))}; "
                            f"there is no {image_size}×{image_size} file")
    return data_home() / FILES[image_size]


def is_chestmnist_npz(path: Path) -> bool:
    """A zip/npz holding ``train_images`` and ``train_labels``."""
    try:
        with zipfile.ZipFile(path) as zf:
            members = set(zf.namelist())
    except (OSError, zipfile.BadZipFile):
        return False
    return {"train_images.npy", "train_labels.npy"} <= members


def _member_layout(fh, path: Path, member: str) -> tuple[tuple[int, ...], np.dtype]:
    shape, dtype, _ = read_header(fh, member, path)
    return shape, dtype


def _check_members(zf: zipfile.ZipFile, path: Path) -> None:
    """Each array's declared size must fit its zip member, the memory budget and a sane
    compression ratio — checked before anything is read or allocated."""
    budget = memory_budget()
    for s in SPLITS:
        for kind in ("images", "labels"):
            info = zf.getinfo(f"{s}_{kind}.npy")
            check_member(info, path)
            with zf.open(info) as fh:
                _, _, nbytes = read_header(fh, info.filename[:-4], path)
                fh_pos = fh.tell()
            check_size(info.filename[:-4], nbytes, info.file_size - fh_pos, budget, path)


def _read_labels(zf: zipfile.ZipFile, path: Path, split: str) -> np.ndarray:
    member = f"{split}_labels.npy"
    with zf.open(member) as fh:
        shape, dtype = _member_layout(fh, path, member)
        arr = np.frombuffer(fh.read(), dtype=dtype)
    if arr.size != int(np.prod(shape)):
        raise ChexminiError(f"{member} is truncated", path)
    arr = arr.reshape(shape)
    return (arr.reshape(len(arr), -1) != 0).any(axis=1).astype(np.uint8)


def _convert(path: Path, image_size: int, out_dir: Path,
             progress: ProgressFn | None) -> tuple[dict[str, int], int]:
    """Stream the npz into ``out_dir/images.npy`` + ``labels.npy``; split sizes, native S."""
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ChexminiError(f"not a readable npz file ({exc})", path) from None
    with zf:
        members = set(zf.namelist())
        need = [f"{s}_{k}.npy" for s in SPLITS for k in ("images", "labels")]
        missing = [m[:-4] for m in need if m not in members]
        if missing:
            raise ChexminiError(f"not a ChestMNIST npz: missing {', '.join(missing)}", path)
        _check_members(zf, path)
        layouts = {}
        for s in SPLITS:
            with zf.open(f"{s}_images.npy") as fh:
                layouts[s] = _member_layout(fh, path, f"{s}_images")
        for s, (shape, dtype) in layouts.items():
            ok_shape = len(shape) == 3 or (len(shape) == 4 and shape[3] in (1, 3))
            if not ok_shape or shape[1] != shape[2] or dtype != np.uint8:
                raise ChexminiError(f"{s}_images must be uint8 (N, S, S[, 1|3]), got "
                                    f"{dtype} {shape}", path)
        native = layouts["train"][0][1]
        if any(sh[1] != native for sh, _ in layouts.values()):
            raise ChexminiError("train/val/test images differ in size", path)
        if native < image_size:
            other = (f"the {image_size} px file (chexmini data download chestmnist --size "
                     f"{image_size}) or " if image_size in FILES else "")
            raise ChexminiError(
                f"this ChestMNIST file holds {native}×{native} images but the model needs "
                f"{image_size}×{image_size}; upsampling would only blur — use {other}"
                f"--image-size {native}", path)
        counts = {s: int(layouts[s][0][0]) for s in SPLITS}
        empty = [s for s in SPLITS if counts[s] == 0]
        if empty:
            raise ChexminiError(f"the {', '.join(empty)} split(s) hold no images", path)
        per_split = {s: _read_labels(zf, path, s) for s in SPLITS}
        for s in SPLITS:
            if len(per_split[s]) != counts[s]:
                raise ChexminiError(f"{counts[s]} {s} images but {len(per_split[s])} labels",
                                    path)
        labels = np.concatenate([per_split[s] for s in SPLITS])
        total = sum(counts.values())
        tmp = out_dir / "images.npy.partial"
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8,
                                        shape=(total, image_size, image_size))
        pos = 0
        block = 2048
        for s in SPLITS:
            shape, _ = layouts[s]
            per = int(np.prod(shape[1:]))
            with zf.open(f"{s}_images.npy") as fh:
                _member_layout(fh, path, s)
                left = shape[0]
                while left:
                    k = min(block, left)
                    buf = fh.read(k * per)
                    if len(buf) != k * per:
                        raise ChexminiError(f"{s}_images is truncated", path)
                    arr = np.frombuffer(buf, dtype=np.uint8).reshape((k, *shape[1:]))
                    if arr.ndim == 4 and arr.shape[3] == 3:
                        arr = np.stack([np.asarray(Image.fromarray(a, "RGB").convert("L"))
                                        for a in arr])
                    elif arr.ndim == 4:
                        arr = arr[..., 0]
                    if native != image_size:
                        arr = np.stack([resize_area(np.ascontiguousarray(a), image_size)
                                        for a in arr])
                    out[pos : pos + k] = arr
                    pos += k
                    left -= k
                    if progress is not None:
                        progress(BuildProgress(pos, total, pos, 0, "decode"))
        out.flush()
        del out
    os.replace(tmp, out_dir / "images.npy")
    write_npy(out_dir / "labels.npy", labels)
    return counts, native


def load_chestmnist(path: str | os.PathLike[str], *, image_size: int = 64,
                    progress: ProgressFn | None = None) -> Indexed:
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        hint = (" (download it with: chexmini data download chestmnist --size "
                f"{image_size})" if path.name in FILES.values() else "")
        raise ChexminiError(("file not found" if not path.exists() else "not a file") + hint,
                            path)
    st = path.stat()
    out_dir = cache_dir_for("chestmnist", path, image_size)
    stamp = {"format": FORMAT, "code_version": CODE_VERSION, "npz": str(path),
             "size": st.st_size, "mtime_ns": st.st_mtime_ns, "image_size": image_size}
    manifest = out_dir / "manifest.json"
    meta = None
    try:
        with open(manifest, encoding="utf-8") as fh:
            meta = json.load(fh)
    except (OSError, ValueError):
        pass
    notes = []
    fresh = (isinstance(meta, dict) and all(meta.get(k) == v for k, v in stamp.items())
             and (out_dir / "images.npy").is_file() and (out_dir / "labels.npy").is_file())
    if not fresh:
        if isinstance(meta, dict):
            notes.append("the npz or the decoder changed since it was cached; converting "
                         "again")
        out_dir.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        counts, native = _convert(path, image_size, out_dir, progress)
        meta = {**stamp, "counts": counts, "native_size": native,
                "seconds": round(time.perf_counter() - t0, 2)}
        write_json(manifest, meta)
    counts = meta["counts"]
    labels = read_npy(out_dir / "labels.npy")
    total = sum(counts.values())
    if progress is not None:
        progress(BuildProgress(total, total, 0, 0, "done"))
    starts = np.cumsum([0] + [counts[s] for s in SPLITS])
    rows = {s: np.arange(starts[k], starts[k + 1]) for k, s in enumerate(SPLITS)}
    names = np.concatenate([np.char.add(f"{s}_", np.char.zfill(
        np.arange(counts[s]).astype(str), 6)) for s in SPLITS]) if total else np.array([])
    groups = -1 - np.arange(total, dtype=np.int64)
    info = {"scheme": "chestmnist", "file": str(path), "native_size": meta["native_size"],
            "split": "ChestMNIST's own train/val/test split",
            "patients": "unknown (ChestMNIST has no patient IDs)",
            "cache": str(out_dir), "skipped": 0, "notes": notes}
    return Indexed(out_dir / "images.npy", out_dir, names.astype(str), labels, groups, rows,
                   f"chestmnist:{path}", info)
