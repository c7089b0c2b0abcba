"""One ``--data`` argument for every data source.

Forms (``scheme:path`` or auto-detected from the path):

- ``synthetic`` / ``synthetic:N`` — the procedural synthetic set (N images, default 600).
- ``npz:FILE`` or a path to an ``.npz`` with ``images``/``names``/``labels`` — the
  NIH subset format (e.g. ``../shared/data/nih14_subset/images64.npz``), or a folder that
  holds ``images64.npz``.
"""

from __future__ import annotations

from pathlib import Path

from core.data.dataset import DataSplits
from core.data.subset import load_subset
from core.data.synthetic import load_synthetic
from core.errors import ChexminiError


def load_data(
    source: str,
    *,
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    image_size: int = 64,
) -> DataSplits:
    """Load and split ``source``; see the module docstring for the accepted forms.

    ``data.source`` is a canonical form of ``source`` (absolute paths) and ``data.info``
    records the split parameters, so ``load_data(data.source, **split_args(data))``
    reloads exactly the same splits (used to resume a run).
    """
    data = _load(str(source).strip(), seed, val_fraction, test_fraction, image_size)
    data.info.update({"split_seed": seed, "val_fraction": val_fraction,
                      "test_fraction": test_fraction})
    return data


def split_args(info: dict) -> dict:
    """The keyword arguments of :func:`load_data` recorded in ``data.info``."""
    return {"seed": int(info.get("split_seed", 0)),
            "val_fraction": float(info.get("val_fraction", 0.15)),
            "test_fraction": float(info.get("test_fraction", 0.15))}


def _load(source: str, seed: int, val_fraction: float, test_fraction: float,
          image_size: int) -> DataSplits:
    scheme, _, rest = source.partition(":")
    if scheme == "synthetic":
        try:
            n = int(rest) if rest else 600
        except ValueError:
            raise ChexminiError(f"synthetic:N needs a whole number, got {rest!r}") from None
        if n < 20:
            raise ChexminiError(f"synthetic:N needs at least 20 images, got {n}")
        return load_synthetic(n, image_size, seed, val_fraction, test_fraction)
    path = Path(rest if scheme == "npz" else source).expanduser()
    if path.is_dir() and (path / "images64.npz").is_file():
        path = path / "images64.npz"
    if scheme == "npz" or path.suffix == ".npz":
        data = load_subset(path, val_fraction, test_fraction, seed)
        if data.image_size != image_size:
            raise ChexminiError(
                f"images are {data.image_size}×{data.image_size}, but image_size is {image_size}",
                path)
        return data
    if not path.exists():
        raise ChexminiError("data source not found (expected synthetic[:N], an .npz file, "
                            "or a folder holding images64.npz)", path)
    raise ChexminiError("unrecognised data source (expected synthetic[:N], an .npz file, "
                        "or a folder holding images64.npz)", path)
