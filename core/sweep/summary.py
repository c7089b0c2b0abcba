"""What a sweep found, from its trial rows (:func:`core.sweep.study.trial_rows`).

Only validation AUC ranks trials: the rows carry no test figure. The best trial is the
complete trial with the highest validation AUC (ties: the lower number). Which setting
matters is shown two ways: for a setting with few values, the mean validation AUC of
the complete trials at each value; for a numeric setting with more, Spearman's rank
correlation ρ between the setting and validation AUC.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.runs import layout
from core.sweep.spec import TRIALS
from core.sweep.trial import read_outcome

#: A numeric setting with at most this many distinct values is shown value by value.
FEW_VALUES = 3


def best_row(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The complete trial with the highest validation AUC, or ``None``."""
    done = [r for r in rows if r["state"] == "complete" and r["value"] is not None]
    if not done:
        return None
    return max(done, key=lambda r: (r["value"], -r["number"]))


def _ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks (ties share their mean rank), 0-based."""
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(len(x))
    for v in np.unique(x):
        tie = x == v
        ranks[tie] = ranks[tie].mean()
    return ranks


def spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman's ρ = Pearson's r of the ranks; ``None`` when either side is constant."""
    rx, ry = _ranks(np.asarray(x, float)), _ranks(np.asarray(y, float))
    if rx.std() == 0 or ry.std() == 0:
        return None
    return float(np.corrcoef(rx, ry)[0, 1])


def setting_effects(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per searched setting: ``{"by_value": [(value, mean AUC, n), …]}`` or
    ``{"spearman": ρ, "n": n}``, over the complete trials."""
    done = [r for r in rows if r["state"] == "complete" and r["value"] is not None]
    names = list(dict.fromkeys(k for r in done for k in r["params"]))
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        pairs = [(r["params"][name], r["value"]) for r in done if name in r["params"]]
        values = list(dict.fromkeys(p[0] for p in pairs))
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        if len(values) <= FEW_VALUES or not numeric:
            out[name] = {"by_value": [
                (v, float(np.mean([a for p, a in pairs if p == v])),
                 sum(1 for p, _ in pairs if p == v))
                for v in sorted(values, key=lambda v: (str(type(v)), v))]}
        else:
            out[name] = {"spearman": spearman(np.array([p for p, _ in pairs]),
                                              np.array([a for _, a in pairs])),
                         "n": len(pairs)}
    return out


def counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    """How many trials are in each state."""
    out: dict[str, int] = {}
    for r in rows:
        out[r["state"]] = out.get(r["state"], 0) + 1
    return out


def sweep_of(path: str | Path) -> Path | None:
    """The sweep folder a trial folder belongs to (``SWEEP/trials/NNN``), or None."""
    p = Path(path)
    return p.parent.parent if layout.trial_name(p) else None


def _trials_in(sweep: Path) -> list[str]:
    """The trial folders of one sweep, in order (OSError when it cannot be listed)."""
    folder = sweep / TRIALS
    if not folder.is_dir():
        return []
    return [str(t) for t in sorted(folder.iterdir()) if t.is_dir() and layout.trial_name(t)]


def trial_folders(sweeps: str | Path) -> list[str]:
    """Every trial folder of every sweep in ``sweeps`` (``sweeps/*/trials/NNN``), sweeps
    by name, trials in order; ``[]`` when there are none or it is unreadable."""
    try:
        return [t for s in sorted(Path(sweeps).iterdir()) for t in _trials_in(s)]
    except OSError:
        return []


def rows_from_folders(sweep_dir: str | Path) -> list[dict[str, Any]]:
    """The sweep's trial rows read from its trial folders' recorded outcomes
    (``trial.json``; no study, no Optuna needed): a trial without one is ``running`` —
    or stopped before it recorded an outcome."""
    try:
        folders = _trials_in(Path(sweep_dir))
    except OSError:
        folders = []
    rows = []
    for folder in folders:
        out = read_outcome(Path(folder))
        rows.append({"number": int(Path(folder).name), "folder": folder,
                     "state": out.state if out else "running",
                     "value": out.value if out else None,
                     "params": out.params if out else {}})
    return rows


def note_trials(rows: list) -> None:
    """Say on each listed trial's row (:class:`core.runs.listing.RunRow`) what the sweep
    recorded: ``sweep: pruned`` / ``sweep: complete`` (rows of other folders untouched)."""
    for row in rows:
        if sweep_of(row.path) is None or row.error:
            continue
        out = read_outcome(Path(row.path))
        row.note = f"sweep: {out.state if out else 'no outcome yet'}" + (
            f"; {row.note}" if row.note else "")
