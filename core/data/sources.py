"""One ``--data`` argument for every data source.

Forms (``scheme:path``, or a bare path whose kind is detected):

- ``nih-sample`` — the embedded real sample (1,619 NIH ChestX-ray14 images at 64×64,
  shipped inside the package: :mod:`core.data.nih_sample`); the default everywhere.
- ``synthetic`` / ``synthetic:N`` — the procedural synthetic set (N images, default 600).
- ``npz:FILE`` or a path to an ``.npz`` with ``images``/``names``/``labels`` — the
  NIH subset format (e.g. ``../shared/data/nih14_subset/images64.npz``), or a folder that
  holds ``images64.npz``.
- ``nih:ROOT`` or a folder holding ``Data_Entry_2017_v2020.csv`` / ``Data_Entry_2017.csv``
  — NIH ChestX-ray14 as downloaded (``train_val_list.txt``, ``test_list.txt``, PNGs in
  ``images/`` or ``images_001/images/`` … ``images_012/images/``). Official test list =
  test split; validation = a seeded patient-grouped slice of train_val (10 % unless
  ``val_fraction`` is given). See :mod:`core.data.nih`.
- ``chestmnist:FILE.npz`` or a path to an ``.npz`` with ``train_images``/``train_labels``
  — ChestMNIST / MedMNIST+ (own split kept; label = any finding). Plain ``chestmnist``
  means the file ``chexmini data download chestmnist --size S`` stored for the model's
  image size. Smaller images than the model's are refused. See :mod:`core.data.chestmnist`.
- ``folder:ROOT`` or a folder with ``normal/`` and ``abnormal/`` (optionally inside
  ``train/``, ``val/``, ``test/``; names case-insensitive) — any image files; other class
  folder names by ``?classes=normal=NORMAL;abnormal=PNEUMONIA,COVID``. See
  :mod:`core.data.folder`.

Options may follow the source as a query string — ``SOURCE?n_train=60000&n_val=8500&
n_test=10000`` (seeded, stratified subsampling of each split after splitting) and
``val_fraction=…`` / ``test_fraction=…``, and ``classes=…`` for image folders. Options
written in the source string take precedence over the keyword arguments of :func:`load_data`.

NIH and image folders are decoded once, in parallel, into the preprocessing cache
(``$CHEXMINI_DATA`` or ``~/.cache/chexmini``; :mod:`core.data.cache`) and ChestMNIST is
streamed into it; the split images of these sources are then read-only memory maps, so
training reads batches straight from disk. Unreadable or missing files are skipped and
reported in ``data.info`` (``skipped``, ``skipped_examples``) and in the cache manifest.

``data.source`` is canonical (scheme, absolute path and any subsampling options) and
``data.info`` records the split parameters, so
``load_data(data.source, image_size=…, **split_args(data.info))`` reproduces the same
splits exactly (used to resume a run).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import numpy as np

from core.data.assemble import Indexed, assemble, stratified_subsample, subsample
from core.data.cache import ProgressFn
from core.data.dataset import DataSplits
from core.data.nih_sample import SAMPLE_NPZ, SOURCE_NAME
from core.data.subset import load_subset
from core.data.synthetic import load_synthetic
from core.foundation.checks import check_number
from core.foundation.errors import ChexminiError
from core.foundation.safe_npz import memory_budget

SCHEMES = ("synthetic", "npz", "nih", "chestmnist", "folder")
DEFAULT_SOURCE = SOURCE_NAME
INT_OPTIONS = ("n_train", "n_val", "n_test")
FLOAT_OPTIONS = ("val_fraction", "test_fraction")
#: Text options: ``classes`` maps an image folder's class folders (core.data.folder).
TEXT_OPTIONS = ("classes",)
DEFAULT_VAL_FRACTION = 0.15
DEFAULT_TEST_FRACTION = 0.15
#: Upper bound of ``synthetic:N`` (generated in memory: N × S² bytes).
MAX_SYNTHETIC = 200_000
EXPECTED = ("expected nih-sample, synthetic[:N], nih:ROOT, chestmnist[:FILE.npz], folder:ROOT, "
            "npz:FILE, an .npz file, or a folder holding images64.npz, Data_Entry_2017*.csv or "
            "normal/ and abnormal/")


def load_data(
    source: str,
    *,
    seed: int = 0,
    val_fraction: float | None = None,
    test_fraction: float | None = None,
    image_size: int = 64,
    n_train: int | None = None,
    n_val: int | None = None,
    n_test: int | None = None,
    workers: int | None = None,
    progress: ProgressFn | None = None,
) -> DataSplits:
    """Load and split ``source``; see the module docstring for the accepted forms.

    ``val_fraction`` defaults to 0.15 (0.10 of train_val for NIH); ``test_fraction`` to
    0.15 (ignored where the source has its own test split). ``n_train``/``n_val``/
    ``n_test`` subsample the splits (seeded by ``seed``, stratified). ``workers`` and
    ``progress`` drive the preprocessing cache (default: all cores, no reporting).

    ``data.source`` is a canonical form of ``source`` (absolute paths, subsampling
    options) and ``data.info`` records the split parameters, so
    ``load_data(data.source, **split_args(data.info))`` reloads exactly the same splits.
    """
    text, opts = parse_source_options(str(source).strip())
    sizes = {"train": opts.get("n_train", n_train), "val": opts.get("n_val", n_val),
             "test": opts.get("n_test", n_test)}
    vf = opts.get("val_fraction", val_fraction)
    tf = opts.get("test_fraction", test_fraction)
    tf = DEFAULT_TEST_FRACTION if tf is None else float(tf)
    try:
        _check_split_args(seed, vf, tf, sizes)
        data, vf = _load(text, seed, vf, tf, image_size, sizes, workers, progress,
                         opts.get("classes"))
    except ChexminiError as exc:
        if exc.path is None:  # name the source the problem is about
            raise ChexminiError(exc.problem, text) from None
        raise
    canonical = {k: v for k, v in opts.items() if k in FLOAT_OPTIONS}
    canonical.update({f"n_{k}": int(v) for k, v in sizes.items() if v is not None})
    if "classes" in opts:
        canonical["classes"] = data.info["classes"]
    if canonical:
        data.source = f"{data.source}?{urlencode(sorted(canonical.items()), safe='=;,')}"
    data.info.update({"split_seed": seed, "val_fraction": vf, "test_fraction": tf})
    data.info.update({f"n_{k}": int(v) for k, v in sizes.items() if v is not None})
    return data


def _check_split_args(seed: int, vf: float | None, tf: float, sizes: dict) -> None:
    """Seed, fractions and subsample sizes in range (finite; NaN and inf refused)."""
    check_number("split seed", seed, lo=0, integer=True)
    if vf is not None:
        check_number("val_fraction", vf, lo=0, hi=1, lo_open=True, hi_open=True)
    check_number("test_fraction", tf, lo=0, hi=1, hi_open=True)
    for name, n in sizes.items():
        if n is not None:
            check_number(f"n_{name}", n, lo=1, integer=True)


def split_args(info: dict) -> dict:
    """The keyword arguments of :func:`load_data` recorded in ``data.info``."""
    args = {"seed": int(info.get("split_seed", 0)),
            "val_fraction": float(info.get("val_fraction", 0.15)),
            "test_fraction": float(info.get("test_fraction", 0.15))}
    for key in INT_OPTIONS:
        if info.get(key) is not None:
            args[key] = int(info[key])
    return args


def parse_source_options(source: str) -> tuple[str, dict]:
    """Split ``SOURCE?key=value&…`` into the source and its (validated) options."""
    base, sep, query = source.rpartition("?")
    if not sep or "=" not in query:
        return source, {}
    opts: dict = {}
    try:
        pairs = parse_qsl(query, strict_parsing=True)
    except ValueError:
        raise ChexminiError(f"cannot read the data options {query!r} (expected "
                            "key=value&key=value)") from None
    for key, value in pairs:
        try:
            if key in INT_OPTIONS:
                opts[key] = int(value)
            elif key in FLOAT_OPTIONS:
                opts[key] = float(value)
            elif key in TEXT_OPTIONS:
                opts[key] = _read_classes(value)
            else:
                raise ChexminiError(f"unknown data option {key!r} (known: "
                                    f"{', '.join(INT_OPTIONS + FLOAT_OPTIONS + TEXT_OPTIONS)})")
        except ValueError:
            raise ChexminiError(f"data option {key} needs a number, got {value!r}") from None
    return base, opts


def _read_classes(text: str) -> dict[str, int]:
    from core.data.folder import parse_classes

    return parse_classes(text)


def with_classes(source: str, classes: str | None) -> str:
    """``source`` with the class mapping ``classes`` (``--classes`` text) as its
    ``classes=`` option (checked now; None or empty: ``source`` unchanged)."""
    if not classes or not str(classes).strip():
        return source
    from core.data.folder import classes_text

    text = classes_text(_read_classes(classes))
    base, opts = parse_source_options(source)
    if "classes" in opts:
        raise ChexminiError("the classes are given twice (--classes and ?classes= in the "
                            "source); keep one")
    sep = "&" if base != source else "?"
    return f"{source}{sep}{urlencode({'classes': text}, safe='=;,')}"


CLASSES_FLAG = " --classes "


def source_from_text(text: str) -> str:
    """A data source typed as one line, as on the command line: ``SOURCE`` or ``SOURCE
    --classes normal=DIR abnormal=DIR,…`` (the app's data box; :func:`with_classes`)."""
    base, sep, classes = f" {str(text).strip()} ".partition(CLASSES_FLAG)
    base = base.strip() or DEFAULT_SOURCE
    if not sep:
        return base
    if not classes.strip():
        raise ChexminiError("--classes needs the class folders, e.g. --classes "
                            "normal=NORMAL abnormal=PNEUMONIA")
    return with_classes(base, classes)


def detect_scheme(path: Path) -> str | None:
    """The scheme of a bare path, or None."""
    from core.data.chestmnist import is_chestmnist_npz
    from core.data.folder import is_image_folder
    from core.data.nih import is_nih_root

    if path.is_dir() and (path / "images64.npz").is_file():
        return "npz"
    if path.is_file() and path.suffix == ".npz":
        return "chestmnist" if is_chestmnist_npz(path) else "npz"
    if is_nih_root(path):
        return "nih"
    if is_image_folder(path):
        return "folder"
    if path.suffix == ".npz":
        return "npz"
    return None


def _load(source: str, seed: int, val_fraction: float | None, test_fraction: float,
          image_size: int, sizes: dict, workers: int | None,
          progress: ProgressFn | None, classes: dict[str, int] | None = None
          ) -> tuple[DataSplits, float]:
    scheme, sep, rest = source.partition(":")
    if scheme not in SCHEMES or (not sep and scheme not in ("synthetic", "chestmnist")):
        scheme, rest = "", source
    if classes is not None:
        scheme = _folder_for_classes(scheme, rest if scheme else source)
    vf = DEFAULT_VAL_FRACTION if val_fraction is None else float(val_fraction)
    if source == SOURCE_NAME:
        return _subsample_memory(_load_sample(vf, test_fraction, seed, image_size),
                                 sizes, seed), vf
    if scheme == "synthetic":
        try:
            n = int(rest) if rest else 600
        except ValueError:
            raise ChexminiError(f"synthetic:N needs a whole number, got {rest!r}") from None
        if n < 20:
            raise ChexminiError(f"synthetic:N needs at least 20 images, got {n}")
        if n > MAX_SYNTHETIC:
            raise ChexminiError(f"synthetic:N is at most {MAX_SYNTHETIC:,} images, got {n:,}")
        if n * image_size * image_size > memory_budget():
            raise ChexminiError(f"synthetic:{n} at {image_size}×{image_size} pixels would "
                                "not fit in memory")
        return _subsample_memory(load_synthetic(n, image_size, seed, vf, test_fraction),
                                 sizes, seed), vf
    if scheme == "chestmnist" and not rest:
        from core.data.chestmnist import default_path

        rest = os.fspath(default_path(image_size))
    path = Path(rest).expanduser()
    if not scheme:
        if not path.exists():
            raise ChexminiError(f"data source not found ({EXPECTED})", path)
        scheme = detect_scheme(path) or ""
        if not scheme:
            raise ChexminiError(f"unrecognised data source ({EXPECTED})", path)
    if scheme == "npz":
        if path.is_dir() and (path / "images64.npz").is_file():
            path = path / "images64.npz"
        data = load_subset(path, vf, test_fraction, seed)
        if data.image_size != image_size:
            raise ChexminiError(
                f"images are {data.image_size}×{data.image_size}, but image_size is {image_size}",
                path)
        return _subsample_memory(data, sizes, seed), vf
    indexed: Indexed
    if scheme == "nih":
        from core.data.nih import DEFAULT_VAL_FRACTION as NIH_VAL
        from core.data.nih import load_nih

        vf = NIH_VAL if val_fraction is None else vf
        indexed = load_nih(path, image_size=image_size, seed=seed, val_fraction=vf,
                           workers=workers, progress=progress)
    elif scheme == "chestmnist":
        from core.data.chestmnist import load_chestmnist

        indexed = load_chestmnist(path, image_size=image_size, progress=progress)
    else:
        from core.data.folder import load_folder

        indexed = load_folder(path, image_size=image_size, seed=seed, val_fraction=vf,
                              test_fraction=test_fraction, workers=workers,
                              progress=progress, classes=classes)
    subsample(indexed, sizes, seed)
    return assemble(indexed), vf


def _folder_for_classes(scheme: str, path_text: str) -> str:
    """A class mapping makes a bare folder an image folder; other sources refuse it."""
    if scheme == "folder" or (not scheme and Path(path_text).expanduser().is_dir()
                              and detect_scheme(Path(path_text).expanduser()) in (None, "folder")):
        return "folder"
    raise ChexminiError("classes (--classes) apply to image folders only (folder:ROOT)")


def _load_sample(vf: float, tf: float, seed: int, image_size: int) -> DataSplits:
    """The embedded real sample, split by patient; its source is named, not a path."""
    if image_size != 64:
        raise ChexminiError(f"the embedded sample holds 64×64 images, but image_size is "
                            f"{image_size}", SOURCE_NAME)
    data = load_subset(SAMPLE_NPZ, vf, tf, seed)
    data.source = SOURCE_NAME
    return data


def _subsample_memory(data: DataSplits, sizes: dict, seed: int) -> DataSplits:
    """Seeded, stratified subsampling of in-memory splits (synthetic, npz subset)."""
    for k, name in enumerate(("train", "val", "test")):
        n = sizes.get(name)
        if n is None:
            continue
        split = getattr(data, name)
        if n < 1 or n > len(split):
            raise ChexminiError(f"n_{name}={n:,} but the {name} split has {len(split):,} "
                                "images (need 1 … that many)")
        rng = np.random.default_rng([int(seed), 20240611, k])
        setattr(data, name, split.subset(stratified_subsample(split.labels, n, rng)))
    return data


#: Sources whose images arrive at the model's size as stored, with no resize.
UNRESIZED_SCHEMES = ("npz", "synthetic")


def source_scheme(source: str) -> str | None:
    """The scheme ``load_data`` would use for ``source`` (None if it cannot tell)."""
    base = parse_source_options(source)[0]
    scheme, sep, _ = base.partition(":")
    if scheme in SCHEMES and (sep or scheme in ("synthetic", "chestmnist")):
        return scheme
    path = Path(base).expanduser()
    return detect_scheme(path) if path.exists() else None


def portable_source(source: str, cwd: str | os.PathLike | None = None) -> str:
    """``source`` as results files record it, meaning the same on any machine.

    Named sources (``nih-sample``, ``synthetic:N``, plain ``chestmnist``) are kept. A path
    (``data.source`` holds absolute ones) is written relative to ``cwd`` (default: the
    current directory) when it lies inside it, and otherwise by its last name alone --
    pair it with :meth:`DataSplits.fingerprint`, which identifies the data exactly.
    Scheme and options (``npz:``, ``?n_train=…``) are kept.
    """
    base, sep, query = str(source).rpartition("?")
    if not sep or "=" not in query:
        base, sep, query = str(source), "", ""
    scheme, colon, rest = base.partition(":")
    if scheme in SCHEMES and colon:
        prefix, path_text = f"{scheme}:", rest
    else:
        prefix, path_text = "", base
    if base == SOURCE_NAME or scheme == "synthetic" or not path_text:
        return str(source)
    path = Path(path_text).expanduser()
    if not path.is_absolute():
        return str(source)
    here = Path(cwd if cwd is not None else os.getcwd()).resolve()
    try:
        shown = path.resolve().relative_to(here).as_posix()
    except ValueError:
        shown = path.name
    return f"{prefix}{shown}{sep}{query}"


def check_source_resize(source: str, resize: str, image_size: int, checkpoint: str) -> None:
    """Refuse a source whose images go through the area-resizing cache when the checkpoint
    was trained on images resized with another filter (``resize``, e.g. bicubic)."""
    if resize == "area":
        return
    scheme = source_scheme(source)
    if scheme is None or scheme in UNRESIZED_SCHEMES:
        return
    raise ChexminiError(
        f"this checkpoint expects {resize}-resized images, but {scheme} data are resized "
        f"with the area filter of the preprocessing cache; evaluate it on an npz of "
        f"{image_size}×{image_size} images (npz:FILE) or score image files with predict",
        checkpoint)
