"""Percentile-bootstrap confidence intervals of the ROC AUC.

Stratified resampling: every replicate draws ``P`` positives from the positives and ``N``
negatives from the negatives (with replacement), so both classes are always present and
the class mix is the observed one. Replicate ``b`` gives multiplicities ``u_b`` (positives)
and ``v_b`` (negatives) over the original images, and its AUC is, over the blocks ``k`` of
tied scores in ascending order,

    AUC_b = Σ_k U_bk (V_b,<k + V_bk / 2) / (P N)

(``U_bk``/``V_bk``: resampled positives/negatives in block ``k``; ``V_b,<k``: negatives in
lower blocks) — the Mann-Whitney form of :func:`core.evaluation.metrics.roc_auc`, computed
for all replicates at once without re-sorting. The interval is the
``(α/2, 1 − α/2)`` percentiles of the ``B`` replicate AUCs, with a fixed seed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.evaluation.metrics import _validate
from core.foundation.numbers import is_number

DEFAULT_REPLICATES = 1000
DEFAULT_LEVEL = 0.95
#: Replicates computed per vectorised chunk (bounds memory at ~chunk × n × 8 bytes × 3).
CHUNK = 128


def _multiplicities(n: int, reps: int, rng: np.random.Generator) -> np.ndarray:
    """``(reps, n)`` counts of each of ``n`` items in a draw of ``n`` with replacement."""
    draws = rng.integers(0, n, size=(reps, n))
    flat = draws + (np.arange(reps) * n)[:, None]
    return np.bincount(flat.ravel(), minlength=reps * n).reshape(reps, n)


def _replicate_aucs(block: np.ndarray, is_pos: np.ndarray, n_blocks: int, reps: int,
                    rng: np.random.Generator) -> np.ndarray:
    """``(reps,)`` AUCs of stratified resamples; ``block[i]`` is image ``i``'s tie block."""
    pos, neg = np.flatnonzero(is_pos), np.flatnonzero(~is_pos)
    u = _multiplicities(len(pos), reps, rng).astype(np.float64)
    v = _multiplicities(len(neg), reps, rng).astype(np.float64)
    offsets = (np.arange(reps) * n_blocks)[:, None]
    size = reps * n_blocks
    u_k = np.bincount((block[pos][None, :] + offsets).ravel(), u.ravel(), size)
    v_k = np.bincount((block[neg][None, :] + offsets).ravel(), v.ravel(), size)
    u_k, v_k = u_k.reshape(reps, n_blocks), v_k.reshape(reps, n_blocks)
    below = np.cumsum(v_k, axis=1) - v_k
    return np.sum(u_k * (below + 0.5 * v_k), axis=1) / (len(pos) * len(neg))


def auc_ci(scores: Any, labels: Any, *, replicates: int = DEFAULT_REPLICATES,
           level: float = DEFAULT_LEVEL, seed: int = 0) -> tuple[float, float] | None:
    """``(lo, hi)``: the ``level`` percentile-bootstrap interval of the ROC AUC of
    ``scores`` ``(n,)`` against 0/1 ``labels`` ``(n,)``; None when a class is missing
    (no AUC). Deterministic for a given ``seed``."""
    s, y = _validate(scores, labels, need_both=False)
    is_pos = y == 1
    if is_pos.all() or not is_pos.any():
        return None
    uniq, block = np.unique(s, return_inverse=True)
    rng = np.random.default_rng([int(seed), 20260601])
    aucs = np.concatenate([
        _replicate_aucs(block.ravel(), is_pos, len(uniq), min(CHUNK, replicates - start), rng)
        for start in range(0, int(replicates), CHUNK)])
    alpha = (1.0 - level) / 2
    lo, hi = np.quantile(aucs, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def format_auc(auc: Any, ci: Any = None, digits: int = 4) -> str:
    """``0.8123 (95% CI 0.7801–0.8420)``; the AUC alone when ``ci`` is missing; ``—`` when
    ``auc`` is not a number. ``ci`` is ``(lo, hi)`` from :func:`auc_ci`."""
    if not is_number(auc):
        return "—"
    text = f"{float(auc):.{digits}f}"
    interval = format_ci(ci, digits)
    return text if interval == "—" else f"{text} (95% CI {interval})"


def format_ci(ci: Any, digits: int = 4) -> str:
    """``0.7801–0.8420`` for ``(lo, hi)``; ``—`` when missing or not numbers."""
    if ci is None or len(ci) != 2 or not all(is_number(c) for c in ci):
        return "—"
    return f"{float(ci[0]):.{digits}f}–{float(ci[1]):.{digits}f}"


def auc_interval(scores: Any, labels: Any, seed: int = 0) -> dict[str, float]:
    """``{"auc_lo": lo, "auc_hi": hi}`` (:func:`auc_ci`, B = 1000), ``{}`` when a class is
    missing: the keys a report carries beside its ``auc``."""
    ci = auc_ci(scores, labels, seed=seed)
    return {} if ci is None else {"auc_lo": ci[0], "auc_hi": ci[1]}


def headline_auc(metrics: dict, digits: int = 4) -> str:
    """:func:`format_auc` of a metrics dict holding ``auc`` and, where computed,
    ``auc_lo``/``auc_hi`` (a :class:`~core.events.Finished` headline, an evaluation)."""
    return format_auc(metrics.get("auc"), (metrics.get("auc_lo"), metrics.get("auc_hi")),
                      digits)
