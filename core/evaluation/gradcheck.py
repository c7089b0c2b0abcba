"""Finite-difference gradient checking of the hand-written backward pass.

On a float64 copy of the model, dropout disabled, for sampled entries θ_k of every
parameter tensor and of the input:

    numeric_k  = (−L(θ+2h e_k) + 8 L(θ+h e_k) − 8 L(θ−h e_k) + L(θ−2h e_k)) / 12h
                 (the 4th-order centred difference; ``order=2`` gives (L(+h) − L(−h)) / 2h)
    analytic_k = dL/dθ_k from ``MLP.backward``
    rel_err_k  = |a − n| / max(|a| + |n|, tiny),  tiny = resolution / tol

and reports the maximum relative error per tensor. ``L`` is the training loss
(BCE-with-logits with label smoothing). Passing means max rel_err < ``tol`` (1e-6).

A difference whose ±h perturbation switches any ReLU on or off straddles a kink,
where the derivative is not defined; such entries are counted (``n_kinks``) and
left out of the error. With the 4th-order stencil, ``h = 1e-4`` keeps truncation
(∝ h⁴) and round-off (∝ 1e-16 / h) both near 1e-12, so even the small gradient entries
of a trained network are checked far below the 1e-6 tolerance (the 2nd-order stencil
needs ``h ≈ 1e-5`` and leaves them near 1e-7–1e-6).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from core.foundation.checks import ConfigError, check_number
from core.nn.layers import ReLU
from core.nn.loss import bce_with_logits
from core.nn.model import MLP

TINY = 1e-30
#: Safety factor on the float64 resolution of a finite difference (see ``resolution``).
ROUNDOFF_MARGIN = 4.0


@dataclass(frozen=True)
class TensorCheck:
    """Result for one tensor (``name`` is ``fc1.W``… or ``input``)."""

    name: str
    shape: tuple[int, ...]
    n_checked: int
    n_kinks: int
    max_rel_error: float
    max_abs_error: float
    passed: bool


@dataclass(frozen=True)
class GradcheckReport:
    rows: list[TensorCheck]
    eps: float
    tol: float

    @property
    def passed(self) -> bool:
        """Every tensor passed — and something was checked (an empty check is no pass)."""
        return bool(self.rows) and all(r.passed for r in self.rows)

    @property
    def max_rel_error(self) -> float:
        return max((r.max_rel_error for r in self.rows), default=float("nan"))

    def to_dict(self) -> dict:
        return {"eps": self.eps, "tol": self.tol, "passed": self.passed,
                "rows": [asdict(r) for r in self.rows]}


#: Accepted ranges (keyword arguments of :func:`core.foundation.checks.check_number`). Below
#: ``h = 1e-8`` round-off swamps the difference (the resolution floor then hides any
#: error); above 0.1 truncation does. ``tol`` >= 1 would pass anything (rel. error <= 1).
ARG_RULES: dict[str, dict] = {
    "eps": {"lo": 1e-8, "hi": 0.1},
    "samples": {"lo": 1, "integer": True},
    "tol": {"lo": 0, "hi": 1, "hi_open": True},
    "order": {"lo": 2, "hi": 4, "integer": True},
}


def check_args(eps: float, n_samples: int, tol: float, order: int = 4) -> None:
    """Raise :class:`core.foundation.checks.ConfigError` (field ``eps``, ``samples``, ``tol`` or
    ``order``) for an out-of-range, NaN or infinite setting."""
    for field, value in (("eps", eps), ("samples", n_samples), ("tol", tol), ("order", order)):
        check_number(field, value, **ARG_RULES[field])
    if order not in (2, 4):
        raise ConfigError("order", "must be 2 or 4", order)


def relative_error(a: np.ndarray, n: np.ndarray, tiny: float = TINY) -> np.ndarray:
    """``|a − n| / max(|a| + |n|, tiny)``; 0 where both are exactly 0."""
    a, n = np.asarray(a, np.float64), np.asarray(n, np.float64)
    return np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), tiny)


def resolution(loss: float, eps: float) -> float:
    """The smallest derivative a finite difference of step ``eps`` can resolve in float64:
    ``4 · ε_mach · |L| / h``. Round-off makes every difference quotient uncertain by about
    this much, whatever the true derivative."""
    return ROUNDOFF_MARGIN * np.finfo(np.float64).eps * max(abs(loss), 1e-300) / eps


def _loss_and_pattern(model: MLP, x, y, smoothing: float) -> tuple[float, np.ndarray]:
    """Loss and the ReLU on/off pattern (a perturbation that flips a unit crosses a kink)."""
    h = x
    pattern = []
    for layer in model.layers:
        h = layer.forward(h, train=False)
        if isinstance(layer, ReLU):
            pattern.append((h > 0).reshape(-1))
    loss = bce_with_logits(h, y, smoothing)[0]
    return loss, (np.concatenate(pattern) if pattern else np.zeros(0, bool))


def gradcheck(
    model: MLP,
    x: np.ndarray,
    y: np.ndarray,
    *,
    eps: float = 1e-4,
    n_samples: int = 20,
    smoothing: float = 0.05,
    tol: float = 1e-6,
    seed: int = 0,
    order: int = 4,
    progress: Callable[[int, int], None] | None = None,
    on_row: Callable[[TensorCheck], None] | None = None,
) -> GradcheckReport:
    """Check ``model``'s backward pass on the batch ``(x, y)``; ``model`` is not modified.

    ``x``: ``(B, n_in)``, ``y``: ``(B,)`` in {0, 1}. ``n_samples`` entries are drawn per
    tensor (all of them when the tensor is smaller). ``progress(done, total)`` is called
    after each finite difference, ``on_row(row)`` as each tensor's check finishes.
    """
    check_args(eps, n_samples, tol, order)
    net = model.astype(np.float64)  # a copy: the caller's model is never touched
    x = np.array(x, dtype=np.float64, copy=True)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    rng = np.random.default_rng(seed)

    base_loss, base_pattern = _loss_and_pattern(net, x, y, smoothing)
    # Differences below the float64 resolution of the quotient are not errors: the
    # relative error's floor is that resolution divided by the tolerance, so an entry
    # whose true gradient is 1e-9 (a nearly dead unit) cannot fail on round-off alone,
    # while any real mistake (a wrong sign, a 1 % error) on a resolvable gradient fails.
    tiny = max(TINY, resolution(base_loss, eps) / tol) if tol > 0 else TINY
    _, g = bce_with_logits(net.forward(x), y, smoothing)
    grad_x = net.backward(g, need_input_grad=True).copy()
    analytic = {k: v.copy() for k, v in net.gradients().items()}
    analytic["input"] = grad_x
    targets = dict(net.parameters())
    targets["input"] = x

    offsets = (1, -1) if order == 2 else (2, 1, -1, -2)

    def difference(v: dict[int, float]) -> float:
        # Written as differences of symmetric pairs, so a loss the perturbation does not
        # change (a dead unit) gives exactly 0, as the analytic gradient does.
        if order == 2:
            return (v[1] - v[-1]) / (2 * eps)
        return (8 * (v[1] - v[-1]) - (v[2] - v[-2])) / (12 * eps)

    picks = {}
    for name, arr in targets.items():
        k = min(n_samples, arr.size)
        picks[name] = rng.choice(arr.size, size=k, replace=False)
    total = sum(len(v) for v in picks.values())
    done = 0

    rows = []
    for name, arr in targets.items():
        flat = arr.reshape(-1)  # a view: perturbing it perturbs the model/input
        numeric = np.empty(len(picks[name]))
        smooth = np.ones(len(picks[name]), dtype=bool)
        for j, idx in enumerate(picks[name]):
            old = flat[idx]
            values = {}
            for k in offsets:
                flat[idx] = old + k * eps
                values[k], pattern = _loss_and_pattern(net, x, y, smoothing)
                smooth[j] &= np.array_equal(pattern, base_pattern)
            flat[idx] = old
            numeric[j] = difference(values)
            done += 1
            if progress is not None:
                progress(done, total)
        a = analytic[name].reshape(-1)[picks[name]][smooth]
        numeric = numeric[smooth]
        rel = relative_error(a, numeric, tiny)
        max_rel = float(rel.max()) if rel.size else 0.0
        max_abs = float(np.abs(a - numeric).max()) if rel.size else 0.0
        # A tensor with no entry checked (empty, or every sample on a kink) did not pass.
        rows.append(TensorCheck(name, tuple(arr.shape), int(smooth.sum()),
                                int((~smooth).sum()), max_rel, max_abs,
                                bool(rel.size) and max_rel < tol))
        if on_row is not None:
            on_row(rows[-1])
    return GradcheckReport(rows, eps, tol)
