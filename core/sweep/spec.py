"""A sweep's spec: which :class:`TrainConfig` fields are searched, how, and on what data.

A spec is a small TOML (Python ≥ 3.11) or JSON file (or YAML, read by the CLI)::

    name = "lr-dropout"        # the study's name (default: the file's stem)
    sampler = "tpe"            # grid | random | tpe (Optuna's default sampler)
    trials = 12                # random/tpe; a grid runs every point
    seed = 0                   # random points; TPE's seed
    data = "nih-sample"        # any --data source (split_seed, n_train, n_val, n_test too)
    pruner = "median"          # median | none
    prune_startup_trials = 3   # trials finished before any is pruned
    prune_warmup_epochs = 3    # epochs a trial runs before it may be pruned
    heartbeat = 5              # seconds; a trial silent for 6× this is retried

    [base]                     # fixed settings (default: the published run)
    epochs = 20

    [space]                    # the searched settings
    lr = {low = 1e-4, high = 3e-3, log = true}   # a range (int fields: whole numbers)
    dropout = [0.0, 0.3, 0.5]                    # a list of choices (grid: the axis)
    hidden_dims = ["1024,256,64", "512,128"]

Everything is checked before any work: unknown keys, a field that is not a setting, a
value that :meth:`TrainConfig.validate` refuses — one line naming the file and the key.
This module knows nothing of Optuna (:mod:`core.sweep.study` is the glue).
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.foundation import safe_io
from core.foundation.config import TrainConfig
from core.foundation.config_fields import CONFIG_FIELDS, NOT_FLAGS
from core.foundation.errors import ChexminiError
from core.runs import layout

#: The files of a sweep folder (its trials are ordinary run folders under TRIALS/NNN).
SPEC_FILE = "sweep.json"
STUDY_FILE = "study.db"
TRIALS = layout.TRIALS
SAMPLERS = ("grid", "random", "tpe")
PRUNERS = ("median", "none")
TOP_KEYS = {"name": str, "sampler": str, "trials": int, "seed": int, "data": str,
            "split_seed": int, "n_train": int, "n_val": int, "n_test": int, "pruner": str,
            "prune_startup_trials": int, "prune_warmup_epochs": int, "heartbeat": int,
            "base": dict, "space": dict}
MAX_SPEC_BYTES = 1 << 20
MAX_TRIALS = 10_000
NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,99}")


@dataclass(frozen=True)
class Axis:
    """One searched field: ``choices`` (a list) or a ``low``…``high`` range (``log`` scale;
    whole numbers for int fields)."""

    name: str
    choices: tuple | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False

    @property
    def is_int(self) -> bool:
        return CONFIG_FIELDS[self.name].kind == "int"

    def draw(self, rng: np.random.Generator) -> Any:
        """One value, uniformly from the choices or the (log-)range."""
        if self.choices is not None:
            return self.choices[int(rng.integers(len(self.choices)))]
        lo, hi = (math.log(self.low), math.log(self.high)) if self.log else (self.low, self.high)
        if self.is_int:
            return int(min(self.high, max(self.low, round(_unlog(rng.uniform(lo, hi), self.log)))))
        return float(_unlog(rng.uniform(lo, hi), self.log))

    def to_dict(self) -> Any:
        if self.choices is not None:
            return list(self.choices)
        return {"low": self.low, "high": self.high, "log": self.log}


def _unlog(x: float, log: bool) -> float:
    return math.exp(x) if log else x


@dataclass
class SweepSpec:
    """A validated spec (see the module docstring)."""

    name: str
    sampler: str = "tpe"
    trials: int = 12
    seed: int = 0
    data: dict[str, Any] = field(default_factory=dict)
    pruner: str = "median"
    prune_startup_trials: int = 3
    prune_warmup_epochs: int = 3
    heartbeat: int = 5
    base: dict[str, Any] = field(default_factory=dict)
    space: dict[str, Axis] = field(default_factory=dict)

    def config(self, params: dict[str, Any]) -> TrainConfig:
        """The trial's config: the published run, ``base``, then ``params``."""
        values = {**self.base, **params}
        if isinstance(values.get("hidden_dims"), str):
            values["hidden_dims"] = CONFIG_FIELDS["hidden_dims"].read(values["hidden_dims"])
        return TrainConfig.from_dict({**TrainConfig().to_dict(), **values}).validate()

    def points(self) -> list[dict[str, Any]]:
        """The trials a grid or random sweep runs, in order (TPE: none, it asks as it goes):
        every grid point, or ``trials`` draws from ``seed``."""
        names = list(self.space)
        if self.sampler == "grid":
            axes = [self.space[n].choices for n in names]
            return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes)]
        if self.sampler == "random":
            rng = np.random.default_rng(self.seed)
            return [{n: self.space[n].draw(rng) for n in names} for _ in range(self.trials)]
        return []

    @property
    def n_trials(self) -> int:
        return len(self.points()) if self.sampler == "grid" else self.trials

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in ("name", "sampler", "trials", "seed", "pruner",
                                             "prune_startup_trials", "prune_warmup_epochs",
                                             "heartbeat")}
        return {**out, **self.data, "base": dict(self.base),
                "space": {n: a.to_dict() for n, a in self.space.items()}}

    def same_search(self, other: SweepSpec) -> bool:
        """Whether ``other`` searches the same space the same way (``heartbeat`` may
        differ when a sweep is continued, and a TPE sweep's ``trials``; a random sweep's
        trials are drawn when it starts)."""
        a, b = self.to_dict(), other.to_dict()
        for d in (a, b):
            d.pop("heartbeat")
            if self.sampler == "tpe":
                d.pop("trials")
        return a == b


def read_spec(path: str | Path) -> SweepSpec:
    """Read and validate a ``.toml`` or ``.json`` spec; one line naming the file on any
    problem."""
    path = Path(path)
    raw = safe_io.read_bytes(path, MAX_SPEC_BYTES)
    if path.suffix.lower() == ".toml":
        try:
            import tomllib
        except ImportError:  # Python 3.10
            raise ChexminiError("a TOML spec needs Python 3.11 or later (write the same "
                                "keys as a .json file)", path) from None
        try:
            doc = tomllib.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ChexminiError(f"not valid TOML ({exc})", path) from None
    elif path.suffix.lower() == ".json":
        doc = safe_io.parse_json(raw, path)
    else:
        raise ChexminiError("a sweep spec is a .toml, .yaml or .json file", path)
    return spec_from_dict(doc, path, default_name=path.stem)


def spec_from_dict(doc: Any, path: str | Path, default_name: str = "sweep") -> SweepSpec:
    """Validate a parsed spec (``path`` names it in errors)."""
    if not isinstance(doc, dict):
        raise ChexminiError("a sweep spec is a table of keys", path)
    for key, value in doc.items():
        kind = TOP_KEYS.get(key)
        if kind is None:
            raise ChexminiError(f"unknown key {key!r} (known: {', '.join(TOP_KEYS)})", path)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ChexminiError(f"{key}: expected {kind.__name__}, got {value!r:.40}", path)
    spec = SweepSpec(name=doc.get("name", default_name))
    for key in ("sampler", "trials", "seed", "pruner", "prune_startup_trials",
                "prune_warmup_epochs", "heartbeat"):
        if key in doc:
            setattr(spec, key, doc[key])
    spec.data = {k: doc[k] for k in ("data", "split_seed", "n_train", "n_val", "n_test")
                 if k in doc}
    _check_top(spec, path)
    spec.base = _base(doc.get("base", {}), path)
    spec.space = {name: _axis(name, value, spec, path)
                  for name, value in doc.get("space", {}).items()}
    if not spec.space:
        raise ChexminiError("[space] names no setting to search", path)
    if spec.sampler == "grid" and any(a.choices is None for a in spec.space.values()):
        raise ChexminiError("a grid sweep needs a list of values for every [space] key", path)
    return spec


def _check_top(spec: SweepSpec, path: str | Path) -> None:
    if spec.sampler not in SAMPLERS:
        raise ChexminiError(f"sampler: {spec.sampler!r} is not one of {SAMPLERS}", path)
    if spec.pruner not in PRUNERS:
        raise ChexminiError(f"pruner: {spec.pruner!r} is not one of {PRUNERS}", path)
    if not NAME.fullmatch(spec.name):
        raise ChexminiError(f"name: {spec.name!r:.60} is not a plain name (letters, digits, "
                            "'.', '_', '-'; it names the study and its folder)", path)
    for key, lo, hi in (("trials", 1, MAX_TRIALS), ("seed", 0, 2**63 - 1),
                        ("prune_startup_trials", 0, MAX_TRIALS),
                        ("prune_warmup_epochs", 0, 10**9), ("heartbeat", 1, 3600)):
        if not lo <= getattr(spec, key) <= hi:
            raise ChexminiError(f"{key}: expected a whole number in {lo} … {hi}", path)


def _base(base: dict, path: str | Path) -> dict[str, Any]:
    out = {}
    for name, value in base.items():
        _setting(name, "base", path)
        out[name] = value
    try:
        SweepSpec("check", base=out).config({})
    except (ChexminiError, TypeError, ValueError) as exc:
        raise ChexminiError(f"[base]: {exc}", path) from None
    return out


def _setting(name: str, table: str, path: str | Path) -> None:
    if name not in CONFIG_FIELDS or name in NOT_FLAGS:
        raise ChexminiError(f"[{table}] {name!r} is not a training setting (see chexmini "
                            "train --help)", path)


def _axis(name: str, value: Any, spec: SweepSpec, path: str | Path) -> Axis:
    _setting(name, "space", path)
    if isinstance(value, list):
        if not value or len(set(map(repr, value))) != len(value):
            raise ChexminiError(f"[space] {name}: a non-empty list of distinct values", path)
        axis = Axis(name, choices=tuple(value))
        probes = list(value)
    elif isinstance(value, dict) and set(value) <= {"low", "high", "log"} \
            and {"low", "high"} <= set(value):
        axis = _range(name, value, path)
        probes = [axis.low, axis.high]
    else:
        raise ChexminiError(f"[space] {name}: a list of values or {{low, high, log}}", path)
    for v in probes:
        try:
            spec.config({name: v})
        except (ChexminiError, TypeError, ValueError) as exc:
            raise ChexminiError(f"[space] {name} = {v!r:.40}: {exc}", path) from None
    return axis


def _range(name: str, value: dict, path: str | Path) -> Axis:
    kind = CONFIG_FIELDS[name].kind
    lo, hi, log = value["low"], value["high"], value.get("log", False)
    wanted = int if kind == "int" else (int, float)
    if kind not in ("int", "float"):
        raise ChexminiError(f"[space] {name}: a {kind} setting takes a list of values", path)
    if not all(isinstance(v, wanted) and not isinstance(v, bool) for v in (lo, hi)) \
            or not isinstance(log, bool):
        raise ChexminiError(f"[space] {name}: low and high must be {kind} numbers, log "
                            "true or false", path)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi) or (log and lo <= 0):
        raise ChexminiError(f"[space] {name}: needs low < high (and low > 0 with log)", path)
    if kind == "float":
        lo, hi = float(lo), float(hi)
    return Axis(name, low=lo, high=hi, log=log)
