"""Training health: per-layer figures at every epoch end, and warnings in plain words.

For each linear layer ``fcK`` of the MLP (``W: (n_in, n_out)``), after an epoch:

====================  ======================================================================
``w_norm``            ‖W‖_F at the epoch end
``grad_norm``         ‖∂L/∂W‖_F of the epoch's last step: the loss gradient of that batch
                      only (the weight-decay term λW is *not* included)
``update_ratio``      ‖ΔW‖_F / ‖W‖_F, ``ΔW`` the update the optimiser applied at that step
                      (Adam: ``a · m̃ / (√ṽ + ε')``), ``‖W‖`` after it
``act_mean``          mean of the layer's output over the probe batch: after the ReLU for
``act_std``           hidden layers, the logit for the last one (population std, ``ddof=0``)
``dead``              hidden layers: fraction of units whose ReLU output is 0 for every
                      image of the probe batch
``saturated``         last layer: fraction of probe images with ``|logit| ≥ 6``, where
                      σ(z) is within 0.25 % of 0 or 1 and the gradient has all but vanished
====================  ======================================================================

The **probe batch** is the validation split, which every epoch already runs through the
model in evaluation mode (no dropout): :class:`ActivationProbe` rides along that forward
pass, so the activation figures cost no extra pass (a separate 256-image forward pass of
the published model would cost ~7 % of an epoch). It is the same images every epoch.
``grad_norm`` and ``update_ratio`` are ``None`` when the epoch's last step ran in another
process (a run resumed exactly between its last step and its epoch end).

:func:`warnings` reads the per-epoch figures and names known failures, each with what a
user might change; the thresholds are the named constants below.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from core.nn.layers import Linear, ReLU
from core.nn.model import MLP

#: ``|logit| ≥`` this counts as saturated: σ(6) = 0.9975.
SATURATED_LOGIT = 6.0

#: Per-layer figures, ``{"fc1": {"w_norm": …, …}, …}`` (``None`` = not measured).
Health = dict[str, dict[str, float | None]]


class ActivationProbe:
    """Activation statistics of every linear layer over evaluation-mode forward passes.

    :meth:`forward` is ``model.forward(x, train=False)`` — the same layer calls in the same
    order, so the logits are bit-identical — and accumulates, per layer, the count, the
    sum and the sum of squares of its output (``mean = Σy/n``, ``std = √(Σy²/n − mean²)``,
    combined in float64) and which units were ever active (hidden) or how many logits were
    saturated (last layer). Cheap by construction: one column sum and one dot product per
    layer (a ReLU output is ≥ 0, so a unit fired iff its column sum is > 0)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._n: dict[str, int] = {}
        self._sum: dict[str, float] = {}
        self._sumsq: dict[str, float] = {}
        self._active: dict[str, np.ndarray] = {}
        self._saturated: dict[str, int] = {}

    def forward(self, model: MLP, x: np.ndarray) -> np.ndarray:
        """``x: (B, n_in)`` → logits ``(B, 1)`` (a reused buffer), observing each layer."""
        last = model.layers[-1]
        for layer in model.layers:
            x = layer.forward(x, False)
            if isinstance(layer, ReLU):
                self._observe("fc" + layer.name[len("relu"):], x, hidden=True)
            elif layer is last and isinstance(layer, Linear):
                self._observe(layer.name, x, hidden=False)
        return x

    def _observe(self, name: str, y: np.ndarray, hidden: bool) -> None:
        col = y.sum(axis=0)                  # (n_out,) per-unit sums
        flat = y.reshape(-1)
        self._n[name] = self._n.get(name, 0) + y.size
        self._sum[name] = self._sum.get(name, 0.0) + float(col.sum(dtype=np.float64))
        self._sumsq[name] = self._sumsq.get(name, 0.0) + float(np.dot(flat, flat))
        if hidden:
            active = col > 0
            prev = self._active.get(name)
            self._active[name] = active if prev is None else (prev | active)
        else:
            count = int(np.count_nonzero(np.abs(y) >= SATURATED_LOGIT))
            self._saturated[name] = self._saturated.get(name, 0) + count

    def active(self, name: str) -> np.ndarray | None:
        """``(n_out,)`` bool: the hidden layer's units that fired on some probed image
        (``None`` before a pass, or for the last layer)."""
        return self._active.get(name)

    def summary(self) -> Health:
        """Per layer: ``act_mean``, ``act_std`` and ``dead`` (hidden) or ``saturated``."""
        out: Health = {}
        for name, n in self._n.items():
            mean = self._sum[name] / n
            fig: dict[str, float | None] = {
                "act_mean": mean, "act_std": math.sqrt(max(self._sumsq[name] / n - mean**2, 0.0))}
            if name in self._active:
                fig["dead"] = 1.0 - float(self._active[name].mean())
            else:
                fig["saturated"] = self._saturated[name] / n
            out[name] = fig
        return out


def _finite(value: float) -> float | None:
    """JSON-safe: a finite float, else ``None``."""
    value = float(value)
    return value if math.isfinite(value) else None


def layer_health(params: dict[str, np.ndarray], grads: dict[str, np.ndarray] | None,
                 update_sq: dict[str, float] | None, activations: Health,
                 w_sq: dict[str, float] | None = None) -> Health:
    """The figures of every ``fcK`` (see the module docstring), in layer order.

    ``params``/``grads``: the model's live arrays by name (``fc1.W``, …); ``grads=None``
    or ``update_sq=None`` when the last step did not run here. ``update_sq["fcK.W"]`` is
    ‖ΔW‖² as the optimiser recorded it; ``activations`` is :meth:`ActivationProbe.summary`;
    ``w_sq``: the ‖W‖² already computed (:func:`core.training.optim.weight_sq_norms`), if any.
    """
    out: Health = {}
    k = 1
    while f"fc{k}.W" in params:
        name = f"fc{k}"
        if w_sq is not None:
            w_norm = math.sqrt(w_sq[f"{name}.W"])
        else:
            w = params[f"{name}.W"].reshape(-1)
            w_norm = math.sqrt(float(np.dot(w, w)))
        fig: dict[str, float | None] = {"w_norm": _finite(w_norm), "grad_norm": None,
                                        "update_ratio": None}
        if grads is not None:
            g = grads[f"{name}.W"].reshape(-1)
            fig["grad_norm"] = _finite(math.sqrt(float(np.dot(g, g))))
        if update_sq is not None and f"{name}.W" in update_sq and w_norm > 0:
            fig["update_ratio"] = _finite(math.sqrt(update_sq[f"{name}.W"]) / w_norm)
        fig.update({key: None if v is None else _finite(v)
                    for key, v in activations.get(name, {}).items()})
        out[name] = fig
        k += 1
    return out


# -- warnings ---------------------------------------------------------------------------
#: ‖∂L/∂W‖ / ‖W‖ below this in a layer: its gradient has (nearly) vanished.
VANISHING_GRAD = 1e-6
#: ‖∂L/∂W‖ / ‖W‖ above this in a layer: its gradient is exploding.
EXPLODING_GRAD = 10.0
#: ‖ΔW‖ / ‖W‖ per step: healthy training moves weights ~1e-3 of their size a step.
UPDATE_TOO_LARGE = 1e-2
UPDATE_TOO_SMALL = 1e-5
#: One step's update ratio is noisy (Adam's first steps are large): it must be out of
#: range for this many epochs in a row before it is reported.
UPDATE_EPOCHS = 3
#: More than this fraction of a hidden layer's units never fire on the probe batch.
DEAD_FRACTION = 0.5
#: More than this fraction of the probe images get a saturated logit (|z| ≥ 6).
SATURATED_FRACTION = 0.5


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b <= 0 else a / b


def _update_warnings(name: str, ratios: list[float | None]) -> list[str]:
    """Update ratio out of range in each of the last :data:`UPDATE_EPOCHS` epochs."""
    if len(ratios) < UPDATE_EPOCHS or any(u is None for u in ratios[-UPDATE_EPOCHS:]):
        return []
    last = ratios[-UPDATE_EPOCHS:]
    u = last[-1]
    if all(r > UPDATE_TOO_LARGE for r in last):
        return [f"{name}: each step changes the weights by {u:.1e} of their size "
                "(healthy ≈ 1e-3) — lower the learning rate"]
    if all(r < UPDATE_TOO_SMALL for r in last):
        return [f"{name}: each step changes the weights by only {u:.1e} of their size "
                "(healthy ≈ 1e-3) — raise the learning rate (expected near the end "
                "of a decaying schedule)"]
    return []


def _layer_warnings(name: str, fig: dict[str, float | None]) -> list[str]:
    """The warnings one layer's latest figures raise (the update ratio aside)."""
    out = []
    g = _ratio(fig.get("grad_norm"), fig.get("w_norm"))
    if g is not None and g < VANISHING_GRAD:
        out.append(f"{name}: vanishing gradient (‖∇W‖/‖W‖ = {g:.1e}) — the layer has "
                   "stopped learning; use fewer layers, a larger learning rate or check "
                   "for dead units")
    if g is not None and g > EXPLODING_GRAD:
        out.append(f"{name}: exploding gradient (‖∇W‖/‖W‖ = {g:.1e}) — lower the "
                   "learning rate or raise the weight decay")
    dead = fig.get("dead")
    if dead is not None and dead > DEAD_FRACTION:
        out.append(f"{name}: {dead:.0%} of units never fire on the probe batch — lower "
                   "the learning rate or use a smaller initialisation")
    sat = fig.get("saturated")
    if sat is not None and sat > SATURATED_FRACTION:
        out.append(f"{name}: {sat:.0%} of outputs are saturated (|logit| ≥ "
                   f"{SATURATED_LOGIT:g}) — the model is over-confident; raise label "
                   "smoothing or weight decay, or lower the learning rate")
    return out


def warnings(history: Sequence[Health]) -> list[str]:
    """Plain-words warnings for the latest epoch of ``history`` (one :data:`Health` per
    epoch, oldest first; epochs without figures are skipped), each saying what a user
    might change; empty when nothing known is wrong."""
    history = [h for h in history if h]
    if not history:
        return []
    out = []
    for name, fig in history[-1].items():
        out += _layer_warnings(name, fig)
        out += _update_warnings(name, [h.get(name, {}).get("update_ratio") for h in history])
    return out
