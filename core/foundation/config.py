"""``TrainConfig``: every hyperparameter of a run. Defaults are the published run.

The first fields are exactly the published ``metrics.json`` ``config`` keys (same order);
the rest are the knobs the published code had implicitly (seed, schedule floor, Adam
constants, augmentation strengths, class weighting, checkpoint cadence).
"""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from core.foundation.checks import ConfigError, check_choice, check_number
from core.foundation.errors import ChexminiError

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
    rmsprop_rho: float = 0.9
    rmsprop_eps: float = 1e-8
    flip_prob: float = 0.5
    brightness: float = 0.1
    noise_std: float = 0.02
    class_weight: str = "none"
    checkpoint_every: int = 0  # 0: by cost (see core.training.train.SaveClock)

    @property
    def widths(self) -> tuple[int, ...]:
        return (self.image_size * self.image_size, *self.hidden_dims, 1)

    def validate(self) -> TrainConfig:
        """Raise :class:`~core.foundation.checks.ConfigError` (naming the field and its accepted
        range) for any out-of-range, NaN or infinite value; return self."""
        pre = "invalid training config: "
        self._check_types()
        for name, kw in NUMBER_RULES.items():
            check_number(name, getattr(self, name), prefix=pre, **kw)
        check_number("lr_min", self.lr_min, lo=0, hi=self.lr, prefix=pre)
        dims = self.hidden_dims
        if not isinstance(dims, (list, tuple)) or not all(
                isinstance(h, numbers.Integral) and not isinstance(h, bool) and h >= 1
                for h in dims):
            raise ConfigError("hidden_dims", "must be a list of whole numbers >= 1", dims, pre)
        check_model_size(self.widths)
        for name, choices in CHOICES.items():
            check_choice(name, getattr(self, name), choices, pre)
        for name in ("augment", "standardize"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(name, "must be true or false", getattr(self, name), pre)
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
                ok = _is_int(v) or isinstance(v, float)  # range: NUMBER_RULES
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


#: Accepted range of every numeric field (keyword arguments of :func:`check_number`).
#: ``lr_min`` is checked against ``lr`` separately. Augmentation strengths are in [0, 1]
#: pixel units (pixels are in [0, 1]); Adam's and RMSProp's epsilons must survive float32
#: (its smallest normal number), or 0/0 gives NaN for any parameter whose gradient is exactly 0.
NUMBER_RULES: dict[str, dict] = {
    "image_size": {"lo": 4, "hi": 1024, "integer": True},
    "dropout": {"lo": 0, "hi": 1, "hi_open": True},
    "lr": {"lo": 0, "lo_open": True},
    "weight_decay": {"lo": 0},
    "l1": {"lo": 0},
    "label_smoothing": {"lo": 0, "hi": 1, "hi_open": True},
    "batch_size": {"lo": 1, "integer": True},
    "epochs": {"lo": 1, "integer": True},
    "seed": {"lo": 0, "integer": True},
    "momentum": {"lo": 0, "hi": 1, "hi_open": True},
    "beta1": {"lo": 0, "hi": 1, "hi_open": True},
    "beta2": {"lo": 0, "hi": 1, "hi_open": True},
    "adam_eps": {"lo": float(np.finfo(np.float32).tiny)},
    "rmsprop_rho": {"lo": 0, "hi": 1, "hi_open": True},
    "rmsprop_eps": {"lo": float(np.finfo(np.float32).tiny)},
    "flip_prob": {"lo": 0, "hi": 1},
    "brightness": {"lo": 0, "hi": 1},
    "noise_std": {"lo": 0, "hi": 1},
    "checkpoint_every": {"lo": 0, "integer": True},   # 0: save the resume state by cost
}
CHOICES = {"optimizer": ("adam", "sgd", "rmsprop"), "lr_schedule": ("cosine", "constant"),
           "class_weight": ("none", "balanced")}

# Fields that may differ when a run is resumed (they do not change the maths).
RESUME_MUTABLE = {"checkpoint_every"}
