"""Does an input look like the chest X-rays the model was trained on?

Measured against the training statistics every checkpoint stores (the per-pixel mean
μ and standard deviation σ used to standardise inputs, ``x = (p/255 − μ)/σ``):

    distance   = mean_i x_i²          (the mean squared z-score; ≈ 1 for a training image)
    contrast   = std_i (x_i σ_i + μ_i) (the spread of the raw pixel values, 0…0.5)
    smoothness = corr(x[r, c], x[r, c+1])  (neighbouring standardised pixels)
    detail     = mean (∇²p)² / var p   (the 5-point Laplacian of the raw pixels p, at
                                        ≤ 64×64: fine structure per unit of spread)

An input is flagged when any of them falls outside what the training-like images show.
The cut-offs were calibrated on the embedded real sample (all 1,619 NIH images at
64×64 through the shipped checkpoint ``artifacts/``'s μ and σ):

    distance    sample: min 0.17, median 0.91, mean 1.00, 99th pct 2.75,
                99.9th pct 5.64, max 10.69            → flagged above 5.7 (2 of
                                                        the 1,619: 6.12 and 10.69)
    contrast    sample: min 0.107                     → flagged below 0.10
    smoothness  sample: min 0.789                     → flagged below 0.75
    detail      sample: min 0.0377, 0.1st pct 0.0393, median 0.149 → flagged below 0.02

against clearly non-X-ray inputs:

    artifacts/loss_curve.png   distance 7.22, contrast 0.065  → flagged (contrast)
    uniform black / white      distance 14.99 / 8.21          → flagged (contrast)
    uniform grey 128           distance 1.61, contrast 0      → flagged (contrast)
    8×8 checkerboard           distance 11.58                 → flagged (distance)
    an inverted sample X-ray   distance 8.84                  → flagged (distance)
    uniform noise 0–255        distance 5.12, smoothness 0.30 → flagged (smoothness)
    grey ramps 0–252, any direction (horizontal distance 3.81, vertical 1.66, diagonal
    1.39), radial gradients, blurred noise (detail 0.0019), sine stripes (0.0041), the
    training mean image μ itself (0.0035)                     → flagged (detail)

A ramp of the right brightness is as close to μ as an X-ray (a per-pixel mean and
standard deviation cannot tell them apart), but it has no fine structure: its Laplacian
is 0 where every real sample image has edges (ribs, the heart and lung borders). The
contrast, smoothness and detail rules describe real X-rays; a checkpoint trained on
synthetic data (``synthetic:N``, noisy blobs) is measured by distance only
(:func:`xray_rules_apply`). The 12 bundled 256-px sample X-rays score 0.46–1.47.
``tests/core/test_ood.py`` checks these numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Just above the embedded sample's 99.9th percentile (5.64). It flags 2 of the 1,619
#: real images (6.12 and 10.69, both unusual exposures) — a warning, not a refusal — and
#: in exchange catches an inverted X-ray (8.84), the commonest wrong input (a DICOM
#: stored as MONOCHROME1), which no other rule sees.
DISTANCE_CUTOFF = 5.7
#: Below the lowest pixel spread of the embedded sample (0.107).
CONTRAST_MIN = 0.10
#: Below the lowest neighbour correlation of the embedded sample (0.789).
SMOOTHNESS_MIN = 0.75
#: Half the lowest fine detail of the embedded sample (0.0377); ramps, gradients, blurred
#: blobs and stripes score 0–0.005.
DETAIL_MIN = 0.02
#: The detail is measured at this side or less (larger images are block-averaged down),
#: the resolution it was calibrated at.
DETAIL_SIDE = 64

WARNING = "this does not look like a chest X-ray like the training data"


@dataclass(frozen=True)
class OODResult:
    """The three measurements and the reasons an input was flagged (empty: looks fine)."""

    distance: float
    contrast: float
    smoothness: float
    detail: float
    reasons: tuple[str, ...]

    @property
    def flagged(self) -> bool:
        return bool(self.reasons)

    def to_dict(self) -> dict:
        return {"flagged": self.flagged, "distance": self.distance,
                "distance_cutoff": DISTANCE_CUTOFF, "contrast": self.contrast,
                "smoothness": self.smoothness, "detail": self.detail,
                "reasons": list(self.reasons)}

    def explain(self) -> str:
        """One line for a user: what was measured and why it was flagged."""
        if not self.flagged:
            return f"looks like the training X-rays (distance {self.distance:.2f})"
        return f"{WARNING}: " + "; ".join(self.reasons)


def z_distance(x: np.ndarray) -> float:
    """Mean squared z-score of a standardised input ``x`` (any shape)."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    return float(np.mean(x * x)) if x.size else float("nan")


def _neighbour_correlation(z: np.ndarray) -> float:
    side = int(round(np.sqrt(z.size)))
    if side * side != z.size or side < 2:
        return 1.0
    img = z.reshape(side, side)
    a, b = img[:, :-1].reshape(-1), img[:, 1:].reshape(-1)
    if a.std() == 0 or b.std() == 0:
        return 1.0
    return float(np.corrcoef(a, b)[0, 1])


def fine_detail(pixels: np.ndarray) -> float:
    """``mean (∇²p)² / var p`` of a square image ``pixels`` ``(side²,)`` (block-averaged
    to at most :data:`DETAIL_SIDE` first); ∇² is the 5-point Laplacian
    ``4 p[r, c] − p[r−1, c] − p[r+1, c] − p[r, c−1] − p[r, c+1]`` on the interior.
    0 for a linear ramp or a flat image; 1.0 for a non-square or tiny input (not judged)."""
    side = int(round(np.sqrt(pixels.size)))
    if side * side != pixels.size or side < 3:
        return 1.0
    img = np.asarray(pixels, np.float64).reshape(side, side)
    k = max(side // DETAIL_SIDE, 1)
    if k > 1:
        n = side // k
        img = img[:n * k, :n * k].reshape(n, k, n, k).mean(axis=(1, 3))
    var = img.var()
    if var < 1e-12:     # flat (up to rounding)
        return 0.0
    lap = (4 * img[1:-1, 1:-1] - img[:-2, 1:-1] - img[2:, 1:-1]
           - img[1:-1, :-2] - img[1:-1, 2:])
    return float(np.mean(lap * lap) / var)


def xray_rules_apply(checkpoint) -> bool:
    """Whether the X-ray contrast/smoothness rules fit the checkpoint: not for one
    trained on synthetic data (its own training images are noise-like)."""
    from core.runs.checkpoint import checkpoint_dir, read_metrics

    try:
        source = str((read_metrics(checkpoint_dir(checkpoint)).get("data") or {})
                      .get("source", ""))
    except Exception:  # noqa: BLE001 - an unreadable record: keep every rule
        return True
    return not source.startswith("synthetic")


def assess(x: np.ndarray, mean: np.ndarray, std: np.ndarray,
           xray_rules: bool = True) -> OODResult:
    """Measure a standardised input ``x`` ``(D,)`` against the checkpoint's μ, σ
    (``xray_rules=False``: the distance only, see :func:`xray_rules_apply`)."""
    z = np.asarray(x, dtype=np.float64).reshape(-1)
    pixels = z * np.asarray(std, np.float64).reshape(-1) + np.asarray(mean, np.float64).reshape(-1)
    distance = z_distance(z)
    contrast = float(pixels.std())
    smooth = _neighbour_correlation(z)
    detail = fine_detail(pixels)
    reasons = []
    if not distance <= DISTANCE_CUTOFF:
        reasons.append(f"distance from the training images {distance:.2f} "
                       f"(theirs ≈ 1, cut-off {DISTANCE_CUTOFF:g})")
    if xray_rules and contrast < CONTRAST_MIN:
        reasons.append(f"almost flat: pixel spread {contrast:.3f} "
                       f"(training images ≥ {CONTRAST_MIN:g})")
    if xray_rules and smooth < SMOOTHNESS_MIN:
        reasons.append(f"noise-like: neighbouring pixels correlate {smooth:.2f} "
                       f"(training images ≥ {SMOOTHNESS_MIN:g})")
    if xray_rules and detail < DETAIL_MIN and contrast >= CONTRAST_MIN:
        reasons.append(f"too smooth, no fine structure: detail {detail:.4f} "
                       f"(training images ≥ {DETAIL_MIN:g}; a ramp or gradient is 0)")
    return OODResult(distance, contrast, smooth, detail, tuple(reasons))


def assess_files(paths, image_size: int, mean: np.ndarray, std: np.ndarray,
                 resize: str = "area", xray_rules: bool = True) -> list[OODResult | None]:
    """:func:`assess` for each image file (None for a file that cannot be read)."""
    from core.foundation.errors import ChexminiError
    from core.nn.preprocess import preprocess_image

    out: list[OODResult | None] = []
    for path in paths:
        try:
            x = preprocess_image(path, image_size, mean, std, resize)
            out.append(assess(x, mean, std, xray_rules))
        except (ChexminiError, OSError, MemoryError):
            out.append(None)
    return out
