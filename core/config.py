"""``TrainConfig``: every hyperparameter of a run. Defaults are the published run.

The first fields are exactly the published ``metrics.json`` ``config`` keys (same order);
the rest are the knobs the published code had implicitly (seed, schedule floor, Adam
constants, augmentation strengths, class weighting, checkpoint cadence).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from core.errors import ChexminiError

#: Refuse configs whose model would have more parameters than this (the published model
#: has 4.5 M; training keeps about six float32 copies: weights, gradients, best, Adam m, v).
MAX_PARAMETERS = 100_000_000


@dataclass
class TrainConfig:
    image_size: int = 64
    hidden_dims: list[int] = field(default_factory=lambda: [1024, 256, 64])
    dropout: float = 0.3
    optimizer: str = "adam"
    lr: float = 1e-3
    lr_schedule: str = "cosine"
    weight_decay: float = 1e-4
    l1: float = 0.0
    label_smoothing: float = 0.05
    batch_size: int = 256
    epochs: int = 200
    augment: bool = True
    standardize: bool = True
    dataset_revision: str = ""
    # -- beyond the published keys ---------------------------------------------------------
    seed: int = 0
    lr_min: float = 1e-5
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    adam_eps: float = 1e-8
    flip_prob: float = 0.5
    brightness: float = 0.1
    noise_std: float = 0.02
    class_weight: str = "none"
    checkpoint_every: int = 0  # 0: by cost (see core.train.SaveClock)

    @property
    def widths(self) -> tuple[int, ...]:
        return (self.image_size * self.image_size, *self.hidden_dims, 1)

    def validate(self) -> TrainConfig:
        """Raise :class:`ChexminiError` for any out-of-range value; return self."""
        self._check_types()
        check_model_size(self.widths)
        checks = [
            (self.image_size >= 4, "image_size must be at least 4"),
            (all(int(h) >= 1 for h in self.hidden_dims), "hidden_dims must be positive"),
            (0.0 <= self.dropout < 1.0, "dropout must be in [0, 1)"),
            (self.optimizer in ("adam", "sgd"), "optimizer must be 'adam' or 'sgd'"),
            (self.lr > 0, "lr must be positive"),
            (0 <= self.lr_min <= self.lr, "lr_min must be in [0, lr]"),
            (self.lr_schedule in ("cosine", "constant"), "lr_schedule must be cosine|constant"),
            (self.weight_decay >= 0 and self.l1 >= 0, "weight_decay and l1 must be >= 0"),
            (0.0 <= self.label_smoothing < 1.0, "label_smoothing must be in [0, 1)"),
            (self.batch_size >= 1, "batch_size must be at least 1"),
            (self.epochs >= 1, "epochs must be at least 1"),
            (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1, "betas must be in [0, 1)"),
            (0 <= self.flip_prob <= 1, "flip_prob must be in [0, 1]"),
            (self.brightness >= 0 and self.noise_std >= 0, "augmentation strengths must be >= 0"),
            (self.class_weight in ("none", "balanced"), "class_weight must be none|balanced"),
            (self.checkpoint_every >= 0, "checkpoint_every must be >= 0 (0: by cost)"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ChexminiError(f"invalid training config: {msg}")
        return self

    def _check_types(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            default = getattr(TrainConfig, f.name, None)
            if f.name == "hidden_dims":
                ok = isinstance(v, list) and all(_is_int(h) for h in v)
            elif isinstance(default, bool):
                ok = isinstance(v, bool)
            elif isinstance(default, int):
                ok = _is_int(v)
            elif isinstance(default, float):
                ok = _is_int(v) or (isinstance(v, float) and math.isfinite(v))
            else:
                ok = isinstance(v, str)
            if not ok:
                raise ChexminiError(f"invalid training config: {f.name} has the wrong type "
                                    f"or value ({v!r:.40})")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hidden_dims"] = [int(h) for h in self.hidden_dims]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Build from a dict (e.g. a ``metrics.json`` config); unknown keys are ignored."""
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        if "hidden_dims" in kw:
            dims = kw["hidden_dims"]
            if not isinstance(dims, list) or not all(_is_int(h) for h in dims):
                raise ChexminiError("invalid training config: hidden_dims must be a list of "
                                    "whole numbers")
            kw["hidden_dims"] = [int(h) for h in dims]
        return cls(**kw)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check_model_size(widths: tuple[int, ...] | list[int]) -> int:
    """The parameter count of an MLP with these layer widths; a ChexminiError when it
    is absurd (more than :data:`MAX_PARAMETERS`), before anything is allocated."""
    n = sum(int(a) * int(b) + int(b) for a, b in zip(widths[:-1], widths[1:], strict=True))
    if n > MAX_PARAMETERS:
        raise ChexminiError(f"invalid training config: the model would have {n:,} parameters "
                            f"(widths {'→'.join(map(str, widths))}); the limit is "
                            f"{MAX_PARAMETERS:,}")
    return n


def parse_hidden_dims(text: str) -> list[int]:
    """``"1024,256,64"`` → ``[1024, 256, 64]``; ``""`` → ``[]`` (no hidden layer: a linear
    model). Spaces are ignored; anything else is a :class:`ChexminiError`."""
    parts = [t for t in str(text).replace(" ", "").split(",") if t]
    try:
        dims = [int(t) for t in parts]
    except ValueError:
        raise ChexminiError("hidden dims: expected comma-separated whole numbers, e.g. "
                            f"1024,256,64, got {text!r}") from None
    if any(d < 1 for d in dims):
        raise ChexminiError(f"hidden dims must be positive, got {text!r}")
    return dims


# Fields that may differ when a run is resumed (they do not change the maths).
RESUME_MUTABLE = {"checkpoint_every"}
