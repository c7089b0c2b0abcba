"""Decode one image file to a square ``uint8`` grayscale array — the single pipeline used
for training data, the preprocessing cache and inference.

Any PNG/JPEG (or other Pillow format): 8- or 16-bit, L/LA/RGB/RGBA/P/CMYK → grayscale;
16-bit (``I;16``) and 32-bit integer (``I``) images are scaled by their bit depth
(÷257 for 16-bit), not clipped; then an area-filter (BOX) resize of the whole frame to
``size × size`` (``Image.reduce`` when the factor is an exact integer, which is the same
filter, faster). ``resize="bicubic"`` uses Pillow's bicubic filter instead (the default
of ``Image.resize``, which the published CheXVision-mini code applied). The EXIF
orientation is applied before anything else. Every failure is a :class:`ChexminiError`
naming the file.
"""

from __future__ import annotations

import os
import struct
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from core.foundation import safe_io
from core.foundation.errors import ChexminiError

MIN_SIDE = 16
RESIZE_FILTERS = ("area", "bicubic")
#: Images with more pixels than this are refused before decoding (a chest radiograph is
#: at most ~4300×3500 = 15 MP; an 88 MP 16-bit image needs GBs per decoding worker).
MAX_PIXELS = 25_000_000
ORIENTATION = 0x0112  # the EXIF orientation tag
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp")


def _to_gray8(img: Image.Image) -> np.ndarray:
    """Grayscale uint8 pixels of ``img`` at its own size."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        arr = np.asarray(img, dtype=np.float64) / 257.0
        return np.clip(np.rint(arr), 0, 255).astype(np.uint8)
    if mode == "I":
        arr = np.asarray(img, dtype=np.float64)
        top = arr.max() if arr.size else 0
        scale = 1.0 if top <= 255 else (257.0 if top <= 65535 else 16843009.0)
        return np.clip(np.rint(arr / scale), 0, 255).astype(np.uint8)
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        arr = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
        return np.clip(np.rint(arr), 0, 255).astype(np.uint8)
    if mode in ("LA", "PA", "RGBA", "RGBa", "La") or (mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA").convert("RGB")  # drop alpha (X-rays are opaque)
    if img.mode != "L":
        img = img.convert("L")
    return np.asarray(img, dtype=np.uint8)


def resize_area(gray: np.ndarray, size: int) -> np.ndarray:
    """Area (BOX) resize of a uint8 ``(h, w)`` array to ``(size, size)``."""
    h, w = gray.shape
    if (h, w) == (size, size):
        return gray
    img = Image.fromarray(gray, mode="L")
    if h % size == 0 and w % size == 0 and h >= size and w >= size:
        img = img.reduce((w // size, h // size))
    else:
        img = img.resize((size, size), Image.Resampling.BOX)
    return np.asarray(img, dtype=np.uint8)


def resize_bicubic(gray: np.ndarray, size: int) -> np.ndarray:
    """Pillow bicubic resize (``Image.resize``'s default filter) of uint8 ``(h, w)``."""
    if gray.shape == (size, size):
        return gray
    img = Image.fromarray(gray, mode="L").resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(img, dtype=np.uint8)


def resize_gray(gray: np.ndarray, size: int, resize: str = "area") -> np.ndarray:
    """Resize uint8 ``(h, w)`` to ``(size, size)`` with the named filter (area|bicubic)."""
    if resize == "area":
        return resize_area(gray, size)
    if resize == "bicubic":
        return resize_bicubic(gray, size)
    raise ValueError(f"unknown resize filter {resize!r} (expected one of {RESIZE_FILTERS})")


def load_gray(path: str | os.PathLike[str], size: int | None = 64,
              resize: str = "area") -> np.ndarray:
    """Read an image file → uint8 ``(size, size)`` (or native size when ``size`` is None),
    resized with the ``resize`` filter (``"area"``, the training pipeline, or ``"bicubic"``).

    The EXIF orientation tag (a phone photo of a film, a rotated JPEG) is applied first,
    so a rotated file gives the same pixels as the upright one. Every failure — missing,
    permission denied, I/O error, undecodable, out of memory — is a
    :class:`ChexminiError` naming the file."""
    if resize not in RESIZE_FILTERS:
        raise ValueError(f"unknown resize filter {resize!r} (expected one of {RESIZE_FILTERS})")
    path = Path(path)
    try:
        with safe_io.open_regular(path) as fh:  # a FIFO or device would hang Pillow
            if os.fstat(fh.fileno()).st_size == 0:
                raise ChexminiError("empty file (0 bytes), not an image", path)
            gray = _decode(fh, path)
    except ChexminiError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ChexminiError(f"image too large, refused as a possible decompression bomb "
                            f"({exc})", path) from None
    except UnidentifiedImageError:
        raise ChexminiError("not an image file Pillow can read", path) from None
    except PermissionError:
        raise ChexminiError("permission denied", path) from None
    except MemoryError:
        raise ChexminiError("not enough memory to decode this image", path) from None
    except OSError as exc:
        if exc.errno is not None:  # the system refused: not a decoding problem
            raise ChexminiError(f"cannot read the file ({exc.strerror or exc})", path) from None
        msg = str(exc) or type(exc).__name__
        if "truncated" in msg.lower():
            msg = "truncated or corrupt image data"
        raise ChexminiError(f"cannot decode image: {msg}", path) from None
    except (SyntaxError, ValueError, EOFError) as exc:
        msg = str(exc) or type(exc).__name__
        if "truncated" in msg.lower():
            msg = "truncated or corrupt image data"
        raise ChexminiError(f"cannot decode image: {msg}", path) from None
    return gray if size is None else resize_gray(gray, size, resize)


def _decode(fh, path: Path) -> np.ndarray:
    """Grayscale pixels of the open image file ``fh``; its pixel count is checked from the
    header before anything is decoded."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(fh) as img:
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise ChexminiError(f"image is {w}×{h} = {w * h / 1e6:.0f} megapixels; "
                                    f"refused (the limit is {MAX_PIXELS / 1e6:.0f} MP)", path)
            img.load()
            if min(img.size) < MIN_SIDE:
                raise ChexminiError(f"image is only {w}×{h} pixels; need at least "
                                    f"{MIN_SIDE}×{MIN_SIDE}", path)
            return _to_gray8(_upright(img, path))


def _upright(img: Image.Image, path: Path) -> Image.Image:
    """``img`` turned as its EXIF orientation tag says (unchanged without the tag)."""
    try:
        if img.getexif().get(ORIENTATION, 1) in (1, None):
            return img  # upright already (NIH PNGs): no copy
        return ImageOps.exif_transpose(img)
    except (KeyError, IndexError, TypeError, ValueError, struct.error) as exc:
        raise ChexminiError(f"unreadable EXIF orientation ({exc})", path) from None


def is_image_file(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES
